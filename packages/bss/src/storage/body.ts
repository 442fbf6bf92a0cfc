import type { Readable, Writable } from 'node:stream';
import { DreamLakeError } from '@dreamlake/presign';

/**
 * Copies a request body into `out`, calling `onChunk` for each chunk first (it may throw to stop,
 * e.g. past a size limit). Unlike `pipeline`, a refusal only pauses the body instead of destroying
 * the socket, so the client still gets its error response. A body that ends early rejects with
 * `invalid_part`. Resolves once `out` has flushed and closed.
 */
export function copyBody(body: Readable, out: Writable, onChunk: (chunk: Buffer) => void): Promise<void> {
  return new Promise((resolve, reject) => {
    let settled = false;
    let finished = false;
    const settle = (error?: unknown) => {
      if (settled) return;
      settled = true;
      body.off('data', onData);
      body.off('end', onEnd);
      body.off('error', onCut);
      body.off('close', onClose);
      out.off('drain', onDrain);
      if (error === undefined) return resolve();
      body.pause();
      out.destroy();
      reject(error);
    };
    const onData = (chunk: Buffer) => {
      try {
        onChunk(chunk);
      } catch (error) {
        settle(error);
        return;
      }
      if (!out.write(chunk)) body.pause();
    };
    const onDrain = () => body.resume();
    const onEnd = () => out.end();
    const onCut = () => settle(new DreamLakeError('invalid_part', 'the body was cut off before its end'));
    const onClose = () => {
      if (!body.readableEnded) onCut();
    };
    body.on('data', onData);
    body.on('end', onEnd);
    body.on('error', onCut);
    body.on('close', onClose);
    out.on('drain', onDrain);
    out.on('error', (error) => settle(error));
    out.on('finish', () => {
      finished = true;
    });
    out.on('close', () => (finished ? settle() : settle(new Error('the file closed before it was written'))));
    if (body.readableEnded) onEnd();
    else body.resume();
  });
}
