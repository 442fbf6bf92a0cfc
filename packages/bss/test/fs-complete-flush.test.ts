/**
 * The disk backend's complete flushes the parts it assembles (they were acknowledged unflushed).
 * Only an fsync's own failure says a part's bytes may not be on the disk, and drops that part so
 * it is sent again; any other storage error (a file that cannot be opened or stat'ed: EIO,
 * EACCES, EMFILE) fails the complete as unavailable and keeps every part, and the same complete
 * goes through once the storage answers again. The pieces are flushed a few at a time, not all
 * at once.
 */

import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import fsp, { type FileHandle, mkdir, readFile, writeFile } from 'node:fs/promises';
import { syncBuiltinESMExports } from 'node:module';
import { join, sep } from 'node:path';
import { Readable } from 'node:stream';
import { type TestContext, test } from 'node:test';
import { crc32 } from 'node:zlib';
import { DreamLakeError } from '@dreamlake/presign';
import { crc32Base64, MIN_PART_SIZE } from '@dreamlake/protocol';
import { flushPieces } from '../src/storage/fs/complete.ts';
import { createFsStorage, type FsStorage } from '../src/storage/fs/index.ts';
import { partData, partPointer } from '../src/storage/fs/layout.ts';
import type { UploadRef } from '../src/storage/storage.ts';
import { SECRET, tempDir } from './helpers.ts';

const owner = 'fay';
const project = 'flush';
const sha256 = (data: Buffer) => createHash('sha256').update(data).digest('hex');

function systemError(code: string, errno: number, syscall: string): Error {
  return Object.assign(new Error(`${code}: failed, ${syscall}`), { code, errno, syscall });
}

type Open = typeof fsp.open;

/** Routes every `fs/promises` open of this process through `replacement` until the test ends. */
function patchOpen(
  t: TestContext,
  replacement: (original: Open, path: string, ...rest: unknown[]) => Promise<FileHandle>,
) {
  const original = fsp.open;
  fsp.open = ((path: unknown, ...rest: unknown[]) => replacement(original, String(path), ...rest)) as Open;
  syncBuiltinESMExports();
  const restore = () => {
    fsp.open = original;
    syncBuiltinESMExports();
  };
  t.after(restore);
  return restore;
}

async function backend(root: string): Promise<FsStorage> {
  return createFsStorage({ root, publicUrl: 'http://127.0.0.1:1', secrets: [SECRET] });
}

interface Setup {
  root: string;
  data: Buffer;
  parts: Buffer[];
  hash: string;
  storage: FsStorage;
  upload: UploadRef;
  etags: string[];
  dir: string;
}

async function send(storage: FsStorage, upload: UploadRef, hash: string, n: number, body: Buffer): Promise<string> {
  const part = await storage.receivePart(
    {
      owner,
      project,
      hash,
      uploadId: upload.uploadId,
      partNumber: n,
      maxLength: 5 * 1024 ** 3,
      contentMd5: undefined,
      checksumCrc32: crc32Base64(crc32(body)),
      contentLength: body.length,
    },
    Readable.from([body]),
  );
  return part.etag;
}

/** An upload of two parts (5 MiB and 100 KiB), both sent. */
async function setup(t: TestContext): Promise<Setup> {
  const temp = await tempDir('bss-flush-');
  t.after(() => temp.remove());
  const root = join(temp.dir, 'bss');
  const parts = [randomBytes(MIN_PART_SIZE), randomBytes(100 * 1024)];
  const data = Buffer.concat(parts);
  const hash = sha256(data);
  const storage = await backend(root);
  const upload = await storage.createUpload({
    owner,
    project,
    hash,
    contentType: 'application/octet-stream',
    size: data.length,
  });
  const etags: string[] = [];
  for (const [i, body] of parts.entries()) etags.push(await send(storage, upload, hash, i + 1, body));
  const dir = storage.layout.uploadDir(owner, project, hash, upload.uploadId);
  return { root, data, parts, hash, storage, upload, etags, dir };
}

const listed = async (storage: FsStorage, upload: UploadRef) =>
  ((await storage.listParts(upload)) ?? []).map((part) => part.partNumber);

const completeAll = (s: Setup, storage = s.storage) =>
  storage.complete(
    s.upload,
    s.etags.map((etag, i) => ({ partNumber: i + 1, etag })),
  );

function isUnavailable(error: unknown): true {
  assert.ok(error instanceof DreamLakeError, String(error));
  assert.equal(error.code, 'storage_unavailable', error.message);
  return true;
}

