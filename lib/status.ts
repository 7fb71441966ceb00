/**
 * The helper's own state for `/metrics`, `/healthz` and `/readyz`: what the
 * cycles, the CloudWatch buffer and identity resolution report. An explicit
 * object that `app.ts` owns and updates; bounded cardinality (no per-pod
 * labels), so it stays small at 5,000 nodes.
 *
 * @module
 */

import type { ClusterSnapshot } from "./aggregate.ts";
import type { CycleReport } from "./collector.ts";
import { METRICS } from "./catalog.ts";
import type { PublishStats } from "./publish.ts";

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

/** Everything the endpoints show. */
export class HelperStatus {
  /** Program version. */
  readonly version: string;
  /** Seconds between cycles (readiness window is 3 of them). */
  readonly intervalSeconds: number;
  /** Cluster id, once resolved. */
  clusterId: string | undefined;
  /** Region, once resolved (or `""` when not needed). */
  region: string | undefined;
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
  lastSuccessMs: number | undefined;
  /** Why the last cycle failed, if it did. */
  lastError: string | undefined;
  /** The latest cluster figures. */
  snapshot: ClusterSnapshot | undefined;
  /** Running totals of the counters' increases (CloudWatch name → total). */
  readonly counterTotals: Map<string, number> = new Map(
    METRICS.filter((m) => m.kind === "counter").map((m) => [m.cwName, 0]),
  );
  /** CloudWatch buffer statistics, when CloudWatch (or dry-run) is on. */
  publish: { readonly stats: PublishStats; readonly pending: number } | undefined;

  /**
   * @param version program version
   * @param intervalSeconds cycle interval
   */
  constructor(version: string, intervalSeconds: number) {
    this.version = version;
    this.intervalSeconds = intervalSeconds;
  }

  /**
   * Folds one cycle's report in.
   *
   * @param r the report
   * @param endMs when the cycle ended, ms since the epoch
   */
  observe(r: CycleReport, endMs: number): void {
    if (r.aborted) return;
    if (r.found !== undefined) this.targets = r.found;
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
      for (const [name, total] of this.counterTotals) {
        this.counterTotals.set(name, total + (r.snapshot.values.get(name) ?? 0));
      }
    } else {
      this.lastError = r.listError ??
        `no pod scraped (${r.found ?? 0} found, ${r.failures.length} failed)`;
    }
  }

  /**
   * Readiness: identity resolved and a cycle with a scraped pod ended within
   * the last 3 intervals.
   *
   * @param nowMs now, ms since the epoch
   * @returns `undefined` when ready, else a one-line reason
   */
  notReadyReason(nowMs: number): string | undefined {
    if (this.clusterId === undefined || this.region === undefined) {
      return "region and cluster id are not resolved yet";
    }
    const windowMs = 3 * this.intervalSeconds * 1000;
    if (this.lastSuccessMs === undefined) {
      return `no cycle has scraped a pod yet${this.lastError ? `: ${this.lastError}` : ""}`;
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
