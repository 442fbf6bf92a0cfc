/**
 * One error family for every DreamLake service and client. Each failure has a stable string code
 * with a fixed HTTP status and a default message; answers carry it as
 * `{ "error": { "code", "message", ...details } }`. The services turn errors into responses in one
 * place (`@dreamlake/service`'s error handler).
 */
export const ERRORS = {
  invalid_request: { status: 400, message: 'the request is not valid' },
  malformed_signature: { status: 400, message: 'the signature parameters are malformed' },
  invalid_part: { status: 400, message: 'the part is not valid' },
  entity_too_small: { status: 400, message: 'a part other than the last is smaller than 5 MiB' },
  unauthorized: { status: 401, message: 'authentication required' },
  missing_signature: { status: 401, message: 'this URL must be signed (exp and sig query parameters)' },
  bad_signature: { status: 403, message: 'signature does not match' },
  expired_signature: { status: 403, message: 'signature has expired' },
  scope_mismatch: { status: 403, message: 'request is outside the signed scope' },
  forbidden: { status: 403, message: 'forbidden' },
  not_found: { status: 404, message: 'not found' },
  method_not_allowed: { status: 405, message: 'method not allowed' },
  conflict: { status: 409, message: 'the request conflicts with the current state' },
  gone: { status: 410, message: 'gone' },
  too_large: { status: 413, message: 'too large' },
  unsupported_media_type: { status: 415, message: 'unsupported media type' },
  range_not_satisfiable: { status: 416, message: 'the range is not satisfiable' },
  hash_mismatch: { status: 422, message: 'content does not match the signed SHA-256' },
  rate_limited: { status: 429, message: 'too many requests' },
  internal: { status: 500, message: 'internal error' },
  not_implemented: { status: 501, message: 'not implemented' },
  storage_unavailable: { status: 503, message: 'the storage is unavailable' },
  unavailable: { status: 503, message: 'the service is unavailable; try again' },
} as const satisfies Record<string, { status: number; message: string }>;

export type ErrorCode = keyof typeof ERRORS;

/** The HTTP status of each error code. */
export const STATUS_BY_CODE = Object.fromEntries(
  Object.entries(ERRORS).map(([code, { status }]) => [code, status]),
) as { readonly [C in ErrorCode]: (typeof ERRORS)[C]['status'] };

export function isErrorCode(value: unknown): value is ErrorCode {
  return typeof value === 'string' && Object.hasOwn(ERRORS, value);
}

/** The JSON body of every error answer. */
export interface ErrorBody {
  error: { code: ErrorCode; message: string; [detail: string]: unknown };
}

/**
 * Every DreamLake failure: a code (its HTTP status follows), a message and optional details. A
 * failure that wraps another (a database or storage error turned into 503) passes it as `cause`,
 * which is logged but never sent.
 */
export class DreamLakeError extends Error {
  readonly code: ErrorCode;
  readonly status: number;
  /** Extra fields sent to the client beside code and message (never secrets). */
  readonly details: Record<string, unknown> | undefined;

  constructor(code: ErrorCode, message?: string, details?: Record<string, unknown>, options?: ErrorOptions) {
    super(message ?? ERRORS[code].message, options);
    this.name = new.target.name;
    this.code = code;
    this.status = ERRORS[code].status;
    this.details = details;
  }
}

export function isDreamLakeError(value: unknown): value is DreamLakeError {
  return value instanceof DreamLakeError;
}
