/**
 * `/metrics`, `/healthz`, `/readyz`: handlers without a socket (golden
 * bodies), then the real endpoint over HTTP after real cycles, linted by
 * Prometheus' own promtool.
 */

import { assert, assertEquals } from "../support/assert.ts";
import { HAVE_PROMTOOL, promtool, PROMTOOL_NOTE } from "../support/promtool.ts";
import { World } from "../support/harness.ts";
import { awsNodeText, freshNode } from "../../tools/sim.ts";
import { makeHandler } from "../../lib/http/server.ts";
import { StatusSink } from "../../lib/outputs/status.ts";
import { CloudWatchSink } from "../../lib/outputs/cloudwatch.ts";
import { DryRunPublisher } from "../../lib/aws/cloudwatch_api.ts";
import { clusterMetricName, renderMetrics } from "../../lib/outputs/prometheus_text.ts";
import { parseExposition } from "../../lib/model/exposition.ts";
import { METRICS } from "../../lib/model/figures.ts";

import { ScrapeError } from "../../lib/scrape/scraper.ts";
import { assertGolden } from "../support/golden.ts";
import { FakeClock } from "../support/fake_clock.ts";
import type { ClusterSnapshot, CycleReport } from "../../lib/model/report.ts";

const T0 = Date.UTC(2026, 10, 28, 12, 0, 0);

function snapshot(values: Record<string, number>): ClusterSnapshot {
  return {
    values: new Map(METRICS.map((m) => [m.cwName, values[m.cwName] ?? 0])),
    podsScraped: 2,
    podsBaselined: 0,
    headroom: { min: 3, node: "ip-10-0-1-2", nearLimit: 1, threshold: 10, nodes: 2 },
    subnets: [
      { subnetId: "subnet-0a1", availabilityZone: "eu-west-1a", available: 4000 },
      { subnetId: "subnet-0b2", availabilityZone: "eu-west-1b", available: 37 },
    ],
  };
}

function report(over: Partial<CycleReport>): CycleReport {
  return {
    startedAt: new Date(T0),
    durationMs: 300,
    found: 3,
    notRunning: 0,
    scraped: 2,
    failures: [],
    snapshot: null,
    listError: undefined,
    listStale: undefined,
    aborted: false,
    publish: true,
    ...over,
  };
}

/** A status after two cycles: one with a timeout and a parse error. */
function twoCycles(): StatusSink {
  let now = T0;
  // a real CloudWatch output whose counters are set as after a few publishes, with 21 datums
  // waiting (the observed cycle below has no headroom: the 21 aws-node figures)
  const cw = new CloudWatchSink(new DryRunPublisher(() => {}), {
    clusterId: "prod",
    maxDatums: 1000,
    clock: new FakeClock(T0),
    intervalSeconds: 30,
  });
  Object.assign(cw.stats, {
    requestsOk: 1,
    requestsFailed: 2,
    attemptsOk: 2,
    attemptsFailed: 4,
    datumsSent: 42,
    datumsDropped: 0,
  });
  cw.observe(report({ snapshot: { ...snapshot({}), headroom: undefined, subnets: undefined } }));
  const s = new StatusSink({
    version: "1.2.3",
    intervalSeconds: 30,
    now: () => now,
    reporters: [cw],
  });
  s.identityResolved("prod", "eu-west-1");
  const target = {
    key: "k",
    name: "n",
    namespace: "kube-system",
    node: "x",
    podIP: "10.0.0.1",
    running: true,
  };
  now = T0 + 300;
  s.observe(
    report({
      snapshot: snapshot({ assignIPAddresses: 10, addReqCount: 0, awsAPILatency: 250 }),
      failures: [{ target, error: new ScrapeError("timeout", "t") }],
    }),
  );
  now = T0 + 31_500;
  s.observe(
    report({
      durationMs: 1500,
      snapshot: snapshot({ assignIPAddresses: 12, addReqCount: 5, awsAPILatency: 40 }),
      failures: [{ target, error: new ScrapeError("parse", "p") }],
    }),
  );
  return s;
}

const memory = () => ({ rss: 150_000_000, heapUsed: 40_000_000 });

Deno.test("/metrics: the helper's own metrics only, without --prometheus (golden)", () => {
  const handler = makeHandler({ status: twoCycles(), prometheus: false, now: () => T0, memory });
  const res = handler(new Request("http://x/metrics"));
  assertEquals(res.status, 200);
  assertEquals(res.headers.get("content-type"), "text/plain; version=0.0.4; charset=utf-8");
  return res.text().then((body) => assertGolden(body, "metrics-own.txt"));
});

