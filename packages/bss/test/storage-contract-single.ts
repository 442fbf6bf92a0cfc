/**
 * The single-shot part of the storage contract (see storage-contract.ts): every backend takes a
 * file of at most one part in one transfer, either by receiving the body itself (disk, and S3 up
 * to its `singleReceiveLimit`) or by a presigned PUT to the store that it verifies afterwards
 * (S3, larger bodies). The same assertions hold for both.
 */

import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { test } from 'node:test';
import { MIN_PART_SIZE } from '@dreamlake/protocol';
import { receivesSingleOf, type SingleUpload, stagesSingles } from '../src/storage/single-upload.ts';
import type { BlobInfo } from '../src/storage/storage.ts';
import type { ContractHarness } from './storage-contract.ts';

const sha256 = (data: Buffer) => createHash('sha256').update(data).digest('hex');

async function collect(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

/** The error code, or `refused_by_store` when the store itself refused the presigned PUT. */
function codeOf(error: unknown): string {
  return String((error as { code?: unknown }).code);
}

export function singleShotContract(harness: () => ContractHarness, owner: string, project: string): void {
  /** Sends `body` for `upload` the way this backend takes single-shot uploads. */
  async function sendSingle(upload: SingleUpload, body: Buffer): Promise<BlobInfo> {
    const { storage, putPart } = harness();
    // As the single URL's POST answers: to BSS itself, or (S3, past what BSS takes itself) staged.
    if (receivesSingleOf(storage, upload.size)) {
      // In two chunks, as a socket delivers it.
      const half = Math.floor(body.length / 2);
      return storage.receiveSingle(upload, Readable.from([body.subarray(0, half), body.subarray(half)]));
    }
    if (stagesSingles(storage)) {
      const staged = await storage.stageSingle(upload, 900);
      assert.ok(staged.key.startsWith(`uploads/${upload.owner}/${upload.project}/${upload.hash}/single-`), staged.key);
      const res = await putPart(staged.url, body, staged.headers);
      if (res.status !== 200)
        throw Object.assign(new Error(`the store refused the PUT (${res.status})`), { code: 'refused_by_store' });
      return storage.completeSingle(upload, staged.key);
    }
    return assert.fail('every backend takes single-shot uploads one way or the other');
  }

  function file(size = 70_000): { data: Buffer; upload: SingleUpload } {
    const data = randomBytes(size);
    return { data, upload: { owner, project, hash: sha256(data), size, contentType: 'image/png' } };
  }

  async function assertNothingLeft(upload: SingleUpload): Promise<void> {
    assert.equal(await harness().storage.stat(upload), null, 'no blob');
    assert.deepEqual(await harness().leftovers(upload.hash), [], 'nothing staged stays behind');
  }

  test('single-shot: the body is published as a verified blob that stat and read serve', async () => {
    const f = file();
    const info = await sendSingle(f.upload, f.data);
    const expected = { owner, project, hash: f.upload.hash, size: f.data.length, contentType: 'image/png' };
    assert.deepEqual(info, expected);
    assert.deepEqual(await harness().storage.stat(f.upload), expected);
    assert.ok((await collect(await harness().storage.read(f.upload))).equals(f.data));
    const slice = await collect(await harness().storage.read(f.upload, { start: 100, end: 199 }));
    assert.ok(slice.equals(f.data.subarray(100, 200)));
    assert.deepEqual(await harness().leftovers(f.upload.hash), []);
  });

  test('single-shot: an empty file works', async () => {
    const f = file(0);
    assert.equal((await sendSingle(f.upload, f.data)).size, 0);
    assert.equal((await collect(await harness().storage.read(f.upload))).length, 0);
  });

  test('single-shot: a body longer or shorter than the signed size is refused and leaves nothing', async () => {
    const f = file();
    await assert.rejects(sendSingle(f.upload, Buffer.concat([f.data, Buffer.from('x')])), (e) =>
      ['too_large', 'refused_by_store'].includes(codeOf(e)),
    );
    await assertNothingLeft(f.upload);
    await assert.rejects(sendSingle(f.upload, f.data.subarray(1)), (e) =>
      ['invalid_part', 'refused_by_store'].includes(codeOf(e)),
    );
    await assertNothingLeft(f.upload);
  });

  test('single-shot: a body with another SHA-256 answers hash_mismatch and leaves nothing', async () => {
    const f = file();
    const other = Buffer.from(f.data).fill(1, 0, 10);
    await assert.rejects(sendSingle(f.upload, other), (e) => codeOf(e) === 'hash_mismatch');
    await assertNothingLeft(f.upload);
    assert.equal(await harness().storage.stat({ owner, project, hash: sha256(other) }), null);
  });

  test('single-shot: sending a stored blob again answers it, after a multipart or a single-shot upload', async () => {
    const f = file();
    const first = await sendSingle(f.upload, f.data);
    assert.deepEqual(await sendSingle(f.upload, f.data), first);

    const { storage, putPart } = harness();
    const data = randomBytes(MIN_PART_SIZE + 10);
    const upload = { owner, project, hash: sha256(data), size: data.length, contentType: 'video/mp4' };
    const multipart = await storage.createUpload({ ...upload });
    const etags = [];
    for (const [i, body] of [data.subarray(0, MIN_PART_SIZE), data.subarray(MIN_PART_SIZE)].entries()) {
      const res = await putPart(await storage.partUrl(multipart, i + 1, { expiresInSeconds: 900 }), body);
      etags.push({ partNumber: i + 1, etag: res.etag ?? '' });
    }
    const published = await storage.complete(multipart, etags);
    assert.deepEqual(await sendSingle(upload, data), published);
    assert.deepEqual(await harness().leftovers(upload.hash), []);
  });

  test('single-shot: concurrent single-shot uploads and a multipart complete of one hash all succeed with one blob', async () => {
    const { storage, putPart } = harness();
    const data = randomBytes(MIN_PART_SIZE + 500);
    const upload = { owner, project, hash: sha256(data), size: data.length, contentType: 'audio/wav' };
    const multipart = await storage.createUpload({ ...upload });
    const etags = [];
    for (const [i, body] of [data.subarray(0, MIN_PART_SIZE), data.subarray(MIN_PART_SIZE)].entries()) {
      const res = await putPart(await storage.partUrl(multipart, i + 1, { expiresInSeconds: 900 }), body);
      etags.push({ partNumber: i + 1, etag: res.etag ?? '' });
    }
    const results = await Promise.all([
      sendSingle(upload, data),
      storage.complete(multipart, etags),
      sendSingle(upload, data),
      sendSingle(upload, data),
    ]);
    const expected = { owner, project, hash: upload.hash, size: data.length, contentType: 'audio/wav' };
    for (const info of results) assert.deepEqual(info, expected);
    assert.ok((await collect(await storage.read(upload))).equals(data));
    assert.deepEqual(await harness().leftovers(upload.hash), []);
  });
}
