/**
 * The disk backend hashes an upload's parts as they arrive, so that a complete hashes only what is
 * left. The state must never let an unverified byte through: a part sent again, or a data file
 * replaced under the same name (as two bodies with one MD5 would be), is hashed again at complete.
 */
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { test } from 'node:test';
import { MIN_PART_SIZE } from '@dreamlake/protocol';
import { createFsStorage } from '../src/storage/fs/index.ts';
import { partData } from '../src/storage/fs/layout.ts';
import { SECRET, sha256, tempDir } from './helpers.ts';

const md5hex = (data: Buffer) => createHash('md5').update(data).digest('hex');

async function setup(t: import('node:test').TestContext) {
  const temp = await tempDir('bss-prefix-');
  t.after(() => temp.remove());
  const leftAtComplete: number[] = [];
  let readAsLanded = 0;
  const storage = await createFsStorage({
    root: temp.dir,
    publicUrl: 'http://127.0.0.1:1',
    secrets: [SECRET],
    onCompleteHashed: (bytes) => leftAtComplete.push(bytes),
    onPartHashed: (bytes) => {
      readAsLanded += bytes;
    },
  });
  const parts = [randomBytes(MIN_PART_SIZE), randomBytes(MIN_PART_SIZE), randomBytes(1000)];
  const scope = { owner: 'alice', project: 'p1' };
  async function open(data: Buffer[]) {
    const hash = sha256(Buffer.concat(data));
    const upload = await storage.createUpload({ ...scope, hash, contentType: 'application/octet-stream' });
    const send = async (partNumber: number, body: Buffer) =>
      storage.receivePart(
        {
          ...scope,
          hash,
          uploadId: upload.uploadId,
          partNumber,
          maxLength: MIN_PART_SIZE,
          contentMd5: undefined,
          contentLength: body.length,
        },
        Readable.from([body]),
      );
    const complete = (bodies: Buffer[]) =>
      storage.complete(
        upload,
        bodies.map((body, i) => ({ partNumber: i + 1, etag: `"${md5hex(body)}"` })),
      );
    const dir = storage.layout.uploadDir(scope.owner, scope.project, hash, upload.uploadId);
    return { hash, send, complete, dir };
  }
  /** The bytes read so far by the hashing as parts land. */
  const hasherRead = () => readAsLanded;
  /** Waits until the hashing as parts land has read `bytes` in all. */
  async function hasherReached(bytes: number) {
    for (let i = 0; i < 500 && readAsLanded < bytes; i += 1) await new Promise((resolve) => setTimeout(resolve, 10));
    assert.ok(readAsLanded >= bytes, `the parts were not hashed as they landed (${readAsLanded} of ${bytes} bytes)`);
  }
  return { storage, parts, open, leftAtComplete, hasherRead, hasherReached };
}

const total = (bodies: Buffer[]) => bodies.reduce((n, b) => n + b.length, 0);

test('parts sent in order are hashed as they land: the complete has nothing left to read', async (t) => {
  const { parts, open, leftAtComplete } = await setup(t);
  const up = await open(parts);
  for (const [i, part] of parts.entries()) await up.send(i + 1, part);
  const blob = await up.complete(parts);
  assert.equal(blob.hash, up.hash);
  assert.deepEqual(leftAtComplete, [0]);
});

test('parts sent out of order: the prefix catches up when part 1 lands, and the blob is right', async (t) => {
  const { parts, open, leftAtComplete } = await setup(t);
  const up = await open(parts);
  await up.send(3, parts[2]!);
  await up.send(2, parts[1]!);
  await up.send(1, parts[0]!);
  const blob = await up.complete(parts);
  assert.equal(blob.hash, up.hash);
  assert.equal(
    blob.size,
    parts.reduce((n, p) => n + p.length, 0),
  );
  assert.deepEqual(leftAtComplete, [0]);
});

test('a part sent again with other bytes after it was hashed has the hashing go on from just before it', async (t) => {
  const { parts, open, leftAtComplete } = await setup(t);
  const second = randomBytes(MIN_PART_SIZE);
  const final = [parts[0]!, second, parts[2]!];
  const up = await open(final);
  for (const [i, part] of parts.entries()) await up.send(i + 1, part);
  await up.send(2, second);
  const blob = await up.complete(final);
  assert.equal(blob.hash, up.hash);
  // The first bytes of part 2 count for nothing: the new part 2 was read, in the background, after part 1.
  assert.deepEqual(leftAtComplete, [0]);
});

