/** What the disk backend keeps on disk, as JSON. */
import type { CreateUploadInput } from '../storage.ts';
import { readJson } from './files.ts';

/** An upload as it was created. */
export interface UploadMeta extends CreateUploadInput {
  uploadId: string;
  /** Unix milliseconds. */
  createdAt: number;
}

/** Left in place of a completed upload until the sweep, so a second complete finds its blob. */
export interface CompletedRecord {
  sha256: string;
  createdAt: number;
  /** What the upload was bound to (see UploadMeta). */
  size?: number;
  user?: string;
}

/** Where `parts/{n}` points: the part's bare ETag (its data file is `data/{n}.{etag}`) and size. */
export interface PartRecord {
  etag: string;
  size: number;
}

/** A part pointer as an older BSS wrote it (its ETag was always the MD5). */
interface LegacyPartRecord {
  md5: string;
  size: number;
}

/** Reads a part pointer, of this version or an older one; null when there is none. */
export async function readPartRecord(path: string): Promise<PartRecord | null> {
  const record = await readJson<PartRecord | LegacyPartRecord>(path);
  if (!record) return null;
  return 'etag' in record ? record : { etag: record.md5, size: record.size };
}

/** A verified blob's facts; its bytes are its pieces, in order. */
export interface BlobManifest {
  owner: string;
  project: string;
  hash: string;
  size: number;
  contentType: string;
  createdAt: number;
  pieces: { size: number }[];
}
