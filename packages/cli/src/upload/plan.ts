import { MAX_PART_SIZE, MAX_PARTS, MIN_PART_SIZE } from '@dreamlake/protocol';

/** S3 multipart rules and the part plan (the protocol's): parts of at least 5 MiB (all but the last), at most 10,000 of them. */
export {
  MAX_PART_SIZE,
  MAX_PARTS,
  MIN_PART_SIZE,
  type PartRange,
  partCount,
  partRange,
  planParts,
} from '@dreamlake/protocol';
export const MIB = 1024 * 1024;
/** About this many parts for a file of up to PARTS_WANTED × GROWN_PART_SIZE… */
const PARTS_WANTED = 64;
/** …of at most this size (four of them in flight fit the run's 64 MiB budget). */
export const GROWN_PART_SIZE = 16 * MIB;

/**
 * The part size for a file: 5 MiB, or the smallest whole number of MiB that keeps the file
 * within 10,000 parts.
 */
export function choosePartSize(fileSize: number): number {
  if (!Number.isSafeInteger(fileSize) || fileSize < 0) throw new RangeError(`invalid file size ${fileSize}`);
  const needed = Math.ceil(fileSize / MAX_PARTS);
  // Parts grow with the file up to GROWN_PART_SIZE (about PARTS_WANTED of them), so a large file
  // pays the per-part requests and bookkeeping fewer times; past 10,000 of those, larger still.
  const grown = Math.min(GROWN_PART_SIZE, Math.ceil(fileSize / PARTS_WANTED / MIB) * MIB);
  const size = Math.max(MIN_PART_SIZE, grown, Math.ceil(needed / MIB) * MIB);
  if (size > MAX_PART_SIZE) throw new RangeError(`a file of ${fileSize} bytes is too large for a multipart upload`);
  return size;
}
