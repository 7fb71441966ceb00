/**
 * The cycle, the scheduler and the sinks in milliseconds of real time: an
 * in-memory pod source and scraper, the fake clock, fixture text and exact
 * numbers. The CloudWatch sink goes through the real SDK to the local
 * CloudWatch (or a server that never answers).
 */

import { PER_CYCLE, PER_CYCLE_NO_HEADROOM as N } from "../support/figures.ts";
import { assert, assertEquals } from "../support/assert.ts";
import { FakeClock } from "../support/fake_clock.ts";
import { FakeCloudWatch, UNAVAILABLE } from "../support/fake_cloudwatch.ts";
import { HangingServer } from "../support/fake_aws.ts";
import { TEST_CREDENTIALS } from "../support/harness.ts";
import { timedOut } from "../../lib/base/clock.ts";
import { Collector } from "../../lib/sources/aws_node.ts";
import { METRICS } from "../../lib/model/figures.ts";
import { CycleLog } from "../../lib/outputs/cycle_log.ts";
import { CloudWatchSink } from "../../lib/outputs/cloudwatch.ts";
import {
  cloudWatchClient,
  CloudWatchPublisher,
  DryRunPublisher,
} from "../../lib/aws/cloudwatch_api.ts";
import { setupLogging } from "../../lib/base/logging.ts";
import type { PodListing, TargetLister } from "../../lib/kube/pod_watcher.ts";
import { flushOutputs, runLoop, runOnce, type SchedulerDeps } from "../../lib/app/scheduler.ts";
import { ScrapeError, type Scraper } from "../../lib/scrape/scraper.ts";
import { StatusSink } from "../../lib/outputs/status.ts";
import type { CycleReport, Target } from "../../lib/model/report.ts";

const fixture = Deno.readTextFileSync(new URL("../fixtures/aws-node-v1.data", import.meta.url));
const withAdds = (n: number) =>
  fixture.replace(/^awscni_add_ip_req_count 100$/m, `awscni_add_ip_req_count ${n}`);

function target(name: string, running = true): Target {
  return {
    key: `kube-system/${name}/uid-${name}`,
    name,
    namespace: "kube-system",
    node: `node-${name}`,
    podIP: "10.0.0.1",
    running,
  };
}

/** What an in-memory pod answers: text, a failure, or nothing until its signal aborts. */
type Answer = string | ScrapeError | "hang";

/** An in-memory cluster: the pod list and each pod's answer, changeable between cycles. */
class Pods implements TargetLister, Scraper {
  targets: Target[] = [];
  answers = new Map<string, Answer>();
  listAnswer: "ok" | "hang" = "ok";
  /** Resolves the scrape waiters once `n` scrapes have started. */
  started = 0;
  #waiters: { n: number; resolve: () => void }[] = [];

  list(signal: AbortSignal): Promise<PodListing> {
    if (this.listAnswer === "ok") {
      return Promise.resolve({ targets: [...this.targets], stale: undefined });
    }
    return new Promise((_, reject) =>
      signal.addEventListener("abort", () => reject(signal.reason), { once: true })
    );
  }

  prepare(): Promise<void> {
    return Promise.resolve();
  }

