import { isAbsolute, join, relative, resolve } from 'node:path';
import { DreamLakeError } from '@dreamlake/presign';
import { HASH_PATTERN, isUploadHash, NAME_PATTERN } from '../keys.ts';
import type { BlobRef } from '../storage.ts';

/** The disk backend's upload ids (also the nonce of their key). */
export const FS_UPLOAD_ID = /^[0-9a-f]{32}$/;

/** Whether `child` lies strictly inside `parent` (both resolved). */
export function isInside(parent: string, child: string): boolean {
  const rel = relative(parent, child);
  return rel !== '' && !rel.startsWith('..') && !isAbsolute(rel);
}

/**
 * Where everything lives under the backend's root folder. Every path built from request values
 * is checked by pattern and then for containment, so no name can climb out of the root.
 *
 *   uploads/{owner}/{project}/{hash}/{uploadId}/meta.json       an open upload
 *   uploads/{owner}/{project}/{hash}/{uploadId}/completed.json  a completed one (until swept)
 *   uploads/…/{uploadId}/parts/{n}                               part n: { etag, size }
 *   uploads/…/{uploadId}/data/{n}.{etag}                         part n's bytes
 *   uploads/…/{uploadId}/hashed/{n}.tmp-…                        links to the data files hashed as parts landed
 *   blobs/{owner}/{project}/{sha256}/manifest.json               a verified blob: size, type, pieces
 *   blobs/{owner}/{project}/{sha256}/{i}                         its pieces in order (the parts, hard-linked)
 *   tmp/                                                        blobs being staged by a complete or a single-shot upload
 */
export class FsLayout {
  readonly root: string;

  constructor(root: string) {
    this.root = resolve(root);
  }

  get uploadsDir(): string {
    return join(this.root, 'uploads');
  }

  get tmpDir(): string {
    return join(this.root, 'tmp');
  }

  private inside(...segments: string[]): string {
    const path = resolve(this.root, ...segments);
    if (!isInside(this.root, path)) throw new DreamLakeError('invalid_request', 'path escapes the storage root');
    return path;
  }

  uploadDir(owner: string, project: string, hash: string, uploadId: string): string {
    if (
      !NAME_PATTERN.test(owner) ||
      !NAME_PATTERN.test(project) ||
      !isUploadHash(hash) ||
      !FS_UPLOAD_ID.test(uploadId)
    ) {
      throw new DreamLakeError('invalid_request', 'malformed upload scope');
    }
    return this.inside('uploads', owner, project, hash, uploadId);
  }

  blobPath(blob: BlobRef): string {
    if (!NAME_PATTERN.test(blob.owner) || !NAME_PATTERN.test(blob.project) || !HASH_PATTERN.test(blob.hash)) {
      throw new DreamLakeError('invalid_request', 'malformed blob reference');
    }
    return this.inside('blobs', blob.owner, blob.project, blob.hash);
  }
}

export const META = 'meta.json';
export const COMPLETED = 'completed.json';

/** An upload's folder of links to the part data files its running SHA-256 read (see prefix-hash.ts). */
export const HASHED = 'hashed';

export function partPointer(dir: string, partNumber: number): string {
  return join(dir, 'parts', String(partNumber));
}

export const BLOB_MANIFEST = 'manifest.json';

/** Piece `index` (0-based) of a staged or published blob folder. */
export function blobPiece(blobDir: string, index: number): string {
  return join(blobDir, String(index));
}

/** A part's data file, named by the part's bare ETag: another body of the part is another file. */
export function partData(dir: string, partNumber: number, etag: string): string {
  return join(dir, 'data', `${partNumber}.${etag}`);
}
