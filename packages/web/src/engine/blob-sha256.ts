/**
 * SHA-256 of a Blob, read piece by piece (hash-wasm, incremental), so a large file is never in
 * memory at once. Runs in the hashing worker; plain enough to be tested in Node too.
 */
import { createSHA256 } from 'hash-wasm';

/** The one buffer the file's bytes are read into, over and over. */
const BUFFER = 4 * 1024 * 1024;
/** Slices for browsers whose Blob streams take no buffer of ours. */
const SLICE = 8 * 1024 * 1024;
const AHEAD = 3;

/**
 * Reads into one reused buffer (a BYOB reader); false when the browser's Blob stream is no byte
 * stream. In Chromium this costs far less CPU than `blob.slice().arrayBuffer()`, which
 * allocates, fills and later collects a new ArrayBuffer per slice, and reading is the larger half
 * of hashing in the page (docs/web.md, "Limits and measured speed").
 */
export async function readIntoBuffer(blob: Blob, onBytes: (bytes: Uint8Array) => void): Promise<boolean> {
  let reader: ReadableStreamBYOBReader;
  try {
    reader = blob.stream().getReader({ mode: 'byob' });
  } catch {
    return false;
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
export async function readSlices(blob: Blob, onBytes: (bytes: Uint8Array) => void): Promise<void> {
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

/** Reads the slices only (never the Blob's stream): what a hash started again after a stalled read uses. */
export async function readSlicesOnly(blob: Blob, onBytes: (bytes: Uint8Array) => void): Promise<boolean> {
  await readSlices(blob, onBytes);
  return true;
}

/**
 * The SHA-256 (64 lowercase hex); `onBytes` gets the count hashed so far after each piece. A file
 * of one slice or less is read in one piece: in Chromium a BYOB read of a small file's stream in
 * the worker was seen never to resolve (about one file in 300 of a dropped folder, under load).
 */
export async function blobSha256(
  blob: Blob,
  onBytes: (done: number) => void,
  read: (blob: Blob, onBytes: (bytes: Uint8Array) => void) => Promise<boolean> = readIntoBuffer,
): Promise<string> {
  const hasher = await createSHA256();
  hasher.init();
  let done = 0;
  const update = (bytes: Uint8Array): void => {
    hasher.update(bytes);
    done += bytes.byteLength;
    onBytes(done);
  };
  if (blob.size <= SLICE) {
    if (blob.size > 0) update(new Uint8Array(await blob.arrayBuffer()));
  } else if (!(await read(blob, update))) await readSlices(blob, update);
  if (done !== blob.size) throw new Error(`read ${done} of the file's ${blob.size} bytes (was it changed?)`);
  return hasher.digest('hex');
}

/** One small file's answer in a batch: its SHA-256 (and the bytes hashed, when kept), or why it could not be read. */
export type ManyResult = { hash: string; bytes?: ArrayBuffer } | { error: string; errorName?: string };

/** How many files of a batch are read ahead of the one being hashed. */
const MANY_AHEAD = 8;

/**
 * The SHA-256 of each of many small Blobs (each read in one piece, as `blobSha256` reads a small
 * file), with one hasher for them all; `onFile` is called after each. One file's failure is its
 * own answer: the others are hashed. `keep[i]`: file i's answer carries the bytes hashed, for
 * its upload to send without reading the file again.
 */
export async function sha256Many(
  blobs: Blob[],
  onFile: () => void = () => {},
  keep: readonly boolean[] = [],
): Promise<ManyResult[]> {
  const hasher = await createSHA256();
  const read = (blob: Blob): Promise<ArrayBuffer> =>
    blob.size === 0 ? Promise.resolve(new ArrayBuffer(0)) : blob.arrayBuffer();
  const reads: Array<Promise<ArrayBuffer>> = [];
  const readAhead = (upTo: number): void => {
    while (reads.length < Math.min(blobs.length, upTo)) {
      const reading = read(blobs[reads.length] as Blob);
      reading.catch(() => {}); // answered in order below
      reads.push(reading);
    }
  };
  const results: ManyResult[] = [];
  for (let i = 0; i < blobs.length; i += 1) {
    readAhead(i + MANY_AHEAD);
    const blob = blobs[i] as Blob;
    try {
      const bytes = await (reads[i] as Promise<ArrayBuffer>);
      reads[i] = Promise.resolve(new ArrayBuffer(0)); // let the bytes go
      if (bytes.byteLength !== blob.size) {
        throw new Error(`read ${bytes.byteLength} of the file's ${blob.size} bytes (was it changed?)`);
      }
      hasher.init();
      hasher.update(new Uint8Array(bytes));
      const hash = hasher.digest('hex');
      results.push(keep[i] ? { hash, bytes } : { hash });
    } catch (error) {
      results.push({
        error: error instanceof Error ? error.message : String(error),
        errorName: error instanceof Error ? error.name : undefined,
      });
    }
    onFile();
  }
  return results;
}
