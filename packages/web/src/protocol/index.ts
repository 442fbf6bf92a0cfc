/**
 * The page's protocol: the shared client of `@dreamlake/protocol/client` (the CLI's too) on the
 * browser's fetch, the part plan and the name table. No DOM, no framework.
 */
import { BssApi, transport } from '@dreamlake/protocol/client';

export type { SnapshotPage } from '@dreamlake/protocol/client';
export {
  backoffDelay,
  isExpired,
  isTransient,
  ProtocolError,
  parseStored,
  protocolErrors,
  readFailure,
  Semaphore,
  ServerApi,
  transport,
} from '@dreamlake/protocol/client';
export { detectContentType, detectType } from './names.ts';
export { choosePartSize, MIB, planParts, SINGLE_UPLOAD_MAX_BYTES } from './parts.ts';
export type * from './types.ts';

/** BSS's JSON steps on the browser's fetch. */
export const bss = new BssApi(transport());
