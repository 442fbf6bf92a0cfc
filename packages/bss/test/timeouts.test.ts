import assert from 'node:assert/strict';
import { request as httpRequest } from 'node:http';
import type { AddressInfo } from 'node:net';
import { connect } from 'node:net';
import { test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { buildBssApp } from '../src/app.ts';
import { loadBssConfig } from '../src/config.ts';
import { createStorage } from '../src/storage/index.ts';
import type { Storage } from '../src/storage/storage.ts';
import { MiB, sendParts, sha256, singlePath, stagedFiles, tempDir, testConfig, uploadPaths } from './helpers.ts';

/** Short limits, so a test sees them act: headers 1 s, a whole request 2 s, keep-alive 1 s. */
const SHORT = {
  HEADERS_TIMEOUT_SECONDS: '1',
  REQUEST_TIMEOUT_SECONDS: '2',
  IDLE_TIMEOUT_SECONDS: '30',
  KEEP_ALIVE_TIMEOUT_SECONDS: '1',
};

interface Trickled {
  /** Milliseconds from the first byte sent until BSS closed the connection; null if it never did. */
  closedAfterMs: number | null;
  received: string;
}

/** Sends `head` over a raw TCP connection, then `drip` every `everyMs`, until BSS closes it or `giveUpMs`. */
function trickle(port: number, head: string, drip: string, everyMs: number, giveUpMs: number): Promise<Trickled> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    let received = '';
    let timer: NodeJS.Timeout | undefined;
    let started = 0;
    const giveUp = setTimeout(() => {
      socket.destroy();
      finish(null);
    }, giveUpMs);
    const finish = (closedAfterMs: number | null) => {
      clearInterval(timer);
      clearTimeout(giveUp);
      resolve({ closedAfterMs, received });
    };
    socket.on('connect', () => {
      started = Date.now();
      if (head) socket.write(head);
      if (drip) timer = setInterval(() => socket.writable && socket.write(drip), everyMs);
    });
    socket.on('data', (chunk) => (received += chunk.toString('latin1')));
    socket.on('error', () => {});
    socket.on('close', () => finish(Date.now() - started));
  });
}

async function listening(env: Record<string, string>, wrap: (storage: Storage) => Storage = (s) => s) {
  const temp = await tempDir();
  const config = testConfig(temp.dir, env);
  const storage = await createStorage(config);
  const app = await buildBssApp({ config, storage: wrap(storage) });
  await app.listen({ host: '127.0.0.1', port: 0 });
  const { port } = app.server.address() as AddressInfo;
  return {
    port,
    dir: temp.dir,
    async close() {
      await app.close();
      await temp.remove();
    },
  };
}

test('the timeouts come from the environment and default to limits a slow client cannot outlast', () => {
  const defaults = loadBssConfig({ PRESIGN_SECRETS: 'x'.repeat(32) }).timeouts;
  assert.deepEqual(defaults, { headersMs: 30_000, requestMs: 3_600_000, idleMs: 600_000, keepAliveMs: 72_000 });
  assert.equal(testConfig('/tmp', SHORT).timeouts.headersMs, 1000);
  assert.throws(
    () => testConfig('/tmp', { HEADERS_TIMEOUT_SECONDS: '60', REQUEST_TIMEOUT_SECONDS: '30' }),
    /HEADERS_TIMEOUT_SECONDS/,
  );
});

test('a client that trickles its headers, or sends nothing, is cut off once the header limit passes', async (t) => {
  const bss = await listening(SHORT);
  t.after(() => bss.close());
  const [headers, silent] = await Promise.all([
    trickle(bss.port, 'GET /healthz HTTP/1.1\r\nHost: bss\r\n', 'x-slow: 1\r\n', 100, 6000),
    trickle(bss.port, '', '', 0, 6000),
  ]);
  for (const { closedAfterMs } of [headers, silent]) {
    assert.ok(closedAfterMs !== null, 'the connection was still open after 6 s');
    assert.ok(closedAfterMs >= 900 && closedAfterMs < 2500, `closed after ${closedAfterMs} ms`);
  }
});

