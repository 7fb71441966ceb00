/**
 * The CloudWatch side: cluster snapshots become datums in a bounded buffer;
 * a flush sends them oldest first in requests of at most 1,000 datums and
 * under 1 MB, and removes only what CloudWatch accepted. What fails stays for
 * the next flush, so nothing is lost (until the bound) or sent twice.
 *
 * @module
 */

import { computeFigures, dimensionsOf, FIGURES, type FigureTable } from "../model/figures.ts";
import { awsErrorText } from "../base/errors.ts";
import { logger } from "../base/logging.ts";
import type { ClusterSnapshot } from "../model/report.ts";

/** CloudWatch namespace (the existing contract). */
export const NAMESPACE = "Kubernetes";
/** Dimension name (the existing contract). */
export const DIMENSION = "CLUSTER_ID";
/** Most datums PutMetricData takes in one request. */
export const MAX_DATUMS_PER_REQUEST = 1000;
/** Largest request body we build (CloudWatch takes 1 MB). */
export const MAX_REQUEST_BYTES = 1_000_000;

/** One datum, in the SDK's shape. */
export interface Datum {
  readonly MetricName: string;
  readonly Dimensions: readonly { readonly Name: string; readonly Value: string }[];
  readonly Timestamp: Date;
  readonly Value: number;
  readonly Unit: "Count";
}

/** One PutMetricData request. */
export interface PutRequest {
  readonly Namespace: string;
  readonly MetricData: readonly Datum[];
}

/** Sends one request; the CloudWatch SDK client or the dry-run printer. */
export interface Publisher {
  /** Where requests go, for logs (e.g. "CloudWatch"). */
  readonly target: string;
  /** Whether requests leave the process (false for `--dry-run`: nothing counts as published). */
  readonly sends: boolean;
  /**
   * Calls `fn` as each HTTP attempt ends (the SDK retries a request up to
   * 3 times), so own metrics count a failing attempt at once.
   *
   * @param fn called with true for an accepted attempt, false for a failed one
   */
  observeAttempts?(fn: (ok: boolean) => void): void;
  /**
   * @param request the request
   * @param signal aborts it
   * @throws on any failure (after the SDK's own retries)
   */
  put(request: PutRequest, signal: AbortSignal): Promise<void>;
}

/** What one flush did. */
export interface FlushResult {
  /** Requests accepted. */
  readonly requests: number;
  /** Datums accepted. */
  readonly sent: number;
  /** Datums still waiting (the flush stopped at a failure). */
  readonly pending: number;
  /** The failure that stopped the flush, if any. */
  readonly error: string | undefined;
}

/** Counters the buffer keeps for the helper's own metrics. */
export interface PublishStats {
  requestsOk: number;
  requestsFailed: number;
  attemptsOk: number;
  attemptsFailed: number;
  datumsSent: number;
  datumsDropped: number;
}

/**
 * Turns one snapshot into datums, all at `timestamp`: every value of every
 * figure of the table, in table order (a figure with no value this cycle,
 * e.g. the subnets before their first read, has no datum).
 *
 * @param snapshot the cycle's inputs
 * @param clusterId value of the `CLUSTER_ID` dimension
 * @param timestamp the cycle's time
 * @param table the figures @default FIGURES
 * @returns the datums
 */
export function toDatums(
  snapshot: ClusterSnapshot,
  clusterId: string,
  timestamp: Date,
  table: FigureTable = FIGURES,
): Datum[] {
  const cluster = { Name: DIMENSION, Value: clusterId };
  const clusterOnly = [cluster];
  const out: Datum[] = [];
  for (const { figure, values } of computeFigures(table, snapshot)) {
    for (const v of values) {
      out.push({
        MetricName: figure.cloudwatch,
        Dimensions: v.dimensions === undefined ? clusterOnly : [
          cluster,
          ...dimensionsOf(v).map(([Name, Value]) => ({ Name, Value })),
        ],
        Timestamp: timestamp,
        Value: v.value,
        Unit: figure.unit,
      });
    }
  }
  return out;
}

/**
 * Splits datums into requests: at most {@linkcode MAX_DATUMS_PER_REQUEST}
 * each and under {@linkcode MAX_REQUEST_BYTES} as JSON.
 *
 * @param datums in order
 * @returns the requests, in order
 */
