/**
 * What a sync would do: the folder walked, the space's names under the prefix listed (10,000 a
 * page, no request per file), the two compared by size and then SHA-256 (through the hash
 * cache), and the names only the space has found out. Nothing here writes to the server.
 */
import type { ServerApi, SnapshotView } from '../api.ts';
import { ApiError } from '../errors.ts';
import type { GlobRule } from '../filters/globs.ts';
import type { FolderRules } from '../filters/walk-filter.ts';
import type { SpaceFolder } from '../target.ts';
import type { FileDigest } from '../transfer/digest.ts';
import type { HashCache } from '../transfer/hash-cache.ts';
import { hashFile } from '../transfer/hash-file.ts';
import { choosePartSize } from '../transfer/plan.ts';
import { eachLimited } from '../transfer/pool.ts';
import { collectFolder, type IgnoredEntry, type SkippedEntry, walkExcludes } from '../upload/files.ts';
import type { LocalFile } from '../upload/types.ts';

/** Names in one page of the space's listing (the server's most). */
export const LIST_PAGE = 10_000;
/** Files hashed at once while planning. */
const HASH_AT_ONCE = 4;

/** What a sync takes, leaves out and removes (the CLI's flags, the library's options). */
export interface SyncFilterOptions {
  /** `--exclude`/`--include` patterns in command-line order (last match wins). */
  rules?: readonly GlobRule[];
  /** Leave out the default list (`.DS_Store`, `.git/`, …); true unless false (`--no-default-ignores`). */
  defaultIgnores?: boolean;
  /** Follow symbolic links inside the folder (a loop is told of, not walked). */
  followSymlinks?: boolean;
  /** Remove the names under the prefix that the folder does not have (and the filters do not leave out). */
  delete?: boolean;
  /** Remove also the names the filters leave out (implies `delete`), as rclone's --delete-excluded. */
  deleteExcluded?: boolean;
}

/** One line of a plan (`sync --dry-run --json`, and what a sync reports). */
export type PlanEntry =
  | { action: 'upload'; name: string; size: number; reason: 'new' | 'changed' }
  | { action: 'skip'; name: string; size: number; reason: 'unchanged' }
  | { action: 'delete'; name: string; size: number };

/** A sync worked out: nothing sent yet. */
export interface SyncPlan {
  namespace: string;
  space: string;
  /** The folder of the space mirrored: `''` or a prefix ending in `/`. */
  prefix: string;
  /** The version compared with (0: no snapshot yet), and the snapshot itself when there is one. */
  head: number;
  headSnapshot: SnapshotView | undefined;
  /** New and changed files, in the walk's order (a changed one carries its digest). */
  uploads: LocalFile[];
  /** Of which new (the others changed). */
  added: number;
  uploadBytes: number;
  /** Files the space holds the same under their name. */
  unchanged: number;
  /** Names removed from the space (with `delete`), in name order. */
  deletes: RemoteFile[];
  /** Names only the space has that stay: no `delete`, or left out by the filters (or a link not followed, a FIFO, socket or device). */
  kept: number;
  /** Files and folders the filters left out of the walk. */
  ignored: number;
  /** Symbolic links the walk did not follow, loops it did not walk, and FIFOs, sockets and devices it left out. */
  skipped: SkippedEntry[];
  /** Every file's line in name order: uploads, unchanged ones and deletes. */
  entries: PlanEntry[];
}

export interface PlanHooks {
  onSkipped?: (entry: SkippedEntry) => void;
  onIgnored?: (entry: IgnoredEntry) => void;
}

const byName = (a: { name: string }, b: { name: string }): number => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0);

/** The space's head snapshot, or none (a space without snapshots, or one not made yet: 404). */
async function headOf(api: ServerApi, where: SpaceFolder): Promise<SnapshotView | undefined | 'missing'> {
  try {
    const page = await api.snapshots(where.namespace, where.space, { limit: 1 });
    return page.snapshots[0];
  } catch (error) {
    if (error instanceof ApiError && error.status === 404 && error.code === 'not_found') return 'missing';
    throw error;
  }
}

/** What a sync needs of a name in the space (the listing's objects hold several times more). */
export interface RemoteFile {
  name: string;
  hash: string;
  size: number;
}

/**
 * Every name of head under the prefix, by name: the listing's pages of LIST_PAGE, each kept as
 * its name, hash and size only (a page's objects are let go of as the next one comes).
 */
export async function remoteFiles(api: ServerApi, where: SpaceFolder): Promise<Map<string, RemoteFile>> {
  const out = new Map<string, RemoteFile>();
  let cursor: string | undefined;
  do {
    const page = await api.listFilesPage(where.namespace, where.space, {
      limit: LIST_PAGE,
      ...(where.prefix ? { prefix: where.prefix } : {}),
      ...(cursor !== undefined ? { cursor } : {}),
    });
    // An older server that lists more than the prefix: kept to it here.
    for (const { name, hash, size } of page.files)
      if (name.startsWith(where.prefix)) out.set(name, { name, hash, size });
    if (page.next !== undefined && page.next === cursor) break;
    cursor = page.next;
  } while (cursor !== undefined);
  return out;
}

