import { randomBytes } from 'node:crypto';
import type { BigIntStats } from 'node:fs';
import { open, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { DreamLakeError } from '@dreamlake/presign';

export function isMissing(error: unknown): boolean {
  const code = (error as NodeJS.ErrnoException | null)?.code;
  return code === 'ENOENT' || code === 'ENOTDIR';
}

/**
 * A file's identity (`dev:ino:birthtime`): the same for every hard link of one file, another for
 * a new file of the same name, even one given a removed file's inode number (where the file
 * system keeps birth times).
 */
export function fileIdOf(info: BigIntStats): string {
  return `${info.dev}:${info.ino}:${info.birthtimeNs}`;
}

/** Disk-full errors become `storage_unavailable` (503); anything else passes unchanged. */
export function diskFull(error: unknown): unknown {
  const code = (error as NodeJS.ErrnoException | null)?.code;
  if (code === 'ENOSPC' || code === 'EDQUOT')
    return new DreamLakeError('storage_unavailable', 'the storage is full', undefined, { cause: error });
  return error;
}

/** A name for a temporary file beside `path`, unique across processes. */
export function tempName(path: string): string {
  return `${path}.tmp-${process.pid}-${randomBytes(6).toString('hex')}`;
}

/**
 * Flushes a file's (or a folder's) contents to the disk, so that a rename that publishes it
 * cannot survive a crash that its bytes do not.
 */
export async function syncPath(path: string): Promise<void> {
  const handle = await open(path, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/** Creates a file with `data` and flushes it to the disk (it must not exist yet). */
export async function writeFileSynced(path: string, data: string): Promise<void> {
  const handle = await open(path, 'wx');
  try {
    await handle.writeFile(data);
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/** Writes JSON so that readers see the old file or the new one, never half of one, even after a crash. */
export async function writeJsonAtomic(path: string, value: unknown): Promise<void> {
  const tmp = tempName(path);
  try {
    const handle = await open(tmp, 'wx');
    try {
      await handle.writeFile(JSON.stringify(value));
      await handle.sync();
    } finally {
      await handle.close();
    }
    await rename(tmp, path);
    // The rename itself lives in the folder: flushed too, or a crash may forget the file.
    await syncPath(dirname(path));
  } catch (error) {
    await rm(tmp, { force: true });
    throw error;
  }
}

/**
 * Replaces a small JSON file through a rename, without flushing: readers see the old file or the
 * new one while the machine runs, but an unclean stop may leave either, or an empty or cut-off
 * file, so its readers must take a file that does not parse as absent.
 */
export async function writeJsonUnflushed(path: string, value: unknown): Promise<void> {
  const tmp = tempName(path);
  try {
    await writeFile(tmp, JSON.stringify(value), { flag: 'wx' });
    await rename(tmp, path);
  } catch (error) {
    await rm(tmp, { force: true });
    throw error;
  }
}

/** The parsed JSON file, or null when it does not exist. */
export async function readJson<T>(path: string): Promise<T | null> {
  try {
    return JSON.parse(await readFile(path, 'utf8')) as T;
  } catch (error) {
    if (isMissing(error)) return null;
    throw error;
  }
}
