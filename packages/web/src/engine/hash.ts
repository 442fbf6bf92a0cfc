/// <reference lib="dom" />
/**
 * SHA-256 of files in Web Workers (`hash-worker.js`, built beside the page's script). A few
 * workers are kept and shared; each hashes one file at a time. A worker that says nothing for
 * STALL_MS (no progress, no hash) is replaced and the file hashed again, reading it by slices.
 */
import { Semaphore } from '@dreamlake/protocol';

/** A worker reports progress every 250 ms while it reads; this long without a word is a stalled read. */
const STALL_MS = 15_000;
/** Hashes of one file started again after a stall before giving up. */
const MAX_STALLS = 2;

/**
 * The hashing worker went quiet: worth another worker. Apart from the watchdog's Stalled (idle.ts) on
 * purpose: a run the watchdog aborted rejects with that one, which must fail the file, not retry it.
 */
class Stalled extends Error {}

/** What a failed read of a dropped file means to the user, by the DOMException's name. */
export function unreadable(name: string | undefined, message: string | undefined): string {
  if (name === 'NotFoundError') return 'the file is gone: it was moved or deleted after the drop';
  if (name === 'NotReadableError') {
    return 'the browser cannot read the file: it is not readable (permissions) or it changed after the drop';
  }
  return `hashing failed: ${message ?? 'unknown error'}`;
}

type Pending = { resolve(hash: string): void; reject(error: Error): void; onProgress(bytes: number): void };

interface WorkerSlot {
  worker: Worker;
  busy: boolean;
}

export class Hasher {
  readonly #url: URL;
  /** A turn per worker: who holds one finds a free worker, or room to start one. */
  readonly #turns: Semaphore;
  readonly #slots: WorkerSlot[] = [];
  readonly #pending = new Map<number, Pending>();
  #next = 1;

  constructor(workerUrl: URL, maxWorkers = 2) {
    this.#url = workerUrl;
    this.#turns = new Semaphore(maxWorkers);
  }

  async #take(): Promise<WorkerSlot> {
    await this.#turns.acquire();
    const free = this.#slots.find((s) => !s.busy);
    if (free) {
      free.busy = true;
      return free;
    }
    const slot = { worker: this.#spawn(), busy: true };
    this.#slots.push(slot);
    return slot;
  }

  /** Starts a worker ahead of the first file, so its start and WebAssembly compile are not on the clock. */
  warm(): void {
    if (this.#slots.length === 0) this.#slots.push({ worker: this.#spawn(), busy: false });
  }

  #spawn(): Worker {
    const worker = new Worker(this.#url, { type: 'module' });
    worker.onmessage = (
      event: MessageEvent<{ id: number; progress?: number; hash?: string; error?: string; errorName?: string }>,
    ) => {
      const { id, progress, hash, error, errorName } = event.data;
      const pending = this.#pending.get(id);
      if (!pending) return;
      if (progress !== undefined) pending.onProgress(progress);
      else if (hash !== undefined) pending.resolve(hash);
      else pending.reject(new Error(unreadable(errorName, error)));
    };
    return worker;
  }

  #release(slot: WorkerSlot): void {
    slot.busy = false;
    this.#turns.release();
  }

  /** The file's SHA-256 (64 lowercase hex); `onProgress` gets the bytes hashed so far (0 once a worker has it). */
  async hash(blob: Blob, onProgress: (bytes: number) => void, signal?: AbortSignal): Promise<string> {
    for (let stalls = 0; ; stalls += 1) {
      try {
        return await this.#hashOnce(blob, onProgress, signal, stalls > 0);
      } catch (error) {
        if (!(error instanceof Stalled) || stalls >= MAX_STALLS) throw error;
      }
    }
  }

  async #hashOnce(
    blob: Blob,
    onProgress: (bytes: number) => void,
    signal: AbortSignal | undefined,
    slices: boolean,
  ): Promise<string> {
    const slot = await this.#take();
    const id = this.#next++;
    try {
      return await new Promise<string>((resolve, reject) => {
        let timer: ReturnType<typeof setTimeout> | undefined;
        const replaceWorker = (): void => {
          slot.worker.terminate();
          slot.worker = this.#spawn();
        };
        const settle = (): void => {
          clearTimeout(timer);
          signal?.removeEventListener('abort', onAbort);
        };
        const onAbort = (): void => {
          // The worker is busy with a file nobody wants: replace it.
          settle();
          replaceWorker();
          reject(signal?.reason ?? new DOMException('aborted', 'AbortError'));
        };
        const watch = (): void => {
          clearTimeout(timer);
          timer = setTimeout(() => {
            settle();
            replaceWorker();
            reject(new Stalled(`the hashing worker said nothing for ${STALL_MS / 1000} s`));
          }, STALL_MS);
        };
        if (signal?.aborted) return onAbort();
        signal?.addEventListener('abort', onAbort, { once: true });
        this.#pending.set(id, {
          resolve: (hash) => {
            settle();
            resolve(hash);
          },
          reject: (error) => {
            settle();
            reject(error);
          },
          onProgress: (bytes) => {
            watch();
            onProgress(bytes);
          },
        });
        watch();
        onProgress(0); // a worker has the file now
        slot.worker.postMessage({ id, blob, slices });
      });
    } finally {
      this.#pending.delete(id);
      this.#release(slot);
    }
  }
}
