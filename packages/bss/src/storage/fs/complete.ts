import { createHash } from 'node:crypto';
import { link, mkdir, open, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { crc32 } from 'node:zlib';
import { DreamLakeError } from '@dreamlake/presign';
import { eachLimited, MIN_PART_SIZE } from '@dreamlake/protocol';
import { bareEtag, hashSatisfies } from '../keys.ts';
import { type BlobInfo, type CompletedPart, checkAssembledSize } from '../storage.ts';
import { statBlob } from './blobs.ts';
import { flushFailed, flushFile } from './file-flushes.ts';
import { diskFull, fileIdOf, isMissing, readJson, tempName, writeJsonAtomic } from './files.ts';
import { blobPiece, COMPLETED, type FsLayout, HASHED, META, partData, partPointer } from './layout.ts';
import { matchesRecord, type PartChecks } from './part-checks.ts';
import type { HashedPrefix, PrefixHashes, StagedPiece } from './prefix-hash.ts';
import { publishStage } from './publish.ts';
import { dropPart } from './receive-part.ts';
import {
  type BlobManifest,
  type CompletedRecord,
  type PartRecord,
  readPartRecord,
  type UploadMeta,
} from './records.ts';

const CHUNK = 1024 * 1024;
/**
 * Pieces flushed at once by one complete. A complete may list 10,000 parts: opened and flushed all
 * at once, they would take as many descriptors and queue as many fsyncs on libuv's few threads,
 * ahead of every other request's file work.
 */
const FLUSH_LIMIT = 16;

/**
 * A storage error that is not a missing file (EIO, EACCES, EMFILE, ...): the complete fails as
 * unavailable and keeps every part, since nothing says any part's bytes are wrong. A full disk
 * keeps its own message.
 */
function unavailable(error: unknown): unknown {
  const full = diskFull(error);
  if (full !== error) return full;
  // Only the system's own errors: anything else (a bug) passes unchanged.
  if (typeof (error as NodeJS.ErrnoException | null)?.syscall !== 'string') return error;
  return new DreamLakeError('storage_unavailable', 'the storage could not be read or written; try again', undefined, {
    cause: error,
  });
}

/** Whether a part's data file is there; an error other than its absence is the storage's, not the part's. */
async function dataFileExists(path: string): Promise<boolean> {
  try {
    await stat(path);
    return true;
  } catch (error) {
    if (isMissing(error)) return false;
    throw unavailable(error);
  }
}

/** A listed part: its data file, its size and bare ETag as recorded. */
interface CheckedPart {
  path: string;
  size: number;
  partNumber: number;
  etag: string;
  /** Its record, when its bytes are to be checked against the CRC-32 there as they are hashed (see part-checks.ts). */
  unchecked?: PartRecord;
}

/** The listed parts' files and sizes, after checking each exists, matches its ETag and is big enough. */
async function checkedParts(
  dir: string,
  parts: readonly CompletedPart[],
  checks: PartChecks | undefined,
): Promise<CheckedPart[]> {
  const records: PartRecord[] = [];
  for (const part of parts) {
    const record = await readPartRecord(partPointer(dir, part.partNumber));
    // `reason` is S3's name for the same refusal, for clients that know S3's errors.
    if (!record)
      throw new DreamLakeError('invalid_part', `part ${part.partNumber} was not uploaded`, {
        reason: 'InvalidPart',
        partNumber: part.partNumber,
      });
    if (bareEtag(part.etag) !== record.etag) {
      throw new DreamLakeError('invalid_part', `part ${part.partNumber} has ETag "${record.etag}", not ${part.etag}`, {
        reason: 'InvalidPart',
        partNumber: part.partNumber,
      });
    }
    records.push(record);
  }
  records.forEach((record, index) => {
    if (index < records.length - 1 && record.size < MIN_PART_SIZE) {
      const n = parts[index]?.partNumber;
      throw new DreamLakeError(
        'entity_too_small',
        `part ${n} is ${record.size} bytes; every part but the last needs ${MIN_PART_SIZE}`,
        { reason: 'EntityTooSmall', partNumber: n },
      );
    }
  });
  return Promise.all(
    parts.map(async (part, index) => {
      const record = records[index] as PartRecord;
      const trusted = checks ? await checks.trusted(dir, part.partNumber, record) : record.writtenBy === undefined;
      const path = partData(dir, part.partNumber, record.etag);
      // An unclean stop may have kept the pointer and lost the data file's name.
      if (!trusted && !(await dataFileExists(path))) {
        await dropPart(dir, part.partNumber, record);
        throw lostPart(part.partNumber);
      }
      return {
        path,
        size: record.size,
        partNumber: part.partNumber,
        etag: record.etag,
        ...(trusted ? {} : { unchecked: record }),
      };
    }),
  );
}

/** A part found not to hold the bytes recorded for it (after an unclean stop): dropped, so that it is sent again. */
function lostPart(partNumber: number): DreamLakeError {
  return new DreamLakeError(
    'invalid_part',
    `part ${partNumber} does not hold the bytes recorded for it (the storage stopped before it reached the disk); send it again`,
    { reason: 'InvalidPart', partNumber },
  );
}

/**
 * Flushes every staged piece to the disk, FLUSH_LIMIT at a time (the parts were acknowledged
 * unflushed), through the process's one flush per file (see file-flushes.ts): a piece whose flush
 * is under way in the background is waited for, and every other one is flushed here (most have
 * nothing left to write: their background flush has ended). Answers each piece's file (see
 * fileIdOf) and the pieces whose fsync failed, by index, with the error (here, or anywhere in the
 * process before): their bytes may not be on the disk. Only an fsync's own failure says so: any
 * other error (the piece could not be opened, or its stage is gone) is thrown and says nothing
 * about the part's bytes.
 */
export async function flushPieces(
  pieces: readonly string[],
): Promise<{ ids: string[]; failed: { index: number; error: unknown }[] }> {
  const ids = new Array<string>(pieces.length);
  const failed: { index: number; error: unknown }[] = [];
  await eachLimited(pieces, FLUSH_LIMIT, async (piece, index) => {
    const handle = await open(piece, 'r');
    try {
      const info = await handle.stat({ bigint: true });
      ids[index] = fileIdOf(info);
      try {
        await flushFile(handle, info);
      } catch (error) {
        failed.push({ index, error });
      }
    } finally {
      await handle.close();
    }
  });
  return { ids, failed: failed.sort((a, b) => a.index - b.index) };
}

/**
 * The SHA-256 of the files read one after the other, through one fixed 1 MiB buffer, with the
 * size of each file as read: the manifest records exactly the bytes that were hashed. A file with
 * a record in `unchecked` is checked against its CRC-32 in the same read; answers the indexes of
 * those that do not match (`lost`).
 */
async function hashFiles(
  files: readonly string[],
  start: HashedPrefix | undefined,
  unchecked: readonly (PartRecord | undefined)[],
): Promise<{ sha256: string; size: number; sizes: number[]; lost: number[]; fromPrefix: number }> {
  // A prefix hashed over a part this instance has not checked is not used: that part is read here.
  const firstUnchecked = unchecked.findIndex((record) => record !== undefined);
  if (start && firstUnchecked >= 0 && start.sizes.length > firstUnchecked) start = undefined;
  // The parts hashed while they arrived are not read again: the hash goes on from them.
  const hash = start?.hash ?? createHash('sha256');
  const buffer = Buffer.allocUnsafe(CHUNK);
  const sizes: number[] = start ? [...start.sizes] : [];
  const lost: number[] = [];
  for (let index = sizes.length; index < files.length; index += 1) {
    const input = await open(files[index] as string, 'r');
    const record = unchecked[index];
    let size = 0;
    let crc = 0;
    try {
      for (;;) {
        const { bytesRead } = await input.read(buffer, 0, CHUNK, null);
        if (bytesRead === 0) break;
        const bytes = buffer.subarray(0, bytesRead);
        hash.update(bytes);
        if (record) crc = crc32(bytes, crc);
        size += bytesRead;
      }
    } finally {
      await input.close();
    }
    if (record && !matchesRecord(record, size, crc)) lost.push(index);
    sizes.push(size);
  }
  const fromPrefix = start?.sizes.reduce((sum, size) => sum + size, 0) ?? 0;
  return { sha256: hash.digest('hex'), size: sizes.reduce((a, b) => a + b, 0), sizes, lost, fromPrefix };
}

/** The staged pieces as a prefix hash knows parts: number, ETag, size and the file the piece links to. */
async function stagedPieces(pieces: readonly string[], files: readonly CheckedPart[]): Promise<StagedPiece[]> {
  return Promise.all(
    pieces.map(async (piece, index) => {
      const file = files[index] as CheckedPart;
      const { dev, ino } = await stat(piece, { bigint: true });
      return { partNumber: file.partNumber, etag: file.etag, size: file.size, dev: String(dev), ino: String(ino) };
    }),
  );
}

/**
 * Drops a listed part whose bytes are not known to be the ones recorded (see dropPart): only
 * while its data file is still `judged` (see fileIdOf), the file the complete staged, when known.
 */
async function dropFile(dir: string, file: CheckedPart, judged?: string): Promise<void> {
  const record = file.unchecked ?? (await readPartRecord(partPointer(dir, file.partNumber)));
  if (record && record.etag === file.etag) await dropPart(dir, file.partNumber, record, judged);
}

/**
 * Drops the parts at `indexes` of `files`, whose flush failed (their bytes on the disk are
 * unknown), each only while its data file is the one staged (`ids`); answers the error that asks
 * for them again.
 */
async function dropUnflushed(
  dir: string,
  files: readonly CheckedPart[],
  ids: readonly string[],
  indexes: readonly number[],
): Promise<DreamLakeError> {
  await Promise.all(indexes.map((index) => dropFile(dir, files[index] as CheckedPart, ids[index])));
  return new DreamLakeError('storage_unavailable', 'parts could not be flushed to the disk; send them again', {
    parts: indexes.map((index) => (files[index] as CheckedPart).partNumber),
  });
}

async function alreadyCompleted(
  layout: FsLayout,
  dir: string,
  scope: { owner: string; project: string },
): Promise<BlobInfo | null> {
  const done = await readJson<CompletedRecord>(join(dir, COMPLETED));
  if (!done) return null;
  const blob = await statBlob(layout, { owner: scope.owner, project: scope.project, hash: done.sha256 });
  if (!blob) throw new DreamLakeError('not_found', 'the upload was completed but its blob is gone');
  return blob;
}

/**
 * Why a complete that lost a race failed: the blob, when another complete of this upload finished
 * first (it records the blob before removing the parts); NotFound when an abort or a sweep removed
 * the upload; otherwise the error itself.
 */
async function afterLostRace(
  layout: FsLayout,
  dir: string,
  scope: { owner: string; project: string },
  error: unknown,
): Promise<BlobInfo> {
  const done = await alreadyCompleted(layout, dir, scope);
  if (done) return done;
  if (isMissing(error) || (await readJson(join(dir, META))) === null) {
    throw new DreamLakeError('not_found', 'the upload was aborted or swept meanwhile', { reason: 'NoSuchUpload' });
  }
  throw unavailable(error);
}

/**
 * Completes an upload. The object is assembled without copying a byte: the listed parts are
 * hard-linked, in order, into a private staging folder with a manifest, the staged bytes are
 * hashed (streaming, one fixed buffer), and only a match is published, by renaming the folder
 * onto the blob's content-addressed path. The staged pieces are this call's own links, which no
 * part sent again can replace, so the bytes published are the bytes hashed; a hash taken as the
 * parts landed stands in for reading a piece only when the piece is the very file it read (see
 * prefix-hash.ts). No locks: each caller stages its own folder, and a
 * rename that finds the blob already there means another complete (of this upload or of the same
 * hash, in any process) published it first, so every caller ends with the one verified blob.
 */
export async function completeUpload(
  layout: FsLayout,
  dir: string,
  scope: { owner: string; project: string },
  parts: readonly CompletedPart[],
  prefixes?: PrefixHashes,
  onHashed?: (bytes: number) => void,
  checks?: PartChecks,
): Promise<BlobInfo> {
  const previous = await alreadyCompleted(layout, dir, scope);
  if (previous) return previous;
  const meta = await readJson<UploadMeta>(join(dir, META));
  if (!meta) {
    // Another complete of this upload may have finished between the two reads.
    const done = await alreadyCompleted(layout, dir, scope);
    if (done) return done;
    throw new DreamLakeError('not_found', 'the upload is unknown, aborted or swept', { reason: 'NoSuchUpload' });
  }
  if (parts.length === 0) throw new DreamLakeError('invalid_part', 'a complete needs at least one part');

  await mkdir(layout.tmpDir, { recursive: true });
  const stage = tempName(join(layout.tmpDir, meta.uploadId));
  const discardStage = () => rm(stage, { recursive: true, force: true });
  let hashed: { sha256: string; size: number; sizes: number[] };
  let files: CheckedPart[];
  let flushedIds: string[];
  try {
    files = await checkedParts(dir, parts, checks);
  } catch (error) {
    return afterLostRace(layout, dir, scope, error);
  }
  // Another size than the upload was bound to is refused before a byte is hashed; the upload stays
  // open, so the client may send the right parts.
  checkAssembledSize(
    meta.size,
    files.reduce((sum, file) => sum + file.size, 0),
  );
  try {
    await mkdir(stage);
    for (const [index, file] of files.entries()) await link(file.path, blobPiece(stage, index));
    const pieces = files.map((_, index) => blobPiece(stage, index));
    // The parts were acknowledged unflushed: every piece is flushed now, a few at a time, while what
    // the prefix did not cover is hashed. The blob is published only once both are done, so its
    // SHA-256 is compared over bytes that are on the disk. Pieces are links to files never written
    // again: the bytes hashed, from the page cache or from the disk, are the bytes flushed.
    const hashing = (async () => {
      const start = prefixes ? await prefixes.prefixFor(dir, await stagedPieces(pieces, files)) : undefined;
      return hashFiles(
        pieces,
        start,
        files.map((file) => file.unchecked),
      );
    })();
    const [flushed, hashedNow] = await Promise.allSettled([flushPieces(pieces), hashing]);
    // A piece gone means the stage was swept: a lost race, whose error tells it. Any other error
    // (a piece that could not be opened) fails the complete as unavailable and keeps every part.
    if (flushed.status === 'rejected') throw flushed.reason;
    flushedIds = flushed.value.ids;
    // A failed flush leaves the piece's bytes on the disk unknown (a later flush may succeed
    // without writing them): the part is dropped, to be sent again.
    if (flushed.value.failed.length > 0) {
      throw await dropUnflushed(
        dir,
        files,
        flushedIds,
        flushed.value.failed.map(({ index }) => index),
      );
    }
    if (hashedNow.status === 'rejected') throw hashedNow.reason;
    const result = hashedNow.value;
    if (result.lost.length > 0) {
      await Promise.all(result.lost.map((index) => dropFile(dir, files[index] as CheckedPart, flushedIds[index])));
      throw lostPart((files[result.lost[0] as number] as CheckedPart).partNumber);
    }
    hashed = result;
    onHashed?.(hashed.size - result.fromPrefix);
  } catch (error) {
    await discardStage();
    // Another complete may have finished and removed the parts under us, or an abort or a sweep
    // removed the upload (then a part reads as "not uploaded").
    return afterLostRace(layout, dir, scope, error);
  }

  if (!hashSatisfies(meta.hash, hashed.sha256)) {
    await discardStage();
    await rm(dir, { recursive: true, force: true, maxRetries: 3 });
    throw new DreamLakeError(
      'hash_mismatch',
      'the uploaded bytes do not match the signed SHA-256; the upload was discarded',
      {
        expected: meta.hash,
        actual: hashed.sha256,
      },
    );
  }

  const ref = { owner: meta.owner, project: meta.project, hash: hashed.sha256 };
  const pieces = hashed.sizes.map((size) => ({ size }));
  const manifest: BlobManifest = {
    ...ref,
    size: hashed.size,
    contentType: meta.contentType,
    createdAt: Date.now(),
    pieces,
  };
  // A piece whose file failed an fsync in this process, in any complete (Linux reports a failed
  // writeback to one fsync only, so this complete's may have succeeded), is not published: its
  // part is dropped, to be sent again.
  const unsafe = flushedIds.flatMap((id, index) => (flushFailed(id) ? [index] : []));
  if (unsafe.length > 0) {
    await discardStage();
    throw await dropUnflushed(dir, files, flushedIds, unsafe);
  }
  const published = await publishStage(layout, stage, manifest);
  const record: CompletedRecord = {
    sha256: hashed.sha256,
    createdAt: meta.createdAt,
    ...(meta.size !== undefined ? { size: meta.size } : {}),
    ...(meta.user !== undefined ? { user: meta.user } : {}),
  };
  await writeJsonAtomic(join(dir, COMPLETED), record).catch((error: unknown) => {
    if (!isMissing(error)) throw error;
  });
  await rm(join(dir, META), { force: true });
  // A part PUT racing this cleanup may add a file while a folder is removed: retried, not failed.
  await rm(join(dir, 'parts'), { recursive: true, force: true, maxRetries: 3 });
  await rm(join(dir, 'data'), { recursive: true, force: true, maxRetries: 3 });
  await rm(join(dir, HASHED), { recursive: true, force: true, maxRetries: 3 });
  return published;
}
