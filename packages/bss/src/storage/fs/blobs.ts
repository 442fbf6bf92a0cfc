import { createReadStream } from 'node:fs';
import { Readable } from 'node:stream';
import { NotFoundError } from '@dreamlake/presign';
import type { BlobInfo, BlobRef, ByteRange } from '../storage.ts';
import { readJson } from './files.ts';
import { BLOB_MANIFEST, blobPiece, type FsLayout } from './layout.ts';
import type { BlobManifest } from './records.ts';

const CHUNK = 1024 * 1024;

async function manifestOf(layout: FsLayout, blob: BlobRef): Promise<{ dir: string; manifest: BlobManifest } | null> {
  const dir = layout.blobPath(blob);
  const manifest = await readJson<BlobManifest>(`${dir}/${BLOB_MANIFEST}`);
  return manifest ? { dir, manifest } : null;
}

export async function statBlob(layout: FsLayout, blob: BlobRef): Promise<BlobInfo | null> {
  const found = await manifestOf(layout, blob);
  if (!found) return null;
  const { size, contentType } = found.manifest;
  return { owner: blob.owner, project: blob.project, hash: blob.hash, size, contentType };
}

/** The blob's bytes (or an inclusive range of them), streamed piece after piece. */
export async function readBlob(layout: FsLayout, blob: BlobRef, range?: ByteRange): Promise<Readable> {
  const found = await manifestOf(layout, blob);
  if (!found) throw new NotFoundError('no such blob');
  const { dir, manifest } = found;
  const start = range?.start ?? 0;
  const end = range?.end ?? manifest.size - 1;
  async function* bytes() {
    let offset = 0;
    for (const [index, piece] of manifest.pieces.entries()) {
      const pieceStart = offset;
      offset += piece.size;
      if (offset <= start || pieceStart > end || piece.size === 0) continue;
      const from = Math.max(start, pieceStart) - pieceStart;
      const to = Math.min(end, offset - 1) - pieceStart;
      yield* createReadStream(blobPiece(dir, index), {
        start: from,
        end: to,
        highWaterMark: CHUNK,
      }) as AsyncIterable<Buffer>;
    }
  }
  return Readable.from(bytes(), { objectMode: false, highWaterMark: CHUNK });
}
