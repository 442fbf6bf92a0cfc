import { createApp, REQUEST_ID_HEADER } from '@dreamlake/service';
import cors from '@fastify/cors';
import type { FastifyInstance } from 'fastify';
import { createAuthenticate } from './auth/authenticate.ts';
import { createJwtIssuer } from './auth/jwt.ts';
import { createPasswordHasher, type PasswordHasher } from './auth/passwords.ts';
import { createLoginThrottle } from './auth/throttle.ts';
import { type BssClient, createBssClient } from './bss-client.ts';
import type { ServerConfig } from './config.ts';
import type { ServerContext } from './context.ts';
import { createGrantRecorder } from './db/grant-recorder.ts';
import type { DB } from './db/open.ts';
import { registerObservability } from './observability/index.ts';
import { countGrants, countingGrants } from './observability/metrics.ts';
import { authRoutes } from './routes/auth.ts';
import { commitRoutes } from './routes/commits.ts';
import { downloadRoutes } from './routes/downloads.ts';
import { fileRoutes } from './routes/files.ts';
import { healthRoutes } from './routes/health.ts';
import { orgRoutes } from './routes/orgs.ts';
import { sharePageRoutes } from './routes/share-page.ts';
import { shareRoutes } from './routes/shares.ts';
import { snapshotRoutes } from './routes/snapshots.ts';
import { spaceRoutes } from './routes/spaces.ts';
import { tokenRoutes } from './routes/tokens.ts';
import { uploadRoutes } from './routes/uploads.ts';
import { webRoutes } from './routes/web.ts';
import { createGrantQueue } from './services/grant-queue.ts';

export interface BuildServerAppOptions {
  config: Readonly<ServerConfig>;
  /** An open, migrated database; the caller owns it and closes it. */
  db: DB;
  /** Milliseconds since the epoch. */
  clock?: () => number;
  bss?: BssClient;
  /** The password hasher (tests count its work); scrypt at the configured cost otherwise. */
  passwords?: PasswordHasher;
  /** Where log lines go instead of stdout (tests read them). */
  logStream?: { write(line: string): void };
}

/** The server's Fastify app, ready for `inject()` or `listen()`. */
export async function buildServerApp(options: BuildServerAppOptions): Promise<FastifyInstance> {
  const { config, db } = options;
  const clock = options.clock ?? Date.now;
  const jwt = createJwtIssuer(config.jwtSecret, config.jwtTtlSeconds);
  const app = createApp({
    logLevel: config.logLevel,
    logStream: options.logStream,
    timeouts: config.timeouts,
    trustProxy: config.trustProxy,
  });
  const metrics = await registerObservability(app, config, db);
  const ctx: ServerContext = {
    config,
    db,
    clock,
    bss: options.bss ?? createBssClient(config, clock),
    jwt,
    passwords: options.passwords ?? createPasswordHasher(config.scryptLogN),
    throttle: createLoginThrottle(db, config.login),
    authenticate: createAuthenticate({ db, jwt, clock }),
    grants: countingGrants(createGrantRecorder(db), metrics),
    grantQueue: createGrantQueue({ db, config, clock }, (rows) => countGrants(metrics, rows)),
  };

  await ctx.passwords.warm();
  app.decorateRequest('user', null);
  if (config.corsOrigins.length > 0) {
    await app.register(cors, {
      origin: [...config.corsOrigins],
      allowedHeaders: ['authorization', 'content-type', REQUEST_ID_HEADER],
      exposedHeaders: [REQUEST_ID_HEADER],
    });
  }
  const routeGroups = [
    healthRoutes,
    authRoutes,
    tokenRoutes,
    orgRoutes,
    spaceRoutes,
    uploadRoutes,
    fileRoutes,
    commitRoutes,
    snapshotRoutes,
    downloadRoutes,
    shareRoutes,
    sharePageRoutes,
    webRoutes,
  ];
  for (const routes of routeGroups) {
    routes(app, ctx);
  }
  await app.ready();
  return app;
}
