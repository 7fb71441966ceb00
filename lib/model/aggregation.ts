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
import type { ClusterSnapshot, GroupFigures, NodeHeadroom } from "./report.ts";
import { type Breakdown, NO_GROUP, type NodeGroups, OTHER_GROUP } from "./node_groups.ts";

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
  /** The node's groups (zone, node group, instance type). @default `none` for each */
  readonly groups?: NodeGroups;
}

/** How the cycle splits its figures by node group (`--breakdown`) and by subnet. */
export interface GroupOptions {
  /** The breakdowns asked for; empty: none. */
  readonly breakdowns: readonly Breakdown[];
  /** Groups kept per breakdown; the smallest past it fold into `other`. @default 50 */
  readonly maxGroups?: number;
  /**
   * Each network interface's subnet (`--subnets`): `awscni_assigned_ip_per_eni`
   * is summed per subnet with it. @default none: no per-subnet sums
   */
  readonly eniSubnets?: ReadonlyMap<string, string>;
}

/** The family of a node's IPs assigned per ENI (label `eni`), served by aws-node since 2023. */
export const PER_ENI_FAMILY = "awscni_assigned_ip_per_eni";

/** Nodes kept in the snapshot's list of the least headroom (the report shows them). */
export const LOWEST_HEADROOM_KEPT = 10;

interface GroupAcc {
  readonly values: Map<string, number>;
  pods: number;
  headroom: { min: number; node: string; near: number; nodes: number } | undefined;
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
  readonly #groupOpts: GroupOptions;
  readonly #groups = new Map<Breakdown, Map<string, GroupAcc>>();
  readonly #lowest: { node: string; headroom: number }[] = [];
  readonly #subnetAssigned = new Map<string, number>();
  #withoutPerEni = 0;

  /**
   * Starts a cycle over the state.
   *
   * @param state the memory carried between cycles (read now, written by `finish`)
   * @param headroomThreshold `--headroom-threshold`; `undefined`: no headroom figures
   * @param folds the aws-node figures to fold (`figures.ts` `awsNodeFolds`) @default METRICS
   * @param groups the breakdowns to split by @default none
   */
  constructor(
    state: AggregatorState,
    headroomThreshold?: number,
    folds: readonly AwsNodeFold[] = METRICS,
    groups: GroupOptions = { breakdowns: [] },
  ) {
    this.#state = state;
    this.#threshold = headroomThreshold;
    this.#folds = folds;
    this.#values = new Map(folds.map((m) => [m.cwName, 0]));
    this.#groupOpts = groups;
    for (const b of groups.breakdowns) this.#groups.set(b, new Map());
  }

  /** One node's headroom (both families present), or `undefined`. */
  #roomOf(families: ReadonlyMap<string, MetricFamily>): number | undefined {
    if (this.#threshold === undefined) return undefined;
    const max = families.get(HEADROOM_FAMILIES.max);
    const assigned = families.get(HEADROOM_FAMILIES.assigned);
    if (max === undefined || assigned === undefined) return undefined;
    return sumOwn(max) - sumOwn(assigned);
  }

