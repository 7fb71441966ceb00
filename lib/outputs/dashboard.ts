/**
 * The CloudWatch dashboard and alarms the `dashboard` command creates (pure:
 * definitions in, JSON out). The dashboard replaces the user guide's twelve
 * console steps; the alarms cover what operators deploy the helper for:
 * running out of pod IPs.
 *
 * @module
 */

import { DIMENSION, NAMESPACE } from "./datum_buffer.ts";
import { HEADROOM_METRICS, SUBNET_DIMENSION, SUBNET_METRICS } from "../model/families.ts";

/** What the definitions depend on. */
export interface DashboardTarget {
  /** Region of the metrics (and the dashboard's widgets). */
  readonly region: string;
  /** The `CLUSTER_ID` dimension value. */
  readonly clusterId: string;
  /** With `--subnets`: the per-subnet widget (and alarm). @default false */
  readonly subnets?: boolean;
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

/**
 * The dashboard body (PutDashboard `DashboardBody`, as an object).
 *
 * @param t region and cluster id
 * @param name the dashboard's name (for the regenerate hint)
 * @returns the body
 */
export function dashboardBody(t: DashboardTarget, name: string): { widgets: Widget[] } {
  const series = (
    title: string,
    rows: MetricRow[],
    stat: string,
    y: number,
    x: number,
    extra: Record<string, unknown> = {},
  ): Widget => ({
    type: "metric",
    x,
    y,
    width: 12,
    height: 6,
    properties: {
      title,
      view: "timeSeries",
      stacked: false,
      region: t.region,
      stat,
      period: PERIOD,
      metrics: rows,
      ...extra,
    },
  });
  return {
    widgets: [
      {
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
            }\`.`,
        },
      },
      {
        type: "metric",
        x: 0,
        y: 2,
        width: 24,
        height: 4,
        properties: {
          title: "EKS CNI metrics: now",
          view: "singleValue",
          region: t.region,
          stat: "Average",
          period: PERIOD,
          metrics: [
            metric(t, "assignIPAddresses", { label: "IPs assigned" }),
            metric(t, "totalIPAddresses", { label: "IPs held" }),
            metric(t, "maxIPAddresses", { label: "IPs max" }),
            metric(t, "eniAllocated", { label: "ENIs attached" }),
            metric(t, "eniMaxAvailable", { label: "ENIs max" }),
            metric(t, "totalIPv4Prefixes", { label: "IPv4 prefixes" }),
          ],
        },
      },
      series(
        "IP addresses: assigned, held, max",
        [
          metric(t, "assignIPAddresses", { label: "assigned" }),
          metric(t, "totalIPAddresses", { label: "held (warm pools included)" }),
          metric(t, "maxIPAddresses", { label: "max" }),
        ],
        "Average",
        6,
        0,
      ),
      series(
        "IP utilisation (assigned / max, %)",
        [
          [{ expression: "100 * m1 / m2", label: "IP utilisation %", id: "e1" }],
          metric(t, "assignIPAddresses", { id: "m1", visible: false }),
          metric(t, "maxIPAddresses", { id: "m2", visible: false }),
        ],
        "Average",
        6,
        12,
        { yAxis: { left: { min: 0, max: 100 } } },
      ),
      series(
        "CNI and AWS API errors (per minute)",
        [
          metric(t, "noAvailableIPAddresses", { label: "pod IP assignments failed (no IP)" }),
          metric(t, "awsAPIErr", { label: "AWS API errors" }),
          metric(t, "ec2ApiErrCount", { label: "EC2 API errors" }),
          metric(t, "ipamdErr", { label: "ipamd errors" }),
          metric(t, "awsUtilErr", { label: "AWS util errors" }),
          metric(t, "podENIErr", { label: "pod ENI errors" }),
          metric(t, "forceRemoveENI", { label: "ENIs force-removed" }),
          metric(t, "forceRemoveIPs", { label: "IPs force-removed" }),
        ],
        "Sum",
        12,
        0,
      ),
      series(
        "Pod IP add / delete requests (per minute)",
        [
          metric(t, "addReqCount", { label: "add" }),
          metric(t, "delReqCount", { label: "delete" }),
        ],
        "Sum",
        12,
        12,
      ),
      series(
        "AWS API latency (worst p99, ms)",
        [
          metric(t, "awsAPILatency", { label: "awsAPILatency" }),
        ],
        "Maximum",
        18,
        0,
      ),
      series(
        "ENIs: attached and max",
        [
          metric(t, "eniAllocated", { label: "attached" }),
          metric(t, "eniMaxAvailable", { label: "max" }),
        ],
        "Average",
        18,
        12,
      ),
      series(
        "Node IP headroom: fewest free IPs on a node (ip_max - assigned)",
        [metric(t, HEADROOM_METRICS.min, { label: "least free IPs on a node" })],
        "Minimum",
        24,
        0,
        { yAxis: { left: { min: 0 } } },
      ),
      series(
        "Nodes near their IP limit",
        [metric(t, HEADROOM_METRICS.near, { label: "nodes under the headroom threshold" })],
        "Maximum",
        24,
        12,
        { yAxis: { left: { min: 0 } } },
      ),
      ...(t.subnets
        ? [
          series(
            "Subnets: free IPs",
            [
              [{
                expression:
                  `SEARCH('{${NAMESPACE},${DIMENSION},${SUBNET_DIMENSION}} MetricName="${SUBNET_METRICS.available}" ${DIMENSION}="${t.clusterId}"', 'Minimum', ${PERIOD})`,
                id: "e1",
                label: "",
              }],
            ],
            "Minimum",
            30,
            0,
            { yAxis: { left: { min: 0 } } },
          ),
          series(
            "Subnets: the fewest free IPs",
            [metric(t, SUBNET_METRICS.min, { label: "fewest free IPs in a subnet" })],
            "Minimum",
            30,
            12,
            { yAxis: { left: { min: 0 } } },
          ),
        ]
        : []),
    ],
  };
}

