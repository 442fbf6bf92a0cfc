/**
 * The hashing as parts land keeps the SHA-256 state before each recent part, and before every
 * 64th further back: a part sent again has the hashing go back only to the state kept at or
 * before it, not to part 1, and what it then hashes is the upload as it now stands.
 */
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { stat } from 'node:fs/promises';
import { Readable } from 'node:stream';
import { test } from 'node:test';
import { MIN_PART_SIZE } from '@dreamlake/protocol';
import { createFsStorage } from '../src/storage/fs/index.ts';
import { partData, partPointer } from '../src/storage/fs/layout.ts';
import { PrefixHashes, type StagedPiece } from '../src/storage/fs/prefix-hash.ts';
import { readPartRecord } from '../src/storage/fs/records.ts';
import { SECRET, sha256, tempDir } from './helpers.ts';

const PARTS = 120;
const SIZE = 1000;

test('a part sent again is hashed on from the state kept before it, far back or recent', async (t) => {
  const temp = await tempDir('bss-checkpoints-');
  t.after(() => temp.remove());
  const storage = await createFsStorage({ root: temp.dir, publicUrl: 'http://127.0.0.1:1', secrets: [SECRET] });
  let read = 0;
  // A hashing of its own over the upload's folder, so that its reads alone are counted.
  const prefixes = new PrefixHashes({
    onRead: (bytes) => {
      read += bytes;
    },
  });
  const scope = { owner: 'alice', project: 'p1' };
  const bodies: Buffer[] = Array.from({ length: PARTS }, () => randomBytes(SIZE));
  const hash = sha256(Buffer.concat(bodies));
  const upload = await storage.createUpload({ ...scope, hash, contentType: 'application/octet-stream' });
  const dir = storage.layout.uploadDir(scope.owner, scope.project, hash, upload.uploadId);
  const send = async (partNumber: number, body: Buffer) => {
    bodies[partNumber - 1] = body;
    await storage.receivePart(
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
    prefixes.landed(dir, partNumber);
  };
  // The pieces as a complete would stage them: each part's data file as it now is.
  const pieces = (): Promise<StagedPiece[]> =>
    Promise.all(
      bodies.map(async (_, i) => {
        const record = await readPartRecord(partPointer(dir, i + 1));
        assert.ok(record);
        const info = await stat(partData(dir, i + 1, record.etag), { bigint: true });
        return {
          partNumber: i + 1,
          etag: record.etag,
          size: record.size,
          dev: String(info.dev),
          ino: String(info.ino),
        };
      }),
    );
  /** The prefix hashed covers the whole upload as it now stands, with its bytes' SHA-256. */
  const coversAll = async () => {
    const prefix = await prefixes.prefixFor(dir, await pieces());
    assert.ok(prefix, 'the prefix is not used');
    assert.equal(prefix.sizes.length, PARTS);
    assert.equal(prefix.hash.digest('hex'), createHash('sha256').update(Buffer.concat(bodies)).digest('hex'));
  };

  for (const [i, body] of [...bodies].entries()) await send(i + 1, body);
  await coversAll();
  assert.equal(read, PARTS * SIZE);

  // A recent part: it and the two after it are read again, no more.
  read = 0;
  await send(PARTS - 2, randomBytes(SIZE));
  await coversAll();
  assert.equal(read, 3 * SIZE);

  // A part far back (70): read on from the state kept before part 65.
  read = 0;
  await send(70, randomBytes(SIZE));
  await coversAll();
  assert.equal(read, (PARTS - 64) * SIZE);
  prefixes.forget(dir);
});
