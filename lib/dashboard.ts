/**
 * The CloudWatch dashboard and alarms the `dashboard` command creates (pure:
 * definitions in, JSON out). The dashboard replaces the user guide's twelve
 * console steps; the alarms cover what operators deploy the helper for:
 * running out of pod IPs.
 *
 * @module
 */

import { DIMENSION, NAMESPACE } from "./publish.ts";

/** What the definitions depend on. */
export interface DashboardTarget {
  /** Region of the metrics (and the dashboard's widgets). */
  readonly region: string;
  /** The `CLUSTER_ID` dimension value. */
  readonly clusterId: string;
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
            `\`cni-metrics-helper dashboard --cluster-id ${t.clusterId} --region ${t.region} --name ${name}\`.`,
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
    ],
  };
}

/** One PutMetricAlarm input (the SDK's shape, plain JSON). */
export type AlarmInput = Record<string, unknown> & { AlarmName: string };

/**
 * The alarms: IP utilisation above the threshold for 3 periods, and any pod
 * IP assignment that failed for lack of an IP.
 *
 * @param t region and cluster id
 * @param thresholdPercent IP utilisation threshold
 * @param topicArn SNS topic for alarm and OK actions, if any
 * @returns the alarm inputs
 */
export function alarmInputs(
  t: DashboardTarget,
  thresholdPercent: number,
  topicArn: string | undefined,
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
  ];
}
