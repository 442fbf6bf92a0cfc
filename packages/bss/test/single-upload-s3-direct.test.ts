/**
 * Small single-shot bodies on S3 go to BSS itself: one client request and one PutObject per new
 * file, instead of a presigned PUT to a staging key and a complete that heads, reads, writes and
 * deletes it. BSS hashes the body as it arrives and writes it to its blob key only once size and
 * SHA-256 are the signed ones; a refused or cut-off body leaves nothing in the bucket. The bodies
 * held in memory at once stay within the publish budget.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { request as httpRequest } from 'node:http';
import { after, before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { GetObjectCommand } from '@aws-sdk/client-s3';
import { verifyReceipt } from '@dreamlake/presign';
import type { FastifyInstance } from 'fastify';
import { buildBssApp } from '../src/app.ts';
import { createS3Storage, type S3Storage, type S3StorageOptions } from '../src/storage/s3/index.ts';
import { flipFirst, MiB, SECRET, sha256, singlePath, tempDir, testConfig } from './helpers.ts';
import { createTestBucket, readS3TestConfig, S3_SKIP_REASON, s3EnvVars, type TestBucket } from './storage-s3-env.ts';
import { S3_REQUEST_KINDS, S3FaultProxy, type S3RequestKind } from './support/s3-fault-proxy.ts';

const base = readS3TestConfig();
const owner = 'dana';
const project = 'frames';
const PAGE_ORIGIN = 'https://app.example.com';

interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  json(): Record<string, unknown>;
}

/** A BSS on S3 served over real HTTP, its S3 requests through a proxy that counts them. */
interface Bss {
  storage: S3Storage;
  app: FastifyInstance;
  url: string;
  close(): Promise<void>;
}

