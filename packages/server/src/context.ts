import type { createAuthenticate } from './auth/authenticate.ts';
import type { JwtIssuer } from './auth/jwt.ts';
import type { PasswordHasher } from './auth/passwords.ts';
import type { LoginThrottle } from './auth/throttle.ts';
import type { BssClient } from './bss-client.ts';
import type { ServerConfig } from './config.ts';
import type { GrantRecorder } from './db/grant-recorder.ts';
import type { DB } from './db/open.ts';
import type { GrantQueue } from './services/grant-queue.ts';

/** Everything a route or service needs, built once per app. */
export interface ServerContext {
  config: Readonly<ServerConfig>;
  db: DB;
  /** Milliseconds since the epoch; injectable for tests. */
  clock: () => number;
  bss: BssClient;
  jwt: JwtIssuer;
  passwords: PasswordHasher;
  throttle: LoginThrottle;
  authenticate: ReturnType<typeof createAuthenticate>;
  /** The audit log of upload grants. */
  grants: GrantRecorder;
  /** Single grants: reservation and audit row in one transaction, shared by the grants asked for at once. */
  grantQueue: GrantQueue;
}

export function nowIso(ctx: Pick<ServerContext, 'clock'>): string {
  return new Date(ctx.clock()).toISOString();
}
