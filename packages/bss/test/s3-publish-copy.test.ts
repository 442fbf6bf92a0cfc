/**
 * A blob past the single-copy limit is published by a multipart copy under its blob key. When one
 * part copy fails, the copy is aborted only once the others in flight have settled (an abort
 * racing a part copy can leave that part, and the upload, behind); and a copy a dead process
 * left under blobs/ is removed by the sweep like a stale upload.
 */
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import {
  CreateMultipartUploadCommand,
  ListMultipartUploadsCommand,
  PutObjectCommand,
  UploadPartCopyCommand,
} from '@aws-sdk/client-s3';
import { blobKey, uploadKey } from '../src/storage/keys.ts';
import { resolveOptions } from '../src/storage/s3/config.ts';
import { createPartUrlSigner } from '../src/storage/s3/part-url-signer.ts';
import { copySource, publishBlob } from '../src/storage/s3/publish.ts';
import { S3Storage } from '../src/storage/s3/s3-storage.ts';
import { headObject } from '../src/storage/s3/verify.ts';
import { type Sent, withHook } from './s3-hooked-client.ts';
import { createTestBucket, readS3TestConfig, S3_SKIP_REASON, type TestBucket } from './storage-s3-env.ts';

const base = readS3TestConfig();
const MiB = 1024 * 1024;
const sha256 = (data: Buffer) => createHash('sha256').update(data).digest('hex');

function deferred(): { promise: Promise<void>; resolve(): void } {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => {
    resolve = r;
  });
  return { promise, resolve };
}

/** `n` turns of the event loop. */
async function turns(n: number): Promise<void> {
  for (let i = 0; i < n; i += 1) await new Promise((r) => setImmediate(r));
}

describe('multipart copies under blobs/', { skip: base ? false : S3_SKIP_REASON }, () => {
  let bucket: TestBucket;
  before(async () => {
    bucket = await createTestBucket(base!);
  });
  after(async () => {
    await bucket?.destroy();
  });

  async function source(project: string, data: Buffer) {
    const scope = { owner: 'copier', project, hash: sha256(data) };
    const key = uploadKey({ ...scope, nonce: 'copy-0123456789abcdef01234567' });
    await bucket.client.send(new PutObjectCommand({ Bucket: bucket.config.bucket, Key: key, Body: data }));
    return { scope, staged: (await headObject(bucket.client, bucket.config.bucket, key))! };
  }

  const blobUploads = async () =>
    (
      (await bucket.client.send(new ListMultipartUploadsCommand({ Bucket: bucket.config.bucket, Prefix: 'blobs/' })))
        .Uploads ?? []
    ).map((u) => u.Key);

  test('a failed part copy: the abort waits for the part copies in flight, and no upload stays', async () => {
    const data = randomBytes(3 * MiB);
    const { scope, staged } = await source('abort', data);
    const events: string[] = [];
    // Parts 2 and 3 are held until part 1 has failed and the event loop has turned many times
    // since: time enough for an abort sent at the failure to reach this client, no clock involved.
    const othersSent = [deferred(), deferred()];
    const held = deferred();
    const client = withHook(
      bucket.client,
      () => false,
      async () => {},
      [],
      async (command: Sent, send) => {
        if (command.name === UploadPartCopyCommand.name) {
          const n = command.input.PartNumber as number;
          if (n === 1) {
            await Promise.all(othersSent.map((d) => d.promise));
            events.push('part 1 failed');
            void turns(50).then(held.resolve);
            throw Object.assign(new Error('injected'), { name: 'InternalError', $metadata: { httpStatusCode: 500 } });
          }
          othersSent[n - 2]?.resolve();
          await held.promise;
          try {
            return await send();
          } finally {
            events.push(`part ${n} settled`);
          }
        }
        if (command.name === 'AbortMultipartUploadCommand') events.push('abort');
        return send();
      },
    );
    const options = { singleCopyLimit: MiB, copyPartSize: MiB, copyConcurrency: 3 };
    await assert.rejects(
      publishBlob(client, bucket.config.bucket, staged, blobKey(scope), scope.hash, options),
      /injected/,
    );
    assert.deepEqual(events.slice(0, 1), ['part 1 failed']);
    assert.deepEqual(events.slice(1, 3).sort(), ['part 2 settled', 'part 3 settled']);
    assert.deepEqual(events.slice(3), ['abort'], 'the abort comes after every part copy settled');
    assert.deepEqual(await blobUploads(), [], 'no multipart upload stays under blobs/');
  });

  test('the sweep aborts a multipart copy a dead process left under blobs/', async () => {
    const data = randomBytes(2 * MiB);
    const { scope, staged } = await source('crashed', data);
    const target = blobKey(scope);
    const created = await bucket.client.send(
      new CreateMultipartUploadCommand({ Bucket: bucket.config.bucket, Key: target }),
    );
    await bucket.client.send(
      new UploadPartCopyCommand({
        Bucket: bucket.config.bucket,
        Key: target,
        UploadId: created.UploadId,
        PartNumber: 1,
        CopySource: copySource(bucket.config.bucket, staged.key),
        CopySourceRange: `bytes=0-${MiB - 1}`,
      }),
    );
    assert.deepEqual(await blobUploads(), [target]);
    const partUrls = await createPartUrlSigner(bucket.client, bucket.config.bucket);
    const storage = new S3Storage({
      client: bucket.client,
      bucket: bucket.config.bucket,
      options: resolveOptions(),
      partUrls,
    });
    assert.ok((await storage.sweep(new Date(Date.now() + 60_000))) >= 1);
    assert.deepEqual(await blobUploads(), [], 'the copy left under blobs/ is aborted');
    const fresh = await bucket.client.send(
      new CreateMultipartUploadCommand({ Bucket: bucket.config.bucket, Key: target }),
    );
    await storage.sweep(new Date(Date.now() - 60_000));
    assert.deepEqual(await blobUploads(), [target], 'a copy in progress is kept');
    assert.ok(fresh.UploadId);
  });
});
