/**
 * A figure is one declaration (lib/model/figures.ts): a table that holds a
 * figure only this test knows puts it in the CloudWatch datums, on
 * `/metrics`, on the dashboard, in the alarms, in the cycle's debug line and
 * in the generated docs, with no other edit.
 */

import { assert, assertEquals } from "../support/assert.ts";
import { LogCapture } from "../support/logs.ts";
import {
  awsNodeFolds,
  type Figure,
  FIGURES,
  figuresMarkdown,
  METRICS,
} from "../../lib/model/figures.ts";
import { AggregatorState, CycleAggregation } from "../../lib/model/aggregation.ts";
import { parseExposition } from "../../lib/model/exposition.ts";
import { toDatums } from "../../lib/outputs/datum_buffer.ts";
import { renderMetrics } from "../../lib/outputs/prometheus_text.ts";
import { StatusSink } from "../../lib/outputs/status.ts";
import { alarmInputs, dashboardBody } from "../../lib/outputs/dashboard.ts";
import { CycleLog } from "../../lib/outputs/cycle_log.ts";
import type { ClusterSnapshot, CycleReport } from "../../lib/model/report.ts";

/** Computed from other figures' inputs: the IPs the warm pools hold idle. */
const WARM: Figure = {
  cloudwatch: "testWarmIPs",
  prometheus: "cluster_test_warm_ips",
  help: "IPs held but not assigned (a figure only this test declares)",
  unit: "Count",
  kind: "gauge",
  dimensions: [{ cloudwatch: "TestZone", prometheus: "test_zone" }],
  source: "the test",
  dashboard: [{ widget: "test-widget", label: "warm IPs" }],
  alarms: [(a) => ({ AlarmName: `test-${a.clusterId}-warm`, ...a.metric("testWarmIPs") })],
  compute: (c) => [{
    value: (c.values.get("totalIPAddresses") ?? 0) - (c.values.get("assignIPAddresses") ?? 0),
    dimensions: { TestZone: "z1" },
  }],
};

/** Folded from an aws-node family no real figure reads: its counter increase. */
const RETRIES: Figure = {
  cloudwatch: "testRetries",
  prometheus: "cluster_test_retries_total",
  help: "retries (a family only this test declares)",
  unit: "Count",
  kind: "counter",
  dimensions: [],
  source: "awscni_test_retries",
  awsNodeFamily: "awscni_test_retries",
  compute: (c) => [{ value: c.values.get("testRetries") ?? 0 }],
};

const TABLE = [...FIGURES, WARM, RETRIES];

const body = (assigned: number, total: number, retries: number) =>
  [
    `awscni_assigned_ip_addresses ${assigned}`,
    `awscni_total_ip_addresses ${total}`,
    "# TYPE awscni_test_retries counter",
    `awscni_test_retries ${retries}`,
    "",
  ].join("\n");

/** Two cycles of one pod through the aggregation with the test's table. */
function twoCycles(): ClusterSnapshot {
  const state = new AggregatorState();
  const folds = awsNodeFolds(TABLE);
  const wanted = new Set(folds.map((f) => f.family));
  let snap: ClusterSnapshot | null = null;
  for (const [a, t, r] of [[3, 10, 40], [4, 12, 47]] as const) {
    const cycle = new CycleAggregation(state, undefined, folds);
    cycle.add({ pod: "p", families: parseExposition(body(a, t, r), { wanted }) });
    snap = cycle.finish(["p"]);
  }
  assert(snap !== null);
  return snap;
}

function report(snapshot: ClusterSnapshot): CycleReport {
  return {
    startedAt: new Date(Date.UTC(2026, 11, 4)),
    durationMs: 5,
    found: 1,
    notRunning: 0,
    scraped: 1,
    failures: [],
    snapshot,
    listError: undefined,
    listStale: undefined,
    aborted: false,
    publish: true,
  };
}

