/**
 * Cluster aggregation: per-pod samples in, one cluster snapshot out
 * (DESIGN.md "Semantics"). Pure apart from the explicit
 * {@linkcode AggregatorState} the caller owns and passes in.
 *
 * Counter rules (Prometheus `increase()` semantics, per pod and series):
 * a pod's first successful scrape is its baseline; a value lower than the
 * previous one, or a changed `process_start_time_seconds`, is a restart and
 * the increase is the new value; a series new on a baselined pod contributes
 * its value; a series or family absent from one scrape keeps its last value
 * (so it is not counted again when it returns); a failed scrape changes
 * nothing; a departed pod drops its state.
 *
 * @module
 */

import { type MetricFamily, seriesKey } from "./exposition.ts";
import { type AwsNodeFold, METRICS } from "./figures.ts";
import type { ClusterSnapshot } from "./report.ts";

/** The family aws-node's Go client exposes with its process start time. */
export const START_TIME_FAMILY = "process_start_time_seconds";
const QUANTILE = new Set(["quantile"]);

/**
 * What the aggregator keeps of one pod: its start time and, for every
 * counter series and latency sum/count it has seen, the last good value,
 * as `[slot, value, slot, value, ...]` sorted by slot (a slot numbers one
 * family + label set, shared by every pod: ~0.5 KB a pod instead of a map of
 * maps).
 */
export interface PodMemory {
  /** `process_start_time_seconds` at the last good scrape. */
  readonly startTime: number | undefined;
  /** `[slot, value, ...]`, sorted by slot. */
  readonly entries: readonly number[];
}

/** What the aggregator remembers between cycles: one entry per pod. */
export class AggregatorState {
  /** Pod key → its last good values. */
  readonly pods: Map<string, PodMemory> = new Map();
  readonly #slots = new Map<string, number>();

  /**
   * The slot of a series, numbered on first sight.
   *
   * @param key family and label set
   * @returns its slot
   */
  slot(key: string): number {
    let s = this.#slots.get(key);
    if (s === undefined) {
      s = this.#slots.size;
      this.#slots.set(key, s);
    }
    return s;
  }
}

/** The value of `slot` in sorted entries, or `undefined`. */
function lookup(entries: readonly number[] | undefined, slot: number): number | undefined {
  if (entries === undefined) return undefined;
  let lo = 0;
  let hi = entries.length / 2 - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    const s = entries[2 * mid] as number;
    if (s === slot) return entries[2 * mid + 1];
    if (s < slot) lo = mid + 1;
    else hi = mid - 1;
  }
  return undefined;
}

/** One successfully scraped and parsed pod. */
export interface PodSample {
  /** Stable pod key (namespace/name/uid). */
  readonly pod: string;
  /** The node the pod runs on (names the node with the least IP headroom). @default the pod key */
  readonly node?: string;
  /** The parsed exposition. */
  readonly families: ReadonlyMap<string, MetricFamily>;
}

/** The families a node's IP headroom is computed from. */
export const HEADROOM_FAMILIES = {
  max: "awscni_ip_max",
  assigned: "awscni_assigned_ip_addresses",
} as const;

/**
 * One cycle being folded, pod by pod, as scrapes complete: each pod's
 * samples become numbers at once (so a 5,000-node cycle does not hold 5,000
 * parsed bodies), and the state changes only at {@linkcode finish}: an
 * interrupted cycle leaves it as it was.
 */
export class CycleAggregation {
  readonly #state: AggregatorState;
  readonly #folds: readonly AwsNodeFold[];
  readonly #values: Map<string, number>;
  readonly #next = new Map<string, PodMemory>();
  readonly #latency = new Map<string, number>();
  #baselined = 0;
  readonly #threshold: number | undefined;
  #headroom: { min: number; node: string; near: number; nodes: number } | undefined;

