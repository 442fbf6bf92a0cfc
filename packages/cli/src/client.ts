/**
 * DreamLake from a Node program: what `dreamlake upload`, `sync`, `download`, `ls`, `log`, `rm`,
 * `diff`, `restore`, `verify` and `share` do, as calls. The commands are this plus printing.
 *
 *   const client = new DreamLakeClient({ server: 'http://127.0.0.1:10233', token });
 *   const { commit } = await client.upload(['runs/2026-11-30'], { to: 'ann/robotics', message: 'day 1' });
 *   // commit.snapshot.version: the ONE snapshot the upload made
 *   await client.download('ann/robotics@3/2026-11-30/', { to: '/data/copy' });
 *   const report = await client.verify('ann/robotics@3/2026-11-30/', '/data/copy'); // report.matches
 *   await client.close();
 *
 * Uploads and downloads resume: a call interrupted (its `signal` aborted, the process killed, the
 * network gone) and made again sends or fetches only what is missing, and every file is checked
 * against its SHA-256.
 */
import type { AssetType, CommitAnswer, DiffEntry, IndexedFile, SnapshotView } from '@dreamlake/protocol';
import type { CreatedShare, ListedShare } from '@dreamlake/protocol/client';
import { ServerApi } from './api.ts';
import { BandwidthLimiter, parseRate } from './bwlimit.ts';
import { homeDir } from './config.ts';
import { DownloadClient, fileItem, folderItems } from './download/client.ts';
import { LinkDownloader } from './download/link-grants.ts';
import type { DownloadEvents, DownloadItem, FileOutcome } from './download/run.ts';
import { UsageError } from './errors.ts';
import type { GlobRule } from './filters/globs.ts';
import { createAgent } from './http.ts';
import { parseShareLink } from './share-link.ts';
import type { SyncPlan } from './sync/plan.ts';
import { runSync } from './sync/run.ts';
import { folderPrefix, parseSnapshot, parseSpace, parseSpaceAt, parseSpaceFolder, parseSpacePath } from './target.ts';
import { Budget } from './transfer/budget.ts';
import { HashCache } from './transfer/hash-cache.ts';
import { DEFAULT_RETRY, type RetryOptions } from './transfer/retry.ts';
import { collectFiles, type SkippedEntry, taking } from './upload/files.ts';
import { type RunHooks, uploadFiles } from './upload/run.ts';
import type { FileResult, LocalFile, UploadEvents } from './upload/types.ts';
import { type VerifyOptions, type VerifyReport, verifyFolder } from './verify.ts';
import { commitRemoval, diffVersions, headVersion, removalOf, snapshotHistory } from './versions.ts';

export type { AssetType, CommitAnswer, DiffEntry, IndexedFile, SnapshotView } from '@dreamlake/protocol';
export type { FileOutcome } from './download/run.ts';
export type { GlobRule } from './filters/globs.ts';
export type { PlanEntry, SyncPlan } from './sync/plan.ts';
export type { SkippedEntry } from './upload/files.ts';
export type { FileResult } from './upload/types.ts';
export type { VerifyOptions, VerifyReport } from './verify.ts';

const MIB = 1024 * 1024;
/** Parts of one large file in flight at once. */
export const DEFAULT_CONCURRENCY = 4;
/** Requests carrying bodies at once (small files and parts together), and the bytes they may hold. */
export const DEFAULT_REQUESTS = 16;
export const DEFAULT_BYTES_IN_FLIGHT = 64 * MIB;

export interface ClientOptions {
  /** The DreamLake server, e.g. `http://127.0.0.1:10233`. */
  server: string;
  /** A JWT from `POST /auth/login` (or `dreamlake login`, in `~/.dreamlake/config.json`). */
  token: string;
  /** Where the hash cache and the resume state live (default `$DREAMLAKE_HOME` or `~/.dreamlake`). */
  home?: string;
  /** Parts of one large file in flight at once (default 4). */
  concurrency?: number;
  /** Requests carrying bodies at once, and the bytes they may hold (defaults 16 and 64 MiB). */
  requests?: number;
  bytesInFlight?: number;
  retry?: RetryOptions;
}

/** Where a run stands, after every change. */
export interface TransferProgress {
  filesDone: number;
  filesTotal: number;
  /** Bytes sent or received (or found already stored) so far, of all the files. */
  bytesDone: number;
  bytesTotal: number;
}

