/**
 * Time, injected: every timestamp, sleep and timeout of the program goes
 * through a {@linkcode Clock}, so tests drive time with a fake one
 * (`tests/support/fake_clock.ts`) instead of waiting for it.
 *
 * @module
 */

/** Time as the program sees it. */
export interface Clock {
  /** Milliseconds since the epoch. */
  now(): number;
  /**
   * Resolves after `ms`, or early when `signal` aborts (never rejects).
   *
   * @param ms milliseconds
   * @param signal stops the wait
   */
  sleep(ms: number, signal: AbortSignal): Promise<void>;
  /**
   * A signal that aborts with a `TimeoutError` `DOMException` after `ms`
   * (as `AbortSignal.timeout`).
   *
   * @param ms milliseconds
   * @returns the signal
   */
  timeout(ms: number): AbortSignal;
}

/** The real clock. */
export const systemClock: Clock = Object.freeze({
  now: () => Date.now(),
  sleep: (ms: number, signal: AbortSignal) =>
    new Promise<void>((resolve) => {
      if (signal.aborted) return resolve();
      const t = setTimeout(done, ms);
      function done() {
        clearTimeout(t);
        signal.removeEventListener("abort", done);
        resolve();
      }
      signal.addEventListener("abort", done, { once: true });
    }),
  timeout: (ms: number) => AbortSignal.timeout(ms),
});

/**
 * Whether a signal aborted because its time ran out (a `TimeoutError`), not
 * because of shutdown.
 *
 * @param signal the signal
 * @returns true for a timeout
 */
export function timedOut(signal: AbortSignal): boolean {
  return signal.aborted &&
    (signal.reason as { name?: string } | undefined)?.name === "TimeoutError";
}

/**
 * Resolves with `p`'s result, or with `undefined` once `signal` aborts
 * (whichever comes first); the abort listener is removed either way.
 *
 * @param p the work
 * @param signal the deadline
 * @returns the result, or `undefined` when the deadline came first
 */
export function untilAborted<T>(p: Promise<T>, signal: AbortSignal): Promise<T | undefined> {
  if (signal.aborted) return Promise.resolve(undefined);
  return new Promise<T | undefined>((resolve, reject) => {
    const onAbort = () => resolve(undefined);
    signal.addEventListener("abort", onAbort, { once: true });
    p.then(resolve, reject).finally(() => signal.removeEventListener("abort", onAbort));
  });
}

/** A signal bounded by a parent and a deadline, and how to let go of the parent. */
export interface Deadline {
  /** Aborts when the parent aborts (with its reason) or at the deadline (a `TimeoutError`). */
  readonly signal: AbortSignal;
  /** Detaches from the parent; call it when the work is done. */
  readonly release: () => void;
}

/**
 * `AbortSignal.any([parent, clock.timeout(ms)])` without its leak: Deno's
 * `AbortSignal.any` keeps every signal it made (~0.5-0.9 KB) for as long as
 * its source lives, so one per scrape on the process's shutdown signal grew
 * the heap by ~25 MB a cycle at 5,000 pods. This one holds the parent only
 * through a listener that `release()` removes.
 *
 * @param clock the clock of the deadline
 * @param parent e.g. shutdown
 * @param ms milliseconds to the deadline
 * @returns the signal and its release
 */
export function deadline(clock: Clock, parent: AbortSignal, ms: number): Deadline {
  const ctl = new AbortController();
  const timer = clock.timeout(ms);
  const onParent = () => ctl.abort(parent.reason);
  const onTimer = () => ctl.abort(timer.reason);
  const release = () => {
    parent.removeEventListener("abort", onParent);
    timer.removeEventListener("abort", onTimer);
  };
  if (parent.aborted) {
    ctl.abort(parent.reason);
    return { signal: ctl.signal, release };
  }
  parent.addEventListener("abort", onParent, { once: true });
  timer.addEventListener("abort", onTimer, { once: true });
  return { signal: ctl.signal, release };
}
