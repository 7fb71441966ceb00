/**
 * Every figure the helper publishes, declared once as data (after
 * kube-state-metrics' `FamilyGenerator`): its CloudWatch name, Prometheus
 * name and help, unit, kind, the dimensions it carries, the feature it
 * belongs to, where it shows on the dashboard, its alarms, and the function
 * that computes it from one cycle's inputs. CloudWatch datums
 * (`outputs/datum_buffer.ts`), `/metrics` (`outputs/prometheus_text.ts`), the
 * dashboard and alarms (`outputs/dashboard.ts`), the cycle's debug line
 * (`outputs/cycle_log.ts`) and the list in `docs/metrics.md`
 * ({@linkcode figuresMarkdown}) all read {@linkcode FIGURES}: a new figure is
 * one entry here.
 *
 * @module
 */

import type { ClusterSnapshot } from "./report.ts";
import { BREAKDOWN_SPECS, BREAKDOWNS } from "./node_groups.ts";

/**
 * How a figure behaves over time: a gauge is a level; a counter increase is
 * what happened since the last cycle (CloudWatch gets the increase,
 * Prometheus the running total); a latency is a gauge in milliseconds
 * (seconds on Prometheus).
 */
export type FigureKind = "gauge" | "counter" | "latency";

/** A dimension a figure carries beside `CLUSTER_ID`. */
export interface Dimension {
  /** CloudWatch dimension name, e.g. `SubnetId`. */
  readonly cloudwatch: string;
  /** Prometheus label name, e.g. `subnet_id`. */
  readonly prometheus: string;
}

/** The subnet dimension. */
export const SUBNET_ID: Dimension = Object.freeze({
  cloudwatch: "SubnetId",
  prometheus: "subnet_id",
});

/** One value of a figure in one cycle. */
export interface FigureValue {
  /** The value, in the figure's unit. */
  readonly value: number;
  /** The figure's own dimensions (beyond `CLUSTER_ID`), CloudWatch name → value. */
  readonly dimensions?: Readonly<Record<string, string>>;
  /** Labels only Prometheus gets (e.g. a subnet's zone), label → value. */
  readonly labels?: Readonly<Record<string, string>>;
}

/** What a figure is computed from: one cycle's inputs. */
export type CycleInputs = ClusterSnapshot;

/** Features that add figures; a figure of a feature is on the dashboard only with it. */
export type Feature = "subnets";

/** Where a figure shows on the dashboard: a row of one widget (see `outputs/dashboard.ts`). */
export interface WidgetRow {
  /** The widget's id (`outputs/dashboard.ts` `WIDGETS`); an unknown id gets a widget of its own. */
  readonly widget: string;
  /** The row's label. @default none */
  readonly label?: string;
  /** Position among the widget's rows (lower first). @default 100 */
  readonly at?: number;
  /** Expression id of the row (a widget's expression refers to it). */
  readonly id?: string;
  /** Whether the row is drawn (false: only an expression uses it). @default true */
  readonly visible?: boolean;
}

/** What an alarm definition is built from. */
export interface AlarmContext {
  /** The `CLUSTER_ID` value. */
  readonly clusterId: string;
  /** `--ip-utilization-threshold`, percent. */
  readonly ipUtilizationThreshold: number;
  /** `--subnet-threshold`, free IPs. */
  readonly subnetThreshold: number;
  /** Alarm and OK actions (`--alarm-topic-arn`), spread into the input. */
  readonly actions: Readonly<Record<string, unknown>>;
  /** The metric's identity: namespace, name, dimensions (spread into the input). */
  readonly metric: (name: string) => Readonly<Record<string, unknown>>;
  /** A `MetricStat` query for metric math, `Average` over the period. */
  readonly stat: (id: string, name: string) => Readonly<Record<string, unknown>>;
  /** Seconds per datapoint. */
  readonly period: number;
}

/** One PutMetricAlarm input (the SDK's shape, plain JSON). */
export type AlarmInput = Record<string, unknown> & { AlarmName: string };

