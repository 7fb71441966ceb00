/**
 * `/metrics`, `/healthz`, `/readyz`: handlers without a socket (golden
 * bodies), then the real endpoint over HTTP after real cycles, linted by
 * Prometheus' own promtool.
 */

import { assert, assertEquals } from "./support/assert.ts";
import { World } from "./support/harness.ts";
import { awsNodeText, freshNode } from "./support/sim.ts";
import { makeHandler } from "../lib/server.ts";
import { HelperStatus } from "../lib/status.ts";
import { clusterMetricName, renderMetrics } from "../lib/render.ts";
import { parseExposition } from "../lib/expfmt.ts";
import { METRICS } from "../lib/catalog.ts";
import type { CycleReport } from "../lib/collector.ts";
import { ScrapeError } from "../lib/kube.ts";
import type { ClusterSnapshot } from "../lib/aggregate.ts";

const opts = { sanitizeOps: false, sanitizeResources: false };
/** Compares with `tests/golden/<name>`; `UPDATE_GOLDEN=1` rewrites it. */
function assertGolden(actual: string, name: string): void {
  const url = new URL(`./golden/${name}`, import.meta.url);
  if (Deno.env.get("UPDATE_GOLDEN") === "1") Deno.writeTextFileSync(url, actual);
  assertEquals(actual, Deno.readTextFileSync(url));
}
const T0 = Date.UTC(2026, 10, 28, 12, 0, 0);

function snapshot(values: Record<string, number>): ClusterSnapshot {
  return {
    values: new Map(METRICS.map((m) => [m.cwName, values[m.cwName] ?? 0])),
    podsScraped: 2,
    podsBaselined: 0,
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
    aborted: false,
    ...over,
  };
}

/** A status after two cycles: one with a timeout and a parse error. */
function twoCycles(): HelperStatus {
  const s = new HelperStatus("1.2.3", 30);
  s.clusterId = "prod";
  s.region = "eu-west-1";
  const target = { key: "k", name: "n", namespace: "kube-system", node: "x", running: true };
  s.observe(
    report({
      snapshot: snapshot({ assignIPAddresses: 10, addReqCount: 0, awsAPILatency: 250 }),
      failures: [{ target, error: new ScrapeError("timeout", "t") }],
    }),
    T0 + 300,
  );
  s.observe(
    report({
      durationMs: 1500,
      snapshot: snapshot({ assignIPAddresses: 12, addReqCount: 5, awsAPILatency: 40 }),
      failures: [{ target, error: new ScrapeError("parse", "p") }],
    }),
    T0 + 31_500,
  );
  s.publish = {
    stats: { requestsOk: 1, requestsFailed: 2, datumsSent: 42, datumsDropped: 0 },
    pending: 21,
  };
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
  const s = new HelperStatus("1", 30);
  let now = T0;
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
  s.clusterId = "c";
  s.region = "r";
  assertEquals(await get("/readyz"), [503, "not ready: no cycle has scraped a pod yet\n"]);
  s.observe(
    report({ snapshot: null, listError: "listing pods in kube-system: HTTP 403: forbidden" }),
    now,
  );
  assertEquals(await get("/readyz"), [
    503,
    "not ready: no cycle has scraped a pod yet: listing pods in kube-system: HTTP 403: forbidden\n",
  ]);
  s.observe(report({ snapshot: snapshot({}) }), now);
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

async function promtool(body: string): Promise<{ code: number; out: string }> {
  let cmd;
  try {
    cmd = new Deno.Command("promtool", {
      args: ["check", "metrics"],
      stdin: "piped",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
  } catch (e) {
    throw new Error(
      `promtool not found (${e}): install Debian's prometheus package (.ci/run does)`,
    );
  }
  const w = cmd.stdin.getWriter();
  await w.write(new TextEncoder().encode(body));
  await w.close();
  const o = await cmd.output();
  return {
    code: o.code,
    out: new TextDecoder().decode(o.stdout) + new TextDecoder().decode(o.stderr),
  };
}

Deno.test(
  "the real endpoint over HTTP after real cycles; promtool check metrics passes; /readyz follows the API server",
  opts,
  async () => {
    const w = await World.start();
    try {
      let n = 0;
      w.api.addPod("aws-node-a", {
        kind: "text",
        body: () => awsNodeText({ ...freshNode(1), assigned: 6, addReq: 10 + 4 * n++ }),
      });
      w.api.addPod("aws-node-b", { kind: "unreachable" });
      let base = "";
      const stop = new AbortController();
      const seen: { cycle: number; ready: [number, string]; metrics: string }[] = [];
      let cycles = 0;
      const readyBefore: [number, string][] = [];
      const code = await w.run(["--prometheus", "--interval", "0.3", "--scrape-timeout", "0.2"], {
        shutdown: stop.signal,
        extra: {
          onListen: (addr) => {
            base = `http://127.0.0.1:${addr.port}`;
          },
        },
        onCycle: () => {
          cycles++;
          const i = cycles;
          // read the endpoints from outside the cycle, over HTTP
          setTimeout(async () => {
            if (i === 1) readyBefore.push(await getText(`${base}/readyz`));
            if (i === 3) {
              seen.push({
                cycle: i,
                ready: await getText(`${base}/readyz`),
                metrics: (await getText(`${base}/metrics`))[1],
              });
              // the API server goes away
              w.api.writeKubeconfig(w.kubeconfig, {});
              await w.api.close();
            }
            if (i === 8) {
              seen.push({ cycle: i, ready: await getText(`${base}/readyz`), metrics: "" });
              stop.abort();
            }
          }, 0);
        },
      });
      assertEquals(code, 0);
      assertEquals(readyBefore, [[200, "ok\n"]]);
      const at3 = seen[0];
      assert(at3 !== undefined);
      assertEquals(at3.ready, [200, "ok\n"]);
      const fams = parseExposition(at3.metrics);
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
      assertEquals(v("cni_metrics_helper_cloudwatch_datums_published_total"), 42);
      const lint = await promtool(at3.metrics);
      assertEquals(lint.code, 0, lint.out);
      const at8 = seen[1];
      assert(at8 !== undefined);
      assertEquals(at8.ready[0], 503);
      assert(
        at8.ready[1].startsWith("not ready: last cycle that scraped a pod ended"),
        at8.ready[1],
      );
      assert(
        at8.ready[1].includes("cannot reach the API server") ||
          at8.ready[1].includes("listing pods"),
        at8.ready[1],
      );
    } finally {
      await w.close().catch(() => {});
    }
  },
);

async function getText(url: string): Promise<[number, string]> {
  const r = await fetch(url);
  return [r.status, await r.text()];
}
