/**
 * A single-shot client keeps its presigned PUT of the staging key until it expires, so it can
 * replace the staged object at any moment of a complete, and an S3 server may ignore the copy's
 * `x-amz-copy-source-if-match` (Ceph RGW does). Whenever the object is replaced, the blob holds
 * the bytes that were hashed, or the complete is refused and nothing is published: on every S3
 * server, by either way of publishing (from memory, or from a private copy).
 */
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import {
  CopyObjectCommand,
  CreateMultipartUploadCommand,
  GetObjectCommand,
  PutObjectCommand,
  type S3Client,
} from '@aws-sdk/client-s3';
import { blobKey, uploadKey } from '../src/storage/keys.ts';
import { resolveOptions, type S3StorageOptions } from '../src/storage/s3/config.ts';
import { createPartUrlSigner } from '../src/storage/s3/part-url-signer.ts';
import { S3Storage } from '../src/storage/s3/s3-storage.ts';
import { SINGLE_NONCE_PREFIX } from '../src/storage/single-upload.ts';
import { type Sent, withHook } from './s3-hooked-client.ts';
import { createTestBucket, readS3TestConfig, S3_SKIP_REASON, type TestBucket } from './storage-s3-env.ts';

const base = readS3TestConfig();
const sha256 = (data: Buffer) => createHash('sha256').update(data).digest('hex');

const WRITES = new Set([PutObjectCommand.name, CopyObjectCommand.name, CreateMultipartUploadCommand.name]);
/** The publish: the first write of anything under blobs/ (by then the hash is computed). */
const publishing = (command: Sent) => WRITES.has(command.name) && Boolean(command.input.Key?.startsWith('blobs/'));

const ways: { name: string; options: S3StorageOptions }[] = [
  { name: 'from memory', options: {} },
  { name: 'from a private copy', options: { memoryPublishLimit: 0 } },
];

describe('a staged single-shot object replaced during its complete', { skip: base ? false : S3_SKIP_REASON }, () => {
  let bucket: TestBucket;
  before(async () => {
    bucket = await createTestBucket(base!);
  });
  after(async () => {
    await bucket?.destroy();
  });

  async function stage(project: string, data: Buffer) {
    const upload = { owner: 'replaced', project, hash: sha256(data), size: data.length };
    const key = uploadKey({ ...upload, nonce: `${SINGLE_NONCE_PREFIX}${randomBytes(6).toString('hex')}` });
    const put = (body: Buffer, at = key) =>
      bucket.client.send(
        new PutObjectCommand({ Bucket: bucket.config.bucket, Key: at, Body: body, ContentType: 'image/png' }),
      );
    await put(data);
    return { upload, key, put };
  }

  async function storageWith(client: S3Client, options: S3StorageOptions) {
    const partUrls = await createPartUrlSigner(client, bucket.config.bucket);
    return new S3Storage({ client, bucket: bucket.config.bucket, options: resolveOptions(options), partUrls });
  }

  async function blobBytes(upload: { owner: string; project: string; hash: string }): Promise<Buffer> {
    const object = await bucket.client.send(
      new GetObjectCommand({ Bucket: bucket.config.bucket, Key: blobKey(upload) }),
    );
    return Buffer.from(await object.Body!.transformToByteArray());
  }

  for (const way of ways) {
    test(`${way.name}: replaced after it was hashed, the blob holds the hashed bytes`, async () => {
      const data = randomBytes(40_000);
      const project = `after-${way.options.memoryPublishLimit ?? 'mem'}`;
      const { upload, key, put } = await stage(project, data);
      const client = withHook(bucket.client, publishing, () => put(randomBytes(data.length)).then(() => undefined));
      const blob = await (await storageWith(client, way.options)).completeSingle(upload, key);
      assert.deepEqual([blob.hash, blob.size, blob.contentType], [upload.hash, data.length, 'image/png']);
      assert.equal(sha256(await blobBytes(upload)), upload.hash, 'the blob holds the hashed bytes');
      assert.deepEqual(await bucket.keys(`uploads/replaced/${project}/`), [], 'nothing staged or copied stays');
    });

    test(`${way.name}: replaced while another upload published the blob, the blob keeps the verified bytes`, async () => {
      const data = randomBytes(40_000);
      const { upload, key, put } = await stage(`raced-${way.options.memoryPublishLimit ?? 'mem'}`, data);
      const client = withHook(bucket.client, publishing, async () => {
        await put(data, blobKey(upload));
        await put(randomBytes(data.length));
      });
      const blob = await (await storageWith(client, way.options)).completeSingle(upload, key);
      assert.deepEqual([blob.hash, blob.size], [upload.hash, data.length]);
      assert.equal(sha256(await blobBytes(upload)), upload.hash, 'the blob holds the hashed bytes');
    });

    test(`${way.name}: replaced before it was read, the complete is refused and nothing is published`, async () => {
      const data = randomBytes(40_000);
      const { upload, key, put } = await stage(`before-${way.options.memoryPublishLimit ?? 'mem'}`, data);
      const firstRead = (command: Sent) =>
        (command.name === GetObjectCommand.name && command.input.Key === key) ||
        (command.name === CopyObjectCommand.name && Boolean(command.input.CopySource?.endsWith(key)));
      const client = withHook(bucket.client, firstRead, () => put(randomBytes(data.length)).then(() => undefined));
      await assert.rejects((await storageWith(client, way.options)).completeSingle(upload, key), (error: unknown) => {
        assert.ok(['conflict', 'hash_mismatch'].includes(String((error as { code?: string }).code)), String(error));
        return true;
      });
      await assert.rejects(blobBytes(upload), { name: 'NoSuchKey' }, 'no blob of unhashed bytes');
    });
  }

  test('past the memory budget, a small object is published from a private copy', async () => {
    const data = randomBytes(4096);
    const { upload, key } = await stage('budget', data);
    const log: Sent[] = [];
    const client = withHook(
      bucket.client,
      () => false,
      async () => {},
      log,
    );
    const storage = await storageWith(client, { memoryPublishBudget: data.length - 1 });
    assert.equal((await storage.completeSingle(upload, key)).hash, upload.hash);
    const writes = log.filter((c) => WRITES.has(c.name)).map((c) => `${c.name} ${c.input.Key?.split('/')[0]}`);
    assert.deepEqual(writes, ['CopyObjectCommand uploads', 'CopyObjectCommand blobs'], 'no PUT of the bytes');
    assert.equal(sha256(await blobBytes(upload)), upload.hash);
    assert.deepEqual(await bucket.keys('uploads/replaced/budget/'), [], 'the private copy is deleted');
  });
});