test('the bytes first hashed do not pass for a part sent again: the blob must match what is assembled', async (t) => {
  const { parts, open } = await setup(t);
  // Signed for the first bytes of part 2; the bytes assembled are other ones.
  const up = await open(parts);
  for (const [i, part] of parts.entries()) await up.send(i + 1, part);
  const other = randomBytes(MIN_PART_SIZE);
  await up.send(2, other);
  await assert.rejects(up.complete([parts[0]!, other, parts[2]!]), (error: { code?: string }) => {
    assert.equal(error.code, 'hash_mismatch');
    return true;
  });
});

test('a data file replaced under the same name after it was hashed is hashed again (the inode differs)', async (t) => {
  const { parts, open } = await setup(t);
  const up = await open(parts);
  for (const [i, part] of parts.entries()) await up.send(i + 1, part);
  // Let the background hashing finish (a complete waits for it too), then swap part 1's bytes in
  // place, keeping its MD5-named file name, as a colliding re-send would.
  await new Promise((resolve) => setTimeout(resolve, 200));
  const path = partData(up.dir, 1, md5hex(parts[0]!));
  const forged = join(up.dir, 'data', 'forged');
  await writeFile(forged, randomBytes(parts[0]!.length));
  await rename(forged, path);
  await assert.rejects(up.complete(parts), (error: { code?: string }) => {
    assert.equal(error.code, 'hash_mismatch');
    return true;
  });
});

test('parts of several uploads landing at the same time are each hashed with their own bytes', async (t) => {
  const { open } = await setup(t);
  // Four uploads of distinct bytes, their parts sent all at once: the hashing runs of different
  // uploads read at the same moment, and each complete must find its own bytes' SHA-256.
  const uploads = await Promise.all(
    Array.from({ length: 4 }, async () => {
      const bodies = [randomBytes(MIN_PART_SIZE), randomBytes(MIN_PART_SIZE), randomBytes(MIN_PART_SIZE)];
      return { bodies, up: await open(bodies) };
    }),
  );
  await Promise.all(uploads.flatMap(({ bodies, up }) => bodies.map((body, i) => up.send(i + 1, body))));
  const blobs = await Promise.all(uploads.map(({ bodies, up }) => up.complete(bodies)));
  assert.deepEqual(
    blobs.map((b) => b.hash),
    uploads.map(({ up }) => up.hash),
  );
});

test('the last part sent again and again has only that part read again, not the whole upload each time', async (t) => {
  const { open, leftAtComplete, hasherRead, hasherReached } = await setup(t);
  const bodies = [...Array.from({ length: 4 }, () => randomBytes(MIN_PART_SIZE)), randomBytes(1000)];
  const up = await open(bodies);
  for (const [i, part] of bodies.entries()) await up.send(i + 1, part);
  await hasherReached(total(bodies));
  // The same small part again through its URL, which stays valid: each send is a new file.
  const RESENDS = 8;
  const last = bodies.at(-1)!;
  for (let i = 0; i < RESENDS; i += 1) await up.send(bodies.length, last);
  const blob = await up.complete(bodies);
  assert.equal(blob.hash, up.hash);
  assert.deepEqual(leftAtComplete, [0]);
  assert.ok(
    hasherRead() <= total(bodies) + RESENDS * last.length,
    `the hashing read ${hasherRead()} bytes for an upload of ${total(bodies)} and ${RESENDS} sends of ${last.length}`,
  );
});

test('part 1 sent again and again has the upload read again at most once in all', async (t) => {
  const { open, hasherRead, hasherReached } = await setup(t);
  const bodies = [...Array.from({ length: 4 }, () => randomBytes(MIN_PART_SIZE)), randomBytes(1000)];
  const up = await open(bodies);
  for (const [i, part] of bodies.entries()) await up.send(i + 1, part);
  await hasherReached(total(bodies));
  const RESENDS = 6;
  for (let i = 0; i < RESENDS; i += 1) await up.send(1, bodies[0]!);
  const blob = await up.complete(bodies);
  assert.equal(blob.hash, up.hash);
  assert.ok(
    hasherRead() <= 2 * total(bodies) + RESENDS * bodies[0]!.length,
    `the hashing read ${hasherRead()} bytes for an upload of ${total(bodies)} and ${RESENDS} sends of part 1`,
  );
});