Deno.test("/metrics: with --prometheus, every cluster figure with a cluster_id label (golden)", async () => {
  const handler = makeHandler({ status: twoCycles(), prometheus: true, now: () => T0, memory });
  const body = await handler(new Request("http://x/metrics")).text();
  assertGolden(body, "metrics-cluster.txt");
  // our own parser reads it back, every one of the 21 figures is there once
  const fams = parseExposition(body);
  for (const m of METRICS) {
    const f = fams.get(clusterMetricName(m.cwName));
    assert(f !== undefined, m.cwName);
    assertEquals(f.samples.length, 1);
    assertEquals(f.samples[0]?.labels, { cluster_id: "prod" });
    assertEquals(f.type, m.kind === "counter" ? "counter" : "gauge");
  }
  // counters are running totals of the published increases; latency in seconds
  assertEquals(fams.get("cni_metrics_helper_cluster_add_ip_req_count_total")?.samples[0]?.value, 5);
  assertEquals(
    fams.get("cni_metrics_helper_cluster_aws_api_latency_seconds")?.samples[0]?.value,
    0.04,
  );
  // headroom and subnets, as the last snapshot has them
  assertEquals(fams.get("cni_metrics_helper_cluster_min_node_ip_headroom")?.samples[0]?.value, 3);
  assertEquals(fams.get("cni_metrics_helper_cluster_nodes_near_ip_limit")?.samples[0]?.value, 1);
  assertEquals(
    fams.get("cni_metrics_helper_subnet_available_ip_addresses")?.samples.map((x) => [
      x.labels,
      x.value,
    ]),
    [
      [{ cluster_id: "prod", subnet_id: "subnet-0a1", availability_zone: "eu-west-1a" }, 4000],
      [{ cluster_id: "prod", subnet_id: "subnet-0b2", availability_zone: "eu-west-1b" }, 37],
    ],
  );
  // nothing can collide with aws-node's own series
  assert([...fams.keys()].every((n) => n.startsWith("cni_metrics_helper_")));
});

Deno.test("/metrics: OpenMetrics when the scraper asks for it", async () => {
  const handler = makeHandler({ status: twoCycles(), prometheus: true, now: () => T0, memory });
  const res = handler(
    new Request("http://x/metrics", {
      headers: { accept: "application/openmetrics-text;version=1.0.0,text/plain;q=0.5" },
    }),
  );
  assertEquals(
    res.headers.get("content-type"),
    "application/openmetrics-text; version=1.0.0; charset=utf-8",
  );
  const body = await res.text();
  assert(body.endsWith("# EOF\n"));
  assert(body.includes("# TYPE cni_metrics_helper_scrapes counter\n"));
  assert(body.includes('cni_metrics_helper_scrapes_total{result="ok"} 4\n'));
});

Deno.test("/healthz, /readyz states, 404 and 405", async () => {
  let now = T0;
  const s = new StatusSink({ version: "1", intervalSeconds: 30, now: () => now });
  const h = makeHandler({ status: s, prometheus: false, now: () => now, memory });
  const get = async (path: string, method = "GET") => {
    const r = h(new Request(`http://x${path}`, { method }));
    return [r.status, await r.text()];
  };
  assertEquals(await get("/healthz"), [200, "ok\n"]);
  assertEquals(await get("/readyz"), [
    503,
    "not ready: region and cluster id are not resolved yet\n",
  ]);
  s.identityResolved("c", "r");
  assertEquals(await get("/readyz"), [503, "not ready: no cycle has scraped a pod yet\n"]);
  s.observe(
    report({ snapshot: null, listError: "listing pods in kube-system: HTTP 403: forbidden" }),
  );
  assertEquals(await get("/readyz"), [
    503,
    "not ready: no cycle has scraped a pod yet: listing pods in kube-system: HTTP 403: forbidden\n",
  ]);
  s.observe(report({ snapshot: snapshot({}) }));
  assertEquals(await get("/readyz"), [200, "ok\n"]);
  now += 90_000;
  assertEquals(await get("/readyz"), [200, "ok\n"]);
  now += 1_000;
  assertEquals(await get("/readyz"), [
    503,
    "not ready: last cycle that scraped a pod ended 91 s ago (more than 3 intervals of 30 s)\n",
  ]);
  assertEquals((await get("/other"))[0], 404);
  assertEquals((await get("/metrics", "POST"))[0], 405);
});

Deno.test("the cycle histogram is cumulative and counts every cycle", () => {
  const body = renderMetrics(twoCycles(), { cluster: false, memory: memory(), openMetrics: false });
  assert(body.includes('cni_metrics_helper_cycle_duration_seconds_bucket{le="0.25"} 0\n'));
  assert(body.includes('cni_metrics_helper_cycle_duration_seconds_bucket{le="0.5"} 1\n'));
  assert(body.includes('cni_metrics_helper_cycle_duration_seconds_bucket{le="2.5"} 2\n'));
  assert(body.includes('cni_metrics_helper_cycle_duration_seconds_bucket{le="+Inf"} 2\n'));
  assert(body.includes("cni_metrics_helper_cycle_duration_seconds_sum 1.8\n"));
});

