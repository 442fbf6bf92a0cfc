import { createHash } from 'node:crypto';
import { open, readFile } from 'node:fs/promises';
import { crc32 } from 'node:zlib';
import { crc32Base64 } from '@dreamlake/protocol';

/**
 * What one read of a file yields: its SHA-256 and the CRC-32 of each part, for a given part size.
 * CRC-32 rather than MD5: the read then runs at the speed of SHA-256 alone. A BSS that wants MD5
 * part checks (S3) gets them computed part by part as the parts go out (`partMd5`).
 */
export interface FileDigest {
  /** 64 lowercase hex. */
  sha256: string;
  partSize: number;
  /** Base64 CRC-32 of each part, part 1 first (what `x-amz-checksum-crc32` carries). */
  partCrc32: string[];
}

/** Files up to this size are read whole in one call. */
const SMALL_READ_BYTES = 1024 * 1024;
/** The buffer a large file is read through, again and again (no buffer per chunk to collect). */
const READ_BUFFER_BYTES = 4 * 1024 * 1024;

/**
 * SHA-256 and per-part CRC-32 over bytes that arrive in order, in chunks of any size (a file read,
 * a download written).
 */
export class DigestBuilder {
  readonly #sha = createHash('sha256');
  readonly #partSize: number;
  readonly #crcs: string[] = [];
  #crc = 0;
  #inPart = 0;
  #total = 0;

  constructor(partSize: number) {
    this.#partSize = partSize;
  }

  update(chunk: Uint8Array): void {
    this.#sha.update(chunk);
    let offset = 0;
    while (offset < chunk.length) {
      const take = Math.min(chunk.length - offset, this.#partSize - this.#inPart);
      this.#crc = crc32(chunk.subarray(offset, offset + take), this.#crc);
      offset += take;
      this.#inPart += take;
      if (this.#inPart === this.#partSize) {
        this.#crcs.push(crc32Base64(this.#crc));
        this.#crc = 0;
        this.#inPart = 0;
      }
    }
    this.#total += chunk.length;
  }

  /** Bytes fed so far. */
  get bytes(): number {
    return this.#total;
  }

  digest(): FileDigest {
    if (this.#inPart > 0 || this.#total === 0) this.#crcs.push(crc32Base64(this.#crc));
    return { sha256: this.#sha.digest('hex'), partSize: this.#partSize, partCrc32: this.#crcs };
  }
}

/** The SHA-256 and per-part CRC-32s of bytes already in memory. */
export function digestBytes(bytes: Buffer, partSize: number): FileDigest {
  const builder = new DigestBuilder(partSize);
  builder.update(bytes);
  return builder.digest();
}

/** Reads the file once, computing the SHA-256 of the whole and the CRC-32 of every part. */
export async function digestFile(
  path: string,
  partSize: number,
  onBytes?: (bytes: number) => void,
  sizeHint?: number,
): Promise<FileDigest> {
  const builder = new DigestBuilder(partSize);
  // A small file in one read of its own size: a shared buffer of the large-file size would be
  // mostly empty, and one per file would churn through gigabytes over 100,000 files.
  if (sizeHint !== undefined && sizeHint <= SMALL_READ_BYTES) {
    const bytes = await readFile(path);
    builder.update(bytes);
    onBytes?.(bytes.length);
    return builder.digest();
  }
  const handle = await open(path, 'r');
  try {
    const buffer = Buffer.allocUnsafeSlow(READ_BUFFER_BYTES);
    for (;;) {
      const { bytesRead } = await handle.read(buffer, 0, buffer.length, null);
      if (bytesRead === 0) break;
      builder.update(buffer.subarray(0, bytesRead));
      onBytes?.(bytesRead);
    }
  } finally {
    await handle.close();
  }
  return builder.digest();
}

/** The buffer a part's MD5 is read through (see `borrowBuffer`). */
const MD5_READ_BYTES = 1024 * 1024;
/** Buffers kept for reuse: as many as parts have their MD5 computed at once in a run, and more. */
const SPARE_BUFFERS = 8;
const spare: Buffer[] = [];

/**
 * A read buffer that outlives its use: one fresh buffer per part's MD5 (4 MiB each, 52 of them
 * for 256 MiB) was garbage V8 frees only once tens of MiB of it had piled up, which made up most
 * of the peak RSS of an upload to S3. Given back with `returnBuffer` once the read is done.
 */
function borrowBuffer(): Buffer {
  return spare.pop() ?? Buffer.allocUnsafeSlow(MD5_READ_BYTES);
}

function returnBuffer(buffer: Buffer): void {
  if (spare.length < SPARE_BUFFERS) spare.push(buffer);
}

/** The base64 MD5 of one byte range of a file (a part's Content-MD5, for a BSS that wants it). */
export async function partMd5(path: string, range: { start: number; end: number }): Promise<string> {
  const md5 = createHash('md5');
  const handle = await open(path, 'r');
  const buffer = borrowBuffer();
  try {
    for (let at = range.start; at < range.end; ) {
      const { bytesRead } = await handle.read(buffer, 0, Math.min(buffer.length, range.end - at), at);
      if (bytesRead === 0) throw new Error(`${path} ended before byte ${range.end}: it changed while being sent`);
      md5.update(buffer.subarray(0, bytesRead));
      at += bytesRead;
    }
  } finally {
    returnBuffer(buffer);
    await handle.close();
  }
  return md5.digest('base64');
}