/** One PutMetricAlarm input (the SDK's shape, plain JSON). */
export type AlarmInput = Record<string, unknown> & { AlarmName: string };

/**
 * The alarms: IP utilisation above the threshold for 3 periods; any pod IP
 * assignment that failed for lack of an IP; a node near its IP limit for 3
 * periods; with `--subnets`, a subnet under its threshold of free IPs.
 *
 * @param t region and cluster id
 * @param thresholdPercent IP utilisation threshold
 * @param topicArn SNS topic for alarm and OK actions, if any
 * @param subnetThreshold with `t.subnets`: free IPs below which a subnet is low @default 50
 * @returns the alarm inputs
 */
export function alarmInputs(
  t: DashboardTarget,
  thresholdPercent: number,
  topicArn: string | undefined,
  subnetThreshold = 50,
): AlarmInput[] {
  const actions = topicArn === undefined ? {} : { AlarmActions: [topicArn], OKActions: [topicArn] };
  const dims = [{ Name: DIMENSION, Value: t.clusterId }];
  const stat = (id: string, name: string) => ({
    Id: id,
    ReturnData: false,
    MetricStat: {
      Metric: { Namespace: NAMESPACE, MetricName: name, Dimensions: dims },
      Period: PERIOD,
      Stat: "Average",
    },
  });
  return [
    {
      AlarmName: `EKS-CNI-${t.clusterId}-ip-utilization`,
      AlarmDescription:
        `Pod IPs assigned are above ${thresholdPercent}% of the nodes' maximum in cluster ${t.clusterId} ` +
        `for 3 minutes: add nodes or subnets, or enable prefix delegation. Managed by cni-metrics-helper.`,
      ActionsEnabled: true,
      ComparisonOperator: "GreaterThanThreshold",
      Threshold: thresholdPercent,
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
        stat("assigned", "assignIPAddresses"),
        stat("max", "maxIPAddresses"),
      ],
      ...actions,
    },
    {
      AlarmName: `EKS-CNI-${t.clusterId}-no-available-ip`,
      AlarmDescription:
        `Pod IP assignments failed for lack of an available IP in cluster ${t.clusterId}. ` +
        `Managed by cni-metrics-helper.`,
      ActionsEnabled: true,
      Namespace: NAMESPACE,
      MetricName: "noAvailableIPAddresses",
      Dimensions: dims,
      Statistic: "Sum",
      Period: PERIOD,
      EvaluationPeriods: 1,
      DatapointsToAlarm: 1,
      ComparisonOperator: "GreaterThanThreshold",
      Threshold: 0,
      TreatMissingData: "notBreaching",
      ...actions,
    },
    {
      AlarmName: `EKS-CNI-${t.clusterId}-node-headroom`,
      AlarmDescription:
        `At least one node of cluster ${t.clusterId} has fewer free pod IPs than the helper's ` +
        `--headroom-threshold for 3 minutes: its new pods may fail to get an IP. Raise the ` +
        `node's max pods headroom (a larger instance type, prefix delegation) or spread pods. ` +
        `Managed by cni-metrics-helper.`,
      ActionsEnabled: true,
      Namespace: NAMESPACE,
      MetricName: HEADROOM_METRICS.near,
      Dimensions: dims,
      Statistic: "Maximum",
      Period: PERIOD,
      EvaluationPeriods: 3,
      DatapointsToAlarm: 3,
      ComparisonOperator: "GreaterThanThreshold",
      Threshold: 0,
      TreatMissingData: "missing",
      ...actions,
    },
    ...(t.subnets
      ? [{
        AlarmName: `EKS-CNI-${t.clusterId}-subnet-low`,
        AlarmDescription:
          `A subnet used by cluster ${t.clusterId} has fewer than ${subnetThreshold} free IPs: ` +
          `ENIs and pod IPs cannot be allocated there. Add subnets (custom networking) or free ` +
          `addresses. Managed by cni-metrics-helper.`,
        ActionsEnabled: true,
        Namespace: NAMESPACE,
        MetricName: SUBNET_METRICS.min,
        Dimensions: dims,
        Statistic: "Minimum",
        Period: PERIOD,
        EvaluationPeriods: 3,
        DatapointsToAlarm: 3,
        ComparisonOperator: "LessThanThreshold",
        Threshold: subnetThreshold,
        TreatMissingData: "missing",
        ...actions,
      }]
      : []),
  ];
}
