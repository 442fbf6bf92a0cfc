import { readdir, rename, rm, rmdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { isMissing, readJson, tempName } from './files.ts';
import { COMPLETED, META, type FsLayout } from './layout.ts';

async function entries(dir: string): Promise<string[]> {
  try {
    return await readdir(dir);
  } catch (error) {
    if (isMissing(error)) return [];
    throw error;
  }
}

/** When the upload in `dir` was started (completed ones keep their start time), or null. */
async function startedAt(dir: string): Promise<number | null> {
  const record = (await readJson<{ createdAt?: number }>(join(dir, META))) ?? (await readJson<{ createdAt?: number }>(join(dir, COMPLETED)));
  if (typeof record?.createdAt === 'number') return record.createdAt;
  try {
    return (await stat(dir)).mtimeMs;
  } catch (error) {
    if (isMissing(error)) return null;
    throw error;
  }
}

/**
 * Removes every upload started before `olderThan` (open ones count; completed ones are only
 * tombstones and are removed silently), leftovers of interrupted assemblies, and then-empty
 * folders. Answers how many open uploads it removed.
 */
export async function sweepUploads(layout: FsLayout, olderThan: Date): Promise<number> {
  const limit = olderThan.getTime();
  let removed = 0;
  const root = layout.uploadsDir;
  for (const owner of await entries(root)) {
    for (const project of await entries(join(root, owner))) {
      for (const hash of await entries(join(root, owner, project))) {
        const hashDir = join(root, owner, project, hash);
        for (const id of await entries(hashDir)) {
          const dir = join(hashDir, id);
          const started = await startedAt(dir);
          if (started === null || started >= limit) continue;
          const open = (await readJson(join(dir, META))) !== null;
          await rm(dir, { recursive: true, force: true });
          if (open) removed += 1;
        }
        for (const dir of [hashDir, join(root, owner, project), join(root, owner)]) {
          await rmdir(dir).catch(() => undefined);
        }
      }
    }
  }
  for (const name of await entries(layout.tmpDir)) {
    const path = join(layout.tmpDir, name);
    const info = await stat(path).catch(() => null);
    if (!info || info.mtimeMs >= limit) continue;
    // Claimed by a rename before it is removed: a complete still publishing this stage then finds
    // it gone as a whole, instead of renaming a half-removed folder onto the blob's path.
    const claimed = tempName(join(layout.tmpDir, 'swept'));
    try {
      await rename(path, claimed);
    } catch (error) {
      if (isMissing(error)) continue;
      throw error;
    }
    await rm(claimed, { recursive: true, force: true });
  }
  return removed;
}
