import { assert, assertEquals } from "../support/assert.ts";
import { aggregate, AggregatorState } from "../../lib/model/aggregation.ts";
import { METRICS } from "../../lib/model/figures.ts";
import { parseExposition } from "../../lib/model/exposition.ts";
import type { ClusterSnapshot } from "../../lib/model/report.ts";

const fixture = (name: string) =>
  Deno.readTextFileSync(new URL(`../fixtures/${name}`, import.meta.url));

/** One cycle: pods listed, and the text of those scraped. */
function step(
  state: AggregatorState,
  listed: string[],
  scraped: Record<string, string>,
): ClusterSnapshot | null {
  return aggregate(
    state,
    listed,
    Object.entries(scraped).map(([pod, text]) => ({ pod, families: parseExposition(text) })),
  );
}

function v(s: ClusterSnapshot | null, name: string): number {
  assert(s !== null, "expected a snapshot");
  const x = s.values.get(name);
  assert(x !== undefined, `${name} missing`);
  return x;
}

const counter = (name: string, series: Record<string, number>, start?: number) => {
  const lines = [`# TYPE ${name} counter`];
  for (const [labels, value] of Object.entries(series)) lines.push(`${name}${labels} ${value}`);
  if (start !== undefined) {
    lines.push("# TYPE process_start_time_seconds gauge", `process_start_time_seconds ${start}`);
  }
  return lines.join("\n") + "\n";
};
const adds = (n: number, start?: number) => counter("awscni_add_ip_req_count", { "": n }, start);

Deno.test("every one of the 21 metrics is in every snapshot, 0 where no pod had the family", () => {
  assertEquals(METRICS.length, 21);
  const s = step(new AggregatorState(), ["a"], { a: "# TYPE other gauge\nother 1\n" });
  assert(s !== null);
  assertEquals([...s.values.keys()], METRICS.map((m) => m.cwName));
  assert([...s.values.values()].every((x) => x === 0));
});

Deno.test("gauges sum over pods and series: the two fixtures", () => {
  const state = new AggregatorState();
  const s = step(state, ["v1", "pd"], {
    v1: fixture("aws-node-v1.data"),
    pd: fixture("aws-node-prefix-delegation.data"),
  });
  assertEquals(v(s, "assignIPAddresses"), 2);
  assertEquals(v(s, "totalIPAddresses"), 26);
  assertEquals(v(s, "totalIPv4Prefixes"), 1);
  assertEquals(v(s, "totalAssignedIPv4sPerCidr"), 1);
  assertEquals(v(s, "eniAllocated"), 4);
  assertEquals(v(s, "eniMaxAvailable"), 6);
  assertEquals(v(s, "maxIPAddresses"), 30);
  assertEquals(v(s, "ipamdActionInProgress"), 0);
  // first scrape of both pods is their baseline: counters contribute nothing
  for (const c of ["addReqCount", "delReqCount", "awsAPIErr", "ec2ApiReqCount"]) {
    assertEquals(v(s, c), 0, c);
  }
  // p99 of GetMetadata is 1 on both; every other quantile is NaN
  assertEquals(v(s, "awsAPILatency"), 1);
  assertEquals(s?.podsScraped, 2);
  assertEquals(s?.podsBaselined, 2);
});

Deno.test("counters: sum of each pod's increase (not the Go tool's cluster-sum delta)", () => {
  const state = new AggregatorState();
  step(state, ["a", "b"], { a: adds(100), b: adds(50) });
  const s = step(state, ["a", "b"], { a: adds(110), b: adds(55) });
  assertEquals(v(s, "addReqCount"), 15);
  // b restarts (55 -> 3) while a grows by 5: 5 + 3, never negative
  const s3 = step(state, ["a", "b"], { a: adds(115), b: adds(3) });
  assertEquals(v(s3, "addReqCount"), 8);
});

