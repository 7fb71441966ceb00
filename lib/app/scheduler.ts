/**
 * When cycles run: `run` starts one every interval until shutdown (cycles
 * never overlap; an overrun is logged and the next starts at once), `once`
 * takes two samples one interval apart (the first only sets the counters'
 * baselines). Each report goes to every sink, in order; `flushSinks` asks
 * the sinks that hold data to deliver it within a deadline.
 *
 * @module
 */

import type { Clock } from "../base/clock.ts";
import type { CycleReport } from "../sources/aws_node.ts";
import { logger } from "../base/logging.ts";
import type { FlushOutcome, Sink } from "../outputs/output.ts";

/** What the scheduler drives. */
export interface SchedulerDeps {
  /** One cycle (the collector's `collect`). */
  readonly collect: (signal: AbortSignal) => Promise<CycleReport>;
  /** Where reports go, in order. */
  readonly sinks: readonly Sink[];
  /** Time. */
  readonly clock: Clock;
}

function deliver(sinks: readonly Sink[], report: CycleReport): void {
  for (const s of sinks) s.observe(report);
}

/**
 * Cycles every `intervalSeconds` until `signal` aborts.
 *
 * @param deps the cycle, the sinks, the clock
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
    deliver(deps.sinks, await deps.collect(signal));
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

/**
 * `--once`: a baseline sample, one interval, a second sample that is
 * published.
 *
 * @param deps the cycle, the sinks, the clock
 * @param intervalSeconds seconds between the two samples' starts
 * @param signal shutdown
 * @returns the second sample's report
 */
export async function runOnce(
  deps: SchedulerDeps,
  intervalSeconds: number,
  signal: AbortSignal,
): Promise<CycleReport> {
  const first = { ...(await deps.collect(signal)), publish: false };
  deliver(deps.sinks, first);
  await deps.clock.sleep(Math.max(0, intervalSeconds * 1000 - first.durationMs), signal);
  const report = await deps.collect(signal);
  deliver(deps.sinks, report);
  return report;
}

/**
 * Flushes every sink that holds data, one after the other, all within one
 * deadline.
 *
 * @param sinks the sinks
 * @param signal the deadline
 * @returns each flushing sink's outcome, by sink name
 */
export async function flushSinks(
  sinks: readonly Sink[],
  signal: AbortSignal,
): Promise<Map<string, FlushOutcome>> {
  const out = new Map<string, FlushOutcome>();
  for (const s of sinks) {
    if (s.flush !== undefined) out.set(s.name, await s.flush(signal));
  }
  return out;
}
