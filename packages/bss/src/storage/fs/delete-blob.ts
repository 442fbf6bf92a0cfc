import { mkdir, rename, rm, stat } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type { BlobDeletion, BlobRef } from '../storage.ts';
import { findBlob } from './blobs.ts';
import { isMissing, syncPath, tempName } from './files.ts';
import { BLOB_MANIFEST, type FsLayout } from './layout.ts';

/**
 * When the blob was published: the later of its manifest's `createdAt` and the manifest file's
 * own time (it is written just before the blob is renamed or linked into place).
 */
async function publishedAt(layout: FsLayout, blob: BlobRef): Promise<number | null> {
  const found = await findBlob(layout, blob);
  if (!found) return null;
  const manifestFile = found.offset === undefined ? join(found.path, BLOB_MANIFEST) : found.path;
  const info = await stat(manifestFile).catch(() => null);
  if (!info) return null;
  return Math.max(found.manifest.createdAt ?? 0, info.mtimeMs);
}

/**
 * Deletes a blob published before `publishedBefore`. The blob (folder or file) is first renamed away into
 * `tmp/` (one step), so a reader or a publisher of the same hash sees the whole blob or none of
 * it, then removed.
 */
export async function deleteBlob(layout: FsLayout, blob: BlobRef, publishedBefore: Date): Promise<BlobDeletion> {
  const dir = layout.blobPath(blob);
  const published = await publishedAt(layout, blob);
  if (published === null) return 'absent';
  if (published >= publishedBefore.getTime()) return 'recent';
  await mkdir(layout.tmpDir, { recursive: true });
  const claimed = tempName(join(layout.tmpDir, `collected-${blob.hash}`));
  try {
    await rename(dir, claimed);
  } catch (error) {
    if (isMissing(error)) return 'absent';
    throw error;
  }
  await syncPath(dirname(dir));
  await rm(claimed, { recursive: true, force: true });
  return 'deleted';
}
