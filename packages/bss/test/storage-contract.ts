/**
 * The contract every storage backend passes. A backend's test file calls `storageContract` with a
 * factory that gives a ready storage, a way to PUT bytes to the part URLs it mints (over real
 * HTTP), and a cleanup. Parts are kept small (5 MiB and a tail) so it runs fast on every backend.
 */

import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import type { Readable } from 'node:stream';
import { after, before, describe, test } from 'node:test';
import { MIN_PART_SIZE } from '@dreamlake/protocol';
import type { Storage, UploadRef } from '../src/storage/storage.ts';
import { singleShotContract } from './storage-contract-single.ts';

export interface ContractHarness {
  storage: Storage;
  putPart(url: string, body: Buffer, headers?: Record<string, string>): Promise<{ status: number; etag?: string }>;
  /** What the backend keeps of unfinished uploads of this hash (temporary files, staged objects). */
  leftovers(hash: string): Promise<string[]>;
  cleanup(): Promise<void>;
}

const sha256 = (data: Buffer) => createHash('sha256').update(data).digest('hex');
const md5hex = (data: Buffer) => createHash('md5').update(data).digest('hex');
const md5b64 = (data: Buffer) => createHash('md5').update(data).digest('base64');

async function collect(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

/** Rejects with a DreamLake error of this code. */
function hasCode(code: string) {
  return (error: unknown) => {
    assert.equal(
      (error as { code?: unknown }).code,
      code,
      `expected code ${code}, got ${String((error as Error).message)}`,
    );
    return true;
  };
}

export function storageContract(name: string, make: () => Promise<ContractHarness>): void {
  describe(`storage contract: ${name}`, () => {
    let h: ContractHarness;
    // A fresh space per run, so runs against a shared bucket never see each other.
    const owner = `contract-${randomBytes(4).toString('hex')}`;
    const project = 'space';
    const ttl = { expiresInSeconds: 900 };

    before(async () => {
      h = await make();
    });
    after(async () => {
      await h?.cleanup();
    });

    /** A file of one full part and a short tail, random so each test has its own hash. */
    function file(tail = 1000): { data: Buffer; parts: Buffer[]; hash: string } {
      const data = randomBytes(MIN_PART_SIZE + tail);
      return { data, parts: [data.subarray(0, MIN_PART_SIZE), data.subarray(MIN_PART_SIZE)], hash: sha256(data) };
    }

    async function put(upload: UploadRef, partNumber: number, body: Buffer, contentMd5?: string) {
      const url = await h.storage.partUrl(upload, partNumber, { ...ttl, ...(contentMd5 ? { contentMd5 } : {}) });
      return h.putPart(url, body, contentMd5 ? { 'content-md5': contentMd5 } : {});
    }

    async function uploadAll(upload: UploadRef, parts: Buffer[]) {
      const done = [];
      for (const [i, body] of parts.entries()) {
        const res = await put(upload, i + 1, body);
        assert.equal(res.status, 200, `part ${i + 1} PUT answered ${res.status}`);
        done.push({ partNumber: i + 1, etag: res.etag ?? '' });
      }
      return done;
    }

    test('a multipart upload completes into a verified blob that stat and read serve', async () => {
      const f = file();
      const upload = await h.storage.createUpload({
        owner,
        project,
        hash: f.hash,
        contentType: 'video/mp4',
        filename: 'a.mp4',
        size: f.data.length,
      });
      assert.ok(upload.key.startsWith(`uploads/${owner}/${project}/${f.hash}/`), upload.key);
      assert.ok(upload.uploadId.length > 0);
      assert.deepEqual(await h.storage.listParts(upload), []);

      const etags = await uploadAll(upload, f.parts);
      assert.equal(etags[0]?.etag, `"${md5hex(f.parts[0]!)}"`, 'the part ETag is the quoted MD5');
      assert.deepEqual(await h.storage.listParts(upload), [
        { partNumber: 1, etag: `"${md5hex(f.parts[0]!)}"`, size: MIN_PART_SIZE },
        { partNumber: 2, etag: `"${md5hex(f.parts[1]!)}"`, size: f.parts[1]!.length },
      ]);
      assert.equal(await h.storage.stat({ owner, project, hash: f.hash }), null, 'nothing is visible before complete');

      const info = await h.storage.complete(upload, etags);
      const expected = { owner, project, hash: f.hash, size: f.data.length, contentType: 'video/mp4' };
      assert.deepEqual(info, expected);
      assert.deepEqual(await h.storage.stat({ owner, project, hash: f.hash }), expected);
      assert.equal(sha256(await collect(await h.storage.read({ owner, project, hash: f.hash }))), f.hash);
      const slice = await collect(
        await h.storage.read({ owner, project, hash: f.hash }, { start: MIN_PART_SIZE - 10, end: MIN_PART_SIZE + 9 }),
      );
      assert.deepEqual(slice, f.data.subarray(MIN_PART_SIZE - 10, MIN_PART_SIZE + 10));
      for (const range of [
        { start: 0, end: 0 },
        { start: MIN_PART_SIZE + 5, end: MIN_PART_SIZE + 5 },
        { start: 7, end: f.data.length - 1 },
      ]) {
        const bytes = await collect(await h.storage.read({ owner, project, hash: f.hash }, range));
        assert.deepEqual(bytes, f.data.subarray(range.start, range.end + 1), JSON.stringify(range));
      }
    });

    test('an upload bound to a size and user says so, and completes no blob of another size', async () => {
      const f = file();
      const upload = await h.storage.createUpload({
        owner,
        project,
        hash: f.hash,
        contentType: 'video/mp4',
        size: f.data.length + 1,
        user: 'AAAAAAAAAAAAAAAAAAAAAA',
      });
      assert.deepEqual(await h.storage.uploadFacts(upload), {
        size: f.data.length + 1,
        user: 'AAAAAAAAAAAAAAAAAAAAAA',
      });
      const parts = await uploadAll(upload, f.parts);
      await assert.rejects(h.storage.complete(upload, parts), hasCode('invalid_part'));
      assert.equal(await h.storage.stat({ owner, project, hash: f.hash }), null);

      const plain = await h.storage.createUpload({ owner, project, hash: f.hash, contentType: 'video/mp4' });
      assert.deepEqual(await h.storage.uploadFacts(plain), {});
    });

    test('a part URL minted for a declared length takes no longer body', async () => {
      const f = file();
      const upload = await h.storage.createUpload({ owner, project, hash: f.hash, contentType: 'video/mp4' });
      const tail = f.parts[1] as Buffer;
      const url = await h.storage.partUrl(upload, 2, { ...ttl, contentLength: tail.length - 1 });
      assert.notEqual((await h.putPart(url, tail)).status, 200);
      const exact = await h.storage.partUrl(upload, 2, { ...ttl, contentLength: tail.length });
      assert.equal((await h.putPart(exact, tail)).status, 200);
      await h.storage.abort(upload);
    });

    test('ETags are accepted without their quotes, and a part can be sent again', async () => {
      const f = file();
      const upload = await h.storage.createUpload({
        owner,
        project,
        hash: f.hash,
        contentType: 'application/octet-stream',
      });
      const first = await put(upload, 1, randomBytes(MIN_PART_SIZE));
      assert.equal(first.status, 200);
      await uploadAll(upload, f.parts);
      const listed = await h.storage.listParts(upload);
      assert.equal(listed?.[0]?.etag, `"${md5hex(f.parts[0]!)}"`, 'the part sent last wins');
      const unquoted = f.parts.map((p, i) => ({ partNumber: i + 1, etag: md5hex(p) }));
      assert.equal((await h.storage.complete(upload, unquoted)).hash, f.hash);
    });

    test('a hash mismatch answers hash_mismatch and leaves no blob and no upload', async () => {
      const f = file();
      const claimed = sha256(randomBytes(32));
      const upload = await h.storage.createUpload({ owner, project, hash: claimed, contentType: 'video/mp4' });
      const etags = await uploadAll(upload, f.parts);
      await assert.rejects(h.storage.complete(upload, etags), hasCode('hash_mismatch'));
      assert.equal(await h.storage.stat({ owner, project, hash: claimed }), null);
      assert.equal(await h.storage.stat({ owner, project, hash: f.hash }), null);
      assert.equal(await h.storage.listParts(upload), null);
    });

    test('completing twice answers the same blob both times', async () => {
      const f = file();
      const upload = await h.storage.createUpload({ owner, project, hash: f.hash, contentType: 'audio/wav' });
      const etags = await uploadAll(upload, f.parts);
      const first = await h.storage.complete(upload, etags);
      const second = await h.storage.complete(upload, etags);
      assert.deepEqual(second, first);
      assert.equal((await h.storage.stat({ owner, project, hash: f.hash }))?.size, f.data.length);
    });

    test('concurrent completes of one upload and of two uploads of one hash all succeed with one blob', async () => {
      const f = file();
      const a = await h.storage.createUpload({ owner, project, hash: f.hash, contentType: 'image/png' });
      const b = await h.storage.createUpload({ owner, project, hash: f.hash, contentType: 'image/png' });
      assert.notEqual(a.key, b.key);
      const [etagsA, etagsB] = [await uploadAll(a, f.parts), await uploadAll(b, f.parts)];
      const results = await Promise.all([
        h.storage.complete(a, etagsA),
        h.storage.complete(b, etagsB),
        h.storage.complete(a, etagsA),
      ]);
      for (const info of results)
        assert.deepEqual(info, { owner, project, hash: f.hash, size: f.data.length, contentType: 'image/png' });
      assert.equal(sha256(await collect(await h.storage.read({ owner, project, hash: f.hash }))), f.hash);
    });

    test('wrong ETag, missing part and a too-small part that is not last are refused', async () => {
      const f = file();
      const upload = await h.storage.createUpload({ owner, project, hash: f.hash, contentType: 'text/plain' });
      const etags = await uploadAll(upload, f.parts);
      await assert.rejects(
        h.storage.complete(upload, [etags[0]!, { partNumber: 2, etag: `"${'0'.repeat(32)}"` }]),
        hasCode('invalid_part'),
      );
      await assert.rejects(
        h.storage.complete(upload, [etags[0]!, { partNumber: 3, etag: etags[1]!.etag }]),
        hasCode('invalid_part'),
      );
      await assert.rejects(
        h.storage.complete(upload, [
          { partNumber: 2, etag: etags[1]!.etag },
          { partNumber: 3, etag: etags[1]!.etag },
        ]),
        (error: unknown) => ['invalid_part', 'entity_too_small'].includes(String((error as { code?: unknown }).code)),
      );
      // A small part followed by another: EntityTooSmall.
      const small = await h.storage.createUpload({
        owner,
        project,
        hash: sha256(Buffer.concat([f.parts[1]!, f.parts[1]!])),
        contentType: 'text/plain',
      });
      const smallEtags = await uploadAll(small, [f.parts[1]!, f.parts[1]!]);
      await assert.rejects(h.storage.complete(small, smallEtags), hasCode('entity_too_small'));
      // The refusals left the first upload intact.
      assert.equal((await h.storage.complete(upload, etags)).hash, f.hash);
    });

    test('a part URL bound to a Content-MD5 refuses another body and keeps no part', async () => {
      const f = file(10);
      const upload = await h.storage.createUpload({ owner, project, hash: f.hash, contentType: 'text/plain' });
      const declared = md5b64(f.parts[1]!);
      const bad = await put(upload, 2, Buffer.from(f.parts[1]!).fill(7), declared);
      assert.equal(bad.status, 400);
      assert.deepEqual(await h.storage.listParts(upload), []);
      const good = await put(upload, 2, f.parts[1]!, declared);
      assert.equal(good.status, 200);
      assert.equal(good.etag, `"${md5hex(f.parts[1]!)}"`);
      await h.storage.abort(upload);
    });

    test('abort discards the upload; abort again is a no-op; complete then fails', async () => {
      const f = file();
      const upload = await h.storage.createUpload({ owner, project, hash: f.hash, contentType: 'text/plain' });
      const etags = await uploadAll(upload, f.parts);
      await h.storage.abort(upload);
      assert.equal(await h.storage.listParts(upload), null);
      await h.storage.abort(upload);
      await assert.rejects(h.storage.complete(upload, etags), (error: unknown) =>
        ['not_found', 'invalid_part'].includes(String((error as { code?: unknown }).code)),
      );
      assert.equal(await h.storage.stat({ owner, project, hash: f.hash }), null);
    });

    test('sweep removes uploads started before the cut-off and keeps newer ones', async () => {
      const sweepOwner = `${owner}-sweep`;
      const hash = sha256(randomBytes(8));
      const upload = await h.storage.createUpload({ owner: sweepOwner, project, hash, contentType: 'text/plain' });
      assert.equal(await h.storage.sweep(new Date(Date.now() - 3600_000)), 0);
      assert.deepEqual(await h.storage.listParts(upload), []);
      assert.ok((await h.storage.sweep(new Date(Date.now() + 60_000))) >= 1);
      assert.equal(await h.storage.listParts(upload), null);
    });

    test('a legacy 16-hex hash completes when the bytes match its prefix, under the full hash', async () => {
      const f = file(0);
      const data = f.parts[0]!;
      const full = sha256(data);
      const upload = await h.storage.createUpload({ owner, project, hash: full.slice(0, 16), contentType: 'text/csv' });
      const etags = await uploadAll(upload, [data]);
      const info = await h.storage.complete(upload, etags);
      assert.equal(info.hash, full);
      assert.equal((await h.storage.stat({ owner, project, hash: full }))?.size, data.length);
    });

    test('deleteBlob deletes a blob published before the limit, keeps a more recent one, and the hash uploads again after', async () => {
      const data = randomBytes(1000);
      const ref = { owner, project, hash: sha256(data) };
      const publish = async () => {
        const upload = await h.storage.createUpload({ ...ref, contentType: 'text/plain' });
        return h.storage.complete(upload, await uploadAll(upload, [data]));
      };
      await publish();
      const hourAgo = new Date(Date.now() - 3600_000);
      const inAMinute = new Date(Date.now() + 60_000);

      assert.equal(await h.storage.deleteBlob(ref, hourAgo), 'recent');
      assert.equal((await h.storage.stat(ref))?.size, data.length, 'a recent blob is kept');
      assert.equal(await h.storage.deleteBlob(ref, inAMinute), 'deleted');
      assert.equal(await h.storage.stat(ref), null);
      await assert.rejects(h.storage.read(ref), hasCode('not_found'));
      assert.equal(await h.storage.deleteBlob(ref, inAMinute), 'absent');
      assert.equal(await h.storage.deleteBlob({ owner, project, hash: sha256(randomBytes(8)) }, inAMinute), 'absent');

      assert.equal((await publish()).size, data.length, 'the same content uploads again');
      assert.equal(sha256(await collect(await h.storage.read(ref))), ref.hash);
      assert.deepEqual(await h.leftovers(ref.hash), []);
    });

    singleShotContract(() => h, `${owner}-single`, project);

    test('absent blobs: stat answers null and read rejects with not_found', async () => {
      const missing = { owner, project, hash: sha256(randomBytes(8)) };
      assert.equal(await h.storage.stat(missing), null);
      await assert.rejects(h.storage.read(missing), hasCode('not_found'));
      assert.equal(
        await h.storage.listParts({
          key: `uploads/${owner}/${project}/${missing.hash}/0123456789abcdef0123456789abcdef`,
          uploadId: '0123456789abcdef0123456789abcdef',
        }),
        null,
      );
    });
  });
}
