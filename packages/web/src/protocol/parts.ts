/** S3 multipart rules: parts of at least 5 MiB (all but the last), at most 10,000 of them. */
export const MIB = 1024 * 1024;
export const MIN_PART_SIZE = 5 * MIB;
export const MAX_PARTS = 10_000;
/** The server offers a single-shot URL for files up to this size (SINGLE_UPLOAD_MAX_BYTES). */
export const SINGLE_UPLOAD_MAX_BYTES = 16 * MIB;

/** The part size: `preferred` (at least 5 MiB), or the smallest whole MiB count keeping the file within 10,000 parts. */
export function choosePartSize(fileSize: number, preferred = 8 * MIB): number {
  const needed = Math.ceil(fileSize / MAX_PARTS);
  return Math.max(MIN_PART_SIZE, preferred, Math.ceil(needed / MIB) * MIB);
}

export interface PartRange {
  partNumber: number;
  start: number;
  end: number;
}

/** Every part of a file; an empty file still has one (empty) part. */
export function planParts(fileSize: number, partSize: number): PartRange[] {
  const count = Math.max(1, Math.ceil(fileSize / partSize));
  return Array.from({ length: count }, (_, i) => ({
    partNumber: i + 1,
    start: i * partSize,
    end: Math.min(fileSize, (i + 1) * partSize),
  }));
}