  /** Keeps the nodes with the least headroom, ascending (the first by name on a tie). */
  #noteLowest(node: string, room: number): void {
    const l = this.#lowest;
    const at = l.findIndex((x) => room < x.headroom || (room === x.headroom && node < x.node));
    if (at < 0) {
      if (l.length < LOWEST_HEADROOM_KEPT) l.push({ node, headroom: room });
      return;
    }
    l.splice(at, 0, { node, headroom: room });
    if (l.length > LOWEST_HEADROOM_KEPT) l.pop();
  }

  /** The pod's contributions to the groups it is in. */
  #noteGroups(
    groups: NodeGroups | undefined,
    node: string,
    contrib: ReadonlyMap<string, number>,
    room: number | undefined,
  ): void {
    for (const [b, byGroup] of this.#groups) {
      const name = groups?.[b] ?? NO_GROUP;
      let g = byGroup.get(name);
      if (g === undefined) {
        byGroup.set(name, g = { values: new Map(), pods: 0, headroom: undefined });
      }
      g.pods++;
      for (const [k, v] of contrib) g.values.set(k, (g.values.get(k) ?? 0) + v);
      if (room !== undefined && this.#threshold !== undefined) {
        g.headroom = noteRoom(g.headroom, node, room, this.#threshold);
      }
    }
  }

  /**
   * Adds one successfully scraped pod.
   *
   * @param sample the pod and its parsed families
   */
  add({ pod, node, families, groups }: PodSample): void {
    const where = node ?? pod;
    const room = this.#roomOf(families);
    if (room !== undefined && this.#threshold !== undefined) {
      this.#headroom = noteRoom(this.#headroom, where, room, this.#threshold);
      this.#noteLowest(where, room);
    }
    const contrib = new Map<string, number>();
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
        const v = sumOwn(fam);
        add(this.#values, spec, v);
        contrib.set(spec.cwName, v);
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
        contrib.set(spec.cwName, inc);
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
    if (this.#groups.size > 0) this.#noteGroups(groups, where, contrib, room);
    const eniSubnets = this.#groupOpts.eniSubnets;
    if (eniSubnets !== undefined) {
      const perEni = families.get(PER_ENI_FAMILY);
      if (perEni === undefined) this.#withoutPerEni++;
      for (const smp of perEni?.samples ?? []) {
        const subnet = eniSubnets.get(smp.labels["eni"] ?? "");
        if (subnet === undefined || smp.name !== PER_ENI_FAMILY || !Number.isFinite(smp.value)) {
          continue;
        }
        this.#subnetAssigned.set(subnet, (this.#subnetAssigned.get(subnet) ?? 0) + smp.value);
      }
    }
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
    const threshold = this.#threshold;
    const breakdowns = new Map<Breakdown, readonly GroupFigures[]>();
    const folded: { breakdown: Breakdown; groups: number }[] = [];
    for (const [b, byGroup] of this.#groups) {
      const max = this.#groupOpts.maxGroups ?? DEFAULT_MAX_GROUPS;
      const { kept, foldedCount } = foldSmallest(byGroup, max, threshold);
      if (foldedCount > 0) folded.push({ breakdown: b, groups: foldedCount });
      breakdowns.set(
        b,
        kept.map(([group, g]) => ({
          group,
          pods: g.pods,
          values: g.values,
          headroom: headroomOf(g.headroom, threshold),
        })),
      );
    }
    return {
      values: this.#values,
      podsScraped: this.#next.size,
      podsBaselined: this.#baselined,
      headroom: headroomOf(this.#headroom, threshold),
      lowestHeadroom: this.#lowest,
      ...(this.#groupOpts.eniSubnets !== undefined
        ? { subnetAssigned: this.#subnetAssigned, podsWithoutPerEni: this.#withoutPerEni }
        : {}),
      ...(breakdowns.size > 0 ? { breakdowns, folded } : {}),
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

/** Groups kept per breakdown when `--breakdown-max-groups` is not given. @default 50 */
export const DEFAULT_MAX_GROUPS = 50;

type RoomAcc = { min: number; node: string; near: number; nodes: number };

/** Adds one node's headroom to a running least-and-count. */
function noteRoom(
  h: RoomAcc | undefined,
  node: string,
  room: number,
  threshold: number,
): RoomAcc {
  const acc = h ?? { min: room, node, near: 0, nodes: 0 };
  acc.nodes++;
  if (room < threshold) acc.near++;
  if (room < acc.min || (room === acc.min && node < acc.node)) {
    acc.min = room;
    acc.node = node;
  }
  return acc;
}

function headroomOf(
  h: RoomAcc | undefined,
  threshold: number | undefined,
): NodeHeadroom | undefined {
  return h === undefined || threshold === undefined
    ? undefined
    : { min: h.min, node: h.node, nearLimit: h.near, threshold, nodes: h.nodes };
}

/**
 * The groups of one breakdown, largest first (most pods, then by name), at
 * most `max`: past it the smallest fold into `other` (sums added, the least
 * headroom the least of theirs).
 */
function foldSmallest(
  byGroup: ReadonlyMap<string, GroupAcc>,
  max: number,
  threshold: number | undefined,
): { kept: [string, GroupAcc][]; foldedCount: number } {
  const all = [...byGroup].sort((a, b) =>
    b[1].pods - a[1].pods || (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0)
  );
  if (all.length <= max) {
    return { kept: all.sort((a, b) => (a[0] < b[0] ? -1 : 1)), foldedCount: 0 };
  }
  const top = all.slice(0, Math.max(0, max - 1));
  const rest = all.slice(top.length);
  // a group that is itself called "other" joins the folded ones
  const kept = top.filter(([name]) => name !== OTHER_GROUP);
  const into = [...rest, ...top.filter(([name]) => name === OTHER_GROUP)];
  const other: GroupAcc = { values: new Map(), pods: 0, headroom: undefined };
  for (const [, g] of into) {
    other.pods += g.pods;
    for (const [k, v] of g.values) other.values.set(k, (other.values.get(k) ?? 0) + v);
    const h = g.headroom;
    if (h !== undefined && threshold !== undefined) {
      const o = other.headroom ??= { min: h.min, node: h.node, near: 0, nodes: 0 };
      o.nodes += h.nodes;
      o.near += h.near;
      if (h.min < o.min || (h.min === o.min && h.node < o.node)) {
        o.min = h.min;
        o.node = h.node;
      }
    }
  }
  const out: [string, GroupAcc][] = [...kept, [OTHER_GROUP, other]];
  return { kept: out.sort((a, b) => (a[0] < b[0] ? -1 : 1)), foldedCount: rest.length };
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