/** What a folder walk leaves out, and how fast a run may go: the flags `upload` and `sync` share. */
export interface WalkCallOptions {
  /** `--exclude`/`--include` patterns in order, the last match winning (`{ kind: 'exclude', pattern: '*.tmp' }`). */
  rules?: GlobRule[];
  /** Leave out `.DS_Store`, `.git/`, `*.pyc`, … (default true; `--no-default-ignores` is false). */
  defaultIgnores?: boolean;
  /** Follow symbolic links inside folders (a loop is told of, not walked); default false. */
  followSymlinks?: boolean;
  /** Bytes per second for all transfers together, or a rate as `--bwlimit` takes it (`'20M'`). */
  bwlimit?: number | string;
}

export interface UploadCallOptions extends WalkCallOptions {
  /** `NAMESPACE/SPACE`, or `NAMESPACE/SPACE/FOLDER/` to put the names under a folder. */
  to: string;
  /** Every file as this type instead of the one its extension gives. */
  type?: AssetType;
  /** Each file's outcome, as it is done (the `--json` line of the CLI). */
  onFile?: (result: FileResult) => void;
  onProgress?: (progress: TransferProgress) => void;
  /** Each symbolic link met inside a folder, which is left out (links given in `paths` are followed). */
  onSkipped?: (entry: SkippedEntry) => void;
  /** Stops the upload: the call rejects with the signal's reason; calling it again resumes. */
  signal?: AbortSignal;
  /** The snapshot's message. */
  message?: string;
}

export interface UploadSummary {
  files: number;
  /** Of those, files the space held already (nothing sent). */
  alreadyStored: number;
  bytes: number;
  /**
   * The ONE snapshot the upload made (`created`), or head as it stayed when nothing changed
   * (`created: false`); null against a server without snapshots.
   */
  commit: CommitAnswer | null;
  /** Files that changed while they were uploaded: left out of the snapshot (upload them again). */
  failed: Array<{ name: string; message: string }>;
}

export interface SyncCallOptions extends WalkCallOptions {
  /** Remove the names under the folder that `dir` does not have (those the filters leave out stay). */
  delete?: boolean;
  /** Remove also the names the filters leave out (implies `delete`). */
  deleteExcluded?: boolean;
  /** Reject (a CliError with exitCode 3), sending nothing, a sync that would remove more names. */
  maxDelete?: number;
  /** Work out the plan only: nothing is sent or committed (see `syncPlan`). */
  dryRun?: boolean;
  /** The snapshot's message. */
  message?: string;
  /** The plan, once worked out, before anything is sent. */
  onPlan?: (plan: SyncPlan) => void;
  onFile?: (result: FileResult) => void;
  onProgress?: (progress: TransferProgress) => void;
  onSkipped?: (entry: SkippedEntry) => void;
  /** Stops the sync: nothing is committed; calling it again sends none of the blobs stored. */
  signal?: AbortSignal;
}

export interface SyncSummary {
  plan: SyncPlan;
  /** The ONE snapshot made, or head as it stayed (`created: false`); null for a dry run. */
  commit: CommitAnswer | null;
  /** Files that changed while they were uploaded: left out of the snapshot (the others are in it). */
  failed: Array<{ name: string; message: string }>;
}

export interface DownloadCallOptions {
  /** The folder to put the files in, their relative paths recreated under it. */
  to: string;
  /** The files as this snapshot held them (or write `NAMESPACE/SPACE@N/…`); default head. */
  version?: number;
  /** Replace a different file already at a target path (default: that file fails). */
  force?: boolean;
  onFile?: (outcome: FileOutcome) => void;
  onProgress?: (progress: TransferProgress) => void;
  /** Stops the download: the call rejects with the signal's reason; calling it again resumes. */
  signal?: AbortSignal;
  /** Bytes per second for all the files together, or a rate as `--bwlimit` takes it (`'20M'`). */
  bwlimit?: number | string;
}

export interface DownloadSummary {
  downloaded: number;
  /** Files already there with the right SHA-256. */
  skipped: number;
  /** Files that failed, each with its reason in `onFile` (the others were still fetched). */
  failed: number;
}

