/**
 * `cni-metrics-helper report` as a process, with the start task's
 * permissions, against the HTTPS fake API server: text and JSON on stdout,
 * logs on stderr, no CloudWatch request; exit 1 when nothing is scraped.
 */

import { assert, assertEquals } from "../support/assert.ts";
import { spawnHelper, withWorld } from "../support/harness.ts";
import { awsNodeText, freshNode } from "../../tools/sim.ts";

async function report(args: string[], env: Record<string, string>) {
  const out = await spawnHelper(["report", ...args], env).output();
  return {
    code: out.code,
    stdout: new TextDecoder().decode(out.stdout),
    stderr: new TextDecoder().decode(out.stderr),
  };
}

Deno.test(
  "report: text tables and the JSON contract on stdout, nothing sent",
  withWorld(async (w) => {
    const zones = ["eu-west-1a", "eu-west-1a", "eu-west-1b"];
    zones.forEach((zone, i) => {
      w.api.labelNode(`node-aws-node-${i}`, {
        "topology.kubernetes.io/zone": zone,
        "eks.amazonaws.com/nodegroup": i === 2 ? "spot" : "general",
      });
      w.api.textPod(
        `aws-node-${i}`,
        awsNodeText({ ...freshNode(i), assigned: 10 * (i + 1), total: 10 * (i + 1) + 5 }),
      );
    });
    const base = ["--kubeconfig", w.kubeconfig, "--cluster-id", "prod"];
    const json = await report([...base, "--output", "json"], w.env());
    assertEquals(json.code, 0, json.stderr);
    const r = JSON.parse(json.stdout);
    assertEquals(r.zones, [
      { zone: "eu-west-1a", nodes: 2, assigned: 30, total: 40, max: 58, idle: 10, minHeadroom: 9 },
      { zone: "eu-west-1b", nodes: 1, assigned: 30, total: 35, max: 29, idle: 5, minHeadroom: -1 },
    ]);
    assertEquals(r.nodeGroups.map((g: { nodeGroup: string }) => g.nodeGroup), ["general", "spot"]);
    assertEquals(r.nodesNearLimit[0], { node: "node-aws-node-2", headroom: -1 });
    const text = await report(base, w.env());
    assertEquals(text.code, 0, text.stderr);
    const lines = text.stdout.trimEnd().split("\n");
    assertEquals(lines[0], "cluster prod: where the pod IPs are");
    assert(lines.every((l) => l.length <= 100), text.stdout);
    assert(
      lines.some((l) => /^ {2}eu-west-1b +1 +30 +35 +29 +5 +-1 +#{20} 103%$/.test(l)),
      text.stdout,
    );
    // logs went to stderr as JSON lines, requests to CloudWatch none
    assert(text.stderr.split("\n").filter((l) => l !== "").every((l) => l.startsWith("{")));
    assertEquals(w.cw.requests.length, 0);
    // nothing to scrape: exit 1, nothing on stdout
    w.api.removePod("aws-node-0");
    w.api.removePod("aws-node-1");
    w.api.removePod("aws-node-2");
    const none = await report(base, w.env());
    assertEquals([none.code, none.stdout], [1, ""]);
    assert(none.stderr.includes("report: no pod could be scraped: no pod matches --selector"));
  }),
);
