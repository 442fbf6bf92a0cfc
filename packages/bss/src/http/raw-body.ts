import type { Readable } from 'node:stream';
import { DreamLakeError } from '@dreamlake/presign';
import type { FastifyInstance, FastifyRequest } from 'fastify';

/**
 * For the routes registered in `scope` (an encapsulated plugin): bodies reach the handler as the
 * raw request stream, never buffered, whatever their Content-Type; and an error answered before
 * the body was read to its end closes the connection, so a large refused body is not drained.
 */
export function streamRawBodies(scope: FastifyInstance): void {
  scope.removeAllContentTypeParsers();
  scope.addContentTypeParser('*', (_request, payload, done) => done(null, payload));
  scope.addHook('onSend', async (request, reply, payload) => {
    if (reply.statusCode >= 400 && !request.raw.readableEnded) void reply.header('connection', 'close');
    return payload;
  });
}

/** The request body as a stream (an empty body may have no parsed payload at all). */
export function bodyStream(request: FastifyRequest): Readable {
  return (request.body as Readable | undefined) ?? request.raw;
}

/** A single-valued header; a repeated one is refused. */
export function headerValue(request: FastifyRequest, name: string): string | undefined {
  const value = request.headers[name];
  if (Array.isArray(value)) throw new DreamLakeError('invalid_request', `the ${name} header is repeated`);
  return value;
}

/** The declared Content-Length, when the request has a well-formed one. */
export function declaredLength(request: FastifyRequest): number | undefined {
  const value = headerValue(request, 'content-length');
  return value !== undefined && /^[0-9]{1,16}$/.test(value) ? Number(value) : undefined;
}
