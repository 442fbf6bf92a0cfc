import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { createS3Storage, type S3Storage } from '../src/storage/s3/index.ts';
import { httpPut } from './helpers.ts';
import { createTestBucket, readS3TestConfig, S3_SKIP_REASON, type TestBucket } from './storage-s3-env.ts';

const base = readS3TestConfig();
const sha256 = (data: Buffer) => createHash('sha256').update(data).digest('hex');

describe('the S3 sweep goes by last activity', { skip: base ? false : S3_SKIP_REASON }, () => {
  let bucket: TestBucket;
  let storage: S3Storage;

  before(async () => {
    bucket = await createTestBucket(base!);
    storage = await createS3Storage(bucket.config);
  });
  after(async () => {
    await storage?.close();
    await bucket?.destroy();
  });

  test('an upload started before the limit but sending parts since is kept; once silent past the limit it is swept', async () => {
    const data = randomBytes(1000);
    const upload = await storage.createUpload({
      owner: 'acme',
      project: 'sweep',
      hash: sha256(data),
      contentType: 'application/octet-stream',
    });
    const idle = await storage.createUpload({
      owner: 'acme',
      project: 'sweep',
      hash: sha256(randomBytes(10)),
      contentType: 'application/octet-stream',
    });
    // S3 keeps times to the second: the part arrives well after the limit below.
    await sleep(1500);
    const limit = new Date();
    await sleep(1500);
    const put = await httpPut(await storage.partUrl(upload, 1, { expiresInSeconds: 600 }), data);
    assert.equal(put.status, 200);

    assert.equal(await storage.sweep(limit), 1, 'only the upload that never sent a part is swept');
    assert.equal(await storage.listParts(idle), null);
    assert.deepEqual(
      (await storage.listParts(upload))?.map((p) => p.size),
      [data.length],
      'the upload that received a part after the limit keeps it',
    );

    assert.equal(await storage.sweep(new Date(Date.now() + 60_000)), 1);
    assert.equal(await storage.listParts(upload), null);
  });
});