describe('small single-shot bodies PUT to BSS on S3', { skip: base ? false : S3_SKIP_REASON }, () => {
  let bucket: TestBucket;
  let proxy: S3FaultProxy;
  let bss: Bss;
  const extra: Bss[] = [];

  async function startBss(options: S3StorageOptions = {}): Promise<Bss> {
    let url = '';
    const storage = await createS3Storage({ ...bucket.config, endpoint: proxy.url }, options, {
      publicUrl: () => url,
    });
    const temp = await tempDir();
    const app = await buildBssApp({
      config: testConfig(temp.dir, { ...s3EnvVars(bucket.config), CORS_ORIGINS: PAGE_ORIGIN }),
      storage,
    });
    url = await app.listen({ host: '127.0.0.1', port: 0 });
    return {
      storage,
      app,
      url,
      async close() {
        await app.close();
        await storage.close();
        await temp.remove();
      },
    };
  }

  before(async () => {
    bucket = await createTestBucket(base!);
    proxy = await S3FaultProxy.start(base!.endpoint!);
    bss = await startBss();
  });
  after(async () => {
    for (const b of extra) await b.close();
    await bss?.close();
    await proxy?.close();
    await bucket?.destroy();
  });

  function file(size = 20 * 1024) {
    const data = randomBytes(size);
    const scope = { owner, project, hash: sha256(data), size };
    return { data, scope, path: singlePath('files', scope) };
  }

  /** One request over a fresh connection; `chunks` without `length` go chunked. */
  function send(
    method: string,
    url: string,
    options: { body?: Buffer; chunks?: Buffer[]; length?: number; headers?: Record<string, string> } = {},
  ): Promise<Answer> {
    return new Promise((resolve, reject) => {
      const headers: Record<string, string> = { connection: 'close', ...options.headers };
      const length = options.length ?? options.body?.length;
      if (length !== undefined) headers['content-length'] = String(length);
      const req = httpRequest(url, { method, headers, agent: false });
      req.on('error', (error: NodeJS.ErrnoException) => {
        // A refusal before the body is read closes the connection: it may reset under the body.
        if (error.code === 'ECONNRESET' || error.code === 'EPIPE')
          resolve({ status: 499, headers: {}, json: () => ({}) });
        else reject(error);
      });
      req.on('response', (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          resolve({ status: res.statusCode ?? 0, headers: res.headers, json: () => JSON.parse(text) });
        });
      });
      for (const chunk of options.chunks ?? []) req.write(chunk);
      req.end(options.body);
    });
  }

  const put = (b: Bss, path: string, body: Buffer, headers: Record<string, string> = {}) =>
    send('PUT', `${b.url}${path}`, { body, headers: { 'content-type': 'image/jpeg', ...headers } });

  /** What `work` answers, and the S3 requests by kind while it ran. */
  async function s3RequestsDuring<T>(
    work: () => Promise<T>,
  ): Promise<{ result: T; requests: Partial<Record<S3RequestKind, number>> }> {
    const before = proxy.counts();
    const result = await work();
    const after = proxy.counts();
    const out: Partial<Record<S3RequestKind, number>> = {};
    for (const kind of S3_REQUEST_KINDS) {
      const n = after[kind].requests - before[kind].requests;
      if (n > 0) out[kind] = n;
    }
    return { result, requests: out };
  }

  async function blobBytes(hash: string): Promise<Buffer | null> {
    try {
      const object = await bucket.client.send(
        new GetObjectCommand({ Bucket: bucket.config.bucket, Key: `blobs/${owner}/${project}/${hash}` }),
      );
      return Buffer.from(await object.Body!.transformToByteArray());
    } catch {
      return null;
    }
  }

  /** Nothing of this hash in the bucket: no blob, nothing staged. */
  async function assertNothingStored(hash: string, why: string) {
    assert.deepEqual(await bucket.keys(`blobs/${owner}/${project}/${hash}`), [], `${why}: no blob`);
    assert.deepEqual(await bucket.keys(`uploads/${owner}/${project}/${hash}/`), [], `${why}: nothing staged`);
  }

  test('a new 20 KB file: the POST says PUT it here, and the PUT lands it with its SHA-256 for one PutObject', async () => {
    const f = file();
    const begin = await send('POST', `${bss.url}${f.path}`, {
      body: Buffer.from(JSON.stringify({ contentType: 'image/jpeg' })),
      headers: { 'content-type': 'application/json' },
    });
    assert.equal(begin.status, 200);
    assert.deepEqual(begin.json(), { mode: 'put', url: `${bss.url}${f.path}`, maxSize: MiB });

    const { result: answer, requests } = await s3RequestsDuring(() => put(bss, f.path, f.data));
    assert.equal(answer.status, 200);
    const { receipt, ...stored } = answer.json();
    assert.deepEqual(stored, {
      success: true,
      key: `blobs/${owner}/${project}/${f.scope.hash}`,
      hash: f.scope.hash,
      size: f.data.length,
      contentType: 'image/jpeg',
    });
    assert.deepEqual(verifyReceipt([SECRET], f.scope, receipt as never, Math.floor(Date.now() / 1000)), {
      size: f.data.length,
      contentType: 'image/jpeg',
    });
    assert.deepEqual(requests, { put: 1 }, 'one PutObject, and no HEAD, GET, COPY or DELETE');
    const kept = await blobBytes(f.scope.hash);
    assert.ok(kept, 'the blob is in the bucket');
    assert.equal(sha256(kept), f.scope.hash, 'it holds the bytes of the signed SHA-256');
    assert.deepEqual(await bucket.keys(`uploads/${owner}/${project}/`), [], 'nothing was staged');
    assert.deepEqual(await bss.storage.stat(f.scope), { ...f.scope, contentType: 'image/jpeg' });

    const again = await put(bss, f.path, f.data);
    assert.equal(again.status, 200, 'the same file again answers the blob');
  });

  test('up to 1 MiB goes to BSS; a larger body is staged in the bucket, and a PUT of it to BSS is 409', async () => {
    const at = file(MiB);
    const past = file(MiB + 1);
    const ask = (path: string) =>
      send('POST', `${bss.url}${path}`, { body: Buffer.from('{}'), headers: { 'content-type': 'application/json' } });
    assert.equal((await ask(at.path)).json().mode, 'put');
    assert.equal((await ask(past.path)).json().mode, 's3');
    assert.equal((await put(bss, at.path, at.data)).status, 200);
    const refused = await put(bss, past.path, past.data);
    assert.ok([409, 499].includes(refused.status), `a staged size is not taken by PUT (${refused.status})`);
    if (refused.status === 409) assert.equal((refused.json().error as { code: string }).code, 'conflict');
    await assertNothingStored(past.scope.hash, 'the refused larger body');
  });

  test('another SHA-256, a short or long Content-Length, a chunked body past or short of the size: 4xx, no S3 write, nothing kept', async () => {
    const cases: {
      name: string;
      status: number;
      code: string;
      send: (f: ReturnType<typeof file>) => Promise<Answer>;
    }[] = [
      {
        name: 'another SHA-256',
        status: 422,
        code: 'hash_mismatch',
        send: (f) => put(bss, f.path, flipFirst(f.data)),
      },
      {
        name: 'Content-Length short of the size',
        status: 400,
        code: 'invalid_part',
        send: (f) => put(bss, f.path, f.data.subarray(1)),
      },
      {
        name: 'Content-Length past the size',
        status: 413,
        code: 'too_large',
        send: (f) => put(bss, f.path, Buffer.concat([f.data, Buffer.from('!')])),
      },
      {
        name: 'a chunked body longer than the size',
        status: 413,
        code: 'too_large',
        send: (f) =>
          send('PUT', `${bss.url}${f.path}`, {
            chunks: [f.data, randomBytes(300)],
            headers: { 'content-type': 'image/jpeg' },
          }),
      },
      {
        name: 'a chunked body shorter than the size',
        status: 400,
        code: 'invalid_part',
        send: (f) =>
          send('PUT', `${bss.url}${f.path}`, {
            chunks: [f.data.subarray(0, 1000), f.data.subarray(1000, f.data.length - 5)],
            headers: { 'content-type': 'image/jpeg' },
          }),
      },
    ];
    for (const c of cases) {
      const f = file();
      const { result: answer, requests } = await s3RequestsDuring(() => c.send(f));
      // A refusal before the body is read may reset the connection under the body instead.
      if (answer.status !== 499) {
        assert.equal(answer.status, c.status, c.name);
        assert.equal((answer.json().error as { code: string }).code, c.code, c.name);
      }
      assert.deepEqual(requests, {}, `${c.name}: no request to S3`);
      await assertNothingStored(f.scope.hash, c.name);
      assert.equal(await bss.storage.stat(f.scope), null, c.name);
    }
  });

  test('a client that hangs up mid-body leaves nothing, and its memory is given back', async () => {
    const f = file(256 * 1024);
    // Room for exactly one such body: had the cut-off one kept its share, the next would be 503.
    const tight = await startBss({ memoryPublishBudget: f.data.length });
    extra.push(tight);
    const { requests } = await s3RequestsDuring(async () => {
      await new Promise<void>((resolve) => {
        const req = httpRequest(`${tight.url}${f.path}`, {
          method: 'PUT',
          headers: { 'content-type': 'image/jpeg', 'content-length': String(f.data.length) },
          agent: false,
        });
        req.on('error', () => resolve());
        req.on('response', () => resolve());
        req.write(f.data.subarray(0, 100_000), () => {
          // BSS has begun taking the body: now the client goes away.
          setTimeout(() => {
            req.destroy();
            resolve();
          }, 100);
        });
      });
      await sleep(300);
    });
    assert.deepEqual(requests, {}, 'no request to S3');
    await assertNothingStored(f.scope.hash, 'the cut-off body');
    const next = await put(tight, f.path, f.data);
    assert.equal(next.status, 200, 'the budget the cut-off body held was given back');
    assert.equal(sha256((await blobBytes(f.scope.hash))!), f.scope.hash);
  });

  test('many bodies at once: no more are held in memory than the budget allows; the others are told to come back', async () => {
    const size = 64 * 1024;
    const fits = 3;
    const tight = await startBss({ memoryReceiveLimit: size, memoryPublishBudget: fits * size });
    extra.push(tight);
    const files = Array.from({ length: 8 }, () => file(size));
    // Each client sends half its body and waits: BSS holds the share of the ones it began taking.
    const held: { finish(): void; drop(): void; answer: Promise<Answer> }[] = files.map((f) => {
      const req = httpRequest(`${tight.url}${f.path}`, {
        method: 'PUT',
        headers: { 'content-type': 'image/jpeg', 'content-length': String(size), connection: 'close' },
        agent: false,
      });
      const answer = new Promise<Answer>((resolve) => {
        req.on('error', () => resolve({ status: 499, headers: {}, json: () => ({}) }));
        req.on('response', (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (chunk: Buffer) => chunks.push(chunk));
          res.on('end', () =>
            resolve({
              status: res.statusCode ?? 0,
              headers: res.headers,
              json: () => JSON.parse(Buffer.concat(chunks).toString('utf8')),
            }),
          );
        });
      });
      req.write(f.data.subarray(0, size / 2));
      return { finish: () => req.end(f.data.subarray(size / 2)), drop: () => req.destroy(), answer };
    });
    try {
      await heldWithinBudget(held);
    } finally {
      // Whatever happened, no client is left holding a request open.
      for (const h of held) h.drop();
    }

    async function heldWithinBudget(held: { finish(): void; answer: Promise<Answer> }[]) {
      const settled = new Set<number>();
      held.forEach((h, i) => void h.answer.then(() => settled.add(i)));
      // The refusals come once the budget stayed spent for its wait; the taken bodies wait for their second half.
      const deadline = Date.now() + 10_000;
      while (settled.size < files.length - fits && Date.now() < deadline) await sleep(20);
      await sleep(200);
      assert.equal(settled.size, files.length - fits, `${files.length - fits} refused, ${fits} taken and waiting`);
      const refused = [...settled];
      for (const i of refused) {
        const answer = await held[i]!.answer;
        if (answer.status === 499) continue; // reset under the body after the refusal
        assert.equal(answer.status, 503);
        assert.equal((answer.json().error as { code: string }).code, 'unavailable');
        assert.equal(answer.headers['retry-after'], '1');
      }
      for (const h of held) h.finish();
      const taken = held.map((_, i) => i).filter((i) => !settled.has(i));
      for (const i of taken) assert.equal((await held[i]!.answer).status, 200, `body ${i} taken`);
      for (const i of refused) await assertNothingStored(files[i]!.scope.hash, `refused body ${i}`);
      // Sent again once the others are done, each of them lands.
      for (const i of refused) assert.equal((await put(tight, files[i]!.path, files[i]!.data)).status, 200);
      for (const f of files) assert.equal(sha256((await blobBytes(f.scope.hash))!), f.scope.hash);
    }
  });

  test('the page may PUT a body to BSS across origins: the preflight allows PUT with its Content-Type', async () => {
    const f = file();
    const preflight = await send('OPTIONS', `${bss.url}${f.path}`, {
      headers: {
        origin: PAGE_ORIGIN,
        'access-control-request-method': 'PUT',
        'access-control-request-headers': 'content-type',
      },
    });
    assert.equal(preflight.status, 204);
    assert.equal(preflight.headers['access-control-allow-origin'], PAGE_ORIGIN);
    assert.match(String(preflight.headers['access-control-allow-methods']), /\bPUT\b/);
    assert.match(String(preflight.headers['access-control-allow-headers']), /content-type/i);
    const answer = await put(bss, f.path, f.data, { origin: PAGE_ORIGIN });
    assert.equal(answer.status, 200);
    assert.equal(answer.headers['access-control-allow-origin'], PAGE_ORIGIN);
  });
});
