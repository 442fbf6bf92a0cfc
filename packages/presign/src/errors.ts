/**
 * The error family of every DreamLake service lives in `@dreamlake/protocol` (codes, their HTTP
 * status and default messages), shared with the clients; `@dreamlake/service`'s error handler is
 * the one place that turns an error into a response.
 */
export {
  DreamLakeError,
  ERRORS,
  type ErrorBody,
  type ErrorCode,
  isDreamLakeError,
  isErrorCode,
  STATUS_BY_CODE,
} from '@dreamlake/protocol';
