/**
 * One collection cycle, and nothing else: list the aws-node pods, scrape
 * the running ones with bounded concurrency and a per-scrape timeout, parse
 * each body and fold it into the cycle's aggregation as soon as it arrives,
 * and return a {@linkcode CycleReport}. What happens to the report (logs,
 * CloudWatch, `/metrics`) is the sinks' business (`outputs/output.ts`); when cycles
 * run is the scheduler's (`app/scheduler.ts`).
 *
 * @module
 */

import type { NodeInfo } from "../kube/node_watcher.ts";
import type { NodeGroups } from "../model/node_groups.ts";
import {
  AggregatorState,
  CycleAggregation,
  type GroupOptions,
  HEADROOM_FAMILIES,
  PER_ENI_FAMILY,
  START_TIME_FAMILY,
} from "../model/aggregation.ts";
import { ExpositionParseError, parseExposition, quote, QUOTE_MAX } from "../model/exposition.ts";
import { type AwsNodeFold, awsNodeFolds, FIGURES, type FigureTable } from "../model/figures.ts";
import { type Clock, deadline } from "../base/clock.ts";
import { errorText } from "../base/errors.ts";
import type { TargetLister } from "../kube/pod_watcher.ts";
import { logger } from "../base/logging.ts";
import { mapLanes } from "../scrape/lanes.ts";
import { ScrapeError, type Scraper } from "../scrape/scraper.ts";
import type { ClusterSnapshot, CycleReport, Failure, Target } from "../model/report.ts";
import type { BackgroundSource } from "./source.ts";

const log = logger("collector");

/** Families the aggregation reads for these folds: theirs, the start time, headroom's. */
function wantedFamilies(folds: readonly AwsNodeFold[]): ReadonlySet<string> {
  return new Set([
    ...folds.map((m) => m.family),
    START_TIME_FAMILY,
    HEADROOM_FAMILIES.max,
    HEADROOM_FAMILIES.assigned,
    PER_ENI_FAMILY,
  ]);
}

/** Time the credential refresh before the scrapes may take, ms (an exec plugin). */
export const PREPARE_TIMEOUT_MS = 30_000;

/**
 * Time after which a scrape leaves its slot of `--scrape-concurrency` for
 * the slow lane, ms (a healthy scrape takes milliseconds). @default 500
 */
export const SLOW_AFTER_MS = 500;
/**
 * Size of the slow lane, in multiples of `--scrape-concurrency`: scrapes that
 * outlived {@linkcode SLOW_AFTER_MS}, and pods that timed out last cycle.
 * @default 16
 */
export const SLOW_LANE_FACTOR = 16;

/** Collector settings. */
export interface CollectorOptions {
  /** Seconds one scrape may take. */
  readonly scrapeTimeoutSeconds: number;
  /** Scrapes in flight at once. */
  readonly scrapeConcurrency: number;
  /** The figures whose aws-node families are read and folded. @default FIGURES */
  readonly figures?: FigureTable;
  /** The breakdowns (`--breakdown`, `--breakdown-max-groups`). @default none */
  readonly groups?: GroupOptions;
  /** `--headroom-threshold`; `undefined` (`--no-headroom`): no headroom figures. */
  readonly headroomThreshold?: number | undefined;
}

/** What the collector talks to. */
export interface CollectorDeps {
  /** Lists the pods. */
  readonly lister: TargetLister;
  /** Scrapes one pod. */
  readonly scraper: Scraper;
  /** Time: cycle timestamps and every timeout. */
  readonly clock: Clock;
  /** Each network interface's subnet as last read (`--subnets`). @default none */
  readonly eniSubnets?: () => ReadonlyMap<string, string>;
  /** The nodes' groups, for the breakdowns (a node watcher). @default none */
  readonly nodes?: NodeSource;
  /** Background sources whose last read joins each cycle (the subnets' free IPs). @default none */
  readonly background?: readonly BackgroundSource[];
}

/** Where a cycle finds each node's groups (`kube/node_watcher.ts`). */
export interface NodeSource {
  /**
   * The nodes now.
   *
   * @param signal aborts a first listing
   * @returns node name → its groups
   */
  current(signal: AbortSignal): Promise<{ readonly nodes: ReadonlyMap<string, NodeInfo> }>;
}

