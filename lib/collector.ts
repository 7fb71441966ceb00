/**
 * The collector: one cycle lists the aws-node pods, scrapes them with
 * bounded concurrency and a per-scrape timeout, parses, aggregates and hands
 * the snapshot to the sinks. `run` repeats it every interval (cycles never
 * overlap) and publishes every `publishEvery` cycles; `once` takes two
 * samples one interval apart.
 *
 * @module
 */

import { getLogger } from "@logtape/logtape";
import {
  AggregatorState,
  type ClusterSnapshot,
  CycleAggregation,
  START_TIME_FAMILY,
} from "./aggregate.ts";
import { ExpositionParseError, type MetricFamily, parseExposition } from "./expfmt.ts";
import { METRICS } from "./catalog.ts";
import { errorText } from "./errors.ts";
import { ScrapeError, type Scraper, type Target, type TargetLister } from "./kube.ts";
import { mapLimit } from "./pool.ts";
import { type FlushResult, PublishBuffer, toDatums } from "./publish.ts";

/** Families the aggregation reads. */
const WANTED: readonly string[] = [...METRICS.map((m) => m.family), START_TIME_FAMILY];

/** Time, injected so tests can drive it. */
export interface Clock {
  /** Milliseconds since the epoch. */
  now(): number;
  /**
   * Resolves after `ms`, or early when `signal` aborts (never rejects).
   *
   * @param ms milliseconds
   * @param signal stops the wait
   */
  sleep(ms: number, signal: AbortSignal): Promise<void>;
}

/** The real clock. */
export const systemClock: Clock = Object.freeze({
  now: () => Date.now(),
  sleep: (ms: number, signal: AbortSignal) =>
    new Promise<void>((resolve) => {
      if (signal.aborted) return resolve();
      const t = setTimeout(done, ms);
      function done() {
        clearTimeout(t);
        signal.removeEventListener("abort", done);
        resolve();
      }
      signal.addEventListener("abort", done, { once: true });
    }),
});

/** A pod whose scrape failed this cycle. */
export interface Failure {
  /** The pod. */
  readonly target: Target;
  /** Why. */
  readonly error: ScrapeError;
}

/** What one cycle did. */
export interface CycleReport {
  /** When the cycle started (the datums' timestamp). */
  readonly startedAt: Date;
  /** Wall time of the cycle. */
  readonly durationMs: number;
  /** Pods listed; `undefined` when the listing itself failed. */
  readonly found: number | undefined;
  /** Listed pods not Running with an IP (not scraped). */
  readonly notRunning: number;
  /** Pods scraped and parsed. */
  readonly scraped: number;
  /** Pods whose scrape or parse failed. */
  readonly failures: readonly Failure[];
  /** The cluster figures; `null` when no pod was scraped. */
  readonly snapshot: ClusterSnapshot | null;
  /** The listing's error, when it failed. */
  readonly listError: string | undefined;
  /** True when shutdown interrupted the cycle (its data is discarded). */
  readonly aborted: boolean;
}

/** Collector settings. */
export interface CollectorOptions {
  /** Seconds between cycle starts. */
  readonly intervalSeconds: number;
  /** Seconds one scrape may take. */
  readonly scrapeTimeoutSeconds: number;
  /** Scrapes in flight at once. */
  readonly scrapeConcurrency: number;
  /** The `CLUSTER_ID` dimension. */
  readonly clusterId: string;
  /** Cycles per CloudWatch publish. @default 2 */
  readonly publishEvery?: number;
  /** Failed pods logged one by one per cycle before a summary line. @default 20 */
  readonly maxFailureLogs?: number;
}

/** What the collector talks to. */
export interface CollectorDeps {
  /** Lists the pods. */
  readonly lister: TargetLister;
  /** Scrapes one pod. */
  readonly scraper: Scraper;
  /** CloudWatch buffer; `undefined` when CloudWatch is off. */
  readonly buffer: PublishBuffer | undefined;
  /** Called after every cycle (Prometheus export, own metrics). */
  readonly onCycle?: (report: CycleReport) => void;
  /** Time. */
  readonly clock: Clock;
}

/** The collector and the state it carries between cycles. */
export class Collector {
  readonly #deps: CollectorDeps;
  readonly #opts: CollectorOptions;
  readonly #state = new AggregatorState();
  #cycles = 0;