async function readAll(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

/** Whether `path` is a piece of a blob a complete is staging under `root`. */
const isStagedPiece = (root: string, path: string) => path.startsWith(join(root, 'tmp') + sep);

test('a part data file that cannot be stat-ed (EIO) fails the complete as unavailable and drops nothing', async (t) => {
  const s = await setup(t);
  // Another instance (a restart) does not trust the parts: it checks that their files are there.
  const restarted = await backend(s.root);
  const part2 = partData(s.dir, 2, JSON.parse(await readFile(partPointer(s.dir, 2), 'utf8')).etag);
  const original = fsp.stat;
  fsp.stat = ((path: unknown, ...rest: unknown[]) =>
    String(path) === part2
      ? Promise.reject(systemError('EIO', -5, 'stat'))
      : (original as (...a: unknown[]) => ReturnType<typeof fsp.stat>)(path, ...rest)) as typeof fsp.stat;
  syncBuiltinESMExports();
  const restore = () => {
    fsp.stat = original;
    syncBuiltinESMExports();
  };
  t.after(restore);

  await assert.rejects(completeAll(s, restarted), isUnavailable);
  restore();
  assert.equal(await restarted.stat({ owner, project, hash: s.hash }), null, 'nothing was published');
  assert.deepEqual(await listed(restarted, s.upload), [1, 2], 'both parts are kept');
  const blob = await completeAll(s, restarted);
  assert.ok((await readAll(await restarted.read(blob))).equals(s.data));
});

test('pieces that cannot be opened for their flush (EMFILE) fail the complete as unavailable and drop nothing', async (t) => {
  const s = await setup(t);
  const restore = patchOpen(t, (original, path, ...rest) =>
    isStagedPiece(s.root, path)
      ? Promise.reject(systemError('EMFILE', -24, 'open'))
      : (original as (...a: unknown[]) => Promise<FileHandle>)(path, ...rest),
  );
  await assert.rejects(completeAll(s), isUnavailable);
  restore();
  assert.equal(await s.storage.stat({ owner, project, hash: s.hash }), null, 'nothing was published');
  assert.deepEqual(await listed(s.storage, s.upload), [1, 2], 'both parts are kept');
  const blob = await completeAll(s);
  assert.ok((await readAll(await s.storage.read(blob))).equals(s.data));
});

test('a piece whose fsync fails drops that part alone, to be sent again', async (t) => {
  const s = await setup(t);
  const restore = patchOpen(t, async (original, path, ...rest) => {
    const handle = await (original as (...a: unknown[]) => Promise<FileHandle>)(path, ...rest);
    if (isStagedPiece(s.root, path) && path.endsWith(`${sep}1`)) {
      handle.sync = () => Promise.reject(systemError('EIO', -5, 'fsync'));
    }
    return handle;
  });
  await assert.rejects(completeAll(s), (error: unknown) => {
    isUnavailable(error);
    assert.deepEqual((error as DreamLakeError).details, { parts: [2] });
    return true;
  });
  restore();
  assert.equal(await s.storage.stat({ owner, project, hash: s.hash }), null, 'nothing was published');
  assert.deepEqual(await listed(s.storage, s.upload), [1], 'part 2 was dropped, part 1 kept');
  s.etags[1] = await send(s.storage, s.upload, s.hash, 2, s.parts[1] as Buffer);
  const blob = await completeAll(s);
  assert.ok((await readAll(await s.storage.read(blob))).equals(s.data));
});

test('pieces are flushed at most 16 at a time, every one of them', async (t) => {
  const temp = await tempDir('bss-flush-limit-');
  t.after(() => temp.remove());
  const dir = join(temp.dir, 'pieces');
  await mkdir(dir);
  const pieces = Array.from({ length: 100 }, (_, i) => join(dir, String(i)));
  for (const piece of pieces) await writeFile(piece, randomBytes(16));
  let open = 0;
  let most = 0;
  const synced = new Set<string>();
  patchOpen(t, async (original, path, ...rest) => {
    const handle = await (original as (...a: unknown[]) => Promise<FileHandle>)(path, ...rest);
    if (!path.startsWith(dir + sep)) return handle;
    open += 1;
    most = Math.max(most, open);
    const sync = handle.sync.bind(handle);
    const close = handle.close.bind(handle);
    handle.sync = async () => {
      await sync();
      synced.add(path);
    };
    handle.close = async () => {
      open -= 1;
      await close();
    };
    return handle;
  });
  const { ids, failed } = await flushPieces(pieces);
  assert.deepEqual(failed, []);
  assert.equal(synced.size, 100, 'every piece was flushed');
  assert.equal(new Set(ids).size, 100, 'each piece is its own file');
  assert.ok(most <= 16, `${most} pieces were open at once`);
  assert.equal(open, 0, 'every piece was closed');
});
