/**
 * The CloudWatch dashboard and alarms the `dashboard` command creates (pure:
 * definitions in, JSON out). The dashboard replaces the user guide's twelve
 * console steps; the alarms cover what operators deploy the helper for:
 * running out of pod IPs. Each widget's rows and every alarm come from the
 * figures' declarations (`model/figures.ts`); {@linkcode WIDGETS} only
 * says how each widget looks, in order.
 *
 * @module
 */

import { DIMENSION, NAMESPACE } from "./datum_buffer.ts";
import { type Breakdown, BREAKDOWN_SPECS } from "../model/node_groups.ts";
import {
  type AlarmInput,
  type Figure,
  FIGURES,
  type FigureTable,
  type WidgetRow,
} from "../model/figures.ts";

export type { AlarmInput } from "../model/figures.ts";

/** What the definitions depend on. */
export interface DashboardTarget {
  /** Region of the metrics (and the dashboard's widgets). */
  readonly region: string;
  /** The `CLUSTER_ID` dimension value. */
  readonly clusterId: string;
  /** With `--subnets`: the per-subnet widget (and alarm). @default false */
  readonly subnets?: boolean;
  /** With `--breakdown`: a row per breakdown (the figures per group). @default none */
  readonly breakdowns?: readonly Breakdown[];
}

/** The default dashboard name. */
export function defaultDashboardName(clusterId: string): string {
  return `EKS-CNI-metrics-${clusterId.replace(/[^A-Za-z0-9_-]/g, "-")}`;
}

/** Seconds per datapoint in widgets and alarms (the helper publishes every 30 s by default). */
export const PERIOD = 60;

type MetricRow = (string | Record<string, unknown>)[];

function metric(t: DashboardTarget, name: string, opts: Record<string, unknown> = {}): MetricRow {
  const row: MetricRow = [NAMESPACE, name, DIMENSION, t.clusterId];
  if (Object.keys(opts).length > 0) row.push(opts);
  return row;
}

interface Widget {
  type: "metric" | "text";
  x: number;
  y: number;
  width: number;
  height: number;
  properties: Record<string, unknown>;
}

/** How one widget looks; its rows are the figures that name it. */
export interface WidgetSpec {
  /** The id figures refer to (`WidgetRow.widget`). */
  readonly id: string;
  /** Title. */
  readonly title: string;
  /** A full-width row of current values, or a half-width time series. */
  readonly view: "singleValue" | "timeSeries";
  /** The statistic of its rows. */
  readonly stat: "Average" | "Sum" | "Minimum" | "Maximum";
  /** Metric-math rows before the figures' rows (they refer to the rows' ids). @default none */
  readonly expressions?: readonly Record<string, unknown>[];
  /** More widget properties (axes). @default none */
  readonly extra?: Readonly<Record<string, unknown>>;
}

const MIN_ZERO = { yAxis: { left: { min: 0 } } };

/** The widgets, in dashboard order (half-width series fill two a row). */
export const WIDGETS: readonly WidgetSpec[] = Object.freeze([
  { id: "now", title: "EKS CNI metrics: now", view: "singleValue", stat: "Average" },
  { id: "ips", title: "IP addresses: assigned, held, max", view: "timeSeries", stat: "Average" },
  {
    id: "utilisation",
    title: "IP utilisation (assigned / max, %)",
    view: "timeSeries",
    stat: "Average",
    expressions: [{ expression: "100 * m1 / m2", label: "IP utilisation %", id: "e1" }],
    extra: { yAxis: { left: { min: 0, max: 100 } } },
  },
  { id: "errors", title: "CNI and AWS API errors (per minute)", view: "timeSeries", stat: "Sum" },
  {
    id: "requests",
    title: "Pod IP add / delete requests (per minute)",
    view: "timeSeries",
    stat: "Sum",
  },
  { id: "latency", title: "AWS API latency (worst p99, ms)", view: "timeSeries", stat: "Maximum" },
  { id: "enis", title: "ENIs: attached and max", view: "timeSeries", stat: "Average" },
  {
    id: "headroom",
    title: "Node IP headroom: fewest free IPs on a node (ip_max - assigned)",
    view: "timeSeries",
    stat: "Minimum",
    extra: MIN_ZERO,
  },
  {
    id: "near",
    title: "Nodes near their IP limit",
    view: "timeSeries",
    stat: "Maximum",
    extra: MIN_ZERO,
  },
  {
    id: "subnets",
    title: "Subnets: free IPs",
    view: "timeSeries",
    stat: "Minimum",
    extra: MIN_ZERO,
  },
  {
    id: "subnets-assigned",
    title: "Subnets: IPs assigned to pods",
    view: "timeSeries",
    stat: "Maximum",
    extra: MIN_ZERO,
  },
  {
    id: "subnets-min",
    title: "Subnets: the fewest free IPs",
    view: "timeSeries",
    stat: "Minimum",
    extra: MIN_ZERO,
  },
]);

/** The figures of a table the dashboard shows for a target (a feature's only with it). */
function shown(t: DashboardTarget, table: FigureTable): Figure[] {
  return table.filter((f) => f.feature === undefined || (f.feature === "subnets" && t.subnets));
}

/** A figure's row: its metric, or for a dimensioned figure a SEARCH over its dimension values. */
function rowOf(t: DashboardTarget, f: Figure, r: WidgetRow, stat: string): MetricRow {
  if (f.dimensions.length > 0) {
    const dims = [NAMESPACE, DIMENSION, ...f.dimensions.map((d) => d.cloudwatch)].join(",");
    return [{
      expression:
        `SEARCH('{${dims}} MetricName="${f.cloudwatch}" ${DIMENSION}="${t.clusterId}"', '${stat}', ${PERIOD})`,
      id: r.id ?? "e1",
      label: r.label ?? "",
    }];
  }
  return metric(t, f.cloudwatch, {
    ...(r.label !== undefined ? { label: r.label } : {}),
    ...(r.id !== undefined ? { id: r.id } : {}),
    ...(r.visible === false ? { visible: false } : {}),
  });
}

