/**
 * The CloudWatch sink: each published cycle becomes one datum per metric in
 * the bounded {@linkcode PublishBuffer}; every `publishEvery` cycles a
 * publish starts in the background (a slow CloudWatch never delays a
 * cycle); `flush` sends what is left within a deadline.
 *
 * @module
 */

import { type Clock, untilAborted } from "../base/clock.ts";
import type { CycleReport } from "../sources/aws_node.ts";
import { PublishBuffer, type Publisher, toDatums } from "./datum_buffer.ts";
import type { FlushOutcome, Sink } from "./output.ts";
import type { PublishFigures } from "./status.ts";

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
}

/** Buffers the cycles' datums and publishes them. */
export class CloudWatchSink implements Sink {
  readonly name = "cloudwatch";
  readonly #buffer: PublishBuffer;
  readonly #opts: CloudWatchSinkOptions;
  readonly #figures: PublishFigures;
  #observed = 0;
  #failingSince: number | undefined;
  #lastError: string | undefined;

  /**
   * @param publisher where requests go (the SDK, or the dry-run printer)
   * @param opts dimension, bound, cadence, clock
   */
  constructor(publisher: Publisher, opts: CloudWatchSinkOptions) {
    const buffer = new PublishBuffer(publisher, opts.maxDatums);
    this.#buffer = buffer;
    this.#opts = opts;
    const every = opts.publishEvery ?? PUBLISH_EVERY;
    const sink = (): CloudWatchSink => this;
    this.#figures = {
      get stats() {
        return buffer.stats;
      },
      get pending() {
        return buffer.pending;
      },
      periodSeconds: every * opts.intervalSeconds,
      get failingSinceMs() {
        return sink().#failingSince;
      },
      get lastError() {
        return sink().#lastError;
      },
    };
  }

  /** Running totals, the datums waiting and the failing streak, for own metrics and `/readyz`. */
  get stats(): PublishFigures {
    return this.#figures;
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
   * Drops every datum waiting (a lost leadership term: this replica must not
   * publish any more); a request already in flight still completes.
   *
   * @returns how many were dropped
   */
  discard(): number {
    this.#observed = 0;
    return this.#buffer.discard();
  }

  /**
   * A new leadership term begins: its first cycle is published at once
   * (not after two), so a takeover puts data out as soon as it has some.
   */
  termStarted(): void {
    this.#observed = (this.#opts.publishEvery ?? PUBLISH_EVERY) - 1;
  }

  observe(r: CycleReport): void {
    if (r.aborted || !r.publish) return;
    if (r.snapshot !== null) {
      this.#buffer.add(toDatums(r.snapshot, this.#opts.clusterId, r.startedAt));
    }
    this.#observed++;
    if (this.#observed % (this.#opts.publishEvery ?? PUBLISH_EVERY) !== 0) return;
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
      const r = await untilAborted(this.#buffer.flush(signal), signal);
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
