import { lstat, mkdir } from 'node:fs/promises';
import { dirname } from 'node:path';
import { ApiError, describeError } from '../errors.ts';
import { shownName } from '../shown-name.ts';
import type { HashCache } from '../transfer/hash-cache.ts';
import { hashFile } from '../transfer/hash-file.ts';
import { choosePartSize } from '../transfer/plan.ts';
import { eachLimited } from '../transfer/pool.ts';
import { GRANT_BATCH_MAX, type GrantAnswer } from './grants.ts';
import { escapesOnDisk, pathUnder } from './names.ts';
import { type TransferDeps, type TransferEvents, transferFile } from './transfer.ts';

/** A file of the index to bring down. */
export interface DownloadItem {
  /** Its name in the space's index. */
  name: string;
  hash: string;
  size: number;
  /** Its path relative to the target folder (`/`-separated); checked to stay inside it. */
  relative: string;
  /** A path the caller chose itself (a single file's `-o`), used as is instead of `relative`. */
  target?: string;
  /** A signed URL already in hand; asked for otherwise. */
  url?: string;
}

export type FileOutcome = { name: string; path: string | undefined; hash: string; size: number } & (
  | { status: 'downloaded'; resumedBytes: number }
  | { status: 'skipped' }
  | { status: 'failed'; error: string }
);

export interface DownloadEvents extends TransferEvents {
  /** A file starts transferring. */
  begin?(name: string, size: number): void;
  /** A file is done: downloaded, skipped (already there with that SHA-256) or failed. */
  end?(outcome: FileOutcome): void;
}

export interface RunDeps extends Omit<TransferDeps, 'renewUrl'> {
  grants: { many(names: readonly string[]): Promise<GrantAnswer[]>; one(name: string): Promise<{ url: string }> };
  hashCache: HashCache;
  /** Files being prepared or transferred at once. */
  fileConcurrency: number;
}

export interface RunOptions {
  /** The target folder every relative path resolves under. */
  root: string;
  /** Replace an existing file whose content differs. */
  force: boolean;
}

type Prepared = { target: string } | { outcome: FileOutcome };

/**
 * Brings the items down under `options.root`: names that would land outside it are refused,
 * files already there with the same SHA-256 are skipped, a different file is kept unless
 * `force`, and the rest are fetched (many at once, within the run's budget), verified, and put in
 * place. A failed file does not stop the others; every file ends with one outcome. Stops at once
 * when `deps.signal` aborts (the partial files stay for the next run).
 */
export async function downloadItems(
  deps: RunDeps,
  items: readonly DownloadItem[],
  options: RunOptions,
  events: DownloadEvents = {},
): Promise<FileOutcome[]> {
  const outcomes: FileOutcome[] = [];
  const finish = (outcome: FileOutcome): void => {
    outcomes.push(outcome);
    events.end?.(outcome);
  };
  const renewUrl = async (name: string) => (await deps.grants.one(name)).url;
  for (let first = 0; first < items.length; first += GRANT_BATCH_MAX) {
    deps.signal?.throwIfAborted();
    const slice = items.slice(first, first + GRANT_BATCH_MAX);
    const todo: Array<{ item: DownloadItem; target: string }> = [];
    await eachLimited(slice, deps.fileConcurrency, async (item) => {
      const prepared = await prepare(deps.hashCache, item, options);
      if ('outcome' in prepared) finish(prepared.outcome);
      else todo.push({ item, target: prepared.target });
    });
    const asked = todo.filter((t) => t.item.url === undefined);
    const answers = new Map<DownloadItem, GrantAnswer>();
    const granted = await deps.grants.many(asked.map((t) => t.item.name));
    asked.forEach((t, i) => {
      answers.set(t.item, granted[i] as GrantAnswer);
    });
    await eachLimited(todo, deps.fileConcurrency, async ({ item, target }) => {
      const base = { name: item.name, path: target, hash: item.hash, size: item.size };
      const grant = answers.get(item);
      if (grant && 'error' in grant) return finish({ ...base, status: 'failed', error: grant.error.message });
      const url = item.url ?? (grant as { url: string }).url;
      events.begin?.(item.name, item.size);
      try {
        await mkdir(dirname(target), { recursive: true });
        const job = { name: item.name, target, url, hash: item.hash, size: item.size };
        const { resumedBytes } = await transferFile({ ...deps, renewUrl }, job, events);
        finish({ ...base, status: 'downloaded', resumedBytes });
      } catch (error) {
        if (deps.signal?.aborted || (error instanceof ApiError && error.status === 401)) throw error;
        finish({ ...base, status: 'failed', error: describeError(error) });
      }
    });
  }
  return outcomes;
}

/** Where an item goes, or why it does not (unsafe, already there, in the way). */
async function prepare(cache: HashCache, item: DownloadItem, options: RunOptions): Promise<Prepared> {
  const refuse = (path: string | undefined, error: string): Prepared => ({
    outcome: { name: item.name, path, hash: item.hash, size: item.size, status: 'failed', error },
  });
  let target = item.target;
  if (target === undefined) {
    const under = pathUnder(options.root, item.relative);
    const shown = shownName(item.name);
    if ('reason' in under) return refuse(undefined, `refused "${shown}": ${under.reason}; nothing was written`);
    const outside = await escapesOnDisk(options.root, under.path);
    if (outside) return refuse(undefined, `refused "${shown}": ${outside}; nothing was written`);
    target = under.path;
  }
  const info = await lstat(target).catch(() => null);
  if (!info) return { target };
  if (info.isDirectory()) return refuse(target, `${target} is a folder: choose another path with -o`);
  if (!info.isFile()) return refuse(target, `${target} is not a regular file`);
  if (info.size === item.size) {
    const { digest } = await hashFile(cache, target, choosePartSize(item.size));
    if (digest.sha256 === item.hash)
      return { outcome: { name: item.name, path: target, hash: item.hash, size: item.size, status: 'skipped' } };
  }
  if (!options.force)
    return refuse(target, `${target} already exists: pass --force to overwrite it, or choose another path with -o`);
  return { target };
}
