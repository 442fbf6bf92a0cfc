import { randomUUID } from 'node:crypto';
import type { BatchGrant, BatchGrantEntry, BlobReceipt, CommitAnswer, LookupState } from '../api.ts';
import { ApiError, CliError, describeError } from '../errors.ts';
import { withRequestId } from '../http.ts';
import type { Budget } from '../transfer/budget.ts';
import { eachLimited, Semaphore } from '../transfer/pool.ts';
import { withRetry } from '../transfer/retry.ts';
import type { AssetType } from '../types.ts';
import { isExpired } from './bss.ts';
import { ServerCapabilities } from './capabilities.ts';
import { assertUnchanged, FileChangedError, fileChange } from './changed.ts';
import { Committer } from './commit.ts';
import { PendingBlobs } from './pending-blobs.ts';
import { SingleShot } from './single.ts';
import {
  type FileResult,
  type LocalFile,
  type Prepared,
  prepareFile,
  sendMultipart,
  serverGrants,
  type Target,
  type UploadDeps,
  uploadFile,
} from './uploader.ts';
import { drainQueue, WorkQueue } from './work-queue.ts';

/**
 * Files looked up, hashed and granted together: at most this many (what a window holds while it
 * is hashed and granted, a few hundred bytes a file, and its kept bytes: two windows of 1 KiB
 * files stay within 4 MiB of them, plus a Buffer's bookkeeping each). A larger window raised the
 * CLI's peak RSS for no less CPU (docs/benchmarks.md, "Measurements behind choices in the code");
 * two windows still cover the grant batches in flight.
 */
const WINDOW_FILES = 2_000;
/** …and at most this many bytes, so that a folder of large files starts sending early… */
const WINDOW_BYTES = 1024 * 1024 * 1024;
/** Entries per grant request (the server's limit). */
const BATCH_FILES = 1000;
/** Files hashed at once. */
const HASH_AT_ONCE = 4;
/** Large files (multipart) at once; their parts and the small files share the run's budget. */
const LARGE_FILES_AT_ONCE = 3;
/** Files being sent at once (each then waits in the budget for its bytes and its request). */
const FILES_IN_FLIGHT = 32;
/** From this size a file shows its hashing on the live display (smaller ones appear when sent). */
const SHOW_HASHING_FROM_BYTES = 16 * 1024 * 1024;
/** Files up to this size are read once, for their hash and their upload, and kept in memory between… */
const KEEP_FILE_BYTES = 1024 * 1024;
/**
 * …while the bytes so kept stay under this (beyond it, a file is read again when it is sent): a
 * window is hashed before it is sent, so this bounds what a folder of many small files holds.
 */
const KEPT_BYTES = 16 * 1024 * 1024;
/**
 * …and at most this many bytes of files small enough to keep: two windows at once (one hashed
 * while the other is sent) then fit in KEPT_BYTES, so every small file is read once, not read
 * again for sending because the window ahead of it held the memory.
 */
const WINDOW_KEPT_BYTES = KEPT_BYTES / 2;

export interface RunDeps extends UploadDeps {
  budget: Budget;
}

export interface RunHooks {
  /** A file's turn has come (hashing or sending). */
  begin(file: LocalFile): void;
  /** A file is done; `index` is its place in the list given. */
  result(index: number, result: FileResult): void;
  /** A file has left the run (done or failed). */
  end(file: LocalFile): void;
  /**
   * A file that changed while it was being uploaded (see fileChange): it is left out of the
   * snapshot and the run goes on with the others. Without this hook such a file fails the run.
   */
  failed?(index: number, file: LocalFile, error: FileChangedError): void;
}

/** What a run makes of its files besides sending them. */
export interface RunOptions {
  /** Every file as this type instead of the one its extension gives. */
  type?: AssetType | undefined;
  /** The snapshot's message. */
  message?: string | undefined;
  /** The version the run's changes were worked out against (see CommitterOptions.parent). */
  parent?: number | undefined;
  /** Names removed from head in the same snapshot (a sync's deletes). */
  deletes?: readonly string[] | undefined;
}

interface Item {
  index: number;
  file: LocalFile;
  prepared?: Prepared;
  begun: boolean;
  /** Bytes of the run's KEPT_BYTES this file holds. */
  kept: number;
}

