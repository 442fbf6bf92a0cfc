import type { ErrorCode } from '@dreamlake/protocol';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { toDreamLakeError } from './error-handler.ts';

declare module 'fastify' {
  interface FastifyRequest {
    /** The error code the request was answered with, once it failed. */
    errorCode: ErrorCode | null;
  }
}

/** One answered request, as metrics see it. */
export interface RequestSample {
  method: string;
  /** The route's pattern (`/orgs/:org/members`), or `unmatched` when no route took the request. */
  route: string;
  status: number;
  /** The error code of a failed request (`bad_signature`, `rate_limited`, …), else `ok`. */
  outcome: ErrorCode | 'ok';
  seconds: number;
  request: FastifyRequest;
  reply: FastifyReply;
}

/** Patterns of the routes a sample names; anything unrouted is one label, so labels stay few. */
export function routeOf(request: FastifyRequest): string {
  return request.is404 ? 'unmatched' : (request.routeOptions.url ?? 'unmatched');
}

/**
 * Calls `record` once per answered request with its route, status, error code and duration.
 * The error code is read off the error the request failed with, as the error handler maps it.
 */
export function observeRequests(app: FastifyInstance, record: (sample: RequestSample) => void): void {
  app.decorateRequest('errorCode', null);
  app.addHook('onError', async (request, _reply, error) => {
    request.errorCode = toDreamLakeError(error).code;
  });
  app.addHook('onResponse', async (request, reply) => {
    record({
      method: request.method,
      route: routeOf(request),
      status: reply.statusCode,
      outcome: request.errorCode ?? (reply.statusCode >= 400 ? toDreamLakeError(reply).code : 'ok'),
      seconds: reply.elapsedTime / 1000,
      request,
      reply,
    });
  });
}
