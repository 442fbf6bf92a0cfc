/** How a waiting caller is answered: once, by whoever settles it first. */
export interface Settle<T> {
  resolve(value: T): void;
  reject(error: unknown): void;
}

/**
 * A promise that `start` settles later (a caller waiting in a window shared with others), or that
 * `signal` rejects at once with its reason: a caller that gives up is answered without waiting for
 * the shared work, which goes on for the others.
 */
export function abortable<T>(signal: AbortSignal | undefined, start: (settle: Settle<T>) => void): Promise<T> {
  if (signal?.aborted) return Promise.reject(signal.reason);
  return new Promise<T>((resolve, reject) => {
    const onAbort = (): void => reject(signal?.reason);
    signal?.addEventListener('abort', onAbort, { once: true });
    const done = (): void => signal?.removeEventListener('abort', onAbort);
    start({
      resolve: (value) => {
        done();
        resolve(value);
      },
      reject: (error) => {
        done();
        reject(error);
      },
    });
  });
}
