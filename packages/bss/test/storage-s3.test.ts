import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { CompleteMultipartUploadCommand } from '@aws-sdk/client-s3';
import { mapLimit } from '@dreamlake/protocol';
import { createS3Client } from '../src/storage/s3/client.ts';
import { resolveOptions } from '../src/storage/s3/config.ts';
import { createS3Storage, S3Storage, type S3StorageOptions } from '../src/storage/s3/index.ts';
import { createPartUrlSigner } from '../src/storage/s3/part-url-signer.ts';
import type { UploadRef } from '../src/storage/storage.ts';
import { httpPut } from './helpers.ts';
import { storageContract } from './storage-contract.ts';
import { createTestBucket, readS3TestConfig, S3_SKIP_REASON, type TestBucket } from './storage-s3-env.ts';

const base = readS3TestConfig();
const MiB = 1024 * 1024;
const owner = 'acme';
const project = 'robots';

const sha256 = (data: Buffer) => createHash('sha256').update(data).digest('hex');
const md5Base64 = (data: Buffer) => createHash('md5').update(data).digest('base64');

async function putPart(url: string, body: Buffer, contentMd5?: string): Promise<Response> {
  const headers: Record<string, string> = contentMd5 ? { 'content-md5': contentMd5 } : {};
  return fetch(url, { method: 'PUT', body: new Uint8Array(body), headers });
}

async function drain(stream: NodeJS.ReadableStream): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(Buffer.from(chunk as Buffer));
  return Buffer.concat(chunks);
}

test('an unreachable S3 answers storage_unavailable (503), and a factory pointed at it fails at start', async () => {
  const config = {
    endpoint: 'http://127.0.0.1:9',
    region: 'us-east-1',
    bucket: 'b',
    forcePathStyle: true,
    accessKeyId: 'k',
    secretAccessKey: 's',
  };
  await assert.rejects(createS3Storage(config), /bucket "b" at http:\/\/127\.0\.0\.1:9 is not usable/);
  const client = createS3Client(config);
  const partUrls = await createPartUrlSigner(client, config.bucket);
  const storage = new S3Storage({ client, bucket: config.bucket, options: resolveOptions(), partUrls });
  try {
    await assert.rejects(storage.stat({ owner, project, hash: 'c'.repeat(64) }), (error: unknown) => {
      assert.equal((error as { code?: string }).code, 'storage_unavailable');
      assert.equal((error as { status?: number }).status, 503);
      return true;
    });
  } finally {
    await storage.close();
  }
});

if (base) {
  storageContract('s3', async () => {
    const bucket = await createTestBucket(base);
    const storage = await createS3Storage(bucket.config);
    return {
      storage,
      putPart: httpPut,
      async leftovers(hash) {
        return (await bucket.keys('uploads/')).filter((key) => key.includes(hash));
      },
      async cleanup() {
        await storage.close();
        await bucket.destroy();
      },
    };
  });
} else {
  test('storage contract: s3', { skip: S3_SKIP_REASON }, () => {});
}

