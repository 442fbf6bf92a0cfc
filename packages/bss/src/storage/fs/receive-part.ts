import { createHash, type Hash } from 'node:crypto';
import { mkdir, rename, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { crc32 } from 'node:zlib';
import { DreamLakeError } from '@dreamlake/presign';
import { CRC32_BASE64, crc32Base64, crc32Etag, MAX_PART_SIZE } from '@dreamlake/protocol';
import { copyBody } from '../body.ts';
import type { PartPut } from '../part-receiver.ts';
import type { PartInfo } from '../storage.ts';
import { diskFull, fileIdOf, isMissing, readJson, tempName, writeJsonUnflushed } from './files.ts';
import { type FsLayout, META, partData, partPointer } from './layout.ts';
import { type PartRecord, readPartRecord, type UploadMeta } from './records.ts';
import { createFileWriter } from './synced-file.ts';

const BASE64_MD5 = /^[A-Za-z0-9+/]{22}==$/;

function badDigest(check: 'Content-MD5' | 'x-amz-checksum-crc32'): DreamLakeError {
  return new DreamLakeError('invalid_part', `the part body does not match its ${check}`, { reason: 'BadDigest' });
}

function gone(): DreamLakeError {
  return new DreamLakeError('not_found', 'the upload was aborted or completed meanwhile', { reason: 'NoSuchUpload' });
}

/** Creates one of an upload's own folders; a missing upload folder is NoSuchUpload. */
async function subfolder(path: string): Promise<void> {
  try {
    await mkdir(path);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') return;
    if (isMissing(error)) throw gone();
    throw diskFull(error);
  }
}

/**
 * Part data files this process is working with: how many part PUTs are moving each one in, and
 * the removal of each one under way. A data file is only removed while no PUT of this process
 * moves in a file of that name (the same part with the same bytes), and a PUT waits for a
 * removal of its name to end before it moves its file in.
 */
const moving = new Map<string, number>();
const removing = new Map<string, Promise<void>>();

async function hold(path: string): Promise<void> {
  moving.set(path, (moving.get(path) ?? 0) + 1);
  await removing.get(path);
}

function release(path: string): void {
  const left = (moving.get(path) ?? 1) - 1;
  if (left > 0) moving.set(path, left);
  else moving.delete(path);
}

/** Removes part `partNumber`'s data file of that ETag unless the part points at it or a PUT is moving it in. */
async function removeUnlessPointed(dir: string, partNumber: number, etag: string): Promise<void> {
  const path = partData(dir, partNumber, etag);
  if (moving.has(path) || removing.has(path)) return;
  const removal = (async () => {
    const current = await readPartRecord(partPointer(dir, partNumber));
    if (current?.etag !== etag) await rm(path, { force: true });
  })();
  removing.set(path, removal);
  try {
    await removal;
  } finally {
    removing.delete(path);
  }
}

/**
 * One lock per part (upload folder and part number) in this process: a part's pointer is read and
 * replaced, or judged and removed, by one holder at a time, so a send of the part never writes its
 * pointer between a drop's reading of the pointer and its removal.
 */
const partLocks = new Map<string, Promise<void>>();

async function withPartLock<T>(dir: string, partNumber: number, task: () => Promise<T>): Promise<T> {
  const key = `${dir}\n${partNumber}`;
  const before = partLocks.get(key);
  let release = () => {};
  const held = new Promise<void>((resolve) => {
    release = resolve;
  });
  const tail = before ? before.then(() => held) : held;
  partLocks.set(key, tail);
  try {
    await before;
    return await task();
  } finally {
    release();
    if (partLocks.get(key) === tail) partLocks.delete(key);
  }
}

/**
 * Pointer writes of one part in this process that overlap in time, and every data file they
 * moved in or replaced: when the last of them ends, each of those files the part does not point
 * at is removed.
 */
const bursts = new Map<string, { writers: number; files: Set<string> }>();

/**
 * Moves a received part in and points `parts/{n}` at it, under the part's lock. A part sent again
 * with other bytes leaves no data file behind: the file it replaced, and the files of concurrent
 * sends of the part whose pointer was overwritten, are removed once no send of that part is under
 * way here (never a file a PUT is still moving in, nor the one the part points at).
 */
async function recordPart(dir: string, partNumber: number, tmp: string, record: PartRecord): Promise<void> {
  const mine = partData(dir, partNumber, record.etag);
  const key = `${dir}\n${partNumber}`;
  await hold(mine);
  const burst = bursts.get(key) ?? { writers: 0, files: new Set<string>() };
  bursts.set(key, burst);
  burst.writers += 1;
  try {
    await withPartLock(dir, partNumber, async () => {
      // A complete or abort that began while the body streamed has removed the meta first: the
      // part is not recorded into an upload that is closing.
      if (!(await readJson<UploadMeta>(join(dir, META)))) throw gone();
      await rename(tmp, mine);
      burst.files.add(record.etag);
      const replaced = await readPartRecord(partPointer(dir, partNumber));
      if (replaced) burst.files.add(replaced.etag);
      // Neither the file, nor its name, nor the pointer is flushed here: a complete flushes the
      // pieces it assembles, and an unclean stop before it is caught by the part's CRC-32 (see
      // part-checks.ts).
      await writeJsonUnflushed(partPointer(dir, partNumber), record);
    });
  } finally {
    release(mine);
    burst.writers -= 1;
    if (burst.writers === 0 && bursts.get(key) === burst) bursts.delete(key);
  }
  if (burst.writers > 0) return;
  for (const etag of burst.files) await removeUnlessPointed(dir, partNumber, etag);
}

/** Whether two records name the same write of a part (a send of it again writes another record). */
function sameRecord(a: PartRecord, b: PartRecord): boolean {
  return a.etag === b.etag && a.size === b.size && a.crc32 === b.crc32 && a.writtenBy === b.writtenBy;
}

/** The identity of a part's data file (see fileIdOf), or null when there is none. */
async function dataFileId(path: string): Promise<string | null> {
  try {
    return fileIdOf(await stat(path, { bigint: true }));
  } catch (error) {
    if (isMissing(error)) return null;
    throw error;
  }
}

/**
 * Drops part `partNumber` found not to hold the bytes of `record` (after an unclean stop, or a
 * failed flush), under the part's lock, and only what was judged: its pointer and data file while
 * the part still points at that very record and, when `judged` names the data file that was
 * judged (see fileIdOf), while that file is still the one there. A send of the part that replaced
 * them meanwhile (with the same bytes, even from this instance, the record and the file's name are
 * the same) is kept; a data file of the judged ETag the part no longer points at is removed. A
 * client that resumes then finds the part missing and sends it again.
 */
export async function dropPart(dir: string, partNumber: number, record: PartRecord, judged?: string): Promise<void> {
  await withPartLock(dir, partNumber, async () => {
    const pointer = partPointer(dir, partNumber);
    const current = await readPartRecord(pointer);
    if (current && !sameRecord(current, record)) {
      // Sent again meanwhile: the part's new file is kept; the judged one, if it is another, goes.
      if (current.etag !== record.etag) await removeUnlessPointed(dir, partNumber, record.etag);
      return;
    }
    if (judged !== undefined) {
      const there = await dataFileId(partData(dir, partNumber, record.etag));
      // Another file of that name: the same bytes sent again, moved in after the judgment.
      if (there !== null && there !== judged) return;
    }
    if (current) await rm(pointer, { force: true });
    await removeUnlessPointed(dir, partNumber, record.etag);
  });
}

/**
 * Streams one part to a temporary file beside its final place, checks its size and whichever of
 * MD5 and CRC-32 it was sent with, and only then renames it in and points `parts/{n}` at it.
 * Nothing of a refused or cut-off body stays. A part sent with a CRC-32 and no Content-MD5 gets no
 * MD5 (which costs several times the CRC-32): its ETag comes from its CRC-32 and size. Every
 * other part's ETag is its MD5, as S3's. The part is answered once written, not flushed: its
 * record keeps its CRC-32 and `writtenBy` (see part-checks.ts), and a complete flushes it.
 */
export async function receivePart(
  layout: FsLayout,
  put: PartPut,
  body: Readable,
  writtenBy: string,
): Promise<PartInfo> {
  const dir = layout.uploadDir(put.owner, put.project, put.hash, put.uploadId);
  const meta = await readJson<UploadMeta>(join(dir, META));
  if (!meta)
    throw new DreamLakeError('not_found', 'the upload is unknown, aborted, completed or swept', {
      reason: 'NoSuchUpload',
    });

  const limit = Math.min(put.maxLength, MAX_PART_SIZE);
  if (put.contentLength !== undefined && put.contentLength > limit) {
    throw new DreamLakeError('too_large', `the part may be at most ${limit} bytes`, { maxLength: limit });
  }
  if (put.contentMd5 !== undefined && !BASE64_MD5.test(put.contentMd5)) {
    throw new DreamLakeError('invalid_part', 'Content-MD5 must be the base64 of 16 bytes', { reason: 'InvalidDigest' });
  }
  if (put.checksumCrc32 !== undefined && !CRC32_BASE64.test(put.checksumCrc32)) {
    throw new DreamLakeError('invalid_part', 'x-amz-checksum-crc32 must be the base64 of 4 bytes', {
      reason: 'InvalidDigest',
    });
  }

  // Never recursive: an abort that removed the upload meanwhile must not see its folder come back.
  await subfolder(join(dir, 'data'));
  await subfolder(join(dir, 'parts'));
  const tmp = tempName(join(dir, 'data', String(put.partNumber)));
  // A part sent with a CRC-32 alone gets no MD5; any other keeps S3's MD5 ETag.
  const md5: Hash | undefined =
    put.contentMd5 !== undefined || put.checksumCrc32 === undefined ? createHash('md5') : undefined;
  let crc = 0;
  let size = 0;
  try {
    await copyBody(body, createFileWriter(tmp, { sync: false }), (chunk) => {
      size += chunk.length;
      if (size > limit)
        throw new DreamLakeError('too_large', `the part may be at most ${limit} bytes`, { maxLength: limit });
      md5?.update(chunk);
      crc = crc32(chunk, crc);
    });
    const crcBase64 = crc32Base64(crc);
    if (put.checksumCrc32 !== undefined && crcBase64 !== put.checksumCrc32) throw badDigest('x-amz-checksum-crc32');
    let etag: string;
    if (md5) {
      const digest = md5.digest();
      if (put.contentMd5 !== undefined && digest.toString('base64') !== put.contentMd5) throw badDigest('Content-MD5');
      etag = digest.toString('hex');
    } else {
      etag = crc32Etag(crcBase64, size);
    }
    await recordPart(dir, put.partNumber, tmp, { etag, size, crc32: crcBase64, writtenBy });
    return { partNumber: put.partNumber, etag: `"${etag}"`, size };
  } catch (error) {
    await rm(tmp, { force: true });
    if (isMissing(error)) throw gone();
    throw diskFull(error);
  }
}