  /**
   * @param deps adapters
   * @param opts settings
   */
  constructor(deps: CollectorDeps, opts: CollectorOptions) {
    this.#deps = deps;
    this.#opts = opts;
  }

  /**
   * One cycle: list, scrape, parse, aggregate, queue for CloudWatch.
   *
   * @param signal shutdown; an interrupted cycle publishes nothing
   * @param publish queue the snapshot for CloudWatch @default true
   * @returns what happened
   */
  async cycle(signal: AbortSignal, publish = true): Promise<CycleReport> {
    const { clock } = this.#deps;
    const t0 = clock.now();
    const startedAt = new Date(t0);
    const log = getLogger(["cni-metrics-helper", "collector"]);
    const timeoutMs = this.#opts.scrapeTimeoutSeconds * 1000;
    const base = { startedAt, notRunning: 0, scraped: 0, failures: [], snapshot: null };

    let targets: Target[];
    try {
      targets = await this.#deps.lister.list(
        AbortSignal.any([signal, AbortSignal.timeout(Math.max(timeoutMs, 10_000))]),
      );
      await this.#deps.scraper.prepare(AbortSignal.any([signal, AbortSignal.timeout(30_000)]));
    } catch (e) {
      const report: CycleReport = {
        ...base,
        durationMs: clock.now() - t0,
        found: undefined,
        listError: errorText(e),
        aborted: signal.aborted,
      };
      if (!signal.aborted) {
        log.error("cycle failed: {error}; nothing published for this cycle", {
          error: report.listError,
        });
      }
      this.#deps.onCycle?.(report);
      return report;
    }

    const running = targets.filter((t) => t.running);
    // each pod is folded in as soon as it is parsed, so its body and
    // samples become garbage at once
    const cycle = new CycleAggregation(this.#state);
    const outcomes = await mapLimit(
      running,
      this.#opts.scrapeConcurrency,
      (t) => this.#scrapeOne(t, AbortSignal.any([signal, AbortSignal.timeout(timeoutMs)]), cycle),
    );
    let scraped = 0;
    const failures: Failure[] = [];
    outcomes.forEach((o, i) => {
      if (o instanceof ScrapeError) failures.push({ target: running[i] as Target, error: o });
      else scraped++;
    });
    const common = {
      startedAt,
      found: targets.length,
      notRunning: targets.length - running.length,
      scraped,
      failures,
      listError: undefined,
    };
    if (signal.aborted) {
      const report = { ...common, durationMs: clock.now() - t0, snapshot: null, aborted: true };
      this.#deps.onCycle?.(report);
      return report;
    }
    const snapshot = cycle.finish(targets.map((t) => t.key));
    if (snapshot !== null && publish && this.#deps.buffer !== undefined) {
      this.#deps.buffer.add(toDatums(snapshot, this.#opts.clusterId, startedAt));
    }
    const report: CycleReport = {
      ...common,
      durationMs: clock.now() - t0,
      snapshot,
      aborted: false,
    };
    this.#log(report);
    this.#deps.onCycle?.(report);
    return report;
  }

