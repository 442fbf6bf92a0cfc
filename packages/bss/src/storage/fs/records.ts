/** What the disk backend keeps on disk, as JSON. */
import type { CreateUploadInput } from '../storage.ts';

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

export interface PartRecord {
  md5: string;
  size: number;
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
