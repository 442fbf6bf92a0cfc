/**
 * The hashing worker: SHA-256 of a Blob (blob-sha256.ts) off the page's thread. Messages in:
 * `{ id, blob, slices? }` (`slices`: read with `Blob.slice` only, not the Blob's stream); out: `{ id, progress }` while hashing, then `{ id, hash }` or `{ id, error, errorName }`.
 * A batch of small files: in `{ id, blobs, keep? }`; out `{ id, alive }` while it works, then
 * `{ id, results }`, each file's `{ hash }` or `{ error, errorName }` in the order given; a file
 * whose `keep` is true has its bytes in its answer (`{ hash, bytes }`, transferred, not copied).
 */
import { createSHA256 } from 'hash-wasm';
import { blobSha256, readIntoBuffer, readSlicesOnly, sha256Many } from './blob-sha256.ts';

/** Progress at most this often: each report updates the queue row and Uppy's Dashboard. */
const PROGRESS_EVERY_MS = 250;

interface WorkerScope {
  onmessage:
    | ((event: MessageEvent<{ id: number; blob?: Blob; slices?: boolean; blobs?: Blob[]; keep?: boolean[] }>) => void)
    | null;
  postMessage(message: unknown, transfer?: Transferable[]): void;
}

const scope = globalThis as unknown as WorkerScope;

function hash(id: number, blob: Blob, slices: boolean): Promise<string> {
  let lastReport = 0;
  const progress = (done: number): void => {
    const now = Date.now();
    if (now - lastReport >= PROGRESS_EVERY_MS || done === blob.size) {
      lastReport = now;
      scope.postMessage({ id, progress: done });
    }
  };
  return blobSha256(blob, progress, slices ? readSlicesOnly : readIntoBuffer);
}

// Compiles hash-wasm's module now, while the page waits for files; each file's hasher reuses it.
void createSHA256();

scope.onmessage = (event) => {
  const { id, blob, slices, blobs, keep } = event.data;
  if (blobs) {
    let lastReport = Date.now();
    const alive = (): void => {
      const now = Date.now();
      if (now - lastReport < PROGRESS_EVERY_MS) return;
      lastReport = now;
      scope.postMessage({ id, alive: true });
    };
    void sha256Many(blobs, alive, keep).then((results) => {
      const kept = results.flatMap((r) => ('bytes' in r && r.bytes ? [r.bytes] : []));
      scope.postMessage({ id, results }, kept);
    });
    return;
  }
  if (!blob) return;
  hash(id, blob, slices === true).then(
    (value) => scope.postMessage({ id, hash: value }),
    (error: unknown) =>
      scope.postMessage({
        id,
        error: error instanceof Error ? error.message : String(error),
        errorName: error instanceof Error ? error.name : undefined,
      }),
  );
};