type Ready = Item & { prepared: Prepared };

/** What sending a file gave: BSS's receipt, and how its result line differs from the plain one. */
interface Sent {
  receipt: BlobReceipt | undefined;
  fields: Partial<FileResult>;
}

/** The whole of a run's failure: the first one, named after its file. */
class RunFailure extends CliError {}

/** A batch answer's error for one entry, in the same words as a whole request's error. */
function entryError(error: { code: string; message: string }): CliError {
  return new CliError(`${error.code}: ${error.message}`);
}

/**
 * Uploads many files (taken from `files` a window at a time) into one space with a few requests
 * per batch of files rather than a few per file (docs/protocol.md, "Many files"): files are hashed, looked up in the space's index and
 * granted a window at a time; small files go in one request each, large ones by multipart; all
 * of it shares one bound on bytes and requests in flight. Once every blob is stored, the run's
 * names are committed together as ONE snapshot (see Committer), which this answers (`created:
 * false` when nothing changed; null against a server without commits, where the names were
 * registered in batches). Against a server without the batch routes, each file goes the
 * single-file way. The first failure stops new files from starting and is thrown once the
 * others have settled, and nothing is committed: the blobs stored are noted (PendingBlobs), so
 * the next run sends none of them again and commits the whole.
 */
export async function uploadFiles(
  deps: RunDeps,
  files: Iterable<LocalFile>,
  target: Target,
  hooks: RunHooks,
  options: RunOptions = {},
): Promise<CommitAnswer | null> {
  const run = new Run(deps, target, hooks, options);
  return run.all(files);
}

class Run {
  readonly #single: SingleShot;
  readonly #large = new Semaphore(LARGE_FILES_AT_ONCE);
  readonly #pending: PendingBlobs;
  readonly #committer: Committer;
  #failure: { error: unknown } | undefined;
  /** Files whose last step is under way. */
  readonly #finishing = new Set<Promise<void>>();
  /** Which of the routes an older server lacks (lookup, batch grants, commits), learnt from its first answers. */
  readonly #server = new ServerCapabilities();
  /** Bytes of small files held in memory between their hashing and their upload. */
  #kept = 0;

