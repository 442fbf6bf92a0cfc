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

/**
 * Where `parts/{n}` points: the part's bare ETag (its data file is `data/{n}.{etag}`) and size,
 * with the CRC-32 of its bytes (base64) and, for a part acknowledged before it was flushed to the
 * disk, which backend instance wrote it (`writtenBy`): an instance trusts the bytes of its own
 * parts, and checks any other's against `crc32` before it lists or assembles it (a stop that lost
 * what the page cache held may have left the file short or wrong). A record without `writtenBy`
 * (an older BSS flushed every part before recording it) is durable as it stands.
 */
export interface PartRecord {
  etag: string;
  size: number;
  crc32?: string;
  writtenBy?: string;
}

/** A part pointer as an older BSS wrote it (its ETag was always the MD5). */
interface LegacyPartRecord {
  md5: string;
  size: number;
}

/**
 * Reads a part pointer, of this version or an older one; null when there is none, or when what
 * is there is not a whole record (pointers are not flushed: an unclean stop may leave one empty
 * or cut short, and the part is then as good as never received).
 */
export async function readPartRecord(path: string): Promise<PartRecord | null> {
  let record: PartRecord | LegacyPartRecord | null;
  try {
    record = await readJson<PartRecord | LegacyPartRecord>(path);
  } catch (error) {
    if (error instanceof SyntaxError) return null;
    throw error;
  }
  if (!record || typeof record !== 'object' || typeof record.size !== 'number') return null;
  if ('etag' in record) return typeof record.etag === 'string' ? record : null;
  return typeof record.md5 === 'string' ? { etag: record.md5, size: record.size } : null;
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
