/**
 * Bounded concurrency.
 *
 * @module
 */

/**
 * Runs `fn` over `items` with at most `limit` calls in flight; results keep
 * the input order. `fn` must not throw (return failures as values).
 *
 * @param items inputs
 * @param limit most calls in flight, >= 1
 * @param fn the work
 * @returns the results, in input order
 */
export async function mapLimit<T, R>(
  items: readonly T[],
  limit: number,
  fn: (item: T) => Promise<R>,
): Promise<R[]> {
  const out = new Array<R>(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i] as T);
    }
  };
  const n = Math.max(1, Math.min(limit, items.length));
  await Promise.all(Array.from({ length: n }, worker));
  return out;
}
