/**
 * How the CLI sends single-shot files to each kind of BSS, against small stand-ins that follow
 * docs/protocol.md: the requests each file costs are what a user notices as speed.
 */

import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { test } from 'node:test';
import { createAgent } from '../src/http.ts';
import { SingleShot } from '../src/upload/single.ts';

type Way = 'put' | 's3';

interface BssKind {
  /** How the POST answers a body of this size (and the `maxSize` a `put` answer names, if any). */
  begin(size: number): { mode: Way; maxSize?: number };
  /** Whether a PUT of this size to the single URL is taken (else 409 conflict); `n` counts such PUTs. */
  takesPut(size: number, n: number): boolean;
}

async function readBody(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

/** A BSS stand-in: records "METHOD path" of every request, in order. */
async function fakeBss(kind: BssKind) {
  const seen: string[] = [];
  let puts = 0;
  const stored = (res: ServerResponse, body: Buffer) => {
    const hash = createHash('sha256').update(body).digest('hex');
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ success: true, key: `blobs/o/p/${hash}`, hash, size: body.length, contentType: 'x/y' }));
  };
  const server = createServer(async (req, res) => {
    const url = new URL(req.url ?? '/', 'http://bss');
    seen.push(`${req.method} ${url.pathname}`);
    const size = Number(url.searchParams.get('size'));
    const body = await readBody(req);
    if (req.method === 'POST' && url.pathname === '/files/upload/single') {
      const way = kind.begin(size);
      const answer =
        way.mode === 'put'
          ? { mode: 'put', url: `${base}${req.url}`, ...(way.maxSize !== undefined ? { maxSize: way.maxSize } : {}) }
          : { mode: 's3', url: `${base}/bucket/staged?size=${size}`, headers: { 'content-type': 'x/y' }, key: 'k' };
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify(answer));
    } else if (req.method === 'PUT' && url.pathname === '/files/upload/single') {
      puts += 1;
      if (kind.takesPut(size, puts)) stored(res, body);
      else {
        res.writeHead(409, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ error: { code: 'conflict', message: 'POST this URL to learn where to send it' } }));
      }
    } else if (req.method === 'PUT' && url.pathname === '/bucket/staged') {
      res.writeHead(200);
      res.end();
    } else if (req.method === 'POST' && url.pathname === '/files/upload/single/complete') {
      stored(res, Buffer.alloc(size));
    } else {
      res.writeHead(404);
      res.end();
    }
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    base,
    seen,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

/** Sends files of these sizes one after another; answers the requests each one cost. */
async function sendAll(kind: BssKind, sizes: number[]): Promise<string[][]> {
  const bss = await fakeBss(kind);
  const agent = createAgent();
  try {
    const single = new SingleShot(agent);
    const perFile: string[][] = [];
    for (const size of sizes) {
      const before = bss.seen.length;
      const bytes = randomBytes(size);
      const url = `${bss.base}/files/upload/single?size=${size}&exp=1&sig=x`;
      const stored = await single.send(url, { path: '', size, contentType: 'x/y', bytes }, () => {});
      assert.equal(stored.size, size);
      perFile.push(bss.seen.slice(before));
    }
    return perFile;
  } finally {
    await agent.close();
    await bss.close();
  }
}

const ASK = 'POST /files/upload/single';
const PUT = 'PUT /files/upload/single';
const STAGED = ['PUT /bucket/staged', 'POST /files/upload/single/complete'];

test('an S3 BSS that takes small bodies: one question, then one PUT per small file; a larger file is staged', async () => {
  const kind: BssKind = {
    begin: (size) => (size <= 1000 ? { mode: 'put', maxSize: 1000 } : { mode: 's3' }),
    takesPut: (size) => size <= 1000,
  };
  assert.deepEqual(await sendAll(kind, [200, 1000, 300, 5000, 400]), [
    [ASK, PUT],
    [PUT],
    [PUT],
    [ASK, ...STAGED],
    [PUT],
  ]);
  // A large file first: the small ones still learn, from their own question, to go by PUT.
  assert.deepEqual(await sendAll(kind, [5000, 200, 300]), [[ASK, ...STAGED], [ASK, PUT], [PUT]]);
});

test('an older S3 BSS that stages every body: each file asks, PUTs to the bucket, completes', async () => {
  const kind: BssKind = { begin: () => ({ mode: 's3' }), takesPut: () => false };
  assert.deepEqual(await sendAll(kind, [200, 300, 5000]), [
    [ASK, ...STAGED],
    [ASK, ...STAGED],
    [ASK, ...STAGED],
  ]);
});

test('a disk BSS that names no limit: one question, then every file by PUT whatever its size', async () => {
  const kind: BssKind = { begin: () => ({ mode: 'put' }), takesPut: () => true };
  assert.deepEqual(await sendAll(kind, [200, 5_000_000, 300]), [[ASK, PUT], [PUT], [PUT]]);
});

test('a PUT sent without asking that BSS refuses with 409 (another instance, another version) asks again', async () => {
  const kind: BssKind = {
    begin: () => ({ mode: 'put', maxSize: 1000 }),
    // The second PUT reaches an instance that stages every body.
    takesPut: (_size, n) => n !== 2,
  };
  assert.deepEqual(await sendAll(kind, [200, 300, 400]), [[ASK, PUT], [PUT, ASK, PUT], [PUT]]);
});