/** One figure, declared once. */
export interface Figure {
  /** CloudWatch metric name (a contract with dashboards and alarms). */
  readonly cloudwatch: string;
  /** Prometheus name after `cni_metrics_helper_`; `undefined`: not exported there. */
  readonly prometheus: string | undefined;
  /** One-line meaning (docs/metrics.md). */
  readonly help: string;
  /** Prometheus HELP text. @default help */
  readonly prometheusHelp?: string;
  /** CloudWatch unit (the existing contract is `Count` for every metric). */
  readonly unit: "Count";
  /** Gauge, counter increase or latency. */
  readonly kind: FigureKind;
  /** Dimensions beside `CLUSTER_ID`; none for a cluster-wide figure. */
  readonly dimensions: readonly Dimension[];
  /** What it is computed from, for the docs (a family, an API). */
  readonly source: string;
  /** The feature the figure belongs to; `undefined`: always on. */
  readonly feature?: Feature;
  /** Read from an aws-node family and folded over pods by `kind` (`model/aggregation.ts`). */
  readonly awsNodeFamily?: string;
  /**
   * Also published per group of each breakdown asked for (`--breakdown`),
   * with the breakdown's dimension, computed the same way from the group's
   * inputs. @default false
   */
  readonly breakdown?: boolean;
  /**
   * With a breakdown on the dashboard: a widget per breakdown showing the
   * figure per group (a SEARCH on the breakdown's dimension, so new groups
   * appear by themselves). `{group}` in the title is the breakdown's name.
   * @default none
   */
  readonly groupWidget?: {
    readonly title: string;
    readonly stat: "Average" | "Minimum" | "Maximum" | "Sum";
  };
  /** Multiplier from the CloudWatch unit to the Prometheus one. @default 1 */
  readonly prometheusScale?: number;
  /** Rows on the dashboard. @default none */
  readonly dashboard?: readonly WidgetRow[];
  /** Alarms on the figure (`dashboard --alarms`). @default none */
  readonly alarms?: readonly ((a: AlarmContext) => AlarmInput)[];
  /**
   * The figure's values this cycle; empty: nothing is published for it.
   *
   * @param c the cycle's inputs
   * @returns its values
   */
  readonly compute: (c: CycleInputs) => readonly FigureValue[];
}

/** A table of figures, in publish order. */
export type FigureTable = readonly Figure[];

/** The aws-node families an aws-node figure may be folded from, and how. */
export interface AwsNodeFold {
  /** The figure's CloudWatch name (its key in the snapshot's values). */
  readonly cwName: string;
  /** The aws-node family. */
  readonly family: string;
  /** Sum (gauge), sum of increases (counter) or worst p99 (latency). */
  readonly kind: FigureKind;
  /** One-line meaning. */
  readonly help: string;
}

const PROM_CLUSTER = "cluster_";

/** A figure summed or folded from one aws-node family. */
function awsNode(
  kind: FigureKind,
  cloudwatch: string,
  family: string,
  help: string,
  extra: Partial<Figure> = {},
): Figure {
  const base = family.replace(/^awscni_/, "");
  return {
    cloudwatch,
    prometheus: PROM_CLUSTER +
      (kind === "counter"
        ? `${base}_total`
        : kind === "latency"
        ? base.replace(/_ms$/, "_seconds")
        : base),
    help,
    prometheusHelp: kind === "counter"
      ? `Cluster total of ${help} (${family} increases summed over pods).`
      : `Cluster sum of ${help} (${family}).`,
    unit: "Count",
    kind,
    dimensions: [],
    source: family,
    awsNodeFamily: family,
    compute: (c) => [{ value: c.values.get(cloudwatch) ?? 0 }],
    ...extra,
  };
}

const gauge = (cw: string, family: string, help: string, extra?: Partial<Figure>) =>
  awsNode("gauge", cw, family, help, extra);
const counter = (cw: string, family: string, help: string, extra?: Partial<Figure>) =>
  awsNode("counter", cw, family, help, extra);

/** The headroom figures' names (on unless `--no-headroom`). */
export const HEADROOM_METRICS = Object.freeze({
  /** The smallest `awscni_ip_max - awscni_assigned_ip_addresses` over the nodes scraped. */
  min: "minNodeIPHeadroom",
  /** Nodes whose headroom is below `--headroom-threshold`. */
  near: "nodesNearIPLimit",
});

/** The subnet figures' names (`--subnets`). */
export const SUBNET_METRICS = Object.freeze({
  /** One subnet's `AvailableIpAddressCount`; dimensions `CLUSTER_ID` and `SubnetId`. */
  available: "subnetAvailableIPAddresses",
  /** The smallest of those; dimension `CLUSTER_ID`. */
  min: "minSubnetAvailableIPAddresses",
});