Deno.test("counters: fixture v1 series summed per family after one increase", () => {
  const state = new AggregatorState();
  const t1 = fixture("aws-node-v1.data");
  step(state, ["a"], { a: t1 });
  const t2 = t1
    .replace("awscni_add_ip_req_count 100", "awscni_add_ip_req_count 107")
    .replace('{reason="PodDeleted"} 106', '{reason="PodDeleted"} 110')
    .replace('{fn="DescribeNetworkInterfaces"} 13', '{fn="DescribeNetworkInterfaces"} 20')
    .replace('error="InvalidParameterValue"} 14', 'error="InvalidParameterValue"} 15');
  const s = step(state, ["a"], { a: t2 });
  assertEquals(v(s, "addReqCount"), 7);
  assertEquals(v(s, "delReqCount"), 4);
  assertEquals(v(s, "ec2ApiReqCount"), 7);
  assertEquals(v(s, "awsAPIErr"), 1);
  assertEquals(v(s, "ipamdErr"), 0);
});

Deno.test("counters: a changed process start time is a restart even if the value grew", () => {
  const state = new AggregatorState();
  step(state, ["a"], { a: adds(100, 1000) });
  assertEquals(v(step(state, ["a"], { a: adds(130, 1000) }), "addReqCount"), 30);
  // restarted at t=2000 and already counted past the old value
  assertEquals(v(step(state, ["a"], { a: adds(150, 2000) }), "addReqCount"), 150);
  assertEquals(v(step(state, ["a"], { a: adds(151, 2000) }), "addReqCount"), 1);
});

Deno.test("counters: a series new on a baselined pod contributes its value", () => {
  const state = new AggregatorState();
  const del = (series: Record<string, number>) => counter("awscni_del_ip_req_count", series);
  step(state, ["a"], { a: del({ '{reason="PodDeleted"}': 10 }) });
  const s = step(state, ["a"], {
    a: del({ '{reason="PodDeleted"}': 12, '{reason="SetupNSFailed"}': 4 }),
  });
  assertEquals(v(s, "delReqCount"), 6);
  // a family absent at baseline that appears later counts whole too
  const s2 = step(state, ["a"], {
    a: del({ '{reason="PodDeleted"}': 12, '{reason="SetupNSFailed"}': 4 }) +
      counter("awscni_ipamd_error_count", { "": 3 }),
  });
  assertEquals(v(s2, "ipamdErr"), 3);
  assertEquals(v(s2, "delReqCount"), 0);
});

Deno.test("counters: a failed scrape changes nothing; the next diffs against the last good value", () => {
  const state = new AggregatorState();
  step(state, ["a", "b"], { a: adds(100), b: adds(10) });
  // a is listed but its scrape failed
  const s2 = step(state, ["a", "b"], { b: adds(12) });
  assertEquals(v(s2, "addReqCount"), 2);
  const s3 = step(state, ["a", "b"], { a: adds(130), b: adds(12) });
  assertEquals(v(s3, "addReqCount"), 30);
});

Deno.test("counters: a departed pod drops its state; a pod joining is a baseline", () => {
  const state = new AggregatorState();
  step(state, ["a", "b"], { a: adds(100), b: adds(10) });
  const s2 = step(state, ["b", "c"], { b: adds(15), c: adds(500) });
  assertEquals(v(s2, "addReqCount"), 5);
  assertEquals(s2?.podsBaselined, 1);
  assertEquals([...state.pods.keys()].sort(), ["b", "c"]);
  // a returns under the same key: a fresh baseline, nothing counted
  const s3 = step(state, ["a", "b", "c"], { a: adds(120), b: adds(15), c: adds(501) });
  assertEquals(v(s3, "addReqCount"), 1);
});

Deno.test("a cycle with no pod scraped yields nothing, and keeps listed pods' state", () => {
  const state = new AggregatorState();
  step(state, ["a"], { a: adds(100) });
  assertEquals(step(state, ["a"], {}), null);
  assertEquals(v(step(state, ["a"], { a: adds(104) }), "addReqCount"), 4);
});

