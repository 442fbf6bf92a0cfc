import assert from 'node:assert/strict';
import { request as httpRequest, type IncomingHttpHeaders } from 'node:http';
import { test } from 'node:test';
import Fastify, { type FastifyInstance } from 'fastify';
import { drain, probeDrain, trackRequests } from '../src/drain.ts';

/**
 * The drain a service runs on SIGTERM, on a real listening app: /readyz fails at once, requests
 * are served (with `Connection: close`) while the balancer notices, the requests in flight finish,
 * the listener closes, and the grace bounds it all.
 */

interface Answer {
  status: number;
  headers: IncomingHttpHeaders;
  body: string;
}

/** One GET on its own connection (no pool), so each request shows what its connection does. */
function get(base: string, path: string): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(`${base}${path}`, { agent: false }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => {
        body += c;
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

const silent = {
  info() {},
  warn() {},
  error() {},
  debug() {},
  trace() {},
  fatal() {},
  child: () => silent,
  level: 'silent',
};

/** An app with /readyz as the services have it and /slow, answered when the test says. */
async function app(): Promise<{ app: FastifyInstance; base: string; release: () => void; arrived: Promise<void> }> {
  const instance = Fastify();
  let release!: () => void;
  const released = new Promise<void>((resolve) => {
    release = resolve;
  });
  let arrive!: () => void;
  const arrived = new Promise<void>((resolve) => {
    arrive = resolve;
  });
  instance.get('/readyz', async (_request, reply) => {
    if (probeDrain(instance.server)) return reply.code(503).send({ error: { code: 'storage_unavailable' } });
    return { ok: true };
  });
  instance.get('/slow', async () => {
    arrive();
    await released;
    return { slow: true };
  });
  instance.get('/fast', async () => ({ fast: true }));
  instance.get('/healthz', async () => ({ ok: true }));
  trackRequests(instance.server);
  await instance.listen({ host: '127.0.0.1', port: 0 });
  const address = instance.server.address();
  const base = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
  return { app: instance, base, release, arrived };
}

test('a watched instance fails /readyz at once, serves on until the balancer has seen it, then finishes what is in flight', async () => {
  const { app: instance, base, release, arrived } = await app();
  assert.equal((await get(base, '/readyz')).status, 200);
  const slow = get(base, '/slow');
  await arrived;
  const drained = drain(instance, { delayMs: 200, graceMs: 60_000, log: silent as never, reason: 'SIGTERM' });

  // Draining: /readyz is 503, and every answer, old or new, closes its connection.
  const first = await get(base, '/readyz');
  assert.equal(first.status, 503);
  const during = await get(base, '/fast');
  assert.equal(during.status, 200, 'a request the balancer still sends is served');
  assert.equal(during.headers.connection, 'close');
  // The second failed check: the balancer has taken the instance out; past the delay it closes.
  assert.equal((await get(base, '/readyz')).status, 503);
  await waitUntilRefused(base);

  // The request in flight is still served, then the drain ends with nothing cut.
  release();
  const answer = await slow;
  assert.equal(answer.status, 200);
  assert.equal(answer.body, '{"slow":true}');
  assert.equal(answer.headers.connection, 'close');
  const result = await drained;
  assert.equal(result.cut, 0);
  assert.equal(result.inFlight, 1);
});

test('past the grace, the requests still in flight are cut and the drain ends', async () => {
  const { app: instance, base, arrived } = await app();
  const slow = get(base, '/slow').then(
    () => 'answered',
    () => 'cut',
  );
  await arrived;
  const result = await drain(instance, { delayMs: 0, graceMs: 300, log: silent as never, reason: 'SIGTERM' });
  assert.equal(result.cut, 1);
  assert.equal(await slow, 'cut');
});

test('an instance no balancer watches (no /readyz lately) closes its listener without waiting', async () => {
  const { app: instance, base, release, arrived } = await app();
  const slow = get(base, '/slow');
  await arrived;
  // A delay of an hour: were it waited, the test would time out.
  const drained = drain(instance, { delayMs: 3_600_000, graceMs: 7_200_000, log: silent as never, reason: 'SIGTERM' });
  await waitUntilRefused(base);
  release();
  assert.equal((await slow).status, 200);
  assert.equal((await drained).cut, 0);
});

/** Waits for the listener to refuse connections (the drain closes it on its own schedule; /healthz does not delay it). */
async function waitUntilRefused(base: string): Promise<void> {
  for (;;) {
    try {
      await get(base, '/healthz');
    } catch (error) {
      assert.equal((error as NodeJS.ErrnoException).code, 'ECONNREFUSED');
      return;
    }
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}
