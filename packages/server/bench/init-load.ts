/**
 * Load on `POST /uploads/init`: a server started in this process on a fresh SQLite database,
 * a load client in a child process (keep-alive connections, a distinct hash per request), and for
 * comparison a bare Fastify route that only verifies the same HS256 JWT with jose.
 *
 *   npx tsx packages/server/bench/init-load.ts [--connections 50] [--seconds 5] [--init-only] [--database postgres://…]
 *
 * `--database` names an empty PostgreSQL database to use instead of SQLite.
 */

import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import Fastify from 'fastify';
import { jwtVerify } from 'jose';
import { loadServerConfig, startServer } from '../src/index.ts';
import type { LoadOptions, LoadResult } from './load-client.ts';

function arg(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  return i === -1 ? fallback : Number(process.argv[i + 1]);
}

const connections = arg('connections', 50);
const seconds = arg('seconds', 5);
/** `--init-only` skips the bare JWT route (for profiling the server alone). */
const initOnly = process.argv.includes('--init-only');
const databaseAt = process.argv.indexOf('--database');
const databaseUrl = databaseAt === -1 ? undefined : process.argv[databaseAt + 1];

/**
 * One load run, with the CPU time this process (the server) spent per answered request: a figure
 * that other work on a shared machine disturbs far less than the request rate.
 */
async function load(options: LoadOptions): Promise<LoadResult & { serverCpuUsPerRequest: number }> {
  const client = fileURLToPath(new URL('./load-client.ts', import.meta.url));
  const cpu = process.cpuUsage();
  const result = await new Promise<LoadResult>((resolve, reject) => {
    execFile(process.execPath, ['--import', 'tsx', client, JSON.stringify(options)], (error, stdout) => {
      if (error) reject(error);
      else resolve(JSON.parse(stdout) as LoadResult);
    });
  });
  const used = process.cpuUsage(cpu);
  return { ...result, serverCpuUsPerRequest: Math.round((used.user + used.system) / Math.max(1, result.requests)) };
}

const dir = await mkdtemp(join(tmpdir(), 'dreamlake-bench-'));
const config = loadServerConfig(
  {},
  {
    presignSecrets: ['bench-presign-secret-0123456789abcdef0123'],
    jwtSecret: 'bench-jwt-secret-0123456789abcdef0123456789',
    snapshotSigningKeys: ['bench-snapshot-signing-key-0123456789abcdef'],
    databaseUrl: databaseUrl ?? join(dir, 'server.sqlite'),
    logLevel: 'silent',
    allowSignup: true,
    scryptLogN: 10,
    port: 0,
  },
);
const server = await startServer(config);
try {
  const signup = await fetch(`${server.url}/auth/signup`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ username: 'bench', password: 'correct horse battery' }),
  });
  const { token } = (await signup.json()) as { token: string };
  const body = {
    namespace: 'bench',
    space: 'load',
    filename: 'file.bin',
    contentType: 'application/octet-stream',
    type: 'files',
    size: 1000,
  };

  // Warm-up, then the measured run.
  await load({ url: server.url, path: '/uploads/init', token, connections, seconds: 1, body });
  const init = await load({ url: server.url, path: '/uploads/init', token, connections, seconds, body });

  if (initOnly) {
    console.log(JSON.stringify({ connections, seconds, init }, null, 2));
    process.exit(0);
  }
  const key = new TextEncoder().encode(config.jwtSecret);
  const bare = Fastify();
  bare.get('/jwt', async (request) => {
    const token = (request.headers.authorization ?? '').slice('Bearer '.length);
    const { payload } = await jwtVerify(token, key, {
      algorithms: ['HS256'],
      issuer: 'dreamlake',
      requiredClaims: ['exp', 'sub'],
    });
    return { sub: payload.sub };
  });
  const bareUrl = await bare.listen({ host: '127.0.0.1', port: 0 });
  await load({ url: bareUrl, path: '/jwt', token, connections, seconds: 1, body: null });
  const jwtOnly = await load({ url: bareUrl, path: '/jwt', token, connections, seconds, body: null });
  await bare.close();

  console.log(
    JSON.stringify(
      {
        connections,
        seconds,
        init,
        bareJwt: jwtOnly,
        ratio: Math.round((init.reqPerSec / jwtOnly.reqPerSec) * 100) / 100,
        cpuRatio: Math.round((jwtOnly.serverCpuUsPerRequest / init.serverCpuUsPerRequest) * 100) / 100,
      },
      null,
      2,
    ),
  );
} finally {
  await server.close();
  await rm(dir, { recursive: true, force: true });
}
