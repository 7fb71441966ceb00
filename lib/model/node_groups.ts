/**
 * Which group a node is in for each breakdown (`--breakdown`): its zone,
 * node group and instance type, from its labels with the fallbacks EKS,
 * Karpenter and eksctl use, `none` when no label says. Pure.
 *
 * @module
 */

/** The breakdowns a figure can be split by. */
export const BREAKDOWNS = ["zone", "nodegroup", "instance-type"] as const;

/** One breakdown. */
export type Breakdown = typeof BREAKDOWNS[number];

/** The group of a node with no label for a breakdown. */
export const NO_GROUP = "none";

/** The group the smallest groups fold into past `--breakdown-max-groups`. */
export const OTHER_GROUP = "other";

/** Per breakdown: the labels read, first found wins; the CloudWatch dimension; the Prometheus label. */
export const BREAKDOWN_SPECS: Readonly<
  Record<Breakdown, { labels: readonly string[]; dimension: string; prometheus: string }>
> = Object.freeze({
  zone: {
    labels: ["topology.kubernetes.io/zone", "failure-domain.beta.kubernetes.io/zone"],
    dimension: "AvailabilityZone",
    prometheus: "zone",
  },
  nodegroup: {
    labels: [
      "eks.amazonaws.com/nodegroup",
      "karpenter.sh/nodepool",
      "alpha.eksctl.io/nodegroup-name",
    ],
    dimension: "NodeGroup",
    prometheus: "nodegroup",
  },
  "instance-type": {
    labels: ["node.kubernetes.io/instance-type", "beta.kubernetes.io/instance-type"],
    dimension: "InstanceType",
    prometheus: "instance_type",
  },
});

/** Every label a breakdown reads (the node watcher keeps only these). */
export const GROUP_LABELS: readonly string[] = Object.freeze(
  BREAKDOWNS.flatMap((b) => BREAKDOWN_SPECS[b].labels),
);

/** A node's groups, one per breakdown. */
export type NodeGroups = Readonly<Record<Breakdown, string>>;

/**
 * A node's group for every breakdown.
 *
 * @param labels the node's labels
 * @returns its zone, node group and instance type (`none` where no label says)
 */
export function groupsOf(labels: Readonly<Record<string, string>>): NodeGroups {
  const pick = (b: Breakdown) => {
    for (const l of BREAKDOWN_SPECS[b].labels) {
      const v = labels[l];
      if (v !== undefined && v !== "") return v;
    }
    return NO_GROUP;
  };
  return {
    zone: pick("zone"),
    nodegroup: pick("nodegroup"),
    "instance-type": pick("instance-type"),
  };
}
