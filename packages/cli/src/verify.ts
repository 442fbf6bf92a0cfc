import type { Dirent } from 'node:fs';
import { lstat, readdir } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import type { IndexedFile, ServerApi } from './api.ts';
import { CliError } from './errors.ts';
import type { VersionedRef } from './target.ts';
import { HashCache, hashFile } from './upload/hash.ts';
import { choosePartSize } from './upload/plan.ts';
import { eachLimited } from './upload/pool.ts';
import { headVersion } from './versions.ts';

/** Files hashed at once. */
const HASH_AT_ONCE = 4;

/** Whether a folder holds exactly the files of a snapshot (or of a folder in it). */
export interface VerifyReport {
  namespace: string;
  space: string;
  /** The version compared with (head's when none was named; 0: a space without snapshots). */
  version: number;
  /** The folder of the space compared (`''`: the whole space; else a prefix ending in `/`). */
  prefix: string;
  /** The local folder. */
  folder: string;
  /** True when nothing is missing, extra or changed. */
  matches: boolean;
  /** Files of the version, and how many of them the folder holds the same. */
  files: number;
  same: number;
  /** Paths relative to the folder, in name order. */
  missing: string[];
  extra: string[];
  changed: string[];
}

interface LocalEntry {
  path: string;
  size: number;
  mtimeMs: number;
}

/**
 * Every regular file under `root` by its path relative to it (`/`-separated). Symbolic links and
 * other entries that are not regular files are left out (a name the version holds is then missing).
 */
async function localFiles(root: string): Promise<Map<string, LocalEntry>> {
  const out = new Map<string, LocalEntry>();
  const walk = async (folder: string, rel: string): Promise<void> => {
    let entries: Dirent[];
    try {
      entries = await readdir(folder, { withFileTypes: true });
    } catch (error) {
      if (rel === '')
        throw new CliError(
          `${root}: ${(error as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such folder' : (error as Error).message}`,
        );
      throw error;
    }
    for (const entry of entries) {
      const path = join(folder, entry.name);
      const name = rel === '' ? entry.name : `${rel}/${entry.name}`;
      if (entry.isDirectory()) await walk(path, name);
      else if (entry.isFile()) {
        const info = await lstat(path).catch(() => null);
        if (info?.isFile()) out.set(name, { path, size: info.size, mtimeMs: info.mtimeMs });
      }
    }
  };
  await walk(root, '');
  return out;
}

const byName = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

/**
 * Compares the folder `dir` with the files of `ref` at its version (head's when none) under its
 * path (a folder prefix): which files are missing from it, which it holds that the version does
 * not, and which differ (size, then SHA-256 through the hash cache: a file unchanged since it
 * was last hashed is not read again).
 */
export async function verifyFolder(
  api: ServerApi,
  home: string,
  ref: VersionedRef & { path: string },
  dir: string,
): Promise<VerifyReport> {
  const where = { namespace: ref.namespace, space: ref.space };
  const version = ref.version ?? (await headVersion(api, where));
  const prefix = ref.path === '' || ref.path.endsWith('/') ? ref.path : `${ref.path}/`;
  const remote: IndexedFile[] =
    version === 0 ? [] : (await api.listFiles(ref.namespace, ref.space, { prefix, version })).files;
  const folder = resolve(dir);
  const local = await localFiles(folder);
  const missing: string[] = [];
  const changed: string[] = [];
  const toHash: Array<{ name: string; file: IndexedFile; entry: LocalEntry }> = [];
  const wanted = new Set<string>();
  for (const file of remote) {
    // An older server that lists more than the prefix: kept to it here.
    if (!file.name.startsWith(prefix)) continue;
    const name = file.name.slice(prefix.length);
    wanted.add(name);
    const entry = local.get(name);
    if (!entry) missing.push(name);
    else if (entry.size !== file.size) changed.push(name);
    else toHash.push({ name, file, entry });
  }
  const cache = new HashCache(home);
  try {
    await eachLimited(toHash, HASH_AT_ONCE, async ({ name, file, entry }) => {
      const { digest } = await hashFile(cache, entry.path, choosePartSize(entry.size), undefined, 0, {
        size: entry.size,
        mtimeMs: entry.mtimeMs,
      });
      if (digest.sha256 !== file.hash) changed.push(name);
    });
  } finally {
    await cache.flush().catch(() => undefined);
  }
  const extra = [...local.keys()].filter((name) => !wanted.has(name));
  missing.sort(byName);
  extra.sort(byName);
  changed.sort(byName);
  return {
    ...where,
    version,
    prefix,
    folder,
    matches: missing.length === 0 && extra.length === 0 && changed.length === 0,
    files: wanted.size,
    same: wanted.size - missing.length - changed.length,
    missing,
    extra,
    changed,
  };
}
