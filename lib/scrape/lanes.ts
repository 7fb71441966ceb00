/**
 * Bounded concurrency in two lanes, so that work that hangs costs only
 * itself.
 *
 * The fast lane has a small number of slots. A call still running after
 * `slowAfterMs` leaves its fast slot for a slot of the slow lane (when one is
 * free) and goes on there until it ends, so the calls behind it do not wait.
 * Items marked as suspects (they hung last time) start in the slow lane and
 * never take a fast slot. At most `fast + slow` calls are in flight.
 *
 * @module
 */

import { untilAborted } from "../base/clock.ts";

/** Lane sizes and the hand-over time. */
export interface LaneOptions {
  /** Calls in flight in the fast lane, >= 1. */
  readonly fast: number;
  /** Calls in flight in the slow lane, >= 0. */
  readonly slow: number;
  /** Time after which a running call leaves its fast slot, ms. */
  readonly slowAfterMs: number;
  /** A signal that aborts after `ms` (the clock's `timeout`). */
  readonly timer: (ms: number) => AbortSignal;
}

/**
 * Runs `fn` over `items` in two lanes; results keep the input order. `fn`
 * must not throw (return failures as values) and must end on its own
 * (carry its own timeout).
 *
 * @param items inputs
 * @param suspect items that start in the slow lane
 * @param opts lane sizes and hand-over time
 * @param fn the work
 * @returns the results, in input order
 */
export async function mapLanes<T, R>(
  items: readonly T[],
  suspect: (item: T) => boolean,
  opts: LaneOptions,
  fn: (item: T) => Promise<R>,
): Promise<R[]> {
  const out = new Array<R>(items.length);
  const fastQueue: number[] = [];
  const slowQueue: number[] = [];
  items.forEach((it, i) => (opts.slow > 0 && suspect(it) ? slowQueue : fastQueue).push(i));
  let slowFree = opts.slow;
  const slowWaiters: (() => void)[] = [];
  const releaseSlow = () => {
    const next = slowWaiters.shift();
    if (next !== undefined) next();
    else slowFree++;
  };
  const inSlowLane: Promise<void>[] = [];
  const start = (i: number) => fn(items[i] as T).then((r) => void (out[i] = r));

  let nextFast = 0;
  const fastWorker = async () => {
    while (nextFast < fastQueue.length) {
      const i = fastQueue[nextFast++] as number;
      const running = start(i);
      const done = await untilAborted(running.then(() => true), opts.timer(opts.slowAfterMs));
      if (done) continue;
      if (slowFree > 0) {
        slowFree--;
        inSlowLane.push(running.finally(releaseSlow));
        continue;
      }
      await running; // the slow lane is full: this call keeps its fast slot
    }
  };
  const suspects = async () => {
    for (const i of slowQueue) {
      if (slowFree > 0) slowFree--;
      else await new Promise<void>((resolve) => slowWaiters.push(resolve));
      inSlowLane.push(start(i).finally(releaseSlow));
    }
  };
  const n = Math.max(1, Math.min(opts.fast, fastQueue.length));
  await Promise.all([...Array.from({ length: n }, fastWorker), suspects()]);
  // every call has started; the slow lane's list is complete
  await Promise.all(inSlowLane);
  return out;
}
