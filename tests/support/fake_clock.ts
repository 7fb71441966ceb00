/**
 * Time a test drives (after denoland/std `testing/time.ts` `FakeTime`, as
 * an injected {@linkcode Clock} rather than a patched global): `now` stands
 * still until the test calls `tick`, which fires every sleep and timeout
 * that falls due, in order. `sleeping()` lets a test await the moment the
 * code under test starts to wait, instead of sleeping itself.
 *
 * @module
 */

import { type Clock, systemClock } from "../../lib/base/clock.ts";

interface Timer {
  readonly at: number;
  readonly seq: number;
  readonly fire: () => void;
  readonly kind: "sleep" | "timeout";
}

/** A clock whose time moves only when the test says. */
export class FakeClock implements Clock {
  #now: number;
  #seq = 0;
  #timers: Timer[] = [];
  #sleepWaiters: ((ms: number) => void)[] = [];
  #countWaiters: { n: number; resolve: () => void }[] = [];

  /**
   * @param start the initial time, ms since the epoch @default 2026-11-28T12:00:00Z
   */
  constructor(start = Date.UTC(2026, 10, 28, 12, 0, 0)) {
    this.#now = start;
  }

  now(): number {
    return this.#now;
  }

  sleep(ms: number, signal: AbortSignal): Promise<void> {
    if (signal.aborted) return Promise.resolve();
    return new Promise<void>((resolve) => {
      const timer = this.#add(ms, "sleep", () => done());
      const done = () => {
        this.#remove(timer);
        signal.removeEventListener("abort", done);
        resolve();
      };
      signal.addEventListener("abort", done, { once: true });
      for (const w of this.#sleepWaiters.splice(0)) w(ms);
      const n = this.sleepers;
      for (const w of this.#countWaiters.filter((w) => n >= w.n)) {
        this.#countWaiters.splice(this.#countWaiters.indexOf(w), 1);
        w.resolve();
      }
    });
  }

  timeout(ms: number): AbortSignal {
    const c = new AbortController();
    this.#add(
      ms,
      "timeout",
      () => c.abort(new DOMException("The signal timed out.", "TimeoutError")),
    );
    return c.signal;
  }

  /** Sleeps pending now. */
  get sleepers(): number {
    return this.#timers.filter((t) => t.kind === "sleep").length;
  }

  /**
   * Resolves with the requested duration once the code under test sleeps
   * (at once when a sleep is already pending).
   *
   * @returns the milliseconds of the pending sleep
   */
  sleeping(): Promise<number> {
    const pending = this.#timers.find((t) => t.kind === "sleep");
    if (pending !== undefined) return Promise.resolve(pending.at - this.#now);
    return new Promise((resolve) => this.#sleepWaiters.push(resolve));
  }

  /** Milliseconds until the earliest pending sleep is due; `undefined` when none is pending. */
  get nextSleepIn(): number | undefined {
    const due = this.#timers.filter((t) => t.kind === "sleep").map((t) => t.at);
    return due.length === 0 ? undefined : Math.min(...due) - this.#now;
  }

  /**
   * Resolves once at least `n` sleeps are pending: every loop under test is
   * idle, waiting on this clock.
   *
   * @param n how many
   */
  sleepersAtLeast(n: number): Promise<void> {
    if (this.sleepers >= n) return Promise.resolve();
    return new Promise((resolve) => this.#countWaiters.push({ n, resolve }));
  }

  /**
   * Moves time forward by `ms`, firing each sleep and timeout that falls due,
   * earliest first (time stands at each one's moment as it fires).
   *
   * @param ms milliseconds
   */
  tick(ms: number): void {
    const end = this.#now + ms;
    for (;;) {
      const next = this.#timers
        .filter((t) => t.at <= end)
        .sort((a, b) => a.at - b.at || a.seq - b.seq)[0];
      if (next === undefined) break;
      this.#now = Math.max(this.#now, next.at);
      this.#remove(next);
      next.fire();
    }
    this.#now = end;
  }

  #add(ms: number, kind: Timer["kind"], fire: () => void): Timer {
    const t: Timer = { at: this.#now + Math.max(0, ms), seq: this.#seq++, fire, kind };
    this.#timers.push(t);
    return t;
  }

  #remove(t: Timer): void {
    const i = this.#timers.indexOf(t);
    if (i >= 0) this.#timers.splice(i, 1);
  }
}

/**
 * Real time run `factor` times faster: `now` advances `factor` ms per real
 * ms from the moment it is made, and every sleep and timeout takes
 * `1/factor` of its length. In-process runs use it so a test can keep the
 * real `--interval` bounds (1 s at least) and still take a cycle in 100 ms.
 *
 * @param factor how much faster than real time @default 10
 * @returns the clock
 */
export function fastClock(factor = 10): Clock {
  const t0 = Date.now();
  return Object.freeze({
    now: () => t0 + (Date.now() - t0) * factor,
    sleep: (ms: number, signal: AbortSignal) => systemClock.sleep(ms / factor, signal),
    timeout: (ms: number) => AbortSignal.timeout(ms / factor),
  });
}

/**
 * Resolves once at least `n()` sleeps are pending (`n` is read again as
 * sleeps come, so it may follow the state of the code under test).
 *
 * @param clock the clock
 * @param n how many sleeps mean every loop under test waits
 */
export async function idle(clock: FakeClock, n: () => number): Promise<void> {
  while (clock.sleepers < n()) await clock.sleepersAtLeast(n());
}

/**
 * Drives `clock` until `until` settles: each time every loop under test
 * waits on it (`n()` sleeps pending), time moves to the earliest pending
 * sleep. No I/O is ever in flight while time moves, so no timeout can fire
 * however slow the machine is.
 *
 * @param clock the clock
 * @param n how many sleeps are pending when the code under test is idle
 * @param until the run (its end stops the driving)
 */
export async function drive(
  clock: FakeClock,
  n: () => number,
  until: Promise<unknown>,
): Promise<void> {
  let done = false;
  const settled = until.then(() => done = true, () => done = true);
  while (!done) {
    await Promise.race([idle(clock, n), settled]);
    if (!done) clock.tick(clock.nextSleepIn ?? 0);
  }
}
