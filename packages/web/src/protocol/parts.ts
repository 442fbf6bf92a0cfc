import { MAX_PARTS, MIN_PART_SIZE } from '@dreamlake/protocol';

/** The part plan and the single-shot limit are the protocol's rules. */
export { type PartRange, planParts, SINGLE_UPLOAD_MAX_BYTES } from '@dreamlake/protocol';

export const MIB = 1024 * 1024;

/** The page's part size: `preferred` (at least 5 MiB), or the smallest whole MiB count keeping the file within 10,000 parts. */
export function choosePartSize(fileSize: number, preferred = 8 * MIB): number {
  const needed = Math.ceil(fileSize / MAX_PARTS);
  return Math.max(MIN_PART_SIZE, preferred, Math.ceil(needed / MIB) * MIB);
}
