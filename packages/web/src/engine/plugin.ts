/// <reference lib="dom" />
/**
 * The Uppy uploader that drives our flow. Uppy (core and Dashboard) holds the queue, the drop zone
 * (files and folders, their relative paths kept) and the pause / cancel / retry controls; this
 * plugin hashes each file in a worker, hands it to `transferFile`, and once every file of the drop
 * is stored commits their names together: one drop, one snapshot.
 *
 * Built for folders of 10,000 files and more: many small files in flight at once (their grants
 * gathered into windows by grant-window.ts), large ones a few at a time; Uppy's per-file state
 * (a copy of every file's entry on each change) is touched only where the Dashboard needs it,
 * and the drop's end is written to it in one change. Every step is watched (idle.ts): a file
 * with no sign of life for `idleMs` fails with the reason, and the Dashboard's retry sends it again.
 */
import { eachLimited } from '@dreamlake/protocol';
import { BasePlugin, type Body, type Meta, type PluginOpts, type Uppy, type UppyFile } from '@uppy/core';
import {
  type CommitAnswer,
  ProtocolError,
  type RegisterRequest,
  Semaphore,
  type ServerApi,
} from '../protocol/index.ts';
import { commitPuts } from './commit.ts';
import { grantWindows } from './grant-window.ts';
import type { Hasher } from './hash.ts';
import { IdleTimer } from './idle.ts';
import type { ResumeStore } from './resume-store.ts';
import { abandonUpload, type TransferEvent, type TransferResult, transferFile } from './transfer.ts';

/** What the page shows for a file, beside Uppy's own view. */
export type FileStatus =
  | { state: 'queued' }
  | { state: 'hashing'; done: number; total: number }
  | { state: 'granting' }
  | { state: 'uploading'; sent: number; total: number; resumedParts?: string }
  | { state: 'retrying'; reason: string }
  | { state: 'paused' }
  /** The blob is stored; its name waits for the other files of the drop, to be committed with them. */
  | { state: 'uploaded'; result: TransferResult }
  | { state: 'committing'; added: number; total: number }
  /** Committed: `version` is the snapshot that holds it (null if the server made none). */
  | { state: 'done'; result: TransferResult; version: number | null }
  | { state: 'stored'; result: TransferResult; version: number | null }
  | { state: 'failed'; reason: string }
  /** Not uploaded: a later file of the same drop has the same name, and that one is kept. */
  | { state: 'duplicate' }
  | { state: 'cancelled' };

export interface DreamLakeUploadOptions extends PluginOpts {
  api: ServerApi;
  hasher: Hasher;
  resume: ResumeStore;
  /** Where files go, read when a drop starts (all its files go to one space, as one snapshot). */
  target(): { namespace: string; space: string };
  reauthenticate(): Promise<void>;
  onStatus(file: UppyFile<Meta, Body>, name: string, status: FileStatus): void;
  /** The snapshot's message, read when a drop's files are committed ("" for none). */
  message(): string;
  /** A drop's names were committed: the snapshot made, or head when nothing changed. */
  onCommitted(target: { namespace: string; space: string }, answer: CommitAnswer, names: number): void;
  /** A drop's commit was refused or kept failing: its files are marked failed (the Dashboard's retry sends them again). */
  onCommitFailed(target: { namespace: string; space: string }, reason: string): void;
  /** Files in flight at once: hashed, granted and sent (small files go in one PUT each). */
  limit?: number;
  /** A step with no sign of life for this long fails its file (default IDLE_MS). */
  idleMs?: number;
}

/**
 * Files in flight at once, and large ones among them. A folder of small files goes through three
 * windows (hashed 100 to a worker's message, granted as many as ask within 15 ms, sent 100 to a
 * bundle): 256 in flight kept each window small and a bundle or two at BSS at a time; 1,024 let
 * them fill (docs/web.md, "Limits and measured speed").
 */
