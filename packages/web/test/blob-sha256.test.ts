import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { test } from 'node:test';
import { blobSha256, readIntoBuffer, readSlices, sha256Many } from '../src/engine/blob-sha256.ts';

const MIB = 1024 * 1024;
// Around the 4 MiB read buffer and the 8 MiB slices: empty, one byte, exact multiples, one over.
const SIZES = [0, 1, 4 * MIB, 4 * MIB + 1, 8 * MIB, 8 * MIB + 1, 25 * MIB + 123];

for (const [path, read] of [
  ['one reused buffer (BYOB)', readIntoBuffer],
  [
    'slices (browsers without byte streams)',
    async (blob: Blob, on: (b: Uint8Array) => void) => {
      await readSlices(blob, on);
      return true;
    },
  ],
] as const) {
  test(`the SHA-256 read through ${path} is the file's, at every size around the piece sizes`, async () => {
    for (const size of SIZES) {
      const bytes = randomBytes(size);
      const seen: number[] = [];
      const hash = await blobSha256(new Blob([bytes]), (done) => seen.push(done), read);
      assert.equal(hash, createHash('sha256').update(bytes).digest('hex'), `${size} bytes`);
      assert.equal(seen.at(-1) ?? 0, size, 'progress ends at the file size');
      assert.deepEqual(
        seen,
        [...seen].sort((a, b) => a - b),
        'progress only grows',
      );
    }
  });
}

test('where a Blob stream takes no buffer of ours, the hash is read through slices instead', async () => {
  const bytes = randomBytes(9 * MIB + 7);
  const noByteStream = async () => false; // as readIntoBuffer answers in such a browser
  const hash = await blobSha256(new Blob([bytes]), () => {}, noByteStream);
  assert.equal(hash, createHash('sha256').update(bytes).digest('hex'));
});

test('a batch of small files gets each its own SHA-256, in order, and an unreadable one fails alone', async () => {
  const files = Array.from({ length: 23 }, (_, i) => randomBytes(i === 3 ? 0 : 1 + i * 997));
  const blobs: Blob[] = files.map((bytes) => new Blob([bytes]));
  // A Blob whose read fails, as a file deleted after the drop does in a browser.
  const gone = new Blob([randomBytes(10)]);
  Object.defineProperty(gone, 'arrayBuffer', {
    value: () =>
      Promise.reject(Object.assign(new Error('A requested file could not be found'), { name: 'NotFoundError' })),
  });
  blobs.splice(7, 0, gone);
  let told = 0;
  const results = await sha256Many(blobs, () => {
    told += 1;
  });
  assert.equal(results.length, blobs.length);
  assert.equal(told, blobs.length);
  assert.deepEqual(results[7], { error: 'A requested file could not be found', errorName: 'NotFoundError' });
  const hashes = results.filter((_, i) => i !== 7);
  assert.deepEqual(
    hashes,
    files.map((bytes) => ({ hash: createHash('sha256').update(bytes).digest('hex') })),
  );
});

test('files of a batch asked to keep their bytes answer them with their hash, as read: the upload sends them without reading the file again', async () => {
  const files = Array.from({ length: 6 }, (_, i) => randomBytes(1000 + i));
  const keep = files.map((_, i) => i % 2 === 0);
  const results = await sha256Many(
    files.map((bytes) => new Blob([bytes])),
    () => {},
    keep,
  );
  results.forEach((result, i) => {
    const bytes = files[i] as Buffer;
    assert.ok('hash' in result);
    assert.equal(result.hash, createHash('sha256').update(bytes).digest('hex'));
    if (keep[i]) assert.deepEqual(Buffer.from(result.bytes as ArrayBuffer), bytes, `file ${i}'s bytes`);
    else assert.equal(result.bytes, undefined, `file ${i} keeps nothing`);
  });
});