/** Runs cycles; carries the counters' state from one cycle to the next. */
export class Collector {
  readonly #deps: CollectorDeps;
  readonly #opts: CollectorOptions;
  readonly #folds: readonly AwsNodeFold[];
  readonly #wanted: ReadonlySet<string>;
  readonly #state = new AggregatorState();
  /** the last node-listing failure warned about (said once until it changes) */
  #nodesProblem: string | undefined;
  /** keys of pods whose last scrape timed out */
  readonly #suspects = new Set<string>();

  /**
   * @param deps pod source, scraper, clock
   * @param opts timeout and concurrency
   */
  constructor(deps: CollectorDeps, opts: CollectorOptions) {
    this.#deps = deps;
    this.#opts = opts;
    this.#folds = awsNodeFolds(opts.figures ?? FIGURES);
    this.#wanted = wantedFamilies(this.#folds);
  }

  /**
   * One cycle: list → scrape → fold → report. Never throws: a failed listing
   * or scrape is part of the report.
   *
   * @param signal shutdown; an interrupted cycle leaves the counters' state as it was
   * @returns what happened
   */
  async collect(signal: AbortSignal): Promise<CycleReport> {
    const { clock } = this.#deps;
    const t0 = clock.now();
    const startedAt = new Date(t0);
    const timeoutMs = this.#opts.scrapeTimeoutSeconds * 1000;
    const base = { startedAt, notRunning: 0, scraped: 0, failures: [], snapshot: null };

    let targets: readonly Target[];
    let stale: string | undefined;
    try {
      // the lister bounds each of its requests itself (a first LIST of a
      // large cluster is many pages): only shutdown stops it from here
      ({ targets, stale } = await this.#deps.lister.list(signal));
      const prep = deadline(clock, signal, PREPARE_TIMEOUT_MS);
      try {
        await this.#deps.scraper.prepare(prep.signal);
      } finally {
        prep.release();
      }
    } catch (e) {
      return {
        ...base,
        durationMs: clock.now() - t0,
        found: undefined,
        listError: errorText(e),
        listStale: undefined,
        aborted: signal.aborted,
        publish: true,
      };
    }

    const running = targets.filter((t) => t.running);
    const listed = new Set(targets.map((t) => t.key));
    // each pod is folded in as soon as it is parsed, so its body and
    // samples become garbage at once
    const nodes = await this.#nodes(signal);
    const cycle = new CycleAggregation(
      this.#state,
      this.#opts.headroomThreshold,
      this.#folds,
      this.#groupOptions(),
    );
    const outcomes = await mapLanes(
      running,
      (t) => this.#suspects.has(t.key),
      {
        fast: this.#opts.scrapeConcurrency,
        slow: this.#opts.scrapeConcurrency * SLOW_LANE_FACTOR,
        slowAfterMs: SLOW_AFTER_MS,
        timer: (ms) => clock.timeout(ms),
      },
      async (t) => {
        const d = deadline(clock, signal, timeoutMs);
        try {
          return await this.#scrapeOne(t, d.signal, cycle, nodes?.get(t.node)?.groups);
        } finally {
          d.release();
        }
      },
    );
    let scraped = 0;
    const failures: Failure[] = [];
    outcomes.forEach((o, i) => {
      const t = running[i] as Target;
      if (o instanceof ScrapeError) failures.push({ target: t, error: o });
      else scraped++;
      // a pod that timed out starts in the slow lane next cycle, until it answers
      if (o instanceof ScrapeError && o.kind === "timeout") this.#suspects.add(t.key);
      else if (!signal.aborted) this.#suspects.delete(t.key);
    });
    for (const key of this.#suspects) if (!listed.has(key)) this.#suspects.delete(key);
    const aborted = signal.aborted;
    return {
      startedAt,
      found: targets.length,
      notRunning: targets.length - running.length,
      scraped,
      failures,
      listError: undefined,
      listStale: stale,
      warmSettings: warmSettingsOf(targets),
      // an interrupted cycle commits nothing: the next one diffs against the last good values
      snapshot: aborted ? null : this.#withBackground(cycle.finish(listed)),
      durationMs: clock.now() - t0,
      aborted,
      publish: true,
    };
  }

  /** The snapshot with each background source's last read. */
  #withBackground(snapshot: ClusterSnapshot | null): ClusterSnapshot | null {
    if (snapshot === null) return null;
    let inputs = snapshot;
    for (const source of this.#deps.background ?? []) inputs = source.contribute(inputs);
    return inputs;
  }

  /** The breakdowns, and with `--subnets` each ENI's subnet as last read. */
  #groupOptions(): GroupOptions {
    const base = this.#opts.groups ?? { breakdowns: [] };
    const eni = this.#deps.eniSubnets?.();
    return eni === undefined ? base : { ...base, eniSubnets: eni };
  }

  /** The nodes' groups for this cycle; a failed listing warns once and counts pods in `none`. */
  async #nodes(signal: AbortSignal): Promise<ReadonlyMap<string, NodeInfo> | undefined> {
    if (this.#deps.nodes === undefined) return undefined;
    try {
      const { nodes } = await this.#deps.nodes.current(signal);
      this.#nodesProblem = undefined;
      return nodes;
    } catch (e) {
      const problem = errorText(e);
      if (problem !== this.#nodesProblem && !signal.aborted) {
        log.warn(
          "breakdowns: the nodes could not be listed ({error}); this cycle counts every pod in " +
            "group none (RBAC: list and watch nodes)",
          { error: problem },
        );
      }
      this.#nodesProblem = problem;
      return undefined;
    }
  }

  async #scrapeOne(
    target: Target,
    signal: AbortSignal,
    cycle: CycleAggregation,
    groups: NodeGroups | undefined,
  ): Promise<true | ScrapeError> {
    const t0 = this.#deps.clock.now();
    const outcome = await this.#scrapeAndFold(target, signal, cycle, groups);
    if (log.isEnabledFor("debug")) {
      const ms = Math.round(this.#deps.clock.now() - t0);
      const what = typeof outcome === "number"
        ? `HTTP 200, ${outcome} bytes`
        : `${
          outcome.status === undefined ? "" : `HTTP ${outcome.status}, `
        }${outcome.kind}: ${outcome.message}`;
      log.debug(
        `scrape of ${target.namespace}/${target.name} (node ${target.node}): ${what}, ${ms} ms`,
      );
    }
    return typeof outcome === "number" ? true : outcome;
  }

  async #scrapeAndFold(
    target: Target,
    signal: AbortSignal,
    cycle: CycleAggregation,
    groups: NodeGroups | undefined,
  ): Promise<number | ScrapeError> {
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
      // only the families the aggregation reads are materialised; the rest
      // of the body (Go runtime metrics, most of it) is skipped line by line
      const families = parseExposition(body, { wanted: this.#wanted });
      if (![...families.keys()].some((f) => f !== START_TIME_FAMILY)) {
        return new ScrapeError(
          "parse",
          `the body (${body.length} characters) has none of aws-node's awscni_* metrics, ` +
            `starting ${quote(body.slice(0, QUOTE_MAX + 1))}: is it aws-node's metrics endpoint?`,
        );
      }
      cycle.add({
        pod: target.key,
        node: target.node,
        families,
        ...(groups !== undefined ? { groups } : {}),
      });
      return body.length;
    } catch (e) {
      if (e instanceof ExpositionParseError) {
        return new ScrapeError("parse", `metrics text is malformed at ${e.message}`);
      }
      return new ScrapeError("parse", errorText(e));
    }
  }
}

/** The warm-pool settings of the listed pods, each with its pod count, in first-seen order. */
function warmSettingsOf(
  targets: readonly Target[],
): { settings: Readonly<Record<string, string>>; pods: number }[] {
  const counts = new Map<Readonly<Record<string, string>>, number>();
  for (const t of targets) {
    if (t.warm === undefined) continue;
    counts.set(t.warm, (counts.get(t.warm) ?? 0) + 1);
  }
  return [...counts].map(([settings, pods]) => ({ settings, pods }));
}
