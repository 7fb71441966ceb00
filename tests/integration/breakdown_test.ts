/**
 * `--breakdown` and `report` in-process: Node objects with zone, node group
 * and instance-type labels on the HTTPS fake API server, aws-node pods on
 * them, the real SDK against the local CloudWatch endpoint; a relabelled
 * node moves its figures at the next cycle.
 */

import { assert, assertEquals } from "../support/assert.ts";
import { byTimestamp, withWorld, type World } from "../support/harness.ts";
import { FakeClock } from "../support/fake_clock.ts";
import { awsNodeText, freshNode } from "../../tools/sim.ts";
import type { CycleReport } from "../../lib/model/report.ts";

/** Three nodes: two in zone a (ng-1 and ng-2), one in zone b (ng-1, via Karpenter's label). */
function cluster(w: World, noIp: () => number) {
  const nodes: [string, Record<string, string>, number][] = [
    ["a1", {
      "topology.kubernetes.io/zone": "a",
      "eks.amazonaws.com/nodegroup": "ng-1",
      "node.kubernetes.io/instance-type": "m5.large",
    }, 20],
    ["a2", {
      "topology.kubernetes.io/zone": "a",
      "eks.amazonaws.com/nodegroup": "ng-2",
      "node.kubernetes.io/instance-type": "m5.large",
    }, 4],
    ["b1", {
      "failure-domain.beta.kubernetes.io/zone": "b",
      "karpenter.sh/nodepool": "ng-1",
      "beta.kubernetes.io/instance-type": "c5.xlarge",
    }, 25],
  ];
  for (const [name, labels, assigned] of nodes) {
    w.api.labelNode(`node-aws-node-${name}`, labels);
    w.api.addPod(`aws-node-${name}`, {
      kind: "text",
      // ip_max 29, total = assigned + 3; each counts noIp() failed assignments so far
      body: () =>
        awsNodeText({ ...freshNode(1), assigned, total: assigned + 3, noAvailable: noIp() }),
    });
  }
}

Deno.test(
  "--breakdown zone,nodegroup,instance-type: the groups' exact figures in CloudWatch; a relabel moves them",
  withWorld(async (w) => {
    let cycle = 0;
    cluster(w, () => [0, 2, 5][cycle] ?? 5);
    const clock = new FakeClock();
    const stop = new AbortController();
    const reports: CycleReport[] = [];
    const running = w.run(
      ["--interval", "30", "--breakdown", "zone,nodegroup,instance-type"],
      {
        shutdown: stop.signal,
        clock,
        onCycle: (r) => {
          reports.push(r);
          cycle = reports.length;
          // after cycle 2, node a2 moves to zone b
          if (cycle === 2) {
            w.api.labelNode("node-aws-node-a2", {
              "topology.kubernetes.io/zone": "b",
              "eks.amazonaws.com/nodegroup": "ng-2",
            });
          }
          if (reports.length >= 3) stop.abort();
        },
      },
    );
    let done = false;
    void running.finally(() => done = true);
    while (!done) {
      await Promise.race([clock.sleeping(), running]);
      // the relabel reaches the helper through its node watch: wait for it, then move time
      if (cycle === 2) {
        await w.logged((m) => m.startsWith("node watch: MODIFIED node-aws-node-a2"));
      }
      if (!done) clock.tick(30_000);
    }
    assertEquals(await running, 0);
    const sent = [...byTimestamp(w.cw.datums).values()];
    assertEquals(sent.length, 3);
    const v = (c: number, key: string) => sent[c]?.get(key);
    // cycle 1: zone a holds a1 and a2: assigned 24, total 30, max 58, idle 6, least room 9
    assertEquals(
      [
        "assignIPAddresses",
        "totalIPAddresses",
        "maxIPAddresses",
        "idleIPAddresses",
        "minNodeIPHeadroom",
        "nodesNearIPLimit",
      ]
        .map((n) => [v(0, `${n}{a}`), v(0, `${n}{b}`)]),
      [[24, 25], [30, 28], [58, 29], [6, 3], [9, 4], [1, 1]],
    );
    assertEquals([v(0, "assignIPAddresses{ng-1}"), v(0, "assignIPAddresses{ng-2}")], [45, 4]);
    assertEquals(
      [v(0, "assignIPAddresses{m5.large}"), v(0, "assignIPAddresses{c5.xlarge}")],
      [24, 25],
    );
    // counters: cycle 2 adds 2 a node, cycle 3 three more
    assertEquals([v(1, "noAvailableIPAddresses{a}"), v(1, "noAvailableIPAddresses{b}")], [4, 2]);
    assertEquals(v(1, "noAvailableIPAddresses"), 6);
    // cycle 3: a2 is in zone b now, and its label lacks an instance type
    assertEquals([v(2, "assignIPAddresses{a}"), v(2, "assignIPAddresses{b}")], [20, 29]);
    assertEquals([v(2, "noAvailableIPAddresses{a}"), v(2, "noAvailableIPAddresses{b}")], [3, 6]);
    assertEquals(v(2, "assignIPAddresses{none}"), 4);
    // the group datums carry the dimension's name
    const zoned = w.cw.datums.find((d) =>
      d.MetricName === "minNodeIPHeadroom" && d.Dimensions?.length === 2
    );
    assertEquals(zoned?.Dimensions?.[1]?.Name, "AvailabilityZone");
  }),
);

Deno.test(
  "report --output json: the zones, node groups and nodes with the least headroom, exactly",
  withWorld(async (w) => {
    cluster(w, () => 0);
    const code = await w.run(["report", "--output", "json"]);
    assertEquals(code, 0);
    assertEquals(w.stdout.length, 1);
    assertEquals(JSON.parse(w.stdout[0] as string), {
      clusterId: "test",
      zones: [
        { zone: "a", nodes: 2, assigned: 24, total: 30, max: 58, idle: 6, minHeadroom: 9 },
        { zone: "b", nodes: 1, assigned: 25, total: 28, max: 29, idle: 3, minHeadroom: 4 },
      ],
      nodeGroups: [
        { nodeGroup: "ng-1", nodes: 2, assigned: 45, total: 51, max: 58, idle: 6, minHeadroom: 4 },
        { nodeGroup: "ng-2", nodes: 1, assigned: 4, total: 7, max: 29, idle: 3, minHeadroom: 25 },
      ],
      nodesNearLimit: [
        { node: "node-aws-node-b1", headroom: 4 },
        { node: "node-aws-node-a1", headroom: 9 },
        { node: "node-aws-node-a2", headroom: 25 },
      ],
      subnets: [],
    });
    // no CloudWatch call, and the text form fits 100 columns
    assertEquals(w.cw.requests.length, 0);
    w.stdout.length = 0;
    assertEquals(await w.run(["report"]), 0);
    const text = w.stdout.join("\n");
    assert(text.split("\n").every((l) => l.length <= 100), text);
    assert(text.includes("by zone") && text.includes("by node group"), text);
  }),
);
