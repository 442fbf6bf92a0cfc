/**
 * The upload flow in-process, against a small stand-in for the server and BSS that follows
 * docs/protocol.md and lets a test inject failures: bounded parallel parts over reused
 * connections, retries of transient failures, fresh URLs after an expiry.
 */

import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { once } from 'node:events';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { ServerApi } from '../src/api.ts';
import { createAgent } from '../src/http.ts';
import { type UploadEvents, uploadFile } from '../src/upload/uploader.ts';

const MIB = 1024 * 1024;

interface Fake {
  url: string;
  inits: number;
  puts: number;
  maxInFlight: number;
  connections: number;
  /** Called before a part PUT is answered: return a status to fail it with. */
  failPut: (
    partNumber: number,
    attempt: number,
  ) => { status: number; code: string; headers?: Record<string, string> } | undefined;
  /** When set, each part PUT waits on it (in flight) instead of the fake's latency, with the count in flight and of parts arrived. */
  partGate?: (inFlight: number, arrived: number) => Promise<void>;
  /** When set, the first grant's URLs answer expired_signature after their first use. */
  expireFirstGrant: boolean;
  stored: Map<number, Buffer>;
  registered: string[];
  close(): Promise<void>;
}

function send(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  res.writeHead(status, { 'content-type': 'application/json', ...headers });
  res.end(JSON.stringify(body));
}

async function readBody(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of req) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

async function fakeServices(): Promise<Fake> {
  let inFlight = 0;
  let partsCalls = 0;
  const attempts = new Map<number, number>();
  const server = createServer(async (req, res) => {
    const url = new URL(req.url ?? '/', fake.url);
    const isPart = url.pathname === '/upload/part';
    if (isPart) {
      inFlight += 1;
      fake.maxInFlight = Math.max(fake.maxInFlight, inFlight);
    }
    const body = await readBody(req);
    if (url.pathname === '/uploads/init') {
      fake.inits += 1;
      const g = fake.inits;
      const u = (p: string) => `${fake.url}/videos/upload/multipart/${p}?grant=${g}`;
      return send(res, 200, {
        initUrl: u('init'),
        partsUrl: u('parts'),
        partsDoneUrl: u('parts-done'),
        completeUrl: u('complete'),
        abortUrl: u('abort'),
      });
    }
    if (url.pathname === '/videos/upload/multipart/init') return send(res, 200, { uploadId: 'up1', key: 'k1' });
    if (url.pathname === '/videos/upload/multipart/parts') {
      const { partNumbers } = JSON.parse(body.toString()) as { partNumbers: number[] };
      const grant = url.searchParams.get('grant');
      if (fake.expireFirstGrant && grant === '1' && partsCalls++ > 0)
        return send(res, 403, { error: { code: 'expired_signature', message: 'signature has expired' } });
      return send(res, 200, {
        parts: Object.fromEntries(partNumbers.map((n) => [String(n), `${fake.url}/upload/part?n=${n}&grant=${grant}`])),
      });
    }
    if (url.pathname === '/upload/part') {
      const n = Number(url.searchParams.get('n'));
      const attempt = (attempts.get(n) ?? 0) + 1;
      attempts.set(n, attempt);
      fake.puts += 1;
      if (fake.partGate) await fake.partGate(inFlight, fake.puts);
      else await new Promise((r) => setTimeout(r, 20));
      inFlight -= 1;
      const failure = fake.failPut(n, attempt);
      if (failure)
        return send(res, failure.status, { error: { code: failure.code, message: 'injected' } }, failure.headers);
      const md5 = createHash('md5').update(body).digest();
      if (req.headers['content-md5'] !== md5.toString('base64'))
        return send(res, 400, { error: { code: 'invalid_part', message: 'BadDigest' } });
      fake.stored.set(n, body);
      res.writeHead(200, { etag: `"${md5.toString('hex')}"` });
      return res.end();
    }
    if (url.pathname === '/videos/upload/multipart/complete') return send(res, 200, { success: true });
    if (url.pathname.endsWith('/files')) {
      fake.registered.push(JSON.parse(body.toString()).name);
      return send(res, 201, { file: {} });
    }
    return send(res, 404, { error: { code: 'not_found', message: `no route for ${url.pathname}` } });
  });
  server.on('connection', () => (fake.connections += 1));
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const address = server.address();
  const fake: Fake = {
    url: `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`,
    inits: 0,
    puts: 0,
    maxInFlight: 0,
    connections: 0,
    failPut: () => undefined,
    expireFirstGrant: false,
    stored: new Map(),
    registered: [],
    close: async () => {
      server.closeAllConnections();
      server.close();
    },
  };
  return fake;
}

const quiet: UploadEvents = { hashed() {}, sent() {}, resumed() {}, phase() {}, note() {} };

