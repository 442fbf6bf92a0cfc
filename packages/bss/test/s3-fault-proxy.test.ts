/**
 * The fault-injecting S3 proxy the S3 fault tests stand on, and the S3 client BSS builds against
 * it: each kind of request is told apart, the chosen share of them fails in the chosen way, and
 * BSS's client rides out SlowDown, 500, resets and stalls by its retries and timeouts, or names
 * the S3 operation that failed once they are spent.
 */
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { GetObjectCommand, HeadObjectCommand, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { buildBssApp } from '../src/app.ts';
import { blobKey, uploadKey } from '../src/storage/keys.ts';
import { createS3Client } from '../src/storage/s3/client.ts';
import { createS3Storage } from '../src/storage/s3/index.ts';
import { translateS3Error } from '../src/storage/s3/s3-errors.ts';
import { SINGLE_NONCE_PREFIX } from '../src/storage/single-upload.ts';
import { tempDir, testConfig } from './helpers.ts';
import { createTestBucket, readS3TestConfig, S3_SKIP_REASON, s3EnvVars, type TestBucket } from './storage-s3-env.ts';
import { classifyS3Request, type S3Fault, S3FaultProxy } from './support/s3-fault-proxy.ts';

const base = readS3TestConfig();

test('requests are told apart by method, query and the copy header', () => {
  const kind = (method: string, path: string, headers: Record<string, string> = {}) =>
    classifyS3Request(method, new URL(path, 'http://s3'), headers);
  assert.equal(kind('POST', '/b/uploads/o/p/h/n?uploads'), 'create');
  assert.equal(kind('PUT', '/b/uploads/o/p/h/n?partNumber=3&uploadId=u&X-Amz-Signature=s'), 'part');
  assert.equal(kind('PUT', '/b/blobs/o/p/h?partNumber=1&uploadId=u', { 'x-amz-copy-source': 'b/x' }), 'copy');
  assert.equal(kind('PUT', '/b/blobs/o/p/h', { 'x-amz-copy-source': 'b/x' }), 'copy');
  assert.equal(kind('POST', '/b/uploads/o/p/h/n?uploadId=u'), 'complete');
  assert.equal(kind('DELETE', '/b/uploads/o/p/h/n?uploadId=u'), 'abort');
  assert.equal(kind('PUT', '/b/uploads/o/p/h/single-n?x-id=PutObject'), 'put');
  assert.equal(kind('GET', '/b/uploads/o/p/h/n', { range: 'bytes=0-9' }), 'get');
  assert.equal(kind('HEAD', '/b/blobs/o/p/h'), 'head');
  assert.equal(kind('HEAD', '/b'), 'head');
  assert.equal(kind('DELETE', '/b/uploads/o/p/h/n'), 'delete');
  assert.equal(kind('GET', '/b?list-type=2&prefix=uploads%2F'), 'list');
  assert.equal(kind('GET', '/b?uploads&prefix=blobs%2F'), 'list');
  assert.equal(kind('GET', '/b/uploads/o/p/h/n?uploadId=u&max-parts=1000'), 'list');
});

describe('the S3 fault proxy against the real S3 server', { skip: base ? false : S3_SKIP_REASON }, () => {
  let bucket: TestBucket;
  let proxy: S3FaultProxy;
  const key = 'uploads/fault/proxy/object';
  const body = randomBytes(64 * 1024);

  /** A client through the proxy, as BSS builds it. */
  const through = (maxAttempts: number, timeoutMs = 1_000): S3Client =>
    createS3Client({ ...bucket.config, endpoint: proxy.url, maxAttempts, timeoutMs });

  before(async () => {
    bucket = await createTestBucket(base!);
    proxy = await S3FaultProxy.start(base!.endpoint!);
    await bucket.client.send(new PutObjectCommand({ Bucket: bucket.config.bucket, Key: key, Body: body }));
  });
  after(async () => {
    await proxy?.close();
    await bucket?.destroy();
  });

  for (const fault of ['slowdown', 'internal', 'reset', 'stall'] as const) {
    test(`${fault}: a client with one attempt fails; BSS's client retries and reads the object`, async () => {
      proxy.inject({ kinds: ['get'], share: 0.5, faults: [fault] });
      const before = proxy.counts().get.faults[fault];
      const once = through(1);
      const retrying = through(5);
      try {
        // Every other GET fails, the first one first.
        const failed = await once.send(new GetObjectCommand({ Bucket: bucket.config.bucket, Key: key })).then(
          () => assert.fail('the faulted GET succeeded'),
          (error: unknown) => error,
        );
        const expected: Record<Exclude<S3Fault, 'lost'>, RegExp> = {
          slowdown: /S3 GetObject failed after 1 attempts \(SlowDown, HTTP 503\)/,
          internal: /S3 GetObject failed after 1 attempts \(InternalError, HTTP 500\)/,
          reset: /S3 GetObject failed after 1 attempts \(ECONNRESET\)/,
          stall: /S3 GetObject failed after 1 attempts \(TimeoutError\)/,
        };
        assert.match((translateS3Error(failed) as Error).message, expected[fault]);
        assert.equal((translateS3Error(failed) as { code?: string }).code, 'storage_unavailable');

        proxy.inject({ kinds: ['get'], share: 0.5, faults: [fault] });
        const read = await retrying.send(new GetObjectCommand({ Bucket: bucket.config.bucket, Key: key }));
        assert.equal(read.$metadata.attempts, 2);
        const bytes = Buffer.from(await read.Body!.transformToByteArray());
        assert.equal(createHash('sha256').update(bytes).digest('hex'), createHash('sha256').update(body).digest('hex'));
        assert.equal(proxy.counts().get.faults[fault], before + 2);
      } finally {
        proxy.inject();
        proxy.release();
        once.destroy();
        retrying.destroy();
      }
    });
  }

  test('a share of 0.1 fails exactly one request in ten of the kind, and only that kind', async () => {
    const client = through(1);
    proxy.inject({ kinds: ['head'], share: 0.1, faults: ['slowdown'] });
    const before = proxy.counts();
    try {
      const outcomes: boolean[] = [];
      for (let i = 0; i < 30; i += 1) {
        outcomes.push(
          await client.send(new HeadObjectCommand({ Bucket: bucket.config.bucket, Key: key })).then(
            () => true,
            () => false,
          ),
        );
      }
      assert.deepEqual(
        outcomes.flatMap((ok, i) => (ok ? [] : [i + 1])),
        [1, 11, 21],
      );
      const read = await client.send(new GetObjectCommand({ Bucket: bucket.config.bucket, Key: key }));
      await read.Body!.transformToByteArray();
      const now = proxy.counts();
      assert.equal(now.head.faults.slowdown - before.head.faults.slowdown, 3);
      assert.equal(now.head.requests - before.head.requests, 30);
      assert.equal(now.get.faults.slowdown, before.get.faults.slowdown);
    } finally {
      proxy.inject();
      client.destroy();
    }
  });

  test('a stalled request is held until released, and a rule for presigned requests spares SDK calls', async () => {
    proxy.inject({ kinds: ['head'], share: 1, faults: ['stall'] });
    const client = through(1, 60_000);
    try {
      const pending = client.send(new HeadObjectCommand({ Bucket: bucket.config.bucket, Key: key }));
      pending.catch(() => {});
      await proxy.whenStalled();
      proxy.release();
      await assert.rejects(pending);
      proxy.inject({ kinds: ['head'], share: 1, faults: ['slowdown'], presigned: true });
      const head = await client.send(new HeadObjectCommand({ Bucket: bucket.config.bucket, Key: key }));
      assert.equal(head.ContentLength, body.length);
    } finally {
      proxy.inject();
      client.destroy();
    }
  });

  test("BSS's /metrics counts S3's failed attempts by operation and error, and the retries", async () => {
    const storage = await createS3Storage({ ...bucket.config, endpoint: proxy.url, maxAttempts: 5, timeoutMs: 1_000 });
    const temp = await tempDir();
    const app = await buildBssApp({ config: testConfig(temp.dir, s3EnvVars(bucket.config)), storage });
    try {
      proxy.inject({ kinds: ['head'], share: 1, faults: ['slowdown', 'internal', 'reset'] });
      const blob = { owner: 'fault', project: 'proxy', hash: 'a'.repeat(64) };
      // Every HEAD fails: five attempts, four of them retries, then BSS gives up.
      const stat = storage.stat(blob);
      await assert.rejects(stat, /S3 HeadObject failed after 5 attempts/);
      proxy.inject();
      const text = (await app.inject({ method: 'GET', url: '/metrics' })).body;
      const value = (line: string) =>
        Number(
          text
            .split('\n')
            .find((l) => l.startsWith(line))
            ?.split(' ')
            .pop(),
        );
      assert.equal(value('dreamlake_bss_s3_retries_total{operation="HeadObject"}'), 4);
      const errors = (error: string) => value(`dreamlake_bss_s3_errors_total{operation="HeadObject",error="${error}"}`);
      // A HEAD's answer has no body: S3's error code is not in it, only the status.
      assert.equal(errors('HTTP 503') + errors('HTTP 500') + errors('ECONNRESET'), 5, text);
      assert.ok(errors('ECONNRESET') >= 1, text);
    } finally {
      proxy.inject();
      await app.close();
      await storage.close();
      await temp.remove();
    }
  });

  test('a copy into a private key that S3 carried out but whose answer was lost is tried again into a fresh key', async () => {
    const data = randomBytes(40_000);
    const hash = createHash('sha256').update(data).digest('hex');
    const upload = { owner: 'lost', project: 'copy', hash, size: data.length };
    const key = uploadKey({ ...upload, nonce: `${SINGLE_NONCE_PREFIX}${randomBytes(6).toString('hex')}` });
    await bucket.client.send(
      new PutObjectCommand({ Bucket: bucket.config.bucket, Key: key, Body: data, ContentType: 'image/png' }),
    );
    // Past the memory budget: published from a private copy.
    const storage = await createS3Storage(
      { ...bucket.config, endpoint: proxy.url, timeoutMs: 2_000 },
      { memoryPublishBudget: data.length - 1 },
    );
    try {
      proxy.inject({ kinds: ['copy'], share: 1, faults: ['lost'], presigned: false, times: 1 });
      const seen = proxy.requests().length;
      const blob = await storage.completeSingle(upload, key);
      const copies = proxy
        .requests()
        .slice(seen)
        .filter((r) => r.kind === 'copy');
      assert.equal(copies[0]?.fault, 'lost', 'S3 carried out the first copy, and its answer was lost');
      const intoPrivate = copies.filter((r) => r.path.includes('/uploads/')).map((r) => r.path);
      assert.equal(intoPrivate.length, 2, `one lost copy, one more try: ${intoPrivate.join(', ')}`);
      assert.notEqual(intoPrivate[1], intoPrivate[0], 'the second try went to a fresh key');
      assert.equal(blob.hash, hash);
      const object = await bucket.client.send(
        new GetObjectCommand({ Bucket: bucket.config.bucket, Key: blobKey(upload) }),
      );
      const kept = Buffer.from(await object.Body!.transformToByteArray());
      assert.equal(createHash('sha256').update(kept).digest('hex'), hash, 'the blob holds the hashed bytes');
    } finally {
      proxy.inject();
      await storage.close();
    }
  });
});
