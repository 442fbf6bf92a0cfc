/// <reference lib="dom" />
/**
 * The Uppy uploader that drives our flow. Uppy (core and Dashboard) holds the queue, the drop zone
 * (files and folders, their relative paths kept) and the pause / cancel / retry controls; this
 * plugin hashes each file in a worker, then hands it to `transferFile`.
 */
import { BasePlugin, type Body, type Meta, type PluginOpts, type Uppy, type UppyFile } from '@uppy/core';
import { ProtocolError, type ServerApi } from '../protocol/index.ts';
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
  | { state: 'registering' }
  | { state: 'done'; result: TransferResult }
  | { state: 'stored'; result: TransferResult }
  | { state: 'failed'; reason: string }
  | { state: 'cancelled' };

export interface DreamLakeUploadOptions extends PluginOpts {
  api: ServerApi;
  hasher: Hasher;
  resume: ResumeStore;
  /** Where files go, read when a file starts. */
  target(): { namespace: string; space: string };
  reauthenticate(): Promise<void>;
  onStatus(file: UppyFile<Meta, Body>, name: string, status: FileStatus): void;
  /** Files uploading at once (each also sends several parts at once). */
  limit?: number;
}

/** The file's name in the space: its relative path in a dropped folder, else its name. */
export function spaceName(file: UppyFile<Meta, Body>): string {
  const relative = file.meta.relativePath;
  const name = typeof relative === 'string' && relative !== '' ? relative : (file.name ?? 'file');
  return name.replace(/^\/+/, '');
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
    let next = 0;
    const worker = async (): Promise<void> => {
      while (next < files.length) {
        const file = files[next++];
        if (file && this.uppy.getFile(file.id)) await this.#one(file);
      }
    };
    await Promise.all(Array.from({ length: Math.min(this.opts.limit ?? 3, files.length) }, worker));
  };

  async #one(file: UppyFile<Meta, Body>): Promise<void> {
    const name = spaceName(file);
    const status = (s: FileStatus): void => this.opts.onStatus(file, name, s);
    const run = new Run();
    this.#runs.set(file.id, run);
    const target = this.opts.target();
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
          status({ state: result.skipped ? 'stored' : 'done', result });
          this.uppy.emit('upload-success', this.uppy.getFile(file.id), {
            status: 200,
            body: { name: result.file.name, hash: result.file.hash } as Body,
            uploadURL: '',
          });
          return;
        } catch (error) {
          if (!this.#runs.has(file.id)) return; // cancelled
          if (run.paused) {
            status({ state: 'paused' });
            await run.whenResumed();
            continue;
          }
          const reason =
            error instanceof ProtocolError ? `${error.message} (${error.code})` : (error as Error).message || 'failed';
          status({ state: 'failed', reason });
          this.uppy.emit('upload-error', this.uppy.getFile(file.id), { name: 'UploadError', message: reason });
          return;
        }
      }
    } finally {
      if (this.#runs.get(file.id) === run) this.#runs.delete(file.id);
    }
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