async function withUpload(size: number, setup: (fake: Fake) => void, concurrency = 3) {
  const fake = await fakeServices();
  setup(fake);
  const dir = await mkdtemp(join(tmpdir(), 'dreamlake-uploader-'));
  const agent = createAgent(concurrency + 2);
  const notes: string[] = [];
  try {
    const data = Buffer.alloc(size);
    for (let i = 0; i < size; i += 4096) data.writeUInt32LE(i, i);
    const path = join(dir, 'clip.mp4');
    await writeFile(path, data);
    const result = await uploadFile(
      {
        api: new ServerApi(fake.url, agent, 'token'),
        dispatcher: agent,
        home: join(dir, 'home'),
        bss: undefined,
        concurrency,
        retry: { attempts: 4, baseDelayMs: 5, maxDelayMs: 20 },
        events: { ...quiet, note: (m) => notes.push(m) },
      },
      { path, name: 'clip.mp4', size },
      { namespace: 'ann', space: 'runs' },
    );
    const stored = Buffer.concat([...fake.stored.entries()].sort((a, b) => a[0] - b[0]).map((e) => e[1]));
    return { fake, result, notes, intact: stored.equals(data) };
  } finally {
    await agent.close();
    await fake.close();
    await rm(dir, { recursive: true, force: true });
  }
}

/**
 * Holds every part PUT until `width` are in flight at once (or the last part has arrived), then
 * lets the held ones go together: a pool narrower than `width` never gets past the first hold,
 * one wider puts more in flight while the first ones are held.
 */
function widthGate(width: number, parts: number) {
  let held: Array<() => void> = [];
  const batches: number[] = [];
  return {
    batches,
    gate(arrived: number): Promise<void> {
      return new Promise<void>((resolve) => {
        held.push(resolve);
        if (held.length >= width || arrived === parts) {
          batches.push(held.length);
          for (const release of held) release();
          held = [];
        }
      });
    },
  };
}

test('parts go in parallel, never more than the pool allows, over a few reused connections', {
  timeout: 120_000,
}, async () => {
  const width = widthGate(3, 11);
  const { fake, result, intact } = await withUpload(
    52 * MIB,
    (f) => {
      f.partGate = (_inFlight, arrived) => width.gate(arrived);
    },
    3,
  );
  // Three in flight at once, held until all three were: 11 parts go as 3, 3, 3 and the last 2.
  assert.deepEqual(width.batches, [3, 3, 3, 2]);
  assert.equal(result.partsTotal, 11);
  assert.equal(result.partsSent, 11);
  assert.ok(intact);
  assert.equal(fake.maxInFlight, 3);
  assert.ok(fake.connections <= 5, `${fake.connections} connections for 11 parts and a few JSON calls`);
  assert.deepEqual(fake.registered, ['clip.mp4']);
});

test('5xx and 429 answers to a part are retried; the upload completes intact', async () => {
  const { fake, result, intact } = await withUpload(11 * MIB, (f) => {
    f.failPut = (n, attempt) => {
      if (n === 1 && attempt <= 2) return { status: 503, code: 'storage_unavailable' };
      if (n === 3 && attempt === 1) return { status: 429, code: 'rate_limited', headers: { 'retry-after': '0' } };
      return undefined;
    };
  });
  assert.equal(result.partsSent, 3);
  assert.ok(intact);
  assert.equal(fake.puts, 6, 'three parts, three retries');
});

test('a part URL that expired makes the CLI ask the server for fresh URLs and go on', async () => {
  const { fake, result, intact, notes } = await withUpload(11 * MIB, (f) => {
    // Every URL of the first grant has expired by the time part 2 is sent.
    f.failPut = (n, attempt) => (n === 2 && attempt === 1 ? { status: 403, code: 'expired_signature' } : undefined);
  });
  assert.equal(result.partsSent, 3);
  assert.ok(intact);
  assert.ok(
    notes.some((n) => /expired/.test(n)),
    notes.join('\n'),
  );
  assert.equal(fake.inits, 1, 'a part URL alone expired: the grant itself was still good');
});

test('when the grant has expired too, the server is asked for a new one and the upload goes on', async () => {
  const { fake, result, intact, notes } = await withUpload(11 * MIB, (f) => {
    f.expireFirstGrant = true;
    f.failPut = (n, attempt) => (n === 2 && attempt === 1 ? { status: 403, code: 'expired_signature' } : undefined);
  });
  assert.equal(result.partsSent, 3);
  assert.ok(intact);
  assert.equal(fake.inits, 2);
  assert.ok(
    notes.some((n) => /asking the server for fresh ones/.test(n)),
    notes.join('\n'),
  );
});

test('a permanent refusal stops the upload with that error', async () => {
  await assert.rejects(
    withUpload(6 * MIB, (f) => {
      f.failPut = () => ({ status: 400, code: 'invalid_part', headers: {} });
    }),
    /invalid_part: injected \(HTTP 400\)/,
  );
});
