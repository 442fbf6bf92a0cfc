/**
 * A disk backend upload (two parts, 5 MiB and 100 KiB, unless told), opened or sent whole, for the
 * tests of what its parts and complete do when the storage fails under them (fs-*.test.ts): the
 * backend, the parts' ETags and folder, fault injection on `fs/promises`' open, and the error a
 * complete fails with.
 */
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import fsp, { type FileHandle } from 'node:fs/promises';
import { syncBuiltinESMExports } from 'node:module';
import { join, sep } from 'node:path';
import { Readable } from 'node:stream';
import type { TestContext } from 'node:test';
import { crc32 } from 'node:zlib';
import { DreamLakeError } from '@dreamlake/presign';
import { crc32Base64, MIN_PART_SIZE } from '@dreamlake/protocol';
import { createFsStorage, type FsStorage } from '../../src/storage/fs/index.ts';
import type { UploadRef } from '../../src/storage/storage.ts';
import { SECRET, tempDir } from '../helpers.ts';

export const owner = 'fay';
export const project = 'flush';
export const sha256 = (data: Buffer) => createHash('sha256').update(data).digest('hex');

export function systemError(code: string, errno: number, syscall: string): Error {
  return Object.assign(new Error(`${code}: failed, ${syscall}`), { code, errno, syscall });
}

export type Open = typeof fsp.open;

/** Routes every `fs/promises` open of this process through `replacement` until the test ends. */
export function patchOpen(
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

/**
 * `flushBehind: false` leaves every part's flush to its complete, as for parts another process
 * wrote or a backend restarted since: the tests of the complete's own flush.
 */
export async function backend(root: string, options: { flushBehind?: boolean } = {}): Promise<FsStorage> {
  return createFsStorage({ root, publicUrl: 'http://127.0.0.1:1', secrets: [SECRET], ...options });
}

/** An open upload of the disk backend, its parts' bytes made but not yet sent. */
export interface Upload {
  root: string;
  data: Buffer;
  parts: Buffer[];
  hash: string;
  storage: FsStorage;
  upload: UploadRef;
  dir: string;
}

/** An upload sent whole: each part's ETag by part number. */
export interface Setup extends Upload {
  etags: string[];
}

export async function send(
  storage: FsStorage,
  upload: UploadRef,
  hash: string,
  n: number,
  body: Buffer,
): Promise<string> {
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

/**
 * An upload opened on a new backend in a new folder (`options` as for `backend`), of random parts
 * of `sizes` bytes each (two parts, 5 MiB and 100 KiB, unless told), none sent yet.
 */
export async function openUpload(
  t: TestContext,
  sizes: number[] = [MIN_PART_SIZE, 100 * 1024],
  options: { flushBehind?: boolean } = {},
): Promise<Upload> {
  const temp = await tempDir('bss-upload-');
  t.after(() => temp.remove());
  const root = join(temp.dir, 'bss');
  const parts = sizes.map((size) => randomBytes(size));
  const data = Buffer.concat(parts);
  const hash = sha256(data);
  const storage = await backend(root, options);
  const upload = await storage.createUpload({
    owner,
    project,
    hash,
    contentType: 'application/octet-stream',
    size: data.length,
  });
  const dir = storage.layout.uploadDir(owner, project, hash, upload.uploadId);
  return { root, data, parts, hash, storage, upload, dir };
}

/** An upload of two parts (5 MiB and 100 KiB), both sent (`options` as for `backend`). */
export async function setup(t: TestContext, options: { flushBehind?: boolean } = {}): Promise<Setup> {
  const opened = await openUpload(t, undefined, options);
  const etags: string[] = [];
  for (const [i, body] of opened.parts.entries())
    etags.push(await send(opened.storage, opened.upload, opened.hash, i + 1, body));
  return { ...opened, etags };
}

export const listed = async (storage: FsStorage, upload: UploadRef) =>
  ((await storage.listParts(upload)) ?? []).map((part) => part.partNumber);

export const completeAll = (s: Setup, storage = s.storage) =>
  storage.complete(
    s.upload,
    s.etags.map((etag, i) => ({ partNumber: i + 1, etag })),
  );

export function isUnavailable(error: unknown): true {
  assert.ok(error instanceof DreamLakeError, String(error));
  assert.equal(error.code, 'storage_unavailable', error.message);
  return true;
}

export async function readAll(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

/** Whether `path` is a piece of a blob a complete is staging under `root`. */
export const isStagedPiece = (root: string, path: string) => path.startsWith(join(root, 'tmp') + sep);
