/**
 * Two completes of one upload at once (a client that retries a slow complete): Linux reports a
 * failed writeback to one fsync only, so of two flushes of one part's file, one may fail and the
 * other succeed over bytes that are not on the disk. The disk backend must then publish nothing:
 * a retry joins the complete under way, and a file whose flush failed anywhere in the process is
 * never published. The part is dropped; sent again, the upload completes.
 */

import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import fsp, { type FileHandle } from 'node:fs/promises';
import { syncBuiltinESMExports } from 'node:module';
import { join, sep } from 'node:path';
import { Readable } from 'node:stream';
import { type TestContext, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { crc32 } from 'node:zlib';
import { DreamLakeError } from '@dreamlake/presign';
import { crc32Base64, MIN_PART_SIZE } from '@dreamlake/protocol';
import { createFsStorage, type FsStorage } from '../src/storage/fs/index.ts';
import type { UploadRef } from '../src/storage/storage.ts';
import { SECRET, tempDir } from './helpers.ts';

const owner = 'tess';
const project = 'twice';
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

/**
 * Makes the first fsync of part 2's staged piece fail (EIO), as a failed writeback does, once a
 * second fsync of such a piece has begun, or after 2 s; that second one and any later go through,
 * as Linux answers them once the error was reported.
 */
function failFirstFlushOfPart2(t: TestContext, root: string): { flushes(): number } {
  let flushes = 0;
  let secondBegan = () => {};
  const second = new Promise<void>((resolve) => {
    secondBegan = resolve;
  });
  let firstFailed = () => {};
  const failed = new Promise<void>((resolve) => {
    firstFailed = resolve;
  });
  patchOpen(t, async (original, path, ...rest) => {
    const handle = await (original as (...a: unknown[]) => Promise<FileHandle>)(path, ...rest);
    if (!isStagedPiece(root, path) || !path.endsWith(`${sep}1`)) return handle;
    const sync = handle.sync.bind(handle);
    handle.sync = async () => {
      flushes += 1;
      if (flushes === 1) {
        await Promise.race([second, sleep(2000)]);
        setImmediate(firstFailed);
        throw systemError('EIO', -5, 'fsync');
      }
      secondBegan();
      await failed;
      return sync();
    };
    return handle;
  });
  return { flushes: () => flushes };
}

async function sendPart2AgainAndComplete(s: Setup, storage: FsStorage): Promise<void> {
  assert.deepEqual(await listed(storage, s.upload), [1], 'part 2 was dropped, part 1 kept');
  s.etags[1] = await send(storage, s.upload, s.hash, 2, s.parts[1] as Buffer);
  const blob = await completeAll(s, storage);
  assert.ok((await readAll(await storage.read(blob))).equals(s.data));
}

test("a complete retried while the first runs publishes nothing when the part's flush fails", async (t) => {
  const s = await setup(t);
  failFirstFlushOfPart2(t, s.root);
  const results = await Promise.allSettled([completeAll(s), completeAll(s)]);
  for (const result of results) {
    assert.equal(result.status, 'rejected', 'neither complete succeeds');
    if (result.status === 'rejected') isUnavailable(result.reason);
  }
  assert.equal(await s.storage.stat({ owner, project, hash: s.hash }), null, 'nothing was published');
  await sendPart2AgainAndComplete(s, s.storage);
});

test('a file whose flush failed in one backend of the process is not published by another that flushed it without error', async (t) => {
  const s = await setup(t);
  // Another backend over the same folder in the same process (its completes are its own).
  const other = await backend(s.root);
  const hook = failFirstFlushOfPart2(t, s.root);
  const results = await Promise.allSettled([completeAll(s), completeAll(s, other)]);
  assert.equal(hook.flushes(), 2, 'both completes flushed part 2');
  for (const result of results) {
    assert.equal(result.status, 'rejected', 'neither complete succeeds');
    if (result.status === 'rejected') isUnavailable(result.reason);
  }
  assert.equal(await s.storage.stat({ owner, project, hash: s.hash }), null, 'nothing was published');
  await sendPart2AgainAndComplete(s, s.storage);
});