const FILES_AT_ONCE = 1024;
const LARGE_AT_ONCE = 3;
/** Above this a file goes in parts (the grant's single-shot limit is larger, but parts resume). */
const SINGLE_SHOT_BYTES = 8 * 1024 * 1024;
/** The watchdog's default limit: longer than a retry's longest back-off (30 s). */
export const IDLE_MS = 60_000;
/**
 * Bytes of small files kept from their hashing to their upload (read once, not again to be sent):
 * FILES_AT_ONCE files of 20 KiB fit; past it a file's upload reads it again.
 */
const KEPT_BYTES = 64 * 1024 * 1024;
/** A status change of a file goes to Uppy's state only this often (each one copies every file's entry). */
const UPPY_PROGRESS_EVERY_MS = 1000;

/** The file's name in the space: its relative path in a dropped folder, else its name. */
export function spaceName(file: UppyFile<Meta, Body>): string {
  const relative = file.meta.relativePath;
  const name = typeof relative === 'string' && relative !== '' ? relative : (file.name ?? 'file');
  return name.replace(/^\/+/, '');
}

type Target = { namespace: string; space: string };

/** A file of the drop whose blob is stored, waiting for the commit. */
interface Stored {
  file: UppyFile<Meta, Body>;
  name: string;
  result: TransferResult;
}

function describe(error: unknown): string {
  if (error instanceof ProtocolError) return `${error.message} (${error.code})`;
  return (error as Error).message || 'failed';
}

class Run {
  controller = new AbortController();
  paused = false;
  idle: IdleTimer;
  #resume: (() => void) | undefined;

  constructor(idleMs: number) {
    this.idle = new IdleTimer(idleMs, (error) => this.controller.abort(error));
  }

  pause(): void {
    this.paused = true;
    this.idle.hold();
    this.controller.abort(new DOMException('paused', 'AbortError'));
  }

  resume(): void {
    this.paused = false;
    this.controller = new AbortController();
    this.idle.poke();
    this.#resume?.();
  }

  whenResumed(): Promise<void> {
    return new Promise((resolve) => {
      this.#resume = resolve;
    });
  }
}

function wait(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    const done = (): void => {
      clearTimeout(timer);
      window.removeEventListener('online', done);
      signal.removeEventListener('abort', aborted);
      resolve();
    };
    const aborted = (): void => {
      clearTimeout(timer);
      window.removeEventListener('online', done);
      reject(signal.reason);
    };
    const timer = setTimeout(done, ms);
    window.addEventListener('online', done);
    signal.addEventListener('abort', aborted, { once: true });
  });
}

/** What a status says the file is doing, for the watchdog's reason. */
function doing(status: FileStatus): string | undefined {
  switch (status.state) {
    case 'hashing':
      return 'hashing';
    case 'granting':
      return 'asking for a grant';
    case 'uploading':
      return 'uploading';
    default:
      return undefined;
  }
}

export class DreamLakeUpload extends BasePlugin<DreamLakeUploadOptions, Meta, Body> {
  readonly #runs = new Map<string, Run>();
  /** Each file's SHA-256 once hashed (a retry or a cancel needs it; kept out of Uppy's state). */
  readonly #hashes = new Map<string, string>();
  readonly #api: ServerApi;
  readonly #large: Semaphore;
  /** When each file last told Uppy its progress. */
  readonly #toldUppy = new Map<string, number>();
  /** Bytes of files kept between their hash and their upload (KEPT_BYTES at most). */
  #keptBytes = 0;

  constructor(uppy: Uppy<Meta, Body>, opts: DreamLakeUploadOptions) {
    super(uppy, opts);
    this.type = 'uploader';
    this.id = opts.id ?? 'DreamLakeUpload';
    this.#api = grantWindows(opts.api);
    this.#large = new Semaphore(LARGE_AT_ONCE);
  }

