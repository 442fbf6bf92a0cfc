/**
 * The disk backend under races: whatever part re-sends, completes, aborts and sweeps run at once,
 * a published blob is served (whole, by `read`, and by `GET /blobs/download` with ranges) as
 * exactly the bytes that were verified, and a complete that loses a race fails cleanly.
 */

import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { mkdir, open, readdir, rename, utimes, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { test } from 'node:test';
import { DreamLakeError } from '@dreamlake/presign';
import { MIN_PART_SIZE } from '@dreamlake/protocol';
import { buildBssApp } from '../src/app.ts';
import { createFsStorage, type FsStorage } from '../src/storage/fs/index.ts';
import type { BlobInfo, BlobRef, CompletedPart, UploadRef } from '../src/storage/storage.ts';
import { SECRET, signedQuery, tempDir, testConfig } from './helpers.ts';

const owner = 'ivy';
/** Parts with a gap (no 3): pieces follow the listed order, not the numbers. */
const PART_NUMBERS = [1, 2, 4];
const LAST_PART = 777_777;

const sha256 = (data: Buffer) => createHash('sha256').update(data).digest('hex');
const md5 = (data: Buffer) => createHash('md5').update(data);

interface Source {
  project: string;
  data: Buffer;
  hash: string;
  /** Each listed part's bytes, by part number. */
  parts: Map<number, Buffer>;
  /** Where each piece starts, and the end. */
  boundaries: number[];
}

function makeSource(project = 'race'): Source {
  const sizes = PART_NUMBERS.map((_, i) => (i < PART_NUMBERS.length - 1 ? MIN_PART_SIZE : LAST_PART));
  const data = randomBytes(sizes.reduce((a, b) => a + b, 0));
  const parts = new Map<number, Buffer>();
  const boundaries = [0];
  let offset = 0;
  sizes.forEach((size, i) => {
    parts.set(PART_NUMBERS[i] as number, data.subarray(offset, offset + size));
    offset += size;
    boundaries.push(offset);
  });
  return { project, data, hash: sha256(data), parts, boundaries };
}

async function setup(t: { after(fn: () => Promise<void>): void }) {
  const temp = await tempDir('bss-integrity-');
  const storage = await createFsStorage({
    root: join(temp.dir, 'bss'),
    publicUrl: 'http://127.0.0.1:1',
    secrets: [SECRET],
  });
  const app = await buildBssApp({ config: testConfig(temp.dir), storage });
  t.after(async () => {
    await app.close();
    await temp.remove();
  });
  return { storage, app };
}

/** Sends a part body in uneven chunks, as a socket delivers it. */
function sendPart(storage: FsStorage, upload: UploadRef, source: Source, partNumber: number, body: Buffer) {
  const chunks: Buffer[] = [];
  for (let at = 0; at < body.length; at += 300_001) chunks.push(body.subarray(at, at + 300_001));
  return storage.receivePart(
    {
      owner,
      project: source.project,
      hash: source.hash,
      uploadId: upload.uploadId,
      partNumber,
      maxLength: 5 * 1024 ** 3,
      contentMd5: md5(body).digest('base64'),
      contentLength: body.length,
    },
    Readable.from(chunks),
  );
}

async function readAll(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

/** A lost race may fail, but only with a code from the error family, never a raw file-system error. */
function assertCleanFailure(error: unknown, codes: readonly string[]): void {
  assert.ok(error instanceof DreamLakeError, `a raw error escaped: ${(error as Error)?.stack ?? String(error)}`);
  assert.ok(codes.includes(error.code), `unexpected ${error.code}: ${error.message}`);
}

/** The blob, as `read` and as the download route serve it, is the source: whole and across every piece boundary. */
async function assertServedAsSource(
  storage: FsStorage,
  app: Awaited<ReturnType<typeof setup>>['app'],
  source: Source,
): Promise<void> {
  const ref: BlobRef = { owner, project: source.project, hash: source.hash };
  const whole = await readAll(await storage.read(ref));
  assert.equal(whole.length, source.data.length, 'served size');
  assert.equal(sha256(whole), source.hash, 'served bytes hash to the published hash');
  const size = source.data.length;
  // Around every piece boundary: the last byte before it and the first after, a few either side,
  // and from the middle of one piece to the middle of the next.
  const near: Array<[number, number]> = [];
  const across: Array<[number, number]> = [];
  for (const [i, b] of source.boundaries.entries()) {
    near.push([Math.max(0, b - 1), Math.min(size - 1, b)], [Math.max(0, b - 3), Math.min(size - 1, b + 2)]);
    const previous = source.boundaries[i - 1] ?? 0;
    const next = source.boundaries[i + 1] ?? size;
    across.push([Math.floor((previous + b) / 2), Math.min(size - 1, Math.floor((b + next) / 2))]);
  }
  for (const [start, end] of [...near, ...across, [1, size - 2] as [number, number]]) {
    const got = await readAll(await storage.read(ref, { start, end }));
    assert.ok(got.equals(source.data.subarray(start, end + 1)), `read ${start}-${end}`);
  }
  const url = `/blobs/download?${signedQuery('download', { ...ref })}`;
  const full = await app.inject({ method: 'GET', url });
  assert.equal(full.statusCode, 200);
  assert.ok(full.rawPayload.equals(source.data), 'download of the whole blob');
  for (const [start, end] of near) {
    const res = await app.inject({ method: 'GET', url, headers: { range: `bytes=${start}-${end}` } });
    assert.equal(res.statusCode, 206);
    assert.ok(res.rawPayload.equals(source.data.subarray(start, end + 1)), `download range ${start}-${end}`);
  }
}

const listed = (etags: Map<number, string>): CompletedPart[] =>
  PART_NUMBERS.map((n) => ({ partNumber: n, etag: etags.get(n) as string }));

async function openUpload(
  storage: FsStorage,
  source: Source,
): Promise<{ upload: UploadRef; etags: Map<number, string> }> {
  const upload = await storage.createUpload({
    owner,
    project: source.project,
    hash: source.hash,
    contentType: 'video/mp4',
  });
  const etags = new Map<number, string>();
  await Promise.all(
    PART_NUMBERS.map(async (n) =>
      etags.set(n, (await sendPart(storage, upload, source, n, source.parts.get(n) as Buffer)).etag),
    ),
  );
  return { upload, etags };
}

test('re-sends of every part, with the same or other bodies, racing three completes never change what is served', async (t) => {
  const { storage, app } = await setup(t);
  const source = makeSource();
  for (let round = 0; round < 3; round += 1) {
    const { upload, etags } = await openUpload(storage, source);
    const resends = PART_NUMBERS.flatMap((n) => {
      const body = source.parts.get(n) as Buffer;
      const other = randomBytes(body.length);
      const shorter = body.subarray(0, body.length - 1);
      // The same bytes again (a resumed client), other bytes of the same size, and a body one byte short.
      return [body, other, body, shorter].map((b) => sendPart(storage, upload, source, n, b));
    });
    const completes = [0, 1, 2].map(() => storage.complete(upload, listed(etags)));
    const results = await Promise.allSettled([...completes, ...resends]);
    for (const r of results)
      if (r.status === 'rejected') assertCleanFailure(r.reason, ['invalid_part', 'not_found', 'hash_mismatch']);
    const published = results
      .slice(0, 3)
      .filter((r): r is PromiseFulfilledResult<BlobInfo> => r.status === 'fulfilled');
    for (const r of published) assert.deepEqual([r.value.hash, r.value.size], [source.hash, source.data.length]);
    if (round === 0 && published.length === 0) {
      // Every complete met another body: finish with the right parts, as a client would.
      // (a complete that met a mismatch may have discarded the upload: then a fresh one).
      for (const n of PART_NUMBERS)
        etags.set(n, (await sendPart(storage, upload, source, n, source.parts.get(n) as Buffer)).etag);
      await storage.complete(upload, listed(etags)).catch(async (error: unknown) => {
        assertCleanFailure(error, ['not_found']);
        const fresh = await openUpload(storage, source);
        await storage.complete(fresh.upload, listed(fresh.etags));
      });
    }
    // From round 0 on the blob is published; every round must leave it serving the source's bytes.
    assert.ok(
      await storage.stat({ owner, project: source.project, hash: source.hash }),
      `published after round ${round}`,
    );
    await assertServedAsSource(storage, app, source);
  }
});

test('on a disk whose writes are slow, a complete publishes exactly the bytes it verified', async (t) => {
  const { storage, app } = await setup(t);
  // Each FileHandle write waits before it copies its buffer, as under write-back pressure: a
  // complete that copied parts while already reading the next into a buffer still being written
  // would publish other bytes than it hashed.
  const probe = await open(join(storage.layout.root, 'probe'), 'w');
  const proto = Object.getPrototypeOf(probe) as { write: (...args: unknown[]) => Promise<unknown> };
  await probe.close();
  const write = proto.write;
  proto.write = async function slowWrite(this: unknown, ...args: unknown[]) {
    await new Promise((resolve) => setTimeout(resolve, 15));
    return write.apply(this, args);
  };
  t.after(() => {
    proto.write = write;
  });
  const source = makeSource('slow-disk');
  const { upload, etags } = await openUpload(storage, source);
  const blob = await storage.complete(upload, listed(etags));
  assert.equal(blob.hash, source.hash);
  await assertServedAsSource(storage, app, source);
});

test('a complete still checking a long part list answers the blob when another complete of the upload finishes first', async (t) => {
  const { storage } = await setup(t);
  const data = randomBytes(4096);
  const source: Source = {
    project: 'twice',
    data,
    hash: sha256(data),
    parts: new Map([[1, data]]),
    boundaries: [0, data.length],
  };
  const expected = { owner, project: source.project, hash: source.hash, size: data.length, contentType: 'video/mp4' };
  const upload = await storage.createUpload({
    owner,
    project: source.project,
    hash: source.hash,
    contentType: 'video/mp4',
  });
  const { etag } = await sendPart(storage, upload, source, 1, data);
  // Stray parts 2..300: a client listing them is still reading their records, one by one, when
  // the complete listing part 1 alone (the whole file) publishes the blob and removes the parts.
  const stray: CompletedPart[] = [];
  for (let n = 2; n <= 300; n += 1)
    stray.push({ partNumber: n, etag: (await sendPart(storage, upload, source, n, Buffer.from([n % 256]))).etag });
  const [slow, quick] = await Promise.allSettled([
    storage.complete(upload, [{ partNumber: 1, etag }, ...stray]),
    storage.complete(upload, [{ partNumber: 1, etag }]),
  ]);
  assert.equal(quick?.status, 'fulfilled');
  assert.deepEqual(quick.value, expected);
  // The long list is invalid in its own right (part 1 is under 5 MiB and not last): when the slow
  // complete reads every record before the quick one publishes, it says so; it must never answer
  // anything else (not_found for the parts the winner removed, a half-read list).
  if (slow?.status === 'rejected') {
    const code = (slow.reason as { code?: string })?.code;
    if (code !== 'entity_too_small')
      assert.fail(`the other complete of the completed upload failed: ${(slow.reason as Error)?.message}`);
  } else assert.deepEqual(slow?.value, expected);
  assert.ok((await readAll(await storage.read(expected))).equals(data));
});

// Abort and sweep racing a complete, each interleaving held by a gate: storage-fs-abort-race.test.ts.

test('a stale stage that a complete publishes while the sweep removes it is published whole or not at all', async (t) => {
  const { storage } = await setup(t);
  const { tmpDir, root } = storage.layout;
  const later = (ticks: number) =>
    new Promise<void>((resolve) => {
      const step = (left: number) => (left === 0 ? resolve() : setImmediate(() => step(left - 1)));
      step(ticks);
    });
  let published = 0;
  for (let ticks = 0; ticks < 40; ticks += 1) {
    // A complete's staging folder, older than the sweep's cut-off (hashing a huge upload takes long).
    const stage = join(tmpDir, `${'a'.repeat(32)}.tmp-1-${ticks}`);
    await mkdir(stage, { recursive: true });
    await Promise.all(Array.from({ length: 300 }, (_, i) => writeFile(join(stage, String(i)), 'x')));
    const old = new Date(Date.now() - 3600_000);
    await utimes(stage, old, old);
    const blobDir = join(root, 'blobs', `published-${ticks}`);
    await mkdir(join(root, 'blobs'), { recursive: true });
    const sweeping = storage.sweep(new Date(Date.now() - 60_000));
    await later(ticks);
    const moved = await rename(stage, blobDir).then(
      () => true,
      (error: NodeJS.ErrnoException) => (error.code === 'ENOENT' ? false : Promise.reject(error)),
    );
    await sweeping;
    if (!moved) continue;
    published += 1;
    assert.equal(
      (await readdir(blobDir)).length,
      300,
      `published after ${ticks} ticks of the sweep with pieces missing`,
    );
  }
  assert.ok(published > 0, 'some publish came before the sweep');
});
