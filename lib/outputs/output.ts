/**
 * Where a cycle's report goes. Every consumer of cycle results (the cycle
 * log, the CloudWatch buffer, the status behind `/metrics` and `/readyz`) is
 * a {@linkcode Sink}: the scheduler hands each report to every sink in
 * order, and asks the sinks that hold data to flush at the end.
 *
 * @module
 */

import type { CycleReport } from "../sources/aws_node.ts";

/** What a sink's final flush did. */
export interface FlushOutcome {
  /** Datums (or records) delivered by this flush. */
  readonly sent: number;
  /** Left undelivered. */
  readonly pending: number;
  /** Why delivery stopped, when `pending > 0`. */
  readonly error: string | undefined;
}

/** One consumer of cycle reports. */
export interface Sink {
  /** Name, for logs. */
  readonly name: string;
  /**
   * Takes one cycle's report. Must not throw, and must not wait: slow work
   * (a publish) runs in the background.
   *
   * @param report the cycle's report
   */
  observe(report: CycleReport): void;
  /**
   * Delivers what the sink still holds (shutdown, end of `--once`).
   *
   * @param signal the deadline
   * @returns what was delivered and what is left
   */
  flush?(signal: AbortSignal): Promise<FlushOutcome>;
}