  get #idleMs(): number {
    return this.opts.idleMs ?? IDLE_MS;
  }

  override install(): void {
    const { capabilities } = this.uppy.getState();
    this.uppy.setState({ capabilities: { ...capabilities, resumableUploads: true } });
    this.uppy.addUploader(this.#upload);
    this.uppy.on('upload-pause', this.#onPause);
    this.uppy.on('pause-all', this.#onPauseAll);
    this.uppy.on('resume-all', this.#onResumeAll);
    this.uppy.on('file-removed', this.#onRemoved);
  }

  override uninstall(): void {
    this.uppy.removeUploader(this.#upload);
    this.uppy.off('upload-pause', this.#onPause);
    this.uppy.off('pause-all', this.#onPauseAll);
    this.uppy.off('resume-all', this.#onResumeAll);
    this.uppy.off('file-removed', this.#onRemoved);
  }

  #onPause = (file: UppyFile<Meta, Body> | undefined, isPaused: boolean): void => {
    const run = file && this.#runs.get(file.id);
    if (!run) return;
    if (isPaused) run.pause();
    else run.resume();
  };

  #onPauseAll = (): void => {
    for (const run of this.#runs.values()) run.pause();
  };

  #onResumeAll = (): void => {
    for (const run of this.#runs.values()) if (run.paused) run.resume();
  };

  #onRemoved = (file: UppyFile<Meta, Body>): void => {
    const run = this.#runs.get(file.id);
    if (!run) return;
    this.#runs.delete(file.id);
    run.idle.stop();
    run.controller.abort(new DOMException('cancelled', 'AbortError'));
    this.opts.onStatus(file, spaceName(file), { state: 'cancelled' });
    const hash = this.#hashes.get(file.id);
    if (typeof hash === 'string' && file.data instanceof Blob) {
      void abandonUpload(this.opts.api, this.opts.resume, this.opts.target(), {
        blob: file.data,
        name: spaceName(file),
        hash,
      });
    }
  };

  #upload = async (fileIDs: string[]): Promise<void> => {
    const all = this.uppy.getFilesByIds(fileIDs);
    this.uppy.emit('upload-start', all);
    // The whole drop goes to the space chosen when it started, and lands there as one snapshot.
    const target = this.opts.target();
    // A name twice in one drop: the file added last is the one kept; the others say so and wait.
    const last = new Map<string, string>();
    for (const file of all) last.set(spaceName(file), file.id);
    const files: Array<UppyFile<Meta, Body>> = [];
    for (const file of all) {
      const name = spaceName(file);
      if (last.get(name) === file.id) {
        files.push(file);
        this.opts.onStatus(file, name, { state: 'queued' });
        continue;
      }
      this.opts.onStatus(file, name, { state: 'duplicate' });
      this.uppy.emit('upload-error', this.uppy.getFile(file.id), {
        name: 'UploadError',
        message: 'another file of this drop has the same name, and the last one is kept',
      });
    }
    const stored: Stored[] = [];
    await eachLimited(files, this.opts.limit ?? FILES_AT_ONCE, async (file) => {
      if (!this.uppy.getFile(file.id)) return; // taken out of the Dashboard while it waited
      const result = await this.#one(file, target);
      if (result) stored.push({ file, name: spaceName(file), result });
    });
    // A file taken out of the Dashboard after its blob was stored is not committed.
    const kept = stored.filter((s) => this.uppy.getFile(s.file.id));
    if (kept.length > 0) await this.#commit(kept, target);
  };

  /** Upload progress for Uppy's Dashboard, at most every UPPY_PROGRESS_EVERY_MS per file. */
  #tellUppy(file: UppyFile<Meta, Body>, sent: number, total: number): void {
    const now = performance.now();
    const last = this.#toldUppy.get(file.id) ?? Number.NEGATIVE_INFINITY;
    if (now - last < UPPY_PROGRESS_EVERY_MS) return;
    this.#toldUppy.set(file.id, now);
    const current = this.uppy.getFile(file.id);
    if (!current) return;
    this.uppy.emit('upload-progress', current, {
      uploadStarted: file.progress.uploadStarted ?? Date.now(),
      bytesUploaded: sent,
      bytesTotal: total,
    });
  }

  /** Hashes and stores one file's blob: its entry for the commit, or undefined (failed or cancelled). */
  async #one(file: UppyFile<Meta, Body>, target: Target): Promise<TransferResult | undefined> {
    const name = spaceName(file);
    const run = new Run(this.#idleMs);
    const status = (s: FileStatus): void => {
      const what = doing(s);
      if (what) run.idle.poke(what);
      else if (s.state === 'retrying' || s.state === 'paused') run.idle.hold();
      this.opts.onStatus(file, name, s);
    };
    this.#runs.set(file.id, run);
    const blob = file.data as Blob;
    const large = blob.size > SINGLE_SHOT_BYTES;
    let resumedParts: string | undefined;
    // The bytes hashed, when kept: the upload sends them rather than reading the file again.
    let bytes: Uint8Array | undefined;
    const keep = (kept: Uint8Array): void => {
      if (bytes || this.#keptBytes + kept.byteLength > KEPT_BYTES) return;
      bytes = kept;
      this.#keptBytes += kept.byteLength;
    };
    const letGo = (): void => {
      if (bytes) this.#keptBytes -= bytes.byteLength;
      bytes = undefined;
    };
    // Waiting for the user to log in again is no stall.
    const reauthenticate = async (): Promise<void> => {
      run.idle.hold();
      try {
        await this.opts.reauthenticate();
      } finally {
        run.idle.poke();
      }
    };
    try {
      for (;;) {
        let holding = false;
        try {
          // Waiting for a free hashing worker is no stall: the clock starts when one has the file.
          run.idle.hold();
          const hash = await this.#hash(file, blob, run, status, keep);
          if (large) {
            run.idle.hold(); // waiting for a turn among the large files is no stall
            status({ state: 'queued' });
            await this.#large.acquire();
            holding = true;
            run.idle.poke('asking for a grant');
          }
          const signal = run.controller.signal;
          if (signal.aborted) throw signal.reason;
          const result = await transferFile(
            { blob, name, hash, ...(bytes ? { bytes } : {}) },
            {
              api: this.#api,
              namespace: target.namespace,
              space: target.space,
              resume: this.opts.resume,
              signal,
              reauthenticate,
              wait,
              report: (event: TransferEvent) => {
                // What an attempt that was paused or cancelled still says is no longer true.
                if (signal.aborted) return;
                if (event.kind === 'resumed') resumedParts = `${event.partsDone} of ${event.partsTotal}`;
                if (event.kind === 'uploading') {
                  status({ state: 'uploading', sent: event.sent, total: event.total, resumedParts });
                  if (large) this.#tellUppy(file, event.sent, event.total);
                } else if (event.kind === 'retrying') {
                  status({ state: 'retrying', reason: event.reason });
                } else if (event.kind !== 'resumed') {
                  status({ state: event.kind });
                }
              },
            },
          );
          run.idle.stop();
          status({ state: 'uploaded', result });
          return result;
        } catch (error) {
          if (!this.#runs.has(file.id)) return undefined; // cancelled
          if (run.paused) {
            status({ state: 'paused' });
            await run.whenResumed();
            continue;
          }
          run.idle.stop();
          this.#failed(file, name, describe(run.controller.signal.aborted ? run.controller.signal.reason : error));
          return undefined;
        } finally {
          if (holding) this.#large.release();
        }
      }
    } finally {
      letGo();
      run.idle.stop();
      this.#toldUppy.delete(file.id);
      if (this.#runs.get(file.id) === run) this.#runs.delete(file.id);
    }
  }

  #failed(file: UppyFile<Meta, Body>, name: string, reason: string): void {
    this.opts.onStatus(file, name, { state: 'failed', reason });
    this.uppy.emit('upload-error', this.uppy.getFile(file.id), { name: 'UploadError', message: reason });
  }

  /**
   * Files failed at once (a commit's): their rows, then Uppy's state in one change and one
   * message, not one change per file (each copies every file's entry).
   */
  #failedMany(stored: Stored[], reason: string): void {
    for (const s of stored) this.opts.onStatus(s.file, s.name, { state: 'failed', reason });
    const patch: Record<string, { error: string }> = {};
    for (const s of stored) if (this.uppy.getFile(s.file.id)) patch[s.file.id] = { error: reason };
    this.uppy.patchFilesState(patch);
    this.uppy.info({ message: `${stored.length.toLocaleString('en')} files failed`, details: reason }, 'error', 5000);
  }

  /** Commits the stored files of one drop as one snapshot, then tells each file (and the page) how it went. */
  async #commit(stored: Stored[], target: Target): Promise<void> {
    const puts = new Map<string, RegisterRequest>();
    for (const s of stored) puts.set(s.name, s.result.put);
    const report = (added: number): void => {
      for (const s of stored) this.opts.onStatus(s.file, s.name, { state: 'committing', added, total: puts.size });
    };
    const controller = new AbortController();
    const idle = new IdleTimer(this.#idleMs, (error) => controller.abort(error));
    idle.poke('committing');
    report(0);
    let answer: CommitAnswer;
    try {
      answer = await commitPuts([...puts.values()], {
        api: this.opts.api,
        namespace: target.namespace,
        space: target.space,
        message: this.opts.message(),
        signal: controller.signal,
        reauthenticate: async () => {
          idle.hold();
          await this.opts.reauthenticate();
          idle.poke();
        },
        wait: async (ms) => {
          idle.hold();
          await wait(ms, controller.signal);
          idle.poke();
        },
        report: (event) => {
          if (event.kind === 'committing') {
            idle.poke();
            report(event.added);
          } else
            for (const s of stored) this.opts.onStatus(s.file, s.name, { state: 'retrying', reason: event.reason });
        },
      });
    } catch (error) {
      const reason = describe(controller.signal.aborted ? controller.signal.reason : error);
      this.#failedMany(stored, `the commit failed: ${reason}`);
      this.opts.onCommitFailed(target, reason);
      return;
    } finally {
      idle.stop();
    }
    const version = answer.snapshot?.version ?? null;
    const patch: Record<string, Partial<UppyFile<Meta, Body>>> = {};
    for (const { file, name, result } of stored) {
      this.opts.onStatus(file, name, { state: result.skipped ? 'stored' : 'done', result, version });
      const current = this.uppy.getFile(file.id);
      if (!current) continue;
      patch[file.id] = {
        progress: {
          ...current.progress,
          uploadComplete: true,
          complete: true,
          percentage: 100,
          bytesUploaded: current.progress.bytesTotal ?? result.size,
        },
        response: { status: 200, body: { name, hash: result.put.hash, version } as Body, uploadURL: '' },
        isPaused: false,
      } as Partial<UppyFile<Meta, Body>>;
    }
    // The drop's end in one change of Uppy's state (one upload-success per file would copy every
    // file's entry once per file: seconds of the page's thread for 10,000 files).
    // and with the total progress in the same change: each change re-renders the Dashboard.
    const files = { ...this.uppy.getState().files };
    for (const [id, change] of Object.entries(patch)) {
      const current = files[id];
      if (current) files[id] = { ...current, ...change } as UppyFile<Meta, Body>;
    }
    this.uppy.setState({ files, totalProgress: 100 });
    this.opts.onCommitted(target, answer, puts.size);
  }

  async #hash(
    file: UppyFile<Meta, Body>,
    blob: Blob,
    run: Run,
    status: (s: FileStatus) => void,
    keep: (bytes: Uint8Array) => void,
  ): Promise<string> {
    const known = this.#hashes.get(file.id);
    if (known !== undefined) return known;
    this.opts.onStatus(file, spaceName(file), { state: 'hashing', done: 0, total: blob.size });
    // Only a large file's hashing is worth showing in the Dashboard (each change copies Uppy's state).
    const large = blob.size > SINGLE_SHOT_BYTES;
    const hash = await this.opts.hasher.hash(
      blob,
      (done) => {
        status({ state: 'hashing', done, total: blob.size });
        const current = large && this.uppy.getFile(file.id);
        if (!current) return;
        this.uppy.emit('preprocess-progress', current, {
          mode: 'determinate',
          message: 'Hashing',
          value: done / blob.size,
        });
      },
      run.controller.signal,
      blob.size <= SINGLE_SHOT_BYTES ? keep : undefined,
    );
    if (large && this.uppy.getFile(file.id)) this.uppy.emit('preprocess-complete', this.uppy.getFile(file.id));
    this.#hashes.set(file.id, hash);
    return hash;
  }
}
