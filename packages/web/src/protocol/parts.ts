/** The part plan, the part size and the single-shot limit are the protocol's rules (the CLI's too). */
export { type PartRange, planParts, SINGLE_UPLOAD_MAX_BYTES } from '@dreamlake/protocol';
export { choosePartSize, MIB } from '@dreamlake/protocol/client';