/** What one upload run needs besides its files: the server, the caller's limits and where it reports. */
export interface UploadRunOptions {
  server: string;
  token: string;
  home: string;
  /** A legacy BSS to fall back to when the server has no upload grants (the CLI's `--bss`). */
  bss?: string | undefined;
  concurrency: number;
  requests: number;
  bytesInFlight: number;
  retry: RetryOptions;
  signal?: AbortSignal | undefined;
  type?: AssetType | undefined;
  /** The snapshot's message. */
  message?: string | undefined;
  /** `--bwlimit`: bytes per second for all the run's transfers together (none when absent). */
  bwlimit?: number | undefined;
  /** The version the changes were worked out against, and names removed in the same snapshot (a sync). */
  parent?: number | undefined;
  deletes?: readonly string[] | undefined;
  /** The run's hash cache, when the caller has one open (a sync's plan). */
  hashCache?: HashCache | undefined;
}

/**
 * The files given (taken one at a time: a list may be let go of as it is read), uploaded into
 * `target` over one connection pool and one bound on bytes in flight, reporting through `events`
 * and `hooks`. Stops at the signal's abort (rejecting with its reason); the hash cache is saved
 * and the pool closed however it ends. What `DreamLakeClient.upload` and `dreamlake upload` run.
 * Answers the snapshot the run made (see uploadFiles).
 */
export async function runUpload(
  options: UploadRunOptions,
  files: Iterable<LocalFile>,
  target: { namespace: string; space: string },
  events: UploadEvents,
  hooks: RunHooks,
): Promise<CommitAnswer | null> {
  const { signal } = options;
  signal?.throwIfAborted();
  // One pool: every request in flight has its connection, plus one for the server's batch calls.
  const agent = createAgent(options.requests + 2);
  const hashCache = options.hashCache ?? new HashCache(options.home);
  // An abort ends every request under way; the retries then stop at once (they check the signal).
  const abort = () => {
    const reason: unknown = signal?.reason;
    agent.destroy(reason instanceof Error ? reason : new Error('aborted')).catch(() => undefined);
  };
  signal?.addEventListener('abort', abort, { once: true });
  try {
    return await uploadFiles(
      {
        api: new ServerApi(options.server, agent, options.token),
        dispatcher: agent,
        home: options.home,
        bss: options.bss,
        concurrency: options.concurrency,
        budget: new Budget(options.bytesInFlight, options.requests),
        limiter: options.bwlimit ? new BandwidthLimiter(options.bwlimit) : undefined,
        hashCache,
        retry: { ...options.retry, ...(signal ? { signal } : {}) },
        events,
      },
      files,
      target,
      hooks,
      { type: options.type, message: options.message, parent: options.parent, deletes: options.deletes },
    );
  } catch (error) {
    if (signal?.aborted) throw signal.reason;
    throw error;
  } finally {
    signal?.removeEventListener('abort', abort);
    await hashCache.flush().catch(() => undefined);
    await agent.close().catch(() => undefined);
  }
}

/** The walk's options of a call. */
function walkOf(options: WalkCallOptions): { rules?: GlobRule[]; defaultIgnores?: boolean; followSymlinks?: boolean } {
  return {
    ...(options.rules ? { rules: options.rules } : {}),
    ...(options.defaultIgnores === false ? { defaultIgnores: false } : {}),
    ...(options.followSymlinks ? { followSymlinks: true } : {}),
  };
}

/** A call's bandwidth limit in bytes per second (a string read as `--bwlimit` reads it). */
function rateOf(bwlimit: number | string | undefined): number | undefined {
  if (typeof bwlimit === 'string') return parseRate(bwlimit, 'bwlimit');
  return bwlimit && bwlimit > 0 ? bwlimit : undefined;
}

/** Counts files and bytes for `onProgress`, and calls it on every change. */
class Tally {
  readonly progress: TransferProgress;
  readonly #report: ((progress: TransferProgress) => void) | undefined;

  constructor(report: ((progress: TransferProgress) => void) | undefined, filesTotal: number, bytesTotal: number) {
    this.#report = report;
    this.progress = { filesDone: 0, filesTotal, bytesDone: 0, bytesTotal };
  }

  bytes(n: number): void {
    this.progress.bytesDone += n;
    this.#report?.({ ...this.progress });
  }

  file(): void {
    this.progress.filesDone += 1;
    this.#report?.({ ...this.progress });
  }
}

/**
 * Runs a downloader's fetch of `items` with events that count each outcome and report progress
 * (a file already there counts its bytes as done): what `download` and `downloadLink` answer.
 */
