/**
 * Where a cycle's report goes. Every consumer of cycle results (the cycle
 * log, the CloudWatch buffer, the status behind `/metrics` and `/readyz`) is
 * an {@linkcode Output}: the scheduler hands each report to every output in
 * order, asks the outputs that hold data to flush at the end, and the
 * leader election tells each one when a term starts and ends. An output
 * that has figures of its own (CloudWatch's request counts) or a say in
 * readiness is also a {@linkcode SelfReporting}, which the status reads.
 *
 * @module
 */

import type { CycleReport } from "../model/report.ts";

/** What an output's final flush did. */
export interface FlushOutcome {
  /** Datums (or records) delivered by this flush. */
  readonly sent: number;
  /** Left undelivered (lost when the process ends). */
  readonly pending: number;
  /** Why delivery stopped, when `pending > 0`. */
  readonly error: string | undefined;
}

/** One consumer of cycle reports. */
export interface Output {
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
   * Delivers what the output still holds (shutdown, end of `--once`).
   *
   * @param signal the deadline
   * @returns what was delivered and what is left
   */
  flush?(signal: AbortSignal): Promise<FlushOutcome>;
  /** Datums (or records) it holds for a later delivery. @default none */
  readonly pending?: number;
  /** A leadership term begins: this replica measures from now on. */
  termStarted?(): void;
  /**
   * A leadership term was lost (not a shutdown): this replica no longer
   * measures, so whatever belongs to the term is dropped.
   */
  termEnded?(): void;
}

/** One family of a component's own metrics, as `/metrics` renders it. */
export interface OwnFamily {
  /** Full name, e.g. `cni_metrics_helper_cloudwatch_requests_total`. */
  readonly name: string;
  /** Prometheus type. */
  readonly type: "gauge" | "counter" | "histogram";
  /** HELP text. */
  readonly help: string;
  /** Samples; `suffix` is appended to the name (`_bucket`, `_sum`). */
  readonly samples: readonly {
    readonly suffix?: string;
    readonly labels?: Readonly<Record<string, string>>;
    readonly value: number;
  }[];
}

/** A component with figures of its own and a say in readiness. */
export interface SelfReporting {
  /**
   * Its own metric families now.
   *
   * @returns the families
   */
  ownFamilies(): readonly OwnFamily[];
  /**
   * Why the helper is not ready because of this component.
   *
   * @param nowMs now, ms since the epoch
   * @returns `undefined` when it has nothing against readiness
   */
  notReadyReason?(nowMs: number): string | undefined;
}
