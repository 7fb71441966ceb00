/**
 * The `report` command's output (pure: one cycle's inputs in, text or JSON
 * out): where the IPs are, per zone, per node group and (with `--subnets`)
 * per subnet, and the nodes with the least headroom. The JSON shape is a
 * contract scripts rely on (docs/metrics.md, "report").
 *
 * @module
 */

import type { ClusterSnapshot, GroupFigures, SubnetFigure } from "../model/report.ts";

/** One group's row. */
export interface ReportGroup {
  /** Nodes (aws-node pods) scraped in it. */
  readonly nodes: number;
  /** IPs assigned to pods. */
  readonly assigned: number;
  /** IPs held, warm pools included. */
  readonly total: number;
  /** IPs the nodes can hold at most. */
  readonly max: number;
  /** IPs held that no pod uses (total - assigned). */
  readonly idle: number;
  /** The least free IPs on one of its nodes (max - assigned); `null` when unknown. */
  readonly minHeadroom: number | null;
}

/** One subnet's row. */
export interface ReportSubnet {
  /** `subnet-…` */
  readonly subnetId: string;
  /** Its zone. */
  readonly zone: string;
  /** Free IPs (`AvailableIpAddressCount`). */
  readonly available: number;
  /** IPs assigned to pods in it; `null` when no scraped aws-node serves them per ENI. */
  readonly assigned: number | null;
  /** Free aligned /28 blocks; `null` until prefix counting is on. */
  readonly freePrefixes: number | null;
  /** Hours until its free IPs run out at the current trend; `null` without a forecast. */
  readonly hoursToExhaustion: number | null;
}

/** The report as scripts read it (`report --output json`). */
export interface Report {
  /** The `CLUSTER_ID`. */
  readonly clusterId: string;
  /** Per zone, by name. */
  readonly zones: readonly (ReportGroup & { readonly zone: string })[];
  /** Per node group, by name. */
  readonly nodeGroups: readonly (ReportGroup & { readonly nodeGroup: string })[];
  /** The nodes with the least headroom, ascending, at most 10. */
  readonly nodesNearLimit: readonly { readonly node: string; readonly headroom: number }[];
  /** Per subnet (with `--subnets`), by id; empty without. */
  readonly subnets: readonly ReportSubnet[];
}

function row(g: GroupFigures): ReportGroup {
  const v = (name: string) => g.values.get(name) ?? 0;
  return {
    nodes: g.pods,
    assigned: v("assignIPAddresses"),
    total: v("totalIPAddresses"),
    max: v("maxIPAddresses"),
    idle: v("totalIPAddresses") - v("assignIPAddresses"),
    minHeadroom: g.headroom?.min ?? null,
  };
}

function subnetRow(s: SubnetFigure, snap: ClusterSnapshot): ReportSubnet {
  return {
    subnetId: s.subnetId,
    zone: s.availabilityZone,
    available: s.available,
    assigned: snap.subnetAssigned === undefined ? null : snap.subnetAssigned.get(s.subnetId) ?? 0,
    freePrefixes: null,
    hoursToExhaustion: null,
  };
}

/**
 * The report of one cycle's inputs.
 *
 * @param snap the cycle's inputs, with the zone and node group breakdowns
 * @param clusterId the `CLUSTER_ID`
 * @returns the report
 */
export function buildReport(snap: ClusterSnapshot, clusterId: string): Report {
  const groups = (b: "zone" | "nodegroup") => snap.breakdowns?.get(b) ?? [];
  return {
    clusterId,
    zones: groups("zone").map((g) => ({ zone: g.group, ...row(g) })),
    nodeGroups: groups("nodegroup").map((g) => ({ nodeGroup: g.group, ...row(g) })),
    nodesNearLimit: [...(snap.lowestHeadroom ?? [])],
    subnets: (snap.subnets ?? []).map((s) => subnetRow(s, snap)),
  };
}

/** Width of the bar of the share of max in use. */
const BAR = 20;

/** A bar of `used / of`, `BAR` characters, `#` for the share in use (full past 100%). */
function bar(used: number, of: number): string {
  const share = of > 0 ? Math.max(0, used / of) : 0;
  const n = Math.round(Math.min(1, share) * BAR);
  return `${"#".repeat(n)}${".".repeat(BAR - n)} ${String(Math.round(share * 100)).padStart(3)}%`;
}

function table(head: readonly string[], rows: readonly (readonly string[])[]): string[] {
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? "").length)));
  const line = (cells: readonly string[]) =>
    cells.map((
      c,
      i,
    ) => (i === 0 || i === cells.length - 1
      ? c.padEnd(widths[i] ?? 0)
      : c.padStart(widths[i] ?? 0))
    )
      .join("  ").trimEnd();
  return [line(head), ...rows.map(line)];
}

const cut = (text: string, n: number) => (text.length <= n ? text : `${text.slice(0, n - 1)}…`);

function groupTable(title: string, rows: readonly (ReportGroup & { name: string })[]): string[] {
  return [
    title,
    ...table(
      ["", "nodes", "assigned", "warm", "max", "idle", "least free", "in use of max"],
      rows.map((r) => [
        cut(r.name, 24),
        String(r.nodes),
        String(r.assigned),
        String(r.total),
        String(r.max),
        String(r.idle),
        r.minHeadroom === null ? "-" : String(r.minHeadroom),
        bar(r.assigned, r.max),
      ]),
    ).map((l) => `  ${l}`),
    "",
  ];
}

/**
 * The report as text: a table per zone, per node group and per subnet, and
 * the nodes with the least headroom; every line fits 100 columns.
 *
 * @param r the report
 * @returns the text, ending in a newline
 */
export function reportText(r: Report): string {
  const out = [`cluster ${r.clusterId}: where the pod IPs are`, ""];
  out.push(...groupTable("by zone", r.zones.map((z) => ({ ...z, name: z.zone }))));
  out.push(...groupTable("by node group", r.nodeGroups.map((g) => ({ ...g, name: g.nodeGroup }))));
  if (r.subnets.length > 0) {
    out.push(
      "by subnet",
      ...table(
        ["", "zone", "free", "assigned", "free /28", "hours left", "assigned of free + assigned"],
        r.subnets.map((s) => [
          s.subnetId,
          s.zone,
          String(s.available),
          s.assigned === null ? "-" : String(s.assigned),
          s.freePrefixes === null ? "-" : String(s.freePrefixes),
          s.hoursToExhaustion === null ? "-" : s.hoursToExhaustion.toFixed(1),
          s.assigned === null ? "" : bar(s.assigned, s.assigned + s.available),
        ]),
      ).map((l) => `  ${l}`),
      "",
    );
  }
  out.push(
    `the ${r.nodesNearLimit.length} nodes with the least free IPs (max - assigned)`,
    ...r.nodesNearLimit.map((n) => `  ${String(n.headroom).padStart(5)}  ${cut(n.node, 90)}`),
  );
  return out.join("\n") + "\n";
}
