/**
 * The error family of every DreamLake service lives in `@dreamlake/protocol` (codes, their HTTP
 * status and default messages), shared with the clients; `http/error-handler.ts` is the one place
 * that turns an error into a response.
 */
export {
  BadSignatureError,
  DreamLakeError,
  ERRORS,
  type ErrorBody,
  type ErrorCode,
  ExpiredSignatureError,
  ForbiddenError,
  HashMismatchError,
  InvalidRequestError,
  isDreamLakeError,
  isErrorCode,
  MalformedSignatureError,
  MissingSignatureError,
  NotFoundError,
  ScopeMismatchError,
  STATUS_BY_CODE,
  TooLargeError,
  UnauthorizedError,
} from '@dreamlake/protocol';