const errors = (label: string, at: number): WidgetRow => ({ widget: "errors", label, at });

/** Every figure, in publish order. */
export const FIGURES: FigureTable = Object.freeze<Figure[]>([
  gauge("assignIPAddresses", "awscni_assigned_ip_addresses", "IP addresses assigned to pods", {
    breakdown: true,
    groupWidget: { title: "IPs assigned per {group}", stat: "Average" },
    dashboard: [
      { widget: "now", label: "IPs assigned", at: 1 },
      { widget: "ips", label: "assigned", at: 1 },
      { widget: "utilisation", id: "m1", visible: false, at: 1 },
    ],
    alarms: [(a) => ({
      AlarmName: `EKS-CNI-${a.clusterId}-ip-utilization`,
      AlarmDescription: `Pod IPs assigned are above ${a.ipUtilizationThreshold}% of the nodes' ` +
        `maximum in cluster ${a.clusterId} for 3 minutes: add nodes or subnets, or enable ` +
        `prefix delegation. Managed by cni-metrics-helper.`,
      ActionsEnabled: true,
      ComparisonOperator: "GreaterThanThreshold",
      Threshold: a.ipUtilizationThreshold,
      EvaluationPeriods: 3,
      DatapointsToAlarm: 3,
      TreatMissingData: "missing",
      Metrics: [
        {
          Id: "utilization",
          Label: "IP utilisation %",
          Expression: "100 * assigned / max",
          ReturnData: true,
        },
        a.stat("assigned", "assignIPAddresses"),
        a.stat("max", "maxIPAddresses"),
      ],
      ...a.actions,
    })],
  }),
  gauge(
    "totalIPAddresses",
    "awscni_total_ip_addresses",
    "IP addresses held in the nodes' warm pools",
    {
      breakdown: true,
      dashboard: [
        { widget: "now", label: "IPs held", at: 2 },
        { widget: "ips", label: "held (warm pools included)", at: 2 },
      ],
    },
  ),
  gauge(
    "totalIPv4Prefixes",
    "awscni_total_ipv4_prefixes",
    "IPv4 /28 prefixes attached (prefix mode)",
    {
      dashboard: [{ widget: "now", label: "IPv4 prefixes", at: 6 }],
    },
  ),
  gauge(
    "totalAssignedIPv4sPerCidr",
    "awscni_assigned_ip_per_cidr",
    "IP addresses assigned, summed over every prefix/CIDR series",
  ),
  gauge("eniAllocated", "awscni_eni_allocated", "ENIs attached to the nodes", {
    dashboard: [
      { widget: "now", label: "ENIs attached", at: 4 },
      { widget: "enis", label: "attached", at: 1 },
    ],
  }),
  gauge("eniMaxAvailable", "awscni_eni_max", "ENIs the nodes' instance types can attach", {
    dashboard: [{ widget: "now", label: "ENIs max", at: 5 }, {
      widget: "enis",
      label: "max",
      at: 2,
    }],
  }),
  gauge("maxIPAddresses", "awscni_ip_max", "IP addresses the nodes can hold at most", {
    breakdown: true,
    dashboard: [
      { widget: "now", label: "IPs max", at: 3 },
      { widget: "ips", label: "max", at: 3 },
      { widget: "utilisation", id: "m2", visible: false, at: 2 },
    ],
  }),
  gauge(
    "ipamdActionInProgress",
    "awscni_ipamd_action_inprogress",
    "ipamd actions in progress, summed over actions",
  ),
  counter("addReqCount", "awscni_add_ip_req_count", "add-IP requests (pod network set-ups)", {
    dashboard: [{ widget: "requests", label: "add", at: 1 }],
  }),
  counter("delReqCount", "awscni_del_ip_req_count", "delete-IP requests (pod network tear-downs)", {
    dashboard: [{ widget: "requests", label: "delete", at: 2 }],
  }),
  counter("awsAPIErr", "awscni_aws_api_error_count", "errors returned by AWS APIs", {
    dashboard: [errors("AWS API errors", 2)],
  }),
  counter("awsUtilErr", "awscni_aws_utils_error_count", "errors in the CNI's AWS utilities", {
    dashboard: [errors("AWS util errors", 5)],
  }),
  counter("ipamdErr", "awscni_ipamd_error_count", "ipamd errors", {
    dashboard: [errors("ipamd errors", 4)],
  }),
  counter("reconcileCount", "awscni_reconcile_count", "IP pool reconciliations"),
  counter("podENIErr", "awscni_pod_eni_error_count", "pod ENI (security groups for pods) errors", {
    dashboard: [errors("pod ENI errors", 6)],
  }),
  counter("ec2ApiReqCount", "awscni_ec2api_req_count", "EC2 API requests made by the CNI"),
  counter("ec2ApiErrCount", "awscni_ec2api_error_count", "EC2 API requests that failed", {
    dashboard: [errors("EC2 API errors", 3)],
  }),
  counter("forceRemoveENI", "awscni_force_removed_enis", "ENIs force-detached", {
    dashboard: [errors("ENIs force-removed", 7)],
  }),
  counter("forceRemoveIPs", "awscni_force_removed_ips", "IP addresses force-removed", {
    dashboard: [errors("IPs force-removed", 8)],
  }),
  counter(
    "noAvailableIPAddresses",
    "awscni_no_available_ip_addresses",
    "pod IP assignments that failed for lack of an available IP",
    {
      breakdown: true,
      dashboard: [errors("pod IP assignments failed (no IP)", 1)],
      alarms: [(a) => ({
        AlarmName: `EKS-CNI-${a.clusterId}-no-available-ip`,
        AlarmDescription: `Pod IP assignments failed for lack of an available IP in cluster ` +
          `${a.clusterId}. Managed by cni-metrics-helper.`,
        ActionsEnabled: true,
        ...a.metric("noAvailableIPAddresses"),
        Statistic: "Sum",
        Period: a.period,
        EvaluationPeriods: 1,
        DatapointsToAlarm: 1,
        ComparisonOperator: "GreaterThanThreshold",
        Threshold: 0,
        TreatMissingData: "notBreaching",
        ...a.actions,
      })],
    },
  ),
  awsNode(
    "latency",
    "awsAPILatency",
    "awscni_aws_api_latency_ms",
    "AWS API latency in ms: max p99 over pods and APIs (interval mean where no quantiles are exposed)",
    {
      prometheusHelp: "Worst AWS API p99 latency over nodes and APIs, seconds (CloudWatch " +
        "awsAPILatency, in ms there).",
      prometheusScale: 0.001,
      dashboard: [{ widget: "latency", label: "awsAPILatency" }],
    },
  ),
  {
    cloudwatch: "idleIPAddresses",
    prometheus: "cluster_idle_ip_addresses",
    help: "IP addresses the warm pools hold that no pod uses (totalIPAddresses - " +
      "assignIPAddresses)",
    prometheusHelp: "IP addresses held in the nodes' warm pools and assigned to no pod " +
      "(CloudWatch idleIPAddresses).",
    unit: "Count",
    kind: "gauge",
    dimensions: [],
    source: "awscni_total_ip_addresses - awscni_assigned_ip_addresses",
    breakdown: true,
    dashboard: [{ widget: "ips", label: "idle (warm, no pod)", at: 2.5 }],
    compute: (c) => [{
      value: (c.values.get("totalIPAddresses") ?? 0) - (c.values.get("assignIPAddresses") ?? 0),
    }],
  },
  {
    cloudwatch: HEADROOM_METRICS.min,
    prometheus: "cluster_min_node_ip_headroom",
    help: "the smallest awscni_ip_max - awscni_assigned_ip_addresses over the nodes scraped",
    prometheusHelp: "Smallest awscni_ip_max - awscni_assigned_ip_addresses over the nodes " +
      "scraped (CloudWatch minNodeIPHeadroom).",
    unit: "Count",
    kind: "gauge",
    dimensions: [],
    source: "awscni_ip_max, awscni_assigned_ip_addresses per node",
    breakdown: true,
    groupWidget: { title: "Fewest free IPs on a node per {group}", stat: "Minimum" },
    dashboard: [{ widget: "headroom", label: "least free IPs on a node" }],
    compute: (c) => c.headroom === undefined ? [] : [{ value: c.headroom.min }],
  },
  {
    cloudwatch: HEADROOM_METRICS.near,
    prometheus: "cluster_nodes_near_ip_limit",
    help: "nodes whose headroom is below --headroom-threshold",
    prometheusHelp: "Nodes with fewer free IPs than --headroom-threshold (CloudWatch " +
      "nodesNearIPLimit).",
    unit: "Count",
    kind: "gauge",
    dimensions: [],
    source: "awscni_ip_max, awscni_assigned_ip_addresses per node",
    breakdown: true,
    dashboard: [{ widget: "near", label: "nodes under the headroom threshold" }],
    alarms: [(a) => ({
      AlarmName: `EKS-CNI-${a.clusterId}-node-headroom`,
      AlarmDescription: `At least one node of cluster ${a.clusterId} has fewer free pod IPs ` +
        `than the helper's --headroom-threshold for 3 minutes: its new pods may fail to get an ` +
        `IP. Raise the node's max pods headroom (a larger instance type, prefix delegation) or ` +
        `spread pods. Managed by cni-metrics-helper.`,
      ActionsEnabled: true,
      ...a.metric(HEADROOM_METRICS.near),
      Statistic: "Maximum",
      Period: a.period,
      EvaluationPeriods: 3,
      DatapointsToAlarm: 3,
      ComparisonOperator: "GreaterThanThreshold",
      Threshold: 0,
      TreatMissingData: "missing",
      ...a.actions,
    })],
    compute: (c) => c.headroom === undefined ? [] : [{ value: c.headroom.nearLimit }],
  },
  {
    cloudwatch: SUBNET_METRICS.available,
    prometheus: "subnet_available_ip_addresses",
    help: "one subnet's free IPs (AvailableIpAddressCount at the last refresh)",
    prometheusHelp: "Free IPs of a subnet the nodes use, from EC2 DescribeSubnets at the last " +
      "refresh (CloudWatch subnetAvailableIPAddresses).",
    unit: "Count",
    kind: "gauge",
    dimensions: [SUBNET_ID],
    source: "EC2 DescribeSubnets",
    feature: "subnets",
    dashboard: [{ widget: "subnets" }],
    compute: (c) =>
      (c.subnets ?? []).map((sn) => ({
        value: sn.available,
        dimensions: { [SUBNET_ID.cloudwatch]: sn.subnetId },
        labels: { availability_zone: sn.availabilityZone },
      })),
  },
  {
    cloudwatch: "subnetAssignedIPAddresses",
    prometheus: "subnet_assigned_ip_addresses",
    help: "IP addresses assigned to pods in one subnet (awscni_assigned_ip_per_eni over the " +
      "ENIs in it)",
    prometheusHelp: "IPs assigned to pods in a subnet the nodes use: awscni_assigned_ip_per_eni " +
      "summed over its ENIs (CloudWatch subnetAssignedIPAddresses).",
    unit: "Count",
    kind: "gauge",
    dimensions: [SUBNET_ID],
    source: "awscni_assigned_ip_per_eni and EC2 DescribeInstances",
    feature: "subnets",
    dashboard: [{ widget: "subnets-assigned" }],
    compute: (c) =>
      c.subnetAssigned === undefined ? [] : (c.subnets ?? []).map((sn) => ({
        value: c.subnetAssigned?.get(sn.subnetId) ?? 0,
        dimensions: { [SUBNET_ID.cloudwatch]: sn.subnetId },
        labels: { availability_zone: sn.availabilityZone },
      })),
  },
  {
    cloudwatch: SUBNET_METRICS.min,
    prometheus: undefined,
    help: "the fewest free IPs of the subnets in use",
    unit: "Count",
    kind: "gauge",
    dimensions: [],
    source: "EC2 DescribeSubnets",
    feature: "subnets",
    dashboard: [{ widget: "subnets-min", label: "fewest free IPs in a subnet" }],
    alarms: [(a) => ({
      AlarmName: `EKS-CNI-${a.clusterId}-subnet-low`,
      AlarmDescription: `A subnet used by cluster ${a.clusterId} has fewer than ` +
        `${a.subnetThreshold} free IPs: ENIs and pod IPs cannot be allocated there. Add subnets ` +
        `(custom networking) or free addresses. Managed by cni-metrics-helper.`,
      ActionsEnabled: true,
      ...a.metric(SUBNET_METRICS.min),
      Statistic: "Minimum",
      Period: a.period,
      EvaluationPeriods: 3,
      DatapointsToAlarm: 3,
      ComparisonOperator: "LessThanThreshold",
      Threshold: a.subnetThreshold,
      TreatMissingData: "missing",
      ...a.actions,
    })],
    compute: (c) => {
      const subnets = c.subnets ?? [];
      return subnets.length === 0 ? [] : [{ value: Math.min(...subnets.map((s) => s.available)) }];
    },
  },
]);

