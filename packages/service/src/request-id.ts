import { randomUUID } from 'node:crypto';
import {
  type FastifyInstance,
  type FastifyServerOptions,
  LogController,
  type RawRequestDefaultExpression,
} from 'fastify';

/** The header a client names its operation with, and every answer carries. */
export const REQUEST_ID_HEADER = 'x-request-id';

/** An id a client may choose: short, and safe to write into a log line or a header. */
const CLIENT_ID = /^[A-Za-z0-9._:-]{1,128}$/;

/** The client's id when it sent a usable one, else a fresh UUID. */
export function requestIdOf(request: RawRequestDefaultExpression): string {
  const sent = request.headers[REQUEST_ID_HEADER];
  const value = Array.isArray(sent) ? sent[0] : sent;
  return value !== undefined && CLIENT_ID.test(value) ? value : randomUUID();
}

/**
 * Fastify options for request ids: the id comes from `x-request-id` when the client sent a valid
 * one (the CLI and the web page send one per file operation), and every log line of the request
 * carries it as `requestId`.
 */
export function requestIdOptions(): Pick<FastifyServerOptions, 'genReqId' | 'logController' | 'requestIdHeader'> {
  return {
    requestIdHeader: false,
    genReqId: requestIdOf,
    logController: new LogController({ requestIdLogLabel: 'requestId' }),
  };
}

/** Every answer names its request id, so a client can quote it and an operator grep for it. */
export function echoRequestIds(app: FastifyInstance): void {
  app.addHook('onRequest', async (request, reply) => {
    void reply.header(REQUEST_ID_HEADER, request.id);
  });
}
