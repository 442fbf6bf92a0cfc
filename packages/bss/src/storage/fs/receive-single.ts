import { createHash } from 'node:crypto';
import { mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { type Readable, Writable } from 'node:stream';
import { DreamLakeError } from '@dreamlake/presign';
import { MAX_PART_SIZE } from '@dreamlake/protocol';
import { copyBody } from '../body.ts';
import type { SingleUpload } from '../single-upload.ts';
import type { BlobInfo } from '../storage.ts';
import { statBlob } from './blobs.ts';
import { diskFull, tempName } from './files.ts';
import { blobPiece, type FsLayout } from './layout.ts';
import { publishFile, publishStage } from './publish.ts';
import type { BlobManifest } from './records.ts';
import { createSyncedFile } from './synced-file.ts';

function tooLarge(size: number): DreamLakeError {
  return new DreamLakeError('too_large', `the body is longer than the ${size} bytes this URL was signed for`, { size });
}

/** Reads a body to its end and drops it, refusing it past `limit` bytes. */
function discardBody(body: Readable, limit: number): Promise<void> {
  let size = 0;
  const sink = new Writable({ write: (_chunk, _encoding, callback) => callback() });
  return copyBody(body, sink, (chunk) => {
    size += chunk.length;
    if (size > limit) throw tooLarge(limit);
  });
}

/** Bodies up to this size are taken into memory and checked before anything touches the disk. */
const IN_MEMORY_BYTES = 256 * 1024;

/**
 * A body of exactly `size` bytes, in memory: refused as soon as it passes `size` (`too_large`),
 * when it ends short (`invalid_part`) or is cut off. As `copyBody` does, a refusal pauses the body
 * rather than destroying the socket, so the client still gets its answer.
 */
async function readBody(body: Readable, size: number): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let received = 0;
  const sink = new Writable({
    write: (chunk: Buffer, _encoding, callback) => {
      chunks.push(chunk);
      callback();
    },
  });
  await copyBody(body, sink, (chunk) => {
    received += chunk.length;
    if (received > size) throw tooLarge(size);
  });
  if (received < size) {
    throw new DreamLakeError('invalid_part', `the body has ${received} bytes; this URL was signed for ${size}`, {
      size,
    });
  }
  // A body that came in one chunk (the usual case for a small file) is used as it is.
  return chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks, received);
}

/**
 * A small single-shot body: read into memory and checked there, so a refused one never touches
 * the disk; then published as one file (see blob-file.ts). Whether the blob is already stored is
 * not asked first: a file's first upload is by far the common case, and a blob already there is
 * found when the link onto its path fails (it stands, and is the answer). A body that does not
 * match is answered by a stored blob too, as when the stored blob is looked up first.
 */
async function receiveSmall(layout: FsLayout, upload: SingleUpload, body: Readable): Promise<BlobInfo> {
  const bytes = await readBody(body, upload.size);
  const actual = createHash('sha256').update(bytes).digest('hex');
  const { owner, project, hash, size, contentType } = upload;
  if (actual !== hash) {
    const stored = await statBlob(layout, upload);
    if (stored) return stored;
    throw new DreamLakeError('hash_mismatch', 'the body does not match the signed SHA-256; nothing was kept', {
      expected: hash,
      actual,
    });
  }
  return publishFile(layout, { owner, project, hash, size, contentType, createdAt: Date.now() }, bytes);
}

/** Makes a staging folder, and the backend's temporary folder the first time (or after it was removed). */
async function makeStage(layout: FsLayout, stage: string): Promise<void> {
  try {
    await mkdir(stage);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    await mkdir(layout.tmpDir, { recursive: true });
    await mkdir(stage);
  }
}

/**
 * A single-shot upload on disk. The body streams into a private staging folder as piece 0 of a
 * blob, counted and hashed as it arrives (cut off as soon as it passes the signed size); only when
 * size and SHA-256 both match is the piece flushed and the folder published onto the blob's path,
 * the same way and in the same layout as a multipart complete. A refused body leaves nothing. A
 * small body is taken into memory instead, and reaches the disk, as one file, only once it is
 * verified.
 */
export async function receiveSingle(layout: FsLayout, upload: SingleUpload, body: Readable): Promise<BlobInfo> {
  if (!Number.isSafeInteger(upload.size) || upload.size < 0)
    throw new DreamLakeError('invalid_request', 'size must be a byte count');
  if (upload.size > MAX_PART_SIZE)
    throw new DreamLakeError('too_large', `a single-shot upload may be at most ${MAX_PART_SIZE} bytes`, {
      maxSize: MAX_PART_SIZE,
    });
  if (upload.size <= IN_MEMORY_BYTES) return receiveSmall(layout, upload, body);
  const ref = { owner: upload.owner, project: upload.project, hash: upload.hash };
  const existing = await statBlob(layout, ref);
  if (existing) {
    await discardBody(body, upload.size);
    return existing;
  }

  const stage = tempName(join(layout.tmpDir, `single-${upload.hash}`));
  const piece = blobPiece(stage, 0);
  const sha256 = createHash('sha256');
  let size = 0;
  try {
    await makeStage(layout, stage);
    // The piece is flushed as it is closed, before it is checked (a refused one is removed).
    await copyBody(body, createSyncedFile(piece), (chunk) => {
      size += chunk.length;
      if (size > upload.size) throw tooLarge(upload.size);
      sha256.update(chunk);
    });
    if (size < upload.size) {
      throw new DreamLakeError('invalid_part', `the body has ${size} bytes; this URL was signed for ${upload.size}`, {
        size: upload.size,
      });
    }
    const actual = sha256.digest('hex');
    if (actual !== upload.hash) {
      throw new DreamLakeError('hash_mismatch', 'the body does not match the signed SHA-256; nothing was kept', {
        expected: upload.hash,
        actual,
      });
    }
  } catch (error) {
    await rm(stage, { recursive: true, force: true });
    throw diskFull(error);
  }

  const manifest: BlobManifest = {
    ...ref,
    size,
    contentType: upload.contentType,
    createdAt: Date.now(),
    pieces: [{ size }],
  };
  return publishStage(layout, stage, manifest);
}
