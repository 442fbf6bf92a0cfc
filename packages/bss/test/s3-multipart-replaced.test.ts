/**
 * A completed multipart object waits at its upload key while it is verified. Whatever happens to
 * that key meanwhile (an S3 server that lets a part land during the complete, or ignores a copy's
 * `x-amz-copy-source-if-match` as Ceph RGW does), the blob holds the bytes that were hashed: the
 * blob is written from those very bytes or copied from a private copy, never from the upload key.
 * Also in a complete retried after the upload itself was completed.
 */
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import {
  CompleteMultipartUploadCommand,
  CopyObjectCommand,
  CreateMultipartUploadCommand,
  GetObjectCommand,
  PutObjectCommand,
  type S3Client,
} from '@aws-sdk/client-s3';
import { blobKey } from '../src/storage/keys.ts';
import { resolveOptions, type S3StorageOptions } from '../src/storage/s3/config.ts';
import { createPartUrlSigner } from '../src/storage/s3/part-url-signer.ts';
import { S3Storage } from '../src/storage/s3/s3-storage.ts';
import { type Sent, withHook } from './s3-hooked-client.ts';
import { createTestBucket, readS3TestConfig, S3_SKIP_REASON, type TestBucket } from './storage-s3-env.ts';

const base = readS3TestConfig();
const sha256 = (data: Buffer) => createHash('sha256').update(data).digest('hex');
const owner = 'replaced';

const WRITES = new Set([PutObjectCommand.name, CopyObjectCommand.name, CreateMultipartUploadCommand.name]);
/** The publish: the first write of anything under blobs/ (by then the hash is computed). */
const publishing = (command: Sent) => WRITES.has(command.name) && Boolean(command.input.Key?.startsWith('blobs/'));

const ways: { name: string; options: S3StorageOptions }[] = [
  { name: 'from memory', options: {} },
  { name: 'from a private copy', options: { memoryPublishLimit: 0 } },
];

describe('a completed multipart object replaced during its complete', { skip: base ? false : S3_SKIP_REASON }, () => {
  let bucket: TestBucket;
  before(async () => {
    bucket = await createTestBucket(base!);
  });
  after(async () => {
    await bucket?.destroy();
  });

  async function storageWith(client: S3Client, options: S3StorageOptions) {
    const partUrls = await createPartUrlSigner(client, bucket.config.bucket);
    return new S3Storage({ client, bucket: bucket.config.bucket, options: resolveOptions(options), partUrls });
  }

  /** An open upload of `data` with its one part sent; answers what complete needs. */
  async function uploaded(storage: S3Storage, project: string, data: Buffer) {
    const scope = { owner, project, hash: sha256(data) };
    const ref = await storage.createUpload({ ...scope, contentType: 'image/png', size: data.length });
    const url = await storage.partUrl(ref, 1, { expiresInSeconds: 600, contentLength: data.length });
    const res = await fetch(url, { method: 'PUT', body: new Uint8Array(data) });
    assert.equal(res.status, 200);
    const parts = [{ partNumber: 1, etag: res.headers.get('etag')! }];
    const replace = () =>
      bucket.client
        .send(new PutObjectCommand({ Bucket: bucket.config.bucket, Key: ref.key, Body: randomBytes(data.length) }))
        .then(() => undefined);
    return { scope, ref, parts, replace };
  }

  async function blobBytes(scope: { owner: string; project: string; hash: string }): Promise<Buffer> {
    const object = await bucket.client.send(
      new GetObjectCommand({ Bucket: bucket.config.bucket, Key: blobKey(scope) }),
    );
    return Buffer.from(await object.Body!.transformToByteArray());
  }

  for (const way of ways) {
    for (const retried of [false, true]) {
      const what = retried ? 'a complete retried after the upload was completed' : 'a complete';
      test(`${way.name}: replaced after it was hashed in ${what}, the blob holds the hashed bytes`, async () => {
        const data = randomBytes(40_000);
        const project = `${retried ? 'retried' : 'first'}-${way.options.memoryPublishLimit ?? 'mem'}`;
        const plain = await storageWith(bucket.client, way.options);
        const { scope, ref, parts, replace } = await uploaded(plain, project, data);
        if (retried) {
          await bucket.client.send(
            new CompleteMultipartUploadCommand({
              Bucket: bucket.config.bucket,
              Key: ref.key,
              UploadId: ref.uploadId,
              MultipartUpload: { Parts: parts.map((p) => ({ PartNumber: p.partNumber, ETag: p.etag })) },
            }),
          );
        }
        const log: Sent[] = [];
        const hooked = await storageWith(withHook(bucket.client, publishing, replace, log), way.options);
        const blob = await hooked.complete(ref, parts);
        assert.deepEqual([blob.hash, blob.size, blob.contentType], [scope.hash, data.length, 'image/png']);
        assert.equal(sha256(await blobBytes(scope)), scope.hash, 'the blob holds the hashed bytes');
        const fromUploadKey = log.filter(
          (c) => c.input.Key?.startsWith('blobs/') && c.input.CopySource?.endsWith(ref.key),
        );
        assert.deepEqual(fromUploadKey, [], 'nothing is copied from the upload key to blobs/');
        assert.deepEqual(await bucket.keys(`uploads/${owner}/${project}/`), [], 'nothing staged or copied stays');
      });
    }
  }
});
