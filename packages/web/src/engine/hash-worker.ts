/**
 * The hashing worker: SHA-256 of a Blob, read slice by slice (hash-wasm, incremental), so a large
 * file is never in memory at once and the page's thread stays free. Messages in:
 * `{ id, blob }`; out: `{ id, progress }` while hashing, then `{ id, hash }` or `{ id, error }`.
 */
import { createSHA256 } from 'hash-wasm';

const SLICE = 8 * 1024 * 1024;

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
  // One slice is read ahead while the one before it is hashed, so reading and hashing overlap.
  let next = blob.size > 0 ? read(blob, 0) : undefined;
  for (let offset = 0; next; offset += SLICE) {
    const bytes = new Uint8Array(await next);
    next = offset + SLICE < blob.size ? read(blob, offset + SLICE) : undefined;
    hasher.update(bytes);
    const done = Math.min(blob.size, offset + SLICE);
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
