/**
 * The DreamLake protocol's requests over any `fetch`: the server's API (grants, lookups, register,
 * list, download grants) and BSS's signed JSON steps; the multipart upload engine, its part plan and
 * the bounded pool both clients run their work through. No DOM and no Node: the page runs it on the
 * browser's fetch, a Node program on Node's, and the CLI on its own keep-alive pool.
 */

export { eachLimited, mapLimit, Semaphore } from '../pool.ts';
export { type BackoffOptions, backoffDelay } from './backoff.ts';
export { BssApi, type MultipartInitBody, parseStored } from './bss.ts';
export {
  type AnswerFailure,
  type ErrorFactory,
  isExpired,
  isTransient,
  ProtocolError,
  protocolErrors,
  readFailure,
  retryAfterSeconds,
} from './errors.ts';
export {
  BlobAlreadyStored,
  type GrantSource,
  type MultipartEvents,
  type MultipartOptions,
  type MultipartResult,
  type MultipartState,
  type MultipartStore,
  MultipartUpload,
  type PartIO,
} from './multipart.ts';
export { choosePartSize, GROWN_PART_SIZE, MIB } from './part-plan.ts';
export {
  type AtVersion,
  type CreatedShare,
  type DiffPage,
  type FilePage,
  type FilePageOptions,
  type ListedShare,
  type PageOptions,
  ServerApi,
  type ServerApiOptions,
  type SharedFile,
  type ShareGrantEntry,
  type ShareInfo,
  type ShareRequest,
  type ShareView,
  type SignedSnapshot,
  type SnapshotKey,
  type SnapshotPage,
} from './server.ts';
export {
  type CallOptions,
  type FetchAnswer,
  type FetchInit,
  type FetchLike,
  platformFetch,
  requestJson,
  type Transport,
  transport,
  withQuery,
} from './transport.ts';
