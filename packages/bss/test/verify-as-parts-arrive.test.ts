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
import { createFsStorage } from '../src/storage/fs/index.ts';
import { partData } from '../src/storage/fs/layout.ts';
import { MIN_PART_SIZE } from '../src/storage/storage.ts';
import { SECRET, sha256, tempDir } from './helpers.ts';

const md5hex = (data: Buffer) => createHash('md5').update(data).digest('hex');

async function setup(t: import('node:test').TestContext) {
  const temp = await tempDir('bss-prefix-');
  t.after(() => temp.remove());
  const leftAtComplete: number[] = [];
  const storage = await createFsStorage({
    root: temp.dir,
    publicUrl: 'http://127.0.0.1:1',
    secrets: [SECRET],
    onCompleteHashed: (bytes) => leftAtComplete.push(bytes),
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
  return { storage, parts, open, leftAtComplete };
}

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

test('a part sent again with other bytes after it was hashed has the hashing start over from part 1', async (t) => {
  const { parts, open, leftAtComplete } = await setup(t);
  const second = randomBytes(MIN_PART_SIZE);
  const final = [parts[0]!, second, parts[2]!];
  const up = await open(final);
  for (const [i, part] of parts.entries()) await up.send(i + 1, part);
  await up.send(2, second);
  const blob = await up.complete(final);
  assert.equal(blob.hash, up.hash);
  // The bytes first hashed count for nothing: the new part 2 was read, in the background, after part 1.
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