  constructor(
    private readonly deps: RunDeps,
    private readonly target: Target,
    private readonly hooks: RunHooks,
    options: RunOptions,
  ) {
    this.typeOverride = options.type;
    this.#single = new SingleShot(deps.dispatcher, deps.limiter);
    this.#pending = new PendingBlobs(deps.home, { server: deps.api.server, ...target });
    this.#committer = new Committer({
      api: deps.api,
      target,
      retry: deps.retry,
      message: options.message,
      parent: options.parent,
      pending: this.#pending,
      onError: (error) => this.#fail(this.#commitFailure(error)),
      capabilities: this.#server,
    });
    if (options.deletes?.length) this.#committer.remove(options.deletes);
  }

  private readonly typeOverride: AssetType | undefined;

  async all(files: Iterable<LocalFile>): Promise<CommitAnswer | null> {
    await this.#pending.load();
    try {
      await this.#files(files);
      if (this.#failure) throw this.#failure.error;
      // A server without batch grants registered each file itself.
      if (!this.#server.has('batchGrants') && this.#committer.count === 0) return null;
      return await this.#committer.finish().catch((error: unknown) => {
        throw this.#commitFailure(error);
      });
    } finally {
      await this.#pending.flush().catch(() => undefined);
    }
  }

  /**
   * The commit (or a batch of its draft) refused: named so. A blob named without a receipt that
   * BSS no longer holds (one an earlier run stored, collected since) refuses it too: the notes
   * of earlier runs are dropped then, so that the next run sends every such blob again.
   */
  #commitFailure(error: unknown): CliError {
    if (error instanceof RunFailure) return error;
    if (error instanceof ApiError && error.status === 404 && error.code === 'not_found') {
      void this.#pending.remove().catch(() => undefined);
      return new RunFailure(
        `committing the snapshot: ${describeError(error)}; run the upload again: it sends what the server no longer finds`,
      );
    }
    return new RunFailure(`committing the snapshot: ${describeError(error)}`);
  }

  async #files(files: Iterable<LocalFile>): Promise<void> {
    const tasks = new Set<Promise<void>>();
    let window: Item[] = [];
    let windowBytes = 0;
    let windowKept = 0;
    const startWindow = async (): Promise<void> => {
      const items = window;
      window = [];
      windowBytes = 0;
      windowKept = 0;
      // At most two windows at once: the next one is hashed while this one is sent.
      while (tasks.size >= 2) await Promise.race(tasks);
      await this.deps.events.drained?.();
      const task = this.#window(items).catch((error: unknown) => this.#fail(error));
      tasks.add(task);
      void task.finally(() => tasks.delete(task));
    };
    let index = -1;
    for (const file of files) {
      index += 1;
      if (this.#failure) break;
      // A window closes before the file that would take its kept bytes past the bound.
      const keepable = file.size <= KEEP_FILE_BYTES ? file.size : 0;
      if (window.length > 0 && windowKept + keepable > WINDOW_KEPT_BYTES) await startWindow();
      window.push({ index, file, begun: false, kept: 0 });
      windowBytes += file.size;
      windowKept += keepable;
      if (window.length >= WINDOW_FILES || windowBytes >= WINDOW_BYTES) await startWindow();
    }
    if (window.length > 0 && !this.#failure) await startWindow();
    while (tasks.size > 0) await Promise.all(tasks);
    while (this.#finishing.size > 0) await Promise.all(this.#finishing);
  }

  #fail(error: unknown): void {
    this.#failure ??= { error };
  }

  /**
   * A file's failure is the run's failure, named after the file; unless the file changed while
   * it was being uploaded, which leaves it out and lets the others go on (when the run's hooks
   * take such files).
   */
  #failFile(item: Item, error: unknown): void {
    if (error instanceof FileChangedError && this.hooks.failed) {
      this.hooks.failed(item.index, item.file, error);
      return;
    }
    this.#fail(error instanceof RunFailure ? error : new RunFailure(`${item.file.name}: ${describeError(error)}`));
  }

  /** The error a file's step failed with, or how the file changed meanwhile when it did (the likely cause). */
  async #explained(item: Item, error: unknown): Promise<unknown> {
    if (error instanceof FileChangedError || error instanceof RunFailure) return error;
    const change = await fileChange(item.file.path, item.file).catch(() => null);
    return change ? new FileChangedError(item.file.name, change) : error;
  }

  #begin(item: Item): void {
    if (item.begun) return;
    item.begun = true;
    this.hooks.begin(item.file);
  }

  /** Reports the file once its last step settles. */
  #finish(item: Item, last: Promise<FileResult>): void {
    const done: Promise<void> = last
      .then(
        (result) => this.hooks.result(item.index, result),
        (error: unknown) => this.#failFile(item, error),
      )
      .finally(() => {
        if (item.begun) this.hooks.end(item.file);
        this.#finishing.delete(done);
      });
    this.#finishing.add(done);
  }

  async #window(items: Item[]): Promise<void> {
    // Hash every file of the window (the cache answers for files hashed by an earlier run).
    await eachLimited(items, HASH_AT_ONCE, async (item) => {
      if (this.#failure) return;
      // Large files show their hashing; small ones appear once they are sent.
      if (item.file.size > SHOW_HASHING_FROM_BYTES) this.#begin(item);
      if (item.file.size <= KEEP_FILE_BYTES && this.#kept + item.file.size <= KEPT_BYTES) {
        item.kept = item.file.size;
        this.#kept += item.kept;
      }
      try {
        item.prepared = await prepareFile(
          this.deps,
          item.file,
          this.target,
          this.typeOverride,
          item.kept > 0 ? KEEP_FILE_BYTES : 0,
        );
      } catch (error) {
        this.#failFile(item, await this.#explained(item, error));
        if (item.begun) this.hooks.end(item.file);
      }
      if (!item.prepared?.bytes) this.#release(item);
    });
    if (this.#failure) return;
    const ready = items.filter((item): item is Ready => item.prepared !== undefined);

    if (!this.#server.has('batchGrants')) return this.#oneByOne(ready);
    const states = await this.#lookup(ready);
    const toGrant: Ready[] = [];
    ready.forEach((item, i) => {
      const state = states[i] ?? 'missing';
      // Stored by an earlier run that did not get to commit it: the commit proves it with BSS.
      const stored = state === 'held' || (state === 'missing' && this.#pending.stored(item.prepared.digest.sha256));
      if (state === 'indexed' || stored) this.#release(item);
      if (state === 'indexed') {
        this.#begin(item);
        this.#finish(item, Promise.resolve({ ...item.prepared.base, skipped: true }));
      } else if (stored) {
        this.#begin(item);
        this.#finish(item, Promise.resolve(this.#stage(item.prepared, undefined, { skipped: true })));
      } else toGrant.push(item);
    });

    // Granted a batch at a time as the workers need them, so that no more than about two batches'
    // URLs are held at once, whatever the window's size.
    const queue = new WorkQueue<{ item: Ready; entry: BatchGrantEntry | undefined }>();
    const granting = (async () => {
      try {
        for (let start = 0; start < toGrant.length && !this.#failure; start += BATCH_FILES) {
          const batch = toGrant.slice(start, start + BATCH_FILES);
          await queue.waitBelow(BATCH_FILES / 2);
          let entries: BatchGrantEntry[] | undefined;
          try {
            entries = await this.#grant(batch.map((item) => item.prepared));
          } catch (error) {
            // Refused as a whole (no write access, say): told as the first file's failure.
            throw new RunFailure(`${batch[0]?.file.name}: ${describeError(error)}`);
          }
          if (entries === undefined) await this.#oneByOne(batch);
          else queue.push(batch.map((item, i) => ({ item, entry: entries[i] })));
        }
      } finally {
        queue.close();
      }
    })();
    await Promise.all([
      granting,
      drainQueue(queue, FILES_IN_FLIGHT, ({ item, entry }) => this.#transferFile(item, entry)),
    ]);
  }

  /** Sends one granted file, then hands its name to the commit. */
  async #transferFile(item: Ready, entry: BatchGrantEntry | undefined): Promise<void> {
    if (this.#failure) return;
    this.#begin(item);
    let sent: Sent;
    try {
      // A file written to since it was hashed would not be stored under that hash: checked just
      // before its bytes go and just after (a change under way fails BSS's check, told as such).
      // A file sent from the bytes it was hashed from (a small one kept in memory) is stored under
      // their hash whatever happens to it meanwhile, and a change made to it before the send is
      // still there after it: checked once, after. A stat costs a small file about as much as its
      // request (each is a trip through the thread pool), so it spares a third of the file system
      // calls of a folder of small files.
      if (item.prepared.bytes === undefined) await assertUnchanged(item.file.path, item.file.name, item.file);
      // One id for all of this file's requests to BSS (and its regrants), as the services log them.
      sent = await this.#send(item.prepared, entry, randomUUID());
      await assertUnchanged(item.file.path, item.file.name, item.file);
    } catch (error) {
      this.#failFile(item, await this.#explained(item, error));
      this.hooks.end(item.file);
      return;
    } finally {
      this.#release(item);
    }
    this.#pending.recordBlob(item.prepared.digest.sha256);
    this.#finish(item, Promise.resolve(this.#stage(item.prepared, sent.receipt, sent.fields)));
  }

  /** Lets go of a file's bytes kept in memory (it was sent, needs no sending, or failed). */
  #release(item: Item): void {
    this.#kept -= item.kept;
    item.kept = 0;
    if (item.prepared) item.prepared.bytes = undefined;
  }

  /** Against a server without batch routes: each file its own grant and register. */
  async #oneByOne(items: Ready[]): Promise<void> {
    for (const item of items) this.#release(item);
    await eachLimited(items, LARGE_FILES_AT_ONCE, async (item) => {
      if (this.#failure) return;
      this.#begin(item);
      try {
        const result = await withRequestId(randomUUID(), () =>
          uploadFile(this.deps, item.file, this.target, this.typeOverride, item.prepared),
        );
        this.hooks.result(item.index, result);
      } catch (error) {
        this.#failFile(item, error);
      } finally {
        this.hooks.end(item.file);
      }
    });
  }

  /** Which files the space's index already holds; every file is `missing` against an older server. */
  async #lookup(items: Array<Item & { prepared: Prepared }>): Promise<LookupState[]> {
    if (items.length === 0) return [];
    try {
      const answer = await this.#server.ask('lookup', () =>
        withRetry(
          () =>
            this.deps.api.lookupFiles(
              this.target.namespace,
              this.target.space,
              items.map((item) => ({ name: item.file.name, hash: item.prepared.digest.sha256 })),
            ),
          this.deps.retry,
        ),
      );
      return answer?.files ?? [];
    } catch (error) {
      // Not allowed to read there: the grants answer for writing, file by file.
      if (error instanceof ApiError && (error.status === 403 || error.status === 404)) return [];
      throw error;
    }
  }

  /** One grant request for up to BATCH_FILES files; undefined when the server has no batch route. */
  async #grant(prepared: Prepared[]): Promise<BatchGrantEntry[] | undefined> {
    const files = prepared.map((p) => ({
      filename: p.file.name,
      hash: p.digest.sha256,
      contentType: p.contentType,
      type: p.type,
      size: p.file.size,
    }));
    const answer = await this.#server.ask('batchGrants', () =>
      withRetry(() => this.deps.api.grantBatch(this.target.namespace, this.target.space, files), this.deps.retry),
    );
    if (answer === undefined) return undefined;
    if (answer.files.length !== files.length)
      throw new CliError(`the server answered ${answer.files.length} grants for ${files.length} files`);
    return answer.files;
  }

  async #regrant(prepared: Prepared): Promise<BatchGrantEntry> {
    const entries = await this.#grant([prepared]);
    if (!entries?.[0]) throw new CliError('the server no longer grants batches');
    return entries[0];
  }

  /**
   * One file through its grant entry: nothing to send, one single-shot request, or multipart;
   * every request of it carries `requestId`.
   */
  async #send(prepared: Prepared, first: BatchGrantEntry | undefined, requestId: string): Promise<Sent> {
    const { file } = prepared;
    let entry = first;
    for (let renewals = 0; ; renewals += 1) {
      if (!entry) throw new CliError('the server gave no grant for this file');
      if ('error' in entry) throw entryError(entry.error);
      if ('exists' in entry && entry.exists) return { receipt: undefined, fields: { skipped: true } };
      const grant = entry as BatchGrant;
      if (!grant.singleUrl) {
        const outcome = await this.#large.run(() =>
          withRequestId(requestId, () =>
            sendMultipart(
              this.deps,
              prepared,
              this.target,
              serverGrants(this.deps, grant, async () => {
                const next = await this.#regrant(prepared);
                if ('error' in next) throw entryError(next.error);
                return next as BatchGrant | { exists: true };
              }),
            ),
          ),
        );
        return { receipt: outcome.receipt, fields: { partsSent: outcome.partsSent, skipped: outcome.stored } };
      }
      try {
        const singleUrl = grant.singleUrl;
        this.deps.events.phase(file.name, 'uploading');
        const stored = await this.deps.budget.run(file.size, () =>
          withRetry(
            () =>
              this.#single.send(
                singleUrl,
                {
                  path: file.path,
                  size: file.size,
                  contentType: prepared.contentType,
                  bytes: prepared.bytes,
                  requestId,
                },
                (n) => this.deps.events.sent(file.name, n),
              ),
            this.deps.retry,
          ),
        );
        this.deps.events.phase(file.name, 'finishing');
        return { receipt: stored.receipt, fields: { partsTotal: 1, partsSent: 1 } };
      } catch (error) {
        if (!isExpired(error) || renewals >= 2) throw error;
        this.deps.events.note('signed URLs expired: asking the server for fresh ones');
        entry = await withRequestId(requestId, () => this.#regrant(prepared));
      }
    }
  }

  /** Hands a stored file's name to the run's commit, and answers its result. */
  #stage(prepared: Prepared, receipt: BlobReceipt | undefined, fields: Partial<FileResult>): FileResult {
    const { file, digest, type, contentType } = prepared;
    this.#committer.add({ name: file.name, hash: digest.sha256, type, contentType, ...(receipt ? { receipt } : {}) });
    return { ...prepared.base, ...fields };
  }
}