const summary = (lines: string[]) =>
  ["# TYPE awscni_aws_api_latency_ms summary", ...lines].join("\n") + "\n";

Deno.test("awsAPILatency: max p99 over pods and series, NaN ignored", () => {
  const state = new AggregatorState();
  const a = summary([
    'awscni_aws_api_latency_ms{api="A",quantile="0.5"} 3',
    'awscni_aws_api_latency_ms{api="A",quantile="0.99"} 40',
    'awscni_aws_api_latency_ms{api="B",quantile="0.99"} NaN',
    'awscni_aws_api_latency_ms_sum{api="A"} 100',
    'awscni_aws_api_latency_ms_count{api="A"} 10',
  ]);
  const b = summary([
    'awscni_aws_api_latency_ms{api="A",quantile="0.99"} 55.5',
    'awscni_aws_api_latency_ms_sum{api="A"} 100000',
    'awscni_aws_api_latency_ms_count{api="A"} 1',
  ]);
  assertEquals(v(step(state, ["a", "b"], { a, b }), "awsAPILatency"), 55.5);
  const allNaN = summary(['awscni_aws_api_latency_ms{api="A",quantile="0.99"} NaN']);
  assertEquals(v(step(new AggregatorState(), ["a"], { a: allNaN }), "awsAPILatency"), 0);
});

Deno.test("awsAPILatency: series without quantiles use the interval mean", () => {
  const state = new AggregatorState();
  const s = (sum: number, count: number, api = "X") =>
    `awscni_aws_api_latency_ms_sum{api="${api}"} ${sum}\n` +
    `awscni_aws_api_latency_ms_count{api="${api}"} ${count}\n`;
  const t = (body: string) => summary([body.trimEnd()]);
  // baseline: no interval yet
  assertEquals(v(step(state, ["a"], { a: t(s(1000, 10)) }), "awsAPILatency"), 0);
  // 4 calls took 100 ms in all: 25 ms mean
  assertEquals(v(step(state, ["a"], { a: t(s(1100, 14)) }), "awsAPILatency"), 25);
  // no calls this interval: nothing qualifies
  assertEquals(v(step(state, ["a"], { a: t(s(1100, 14)) }), "awsAPILatency"), 0);
  // restart: the new totals are the interval (60 / 2)
  assertEquals(v(step(state, ["a"], { a: t(s(60, 2)) }), "awsAPILatency"), 30);
  // a new series on a baselined pod counts whole; the max wins
  assertEquals(
    v(step(state, ["a"], { a: t(s(70, 3) + s(90, 1, "Y")) }), "awsAPILatency"),
    90,
  );
});

Deno.test("counters: full / cut / full at every line boundary: no increase lost or counted twice", async () => {
  const { awsNodeText, freshNode } = await import("../../tools/sim.ts");
  const fig = (k: number) => ({
    ...freshNode(1),
    addReq: 10 * k,
    delReq: 3 * k,
    ec2Req: 4 + 6 * k,
    awsApiErr: k,
    ipamdErr: 2 * k,
    reconcile: 5 * k,
  });
  const [t1, t2, t3] = [awsNodeText(fig(1)), awsNodeText(fig(5)), awsNodeText(fig(9))];
  const wanted = new Set([...METRICS.map((m) => m.family), "process_start_time_seconds"]);
  const counters = METRICS.filter((m) => m.kind === "counter").map((m) => m.cwName);
  const whole = new AggregatorState();
  step(whole, ["p"], { p: t1 });
  const expected = step(whole, ["p"], { p: t3 });
  const lines = t2.split("\n").slice(0, -1);
  let cutsParsed = 0;
  for (let k = 0; k < lines.length; k++) {
    let families;
    try {
      families = parseExposition(lines.slice(0, k + 1).join("\n") + "\n", { wanted });
    } catch {
      continue; // refused as truncated: a failed scrape, covered by the test above
    }
    cutsParsed++;
    const state = new AggregatorState();
    step(state, ["p"], { p: t1 });
    const s2 = aggregate(state, ["p"], [{ pod: "p", families }]);
    const s3 = step(state, ["p"], { p: t3 });
    for (const name of counters) {
      assertEquals(
        v(s2, name) + v(s3, name),
        v(expected, name),
        `${name}, cut after line ${k + 1}`,
      );
    }
  }
  assert(cutsParsed > 20, `only ${cutsParsed} cuts parsed`);
  assertEquals(v(expected, "addReqCount"), 80);
});