/**
 * The aws-node folds of a table: the figures read from an aws-node family,
 * which the aggregation sums (gauges), diffs (counters) or takes the worst
 * p99 of (latency).
 *
 * @param table the figures @default FIGURES
 * @returns one fold per aws-node figure, in table order
 */
export function awsNodeFolds(table: FigureTable = FIGURES): readonly AwsNodeFold[] {
  return table.flatMap((f) =>
    f.awsNodeFamily === undefined
      ? []
      : [{ cwName: f.cloudwatch, family: f.awsNodeFamily, kind: f.kind, help: f.help }]
  );
}

/** The 21 aws-node figures of {@linkcode FIGURES} (the Go helper's metrics plus one). */
export const METRICS: readonly AwsNodeFold[] = Object.freeze(awsNodeFolds(FIGURES));

/** One figure's values this cycle. */
export interface ComputedFigure {
  /** The declaration. */
  readonly figure: Figure;
  /** Its values; empty when nothing is published for it. */
  readonly values: readonly FigureValue[];
}

/**
 * Computes every figure of a table from one cycle's inputs.
 *
 * @param table the figures
 * @param inputs the cycle's inputs
 * @returns each figure with its values, in table order
 */
export function computeFigures(table: FigureTable, inputs: CycleInputs): ComputedFigure[] {
  return table.map((figure) => {
    const values = [...figure.compute(inputs)];
    if (figure.breakdown === true && inputs.breakdowns !== undefined) {
      for (const [b, groups] of inputs.breakdowns) {
        const dim = BREAKDOWN_SPECS[b].dimension;
        for (const g of groups) {
          const groupInputs: CycleInputs = {
            values: g.values,
            podsScraped: g.pods,
            podsBaselined: 0,
            headroom: g.headroom,
          };
          for (const v of figure.compute(groupInputs)) {
            values.push({ ...v, dimensions: { [dim]: g.group, ...v.dimensions } });
          }
        }
      }
    }
    return { figure, values };
  });
}

