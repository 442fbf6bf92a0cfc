import { readdir, rename, rm, rmdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { isMissing, readJson, tempName } from './files.ts';
import { COMPLETED, type FsLayout, META } from './layout.ts';

async function entries(dir: string): Promise<string[]> {
  try {
    return await readdir(dir);
  } catch (error) {
    if (isMissing(error)) return [];
    throw error;
  }
}

function isBusy(error: unknown): boolean {
  const code = (error as NodeJS.ErrnoException | null)?.code;
  return code === 'ENOTEMPTY' || code === 'EEXIST' || code === 'EBUSY';
}

/**
 * When the upload in `dir` was last active: the latest change to its records, parts and part
 * bodies (a long upload that still receives parts is not stale), or null when it is gone.
 */
async function lastActivity(dir: string): Promise<number | null> {
  const mtime = (path: string) =>
    stat(path).then(
      (info) => info.mtimeMs,
      () => 0,
    );
  const own = await mtime(dir);
  if (own === 0) return null;
  const times = [own, await mtime(join(dir, META)), await mtime(join(dir, COMPLETED))];
  for (const sub of ['parts', 'data']) {
    times.push(await mtime(join(dir, sub)));
    for (const name of await entries(join(dir, sub))) times.push(await mtime(join(dir, sub, name)));
  }
  return Math.max(...times);
}

/** How a sweep removes a folder and all below it (a seam for tests). */
export type RemoveTree = (path: string) => Promise<void>;
const removeTree: RemoveTree = (path) => rm(path, { recursive: true, force: true });

/**
 * Removes every upload last active before `olderThan` (open ones count; completed ones are only
 * tombstones and are removed silently), leftovers of interrupted assemblies, and then-empty
 * folders. Answers how many open uploads it removed. An upload written to while it is removed (a
 * late complete or part makes a file in it: ENOTEMPTY) is left for the next pass, and the pass
 * goes on with the others.
 */
export async function sweepUploads(
  layout: FsLayout,
  olderThan: Date,
  remove: RemoveTree = removeTree,
): Promise<number> {
  const limit = olderThan.getTime();
  let removed = 0;
  const root = layout.uploadsDir;
  for (const owner of await entries(root)) {
    for (const project of await entries(join(root, owner))) {
      for (const hash of await entries(join(root, owner, project))) {
        const hashDir = join(root, owner, project, hash);
        for (const id of await entries(hashDir)) {
          const dir = join(hashDir, id);
          const active = await lastActivity(dir);
          if (active === null || active >= limit) continue;
          const open = (await readJson(join(dir, META))) !== null;
          try {
            await remove(dir);
          } catch (error) {
            if (isBusy(error)) continue;
            throw error;
          }
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
