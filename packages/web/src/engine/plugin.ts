/// <reference lib="dom" />
/**
 * The Uppy uploader that drives our flow. Uppy (core and Dashboard) holds the queue, the drop zone
 * (files and folders, their relative paths kept) and the pause / cancel / retry controls; this
 * plugin hashes each file in a worker, hands it to `transferFile`, and once every file of the drop
 * is stored commits their names together: one drop, one snapshot.
 */
import { BasePlugin, type Body, type Meta, type PluginOpts, type Uppy, type UppyFile } from '@uppy/core';
import { type CommitAnswer, ProtocolError, type RegisterRequest, type ServerApi } from '../protocol/index.ts';
import { commitPuts } from './commit.ts';
import type { Hasher } from './hash.ts';
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
  /** Files uploading at once (each also sends several parts at once). */
  limit?: number;
}

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
  #resume: (() => void) | undefined;

  pause(): void {
    this.paused = true;
    this.controller.abort(new DOMException('paused', 'AbortError'));
  }

  resume(): void {
    this.paused = false;
    this.controller = new AbortController();
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

export class DreamLakeUpload extends BasePlugin<DreamLakeUploadOptions, Meta, Body> {
  readonly #runs = new Map<string, Run>();

  constructor(uppy: Uppy<Meta, Body>, opts: DreamLakeUploadOptions) {
    super(uppy, opts);
    this.type = 'uploader';
    this.id = opts.id ?? 'DreamLakeUpload';
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
    run.controller.abort(new DOMException('cancelled', 'AbortError'));
    this.opts.onStatus(file, spaceName(file), { state: 'cancelled' });
    const hash = file.meta.sha256;
    if (typeof hash === 'string' && file.data instanceof Blob) {
      void abandonUpload(this.opts.api, this.opts.resume, this.opts.target(), {
        blob: file.data,
        name: spaceName(file),
        hash,
      });
    }
  };

  #upload = async (fileIDs: string[]): Promise<void> => {
    const files = this.uppy.getFilesByIds(fileIDs);
    this.uppy.emit('upload-start', files);
    // The whole drop goes to the space chosen when it started, and lands there as one snapshot.
    const target = this.opts.target();
    const stored: Stored[] = [];
    let next = 0;
    const worker = async (): Promise<void> => {
      while (next < files.length) {
        const file = files[next++];
        if (!file || !this.uppy.getFile(file.id)) continue;
        const result = await this.#one(file, target);
        if (result) stored.push({ file, name: spaceName(file), result });
      }
    };
    await Promise.all(Array.from({ length: Math.min(this.opts.limit ?? 3, files.length) }, worker));
    // A file taken out of the Dashboard after its blob was stored is not committed.
    const kept = stored.filter((s) => this.uppy.getFile(s.file.id));
    if (kept.length > 0) await this.#commit(kept, target);
  };

  /** Hashes and stores one file's blob: its entry for the commit, or undefined (failed or cancelled). */
  async #one(file: UppyFile<Meta, Body>, target: Target): Promise<TransferResult | undefined> {
    const name = spaceName(file);
    const status = (s: FileStatus): void => this.opts.onStatus(file, name, s);
    const run = new Run();
    this.#runs.set(file.id, run);
    const blob = file.data as Blob;
    let resumedParts: string | undefined;
    try {
      for (;;) {
        try {
          const hash = await this.#hash(file, blob, run, status);
          const signal = run.controller.signal;
          const result = await transferFile(
            { blob, name, hash },
            {
              api: this.opts.api,
              namespace: target.namespace,
              space: target.space,
              resume: this.opts.resume,
              signal,
              reauthenticate: this.opts.reauthenticate,
              wait,
              report: (event: TransferEvent) => {
                // What an attempt that was paused or cancelled still says is no longer true.
                if (signal.aborted) return;
                if (event.kind === 'resumed') resumedParts = `${event.partsDone} of ${event.partsTotal}`;
                if (event.kind === 'uploading') {
                  status({ state: 'uploading', sent: event.sent, total: event.total, resumedParts });
                  this.uppy.emit('upload-progress', this.uppy.getFile(file.id), {
                    uploadStarted: file.progress.uploadStarted ?? Date.now(),
                    bytesUploaded: event.sent,
                    bytesTotal: event.total,
                  });
                } else if (event.kind === 'retrying') {
                  status({ state: 'retrying', reason: event.reason });
                } else if (event.kind !== 'resumed') {
                  status({ state: event.kind });
                }
              },
            },
          );
          status({ state: 'uploaded', result });
          return result;
        } catch (error) {
          if (!this.#runs.has(file.id)) return undefined; // cancelled
          if (run.paused) {
            status({ state: 'paused' });
            await run.whenResumed();
            continue;
          }
          this.#failed(file, name, describe(error));
          return undefined;
        }
      }
    } finally {
      if (this.#runs.get(file.id) === run) this.#runs.delete(file.id);
    }
  }

  #failed(file: UppyFile<Meta, Body>, name: string, reason: string): void {
    this.opts.onStatus(file, name, { state: 'failed', reason });
    this.uppy.emit('upload-error', this.uppy.getFile(file.id), { name: 'UploadError', message: reason });
  }

  /** Commits the stored files of one drop as one snapshot, then tells each file (and the page) how it went. */
  async #commit(stored: Stored[], target: Target): Promise<void> {
    // A name twice in one drop: the file added last is the one committed.
    const puts = new Map<string, RegisterRequest>();
    for (const s of stored) puts.set(s.name, s.result.put);
    const report = (added: number): void => {
      for (const s of stored) this.opts.onStatus(s.file, s.name, { state: 'committing', added, total: puts.size });
    };
    report(0);
    let answer: CommitAnswer;
    try {
      answer = await commitPuts([...puts.values()], {
        api: this.opts.api,
        namespace: target.namespace,
        space: target.space,
        message: this.opts.message(),
        reauthenticate: this.opts.reauthenticate,
        wait: (ms) => wait(ms, new AbortController().signal),
        report: (event) => {
          if (event.kind === 'committing') report(event.added);
          else for (const s of stored) this.opts.onStatus(s.file, s.name, { state: 'retrying', reason: event.reason });
        },
      });
    } catch (error) {
      const reason = describe(error);
      for (const s of stored) this.#failed(s.file, s.name, `the commit failed: ${reason}`);
      this.opts.onCommitFailed(target, reason);
      return;
    }
    const version = answer.snapshot?.version ?? null;
    for (const { file, name, result } of stored) {
      this.opts.onStatus(file, name, { state: result.skipped ? 'stored' : 'done', result, version });
      this.uppy.emit('upload-success', this.uppy.getFile(file.id), {
        status: 200,
        body: { name, hash: result.put.hash, version } as Body,
        uploadURL: '',
      });
    }
    this.opts.onCommitted(target, answer, puts.size);
  }

  async #hash(file: UppyFile<Meta, Body>, blob: Blob, run: Run, status: (s: FileStatus) => void): Promise<string> {
    const known = this.uppy.getFile(file.id)?.meta.sha256;
    if (typeof known === 'string') return known;
    status({ state: 'hashing', done: 0, total: blob.size });
    const hash = await this.opts.hasher.hash(
      blob,
      (done) => {
        status({ state: 'hashing', done, total: blob.size });
        this.uppy.emit('preprocess-progress', this.uppy.getFile(file.id), {
          mode: 'determinate',
          message: 'Hashing',
          value: blob.size === 0 ? 1 : done / blob.size,
        });
      },
      run.controller.signal,
    );
    this.uppy.emit('preprocess-complete', this.uppy.getFile(file.id));
    this.uppy.setFileMeta(file.id, { sha256: hash });
    return hash;
  }
}
