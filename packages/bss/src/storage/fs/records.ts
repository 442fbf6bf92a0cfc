/** What the disk backend keeps on disk, as JSON. */

export interface UploadMeta {
  uploadId: string;
  owner: string;
  project: string;
  /** The signed SHA-256, or a legacy 16-hex prefix. */
  hash: string;
  contentType: string;
  filename?: string;
  size?: number;
  /** Unix milliseconds. */
  createdAt: number;
}

/** Left in place of a completed upload until the sweep, so a second complete finds its blob. */
export interface CompletedRecord {
  sha256: string;
  createdAt: number;
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
