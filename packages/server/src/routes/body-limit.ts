import { DreamLakeError } from '@dreamlake/presign';
import type { FastifyError } from 'fastify';

/**
 * Route options for a body of at most `maxBytes`: a larger one is refused with 413 `too_large`
 * naming the limit (`details.maxBytes`). Every other error goes on to the app's error handler.
 */
export function bodyLimit(maxBytes: number) {
  return {
    bodyLimit: maxBytes,
    errorHandler(error: FastifyError) {
      if (error.code === 'FST_ERR_CTP_BODY_TOO_LARGE') {
        throw new DreamLakeError('too_large', `the request body may be at most ${maxBytes} bytes`, { maxBytes });
      }
      throw error;
    },
  };
}
