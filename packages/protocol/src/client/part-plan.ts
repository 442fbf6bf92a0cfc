import { MAX_PART_SIZE, MAX_PARTS, MIN_PART_SIZE } from '../rules.ts';

export const MIB = 1024 * 1024;
/** About this many parts for a file of up to PARTS_WANTED × GROWN_PART_SIZE… */
const PARTS_WANTED = 64;
/** …of at most this size (four of them in flight fit the CLI's 64 MiB budget). */
export const GROWN_PART_SIZE = 16 * MIB;

/**
 * The part size of a multipart upload, the same for every client: 5 MiB, growing with the file
 * (about 64 parts) up to 16 MiB, and past 10,000 of those the smallest whole number of MiB that
 * keeps the file within 10,000 parts. Larger parts mean fewer part requests and less bookkeeping
 * for a large file; small ones keep a small file's upload spread over several connections.
 */
export function choosePartSize(fileSize: number): number {
  if (!Number.isSafeInteger(fileSize) || fileSize < 0) throw new RangeError(`invalid file size ${fileSize}`);
  const needed = Math.ceil(fileSize / MAX_PARTS);
  const grown = Math.min(GROWN_PART_SIZE, Math.ceil(fileSize / PARTS_WANTED / MIB) * MIB);
  const size = Math.max(MIN_PART_SIZE, grown, Math.ceil(needed / MIB) * MIB);
  if (size > MAX_PART_SIZE) throw new RangeError(`a file of ${fileSize} bytes is too large for a multipart upload`);
  return size;
}
