import { link, mkdir, rename, rm, unlink } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { DreamLakeError } from '@dreamlake/presign';
import type { BlobInfo, BlobRef } from '../storage.ts';
import { type FileBlobManifest, writeBlobFile } from './blob-file.ts';
import { statBlob } from './blobs.ts';
import { DirSyncer } from './dir-sync.ts';
import { diskFull, isMissing, syncPath, tempName, writeFileSynced } from './files.ts';
import { BLOB_MANIFEST, type FsLayout } from './layout.ts';
import type { BlobManifest } from './records.ts';

/** Folders of one process's blobs flushed together when many are published at once. */
const folders = new DirSyncer();

/**
 * Parent folders known to exist (a space's blob folder, once made, stays): creating them again
 * for every blob is a system call each. Bounded; forgetting one only costs that call again.
 */
const madeFolders = new Set<string>();
const MADE_FOLDERS_KEPT = 10_000;

/**
 * Makes `dir` and its missing parents. Folders it creates are flushed into their parents too: a
 * blob's own entry is flushed after it is published, and would be lost with a new space folder
 * whose entry was not.
 */
async function ensureFolder(dir: string): Promise<void> {
  if (madeFolders.has(dir)) return;
  const first = await mkdir(dir, { recursive: true });
  if (first !== undefined) {
    const created: string[] = [];
    for (let at = dir; at.length >= first.length; at = dirname(at)) created.push(dirname(at));
    await Promise.all(created.map((parent) => folders.sync(parent)));
  }
  if (madeFolders.size >= MADE_FOLDERS_KEPT) madeFolders.clear();
  madeFolders.add(dir);
}

/**
 * Whether a rename or link failed because the blob's path is taken: by a folder (ENOTEMPTY,
 * EEXIST) or, for a folder renamed there, by a file-form blob (ENOTDIR; the parents are folders
 * this backend made).
 */
function alreadyExists(error: unknown): boolean {
  const code = (error as NodeJS.ErrnoException | null)?.code;
  return code === 'ENOTEMPTY' || code === 'EEXIST' || code === 'ENOTDIR';
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
 * Publishes a staged blob folder (its pieces, verified and flushed) by writing its manifest and
 * renaming the folder onto the blob's content-addressed path, after both reached the disk. When
 * the blob is already there (another complete or single-shot upload of the same hash, in any
 * process, got there first) the stage is removed and that blob stands (and is the answer): both
 * hold the same verified bytes. Throws `not_found` when a sweep claimed the stage meanwhile (it
 * renames a stale stage away first, so the rename here fails whole).
 */
export async function publishStage(layout: FsLayout, stage: string, manifest: BlobManifest): Promise<BlobInfo> {
  const blobDir = layout.blobPath(manifest);
  try {
    await Promise.all([
      writeFileSynced(join(stage, BLOB_MANIFEST), JSON.stringify(manifest)),
      ensureFolder(dirname(blobDir)),
    ]);
    await syncPath(stage);
    await renameInto(stage, blobDir);
    await folders.sync(dirname(blobDir));
    const { owner, project, hash, size, contentType } = manifest;
    return { owner, project, hash, size, contentType };
  } catch (error) {
    await rm(stage, { recursive: true, force: true });
    if (!alreadyExists(error)) {
      if (isMissing(error)) throw new DreamLakeError('not_found', 'the staged blob was swept before it was published');
      throw diskFull(error);
    }
  }
  return publishedMeanwhile(layout, manifest, blobDir);
}

/**
 * The blob another upload of the same hash published first (in any process), once its entry is
 * on the disk: that upload may still be waiting for its folder's flush, and this one must not
 * answer before it.
 */
async function publishedMeanwhile(layout: FsLayout, ref: BlobRef, blobPath: string): Promise<BlobInfo> {
  await folders.sync(dirname(blobPath));
  const stored = await statBlob(layout, ref);
  if (!stored) throw new DreamLakeError('not_found', 'the blob vanished after it was published');
  return stored;
}

/**
 * Publishes a small verified blob held in memory as one file (see blob-file.ts): written and
 * flushed under `tmp/`, hard-linked onto the blob's path (a link, unlike a rename, never replaces
 * a blob already there), its folder flushed (shared with the blobs published beside it at the
 * same time), and the temporary name removed. When the path is taken, that blob stands and is the
 * answer. A failure leaves nothing visible.
 */
export async function publishFile(layout: FsLayout, manifest: FileBlobManifest, bytes: Buffer): Promise<BlobInfo> {
  const blobPath = layout.blobPath(manifest);
  const temp = tempName(join(layout.tmpDir, `single-${manifest.hash}`));
  let taken = false;
  try {
    await settleAll([writeInTmp(layout, temp, manifest, bytes), ensureFolder(dirname(blobPath))]);
    await linkInto(temp, blobPath);
  } catch (error) {
    if (!alreadyExists(error)) {
      await unlinkQuietly(temp);
      throw diskFull(error);
    }
    taken = true;
  }
  // The blob's path holds the file now (or another upload's blob): the temporary name goes.
  if (taken) {
    await unlinkQuietly(temp);
    return publishedMeanwhile(layout, manifest, blobPath);
  }
  // A failed flush is answered as an error (the blob is not known to be on the disk); the blob
  // stays, whole and verified, since another upload of it may already have been answered.
  await Promise.all([
    unlinkQuietly(temp),
    folders.sync(dirname(blobPath)).catch((error: unknown) => {
      throw diskFull(error);
    }),
  ]);
  const { owner, project, hash, size, contentType } = manifest;
  return { owner, project, hash, size, contentType };
}

/** Writes the blob file under `tmp/`, making `tmp/` the first time (or after it was removed). */
async function writeInTmp(layout: FsLayout, temp: string, manifest: FileBlobManifest, bytes: Buffer): Promise<void> {
  try {
    await writeBlobFile(temp, manifest, bytes);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    await mkdir(layout.tmpDir, { recursive: true });
    await writeBlobFile(temp, manifest, bytes);
  }
}

/** Links, making the parent folder again if it was removed since it was last made. */
async function linkInto(from: string, to: string): Promise<void> {
  try {
    await link(from, to);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT' || !madeFolders.has(dirname(to))) throw error;
    madeFolders.delete(dirname(to));
    await ensureFolder(dirname(to));
    await link(from, to);
  }
}

/** Waits for every step, then fails with the first failure: nothing is still writing when the caller cleans up. */
async function settleAll(steps: Promise<unknown>[]): Promise<void> {
  const failed = (await Promise.allSettled(steps)).find((step) => step.status === 'rejected');
  if (failed) throw failed.reason;
}

async function unlinkQuietly(path: string): Promise<void> {
  await unlink(path).catch(() => undefined);
}
