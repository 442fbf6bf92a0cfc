/**
 * Floor for an authenticated grant request: a bare Fastify 5 server with one POST route that only
 * verifies an HS256 JWT (jose `jwtVerify`, the claims and options the DreamLake server uses) and
 * answers a small JSON. No database, no logging, no body schema.
 *
 *   node --import tsx scripts/bench-jwt-floor.ts serve   # JWT_SECRET in the environment; prints {"port":N}
 */
import { createSecretKey, randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import Fastify from 'fastify';
import { jwtVerify, SignJWT } from 'jose';
import { spawnTs, stopChild } from './bench-services.ts';

const ALGORITHM = 'HS256';
const ISSUER = 'dreamlake';

/** A token like the ones `POST /auth/login` issues: HS256, sub, name, iss, iat, exp. */
export async function issueToken(secret: string, userId: string, username: string): Promise<string> {
  const iat = Math.floor(Date.now() / 1000);
  return new SignJWT({ name: username })
    .setProtectedHeader({ alg: ALGORITHM, typ: 'JWT' })
    .setSubject(userId)
    .setIssuer(ISSUER)
    .setIssuedAt(iat)
    .setExpirationTime(iat + 12 * 3600)
    .sign(new TextEncoder().encode(secret));
}

async function serve(): Promise<void> {
  // A KeyObject, as the server holds its secret: jose imports it once, not on every verification.
  const key = createSecretKey(Buffer.from(process.env.JWT_SECRET ?? '', 'utf8'));
  const app = Fastify({ logger: false });
  app.post('/check', async (request, reply) => {
    const match = /^Bearer\s+(\S+)\s*$/i.exec(request.headers.authorization ?? '');
    try {
      const { payload } = await jwtVerify(match?.[1] ?? '', key, {
        algorithms: [ALGORITHM],
        issuer: ISSUER,
        requiredClaims: ['exp', 'sub'],
      });
      return { ok: true, sub: payload.sub };
    } catch {
      return reply.code(401).send({ error: { code: 'unauthorized', message: 'bad token' } });
    }
  });
  await app.listen({ host: '127.0.0.1', port: 0 });
  const address = app.server.address();
  process.stdout.write(`${JSON.stringify({ port: typeof address === 'object' && address ? address.port : 0 })}\n`);
  const stop = () => void app.close().then(() => process.exit(0));
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
}

/** Starts the floor server in its own process; answers its origin, a valid token and a stop function. */
export async function startJwtFloor(): Promise<{
  origin: string;
  token: string;
  pid: number;
  stop: () => Promise<void>;
}> {
  const secret = randomBytes(32).toString('hex');
  const proc = spawnTs(fileURLToPath(import.meta.url), { PATH: process.env.PATH ?? '', JWT_SECRET: secret }, ['serve']);
  const lines = createInterface({ input: proc.child.stdout! });
  const exited = once(proc.child, 'exit').then(() => {
    throw new Error(`the JWT floor server exited:\n${proc.output.join('')}`);
  });
  const first = (async () => {
    for await (const line of lines) {
      const port = (JSON.parse(line) as { port?: number }).port;
      if (port) return port;
    }
    throw new Error('no port');
  })();
  const port = await Promise.race([first, exited]);
  exited.catch(() => undefined);
  return {
    origin: `http://127.0.0.1:${port}`,
    token: await issueToken(secret, 'u_bench', 'bench'),
    pid: proc.child.pid ?? 0,
    stop: () => stopChild(proc),
  };
}

if (process.argv[1] === fileURLToPath(import.meta.url) && process.argv[2] === 'serve') {
  serve().catch((error: unknown) => {
    process.stderr.write(`${error instanceof Error ? error.stack : String(error)}\n`);
    process.exit(1);
  });
}