/** The helper serving its endpoints over HTTP, on a fake clock, after its first cycles. */
interface Serving {
  readonly base: string;
  readonly clock: FakeClock;
  /** /readyz after the first cycle. */
  readonly ready1: [number, string];
  /** /readyz and /metrics after the third. */
  readonly ready3: [number, string];
  readonly metrics3: string;
  /** Shuts the helper down; resolves with its exit code. */
  readonly stop: () => Promise<number>;
}

/**
 * Runs the helper with `--prometheus` over two pods (one answering, one
 * unreachable) and reads its endpoints after cycles 1 and 3; each cycle ends
 * in a sleep of the fake clock, when the endpoints are read.
 */
async function serveThreeCycles(w: World): Promise<Serving> {
  let n = 0;
  w.api.addPod("aws-node-a", {
    kind: "text",
    body: () => awsNodeText({ ...freshNode(1), assigned: 6, addReq: 10 + 4 * n++ }),
  });
  w.api.addPod("aws-node-b", { kind: "unreachable" });
  let base = "";
  const clock = new FakeClock();
  const stop = new AbortController();
  const running = w.run(["--prometheus", "--interval", "30", "--no-cloudwatch"], {
    shutdown: stop.signal,
    clock,
    extra: { onListen: (addr) => base = `http://127.0.0.1:${addr.port}` },
  });
  try {
    await clock.sleeping();
    const ready1 = await getText(`${base}/readyz`);
    clock.tick(30_000);
    await clock.sleeping();
    clock.tick(30_000);
    await clock.sleeping();
    const ready3 = await getText(`${base}/readyz`);
    const metrics3 = (await getText(`${base}/metrics`))[1];
    return {
      base,
      clock,
      ready1,
      ready3,
      metrics3,
      stop: () => (stop.abort(), running),
    };
  } catch (e) {
    stop.abort();
    await running;
    throw e;
  }
}

Deno.test(
  "the real endpoint over HTTP between real cycles: figures, own metrics, /readyz follows the API server",
  async () => {
    const w = await World.start();
    try {
      const { base, clock, ready1, ready3, metrics3, stop } = await serveThreeCycles(w);
      // the API server goes away: cycles 4 to 8 scrape the last known pods and fail
      w.api.writeKubeconfig(w.kubeconfig, {});
      await w.api.close();
      for (let i = 4; i <= 8; i++) {
        clock.tick(30_000);
        await clock.sleeping();
      }
      const ready8 = await getText(`${base}/readyz`);
      assertEquals(await stop(), 0);

      assertEquals(ready1, [200, "ok\n"]);
      assertEquals(ready3, [200, "ok\n"]);
      const fams = parseExposition(metrics3);
      const v = (name: string, labels: Record<string, string> = {}) =>
        fams.get(name)?.samples.find((s) => JSON.stringify(s.labels) === JSON.stringify(labels))
          ?.value;
      assertEquals(
        v("cni_metrics_helper_cluster_assigned_ip_addresses", { cluster_id: "test" }),
        6,
      );
      // increases of cycles 2 and 3: 4 + 4
      assertEquals(
        v("cni_metrics_helper_cluster_add_ip_req_count_total", { cluster_id: "test" }),
        8,
      );
      assertEquals(v("cni_metrics_helper_targets"), 2);
      assertEquals(v("cni_metrics_helper_scrapes_total", { result: "ok" }), 3);
      assertEquals(v("cni_metrics_helper_scrapes_total", { result: "http_error" }), 3);
      // cycle 3 ended at 60 s, cycle 8 at 210 s: more than 3 intervals without a scraped pod
      assertEquals(ready8[0], 503);
      assert(
        ready8[1].startsWith("not ready: last cycle that scraped a pod ended 150 s ago"),
        ready8[1],
      );
      // the pod set is the watch's last known one: both pods are tried and fail
      assert(ready8[1].includes("no pod scraped (2 found, 2 failed)"), ready8[1]);
    } finally {
      await w.close().catch(() => {});
    }
  },
);

Deno.test({
  name: `promtool check metrics passes on the real endpoint's body${PROMTOOL_NOTE}`,
  ignore: !HAVE_PROMTOOL,
  fn: async () => {
    const w = await World.start();
    try {
      const { metrics3, stop } = await serveThreeCycles(w);
      assertEquals(await stop(), 0);
      // the cluster figures are in it (--prometheus), not only the helper's own
      assert(metrics3.includes("cni_metrics_helper_cluster_assigned_ip_addresses{"), metrics3);
      const lint = await promtool(["check", "metrics"], metrics3);
      assertEquals(lint.code, 0, lint.out);
    } finally {
      await w.close();
    }
  },
});