export function batch(datums: readonly Datum[]): PutRequest[] {
  const out: PutRequest[] = [];
  let cur: Datum[] = [];
  let bytes = 64;
  for (const d of datums) {
    const size = JSON.stringify(d).length + 1;
    if (
      cur.length >= MAX_DATUMS_PER_REQUEST || (cur.length > 0 && bytes + size > MAX_REQUEST_BYTES)
    ) {
      out.push({ Namespace: NAMESPACE, MetricData: cur });
      cur = [];
      bytes = 64;
    }
    cur.push(d);
    bytes += size;
  }
  if (cur.length > 0) out.push({ Namespace: NAMESPACE, MetricData: cur });
  return out;
}

/** The bounded buffer between cycles and CloudWatch. */
export class PublishBuffer {
  readonly #publisher: Publisher;
  readonly #max: number;
  #datums: Datum[] = [];
  #flushing: Promise<FlushResult> | undefined;
  /** Running totals for the helper's own metrics. */
  readonly stats: PublishStats = {
    requestsOk: 0,
    requestsFailed: 0,
    attemptsOk: 0,
    attemptsFailed: 0,
    datumsSent: 0,
    datumsDropped: 0,
  };

  /**
   * @param publisher where requests go
   * @param maxDatums the bound; past it the oldest datums are dropped with a warning
   */
  constructor(publisher: Publisher, maxDatums: number) {
    this.#publisher = publisher;
    this.#max = maxDatums;
    publisher.observeAttempts?.((ok) => ok ? this.stats.attemptsOk++ : this.stats.attemptsFailed++);
  }

  /** Datums waiting to be sent. */
  get pending(): number {
    return this.#datums.length;
  }

  /**
   * Empties the buffer (a flush in flight stops after its current request).
   *
   * @returns how many datums were dropped
   */
  discard(): number {
    const n = this.#datums.length;
    this.#datums = [];
    return n;
  }

  /**
   * Queues one cycle's datums; drops the oldest past the bound.
   *
   * @param datums the cycle's datums
   */
  add(datums: readonly Datum[]): void {
    this.#datums.push(...datums);
    const over = this.#datums.length - this.#max;
    if (over > 0) {
      this.#datums.splice(0, over);
      this.stats.datumsDropped += over;
      logger("cloudwatch").warn(
        "CloudWatch buffer full ({max} datums): dropped the {dropped} oldest datums",
        { max: this.#max, dropped: over },
      );
    }
  }

  /**
   * Sends what is queued, oldest first; stops at the first failed request and
   * keeps it and everything after it. Concurrent calls share one flush.
   *
   * @param signal aborts the flush (what is not sent stays queued)
   * @param final the last flush before the process ends (no next publish) @default false
   * @returns what was sent and what is left
   */
  flush(signal: AbortSignal, final = false): Promise<FlushResult> {
    this.#flushing ??= this.#flush(signal, final).finally(() => {
      this.#flushing = undefined;
    });
    return this.#flushing;
  }

  async #flush(signal: AbortSignal, final: boolean): Promise<FlushResult> {
    const log = logger("cloudwatch");
    let requests = 0;
    let sent = 0;
    while (this.#datums.length > 0) {
      const [req] = batch(this.#datums.slice(0, MAX_DATUMS_PER_REQUEST));
      if (req === undefined) break;
      try {
        await this.#publisher.put(req, signal);
      } catch (e) {
        this.stats.requestsFailed++;
        const error = awsErrorText(e);
        // the last flush (shutdown, --once) has no next publish: the caller says what is lost
        log.error(
          final
            ? "PutMetricData failed: {error}; {pending} datums not sent"
            : "PutMetricData failed: {error}; {pending} datums kept for the next publish",
          { error, pending: this.#datums.length },
        );
        return { requests, sent, pending: this.#datums.length, error };
      }
      // Only now remove: the request was accepted. (The buffer may have
      // grown meanwhile, and the oldest datums may have been dropped.)
      const n = req.MetricData.length;
      const done = new Set<Datum>(req.MetricData);
      this.#datums = this.#datums.filter((d) => !done.has(d));
      requests++;
      sent += n;
      if (this.#publisher.sends) {
        this.stats.requestsOk++;
        this.stats.datumsSent += n;
      }
    }
    if (requests > 0 && !this.#publisher.sends) {
      log.info("dry run: printed {sent} datums in {requests} request(s); nothing sent", {
        sent,
        requests,
      });
    } else if (requests > 0) {
      log.info("published {sent} datums to {target} in {requests} request(s)", {
        sent,
        requests,
        target: this.#publisher.target,
      });
    }
    return { requests, sent, pending: this.#datums.length, error: undefined };
  }
}
