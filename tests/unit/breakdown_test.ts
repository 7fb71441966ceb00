/**
 * Figures per zone, node group and instance type (`--breakdown`): the
 * label fallbacks, exact sums and minima per group, a node moving zone, a
 * restart inside a group, and the smallest groups folding into `other`.
 */

import { assert, assertEquals } from "../support/assert.ts";
import { groupsOf, type NodeGroups } from "../../lib/model/node_groups.ts";
import {
  AggregatorState,
  CycleAggregation,
  type GroupOptions,
} from "../../lib/model/aggregation.ts";
import { parseExposition } from "../../lib/model/exposition.ts";
import { computeFigures, FIGURES, METRICS } from "../../lib/model/figures.ts";
import { toDatums } from "../../lib/outputs/datum_buffer.ts";
import type { ClusterSnapshot } from "../../lib/model/report.ts";

const WANTED = new Set([...METRICS.map((m) => m.family), "process_start_time_seconds"]);

interface Node {
  assigned: number;
  total: number;
  max: number;
  noIp: number;
  start?: number;
}

function body(n: Node): string {
  return [
    `awscni_assigned_ip_addresses ${n.assigned}`,
    `awscni_total_ip_addresses ${n.total}`,
    `awscni_ip_max ${n.max}`,
    "# TYPE awscni_no_available_ip_addresses counter",
    `awscni_no_available_ip_addresses ${n.noIp}`,
    `process_start_time_seconds ${n.start ?? 1000}`,
    "",
  ].join("\n");
}

/** One cycle over pods: name → [groups, figures]. */
function cycle(
  state: AggregatorState,
  pods: Record<string, [NodeGroups, Node]>,
  opts: GroupOptions = { breakdowns: ["zone", "nodegroup", "instance-type"] },
): ClusterSnapshot {
  const c = new CycleAggregation(state, 10, METRICS, opts);
  for (const [name, [groups, n]] of Object.entries(pods)) {
    c.add({
      pod: name,
      node: name,
      groups,
      families: parseExposition(body(n), { wanted: WANTED }),
    });
  }
  const s = c.finish(Object.keys(pods));
  assert(s !== null);
  return s;
}

/** The groups of one breakdown as plain data: group → [pods, assigned, total, max, noIp, minRoom, near]. */
function table(s: ClusterSnapshot, b: "zone" | "nodegroup" | "instance-type") {
  return Object.fromEntries(
    (s.breakdowns?.get(b) ?? []).map((g) => [g.group, [
      g.pods,
      g.values.get("assignIPAddresses"),
      g.values.get("totalIPAddresses"),
      g.values.get("maxIPAddresses"),
      g.values.get("noAvailableIPAddresses"),
      g.headroom?.min,
      g.headroom?.nearLimit,
    ]]),
  );
}

Deno.test("groupsOf: each breakdown's labels in order, else none", () => {
  const cases: [Record<string, string>, NodeGroups][] = [
    [
      {
        "topology.kubernetes.io/zone": "eu-west-1a",
        "failure-domain.beta.kubernetes.io/zone": "old",
        "eks.amazonaws.com/nodegroup": "ng-1",
        "karpenter.sh/nodepool": "pool",
        "node.kubernetes.io/instance-type": "m5.large",
        "beta.kubernetes.io/instance-type": "old",
      },
      { zone: "eu-west-1a", nodegroup: "ng-1", "instance-type": "m5.large" },
    ],
    [
      {
        "failure-domain.beta.kubernetes.io/zone": "eu-west-1b",
        "karpenter.sh/nodepool": "default",
        "alpha.eksctl.io/nodegroup-name": "eksctl-ng",
        "beta.kubernetes.io/instance-type": "c5.xlarge",
      },
      { zone: "eu-west-1b", nodegroup: "default", "instance-type": "c5.xlarge" },
    ],
    [
      { "alpha.eksctl.io/nodegroup-name": "eksctl-ng", "topology.kubernetes.io/zone": "" },
      { zone: "none", nodegroup: "eksctl-ng", "instance-type": "none" },
    ],
    [{}, { zone: "none", nodegroup: "none", "instance-type": "none" }],
  ];
  for (const [labels, want] of cases) assertEquals(groupsOf(labels), want);
});

const A: NodeGroups = { zone: "a", nodegroup: "ng-1", "instance-type": "m5.large" };
const A2: NodeGroups = { zone: "a", nodegroup: "ng-2", "instance-type": "m5.large" };
const B: NodeGroups = { zone: "b", nodegroup: "ng-1", "instance-type": "c5.xlarge" };

