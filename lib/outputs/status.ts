/**
 * The status sink: the helper's own state behind `/metrics`, `/healthz` and
 * `/readyz`, folded from the cycle reports it observes, the components'
 * own figures and readiness ({@linkcode SelfReporting}), and the identity
 * once resolved. Bounded
 * cardinality (no per-pod labels), so it stays small at 5,000 nodes.
 *
 * @module
 */

import { computeFigures, FIGURES, type FigureTable, valueKey } from "../model/figures.ts";
import type { LeaderView } from "../kube/leader_election.ts";
import type { Output, SelfReporting } from "./output.ts";
import type { ClusterSnapshot, CycleReport } from "../model/report.ts";

/** Scrape results counted by `cni_metrics_helper_scrapes_total`. */
export const SCRAPE_RESULTS = [
  "ok",
  "timeout",
  "http_error",
  "parse_error",
  "network_error",
] as const;

/** One scrape result label. */
export type ScrapeResult = typeof SCRAPE_RESULTS[number];

/** Upper bounds (seconds) of the cycle-duration histogram. */
export const CYCLE_BUCKETS: readonly number[] = Object.freeze([
  0.1,
  0.25,
  0.5,
  1,
  2.5,
  5,
  10,
  30,
  60,
  120,
]);

/** What the status is built from. */
export interface StatusOptions {
  /** Program version. */
  readonly version: string;
  /** Seconds between cycles (the readiness window is 3 of them). */
  readonly intervalSeconds: number;
  /** The clock's `now` (when a cycle was observed). */
  readonly now: () => number;
  /** Components with figures of their own and a say in readiness. @default none */
  readonly reporters?: readonly SelfReporting[];
  /** The leader election. @default off */
  readonly leader?: LeaderView | undefined;
  /** The figures exported with `--prometheus`. @default FIGURES */
  readonly figures?: FigureTable;
}

/** Everything the endpoints show. */
export class StatusSink implements Output {
  readonly name = "status";
  /** Program version. */
  readonly version: string;
  /** Seconds between cycles (readiness window is 3 of them). */
  readonly intervalSeconds: number;
  /** Cluster id, once resolved. */
  clusterId: string | undefined = undefined;
  /** Region, once resolved (or `""` when not needed). */
  region: string | undefined = undefined;
  /** Pods listed by the last cycle whose listing worked. */
  targets = 0;
  /** Scrapes by result since start. */
  readonly scrapes: Record<ScrapeResult, number> = {
    ok: 0,
    timeout: 0,
    http_error: 0,
    parse_error: 0,
    network_error: 0,
  };
  /** Cycle-duration histogram: counts per bucket (cumulative when rendered), sum, count. */
  readonly cycleBuckets: number[] = CYCLE_BUCKETS.map(() => 0);
  cycleSum = 0;
  cycleCount = 0;
  /** End of the last cycle that scraped at least one pod, ms since the epoch. */
  lastSuccessMs: number | undefined = undefined;
  /** Why the last cycle failed, if it did. */
  lastError: string | undefined = undefined;
  /** The warm-pool settings the last listing saw, with their pod counts. */
  warmSettings: CycleReport["warmSettings"] = undefined;
  /** The latest cluster figures. */
  snapshot: ClusterSnapshot | undefined = undefined;
  /**
   * Running totals of the counter figures' increases: CloudWatch name →
   * value key (the dimension values, `figures.ts` `valueKey`) → total.
   */
  readonly counterTotals: Map<string, Map<string, number>> = new Map();
  /** The figures of the cluster snapshot (`/metrics` with `--prometheus`). */
  readonly figures: FigureTable;
  /** Components with figures of their own and a say in readiness (CloudWatch). */
  readonly reporters: readonly SelfReporting[];
  /** The leader election, when on. */
  readonly leader: LeaderView | undefined;
  readonly #now: () => number;

  /**
   * @param opts version, interval, clock, the components that report, the leader election
   */
  constructor(opts: StatusOptions) {
    this.version = opts.version;
    this.intervalSeconds = opts.intervalSeconds;
    this.#now = opts.now;
    this.reporters = opts.reporters ?? [];
    this.leader = opts.leader;
    this.figures = opts.figures ?? FIGURES;
  }

