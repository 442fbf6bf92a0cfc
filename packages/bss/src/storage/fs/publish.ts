import { mkdir, rename, rm } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { NotFoundError } from '@dreamlake/presign';
import type { BlobInfo } from '../storage.ts';
import { statBlob } from './blobs.ts';
import { DirSyncer } from './dir-sync.ts';
import { diskFull, isMissing, syncPath, writeFileSynced } from './files.ts';
import { BLOB_MANIFEST, type FsLayout } from './layout.ts';
import type { BlobManifest } from './records.ts';
import { writeSyncedFile } from './synced-file.ts';

/** Folders of one process's blobs flushed together when many are published at once. */
const folders = new DirSyncer();

/**
 * Parent folders known to exist (a space's blob folder, once made, stays): creating them again
 * for every blob is a system call each. Bounded; forgetting one only costs that call again.
 */
const madeFolders = new Set<string>();
const MADE_FOLDERS_KEPT = 10_000;

async function ensureFolder(dir: string): Promise<void> {
  if (madeFolders.has(dir)) return;
  await mkdir(dir, { recursive: true });
  if (madeFolders.size >= MADE_FOLDERS_KEPT) madeFolders.clear();
  madeFolders.add(dir);
}

function alreadyExists(error: unknown): boolean {
  const code = (error as NodeJS.ErrnoException | null)?.code;
  return code === 'ENOTEMPTY' || code === 'EEXIST';
}

/** Renames, making the parent folder again if it was removed since it was last made (e.g. emptied and removed). */
async function renameInto(from: string, to: string): Promise<void> {
  try {
    await rename(from, to);
  } catch (error) {
    if (!isMissing(error) || !madeFolders.has(dirname(to))) throw error;
    madeFolders.delete(dirname(to));
    await ensureFolder(dirname(to));
    await rename(from, to);
  }
}

/**
 * Publishes a staged blob folder (its pieces, verified) by writing its manifest and renaming the
 * folder onto the blob's content-addressed path, after both reached the disk. `unsynced` names
 * pieces not flushed yet, and `fresh` pieces still in memory: they are written and flushed
 * together with the manifest (the stage is private until the rename, so none needs a rename of
 * its own). When the blob is already there (another
 * complete or single-shot upload of the same hash, in any process, got there first) the stage is
 * removed and that blob stands (and is the answer): both hold the same verified bytes. Throws
 * NotFoundError when a sweep claimed the stage meanwhile (it renames a stale stage away first, so
 * the rename here fails whole).
 */
export async function publishStage(
  layout: FsLayout,
  stage: string,
  manifest: BlobManifest,
  unsynced: readonly string[] = [],
  fresh: ReadonlyArray<{ path: string; bytes: Buffer }> = [],
): Promise<BlobInfo> {
  const blobDir = layout.blobPath(manifest);
  try {
    await Promise.all([
      writeFileSynced(join(stage, BLOB_MANIFEST), JSON.stringify(manifest)),
      ...unsynced.map((piece) => syncPath(piece)),
      ...fresh.map((piece) => writeSyncedFile(piece.path, piece.bytes)),
      ensureFolder(dirname(blobDir)),
    ]);
    await syncPath(stage);
    await renameInto(stage, blobDir);
    await folders.sync(dirname(blobDir));
    const { owner, project, hash, size, contentType } = manifest;
    return { owner, project, hash, size, contentType };
  } catch (error) {
    await rm(stage, { recursive: true, force: true });
    if (isMissing(error)) throw new NotFoundError('the staged blob was swept before it was published');
    if (!alreadyExists(error)) throw diskFull(error);
  }
  // Another upload of the same hash published first: its blob is the answer.
  const stored = await statBlob(layout, manifest);
  if (!stored) throw new NotFoundError('the blob vanished after it was published');
  return stored;
}
