import { open, stat } from 'node:fs/promises';
import type { Readable } from 'node:stream';
import { NotFoundError } from '@dreamlake/presign';
import type { BlobInfo, BlobRef, ByteRange } from '../storage.ts';
import { isMissing, readJson } from './files.ts';
import type { FsLayout } from './layout.ts';
import type { BlobMeta } from './records.ts';

export async function statBlob(layout: FsLayout, blob: BlobRef): Promise<BlobInfo | null> {
  const path = layout.blobPath(blob);
  try {
    const [facts, meta] = await Promise.all([stat(path), readJson<BlobMeta>(`${path}.json`)]);
    if (!meta) return null;
    return { owner: blob.owner, project: blob.project, hash: blob.hash, size: facts.size, contentType: meta.contentType };
  } catch (error) {
    if (isMissing(error)) return null;
    throw error;
  }
}

export async function readBlob(layout: FsLayout, blob: BlobRef, range?: ByteRange): Promise<Readable> {
  const path = layout.blobPath(blob);
  try {
    const handle = await open(path, 'r');
    return handle.createReadStream({ start: range?.start, end: range?.end, highWaterMark: 1024 * 1024 });
  } catch (error) {
    if (isMissing(error)) throw new NotFoundError('no such blob');
    throw error;
  }
}
