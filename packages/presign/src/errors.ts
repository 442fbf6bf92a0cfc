/**
 * One error family for every DreamLake service. Each failure has a stable string code; the HTTP
 * status for a code is fixed here, and `http/error-handler.ts` is the one place that turns an
 * error into a response.
 */
export const STATUS_BY_CODE = {
  invalid_request: 400,
  malformed_signature: 400,
  invalid_part: 400,
  entity_too_small: 400,
  unauthorized: 401,
  missing_signature: 401,
  bad_signature: 403,
  expired_signature: 403,
  scope_mismatch: 403,
  forbidden: 403,
  not_found: 404,
  method_not_allowed: 405,
  conflict: 409,
  too_large: 413,
  unsupported_media_type: 415,
  range_not_satisfiable: 416,
  hash_mismatch: 422,
  rate_limited: 429,
  internal: 500,
  not_implemented: 501,
  storage_unavailable: 503,
} as const;

export type ErrorCode = keyof typeof STATUS_BY_CODE;

export class DreamLakeError extends Error {
  readonly code: ErrorCode;
  readonly status: number;
  /** Extra fields sent to the client beside code and message (never secrets). */
  readonly details: Record<string, unknown> | undefined;

  constructor(code: ErrorCode, message: string, details?: Record<string, unknown>) {
    super(message);
    this.name = new.target.name;
    this.code = code;
    this.status = STATUS_BY_CODE[code];
    this.details = details;
  }
}

/** The request carries no signature where one is required. */
export class MissingSignatureError extends DreamLakeError {
  constructor(message = 'this URL must be signed (exp and sig query parameters)') {
    super('missing_signature', message);
  }
}

/** The signature does not match the request, its secret, action or lifetime. */
export class BadSignatureError extends DreamLakeError {
  constructor(message = 'signature does not match') {
    super('bad_signature', message);
  }
}

/** The signature was valid but its `exp` has passed. */
export class ExpiredSignatureError extends DreamLakeError {
  constructor(message = 'signature has expired') {
    super('expired_signature', message);
  }
}

/** `exp`, `sig` or a signed parameter is not in the required form (or is repeated). */
export class MalformedSignatureError extends DreamLakeError {
  constructor(message: string) {
    super('malformed_signature', message);
  }
}

/** A request names an owner, project, hash, key or upload outside its signed scope. */
export class ScopeMismatchError extends DreamLakeError {
  constructor(message = 'request is outside the signed scope') {
    super('scope_mismatch', message);
  }
}

export class InvalidRequestError extends DreamLakeError {
  constructor(message: string, details?: Record<string, unknown>) {
    super('invalid_request', message, details);
  }
}

export class NotFoundError extends DreamLakeError {
  constructor(message = 'not found') {
    super('not_found', message);
  }
}

export class ForbiddenError extends DreamLakeError {
  constructor(message = 'forbidden') {
    super('forbidden', message);
  }
}

export class UnauthorizedError extends DreamLakeError {
  constructor(message = 'authentication required') {
    super('unauthorized', message);
  }
}

export class HashMismatchError extends DreamLakeError {
  constructor(message = 'content does not match the signed SHA-256', details?: Record<string, unknown>) {
    super('hash_mismatch', message, details);
  }
}

export class TooLargeError extends DreamLakeError {
  constructor(message: string, details?: Record<string, unknown>) {
    super('too_large', message, details);
  }
}

export function isDreamLakeError(value: unknown): value is DreamLakeError {
  return value instanceof DreamLakeError;
}
