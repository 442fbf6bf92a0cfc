import assert from 'node:assert/strict';
import { type AddressInfo, connect } from 'node:net';
import { test } from 'node:test';
import { buildServerApp, loadServerConfig, openDatabase } from '../src/index.ts';
import { testConfig } from './helpers/harness.ts';

/** Short limits, so a test sees them act: headers 1 s, a whole request 2 s, keep-alive 1 s. */
const SHORT = { headersMs: 1000, requestMs: 2000, idleMs: 30_000, keepAliveMs: 1000 };

interface Trickled {
  /** Milliseconds from connecting until the server closed the connection; null if it never did. */
  closedAfterMs: number | null;
  /** Milliseconds from connecting until the first byte of an answer; null if none came. */
  answeredAfterMs: number | null;
  received: string;
}

/** Sends `head` over a raw TCP connection, then `drip` every `everyMs`, until the server closes it or `giveUpMs`. */
function trickle(port: number, head: string, drip: string, everyMs: number, giveUpMs: number): Promise<Trickled> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    let received = '';
    let timer: NodeJS.Timeout | undefined;
    let started = 0;
    let answeredAfterMs: number | null = null;
    const finish = (closedAfterMs: number | null) => {
      clearInterval(timer);
      clearTimeout(giveUp);
      resolve({ closedAfterMs, answeredAfterMs, received });
    };
    const giveUp = setTimeout(() => {
      socket.destroy();
      finish(null);
    }, giveUpMs);
    socket.on('connect', () => {
      started = Date.now();
      if (head) socket.write(head);
      if (drip) timer = setInterval(() => socket.writable && socket.write(drip), everyMs);
    });
    socket.on('data', (chunk) => {
      answeredAfterMs ??= Date.now() - started;
      received += chunk.toString('latin1');
    });
    socket.on('error', () => {});
    socket.on('close', () => finish(Date.now() - started));
  });
}

async function listening(timeouts: typeof SHORT = SHORT) {
  const config = testConfig({ databaseUrl: ':memory:', timeouts });
  const db = await openDatabase(config);
  const app = await buildServerApp({ config, db });
  await app.listen({ host: '127.0.0.1', port: 0 });
  return {
    port: (app.server.address() as AddressInfo).port,
    async close() {
      await app.close();
      await db.destroy();
    },
  };
}

function assertClosedWithin(result: Trickled, min: number, max: number) {
  assert.ok(result.closedAfterMs !== null, 'the connection was still open when the client gave up');
  assert.ok(result.closedAfterMs >= min && result.closedAfterMs < max, `closed after ${result.closedAfterMs} ms`);
}

/**
 * The connection, idle after its answer, was closed by the server: no sooner than the keep-alive
 * limit (1 s; Node closes it 1 s after the limit), and before Node's default limit (5 s, closed
 * at 6 s) would have; that bound is a safety net, 2 s past when it closes.
 */
function assertIdleClosed(result: Trickled) {
  assert.ok(result.answeredAfterMs !== null && result.closedAfterMs !== null, 'answered, then closed');
  const idle = result.closedAfterMs - result.answeredAfterMs;
  assert.ok(idle >= 900 && idle < 4000, `closed ${idle} ms after its answer`);
}

test('the timeouts come from the environment with limits a slow client cannot outlast', () => {
  const env = { PRESIGN_SECRETS: 'p'.repeat(32), JWT_SECRET: 'j'.repeat(32), SNAPSHOT_SIGNING_KEYS: 's'.repeat(43) };
  assert.deepEqual(loadServerConfig(env).timeouts, {
    headersMs: 30_000,
    requestMs: 120_000,
    idleMs: 120_000,
    keepAliveMs: 72_000,
  });
  const set = loadServerConfig({
    ...env,
    HEADERS_TIMEOUT_SECONDS: '5',
    REQUEST_TIMEOUT_SECONDS: '10',
    IDLE_TIMEOUT_SECONDS: '7',
    KEEP_ALIVE_TIMEOUT_SECONDS: '3',
  });
  assert.deepEqual(set.timeouts, { headersMs: 5000, requestMs: 10_000, idleMs: 7000, keepAliveMs: 3000 });
  assert.throws(
    () => loadServerConfig({ ...env, HEADERS_TIMEOUT_SECONDS: '60', REQUEST_TIMEOUT_SECONDS: '30' }),
    /HEADERS_TIMEOUT_SECONDS/,
  );
});

test('a client that trickles its headers, or sends nothing, is cut off once the header limit passes', async (t) => {
  // A request limit far from the header limit, so that which of the two cut the client off shows.
  const server = await listening({ ...SHORT, requestMs: 5000 });
  t.after(() => server.close());
  const [headers, silent] = await Promise.all([
    trickle(server.port, 'GET /healthz HTTP/1.1\r\nHost: server\r\n', 'x-slow: 1\r\n', 100, 8000),
    trickle(server.port, '', '', 0, 8000),
  ]);
  // Told so (408), never served; cut at the header limit (1 s, checked every 250 ms), well before
  // the request limit (5 s): the bound is a safety net, 2 s past when it closes.
  for (const cut of [headers, silent]) {
    assert.match(cut.received, /^HTTP\/1\.1 408 /);
    assertClosedWithin(cut, 900, 3500);
  }
});

test('a client that trickles a body is answered 408 and cut off once the request limit passes', async (t) => {
  const server = await listening();
  t.after(() => server.close());
  const head =
    'POST /auth/login HTTP/1.1\r\nHost: server\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{"username":"';
  const cut = await trickle(server.port, head, 'a', 100, 8000);
  assertClosedWithin(cut, 1900, 4000);
  assert.match(cut.received, /^HTTP\/1\.1 408 /);
});

test('an idle keep-alive connection is closed after the keep-alive limit', async (t) => {
  const server = await listening();
  t.after(() => server.close());
  const kept = await trickle(server.port, 'GET /healthz HTTP/1.1\r\nHost: server\r\n\r\n', '', 0, 8000);
  assert.match(kept.received, /^HTTP\/1\.1 200 /);
  assertIdleClosed(kept);
});
