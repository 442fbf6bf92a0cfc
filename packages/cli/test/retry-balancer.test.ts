import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createServer, type Server } from 'node:http';
import { after, before, test } from 'node:test';
import { ApiError, NetworkError } from '../src/errors.ts';
import { createAgent, putBody } from '../src/http.ts';
import { isTransient, type RetryOptions, withRetry } from '../src/transfer/retry.ts';

/**
 * What a client meets when an instance behind the balancer restarts, through the CLI's own HTTP
 * layer: a connection reset, the balancer's HTML 502 and 503 (HAProxy's "No server is available"),
 * a 503 asking to wait (`Retry-After`), each retried with backoff until the answer comes.
 */

const HAPROXY_503 =
  '<html><body><h1>503 Service Unavailable</h1>\nNo server is available to handle this request.\n</body></html>\n';
const HAPROXY_502 =
  '<html><body><h1>502 Bad Gateway</h1>\nThe server returned an invalid or incomplete response.\n</body></html>\n';

/** How each request is answered, in turn; past the end, 200. */
let script: Array<'reset' | '502' | '503' | '503-wait' | '503-date'> = [];
let seen = 0;
let server: Server;
let base: string;

before(async () => {
  server = createServer((request, response) => {
    request.resume();
    request.on('end', () => {
      const step = script[seen];
      seen += 1;
      if (step === 'reset') {
        request.socket.resetAndDestroy();
        return;
      }
      if (step === '502') return void response.writeHead(502, { 'content-type': 'text/html' }).end(HAPROXY_502);
      if (step === '503') return void response.writeHead(503, { 'content-type': 'text/html' }).end(HAPROXY_503);
      if (step === '503-wait') {
        return void response.writeHead(503, { 'content-type': 'text/html', 'retry-after': '7' }).end(HAPROXY_503);
      }
      if (step === '503-date') {
        const at = new Date(Date.now() + 9000).toUTCString();
        return void response.writeHead(503, { 'content-type': 'text/html', 'retry-after': at }).end(HAPROXY_503);
      }
      response.writeHead(200, { etag: '"done"' }).end();
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const address = server.address();
  base = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
});

after(() => {
  server.closeAllConnections();
  server.close();
});

const options = (delays: number[], errors: unknown[]): RetryOptions => ({
  attempts: 8,
  baseDelayMs: 100,
  maxDelayMs: 4000,
  random: () => 0.5,
  sleep: async (ms) => {
    delays.push(ms);
  },
  onRetry: (error) => errors.push(error),
});

async function* bytes(n: number): AsyncIterable<Uint8Array> {
  yield new Uint8Array(n).fill(7);
}

test('a reset, the balancer 502 and 503 are retried until the instance answers, honouring Retry-After', async () => {
  script = ['reset', '502', '503', '503-wait', '503-date'];
  seen = 0;
  const delays: number[] = [];
  const errors: unknown[] = [];
  const agent = createAgent(2);
  try {
    const etag = await withRetry(
      () => putBody(agent, `${base}/part`, { body: bytes(1000), length: 1000 }),
      options(delays, errors),
    );
    assert.equal(etag, '"done"');
  } finally {
    await agent.close();
  }
  assert.equal(seen, 6, 'five failures, then the answer');
  assert.ok(errors[0] instanceof NetworkError, `a reset is a network failure: ${errors[0]}`);
  for (const [i, status] of [
    [1, 502],
    [2, 503],
    [3, 503],
    [4, 503],
  ] as const) {
    assert.ok(errors[i] instanceof ApiError, String(errors[i]));
    assert.equal((errors[i] as ApiError).status, status);
    assert.equal((errors[i] as ApiError).code, `http_${status}`);
    assert.ok(isTransient(errors[i]));
  }
  // Backoff with jitter (random 0.5: three quarters of the ceiling), and the wait each 503 asked for.
  assert.deepEqual(delays.slice(0, 3), [75, 150, 300]);
  assert.equal(delays[3], 7000, 'Retry-After in seconds is the floor');
  assert.ok(delays[4]! >= 7000 && delays[4]! <= 9000, `Retry-After as a date: ${delays[4]}`);
});

test('a balancer that stays at 503 ends the run after the attempts, with its status in the error', async () => {
  script = Array.from({ length: 20 }, () => '503' as const);
  seen = 0;
  const delays: number[] = [];
  const agent = createAgent(2);
  try {
    await assert.rejects(
      withRetry(() => putBody(agent, `${base}/part`, { body: bytes(10), length: 10 }), options(delays, [])),
      (error: unknown) =>
        error instanceof ApiError && error.status === 503 && /No server is available/.test(error.message),
    );
  } finally {
    await agent.close();
  }
  assert.equal(seen, 8);
  assert.equal(delays.length, 7);
});
