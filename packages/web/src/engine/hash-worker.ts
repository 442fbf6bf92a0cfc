/**
 * The hashing worker: SHA-256 of a Blob, read slice by slice (hash-wasm, incremental), so a large
 * file is never in memory at once and the page's thread stays free. Messages in:
 * `{ id, blob }`; out: `{ id, progress }` while hashing, then `{ id, hash }` or `{ id, error }`.
 */
import { createSHA256 } from 'hash-wasm';

const SLICE = 8 * 1024 * 1024;
const AHEAD = 3;

interface WorkerScope {
  onmessage: ((event: MessageEvent<{ id: number; blob: Blob }>) => void) | null;
  postMessage(message: unknown): void;
}

const scope = globalThis as unknown as WorkerScope;

const read = (blob: Blob, offset: number): Promise<ArrayBuffer> =>
  blob.slice(offset, Math.min(blob.size, offset + SLICE)).arrayBuffer();

async function hash(id: number, blob: Blob): Promise<string> {
  const hasher = await createSHA256();
  hasher.init();
  let lastReport = 0;
  // Slices are read ahead (AHEAD at a time) while the one before them is hashed, so reading,
  // the slower half in a browser, overlaps itself and the hashing.
  const pending: Array<Promise<ArrayBuffer>> = [];
  let nextOffset = 0;
  const fill = (): void => {
    while (pending.length < AHEAD && nextOffset < blob.size) {
      pending.push(read(blob, nextOffset));
      nextOffset += SLICE;
    }
  };
  fill();
  let done = 0;
  while (pending.length > 0) {
    const bytes = new Uint8Array(await (pending.shift() as Promise<ArrayBuffer>));
    fill();
    hasher.update(bytes);
    done += bytes.byteLength;
    const now = Date.now();
    if (now - lastReport > 100 || done === blob.size) {
      lastReport = now;
      scope.postMessage({ id, progress: done });
    }
  }
  return hasher.digest('hex');
}

scope.onmessage = (event) => {
  const { id, blob } = event.data;
  hash(id, blob).then(
    (value) => scope.postMessage({ id, hash: value }),
    (error: unknown) => scope.postMessage({ id, error: error instanceof Error ? error.message : String(error) }),
  );
};
