import { resolve } from 'node:path';
import type { IndexedFile, ServerApi } from './api.ts';
import type { GlobRule } from './filters/globs.ts';
import type { VersionedRef } from './target.ts';
import { HashCache } from './transfer/hash-cache.ts';
import { hashFile } from './transfer/hash-file.ts';
import { choosePartSize } from './transfer/plan.ts';
import { eachLimited } from './transfer/pool.ts';
import { collectFolder, walkExcludes } from './upload/files.ts';
import type { LocalFile } from './upload/types.ts';
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
  /** Files of the version left out of the comparison: the walk's filters leave out their names. */
  ignored: number;
  /** Paths relative to the folder, in name order. */
  missing: string[];
  extra: string[];
  changed: string[];
}

/** What the folder walk leaves out, as `upload` and `sync` do (default: the default list and `.dreamlakeignore` files). */
export interface VerifyOptions {
  rules?: GlobRule[];
  defaultIgnores?: boolean;
  followSymlinks?: boolean;
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
  options: VerifyOptions = {},
): Promise<VerifyReport> {
  const where = { namespace: ref.namespace, space: ref.space };
  const version = ref.version ?? (await headVersion(api, where));
  const prefix = ref.path === '' || ref.path.endsWith('/') ? ref.path : `${ref.path}/`;
  const remote: IndexedFile[] =
    version === 0 ? [] : (await api.listFiles(ref.namespace, ref.space, { prefix, version })).files;
  const folder = resolve(dir);
  const contents = await collectFolder(folder, '', {
    ...(options.rules ? { rules: options.rules } : {}),
    ...(options.defaultIgnores === false ? { defaultIgnores: false } : {}),
    ...(options.followSymlinks ? { followSymlinks: true } : {}),
  });
  const local = new Map<string, LocalFile>(contents.files.map((file) => [file.name, file]));
  const matchers = new Map();
  let ignored = 0;
  const missing: string[] = [];
  const changed: string[] = [];
  const toHash: Array<{ name: string; file: IndexedFile; entry: LocalFile }> = [];
  const wanted = new Set<string>();
  for (const file of remote) {
    // An older server that lists more than the prefix: kept to it here.
    if (!file.name.startsWith(prefix)) continue;
    const name = file.name.slice(prefix.length);
    // A name the walk leaves out (as upload and sync would) is compared on neither side.
    if (walkExcludes(contents, name, matchers)) {
      ignored += 1;
      continue;
    }
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
        mtimeMs: entry.mtimeMs ?? 0,
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
    ignored,
    missing,
    extra,
    changed,
  };
}