  scrape(t: Target, signal: AbortSignal): Promise<string> {
    this.started++;
    for (const w of this.#waiters.filter((w) => this.started >= w.n)) w.resolve();
    const a = this.answers.get(t.name) ?? "hang";
    if (a === "hang") {
      return new Promise((_, reject) =>
        signal.addEventListener(
          "abort",
          () => reject(new ScrapeError(timedOut(signal) ? "timeout" : "aborted", "stopped")),
          { once: true },
        )
      );
    }
    return a instanceof ScrapeError ? Promise.reject(a) : Promise.resolve(a);
  }

  /** Resolves once `n` scrapes have started in total. */
  scrapesStarted(n: number): Promise<void> {
    if (this.started >= n) return Promise.resolve();
    return new Promise((resolve) => this.#waiters.push({ n, resolve }));
  }
}

function world(opts: { timeout?: number; concurrency?: number } = {}) {
  const clock = new FakeClock();
  const pods = new Pods();
  const collector = new Collector(
    { lister: pods, scraper: pods, clock },
    { scrapeTimeoutSeconds: opts.timeout ?? 10, scrapeConcurrency: opts.concurrency ?? 32 },
  );
  return { clock, pods, collector };
}

async function captureLogs(): Promise<Record<string, unknown>[]> {
  const out: Record<string, unknown>[] = [];
  await setupLogging("debug", "json", (l) => out.push(JSON.parse(l)));
  return out;
}

Deno.test("a cycle: running pods scraped and summed, the rest counted, failures by kind", async () => {
  const { pods, collector } = world();
  pods.targets = [
    target("a"),
    target("b"),
    target("pending", false),
    target("bad"),
    target("gone"),
  ];
  pods.answers.set("a", withAdds(100));
  pods.answers.set("b", withAdds(40));
  pods.answers.set("bad", "awscni_ip_max 15\nawscni_assigned_ip_addresses one\n");
  pods.answers.set("gone", new ScrapeError("http", "HTTP 503: no endpoints", 503));
  const first = await collector.collect(new AbortController().signal);
  assertEquals([first.found, first.notRunning, first.scraped], [5, 1, 2]);
  assertEquals(
    first.failures.map((f) => [f.target.name, f.error.kind, f.error.message]),
    [
      [
        "bad",
        "parse",
        'metrics text is malformed at line 2: invalid value "one" for metric awscni_assigned_ip_addresses',
      ],
      ["gone", "http", "HTTP 503: no endpoints"],
    ],
  );
  // fixture: assigned 1, ip_max 15 on each pod; counters are baselines in the first cycle
  assertEquals(first.snapshot?.values.get("assignIPAddresses"), 2);
  assertEquals(first.snapshot?.values.get("maxIPAddresses"), 30);
  assertEquals(first.snapshot?.values.get("addReqCount"), 0);
  assertEquals(first.publish, true);
  pods.answers.set("a", withAdds(107));
  pods.answers.set("b", withAdds(45));
  const second = await collector.collect(new AbortController().signal);
  assertEquals(second.snapshot?.values.get("addReqCount"), 12);
});

Deno.test("a hung pod fails as a timeout when the clock passes --scrape-timeout; the rest is in the report", async () => {
  const { clock, pods, collector } = world({ timeout: 10 });
  pods.targets = [target("ok"), target("hung")];
  pods.answers.set("ok", fixture);
  const cycle = collector.collect(new AbortController().signal);
  await pods.scrapesStarted(2);
  clock.tick(9_999);
  clock.tick(1);
  const r = await cycle;
  assertEquals(r.scraped, 1);
  assertEquals(r.failures.map((f) => [f.target.name, f.error.kind, f.error.message]), [
    ["hung", "timeout", "timed out after 10 s"],
  ]);
  assertEquals(r.durationMs, 10_000);
});

Deno.test("shutdown in mid-cycle: an aborted report, and the next cycle diffs against the last good values", async () => {
  const { pods, collector } = world();
  pods.targets = [target("a"), target("hung")];
  pods.answers.set("a", withAdds(100));
  pods.answers.set("hung", withAdds(0));
  await collector.collect(new AbortController().signal);
  pods.answers.set("a", withAdds(150));
  pods.answers.set("hung", "hang");
  const stop = new AbortController();
  const cycle = collector.collect(stop.signal);
  await pods.scrapesStarted(4);
  stop.abort();
  const r = await cycle;
  assertEquals([r.aborted, r.snapshot], [true, null]);
  assertEquals(r.failures.map((f) => f.error.kind), ["aborted"]);
  pods.answers.set("a", withAdds(160));
  pods.answers.set("hung", withAdds(1));
  const next = await collector.collect(new AbortController().signal);
  // 100 -> 160 and 0 -> 1: the interrupted sample counted nothing and lost nothing
  assertEquals(next.snapshot?.values.get("addReqCount"), 61);
});

Deno.test("hung pods cost only themselves: 500 ms of a slot, then the slow lane; next cycle they start there", async () => {
  const { clock, pods, collector } = world({ timeout: 10, concurrency: 2 });
  // the 10 hung pods are listed first: with a fixed pool of 2 they would hold
  // both slots for 5 x 10 s before any healthy pod was scraped
  for (let i = 0; i < 10; i++) {
    pods.targets.push(target(`hung${i}`));
    pods.answers.set(`hung${i}`, "hang");
  }
  for (let i = 0; i < 20; i++) {
    pods.targets.push(target(`ok${i}`));
    pods.answers.set(`ok${i}`, withAdds(i));
  }
  const first = collector.collect(new AbortController().signal);
  for (let round = 1; round <= 5; round++) {
    await pods.scrapesStarted(2 * round);
    clock.tick(500); // the two in the fast slots move to the slow lane
  }
  // 2.5 s in: every healthy pod is done
  await pods.scrapesStarted(30);
  clock.tick(9_500);
  const r1 = await first;
  assertEquals([r1.scraped, r1.failures.length, r1.durationMs], [20, 10, 12_000]);
  assert(r1.failures.every((f) => f.error.kind === "timeout"));

  // cycle 2: the 10 start in the slow lane at once, the healthy 20 with no time passing
  const second = collector.collect(new AbortController().signal);
  await pods.scrapesStarted(60);
  clock.tick(10_000);
  const r2 = await second;
  assertEquals([r2.scraped, r2.failures.length, r2.durationMs], [20, 10, 10_000]);
  // a pod that answers again leaves the slow lane
  pods.answers.set("hung0", withAdds(1));
  const third = collector.collect(new AbortController().signal);
  await pods.scrapesStarted(90);
  clock.tick(10_000);
  assertEquals((await third).failures.length, 9);
});

Deno.test("the cycle log: 20 failed pods one by one, the rest in one line by kind", async () => {
  const logs = await captureLogs();
  const failures = Array.from({ length: 25 }, (_, i) => ({
    target: target(`p${i}`),
    error: new ScrapeError(i < 22 ? "timeout" : "http", "x"),
  }));
  const base: CycleReport = {
    startedAt: new Date(0),
    durationMs: 12.4,
    found: 26,
    notRunning: 0,
    scraped: 0,
    failures,
    snapshot: null,
    listError: undefined,
    listStale: undefined,
    aborted: false,
    publish: true,
  };
  new CycleLog().observe(base);
  const warns = logs.filter((l) => l["level"] === "warning").map((l) => l["msg"]);
  assertEquals(warns.length, 21);
  assertEquals(warns[0], "scrape of pod kube-system/p0 on node node-p0 failed (timeout): x");
  assertEquals(warns[20], "5 more pods failed this cycle (timeout: 22, http: 3)");
  assertEquals(
    logs.filter((l) => l["level"] === "error").map((l) => l["msg"]),
    ["cycle: 26 pods found, none scraped (25 failed, 0 not running): nothing published for this cycle"],
  );
  logs.length = 0;
  new CycleLog(2).observe({ ...base, aborted: true });
  assertEquals(logs, []);
  // no pod at all: the line names where they were looked for
  new CycleLog(20, undefined, { namespace: "kube-sytem", selector: "k8s-app=aws-node" }).observe({
    ...base,
    found: 0,
    failures: [],
  });
  assertEquals(logs.map((l) => l["msg"]), [
    "cycle: no pod matches --selector k8s-app=aws-node in --namespace kube-sytem: nothing " +
    "published for this cycle (check both: aws-node runs in kube-system with k8s-app=aws-node " +
    "unless renamed)",
  ]);
});

Deno.test("the cycle line: pods and IP figures once, under 400 bytes; every figure at debug", async () => {
  const lines: string[] = [];
  await setupLogging("debug", "json", (l) => lines.push(l));
  const values = new Map(METRICS.map((m, i) => [m.cwName, 1_000_000 + i]));
  values.set("assignIPAddresses", 4123);
  values.set("totalIPAddresses", 9000);
  values.set("maxIPAddresses", 14500);
  values.set("eniAllocated", 310);
  values.set("eniMaxAvailable", 1500);
  new CycleLog().observe({
    startedAt: new Date(0),
    durationMs: 1234.6,
    found: 5000,
    notRunning: 3,
    scraped: 4990,
    failures: Array.from({ length: 7 }, (_, i) => ({
      target: target(`p${i}`),
      error: new ScrapeError("timeout", "x"),
    })),
    snapshot: { values, podsScraped: 4990, podsBaselined: 2 },
    listError: undefined,
    listStale: undefined,
    aborted: false,
    publish: true,
  });
  const info = lines.map((l) => JSON.parse(l)).filter((r) => r.level === "info");
  assertEquals(info.length, 1);
  const line = lines.find((l) => l.includes('"level":"info"')) as string;
  assert(line.length < 400, `${line.length} bytes: ${line}`);
  assertEquals(
    Object.keys(info[0]).sort(),
    ["level", "logger", "msg", "time"],
  );
  assertEquals(
    info[0].msg,
    "cycle: 4990 of 5000 pods scraped (7 failed, 3 not running) in 1235 ms; " +
      "IPs 4123 assigned of 9000 (max 14500), ENIs 310 of 1500",
  );
  // with headroom: the node with the least, still under 400 bytes with a long node name
  lines.length = 0;
  new CycleLog().observe({
    startedAt: new Date(0),
    durationMs: 10,
    found: 2,
    notRunning: 0,
    scraped: 2,
    failures: [],
    snapshot: {
      values,
      podsScraped: 2,
      podsBaselined: 0,
      headroom: {
        min: 3,
        node: "ip-10-100-200-250.eu-central-1.compute.internal",
        nearLimit: 1,
        threshold: 10,
        nodes: 2,
      },
    },
    listError: undefined,
    listStale: undefined,
    aborted: false,
    publish: true,
  });
  const withRoom = lines.find((l) => l.includes('"level":"info"')) as string;
  assert(withRoom.length < 400, `${withRoom.length} bytes: ${withRoom}`);
  assert(
    JSON.parse(withRoom).msg.endsWith(
      "; least IP headroom 3 on node ip-10-100-200-250.eu-central-1.compute.internal, " +
        "1 nodes under 10",
    ),
    withRoom,
  );
  const debug = lines.map((l) => JSON.parse(l)).find((r) => r.msg.startsWith("cycle figures"));
  assertEquals(debug.msg.split(": ")[0], "cycle figures (0 pods baselined this cycle)");
  // every figure of the table with a value: the default ones (with headroom)
  assertEquals(debug.msg.split(": ")[1].split(" ").length, PER_CYCLE);
  assert(debug.msg.includes(" minNodeIPHeadroom=3 nodesNearIPLimit=1"), debug.msg);
});

function reportAt(clock: FakeClock, values: Record<string, number>): CycleReport {
  return {
    startedAt: new Date(clock.now()),
    durationMs: 0,
    found: 1,
    notRunning: 0,
    scraped: 1,
    failures: [],
    snapshot: { values: new Map(Object.entries(values)), podsScraped: 1, podsBaselined: 0 },
    listError: undefined,
    listStale: undefined,
    aborted: false,
    publish: true,
  };
}

Deno.test("the cycle log says when the pod set is the watch's last known one", async () => {
  const logs = await captureLogs();
  const { pods, collector } = world();
  pods.targets = [target("a")];
  pods.answers.set("a", withAdds(1));
  const r = await collector.collect(new AbortController().signal);
  new CycleLog().observe({ ...r, listStale: "the pod watch is down since X (HTTP 503)" });
  assertEquals(
    logs.filter((l) => l["level"] === "warning").map((l) => l["msg"]),
    ["pods: the pod watch is down since X (HTTP 503)"],
  );
});

Deno.test("the scheduler: a cycle longer than the interval is logged and the next starts at once", async () => {
  const logs = await captureLogs();
  const clock = new FakeClock();
  const stop = new AbortController();
  const took = [40_000, 5_000];
  const seen: CycleReport[] = [];
  const deps: SchedulerDeps = {
    clock,
    outputs: [{ name: "t", observe: (r) => seen.push(r) }],
    collect: () => {
      const t0 = clock.now();
      clock.tick(took.shift() ?? 0);
      return Promise.resolve({ ...reportAt(clock, {}), durationMs: clock.now() - t0 });
    },
  };
  const loop = runLoop(deps, 30, stop.signal);
  // cycle 1 overran: no sleep; cycle 2 took 5 s: it sleeps the other 25
  assertEquals(await clock.sleeping(), 25_000);
  assertEquals(seen.length, 2);
  assertEquals(
    logs.filter((l) => l["level"] === "warning").map((l) => l["msg"]),
    ["cycle took 40000 ms, longer than the 30000 ms interval; next cycle starts now"],
  );
  stop.abort();
  await loop;
  assertEquals(clock.sleepers, 0);
});

Deno.test("the aligned scheduler (leader election): cycles on the interval's boundaries, the first after now", async () => {
  const clock = new FakeClock(Date.UTC(2026, 10, 28, 12, 0, 7)); // 7 s into a 30 s slot
  const stop = new AbortController();
  const took = [1_000, 45_000, 2_000];
  const starts: number[] = [];
  const deps: SchedulerDeps = {
    clock,
    outputs: [],
    collect: () => {
      starts.push((clock.now() - Date.UTC(2026, 10, 28, 12, 0, 0)) / 1000);
      const t0 = clock.now();
      clock.tick(took.shift() ?? 0);
      return Promise.resolve({ ...reportAt(clock, {}), durationMs: clock.now() - t0 });
    },
  };
  const loop = runLoop(deps, 30, stop.signal, { aligned: true });
  // not in the slot that began at 0 s (a previous leader may have used it): at 30 s
  assertEquals(await clock.sleeping(), 23_000);
  clock.tick(23_000);
  // cycle at 30 took 1 s: sleeps to 60; the one at 60 took 45 s: the next boundary is 120
  assertEquals(await clock.sleeping(), 29_000);
  clock.tick(29_000);
  assertEquals(await clock.sleeping(), 15_000);
  clock.tick(15_000);
  await clock.sleeping();
  assertEquals(starts, [30, 60, 120]);
  stop.abort();
  await loop;
});

Deno.test("--once: the baseline sample goes to the sinks unpublished, the second one published", async () => {
  const clock = new FakeClock();
  const lines: string[] = [];
  const cw = new CloudWatchSink(new DryRunPublisher((l) => lines.push(l)), {
    clusterId: "c",
    maxDatums: 100,
    clock,
    intervalSeconds: 30,
  });
  const status = new StatusSink({
    version: "1",
    intervalSeconds: 30,
    now: () => clock.now(),
    reporters: [cw],
  });
  let n = 0;
  const deps: SchedulerDeps = {
    clock,
    outputs: [status, cw],
    collect: () => Promise.resolve(reportAt(clock, { assignIPAddresses: ++n })),
  };
  const once = runOnce(deps, 30, new AbortController().signal);
  assertEquals(await clock.sleeping(), 30_000);
  clock.tick(30_000);
  const { second: report } = await once;
  assertEquals(report?.snapshot?.values.get("assignIPAddresses"), 2);
  assertEquals(cw.pending, N);
  const outcomes = await flushOutputs(deps.outputs, new AbortController().signal);
  assertEquals(outcomes.find((o) => o.name === "cloudwatch")?.outcome, {
    sent: N,
    pending: 0,
    error: undefined,
  });
  assertEquals(lines.length, 1);
  const datums = JSON.parse(lines[0] as string).MetricData;
  assertEquals(
    datums.find((d: { MetricName: string }) => d.MetricName === "assignIPAddresses").Value,
    2,
  );
  assertEquals(status.cycleCount, 2);
});

/** A CloudWatch sink on a fake clock, publishing through the real SDK to `endpoint`. */
function sdkSink(
  endpoint: string,
  extra: { maxAttempts?: number; requestTimeoutMs?: number } = {},
) {
  const client = cloudWatchClient({
    region: "us-test-1",
    endpoint,
    credentials: TEST_CREDENTIALS,
    ...extra,
  });
  const clock = new FakeClock();
  const cw = new CloudWatchSink(new CloudWatchPublisher(client), {
    clusterId: "c",
    maxDatums: 1000,
    clock,
    intervalSeconds: 30,
  });
  return { client, clock, cw };
}

Deno.test("the CloudWatch sink publishes every second cycle through the SDK, in the background", async () => {
  const cwServer = FakeCloudWatch.start();
  const { client, clock, cw } = sdkSink(cwServer.url);
  try {
    cw.observe(reportAt(clock, { assignIPAddresses: 1 }));
    assertEquals([cw.pending, cwServer.requests.length], [N, 0]);
    cw.observe(reportAt(clock, { assignIPAddresses: 2 }));
    // the second cycle started a publish; flush waits for it and finds nothing left
    assertEquals(await cw.flush(new AbortController().signal), {
      sent: 2 * N,
      pending: 0,
      error: undefined,
    });
    assertEquals(cwServer.requests.map((r) => (r.body["MetricData"] as unknown[]).length), [2 * N]);
    assertEquals(cw.stats.datumsSent, 2 * N);
  } finally {
    client.destroy();
    await cwServer.close();
  }
});

Deno.test("the shutdown flush gives up at its deadline, keeping the datums it could not send", async () => {
  const hanging = new HangingServer();
  const { client, clock, cw } = sdkSink(hanging.url, { maxAttempts: 1 });
  try {
    cw.observe(reportAt(clock, { assignIPAddresses: 1 }));
    const stop = new AbortController();
    const deadline = clock.timeout(8_000);
    const flushing = cw.flush(AbortSignal.any([deadline, stop.signal]));
    clock.tick(8_000);
    assertEquals(await flushing, { sent: 0, pending: N, error: "the flush deadline passed" });
    assert(deadline.aborted);
  } finally {
    client.destroy();
    hanging.close();
  }
});

Deno.test("a CloudWatch endpoint that accepts and never answers fails each attempt at its request timeout, counted at once", async () => {
  const logs = await captureLogs();
  const hanging = new HangingServer();
  const { client, clock, cw } = sdkSink(hanging.url, { maxAttempts: 2, requestTimeoutMs: 300 });
  try {
    cw.observe(reportAt(clock, { assignIPAddresses: 1 }));
    // the SDK's own timer (real time) ends the attempt; the flush reports it, keeping the datums
    const flushing = cw.flush(new AbortController().signal);
    // the retry's connection: the first attempt has failed, and own metrics say so already
    await hanging.connected(2);
    const stats = cw.stats;
    assertEquals([stats.attemptsFailed, stats.requestsFailed], [1, 0]);
    const r = await flushing;
    assertEquals([r.sent, r.pending], [0, N]);
    assert(r.error?.includes("300 ms requestTimeout"), r.error);
    assertEquals([stats.attemptsOk, stats.attemptsFailed, stats.requestsFailed], [0, 2, 1]);
    // the failure said once, ours, without the SDK's "@smithy/... - [ERROR]" prefix; the last
    // flush (shutdown, --once) claims no next publish
    assertEquals(logs.filter((l) => l["level"] === "error").map((l) => l["msg"]), [
      "PutMetricData failed: TimeoutError: a request has exceeded the configured 300 ms " +
      `requestTimeout: after 2 attempt(s); ${N} datums not sent`,
    ]);
  } finally {
    client.destroy();
    hanging.close();
  }
});

Deno.test("/readyz: not ready once CloudWatch publishes have failed for more than 3 publish periods", async () => {
  const cwServer = FakeCloudWatch.start();
  const { client, clock, cw } = sdkSink(cwServer.url, { maxAttempts: 1 });
  try {
    const status = new StatusSink({
      version: "1",
      intervalSeconds: 30,
      now: () => clock.now(),
      reporters: [cw],
    });
    status.identityResolved("c", "us-test-1");
    const live = new AbortController().signal;
    cwServer.outage = UNAVAILABLE;
    const failingFrom = clock.now();
    for (let i = 0; i < 7; i++) {
      const r = reportAt(clock, { assignIPAddresses: 1 });
      status.observe(r);
      cw.observe(r);
      // the publish of every 2nd cycle, awaited here instead of in the background
      if (i % 2 === 0) await cw.flush(live);
      clock.tick(30_000);
    }
    // 210 s of failures: more than 3 periods of 60 s
    assertEquals(clock.now() - failingFrom, 210_000);
    const reason = status.notReadyReason(clock.now()) ?? "";
    assert(
      reason.startsWith(
        "CloudWatch publishes have failed for 210 s (more than 3 publish periods " +
          "of 60 s): ",
      ),
      reason,
    );
    assert(reason.includes("ServiceUnavailable"), reason);
    assertEquals(status.notReadyReason(failingFrom + 150_000), undefined);
    cwServer.outage = undefined;
    const ok = await cw.flush(live);
    assertEquals([ok.error, ok.pending], [undefined, 0]);
    assertEquals(cw.failingSinceMs, undefined);
    status.observe(reportAt(clock, { assignIPAddresses: 1 }));
    assertEquals(status.notReadyReason(clock.now()), undefined);
  } finally {
    client.destroy();
    await cwServer.close();
  }
});

Deno.test("the SDK's own log lines come through our logger: one debug line per request, its id at trace", async () => {
  const logs = await captureLogs();
  const cwServer = FakeCloudWatch.start();
  const { client, clock, cw } = sdkSink(cwServer.url);
  try {
    cw.observe(reportAt(clock, { assignIPAddresses: 1 }));
    assertEquals((await cw.flush(new AbortController().signal)).sent, N);
    const sdk = logs.filter((l) =>
      l["level"] === "debug" && String(l["msg"]).startsWith("CloudWatchClient ")
    );
    assertEquals(sdk.length, 1, JSON.stringify(logs));
    // said once: the message, not also a property
    assertEquals(Object.keys(sdk[0] ?? {}), ["time", "level", "logger", "msg"]);
    assertEquals(sdk[0]?.["level"], "debug");
    assertEquals(sdk[0]?.["msg"], "CloudWatchClient PutMetricDataCommand: HTTP 200, 1 attempt(s)");
    // at trace the same line carries the request id
    const traced: Record<string, unknown>[] = [];
    await setupLogging("trace", "json", (l) => traced.push(JSON.parse(l)));
    cw.observe(reportAt(clock, { assignIPAddresses: 2 }));
    assertEquals((await cw.flush(new AbortController().signal)).sent, N);
    const summary = traced.filter((l) => String(l["msg"]).startsWith("CloudWatchClient "));
    assertEquals(summary.length, 1, JSON.stringify(traced));
    assert(
      /^CloudWatchClient PutMetricDataCommand: HTTP 200, 1 attempt\(s\), request id \S+$/.test(
        String(summary[0]?.["msg"]),
      ),
      String(summary[0]?.["msg"]),
    );
  } finally {
    client.destroy();
    await cwServer.close();
  }
});