/** Prometheus label of every dimension a figure value may carry, by CloudWatch name. */
export const DIMENSION_LABELS: Readonly<Record<string, string>> = Object.freeze({
  [SUBNET_ID.cloudwatch]: SUBNET_ID.prometheus,
  ...Object.fromEntries(
    BREAKDOWNS.map((b) => [BREAKDOWN_SPECS[b].dimension, BREAKDOWN_SPECS[b].prometheus]),
  ),
});

/**
 * A value's dimensions beside `CLUSTER_ID`, in order: name and value each.
 *
 * @param v one value
 * @returns `[CloudWatch name, value]` pairs
 */
export function dimensionsOf(v: FigureValue): [string, string][] {
  return Object.entries(v.dimensions ?? {});
}

/**
 * A value's key within its figure: the dimension values in the figure's
 * order (`""` for a cluster-wide figure).
 *
 * @param figure the declaration
 * @param v one value
 * @returns the key
 */
export function valueKey(_figure: Figure, v: FigureValue): string {
  return dimensionsOf(v).map(([k, x]) => `${k}=${x}`).join("\u0001");
}

/**
 * The figures list of `docs/metrics.md` (between its `figures:begin` and
 * `figures:end` markers): one item per figure with its dimensions, kind,
 * source and meaning. `deno fmt` may rewrap it; the test folds whitespace.
 *
 * @param table the figures @default FIGURES
 * @returns the Markdown list
 */
export function figuresMarkdown(table: FigureTable = FIGURES): string {
  const kinds: Record<FigureKind, string> = {
    gauge: "gauge",
    counter: "counter: the increase since the last cycle",
    latency: "gauge, ms",
  };
  const items = table.map((f) => {
    const dims = ["CLUSTER_ID", ...f.dimensions.map((d) => d.cloudwatch)].map((d) => `\`${d}\``)
      .join(", ");
    const prom = f.prometheus === undefined
      ? ""
      : `; Prometheus \`cni_metrics_helper_${f.prometheus}\``;
    const feature = f.feature === undefined ? "" : ` (with \`--${f.feature}\`)`;
    const group = f.breakdown === true ? "; per group" : "";
    return `- \`${f.cloudwatch}\`${feature} (${dims}; ${kinds[f.kind]}${group}; from ` +
      `${f.source}${prom}): ${f.help}.`;
  });
  return items.join("\n") + "\n";
}