test('a client that trickles a part or single-shot body is cut off once the request limit passes, and nothing of it stays', async (t) => {
  const bss = await listening(SHORT);
  t.after(() => bss.close());
  const data = Buffer.alloc(64 * 1024, 7);
  const scope = { owner: 'alice', project: 'slow', hash: sha256(data) };
  const path = singlePath('files', { ...scope, size: data.length });
  const head = `PUT ${path} HTTP/1.1\r\nHost: bss\r\nContent-Type: application/octet-stream\r\nContent-Length: ${data.length}\r\n\r\n`;
  const cut = await trickle(bss.port, head, 'x', 100, 8000);
  assert.ok(cut.closedAfterMs !== null, 'the connection was still open after 8 s');
  assert.ok(cut.closedAfterMs >= 1900 && cut.closedAfterMs < 4000, `closed after ${cut.closedAfterMs} ms`);
  assert.match(cut.received, /^HTTP\/1\.1 408 /);
  await sleep(100);
  assert.deepEqual(await stagedFiles(bss.dir), []);
});

test('an idle keep-alive connection is closed after the keep-alive limit', async (t) => {
  const bss = await listening(SHORT);
  t.after(() => bss.close());
  const kept = await trickle(bss.port, 'GET /healthz HTTP/1.1\r\nHost: bss\r\n\r\n', '', 0, 6000);
  assert.match(kept.received, /^HTTP\/1\.1 200 /);
  assert.ok(
    kept.closedAfterMs !== null && kept.closedAfterMs >= 900 && kept.closedAfterMs < 2500,
    `closed after ${kept.closedAfterMs} ms`,
  );
});

test('a complete that takes longer than every limit still answers', async (t) => {
  const slowComplete = (storage: Storage): Storage =>
    new Proxy(storage, {
      get(target, property) {
        const value = Reflect.get(target, property, target) as unknown;
        if (property === 'complete') {
          return async (...args: Parameters<Storage['complete']>) => {
            await sleep(3500);
            return target.complete(...args);
          };
        }
        return typeof value === 'function' ? value.bind(target) : value;
      },
    });
  const bss = await listening({ ...SHORT, IDLE_TIMEOUT_SECONDS: '1' }, slowComplete);
  t.after(() => bss.close());
  const data = Buffer.alloc(MiB, 3);
  const paths = uploadPaths('videos', { owner: 'alice', project: 'slow', hash: sha256(data) });
  const base = `http://127.0.0.1:${bss.port}`;
  const app = { inject: injectOver(base) };
  const { uploadId, key, etags } = await sendParts(app as never, paths, data);
  const body = JSON.stringify({ uploadId, key, parts: etags });
  const answer = await new Promise<{ status: number; text: string }>((resolve, reject) => {
    const req = httpRequest(`${base}${paths.complete}`, {
      method: 'POST',
      agent: false,
      headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) },
    });
    req.on('error', reject);
    req.on('response', (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (text += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, text }));
    });
    req.end(body);
  });
  assert.equal(answer.status, 200, answer.text);
  assert.equal((JSON.parse(answer.text) as { size: number }).size, data.length);
});

/** `inject` over real HTTP, for the helpers that drive an app. */
function injectOver(base: string) {
  return async (options: { method: string; url: string; payload?: unknown; headers?: Record<string, string> }) => {
    const payload = options.payload;
    const isBuffer = Buffer.isBuffer(payload);
    const response = await fetch(`${base}${options.url}`, {
      method: options.method,
      headers: { 'content-type': isBuffer ? 'application/octet-stream' : 'application/json', ...options.headers },
      ...(payload === undefined ? {} : { body: isBuffer ? new Uint8Array(payload) : JSON.stringify(payload) }),
    });
    const text = await response.text();
    return {
      statusCode: response.status,
      body: text,
      headers: Object.fromEntries(response.headers),
      json: () => JSON.parse(text) as unknown,
    };
  };
}
