/**
 * The server and BSS with settings of a test's own. The e2e harness's `Services` builds the
 * server's environment itself; some page tests need more there: WEB_CONNECT_ORIGINS (the S3
 * endpoint's origin, which the CSP must allow for the browser's PUTs to a bucket) or a quota.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort, GaveUp, ROOT, waitFor } from '../../../test/e2e/harness.ts';

export interface RunningServices {
  serverUrl: string;
  logs(): string;
  close(): Promise<void>;
}

interface Proc {
  child: ChildProcess;
  output: string[];
}

function start(script: string, env: Record<string, string>): Proc {
  const child = spawn(process.execPath, ['--import', 'tsx', join(ROOT, script)], {
    cwd: ROOT,
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const output: string[] = [];
  child.stdout?.on('data', (c: Buffer) => output.push(c.toString()));
  child.stderr?.on('data', (c: Buffer) => output.push(c.toString()));
  return { child, output };
}

async function stop(proc: Proc): Promise<void> {
  if (proc.child.exitCode !== null || proc.child.signalCode !== null) return;
  const exited = once(proc.child, 'exit');
  proc.child.kill('SIGTERM');
  const timer = setTimeout(() => proc.child.kill('SIGKILL'), 5000);
  await exited;
  clearTimeout(timer);
}

/** BSS (CORS open to the page; disk storage unless `bssEnv` says otherwise) and the server, each with its extra settings. */
export async function startServicesWithEnv(extra: {
  bssEnv?: Record<string, string>;
  serverEnv?: Record<string, string>;
}): Promise<RunningServices> {
  const dir = await mkdtemp(join(tmpdir(), 'dreamlake-web-services-'));
  const [serverPort, bssPort] = [await freePort(), await freePort()];
  const serverUrl = `http://127.0.0.1:${serverPort}`;
  const bssUrl = `http://127.0.0.1:${bssPort}`;
  const common = {
    HOST: '127.0.0.1',
    PRESIGN_SECRETS: randomBytes(32).toString('hex'),
    BSS_PUBLIC_URL: bssUrl,
    LOG_LEVEL: 'warn',
    AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
  };
  const procs = [
    start('packages/bss/src/main.ts', {
      ...common,
      STORAGE: 'fs',
      // One machine, one clock: URLs expire at their lifetime, as the expiry tests expect.
      CLOCK_SKEW_SECONDS: '0',
      ...extra.bssEnv,
      DREAMLAKE_DATA_DIR: join(dir, 'bss'),
      BSS_PORT: String(bssPort),
      CORS_ORIGINS: serverUrl,
    }),
    start('packages/server/src/main.ts', {
      ...common,
      DREAMLAKE_DATA_DIR: join(dir, 'server'),
      SERVER_PORT: String(serverPort),
      JWT_SECRET: randomBytes(32).toString('hex'),
      SNAPSHOT_SIGNING_KEYS: randomBytes(32).toString('base64url'),
      ALLOW_SIGNUP: 'true',
      SCRYPT_LOG_N: '12',
      ...extra.serverEnv,
    }),
  ] as const;
  const services: RunningServices = {
    serverUrl,
    logs: () => `--- BSS ---\n${procs[0].output.join('')}\n--- server ---\n${procs[1].output.join('')}`,
    async close() {
      await Promise.all(procs.map(stop));
      await rm(dir, { recursive: true, force: true });
    },
  };
  try {
    await Promise.all(
      [
        [procs[0], bssUrl],
        [procs[1], serverUrl],
      ].map(([proc, url]) =>
        waitFor(`${url}/healthz`, async () => {
          if ((proc as Proc).child.exitCode !== null) throw new GaveUp('a service exited');
          const res = await fetch(`${url}/healthz`);
          await res.arrayBuffer();
          return res.ok;
        }),
      ),
    );
  } catch (error) {
    await services.close();
    throw new Error(`the services did not start: ${(error as Error).message}\n${services.logs()}`);
  }
  return services;
}