Deno.test("the aggregation folds a family only a declaration names: its counter's increase", () => {
  const snap = twoCycles();
  assertEquals(snap.values.get("testRetries"), 7);
  assertEquals(snap.values.get("assignIPAddresses"), 4);
  // the built-in table is untouched
  assertEquals(METRICS.length, 21);
  assertEquals(awsNodeFolds(TABLE).length, 22);
});

Deno.test("a new figure reaches the CloudWatch datums with its dimension", () => {
  const datums = toDatums(twoCycles(), "prod", new Date(0), TABLE);
  const warm = datums.find((d) => d.MetricName === "testWarmIPs");
  assertEquals(warm?.Value, 8);
  assertEquals(warm?.Dimensions, [
    { Name: "CLUSTER_ID", Value: "prod" },
    { Name: "TestZone", Value: "z1" },
  ]);
  assertEquals(datums.find((d) => d.MetricName === "testRetries")?.Value, 7);
  // the built-in table has neither
  const plain = toDatums(twoCycles(), "prod", new Date(0));
  assertEquals(plain.filter((d) => d.MetricName.startsWith("test")).length, 0);
});

Deno.test("a new figure reaches /metrics: a gauge with its label, a counter's running total", () => {
  const status = new StatusSink({
    version: "1",
    intervalSeconds: 30,
    now: () => 0,
    figures: TABLE,
  });
  status.identityResolved("prod", "eu-west-1");
  const snap = twoCycles();
  status.observe(report(snap));
  status.observe(report(snap));
  const text = renderMetrics(status, {
    cluster: true,
    memory: { rss: 1, heapUsed: 1 },
    openMetrics: false,
  });
  assert(
    text.includes(
      "# HELP cni_metrics_helper_cluster_test_warm_ips IPs held but not assigned (a figure only " +
        "this test declares)\n# TYPE cni_metrics_helper_cluster_test_warm_ips gauge\n" +
        'cni_metrics_helper_cluster_test_warm_ips{cluster_id="prod",test_zone="z1"} 8\n',
    ),
    text,
  );
  // two cycles of +7 each
  assert(text.includes('cni_metrics_helper_cluster_test_retries_total{cluster_id="prod"} 14\n'));
});

Deno.test("a new figure reaches the dashboard (a widget of its own) and the alarms", () => {
  const t = { region: "eu-west-1", clusterId: "prod" };
  const widgets = dashboardBody(t, "d", TABLE).widgets;
  const own = widgets.find((w) => w.properties["title"] === "test-widget");
  assert(own !== undefined);
  assertEquals(own.properties["metrics"], [[{
    expression:
      `SEARCH('{Kubernetes,CLUSTER_ID,TestZone} MetricName="testWarmIPs" CLUSTER_ID="prod"', 'Average', 60)`,
    id: "e1",
    label: "warm IPs",
  }]]);
  // placed after the built-in widgets, in the next free half-row
  const last = widgets.at(-2);
  assert(last !== undefined && own.y >= last.y);
  const alarms = alarmInputs(t, 90, undefined, 50, TABLE);
  assertEquals(alarms.at(-1), {
    AlarmName: "test-prod-warm",
    Namespace: "Kubernetes",
    MetricName: "testWarmIPs",
    Dimensions: [{ Name: "CLUSTER_ID", Value: "prod" }],
  });
  assertEquals(alarmInputs(t, 90, undefined).length, alarms.length - 1);
});

Deno.test("a new figure reaches the cycle's debug line and the generated docs", async () => {
  const logs = await LogCapture.start();
  new CycleLog(20, TABLE).observe(report(twoCycles()));
  const debug = logs.messages("debug").find((m) => m.startsWith("cycle figures"));
  assert(debug?.endsWith(" testWarmIPs{z1}=8 testRetries=7"), debug);
  const docs = figuresMarkdown(TABLE);
  assert(
    docs.includes(
      "- `testWarmIPs` (`CLUSTER_ID`, `TestZone`; gauge; from the test; Prometheus " +
        "`cni_metrics_helper_cluster_test_warm_ips`): IPs held but not assigned (a figure only " +
        "this test declares).\n",
    ),
    docs,
  );
  assert(!figuresMarkdown().includes("testWarmIPs"));
});
