/**
 * The CloudWatch sink: each published cycle becomes one datum per metric in
 * the bounded {@linkcode PublishBuffer}; every `publishEvery` cycles a
 * publish starts in the background (a slow CloudWatch never delays a
 * cycle); `flush` sends what is left within a deadline. Its own figures
 * (requests, attempts, datums) and its say in readiness (publishes failing
 * for more than 3 periods) go to the status as a {@linkcode SelfReporting}.
 *
 * @module
 */

import { type Clock, untilAborted } from "../base/clock.ts";

import { PublishBuffer, type Publisher, type PublishStats, toDatums } from "./datum_buffer.ts";
import { logger } from "../base/logging.ts";
import { FIGURES, type FigureTable } from "../model/figures.ts";
import type { FlushOutcome, Output, OwnFamily, SelfReporting } from "./output.ts";
import type { CycleReport } from "../model/report.ts";

/** Cycles per CloudWatch publish (the existing contract: every 2 × interval). */
export const PUBLISH_EVERY = 2;
/** Longest a background publish may take, ms (the SDK's own timeouts come first). */
export const BACKGROUND_PUBLISH_MS = 120_000;

/** CloudWatch sink settings. */
export interface CloudWatchSinkOptions {
  /** The `CLUSTER_ID` dimension. */
  readonly clusterId: string;
  /** Datums kept while CloudWatch is unreachable. */
  readonly maxDatums: number;
  /** Cycles per publish. @default 2 */
  readonly publishEvery?: number;
  /** Time (the background publish's bound, the failing streak). */
  readonly clock: Clock;
  /** Seconds between cycles (a publish period is `publishEvery` of them). */
  readonly intervalSeconds: number;
  /** The figures a cycle becomes datums of. @default FIGURES */
  readonly figures?: FigureTable;
}

const PREFIX = "cni_metrics_helper_";

/** Buffers the cycles' datums and publishes them. */
export class CloudWatchSink implements Output, SelfReporting {
  readonly name = "cloudwatch";
  readonly #buffer: PublishBuffer;
  readonly #opts: CloudWatchSinkOptions;
  readonly #every: number;
  #observed = 0;
  #failingSince: number | undefined;
  #lastError: string | undefined;

  /**
   * @param publisher where requests go (the SDK, or the dry-run printer)
   * @param opts dimension, bound, cadence, clock
   */
  constructor(publisher: Publisher, opts: CloudWatchSinkOptions) {
    this.#buffer = new PublishBuffer(publisher, opts.maxDatums);
    this.#opts = opts;
    this.#every = opts.publishEvery ?? PUBLISH_EVERY;
  }

  /** Running totals of requests, attempts and datums. */
  get stats(): PublishStats {
    return this.#buffer.stats;
  }

  /** When publishing started failing (ms since the epoch); `undefined` while it works. */
  get failingSinceMs(): number | undefined {
    return this.#failingSince;
  }

  ownFamilies(): readonly OwnFamily[] {
    const s = this.#buffer.stats;
    const byResult = (ok: number, error: number) => [
      { labels: { result: "ok" }, value: ok },
      { labels: { result: "error" }, value: error },
    ];
    return [
      {
        name: `${PREFIX}cloudwatch_requests_total`,
        type: "counter",
        help: "PutMetricData requests by result (after the SDK's retries).",
        samples: byResult(s.requestsOk, s.requestsFailed),
      },
      {
        name: `${PREFIX}cloudwatch_attempts_total`,
        type: "counter",
        help: "PutMetricData HTTP attempts by result, counted as each ends (retries included).",
        samples: byResult(s.attemptsOk, s.attemptsFailed),
      },
      {
        name: `${PREFIX}cloudwatch_datums_published_total`,
        type: "counter",
        help: "Datums CloudWatch accepted.",
        samples: [{ value: s.datumsSent }],
      },
      {
        name: `${PREFIX}cloudwatch_datums_buffered`,
        type: "gauge",
        help: "Datums waiting for the next publish.",
        samples: [{ value: this.#buffer.pending }],
      },
      {
        name: `${PREFIX}cloudwatch_datums_dropped_total`,
        type: "counter",
        help: "Datums dropped because the buffer was full.",
        samples: [{ value: s.datumsDropped }],
      },
    ];
  }

  /**
   * Not ready once publishes have failed for more than 3 publish periods.
   *
   * @param nowMs now, ms since the epoch
   * @returns the reason, or `undefined`
   */
  notReadyReason(nowMs: number): string | undefined {
    if (this.#failingSince === undefined) return undefined;
    const failing = nowMs - this.#failingSince;
    const period = this.#every * this.#opts.intervalSeconds;
    if (failing <= 3 * period * 1000) return undefined;
    return `CloudWatch publishes have failed for ${Math.round(failing / 1000)} s (more than ` +
      `3 publish periods of ${period} s): ${this.#lastError ?? "unknown error"}`;
  }

  /** Starts or ends the failing streak with a flush's outcome. */
  #note(r: { sent: number; pending: number; error: string | undefined }): void {
    if (r.error !== undefined) {
      this.#failingSince ??= this.#opts.clock.now();
      this.#lastError = r.error;
    } else if (r.sent > 0 || r.pending === 0) {
      this.#failingSince = undefined;
    }
  }

  /** Datums waiting for the next publish. */
  get pending(): number {
    return this.#buffer.pending;
  }

  /**
   * A lost term: every datum waiting is dropped (this replica must not
   * publish any more; a new leader measures), said in one error line; a
   * request already in flight still completes.
   */
  termEnded(): void {
    this.#observed = 0;
    const dropped = this.#buffer.discard();
    if (dropped > 0) {
      logger("cloudwatch").error(
        "{dropped} datums of the lost term are not published (a new leader measures)",
        { dropped },
      );
    }
  }

  /**
   * A new leadership term begins: its first cycle is published at once
   * (not after two), so a takeover puts data out as soon as it has some.
   */
  termStarted(): void {
    this.#observed = this.#every - 1;
  }

  observe(r: CycleReport): void {
    if (r.aborted || !r.publish) return;
    if (r.snapshot !== null) {
      this.#buffer.add(
        toDatums(r.snapshot, this.#opts.clusterId, r.startedAt, this.#opts.figures ?? FIGURES),
      );
    }
    this.#observed++;
    if (this.#observed % this.#every !== 0) return;
    if (this.#buffer.pending === 0) return;
    // Not tied to shutdown: aborting a request CloudWatch may already have
    // accepted could send its datums twice. The SDK's own timeouts bound it.
    void this.#buffer.flush(this.#opts.clock.timeout(BACKGROUND_PUBLISH_MS)).then((r) =>
      this.#note(r)
    );
  }

  /**
   * Sends everything queued (after any publish in flight) until the buffer is
   * empty, a request fails, or `signal` aborts.
   *
   * @param signal the deadline
   * @returns what was sent and what is left
   */
  async flush(signal: AbortSignal): Promise<FlushOutcome> {
    let sent = 0;
    for (;;) {
      const r = await untilAborted(this.#buffer.flush(signal, true), signal);
      if (r === undefined) {
        return { sent, pending: this.#buffer.pending, error: "the flush deadline passed" };
      }
      sent += r.sent;
      this.#note(r);
      if (r.error !== undefined || r.pending === 0) {
        return { sent, pending: r.pending, error: r.error };
      }
    }
  }
}
