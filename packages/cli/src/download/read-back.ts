import type { FileHandle } from 'node:fs/promises';
import { CliError } from '../errors.ts';
import { DigestBuilder } from '../transfer/digest.ts';
import { choosePartSize } from '../transfer/plan.ts';

/**
 * Bytes read back per read when hashing a written range. Every file fetched in ranges holds one
 * such buffer while it downloads (up to 16 files at once): a larger buffer hashes no faster
 * from the page cache and holds more memory (docs/benchmarks.md, "Measurements behind choices
 * in the code").
 */
export const READ_BUFFER = 256 * 1024;

/**
 * The SHA-256 of a file as it is written, with its upload part CRC-32s (the shape the hash cache
 * keeps): a downloaded file is then known to the next upload or download without a read.
 */
export function fileDigest(size: number): DigestBuilder {
  return new DigestBuilder(choosePartSize(size));
}

/** Feeds bytes [start, end) of the file to the digest, in order. */
export async function hashRange(
  handle: FileHandle,
  builder: DigestBuilder,
  start: number,
  end: number,
  buffer: Buffer = Buffer.allocUnsafe(Math.min(READ_BUFFER, Math.max(1, end - start))),
): Promise<void> {
  for (let position = start; position < end; ) {
    const { bytesRead } = await handle.read(buffer, 0, Math.min(buffer.length, end - position), position);
    if (bytesRead === 0) throw new CliError('the partial file is shorter than expected');
    builder.update(buffer.subarray(0, bytesRead));
    position += bytesRead;
  }
}