/**
 * The dashboard body (PutDashboard `DashboardBody`, as an object).
 *
 * @param t region and cluster id
 * @param name the dashboard's name (for the regenerate hint)
 * @param table the figures @default FIGURES
 * @returns the body
 */
export function dashboardBody(
  t: DashboardTarget,
  name: string,
  table: FigureTable = FIGURES,
): { widgets: Widget[] } {
  const figures = shown(t, table);
  const rows = new Map<string, { at: number; row: MetricRow }[]>();
  const specs = [...WIDGETS];
  figures.forEach((f, index) => {
    for (const r of f.dashboard ?? []) {
      let spec = specs.find((w) => w.id === r.widget);
      if (spec === undefined) {
        // a widget no spec describes: its own half-width series, after the others
        spec = { id: r.widget, title: r.widget, view: "timeSeries", stat: "Average" };
        specs.push(spec);
      }
      const list = rows.get(r.widget) ?? [];
      list.push({ at: (r.at ?? 100) * 1000 + index, row: rowOf(t, f, r, spec.stat) });
      rows.set(r.widget, list);
    }
  });
  // a row per breakdown: each figure with a group widget, one SEARCH on the breakdown's dimension
  for (const b of t.breakdowns ?? []) {
    const dim = BREAKDOWN_SPECS[b].dimension;
    for (const f of figures) {
      if (f.groupWidget === undefined || f.breakdown !== true) continue;
      const id = `${f.cloudwatch}-per-${b}`;
      specs.push({
        id,
        title: f.groupWidget.title.replace("{group}", b === "nodegroup" ? "node group" : b),
        view: "timeSeries",
        stat: f.groupWidget.stat,
        extra: MIN_ZERO,
      });
      rows.set(id, [{
        at: 0,
        row: [{
          expression:
            `SEARCH('{${NAMESPACE},${DIMENSION},${dim}} MetricName="${f.cloudwatch}" ${DIMENSION}="${t.clusterId}"', '${f.groupWidget.stat}', ${PERIOD})`,
          id: "e1",
          label: "",
        }],
      }]);
    }
  }
  const widgets: Widget[] = [{
    type: "text",
    x: 0,
    y: 0,
    width: 24,
    height: 2,
    properties: {
      markdown: `## EKS CNI metrics: ${t.clusterId}\n` +
        `Managed by cni-metrics-helper; edits here are overwritten. Regenerate with ` +
        `\`cni-metrics-helper dashboard --cluster-id ${t.clusterId} --region ${t.region} --name ${name}${
          t.subnets ? " --subnets" : ""
        }${
          (t.breakdowns ?? []).length > 0 ? ` --breakdown ${(t.breakdowns ?? []).join(",")}` : ""
        }\`.`,
    },
  }];
  let y = 2;
  let half = 0;
  for (const spec of specs) {
    const list = rows.get(spec.id);
    if (list === undefined) continue;
    const metrics = [
      ...(spec.expressions ?? []).map((e) => [e]),
      ...list.sort((a, b) => a.at - b.at).map((r) => r.row),
    ];
    const wide = spec.view === "singleValue";
    if (wide && half === 1) {
      y += 6;
      half = 0;
    }
    widgets.push({
      type: "metric",
      x: wide ? 0 : half * 12,
      y,
      width: wide ? 24 : 12,
      height: wide ? 4 : 6,
      properties: {
        title: spec.title,
        view: spec.view,
        ...(wide ? {} : { stacked: false }),
        region: t.region,
        stat: spec.stat,
        period: PERIOD,
        metrics,
        ...spec.extra,
      },
    });
    if (wide) y += 4;
    else if (++half === 2) {
      half = 0;
      y += 6;
    }
  }
  return { widgets };
}

/**
 * The alarms: every alarm the shown figures declare, in table order (IP
 * utilisation above the threshold for 3 periods; any pod IP assignment that
 * failed for lack of an IP; a node near its IP limit for 3 periods; with
 * `--subnets`, a subnet under its threshold of free IPs).
 *
 * @param t region and cluster id
 * @param thresholdPercent IP utilisation threshold
 * @param topicArn SNS topic for alarm and OK actions, if any
 * @param subnetThreshold with `t.subnets`: free IPs below which a subnet is low @default 50
 * @param table the figures @default FIGURES
 * @returns the alarm inputs
 */
export function alarmInputs(
  t: DashboardTarget,
  thresholdPercent: number,
  topicArn: string | undefined,
  subnetThreshold = 50,
  table: FigureTable = FIGURES,
): AlarmInput[] {
  const actions = topicArn === undefined ? {} : { AlarmActions: [topicArn], OKActions: [topicArn] };
  const dims = [{ Name: DIMENSION, Value: t.clusterId }];
  const ctx = {
    clusterId: t.clusterId,
    ipUtilizationThreshold: thresholdPercent,
    subnetThreshold,
    actions,
    period: PERIOD,
    metric: (name: string) => ({ Namespace: NAMESPACE, MetricName: name, Dimensions: dims }),
    stat: (id: string, name: string) => ({
      Id: id,
      ReturnData: false,
      MetricStat: {
        Metric: { Namespace: NAMESPACE, MetricName: name, Dimensions: dims },
        Period: PERIOD,
        Stat: "Average",
      },
    }),
  };
  return shown(t, table).flatMap((f) => (f.alarms ?? []).map((a) => a(ctx)));
}
