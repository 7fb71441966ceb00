/**
 * The cluster metrics the helper publishes: CloudWatch name, the aws-node
 * family it is computed from, and how (DESIGN.md "Semantics").
 *
 * @module
 */

/** How a cluster value is computed from the pods' samples. */
export type MetricKind = "gauge" | "counter" | "latency";

/** One row of the metrics table. */
export interface MetricSpec {
  /** Metric name in CloudWatch (and the suffix of the Prometheus export name). */
  readonly cwName: string;
  /** The aws-node family it is read from. */
  readonly family: string;
  /** Gauge: sum; counter: sum of per-pod increases; latency: see DESIGN.md. */
  readonly kind: MetricKind;
  /** One-line meaning, used for HELP text and docs/metrics.md. */
  readonly help: string;
}

/** Every published metric, in publish order (21 rows). */
export const METRICS: readonly MetricSpec[] = Object.freeze([
  g("assignIPAddresses", "awscni_assigned_ip_addresses", "IP addresses assigned to pods"),
  g("totalIPAddresses", "awscni_total_ip_addresses", "IP addresses held in the nodes' warm pools"),
  g("totalIPv4Prefixes", "awscni_total_ipv4_prefixes", "IPv4 /28 prefixes attached (prefix mode)"),
  g(
    "totalAssignedIPv4sPerCidr",
    "awscni_assigned_ip_per_cidr",
    "IP addresses assigned, summed over every prefix/CIDR series",
  ),
  g("eniAllocated", "awscni_eni_allocated", "ENIs attached to the nodes"),
  g("eniMaxAvailable", "awscni_eni_max", "ENIs the nodes' instance types can attach"),
  g("maxIPAddresses", "awscni_ip_max", "IP addresses the nodes can hold at most"),
  g(
    "ipamdActionInProgress",
    "awscni_ipamd_action_inprogress",
    "ipamd actions in progress, summed over actions",
  ),
  c("addReqCount", "awscni_add_ip_req_count", "add-IP requests (pod network set-ups)"),
  c("delReqCount", "awscni_del_ip_req_count", "delete-IP requests (pod network tear-downs)"),
  c("awsAPIErr", "awscni_aws_api_error_count", "errors returned by AWS APIs"),
  c("awsUtilErr", "awscni_aws_utils_error_count", "errors in the CNI's AWS utilities"),
  c("ipamdErr", "awscni_ipamd_error_count", "ipamd errors"),
  c("reconcileCount", "awscni_reconcile_count", "IP pool reconciliations"),
  c("podENIErr", "awscni_pod_eni_error_count", "pod ENI (security groups for pods) errors"),
  c("ec2ApiReqCount", "awscni_ec2api_req_count", "EC2 API requests made by the CNI"),
  c("ec2ApiErrCount", "awscni_ec2api_error_count", "EC2 API requests that failed"),
  c("forceRemoveENI", "awscni_force_removed_enis", "ENIs force-detached"),
  c("forceRemoveIPs", "awscni_force_removed_ips", "IP addresses force-removed"),
  c(
    "noAvailableIPAddresses",
    "awscni_no_available_ip_addresses",
    "pod IP assignments that failed for lack of an available IP",
  ),
  {
    cwName: "awsAPILatency",
    family: "awscni_aws_api_latency_ms",
    kind: "latency",
    help:
      "AWS API latency in ms: max p99 over pods and APIs (interval mean where no quantiles are exposed)",
  },
]);

/** The headroom metrics (on unless `--no-headroom`), one datum a cycle, dimension `CLUSTER_ID`. */
export const HEADROOM_METRICS = Object.freeze({
  /** The smallest `awscni_ip_max - awscni_assigned_ip_addresses` over the nodes scraped. */
  min: "minNodeIPHeadroom",
  /** Nodes whose headroom is below `--headroom-threshold`. */
  near: "nodesNearIPLimit",
});

/** The subnet metrics (`--subnets`). */
export const SUBNET_METRICS = Object.freeze({
  /** One subnet's `AvailableIpAddressCount`; dimensions `CLUSTER_ID` and `SubnetId`. */
  available: "subnetAvailableIPAddresses",
  /** The smallest of those; dimension `CLUSTER_ID`. */
  min: "minSubnetAvailableIPAddresses",
});

/** The dimension naming a subnet. */
export const SUBNET_DIMENSION = "SubnetId";

function g(cwName: string, family: string, help: string): MetricSpec {
  return { cwName, family, kind: "gauge", help };
}

function c(cwName: string, family: string, help: string): MetricSpec {
  return { cwName, family, kind: "counter", help };
}