async function fetchCounted(
  items: readonly DownloadItem[],
  options: Pick<DownloadCallOptions, 'onFile' | 'onProgress'>,
  fetch: (events: DownloadEvents) => Promise<unknown>,
): Promise<DownloadSummary> {
  const tally = new Tally(
    options.onProgress,
    items.length,
    items.reduce((sum, f) => sum + f.size, 0),
  );
  const summary: DownloadSummary = { downloaded: 0, skipped: 0, failed: 0 };
  await fetch({
    bytes: (_name, bytes) => tally.bytes(bytes),
    resumed: (_name, bytes) => tally.bytes(bytes),
    end: (outcome) => {
      summary[outcome.status] += 1;
      if (outcome.status === 'skipped') tally.bytes(outcome.size);
      tally.file();
      options.onFile?.(outcome);
    },
  });
  return summary;
}

export class DreamLakeClient {
  readonly #options: ClientOptions & { home: string };
  readonly #api: ServerApi;
  readonly #agent;

  constructor(options: ClientOptions) {
    this.#options = { ...options, home: options.home ?? homeDir(process.env) };
    this.#agent = createAgent(2);
    this.#api = new ServerApi(options.server, this.#agent, options.token);
  }

  /**
   * The files of a space (`NAMESPACE/SPACE`, or `NAMESPACE/SPACE@N` for snapshot N), or of the
   * folder `prefix` in it (a name prefix ending in `/`), in name order: every page the server
   * answers, followed to the last. `version`: snapshot N's files (default head).
   */
  async list(space: string, options: { prefix?: string; version?: number } = {}): Promise<IndexedFile[]> {
    const ref = parseSpaceAt(space);
    const prefix = options.prefix ?? '';
    const version = options.version ?? ref.version;
    const { files } = await this.#api.listFiles(ref.namespace, ref.space, {
      prefix,
      ...(version !== undefined ? { version } : {}),
    });
    return prefix === '' ? files : files.filter((f) => f.name.startsWith(prefix));
  }

  /** A space's snapshots, newest first (all of them, or the newest `max`). */
  log(space: string, options: { max?: number } = {}): Promise<SnapshotView[]> {
    return snapshotHistory(this.#api, parseSpace(space, 'log lists every snapshot of'), options.max);
  }

  /**
   * Removes files (`NAMESPACE/SPACE/NAME`) or, with `recursive`, folders (`NAMESPACE/SPACE/FOLDER/`),
   * all of one space, from its head as ONE new snapshot. Earlier snapshots keep them. A name
   * head lacks rejects (404) and nothing is removed.
   */
  rm(
    targets: string | readonly string[],
    options: { recursive?: boolean; message?: string } = {},
  ): Promise<CommitAnswer> {
    const removal = removalOf(typeof targets === 'string' ? [targets] : targets, Boolean(options.recursive));
    return commitRemoval(this.#api, removal, options.message);
  }

  /**
   * Makes head hold exactly the files of `NAMESPACE/SPACE@N` again, as a new snapshot
   * (`created: false` when it already does).
   */
  restore(snapshot: string, options: { message?: string } = {}): Promise<CommitAnswer> {
    const ref = parseSnapshot(snapshot);
    return this.#api.restore(ref.namespace, ref.space, {
      version: ref.version,
      message: options.message ?? `restore version ${ref.version}`,
    });
  }

  /**
   * The names that differ from `NAMESPACE/SPACE@A` to `NAMESPACE/SPACE@B` (head when `to` is
   * absent or has no `@`), in name order.
   */
  async diff(from: string, to?: string): Promise<{ from: number; to: number; changes: DiffEntry[] }> {
    const a = parseSnapshot(from);
    const b = to === undefined ? { namespace: a.namespace, space: a.space } : parseSpaceAt(to);
    if (b.namespace !== a.namespace || b.space !== a.space)
      throw new UsageError(`a diff compares two snapshots of one space: "${to}" is not in ${a.namespace}/${a.space}`);
    const toVersion = ('version' in b ? b.version : undefined) ?? (await headVersion(this.#api, a));
    return { from: a.version, to: toVersion, changes: await diffVersions(this.#api, a, a.version, toVersion) };
  }

  /**
   * Whether the folder `dir` holds exactly the files of `NAMESPACE/SPACE[@N][/FOLDER/]` (head when
   * no `@`): the files missing from it, extra in it and changed, through the hash cache.
   */
  verify(source: string, dir: string, options: VerifyOptions = {}): Promise<VerifyReport> {
    return verifyFolder(this.#api, this.#options.home, parseSpacePath(source), dir, options);
  }

  /**
   * Uploads files and folders (a folder's files keep their paths relative to it as names) into a
   * space. Rejects with the first failure, after the files under way have settled.
   */
  async upload(paths: string | readonly string[], options: UploadCallOptions): Promise<UploadSummary> {
    const { prefix, ...target } = parseSpaceFolder(options.to);
    const files = await collectFiles(typeof paths === 'string' ? [paths] : paths, {
      ...walkOf(options),
      prefix,
      ...(options.onSkipped ? { onSkipped: options.onSkipped } : {}),
    });
    const tally = new Tally(
      options.onProgress,
      files.length,
      files.reduce((sum, f) => sum + f.size, 0),
    );
    const summary: UploadSummary = { files: 0, alreadyStored: 0, bytes: 0, commit: null, failed: [] };
    const events: UploadEvents = {
      hashed() {},
      sent: (_name, bytes) => tally.bytes(bytes),
      resumed: (_name, bytes) => tally.bytes(bytes),
      phase() {},
      note() {},
    };
    summary.commit = await runUpload(
      {
        ...this.#runBase(options.signal),
        type: options.type,
        message: options.message,
        bwlimit: rateOf(options.bwlimit),
      },
      taking(files),
      target,
      events,
      {
        begin() {},
        result: (_index, result) => {
          summary.files += 1;
          summary.bytes += result.size;
          if (result.skipped) {
            summary.alreadyStored += 1;
            tally.bytes(result.size);
          }
          tally.file();
          options.onFile?.(result);
        },
        end() {},
        failed: (_index, file, error) => summary.failed.push({ name: file.name, message: error.message }),
      },
    );
    return summary;
  }

  /** What an upload run and a sync run are given alike: where, who, and how much at once. */
  #runBase(signal: AbortSignal | undefined) {
    const o = this.#options;
    return {
      server: o.server,
      token: o.token,
      home: o.home,
      concurrency: o.concurrency ?? DEFAULT_CONCURRENCY,
      requests: o.requests ?? DEFAULT_REQUESTS,
      bytesInFlight: o.bytesInFlight ?? DEFAULT_BYTES_IN_FLIGHT,
      retry: o.retry ?? DEFAULT_RETRY,
      signal,
    };
  }

  /**
   * Makes the names under `target` (`NAMESPACE/SPACE` or `NAMESPACE/SPACE/FOLDER/`) the files of
   * the folder `dir` (its own name not part of them) as ONE snapshot: new and changed files
   * uploaded (unchanged ones not, by SHA-256 through the hash cache), and with `delete` the names
   * `dir` lacks removed. Nothing to change: no snapshot. Rejects with exit code 3 past
   * `maxDelete`, sending nothing. A file that changed while being uploaded is in `failed`.
   */
  async sync(dir: string, target: string, options: SyncCallOptions = {}): Promise<SyncSummary> {
    const where = parseSpaceFolder(target, 'a sync writes to');
    const failed: SyncSummary['failed'] = [];
    let tally: Tally | undefined;
    const outcome = await runSync(
      {
        ...this.#runBase(options.signal),
        message: options.message,
        bwlimit: rateOf(options.bwlimit),
        filters: {
          ...walkOf(options),
          delete: Boolean(options.delete),
          deleteExcluded: Boolean(options.deleteExcluded),
        },
        maxDelete: options.maxDelete,
        dryRun: options.dryRun,
      },
      dir,
      where,
      {
        hashed() {},
        sent: (_name, bytes) => tally?.bytes(bytes),
        resumed: (_name, bytes) => tally?.bytes(bytes),
        phase() {},
        note() {},
      },
      {
        ...(options.onSkipped ? { onSkipped: options.onSkipped } : {}),
        plan: (plan) => {
          tally = new Tally(options.onProgress, plan.uploads.length, plan.uploadBytes);
          options.onPlan?.(plan);
        },
        begin() {},
        result: (_index, result) => {
          if (result.skipped) tally?.bytes(result.size);
          tally?.file();
          options.onFile?.(result);
        },
        end() {},
        failed: (_index, file, error) => failed.push({ name: file.name, message: error.message }),
      },
    );
    return { ...outcome, failed };
  }

  /** What `sync` would do (uploads, unchanged files, deletes, what the filters leave out): nothing is sent or committed. */
  async syncPlan(dir: string, target: string, options: Omit<SyncCallOptions, 'dryRun'> = {}): Promise<SyncPlan> {
    return (await this.sync(dir, target, { ...options, dryRun: true })).plan;
  }

  /**
   * Downloads a file, or every file of a space or folder, into the folder `options.to`:
   * `NAMESPACE/SPACE`, `NAMESPACE/SPACE/FOLDER/` or `NAMESPACE/SPACE/NAME`. A name that would land
   * outside that folder is refused; a file already there with the right SHA-256 is skipped.
   */
  async download(source: string, options: DownloadCallOptions): Promise<DownloadSummary> {
    const { path, version: named, ...space } = parseSpacePath(source);
    const version = options.version ?? named;
    const where = { ...space, ...(version !== undefined ? { version } : {}) };
    const o = this.#options;
    const client = new DownloadClient({
      server: o.server,
      token: o.token,
      home: o.home,
      ...(options.signal ? { signal: options.signal } : {}),
      ...(o.retry ? { retry: o.retry } : {}),
      ...(o.requests ? { requests: o.requests } : {}),
      ...(o.bytesInFlight ? { bytesInFlight: o.bytesInFlight } : {}),
      bwlimit: rateOf(options.bwlimit),
    });
    try {
      const remote = await client.resolve(where.namespace, where.space, path, version);
      let items: DownloadItem[];
      if (remote.kind === 'file') {
        items = [fileItem(remote.grant)];
      } else {
        items = folderItems(remote);
      }
      return await fetchCounted(items, options, (events) =>
        client.fetch(where, items, { root: options.to, force: Boolean(options.force) }, events),
      );
    } catch (error) {
      if (options.signal?.aborted) throw options.signal.reason;
      throw error;
    } finally {
      await client.close();
    }
  }

  /**
   * A share link to `NAMESPACE/SPACE[@N][/FOLDER]` (pinned to snapshot N, else head at each use;
   * only the names in FOLDER when given: `run4` is `run4/`, never `run42/`), for whoever holds it, no account needed. `url` is
   * the link; `expiresInSeconds` defaults to the server's 7 days (at most its SHARE_MAX_SECONDS).
   */
  async share(target: string, options: { expiresInSeconds?: number } = {}): Promise<CreatedShare & { url: string }> {
    const { path, version, ...space } = parseSpacePath(target);
    const prefix = folderPrefix(path, target);
    const made = await this.#api.createShare({
      ...space,
      ...(version !== undefined ? { version } : {}),
      ...(prefix !== '' ? { prefix } : {}),
      ...(options.expiresInSeconds !== undefined ? { expiresInSeconds: options.expiresInSeconds } : {}),
    });
    return { ...made, url: `${this.#api.server}${made.path}` };
  }

  /** The unrevoked share links of your namespaces (or of one), with their use counts and last use. */
  async shares(namespace?: string): Promise<ListedShare[]> {
    return (await this.#api.shares(namespace)).shares;
  }

  /** Revokes a share link: it hands out no download URL from now on. */
  revokeShare(id: string): Promise<void> {
    return this.#api.revokeShare(id);
  }

  /**
   * Downloads everything a share link names into `options.to` (no token used: the link is the
   * credential), verified, resumable and parallel as `download` is.
   */
  async downloadLink(link: string, options: Omit<DownloadCallOptions, 'version'>): Promise<DownloadSummary> {
    const o = this.#options;
    const client = new LinkDownloader(parseShareLink(link), {
      bwlimit: rateOf(options.bwlimit),
      home: o.home,
      ...(options.signal ? { signal: options.signal } : {}),
      ...(o.retry ? { retry: o.retry } : {}),
      ...(o.requests ? { requests: o.requests } : {}),
      ...(o.bytesInFlight ? { bytesInFlight: o.bytesInFlight } : {}),
    });
    try {
      const { info, items } = await client.resolve();
      return await fetchCounted(items, options, (events) =>
        client.fetch(info, items, { root: options.to, force: Boolean(options.force) }, events),
      );
    } catch (error) {
      if (options.signal?.aborted) throw options.signal.reason;
      throw error;
    } finally {
      await client.close();
    }
  }

  async close(): Promise<void> {
    await this.#agent.close();
  }
}
