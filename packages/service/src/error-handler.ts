import { DreamLakeError, type ErrorCode } from '@dreamlake/protocol';
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';

export interface ErrorBody {
  error: { code: ErrorCode; message: string; [key: string]: unknown };
}

function pathOf(request: FastifyRequest): string {
  const q = request.url.indexOf('?');
  return q === -1 ? request.url : request.url.slice(0, q);
}

/** Fastify's own client errors, by their codes, mapped onto ours. */
const FRAMEWORK_CODES: Record<string, ErrorCode> = {
  FST_ERR_CTP_BODY_TOO_LARGE: 'too_large',
  FST_ERR_CTP_INVALID_MEDIA_TYPE: 'unsupported_media_type',
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: 'invalid_request',
  FST_ERR_CTP_EMPTY_JSON_BODY: 'invalid_request',
  FST_ERR_CTP_INVALID_JSON_BODY: 'invalid_request',
  FST_ERR_VALIDATION: 'invalid_request',
};

/** The code for another framework client error, by its status (never a signature code). */
const GENERIC_CODE_BY_STATUS: Record<number, ErrorCode> = {
  401: 'unauthorized',
  403: 'forbidden',
  404: 'not_found',
  405: 'method_not_allowed',
  409: 'conflict',
  413: 'too_large',
  415: 'unsupported_media_type',
  416: 'range_not_satisfiable',
};

/** Turns any thrown value into our error family; unknown errors become a bare `internal`. */
export function toDreamLakeError(error: unknown): DreamLakeError {
  if (error instanceof DreamLakeError) return error;
  const e = error as Partial<FastifyError> & { statusCode?: number };
  const mapped = e.code ? FRAMEWORK_CODES[e.code] : undefined;
  if (mapped) return new DreamLakeError(mapped, e.message ?? mapped);
  if (e.statusCode === 429) return new DreamLakeError('rate_limited', e.message ?? 'too many requests');
  if (typeof e.statusCode === 'number' && e.statusCode >= 400 && e.statusCode < 500) {
    return new DreamLakeError(GENERIC_CODE_BY_STATUS[e.statusCode] ?? 'invalid_request', e.message ?? 'bad request');
  }
  return new DreamLakeError('internal', 'internal error');
}

export function errorBody(error: DreamLakeError): ErrorBody {
  return { error: { ...error.details, code: error.code, message: error.message } };
}

/**
 * The one place errors become HTTP: every error answers `{ error: { code, message } }` with the
 * code's status. Unknown errors are logged and answered as a generic 500 without their message;
 * other failures of the service are logged as errors, a deliberate `unavailable` as a warning.
 */
export function registerErrorHandling(app: FastifyInstance): void {
  app.setErrorHandler((error: unknown, request: FastifyRequest, reply: FastifyReply) => {
    const mapped = toDreamLakeError(error);
    // A deliberate refusal to take more work (a budget full, a queue too long) is the service
    // working as meant: a warning an operator may count, not an error to page on.
    if (mapped.code === 'unavailable') request.log.warn({ code: mapped.code }, mapped.message);
    else if (mapped.status >= 500) request.log.error({ err: error }, 'request failed');
    const headers = (error as { headers?: Record<string, string> }).headers;
    if (headers?.['retry-after']) void reply.header('retry-after', headers['retry-after']);
    return reply.code(mapped.status).type('application/json').send(errorBody(mapped));
  });
  app.setNotFoundHandler((request, reply) => {
    const err = new DreamLakeError('not_found', `no route for ${request.method} ${pathOf(request)}`);
    return reply.code(404).send(errorBody(err));
  });
}

/**
 * Fastify's refusals before a route is found (a URL that does not decode, a path parameter over
 * its length limit), for its `frameworkErrors` option: the same JSON shape as every other error.
 */
export function frameworkErrors(error: FastifyError, _request: FastifyRequest, reply: FastifyReply): void {
  const mapped = toDreamLakeError(error);
  void reply.code(mapped.status).type('application/json').send(errorBody(mapped));
}