  async #scrapeOne(
    target: Target,
    signal: AbortSignal,
    cycle: CycleAggregation,
  ): Promise<true | ScrapeError> {
    let body: string;
    try {
      body = await this.#deps.scraper.scrape(target, signal);
    } catch (e) {
      if (e instanceof ScrapeError && e.kind === "timeout") {
        return new ScrapeError("timeout", `timed out after ${this.#opts.scrapeTimeoutSeconds} s`);
      }
      return e instanceof ScrapeError ? e : new ScrapeError("network", errorText(e));
    }
    try {
      // Keep only the families the aggregation reads: the rest (Go runtime
      // metrics, most of the body) becomes garbage right away.
      const all = parseExposition(body);
      const families = new Map<string, MetricFamily>();
      for (const name of WANTED) {
        const f = all.get(name);
        if (f !== undefined) families.set(name, f);
      }
      cycle.add({ pod: target.key, families });
      return true;
    } catch (e) {
      if (e instanceof ExpositionParseError) {
        return new ScrapeError("parse", `metrics text is malformed at ${e.message}`);
      }
      return new ScrapeError("parse", errorText(e));
    }
  }

  #log(r: CycleReport): void {
    const log = getLogger(["cni-metrics-helper", "collector"]);
    const max = this.#opts.maxFailureLogs ?? 20;
    for (const f of r.failures.slice(0, max)) {
      log.warn("scrape of pod {pod} on node {node} failed ({kind}): {reason}", {
        pod: `${f.target.namespace}/${f.target.name}`,
        node: f.target.node,
        kind: f.error.kind,
        reason: f.error.message,
      });
    }
    if (r.failures.length > max) {
      const byKind: Record<string, number> = {};
      for (const f of r.failures) byKind[f.error.kind] = (byKind[f.error.kind] ?? 0) + 1;
      log.warn("{more} more pods failed this cycle ({byKind})", {
        more: r.failures.length - max,
        byKind: Object.entries(byKind).map(([k, n]) => `${k}: ${n}`).join(", "),
      });
    }
    const summary = {
      found: r.found,
      scraped: r.scraped,
      failed: r.failures.length,
      notRunning: r.notRunning,
      durationMs: Math.round(r.durationMs),
    };
    if (r.snapshot === null) {
      log.error(
        "cycle: {found} pods found, none scraped ({failed} failed, {notRunning} not running): " +
          "nothing published for this cycle",
        summary,
      );
      return;
    }
    const values = Object.fromEntries(r.snapshot.values);
    const text = [...r.snapshot.values].map(([k, v]) => `${k}=${v}`).join(" ");
    log.info(
      "cycle: {found} pods found, {scraped} scraped, {failed} failed, {notRunning} not running " +
        "in {durationMs} ms; cluster: {text}",
      { ...summary, baselined: r.snapshot.podsBaselined, text, values },
    );
  }

  /** Starts a CloudWatch publish in the background (shared with one in flight). */
  #publishInBackground(): void {
    const buffer = this.#deps.buffer;
    if (buffer === undefined || buffer.pending === 0) return;
    // Not tied to shutdown: aborting a request CloudWatch may already have
    // accepted could send its datums twice. The SDK's own timeouts bound it.
    void buffer.flush(AbortSignal.timeout(120_000));
  }

  /**
   * Cycles every interval until `signal` aborts; publishes every
   * `publishEvery` cycles without holding up the next cycle.
   *
   * @param signal shutdown
   */
  async run(signal: AbortSignal): Promise<void> {
    const { clock } = this.#deps;
    const intervalMs = this.#opts.intervalSeconds * 1000;
    const every = this.#opts.publishEvery ?? 2;
    const log = getLogger(["cni-metrics-helper", "collector"]);
    while (!signal.aborted) {
      const t0 = clock.now();
      await this.cycle(signal);
      this.#cycles++;
      if (signal.aborted) break;
      if (this.#cycles % every === 0) this.#publishInBackground();
      const elapsed = clock.now() - t0;
      if (elapsed >= intervalMs) {
        log.warn(
          "cycle took {elapsedMs} ms, longer than the {intervalMs} ms interval; next cycle starts now",
          { elapsedMs: Math.round(elapsed), intervalMs },
        );
        continue;
      }
      await clock.sleep(intervalMs - elapsed, signal);
    }
  }

  /**
   * Sends everything queued (after any publish in flight) until the buffer is
   * empty, a request fails, or `signal` aborts.
   *
   * @param signal bounds the flush (shutdown deadline)
   * @returns the last flush's result; `undefined` when CloudWatch is off
   */
  async flush(signal: AbortSignal): Promise<FlushResult | undefined> {
    const buffer = this.#deps.buffer;
    if (buffer === undefined) return undefined;
    const deadline = new Promise<null>((resolve) => {
      if (signal.aborted) resolve(null);
      signal.addEventListener("abort", () => resolve(null), { once: true });
    });
    for (;;) {
      const r = await Promise.race([buffer.flush(signal), deadline]);
      if (r === null) {
        return {
          requests: 0,
          sent: 0,
          pending: buffer.pending,
          error: "the flush deadline passed",
        };
      }
      if (r.error !== undefined || r.pending === 0) return r;
    }
  }

  /**
   * `--once`: a baseline cycle, one interval, a second cycle that is
   * published, then a flush.
   *
   * @param signal shutdown
   * @returns the second cycle's report and the flush result
   */
  async once(
    signal: AbortSignal,
  ): Promise<{ report: CycleReport; flush: FlushResult | undefined }> {
    const first = await this.cycle(signal, false);
    await this.#deps.clock.sleep(
      Math.max(0, this.#opts.intervalSeconds * 1000 - first.durationMs),
      signal,
    );
    const report = await this.cycle(signal, true);
    const flush = await this.flush(signal);
    return { report, flush };
  }
}
