import { createReadStream } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { DreamLakeError } from '@dreamlake/presign';
import type { BlobInfo, BlobRef, ByteRange } from '../storage.ts';
import { readBlobFileHead } from './blob-file.ts';
import { isMissing } from './files.ts';
import { BLOB_MANIFEST, blobPiece, type FsLayout } from './layout.ts';
import type { BlobManifest } from './records.ts';

const CHUNK = 1024 * 1024;

/** A stored blob: a folder of a manifest and pieces, or one file (`offset` then says where its bytes start). */
export interface BlobOnDisk {
  path: string;
  manifest: BlobManifest;
  offset?: number;
}

/** The blob's manifest, in whichever form it is stored; null when there is no such blob. */
export async function findBlob(layout: FsLayout, blob: BlobRef): Promise<BlobOnDisk | null> {
  const path = layout.blobPath(blob);
  try {
    return { path, manifest: JSON.parse(await readFile(join(path, BLOB_MANIFEST), 'utf8')) as BlobManifest };
  } catch (error) {
    // Not a folder: a blob kept in one file.
    if ((error as NodeJS.ErrnoException).code !== 'ENOTDIR') {
      if (isMissing(error)) return null;
      throw error;
    }
  }
  try {
    const { manifest, offset } = await readBlobFileHead(path);
    return { path, manifest: { ...manifest, pieces: [{ size: manifest.size }] }, offset };
  } catch (error) {
    if (isMissing(error)) return null;
    throw error;
  }
}

export async function statBlob(layout: FsLayout, blob: BlobRef): Promise<BlobInfo | null> {
  const found = await findBlob(layout, blob);
  if (!found) return null;
  const { size, contentType } = found.manifest;
  return { owner: blob.owner, project: blob.project, hash: blob.hash, size, contentType };
}

/** The blob's bytes (or an inclusive range of them), streamed piece after piece. */
export async function readBlob(layout: FsLayout, blob: BlobRef, range?: ByteRange): Promise<Readable> {
  const found = await findBlob(layout, blob);
  if (!found) throw new DreamLakeError('not_found', 'no such blob');
  const { path, manifest, offset: fileOffset } = found;
  const start = range?.start ?? 0;
  const end = range?.end ?? manifest.size - 1;
  // A file-form blob is its one piece, after the manifest line.
  const pieceAt = (index: number) =>
    fileOffset === undefined ? { file: blobPiece(path, index), base: 0 } : { file: path, base: fileOffset };
  async function* bytes() {
    let offset = 0;
    for (const [index, piece] of manifest.pieces.entries()) {
      const pieceStart = offset;
      offset += piece.size;
      if (offset <= start || pieceStart > end || piece.size === 0) continue;
      const from = Math.max(start, pieceStart) - pieceStart;
      const to = Math.min(end, offset - 1) - pieceStart;
      const { file, base } = pieceAt(index);
      yield* createReadStream(file, {
        start: base + from,
        end: base + to,
        highWaterMark: CHUNK,
      }) as AsyncIterable<Buffer>;
    }
  }
  return Readable.from(bytes(), { objectMode: false, highWaterMark: CHUNK });
}
