/**
 * When cycles run: `run` starts one every interval until shutdown (cycles
 * never overlap; an overrun is logged and the next starts at once), `once`
 * takes two samples one interval apart (the first only sets the counters'
 * baselines). Each report goes to every output, in order; `flushOutputs` asks
 * the outputs that hold data to deliver it within a deadline.
 *
 * @module
 */

import type { Clock } from "../base/clock.ts";

import { logger } from "../base/logging.ts";
import type { FlushOutcome, Output } from "../outputs/output.ts";
import type { CycleReport } from "../model/report.ts";

/** What the scheduler drives. */
export interface SchedulerDeps {
  /** One cycle (the collector's `collect`). */
  readonly collect: (signal: AbortSignal) => Promise<CycleReport>;
  /** Where reports go, in order. */
  readonly outputs: readonly Output[];
  /** Time. */
  readonly clock: Clock;
}

function deliver(outputs: readonly Output[], report: CycleReport): void {
  for (const o of outputs) o.observe(report);
}

/**
 * Cycles every `intervalSeconds` until `signal` aborts.
 *
 * @param deps the cycle, the outputs, the clock
 * @param intervalSeconds seconds between cycle starts
 * @param signal shutdown
 * @param opts `aligned`: cycles start on multiples of the interval since the
 *   epoch, the first one after now (leader election: two leaders' cycles never
 *   share an interval)
 */
export async function runLoop(
  deps: SchedulerDeps,
  intervalSeconds: number,
  signal: AbortSignal,
  opts: { aligned?: boolean } = {},
): Promise<void> {
  const { clock } = deps;
  const intervalMs = intervalSeconds * 1000;
  if (opts.aligned) {
    // the first slot that begins after now: a slot a previous leader may have used is never reused
    const first = (Math.floor(clock.now() / intervalMs) + 1) * intervalMs;
    await clock.sleep(first - clock.now(), signal);
  }
  while (!signal.aborted) {
    const t0 = clock.now();
    deliver(deps.outputs, await deps.collect(signal));
    if (signal.aborted) break;
    const elapsed = clock.now() - t0;
    if (opts.aligned) {
      // cycles start on the interval's boundaries (wall clock), one slot each
      const next = (Math.floor(clock.now() / intervalMs) + 1) * intervalMs;
      if (next - t0 > intervalMs) {
        logger("collector").warn(
          "cycle took {elapsedMs} ms, longer than the {intervalMs} ms interval; the next starts " +
            "at the next interval boundary",
          { elapsedMs: Math.round(elapsed), intervalMs },
        );
      }
      await clock.sleep(next - clock.now(), signal);
      continue;
    }
    if (elapsed >= intervalMs) {
      logger("collector").warn(
        "cycle took {elapsedMs} ms, longer than the {intervalMs} ms interval; next cycle starts now",
        { elapsedMs: Math.round(elapsed), intervalMs },
      );
      continue;
    }
    await clock.sleep(intervalMs - elapsed, signal);
  }
}

/** What `runOnce` did. */
export interface OnceResult {
  /** The baseline sample (its report went out with `publish: false`). */
  readonly first: CycleReport;
  /** The published sample; `undefined` when the first failed or shutdown came first. */
  readonly second: CycleReport | undefined;
}

/**
 * `--once`: a first sample that only sets the counters' baselines (its
 * report goes to the outputs with `publish: false`), one interval, a second
 * sample that is published. A first sample that scraped no pod ends it at
 * once: the second could only fail the same way.
 *
 * @param deps the cycle, the outputs, the clock
 * @param intervalSeconds seconds between the two samples
 * @param signal shutdown
 * @param onWait called with the milliseconds to the second sample, as the wait starts
 * @returns both reports
 */
export async function runOnce(
  deps: SchedulerDeps,
  intervalSeconds: number,
  signal: AbortSignal,
  onWait?: (ms: number) => void,
): Promise<OnceResult> {
  const first = { ...(await deps.collect(signal)), publish: false };
  deliver(deps.outputs, first);
  if (first.snapshot === null || signal.aborted) return { first, second: undefined };
  const waitMs = Math.max(0, intervalSeconds * 1000 - first.durationMs);
  onWait?.(waitMs);
  await deps.clock.sleep(waitMs, signal);
  if (signal.aborted) return { first, second: undefined };
  const second = await deps.collect(signal);
  deliver(deps.outputs, second);
  return { first, second };
}

/** One output's final flush. */
export interface OutputFlush {
  /** The output's name. */
  readonly name: string;
  /** What its flush did. */
  readonly outcome: FlushOutcome;
}

/**
 * Asks every output that holds data to deliver it, in order, within `signal`.
 *
 * @param outputs the outputs
 * @param signal the deadline
 * @returns each flushing output's outcome
 */
export async function flushOutputs(
  outputs: readonly Output[],
  signal: AbortSignal,
): Promise<OutputFlush[]> {
  const out: OutputFlush[] = [];
  for (const o of outputs) {
    if (o.flush !== undefined) out.push({ name: o.name, outcome: await o.flush(signal) });
  }
  return out;
}
