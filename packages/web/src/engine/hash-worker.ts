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

interface SyncReader {
  readAsArrayBuffer(blob: Blob): ArrayBuffer;
}
const ReaderSync = (globalThis as unknown as { FileReaderSync?: new () => SyncReader }).FileReaderSync;
const syncReader = ReaderSync ? new ReaderSync() : undefined;

async function hash(id: number, blob: Blob): Promise<string> {
  const hasher = await createSHA256();
  hasher.init();
  let lastReport = 0;
  for (let offset = 0; offset < blob.size; offset += SLICE) {
    const slice = blob.slice(offset, Math.min(blob.size, offset + SLICE));
    // FileReaderSync (workers only) reads without a round of promises per slice.
    const bytes = syncReader
      ? new Uint8Array(syncReader.readAsArrayBuffer(slice))
      : new Uint8Array(await slice.arrayBuffer());
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