  /**
   * Records the resolved identity (readiness waits for it).
   *
   * @param clusterId the `CLUSTER_ID` value
   * @param region the region, `""` when none is needed
   */
  identityResolved(clusterId: string, region: string): void {
    this.clusterId = clusterId;
    this.region = region;
  }

  /**
   * A leadership term ended: this replica no longer measures, so it stops
   * exporting the cluster figures (a standby must not serve stale ones next
   * to the leader's fresh ones).
   */
  termEnded(): void {
    this.snapshot = undefined;
  }

  /**
   * Folds one cycle's report in, as of the clock's now.
   *
   * @param r the report
   */
  observe(r: CycleReport): void {
    if (r.aborted) return;
    const endMs = this.#now();
    if (r.found !== undefined) this.targets = r.found;
    if (r.warmSettings !== undefined) this.warmSettings = r.warmSettings;
    this.scrapes.ok += r.scraped;
    for (const f of r.failures) {
      const k: ScrapeResult = f.error.kind === "timeout"
        ? "timeout"
        : f.error.kind === "http"
        ? "http_error"
        : f.error.kind === "parse"
        ? "parse_error"
        : "network_error";
      this.scrapes[k]++;
    }
    const s = r.durationMs / 1000;
    this.cycleSum += s;
    this.cycleCount++;
    const i = CYCLE_BUCKETS.findIndex((b) => s <= b);
    if (i >= 0) this.cycleBuckets[i] = (this.cycleBuckets[i] ?? 0) + 1;
    if (r.snapshot !== null) {
      this.lastSuccessMs = endMs;
      this.lastError = undefined;
      this.snapshot = r.snapshot;
      for (const { figure, values } of computeFigures(this.figures, r.snapshot)) {
        if (figure.kind !== "counter") continue;
        let totals = this.counterTotals.get(figure.cloudwatch);
        if (totals === undefined) this.counterTotals.set(figure.cloudwatch, totals = new Map());
        for (const v of values) {
          const key = valueKey(figure, v);
          totals.set(key, (totals.get(key) ?? 0) + v.value);
        }
      }
    } else {
      this.lastError = r.listError ??
        `no pod scraped (${r.found ?? 0} found, ${r.failures.length} failed)`;
    }
  }

  /**
   * Readiness: identity resolved, a cycle with a scraped pod ended within
   * the last 3 intervals, and CloudWatch publishes (when on) have not been
   * failing for more than 3 publish periods.
   *
   * @param nowMs now, ms since the epoch
   * @returns `undefined` when ready, else a one-line reason
   */
  notReadyReason(nowMs: number): string | undefined {
    if (this.clusterId === undefined || this.region === undefined) {
      return "region and cluster id are not resolved yet";
    }
    const windowMs = 3 * this.intervalSeconds * 1000;
    const l = this.leader;
    if (l !== undefined && !l.isLeader) {
      // a standby is ready while it can read the Lease: it can take over
      const since = l.lastContactMs === undefined ? undefined : nowMs - l.lastContactMs;
      if (since === undefined || since > 3 * l.retryMs) {
        return `standby: the Lease has not been read for ${
          since === undefined ? "ever" : `${Math.round(since / 1000)} s`
        }${l.lastError ? `: ${l.lastError}` : ""}`;
      }
      return undefined;
    }
    // a new leader gets 3 intervals for its first cycle
    if (l?.leaderSinceMs !== undefined && nowMs - l.leaderSinceMs <= windowMs) {
      if (this.lastSuccessMs === undefined || this.lastSuccessMs < l.leaderSinceMs) {
        return undefined;
      }
    }
    if (this.lastSuccessMs === undefined) {
      return `no cycle has scraped a pod yet${this.lastError ? `: ${this.lastError}` : ""}`;
    }
    for (const part of this.reporters) {
      const reason = part.notReadyReason?.(nowMs);
      if (reason !== undefined) return reason;
    }
    const age = nowMs - this.lastSuccessMs;
    if (age > windowMs) {
      return `last cycle that scraped a pod ended ${
        Math.round(age / 1000)
      } s ago (more than 3 intervals of ${this.intervalSeconds} s)${
        this.lastError ? `: ${this.lastError}` : ""
      }`;
    }
    return undefined;
  }
}
