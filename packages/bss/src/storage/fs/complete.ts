import { createHash } from 'node:crypto';
import { mkdir, open, rename, rm, type FileHandle } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { DreamLakeError, HashMismatchError, NotFoundError } from '@dreamlake/presign';
import { bareEtag, hashSatisfies } from '../keys.ts';
import { MIN_PART_SIZE, type BlobInfo, type CompletedPart } from '../storage.ts';
import { isMissing, readJson, tempName, writeJsonAtomic } from './files.ts';
import { COMPLETED, META, partData, partPointer, type FsLayout } from './layout.ts';
import type { BlobMeta, CompletedRecord, PartRecord, UploadMeta } from './records.ts';
import { statBlob } from './blobs.ts';

const CHUNK = 1024 * 1024;

/** The listed parts' files, after checking each exists, matches its ETag and is big enough. */
async function checkedPartFiles(dir: string, parts: readonly CompletedPart[]): Promise<string[]> {
  const records: PartRecord[] = [];
  for (const part of parts) {
    const record = await readJson<PartRecord>(partPointer(dir, part.partNumber));
    if (!record) throw new DreamLakeError('invalid_part', `InvalidPart: part ${part.partNumber} was not uploaded`);
    if (bareEtag(part.etag) !== record.md5) {
      throw new DreamLakeError('invalid_part', `InvalidPart: part ${part.partNumber} has ETag "${record.md5}", not ${part.etag}`);
    }
    records.push(record);
  }
  records.forEach((record, index) => {
    if (index < records.length - 1 && record.size < MIN_PART_SIZE) {
      const n = parts[index]?.partNumber;
      throw new DreamLakeError('entity_too_small', `EntityTooSmall: part ${n} is ${record.size} bytes; every part but the last needs ${MIN_PART_SIZE}`);
    }
  });
  return parts.map((part, index) => partData(dir, part.partNumber, (records[index] as PartRecord).md5));
}

/** Writes all of `chunk` at the file's current position (a write may be partial). */
async function writeAll(out: FileHandle, chunk: Buffer): Promise<void> {
  let offset = 0;
  while (offset < chunk.length) {
    const { bytesWritten } = await out.write(chunk, offset, chunk.length - offset, null);
    offset += bytesWritten;
  }
}

/**
 * Concatenates the files into `target` and answers the SHA-256 and size. Two fixed buffers take
 * turns: one is written while the next is read and hashed, so memory stays at 2 MiB whatever
 * the size.
 */
async function assemble(files: readonly string[], target: string): Promise<{ sha256: string; size: number }> {
  const hash = createHash('sha256');
  const buffers = [Buffer.allocUnsafe(CHUNK), Buffer.allocUnsafe(CHUNK)] as const;
  let turn = 0;
  let size = 0;
  const out = await open(target, 'wx');
  let writing: Promise<unknown> = Promise.resolve();
  try {
    for (const file of files) {
      const input = await open(file, 'r');
      try {
        for (;;) {
          const buffer = buffers[turn] as Buffer;
          turn ^= 1;
          const { bytesRead } = await input.read(buffer, 0, CHUNK, null);
          if (bytesRead === 0) break;
          const chunk = buffer.subarray(0, bytesRead);
          hash.update(chunk);
          size += bytesRead;
          await writing;
          writing = writeAll(out, chunk);
        }
      } finally {
        await input.close();
      }
    }
    await writing;
  } finally {
    await writing.catch(() => undefined);
    await out.close();
  }
  return { sha256: hash.digest('hex'), size };
}

async function alreadyCompleted(layout: FsLayout, dir: string, meta: Pick<UploadMeta, 'owner' | 'project'>): Promise<BlobInfo | null> {
  const done = await readJson<CompletedRecord>(join(dir, COMPLETED));
  if (!done) return null;
  const blob = await statBlob(layout, { owner: meta.owner, project: meta.project, hash: done.sha256 });
  if (!blob) throw new NotFoundError('the upload was completed but its blob is gone');
  return blob;
}

/**
 * Completes an upload without any lock: each caller assembles into its own temporary file, and
 * publishing is a rename onto the blob's content-addressed path, so concurrent completes of one
 * upload or of one hash (in any process) all end with the same verified blob.
 */
export async function completeUpload(
  layout: FsLayout,
  dir: string,
  scope: { owner: string; project: string },
  parts: readonly CompletedPart[],
): Promise<BlobInfo> {
  const previous = await alreadyCompleted(layout, dir, scope);
  if (previous) return previous;
  const meta = await readJson<UploadMeta>(join(dir, META));
  if (!meta) throw new NotFoundError('NoSuchUpload: the upload is unknown, aborted or swept');
  if (parts.length === 0) throw new DreamLakeError('invalid_part', 'a complete needs at least one part');

  await mkdir(layout.tmpDir, { recursive: true });
  const tmp = tempName(join(layout.tmpDir, meta.uploadId));
  let assembled: { sha256: string; size: number };
  try {
    const files = await checkedPartFiles(dir, parts);
    assembled = await assemble(files, tmp);
  } catch (error) {
    await rm(tmp, { force: true });
    // Another complete of this upload may have finished and removed the parts under us.
    if (isMissing(error)) {
      const done = await alreadyCompleted(layout, dir, scope);
      if (done) return done;
    }
    throw error;
  }

  if (!hashSatisfies(meta.hash, assembled.sha256)) {
    await rm(tmp, { force: true });
    await rm(dir, { recursive: true, force: true });
    throw new HashMismatchError('the uploaded bytes do not match the signed SHA-256; the upload was discarded', {
      expected: meta.hash,
      actual: assembled.sha256,
    });
  }

  const ref = { owner: meta.owner, project: meta.project, hash: assembled.sha256 };
  const blobPath = layout.blobPath(ref);
  const blobMeta: BlobMeta = { ...ref, size: assembled.size, contentType: meta.contentType, createdAt: Date.now() };
  try {
    await mkdir(dirname(blobPath), { recursive: true });
    // The facts first, then the bytes: a blob is visible only once its data file exists.
    await writeJsonAtomic(`${blobPath}.json`, blobMeta);
    await rename(tmp, blobPath);
  } catch (error) {
    await rm(tmp, { force: true });
    throw error;
  }
  const record: CompletedRecord = { sha256: assembled.sha256, createdAt: meta.createdAt };
  await writeJsonAtomic(join(dir, COMPLETED), record).catch((error: unknown) => {
    if (!isMissing(error)) throw error;
  });
  await rm(join(dir, META), { force: true });
  await rm(join(dir, 'parts'), { recursive: true, force: true });
  await rm(join(dir, 'data'), { recursive: true, force: true });
  return { ...ref, size: assembled.size, contentType: meta.contentType };
}