async function getText(url: string): Promise<[number, string]> {
  const r = await fetch(url);
  return [r.status, await r.text()];
}

Deno.test("leader election: /metrics says who leads; /readyz is ready on a standby that reads the Lease", () => {
  const view = {
    identity: "helper-b_1a2b",
    isLeader: false,
    holder: "helper-a_9f8e",
    lastContactMs: T0 - 1_000 as number | undefined,
    leaderSinceMs: undefined as number | undefined,
    lastError: undefined as string | undefined,
    retryMs: 2_000,
  };
  const s = new StatusSink({ version: "1.2.3", intervalSeconds: 30, now: () => T0, leader: view });
  s.identityResolved("prod", "eu-west-1");
  const body = renderMetrics(s, {
    cluster: false,
    memory: { rss: 1, heapUsed: 1 },
    openMetrics: false,
  });
  assert(body.includes('cni_metrics_helper_leader{identity="helper-b_1a2b"} 0\n'), body);
  assert(body.includes('cni_metrics_helper_lease_holder_info{holder="helper-a_9f8e"} 1\n'), body);
  // a standby that read the Lease a second ago: ready, though it never ran a cycle
  assertEquals(s.notReadyReason(T0), undefined);
  // ... not when it has not reached the Lease for 3 retry periods
  view.lastContactMs = T0 - 7_000;
  view.lastError = "reading lease kube-system/cni-metrics-helper: HTTP 503";
  assertEquals(
    s.notReadyReason(T0),
    "standby: the Lease has not been read for 7 s: reading lease kube-system/cni-metrics-helper: " +
      "HTTP 503",
  );
  // a new leader has 3 intervals for its first cycle
  view.isLeader = true;
  view.leaderSinceMs = T0 - 20_000;
  assertEquals(s.notReadyReason(T0), undefined);
  assert(
    renderMetrics(s, { cluster: false, memory: { rss: 1, heapUsed: 1 }, openMetrics: false })
      .includes('cni_metrics_helper_leader{identity="helper-b_1a2b"} 1\n'),
  );
  assertEquals(
    s.notReadyReason(T0 + 80_000),
    "no cycle has scraped a pod yet",
  );
  // a term ends: the cluster figures of --prometheus are not served stale by a standby
  s.snapshot = {
    values: new Map([["assignIPAddresses", 3]]),
    podsScraped: 1,
    podsBaselined: 0,
  };
  const opts = { cluster: true, memory: { rss: 1, heapUsed: 1 }, openMetrics: false };
  assert(renderMetrics(s, opts).includes("cni_metrics_helper_cluster_assigned_ip_addresses"));
  s.termEnded();
  assert(!renderMetrics(s, opts).includes("cni_metrics_helper_cluster_"));
});

Deno.test(
  "/metrics: the aws-node pods' warm-pool settings as a gauge of pods per set of settings",
  async () => {
    const w = await World.start();
    try {
      w.api.textPod("aws-node-a", awsNodeText(freshNode(1)));
      w.api.addPod("aws-node-b", { kind: "text", body: () => awsNodeText(freshNode(2)) }, {
        env: { WARM_IP_TARGET: "5", MINIMUM_IP_TARGET: "10" },
      });
      w.api.addPod("aws-node-c", { kind: "text", body: () => awsNodeText(freshNode(3)) }, {
        env: { WARM_IP_TARGET: "5", MINIMUM_IP_TARGET: "10" },
      });
      let base = "";
      const clock = new FakeClock();
      const stop = new AbortController();
      const running = w.run(["--interval", "30", "--no-cloudwatch"], {
        shutdown: stop.signal,
        clock,
        extra: { onListen: (addr) => base = `http://127.0.0.1:${addr.port}` },
      });
      await clock.sleeping();
      const body = (await getText(`${base}/metrics`))[1];
      stop.abort();
      assertEquals(await running, 0);
      const fam = parseExposition(body).get("cni_metrics_helper_aws_node_warm_settings");
      assertEquals(fam?.samples.map((s) => [s.labels, s.value]), [
        [{ enable_prefix_delegation: "false", warm_eni_target: "1", warm_prefix_target: "1" }, 1],
        [{
          enable_prefix_delegation: "false",
          minimum_ip_target: "10",
          warm_eni_target: "1",
          warm_ip_target: "5",
          warm_prefix_target: "1",
        }, 2],
      ]);
    } finally {
      await w.close();
    }
  },
);
