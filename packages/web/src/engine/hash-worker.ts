/**
 * The hashing worker: SHA-256 of a Blob, read piece by piece (hash-wasm, incremental), so a large
 * file is never in memory at once and the page's thread stays free. Messages in:
 * `{ id, blob }`; out: `{ id, progress }` while hashing, then `{ id, hash }` or `{ id, error }`.
 */
import { createSHA256, type IHasher } from 'hash-wasm';

/** The one buffer the file's bytes are read into, over and over. */
const BUFFER = 4 * 1024 * 1024;
/** Slices for browsers whose Blob streams take no buffer of ours. */
const SLICE = 8 * 1024 * 1024;
const AHEAD = 3;
/** Progress at most this often: each report updates the queue row and Uppy's Dashboard. */
const PROGRESS_EVERY_MS = 250;

interface WorkerScope {
  onmessage: ((event: MessageEvent<{ id: number; blob: Blob }>) => void) | null;
  postMessage(message: unknown): void;
}

const scope = globalThis as unknown as WorkerScope;

/**
 * Reads into one reused buffer (a BYOB reader). In Chromium this costs about half the CPU of
 * `blob.slice().arrayBuffer()`, which allocates, fills and later collects a new ArrayBuffer per
 * slice: measured 0.6 to 1 s against 1.8 to 2.7 s of CPU to read 256 MiB, and reading was the
 * larger half of hashing a file in the page.
 */
async function readIntoBuffer(blob: Blob, onBytes: (bytes: Uint8Array) => void): Promise<boolean> {
  let reader: ReadableStreamBYOBReader;
  try {
    reader = blob.stream().getReader({ mode: 'byob' });
  } catch {
    return false; // not a byte stream in this browser
  }
  let buffer = new ArrayBuffer(BUFFER);
  for (;;) {
    const { done, value } = await reader.read(new Uint8Array(buffer, 0, BUFFER));
    if (done || !value) return true;
    onBytes(value);
    buffer = value.buffer; // the same memory, handed back by the stream
  }
}

/** Reads slices ahead (AHEAD at a time) while the one before them is hashed. */
async function readSlices(blob: Blob, onBytes: (bytes: Uint8Array) => void): Promise<void> {
  const read = (offset: number): Promise<ArrayBuffer> =>
    blob.slice(offset, Math.min(blob.size, offset + SLICE)).arrayBuffer();
  const pending: Array<Promise<ArrayBuffer>> = [];
  let nextOffset = 0;
  const fill = (): void => {
    while (pending.length < AHEAD && nextOffset < blob.size) {
      pending.push(read(nextOffset));
      nextOffset += SLICE;
    }
  };
  fill();
  while (pending.length > 0) {
    const bytes = new Uint8Array(await (pending.shift() as Promise<ArrayBuffer>));
    fill();
    onBytes(bytes);
  }
}

async function hash(id: number, blob: Blob): Promise<string> {
  const hasher: IHasher = await createSHA256();
  hasher.init();
  let done = 0;
  let lastReport = 0;
  const onBytes = (bytes: Uint8Array): void => {
    hasher.update(bytes);
    done += bytes.byteLength;
    const now = Date.now();
    if (now - lastReport >= PROGRESS_EVERY_MS || done === blob.size) {
      lastReport = now;
      scope.postMessage({ id, progress: done });
    }
  };
  if (!(await readIntoBuffer(blob, onBytes))) await readSlices(blob, onBytes);
  if (done !== blob.size) throw new Error(`read ${done} of the file's ${blob.size} bytes (was it changed?)`);
  return hasher.digest('hex');
}

// Compiles hash-wasm's module now, while the page waits for files; each file's hasher reuses it.
void createSHA256();

scope.onmessage = (event) => {
  const { id, blob } = event.data;
  hash(id, blob).then(
    (value) => scope.postMessage({ id, hash: value }),
    (error: unknown) => scope.postMessage({ id, error: error instanceof Error ? error.message : String(error) }),
  );
};
