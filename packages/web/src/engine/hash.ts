/// <reference lib="dom" />
/**
 * SHA-256 of files in Web Workers (`hash-worker.js`, built beside the page's script). A few
 * workers are kept and shared; each hashes one large file at a time, or a batch of small ones
 * (many files to one message and one answer: a folder of 10,000 small files costs the page some
 * hundred round trips to the workers, not 30,000 messages). A worker that says nothing for
 * STALL_MS (no progress, no hash) is replaced and its files hashed again, each alone, by slices.
 */
import { Semaphore } from '@dreamlake/protocol';

/** A worker reports progress every 250 ms while it reads; this long without a word is a stalled read. */
const STALL_MS = 15_000;
/** Hashes of one file started again after a stall before giving up. */
const MAX_STALLS = 2;
/** Files up to this size are hashed in batches: the files waiting when a worker gets free, up to BATCH_FILES and BATCH_BYTES. */
export const BATCH_FILE_BYTES = 1024 * 1024;
const BATCH_FILES = 100;
/**
 * A batch's files are answered this many to a task of the page's thread: each answer sets its
 * file going (grant, upload, queue row), and a hundred of them in one task make a long task on a
 * loaded machine.
 */
const ANSWERS_AT_ONCE = 20;
const BATCH_BYTES = 8 * 1024 * 1024;

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

/** A worker's answer: progress or the hash of one file, or the answers of a batch. */
interface Answer {
  id: number;
  progress?: number;
  hash?: string;
  error?: string;
  errorName?: string;
  /** A batch's worker is still at it (sent every 250 ms or so while it works). */
  alive?: boolean;
  results?: Array<{ hash?: string; bytes?: ArrayBuffer; error?: string; errorName?: string }>;
}

/** A small file waiting for a batch, then in one. */
interface Queued {
  blob: Blob;
  onProgress(bytes: number): void;
  /** Takes the bytes hashed (the file is then read once, for its hash and its upload). */
  keep: ((bytes: Uint8Array) => void) | undefined;
  /** Answered: its hash, its failure, or its caller's abort (a batch's later answer for it is ignored). */
  settled: boolean;
  resolve(hash: string): void;
  reject(error: Error): void;
}

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
  /** Batches in flight, by message id. */
  readonly #batches = new Map<number, (answer: Answer) => void>();
  /** Small files waiting for a worker. */
  #queue: Queued[] = [];
  /** A batch waits for a worker's turn (one at a time: it takes every file waiting when it gets one). */
  #batchWaiting = false;
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
    worker.onmessage = (event: MessageEvent<Answer>) => {
      const { id, progress, hash, error, errorName } = event.data;
      const batch = this.#batches.get(id);
      if (batch) return batch(event.data);
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

  /**
   * The file's SHA-256 (64 lowercase hex); `onProgress` gets the bytes hashed so far (0 once a
   * worker has it). `keep`: a small file's bytes, as hashed, are handed to it before the hash
   * resolves (not when it was hashed again after a stall, by slices).
   */
  async hash(
    blob: Blob,
    onProgress: (bytes: number) => void,
    signal?: AbortSignal,
    keep?: (bytes: Uint8Array) => void,
  ): Promise<string> {
    for (let stalls = 0; ; stalls += 1) {
      try {
        if (stalls === 0 && blob.size <= BATCH_FILE_BYTES)
          return await this.#hashInBatch(blob, onProgress, signal, keep);
        return await this.#hashOnce(blob, onProgress, signal, stalls > 0);
      } catch (error) {
        if (!(error instanceof Stalled) || stalls >= MAX_STALLS) throw error;
      }
    }
  }

  /** A small file's hash, from a batch of the files waiting when a worker gets free. */
  #hashInBatch(
    blob: Blob,
    onProgress: (bytes: number) => void,
    signal: AbortSignal | undefined,
    keep: ((bytes: Uint8Array) => void) | undefined,
  ): Promise<string> {
    return new Promise<string>((resolve, reject) => {
      if (signal?.aborted) return reject(signal.reason ?? new DOMException('aborted', 'AbortError'));
      const onAbort = (): void => job.reject(signal?.reason ?? new DOMException('aborted', 'AbortError'));
      const job: Queued = {
        blob,
        onProgress,
        keep,
        settled: false,
        resolve: (hash) => {
          if (job.settled) return;
          job.settled = true;
          signal?.removeEventListener('abort', onAbort);
          resolve(hash);
        },
        reject: (error) => {
          if (job.settled) return;
          job.settled = true;
          signal?.removeEventListener('abort', onAbort);
          reject(error);
        },
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      this.#queue.push(job);
      this.#dispatch();
    });
  }

  /** Once a worker is free, sends it the small files waiting (up to a batch); the rest wait for the next. */
  #dispatch(): void {
    if (this.#batchWaiting || this.#queue.length === 0) return;
    this.#batchWaiting = true;
    void this.#take().then((slot) => {
      this.#batchWaiting = false;
      const jobs: Queued[] = [];
      let bytes = 0;
      let taken = 0;
      for (const job of this.#queue) {
        if (jobs.length >= BATCH_FILES || (jobs.length > 0 && bytes + job.blob.size > BATCH_BYTES)) break;
        taken += 1;
        if (job.settled) continue; // aborted while it waited
        jobs.push(job);
        bytes += job.blob.size;
      }
      this.#queue = this.#queue.slice(taken);
      this.#dispatch();
      if (jobs.length === 0) return this.#release(slot);
      void this.#runBatch(slot, jobs).finally(() => this.#release(slot));
    });
  }

  async #runBatch(slot: WorkerSlot, jobs: Queued[]): Promise<void> {
    const id = this.#next++;
    await new Promise<void>((done) => {
      let timer: ReturnType<typeof setTimeout> | undefined;
      const watch = (): void => {
        clearTimeout(timer);
        timer = setTimeout(() => {
          this.#batches.delete(id);
          slot.worker.terminate();
          slot.worker = this.#spawn();
          // Each file is hashed again on its own (hash() retries a Stalled one by slices).
          for (const job of jobs) job.reject(new Stalled(`the hashing worker said nothing for ${STALL_MS / 1000} s`));
          done();
        }, STALL_MS);
      };
      this.#batches.set(id, (answer) => {
        watch();
        if (!answer.results) return;
        clearTimeout(timer);
        this.#batches.delete(id);
        const results = answer.results;
        const some = (from: number): void => {
          for (let i = from; i < Math.min(jobs.length, from + ANSWERS_AT_ONCE); i += 1) {
            const result = results[i];
            const job = jobs[i] as Queued;
            if (result?.hash !== undefined) {
              if (result.bytes && !job.settled) job.keep?.(new Uint8Array(result.bytes));
              job.resolve(result.hash);
            } else job.reject(new Error(unreadable(result?.errorName, result?.error)));
          }
          if (from + ANSWERS_AT_ONCE < jobs.length) setTimeout(() => some(from + ANSWERS_AT_ONCE), 0);
        };
        some(0);
        done();
      });
      watch();
      for (const job of jobs) if (!job.settled) job.onProgress(0); // a worker has the file now
      slot.worker.postMessage({
        id,
        blobs: jobs.map((job) => job.blob),
        keep: jobs.map((job) => job.keep !== undefined),
      });
    });
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