  /**
   * Starts a cycle over the state.
   *
   * @param state the memory carried between cycles (read now, written by `finish`)
   * @param headroomThreshold `--headroom-threshold`; `undefined`: no headroom figures
   * @param folds the aws-node figures to fold (`figures.ts` `awsNodeFolds`) @default METRICS
   */
  constructor(
    state: AggregatorState,
    headroomThreshold?: number,
    folds: readonly AwsNodeFold[] = METRICS,
  ) {
    this.#state = state;
    this.#threshold = headroomThreshold;
    this.#folds = folds;
    this.#values = new Map(folds.map((m) => [m.cwName, 0]));
  }

  /** Notes one node's headroom (both families present). */
  #noteHeadroom(node: string, families: ReadonlyMap<string, MetricFamily>): void {
    if (this.#threshold === undefined) return;
    const max = families.get(HEADROOM_FAMILIES.max);
    const assigned = families.get(HEADROOM_FAMILIES.assigned);
    if (max === undefined || assigned === undefined) return;
    const room = sumOwn(max) - sumOwn(assigned);
    const h = this.#headroom ??= { min: room, node, near: 0, nodes: 0 };
    h.nodes++;
    if (room < this.#threshold) h.near++;
    if (room < h.min || (room === h.min && node < h.node)) {
      h.min = room;
      h.node = node;
    }
  }

  /**
   * Adds one successfully scraped pod.
   *
   * @param sample the pod and its parsed families
   */
  add({ pod, node, families }: PodSample): void {
    this.#noteHeadroom(node ?? pod, families);
    const state = this.#state;
    const prev = state.pods.get(pod);
    if (prev === undefined) this.#baselined++;
    const startTime = families.get(START_TIME_FAMILY)?.samples[0]?.value;
    const restarted = prev !== undefined && startTime !== undefined &&
      prev.startTime !== undefined && startTime !== prev.startTime;
    // after a restart nothing of the old process is a baseline
    const before = restarted ? undefined : prev?.entries;
    const seen = new Map<number, number>();
    for (const spec of this.#folds) {
      const fam = families.get(spec.family);
      if (fam === undefined) continue;
      if (spec.kind === "gauge") {
        add(this.#values, spec, sumOwn(fam));
      } else if (spec.kind === "counter") {
        let inc = 0;
        for (const s of fam.samples) {
          if (s.name !== fam.name || Number.isNaN(s.value)) continue;
          const slot = state.slot(`${spec.family}\u0001${seriesKey(s.labels)}`);
          seen.set(slot, s.value);
          if (prev === undefined) continue; // baseline
          inc += increase(lookup(before, slot), s.value, restarted);
        }
        add(this.#values, spec, inc);
      } else {
        this.#latency.set(
          spec.cwName,
          Math.max(
            this.#latency.get(spec.cwName) ?? 0,
            latencyOf(fam, prev !== undefined, state, before, seen),
          ),
        );
      }
    }
    // a series (or a whole family) missing this time keeps its last value, so
    // its return is not counted again (a body cut at a line boundary looks complete)
    if (before !== undefined) {
      for (let i = 0; i < before.length; i += 2) {
        const slot = before[i] as number;
        if (!seen.has(slot)) seen.set(slot, before[i + 1] as number);
      }
    }
    const slots = [...seen.keys()].sort((a, b) => a - b);
    const entries = new Array<number>(slots.length * 2);
    slots.forEach((slot, i) => {
      entries[2 * i] = slot;
      entries[2 * i + 1] = seen.get(slot) as number;
    });
    this.#next.set(pod, { startTime, entries });
  }

  /**
   * Commits the cycle: scraped pods' new memory, listed-but-failed pods keep
   * theirs, pods not listed are dropped.
   *
   * @param listed keys of every pod listed this cycle (scraped or not)
   * @returns the snapshot, or `null` when no pod was scraped (nothing is to be published)
   */
  finish(listed: Iterable<string>): ClusterSnapshot | null {
    const keep = new Set(listed);
    for (const pod of this.#next.keys()) keep.add(pod);
    for (const pod of [...this.#state.pods.keys()]) {
      if (!keep.has(pod)) this.#state.pods.delete(pod);
    }
    if (this.#next.size === 0) return null;
    for (const [pod, memory] of this.#next) this.#state.pods.set(pod, memory);
    for (const [name, worst] of this.#latency) this.#values.set(name, worst);
    const h = this.#headroom;
    return {
      values: this.#values,
      podsScraped: this.#next.size,
      podsBaselined: this.#baselined,
      headroom: h === undefined || this.#threshold === undefined ? undefined : {
        min: h.min,
        node: h.node,
        nearLimit: h.near,
        threshold: this.#threshold,
        nodes: h.nodes,
      },
    };
  }
}

/**
 * Folds one cycle's scrapes into the state and returns the cluster figures.
 *
 * @param state the memory carried between cycles; updated in place
 * @param listed keys of every pod listed this cycle (scraped or not): state of pods not listed is dropped
 * @param scraped the pods scraped and parsed successfully this cycle
 * @param headroomThreshold `--headroom-threshold`; `undefined`: no headroom figures
 * @returns the snapshot, or `null` when no pod was scraped (nothing is to be published)
 */
export function aggregate(
  state: AggregatorState,
  listed: Iterable<string>,
  scraped: readonly PodSample[],
  headroomThreshold?: number,
): ClusterSnapshot | null {
  const cycle = new CycleAggregation(state, headroomThreshold);
  for (const s of scraped) cycle.add(s);
  return cycle.finish(listed);
}

function add(values: Map<string, number>, spec: AwsNodeFold, v: number): void {
  values.set(spec.cwName, (values.get(spec.cwName) ?? 0) + v);
}

function sumOwn(fam: MetricFamily): number {
  let total = 0;
  for (const s of fam.samples) {
    if (s.name === fam.name && Number.isFinite(s.value)) total += s.value;
  }
  return total;
}

/** Increase of one counter series since its last good value (undefined: new series). */
function increase(before: number | undefined, now: number, restarted: boolean): number {
  if (before === undefined || restarted) return now;
  return now < before ? now : now - before;
}

/**
 * The latency candidate of one pod: max finite p99 over series; for series
 * exposed with no quantile lines at all, Δsum/Δcount where Δcount > 0.
 */
function latencyOf(
  fam: MetricFamily,
  baselined: boolean,
  state: AggregatorState,
  before: readonly number[] | undefined,
  remember: Map<number, number>,
): number {
  let best = 0;
  const withQuantiles = new Set<string>();
  const sums = new Map<string, number>();
  const counts = new Map<string, number>();
  const sumName = `${fam.name}_sum`;
  const countName = `${fam.name}_count`;
  for (const s of fam.samples) {
    if (s.name === fam.name) {
      withQuantiles.add(seriesKey(s.labels, QUANTILE));
      if (s.labels["quantile"] !== undefined && Number(s.labels["quantile"]) === 0.99) {
        if (Number.isFinite(s.value)) best = Math.max(best, s.value);
      }
    } else if (s.name === sumName) sums.set(seriesKey(s.labels), s.value);
    else if (s.name === countName) counts.set(seriesKey(s.labels), s.value);
  }
  for (const [key, count] of counts) {
    const sum = sums.get(key);
    if (withQuantiles.has(key) || sum === undefined) continue;
    const sumSlot = state.slot(`${sumName}\u0001${key}`);
    const countSlot = state.slot(`${countName}\u0001${key}`);
    remember.set(sumSlot, sum);
    remember.set(countSlot, count);
    if (!baselined) continue;
    const prevSum = lookup(before, sumSlot);
    const prevCount = lookup(before, countSlot);
    const reset = prevSum === undefined || prevCount === undefined || count < prevCount;
    const dCount = reset ? count : count - prevCount;
    const dSum = reset ? sum : sum - prevSum;
    if (dCount > 0 && Number.isFinite(dSum)) best = Math.max(best, dSum / dCount);
  }
  return best;
}
