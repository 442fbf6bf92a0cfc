import { mkdir, rename, rm, stat } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type { BlobDeletion, BlobRef } from '../storage.ts';
import { isMissing, readJson, syncPath, tempName } from './files.ts';
import { BLOB_MANIFEST, type FsLayout } from './layout.ts';
import type { BlobManifest } from './records.ts';

/**
 * When the blob in `dir` was published: the later of its manifest's `createdAt` and the
 * manifest file's own time (it is written just before the folder is renamed into place).
 */
async function publishedAt(dir: string): Promise<number | null> {
  const path = join(dir, BLOB_MANIFEST);
  const manifest = await readJson<BlobManifest>(path);
  if (!manifest) return null;
  const info = await stat(path).catch(() => null);
  if (!info) return null;
  return Math.max(manifest.createdAt ?? 0, info.mtimeMs);
}

/**
 * Deletes a blob published before `publishedBefore`. The folder is first renamed away into
 * `tmp/` (one step), so a reader or a publisher of the same hash sees the whole blob or none of
 * it, then removed.
 */
export async function deleteBlob(layout: FsLayout, blob: BlobRef, publishedBefore: Date): Promise<BlobDeletion> {
  const dir = layout.blobPath(blob);
  const published = await publishedAt(dir);
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