describe('S3 backend against a real S3 server', { skip: base ? false : S3_SKIP_REASON }, () => {
  let bucket: TestBucket;
  let storage: S3Storage;
  const extra: S3Storage[] = [];

  before(async () => {
    bucket = await createTestBucket(base!);
    storage = await createS3Storage(bucket.config);
  });
  after(async () => {
    await storage?.close();
    for (const s of extra) await s.close();
    await bucket?.destroy();
  });

  /** Starts an upload of `data` and sends its parts through presigned URLs; answers the parts. */
  async function upload(data: Buffer, partSize: number, s: S3Storage = storage, hash = sha256(data)) {
    const ref = await s.createUpload({ owner, project, hash, contentType: 'video/mp4' });
    const parts = [];
    for (let i = 0, n = 1; i < data.length; i += partSize, n++) {
      const body = data.subarray(i, i + partSize);
      const res = await putPart(await s.partUrl(ref, n, { expiresInSeconds: 600 }), body);
      assert.equal(res.status, 200, await res.text());
      parts.push({ partNumber: n, etag: res.headers.get('etag')! });
    }
    return { ref, parts };
  }

  test('a factory pointed at a missing bucket fails at start with a clear message', async () => {
    await assert.rejects(
      createS3Storage({ ...bucket.config, bucket: 'no-such-bucket-dreamlake' }),
      /no-such-bucket-dreamlake.*not usable/,
    );
  });

  test('a part URL that declares Content-MD5 refuses a corrupted body (BadDigest) and takes the right one', async () => {
    const data = randomBytes(64 * 1024);
    const ref = await storage.createUpload({
      owner,
      project,
      hash: sha256(data),
      contentType: 'application/octet-stream',
    });
    const url = await storage.partUrl(ref, 1, { expiresInSeconds: 600, contentMd5: md5Base64(data) });

    const corrupted = Buffer.from(data);
    corrupted[100] = corrupted[100]! ^ 0xff;
    const refused = await putPart(url, corrupted, md5Base64(data));
    assert.equal(refused.status, 400);
    assert.match(await refused.text(), /BadDigest/);

    const unsignedHeader = await putPart(url, data); // the header is signed: leaving it out fails too
    assert.equal(unsignedHeader.status, 403);

    const accepted = await putPart(url, data, md5Base64(data));
    assert.equal(accepted.status, 200);
    assert.deepEqual(await storage.listParts(ref), [
      { partNumber: 1, etag: `"${createHash('md5').update(data).digest('hex')}"`, size: data.length },
    ]);
    await storage.abort(ref);
  });

  test('parts-done lists every part of an upload beyond the 1,000 one ListParts page holds', async () => {
    const ref = await storage.createUpload({ owner, project, hash: 'a'.repeat(64), contentType: 'text/plain' });
    const numbers = Array.from({ length: 1001 }, (_, i) => i + 1);
    await mapLimit(numbers, 16, async (n) => {
      const res = await putPart(await storage.partUrl(ref, n, { expiresInSeconds: 600 }), Buffer.from(`part ${n}`));
      assert.equal(res.status, 200);
    });
    const parts = await storage.listParts(ref);
    assert.equal(parts?.length, 1001);
    assert.deepEqual(
      parts!.map((p) => p.partNumber),
      numbers,
    );
    assert.equal(parts![1000]!.size, Buffer.byteLength('part 1001'));
    await storage.abort(ref);
    assert.equal(await storage.listParts(ref), null);
  });

  test('a completed upload is verified, published under blobs/ and its staging object removed', async () => {
    const data = randomBytes(5 * MiB + 4321);
    const { ref, parts } = await upload(data, 5 * MiB);
    const blob = await storage.complete(ref, parts);
    assert.deepEqual(blob, { owner, project, hash: sha256(data), size: data.length, contentType: 'video/mp4' });
    assert.deepEqual(await bucket.keys(`uploads/${owner}/${project}/${sha256(data)}/`), []);
    assert.deepEqual(await bucket.keys(`blobs/${owner}/${project}/${sha256(data)}`), [
      `blobs/${owner}/${project}/${sha256(data)}`,
    ]);
    assert.ok((await drain(await storage.read(blob))).equals(data));
  });

  test('a hash mismatch leaves nothing behind: no blob, no staging object', async () => {
    const data = randomBytes(300 * 1024);
    const claimed = sha256(Buffer.from('something else'));
    const { ref, parts } = await upload(data, 5 * MiB, storage, claimed);
    await assert.rejects(storage.complete(ref, parts), { code: 'hash_mismatch' });
    assert.equal(await storage.stat({ owner, project, hash: claimed }), null);
    assert.equal(await storage.stat({ owner, project, hash: sha256(data) }), null);
    assert.deepEqual(await bucket.keys(`uploads/${owner}/${project}/${claimed}/`), []);
    await assert.rejects(storage.complete(ref, parts), { code: 'not_found' });
  });

  test('an object above the single-copy limit is copied privately and published by multipart server-side copies', async () => {
    const small: S3StorageOptions = {
      singleCopyLimit: 5 * MiB,
      copyPartSize: 5 * MiB,
      copyConcurrency: 2,
      verifyChunkSize: 3 * MiB,
      memoryPublishLimit: 0,
    };
    const s = await createS3Storage(bucket.config, small);
    extra.push(s);
    const data = randomBytes(12 * MiB + 17);
    const { ref, parts } = await upload(data, 5 * MiB, s);
    const blob = await s.complete(ref, parts);
    assert.equal(blob.size, data.length);
    assert.equal((await s.stat(blob))?.contentType, 'video/mp4');
    assert.ok((await drain(await s.read(blob))).equals(data));
    assert.deepEqual(
      await bucket.keys(`uploads/${owner}/${project}/${blob.hash}/`),
      [],
      'no staged object or copy stays',
    );
    assert.deepEqual(
      (await bucket.multipartKeys()).filter((key) => key.includes(blob.hash)),
      [],
      'no multipart copy stays',
    );
  });

  test('a complete retried after the first one died between assembling and verifying publishes the blob', async () => {
    const data = randomBytes(200 * 1024);
    const { ref, parts } = await upload(data, 5 * MiB);
    // What a BSS process killed right after CompleteMultipartUpload leaves behind.
    await bucket.client.send(
      new CompleteMultipartUploadCommand({
        Bucket: bucket.config.bucket,
        Key: ref.key,
        UploadId: ref.uploadId,
        MultipartUpload: { Parts: parts.map((p) => ({ PartNumber: p.partNumber, ETag: p.etag })) },
      }),
    );
    assert.equal(await storage.stat({ owner, project, hash: sha256(data) }), null);
    const blob = await storage.complete(ref, parts);
    assert.equal(blob.hash, sha256(data));
    assert.equal((await storage.stat(blob))?.size, data.length);
  });

  test('the same upload completed twice at once, and two uploads of one hash, all end in success with one blob', async () => {
    const data = randomBytes(5 * MiB + 99);
    const a = await upload(data, 5 * MiB);
    const b = await upload(data, 5 * MiB);
    const results = await Promise.all([
      storage.complete(a.ref, a.parts),
      storage.complete(a.ref, a.parts),
      storage.complete(b.ref, b.parts),
    ]);
    for (const blob of results) assert.deepEqual(blob, results[0]);
    assert.equal(results[0]!.hash, sha256(data));
    assert.deepEqual(await storage.complete(a.ref, a.parts), results[0]); // and once more, later
    assert.deepEqual(await bucket.keys(`uploads/${owner}/${project}/${sha256(data)}/`), []);
  });

  test('a legacy 16-hex hash prefix is verified against the full SHA-256 and the blob is named by it', async () => {
    const data = randomBytes(1000);
    const { ref, parts } = await upload(data, 5 * MiB, storage, sha256(data).slice(0, 16));
    const blob = await storage.complete(ref, parts);
    assert.equal(blob.hash, sha256(data));
    assert.deepEqual(await storage.complete(ref, parts), blob);
  });

  test('a presigned download URL serves the blob, and a byte range of it', async () => {
    const data = randomBytes(100_000);
    const { ref, parts } = await upload(data, 5 * MiB);
    const blob = await storage.complete(ref, parts);
    const url = await storage.downloadUrl(blob, 300);
    const whole = await fetch(url);
    assert.equal(whole.status, 200);
    assert.ok(Buffer.from(await whole.arrayBuffer()).equals(data));
    const ranged = await fetch(url, { headers: { range: 'bytes=1000-1999' } });
    assert.equal(ranged.status, 206);
    assert.ok(Buffer.from(await ranged.arrayBuffer()).equals(data.subarray(1000, 2000)));
  });

  test('sweep aborts stale multipart uploads and unpublished staging objects, and leaves fresh ones', async () => {
    const stale = await storage.createUpload({
      owner: 'sweep',
      project: 'p',
      hash: 'b'.repeat(64),
      contentType: 'text/plain',
    });
    const staged = randomBytes(1000);
    const s = await upload(staged, 5 * MiB, storage, sha256(staged));
    await bucket.client.send(
      new CompleteMultipartUploadCommand({
        Bucket: bucket.config.bucket,
        Key: s.ref.key,
        UploadId: s.ref.uploadId,
        MultipartUpload: { Parts: s.parts.map((p) => ({ PartNumber: p.partNumber, ETag: p.etag })) },
      }),
    );
    assert.equal(await storage.sweep(new Date(Date.now() - 3600_000)), 0);
    assert.ok((await bucket.multipartKeys()).includes(stale.key));

    const removed = await storage.sweep(new Date(Date.now() + 60_000));
    assert.ok(removed >= 2, `removed ${removed}`);
    assert.equal(await storage.listParts(stale), null);
    assert.deepEqual(await bucket.multipartKeys(), []);
    assert.deepEqual(await bucket.keys('uploads/'), []);
  });

  test('two backends over one bucket serve one upload alternately (nothing is kept in process memory)', async () => {
    const other = await createS3Storage(bucket.config);
    extra.push(other);
    const data = randomBytes(6 * MiB);
    const ref: UploadRef = await storage.createUpload({ owner, project, hash: sha256(data), contentType: 'audio/wav' });
    const first = data.subarray(0, 5 * MiB);
    const r1 = await putPart(
      await other.partUrl(ref, 1, { expiresInSeconds: 600, contentMd5: md5Base64(first) }),
      first,
      md5Base64(first),
    );
    assert.equal(r1.status, 200);
    assert.deepEqual(
      (await storage.listParts(ref))?.map((p) => p.partNumber),
      [1],
    );
    const rest = data.subarray(5 * MiB);
    const r2 = await putPart(await storage.partUrl(ref, 2, { expiresInSeconds: 600 }), rest);
    assert.equal(r2.status, 200);
    const parts = (await other.listParts(ref))!.map(({ partNumber, etag }) => ({ partNumber, etag }));
    const blob = await other.complete(ref, parts);
    assert.deepEqual(await storage.stat(blob), {
      owner,
      project,
      hash: sha256(data),
      size: data.length,
      contentType: 'audio/wav',
    });
  });
});