/**
 * Works out what syncing the folder `dir` into `where` would do (see SyncPlan). The names under
 * `where.prefix` are to become the folder's contents: a file the space lacks, or holds with
 * another size or SHA-256, is to be uploaded; one it holds the same is not; with `delete`, a
 * name only the space has is to be removed, unless the filters leave it out (as rclone keeps
 * excluded files without --delete-excluded) or it is a symbolic link the walk did not follow.
 */
export async function planSync(
  api: ServerApi,
  cache: HashCache,
  dir: string,
  where: SpaceFolder,
  options: SyncFilterOptions = {},
  hooks: PlanHooks = {},
): Promise<SyncPlan> {
  let ignored = 0;
  const skipped: SkippedEntry[] = [];
  const contents = await collectFolder(dir, where.prefix, {
    ...(options.rules ? { rules: options.rules } : {}),
    ...(options.defaultIgnores === false ? { defaultIgnores: false } : {}),
    ...(options.followSymlinks ? { followSymlinks: true } : {}),
    onIgnored: (entry) => {
      ignored += 1;
      hooks.onIgnored?.(entry);
    },
    onSkipped: (entry) => {
      skipped.push(entry);
      hooks.onSkipped?.(entry);
    },
  });
  const head = await headOf(api, where);
  const remote = head === 'missing' ? new Map<string, RemoteFile>() : await remoteFiles(api, where);

  const uploads: LocalFile[] = [];
  const reasons = new Map<LocalFile, 'new' | 'changed'>();
  const take = (file: LocalFile, reason: 'new' | 'changed') => {
    uploads.push(file);
    reasons.set(file, reason);
  };
  const same: LocalFile[] = [];
  // The files of the same size as their name in the space, and the hash each has there (its
  // listing's object is let go of: the rest of it is not needed once the size matched).
  const toHash: LocalFile[] = [];
  const hashes: string[] = [];
  for (const file of contents.files) {
    const name = file.name;
    const there = remote.get(name);
    if (!there) take(file, 'new');
    else {
      remote.delete(name);
      if (there.size !== file.size) take(file, 'changed');
      else {
        toHash.push(file);
        hashes.push(there.hash);
      }
    }
  }
  // Same size: the SHA-256 tells (the cache answers for a file unchanged since it was hashed).
  const changed = new Set<LocalFile>();
  await eachLimited(toHash, HASH_AT_ONCE, async (file, i) => {
    const { digest } = await hashFile(cache, file.path, choosePartSize(file.size), undefined, 0, {
      size: file.size,
      mtimeMs: file.mtimeMs ?? 0,
    });
    if (digest.sha256 === hashes[i]) same.push(file);
    else {
      (file as LocalFile & { digest: FileDigest }).digest = digest;
      changed.add(file);
    }
  });
  for (const file of toHash) if (changed.has(file)) take(file, 'changed');

  // What only the space has: removed with --delete unless the walk would have left it out.
  const deletes: RemoteFile[] = [];
  let kept = 0;
  const matchers = new Map<FolderRules, (name: string, folder: boolean) => boolean>();
  const links = skipped.map((entry) => entry.name);
  for (const file of remote.values()) {
    const rel = file.name.slice(where.prefix.length);
    const linked = links.some((name) => file.name === name || file.name.startsWith(`${name}/`));
    const excluded = linked || walkExcludes(contents, rel, matchers);
    const remove = excluded
      ? Boolean(options.deleteExcluded) && !linked
      : Boolean(options.delete || options.deleteExcluded);
    if (remove) deletes.push(file);
    else kept += 1;
  }
  deletes.sort(byName);

  const entries: PlanEntry[] = [
    ...uploads.map((f) => ({
      action: 'upload' as const,
      name: f.name,
      size: f.size,
      reason: reasons.get(f) ?? ('new' as const),
    })),
    ...same.map((f) => ({ action: 'skip' as const, name: f.name, size: f.size, reason: 'unchanged' as const })),
    ...deletes.map((f) => ({ action: 'delete' as const, name: f.name, size: f.size })),
  ].sort(byName);
  const headSnapshot = head === 'missing' ? undefined : head;
  return {
    namespace: where.namespace,
    space: where.space,
    prefix: where.prefix,
    head: headSnapshot?.version ?? 0,
    headSnapshot,
    uploads,
    added: uploads.filter((f) => reasons.get(f) === 'new').length,
    uploadBytes: uploads.reduce((sum, f) => sum + f.size, 0),
    unchanged: same.length,
    deletes,
    kept,
    ignored,
    skipped,
    entries,
  };
}