/** A node's body with its IP figures. */
const ips = (max: number, assigned: number) =>
  `# TYPE awscni_ip_max gauge\nawscni_ip_max ${max}\n` +
  `# TYPE awscni_assigned_ip_addresses gauge\nawscni_assigned_ip_addresses ${assigned}\n`;

Deno.test("node headroom: the least over the nodes scraped, and how many are under the threshold", () => {
  const state = new AggregatorState();
  const sample = (pod: string, node: string, text: string) => ({
    pod,
    node,
    families: parseExposition(text),
  });
  // n1 at its limit (0), n2 under the threshold (6), n3 with room (40), n4 without ip_max
  const s = aggregate(state, ["a", "b", "c", "d", "e"], [
    sample("a", "ip-10-0-1-1", ips(29, 29)),
    sample("b", "ip-10-0-1-2", ips(29, 23)),
    sample("c", "ip-10-0-1-3", ips(58, 18)),
    sample("d", "ip-10-0-1-4", adds(3)),
    // "e" failed to scrape this cycle: not among the nodes at all
  ], 10);
  assertEquals(s?.headroom, {
    min: 0,
    node: "ip-10-0-1-1",
    nearLimit: 2,
    threshold: 10,
    nodes: 3,
  });
  // a node over its limit (a warm pool shrinking under load) counts below zero
  const over = aggregate(new AggregatorState(), ["x"], [sample("x", "n", ips(10, 12))], 10);
  assertEquals([over?.headroom?.min, over?.headroom?.nearLimit], [-2, 1]);
  // threshold 0: nobody is "under"; a tie goes to the first node by name
  const tie = aggregate(new AggregatorState(), ["p", "q"], [
    sample("p", "node-b", ips(20, 15)),
    sample("q", "node-a", ips(15, 10)),
  ], 0);
  assertEquals([tie?.headroom?.min, tie?.headroom?.node, tie?.headroom?.nearLimit], [
    5,
    "node-a",
    0,
  ]);
  // off (--no-headroom): no figures
  assertEquals(
    aggregate(new AggregatorState(), ["p"], [sample("p", "n", ips(20, 15))])?.headroom,
    undefined,
  );
  // no node had both families: no figures (not a made-up 0)
  assertEquals(
    aggregate(new AggregatorState(), ["d"], [sample("d", "n", adds(1))], 10)?.headroom,
    undefined,
  );
});

Deno.test("node headroom from the real aws-node outputs, prefix delegation included", () => {
  const s = aggregate(new AggregatorState(), ["v1", "pd"], [
    { pod: "v1", node: "ip-192-168-1-10", families: parseExposition(fixture("aws-node-v1.data")) },
    {
      pod: "pd",
      node: "ip-192-168-1-20",
      families: parseExposition(fixture("aws-node-prefix-delegation.data")),
    },
  ], 10);
  // both: ip_max 15, assigned 1 → 14 free; neither is under 10
  assertEquals(s?.headroom, {
    min: 14,
    node: "ip-192-168-1-10",
    nearLimit: 0,
    threshold: 10,
    nodes: 2,
  });
  const tight = aggregate(new AggregatorState(), ["pd"], [{
    pod: "pd",
    node: "ip-192-168-1-20",
    families: parseExposition(fixture("aws-node-prefix-delegation.data")),
  }], 15);
  assertEquals([tight?.headroom?.min, tight?.headroom?.nearLimit], [14, 1]);
});
