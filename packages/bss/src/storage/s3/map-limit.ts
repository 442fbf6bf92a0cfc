/**
 * Runs `fn` over `items` with at most `limit` calls in flight; answers results in input order.
 * At the first failure no further item is started, and the calls already in flight are waited
 * for before that failure is thrown: a caller that cleans up after a failure (aborting a
 * multipart copy) never does so while one of its calls is still running.
 */
export async function mapLimit<T, R>(items: readonly T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const results: R[] = new Array(items.length);
  let next = 0;
  let failure: { error: unknown } | undefined;
  const worker = async () => {
    while (!failure && next < items.length) {
      const index = next++;
      try {
        results[index] = await fn(items[index] as T);
      } catch (error) {
        failure ??= { error };
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  if (failure) throw failure.error;
  return results;
}