Deno.test("per group: sums, least headroom and nodes near the limit, exactly", () => {
  const state = new AggregatorState();
  const s = cycle(state, {
    n1: [A, { assigned: 20, total: 25, max: 29, noIp: 3 }], // room 9: near (< 10)
    n2: [A2, { assigned: 5, total: 10, max: 29, noIp: 0 }], // room 24
    n3: [B, { assigned: 50, total: 56, max: 58, noIp: 7 }], // room 8: near
  });
  // the first cycle is every pod's baseline: no increase yet
  assertEquals(table(s, "zone"), {
    a: [2, 25, 35, 58, 0, 9, 1],
    b: [1, 50, 56, 58, 0, 8, 1],
  });
  assertEquals(table(s, "nodegroup"), {
    "ng-1": [2, 70, 81, 87, 0, 8, 2],
    "ng-2": [1, 5, 10, 29, 0, 24, 0],
  });
  assertEquals(table(s, "instance-type"), {
    "c5.xlarge": [1, 50, 56, 58, 0, 8, 1],
    "m5.large": [2, 25, 35, 58, 0, 9, 1],
  });
  assertEquals(s.lowestHeadroom, [
    { node: "n3", headroom: 8 },
    { node: "n1", headroom: 9 },
    { node: "n2", headroom: 24 },
  ]);
});

Deno.test("a node that moves zone counts in its new zone from that cycle; a restart inside a group is exact", () => {
  const state = new AggregatorState();
  cycle(state, {
    n1: [A, { assigned: 1, total: 2, max: 29, noIp: 10 }],
    n3: [B, { assigned: 1, total: 2, max: 29, noIp: 100 }],
  });
  // n1 relabelled into zone b; n3's aws-node restarted (a new start time): its count is the increase
  const s = cycle(state, {
    n1: [{ ...A, zone: "b" }, { assigned: 2, total: 2, max: 29, noIp: 14 }],
    n3: [B, { assigned: 3, total: 4, max: 29, noIp: 6, start: 2000 }],
  });
  assertEquals(table(s, "zone"), { b: [2, 5, 6, 58, 4 + 6, 26, 0] });
  assertEquals(table(s, "nodegroup"), { "ng-1": [2, 5, 6, 58, 10, 26, 0] });
  assertEquals(s.values.get("noAvailableIPAddresses"), 10);
  // the group's datums carry the dimension; no datum for a group with no scraped pod
  const datums = toDatums(s, "prod", new Date(0))
    .filter((d) => d.MetricName === "noAvailableIPAddresses");
  assertEquals(datums.map((d) => [d.Dimensions.map((x) => x.Value).join("/"), d.Value]), [
    ["prod", 10],
    ["prod/b", 10],
    ["prod/ng-1", 10],
    ["prod/c5.xlarge", 6],
    ["prod/m5.large", 4],
  ]);
});

Deno.test("past --breakdown-max-groups the smallest groups fold into other", () => {
  const state = new AggregatorState();
  const pods: Record<string, [NodeGroups, Node]> = {};
  // zone z1: 3 nodes, z2: 2, z3 and z4: 1 each
  const zones = ["z1", "z1", "z1", "z2", "z2", "z3", "z4"];
  zones.forEach((z, i) => {
    pods[`n${i}`] = [{ ...A, zone: z }, { assigned: i, total: 10, max: 20 + i, noIp: 0 }];
  });
  const s = cycle(state, pods, { breakdowns: ["zone"], maxGroups: 3 });
  // kept: the 2 largest, and "other" holding z3 and z4
  assertEquals(table(s, "zone"), {
    other: [2, 5 + 6, 20, 25 + 26, 0, 20, 0],
    z1: [3, 0 + 1 + 2, 30, 20 + 21 + 22, 0, 20, 0],
    z2: [2, 3 + 4, 20, 23 + 24, 0, 20, 0],
  });
  assertEquals(s.folded, [{ breakdown: "zone", groups: 2 }]);
  // the cluster figures do not change with the folding
  assertEquals(s.values.get("assignIPAddresses"), 21);
  // no breakdown asked: no group figures at all
  const plain = cycle(new AggregatorState(), pods, { breakdowns: [] });
  assertEquals(plain.breakdowns, undefined);
  const figures = computeFigures(FIGURES, plain);
  assert(figures.every((f) => f.values.every((v) => v.dimensions === undefined)));
});
