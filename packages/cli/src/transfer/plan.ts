/**
 * S3 multipart rules and the part plan, the protocol's (the page plans its parts by the same rule):
 * parts of at least 5 MiB (all but the last), at most 10,000 of them.
 */
export {
  MAX_PART_SIZE,
  MAX_PARTS,
  MIN_PART_SIZE,
  type PartRange,
  partCount,
  partRange,
  planParts,
} from '@dreamlake/protocol';
export { choosePartSize, GROWN_PART_SIZE, MIB } from '@dreamlake/protocol/client';
