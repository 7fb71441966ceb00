/**
 * The job end to end in-process, through the real client-node (HTTPS fake
 * API server with its own CA and a bearer token) and the real AWS SDK (a
 * local CloudWatch endpoint).
 */

import { assert, assertEquals } from "../support/assert.ts";
import { byTimestamp, TEST_CREDENTIALS, withWorld, World } from "../support/harness.ts";
import { FakeEc2 } from "../support/fake_aws.ts";
import { sdkSubnetEc2 } from "../../lib/aws/sdk_clients.ts";
import type { Runtime } from "../../lib/app/app.ts";
import { THROTTLE, UNAVAILABLE } from "../support/fake_cloudwatch.ts";
import { awsNodeText, freshNode, type NodeFigures } from "../../tools/sim.ts";
import { DEFAULT_FIGURES, PER_CYCLE } from "../support/figures.ts";

/** Datums a cycle: the 21 metrics and the two headroom figures (on by default). */

import { FakeClock } from "../support/fake_clock.ts";
import { type Clock, systemClock } from "../../lib/base/clock.ts";
import type { CycleReport } from "../../lib/model/report.ts";

const opts = {};

/** A pod whose text follows a script: one figures object per cycle. */
function scripted(w: World, name: string, script: Partial<NodeFigures>[], cycle: () => number) {
  w.api.addPod(name, {
    kind: "text",
    body: () => {
      const step = script[Math.min(cycle(), script.length - 1)] ?? {};
      return awsNodeText({ ...freshNode(1000), ...step });
    },
  });
}

/**
 * Runs until `n` cycles ended, then shuts down; returns the exit code and
 * reports. Time runs 10 times faster (`--interval 2` is 200 ms) unless
 * `clock` is given.
 */
async function runCycles(
  w: World,
  n: number,
  args: string[],
  between?: (i: number) => void,
  clock?: Clock,
  extra?: Partial<Runtime>,
) {
  const stop = new AbortController();
  const reports: CycleReport[] = [];
  const code = await w.run(["--interval", "2", ...args], {
    shutdown: stop.signal,
    ...(clock ? { clock } : {}),
    ...(extra ? { extra } : {}),
    onCycle: (r) => {
      reports.push(r);
      between?.(reports.length);
      if (reports.length >= n) stop.abort();
    },
  });
  return { code, reports };
}

/**
 * Runs `n` cycles of `--interval 30` on a {@linkcode FakeClock}: time moves
 * (one interval) only once the scheduler sleeps, so no scrape, list or
 * publish timeout can fire however slow this machine is.
 */
async function runDriven(
  w: World,
  n: number,
  args: string[],
  between?: (i: number) => void,
) {
  const clock = new FakeClock();
  const stop = new AbortController();
  const reports: CycleReport[] = [];
  const running = w.run(["--interval", "30", ...args], {
    shutdown: stop.signal,
    clock,
    onCycle: (r) => {
      reports.push(r);
      between?.(reports.length);
      if (reports.length >= n) stop.abort();
    },
  });
  let done = false;
  void running.finally(() => done = true);
  while (!done) {
    await Promise.race([clock.sleeping(), running]);
    if (!done) clock.tick(30_000);
  }
  return { code: await running, reports };
}

Deno.test(
  "several cycles: exact published sums, restart, node joining and leaving",
  opts,
  withWorld(async (w) => {
    let cycle = 0;
    const now = () => cycle;
    // a: 100 -> 110 -> 130 -> restart (4) -> 10
    scripted(w, "aws-node-a", [
      { addReq: 100, assigned: 5 },
      { addReq: 110, assigned: 6 },
      { addReq: 130, assigned: 7 },
      { addReq: 4, assigned: 2, startTime: 2000 },
      { addReq: 10, assigned: 3, startTime: 2000 },
    ], now);
    // b: 50 -> 55, then leaves after cycle 2
    scripted(w, "aws-node-b", [{ addReq: 50, assigned: 1 }, { addReq: 55, assigned: 1 }], now);
    // c joins in cycle 3 with 500 (a baseline: nothing counted), then 501, 503
    const c: Partial<NodeFigures>[] = [{}, {}, { addReq: 500 }, { addReq: 501 }, { addReq: 503 }];
    const { code, reports } = await runCycles(w, 5, [], (i) => {
      cycle = i;
      if (i === 2) {
        w.api.removePod("aws-node-b");
        scripted(w, "aws-node-c", c, now);
      }
    });
    assertEquals(code, 0);
    assertEquals(reports.map((r) => r.scraped), [2, 2, 2, 2, 2]);
    const sent = byTimestamp(w.cw.datums);
    assertEquals(sent.size, 5);
    const series = (name: string) => [...sent.values()].map((m) => m.get(name));
    assertEquals(series("addReqCount"), [0, 15, 20, 4 + 1, 6 + 2]);
    assertEquals(series("assignIPAddresses"), [6, 7, 7 + 3, 2 + 3, 3 + 3]);
    assertEquals(series("maxIPAddresses"), [58, 58, 58, 58, 58]);
    // headroom = 29 - assigned per node: a 24, 23, 22, 27, 26; b 28, 28; c 26, 26, 26
    assertEquals(series("minNodeIPHeadroom"), [24, 23, 22, 26, 26]);
    assertEquals(series("nodesNearIPLimit"), [0, 0, 0, 0, 0]);
    assertEquals(reports.map((r) => r.snapshot?.headroom?.node), [
      "node-aws-node-a",
      "node-aws-node-a",
      "node-aws-node-a",
      "node-aws-node-c",
      "node-aws-node-a",
    ]);
    // every metric, every cycle, exactly once; timestamps are the cycles' start
    const names = [...DEFAULT_FIGURES];
    for (const m of sent.values()) assertEquals([...m.keys()].sort(), names.sort());
    assertEquals(
      [...sent.keys()],
      reports.map((r) => r.startedAt.getTime() / 1000),
    );
    for (const d of w.cw.datums) {
      assertEquals(d.Dimensions, [{ Name: "CLUSTER_ID", Value: "test" }]);
      assertEquals(d.Unit, "Count");
    }
    assert(w.cw.requests.every((r) => r.body["Namespace"] === "Kubernetes"));
    assert(w.cw.requests.every((r) => r.region === "us-test-1"));
    // publishes of whole cycles (every 2 cycles, in the background, plus the
    // final flush); how they split depends on when each background publish ends
    const sizes = w.cw.requests.map((r) => (r.body["MetricData"] as unknown[]).length);
    assertEquals(sizes.reduce((a, b) => a + b, 0), 5 * PER_CYCLE);
    assert(sizes.every((n) => n % PER_CYCLE === 0 && n <= 1000), String(sizes));
  }),
);

Deno.test(
  "a 503 pod, a hung pod and a garbage body fail alone; the cycle goes on",
  opts,
  withWorld(async (w) => {
    w.api.textPod("aws-node-ok", awsNodeText({ ...freshNode(1), assigned: 4 }));
    w.api.addPod("aws-node-503", { kind: "unreachable" });
    w.api.textPod("aws-node-garbage", "# TYPE x gauge\nx 1\nthis is not metrics\n");
    w.api.addPod("aws-node-pending", { kind: "hang" }, { phase: "Pending", podIP: "" });
    // listed last and scraped one at a time: when it hangs, the others are done
    w.api.addPod("aws-node-hung", { kind: "hang" });
    const clock = new FakeClock();
    const stop = new AbortController();
    const reports: CycleReport[] = [];
    const running = w.run([
      "--interval",
      "30",
      "--scrape-timeout",
      "10",
      "--scrape-concurrency",
      "1",
    ], {
      shutdown: stop.signal,
      clock,
      onCycle: (r) => {
        reports.push(r);
        if (reports.length === 2) stop.abort();
      },
    });
    await w.api.hanging(1);
    clock.tick(10_000);
    await clock.sleeping();
    clock.tick(20_000);
    // the hung pod now starts in the slow lane, beside the others: its timeout
    // must not be ticked before they are done
    await w.api.hanging(2);
    for (const pod of ["ok", "503", "garbage"]) {
      await w.logged((m) => m.startsWith(`scrape of kube-system/aws-node-${pod} `), 2);
    }
    clock.tick(10_000);
    const code = await running;
    assertEquals(code, 0);
    assertEquals(reports.map((r) => r.durationMs), [10_000, 10_000]);
    const r = reports[1] as CycleReport;
    assertEquals(r.found, 5);
    assertEquals(r.notRunning, 1);
    assertEquals(r.scraped, 1);
    assertEquals(
      r.failures.map((f) => [f.target.name, f.error.kind]).sort(),
      [["aws-node-503", "http"], ["aws-node-garbage", "parse"], ["aws-node-hung", "timeout"]],
    );
    // the hung pod cost the timeout, not the cycle: both cycles ended with the other pods' data
    const warns = w.messages("warning");
    assert(
      warns.some((m) =>
        m.includes("aws-node-503") && m.includes("HTTP 503") &&
        m.includes("connection refused") && m.includes("tcp/61678")
      ),
      warns.join("\n"),
    );
    assert(warns.some((m) => m.includes("aws-node-hung") && m.includes("timed out after 10 s")));
    assert(
      warns.some((m) =>
        m.includes("aws-node-garbage") && m.includes("none of aws-node's awscni_* metrics") &&
        m.includes('starting "# TYPE x gauge\\nx 1\\nthis is not metrics\\n"')
      ),
      warns.join("\n"),
    );
    const sent = byTimestamp(w.cw.datums);
    assertEquals([...sent.values()].map((m) => m.get("assignIPAddresses")), [4, 4]);
  }),
);

Deno.test(
  "pagination: more pods than one page are all scraped",
  opts,
  withWorld(async (w) => {
    for (let i = 0; i < 1203; i++) {
      w.api.textPod(`aws-node-${i}`, awsNodeText({ ...freshNode(1), assigned: 1 }));
    }
    w.api.textPod("kube-proxy-x", "garbage", { labels: { "k8s-app": "kube-proxy" } });
    const { reports } = await runCycles(w, 1, []);
    assertEquals(reports[0]?.found, 1203);
    assertEquals(reports[0]?.snapshot?.values.get("assignIPAddresses"), 1203);
    assertEquals(w.api.counts.list, 3);
    assert(w.api.proxyPaths.every((p) => !p.includes("kube-proxy")));
    assert(w.api.proxyPaths.every((p) => /pods\/aws-node-\d+:61678\/proxy\/metrics$/.test(p)));
  }),
);

Deno.test(
  "--namespace, --selector and --metrics-port change what is listed and scraped",
  opts,
  withWorld(async (w) => {
    w.api.textPod("cni-a", awsNodeText({ ...freshNode(1), assigned: 2 }), {
      namespace: "cni",
      labels: { app: "vpc-cni", tier: "node" },
    });
    w.api.textPod("cni-b", awsNodeText({ ...freshNode(1), assigned: 3 }), {
      namespace: "cni",
      labels: { app: "vpc-cni", tier: "other" },
    });
    w.api.textPod("aws-node-default", awsNodeText(freshNode(1)));
    const { reports } = await runCycles(w, 1, [
      "--namespace",
      "cni",
      "--selector",
      "app=vpc-cni,tier=node",
      "--metrics-port",
      "9100",
    ]);
    assertEquals(reports[0]?.found, 1);
    assertEquals(reports[0]?.snapshot?.values.get("assignIPAddresses"), 2);
    assertEquals(w.api.proxyPaths, ["/api/v1/namespaces/cni/pods/cni-a:9100/proxy/metrics"]);
  }),
);

Deno.test(
  "--no-cloudwatch: nothing is sent and no region is needed; the cycles go on",
  opts,
  withWorld(async (w) => {
    w.api.textPod("aws-node-a", awsNodeText({ ...freshNode(1), assigned: 4 }));
    const stop = new AbortController();
    const reports: CycleReport[] = [];
    const code = await w.run(["--no-cloudwatch", "--interval", "2"], {
      shutdown: stop.signal,
      onCycle: (r) => {
        reports.push(r);
        if (reports.length === 3) stop.abort();
      },
      extra: { imdsDisabled: true },
      noRegion: true,
    });
    assertEquals(code, 0);
    assertEquals(reports.map((r) => r.snapshot?.values.get("assignIPAddresses")), [4, 4, 4]);
    assert(w.messages("info").some((m) => m.startsWith("region none (from nowhere: not needed)")));
    assertEquals(w.cw.requests.length, 0);
  }),
);

Deno.test(
  "CloudWatch throttled: the SDK retries with backoff; every datum once",
  opts,
  withWorld(async (w) => {
    w.api.textPod("aws-node-a", awsNodeText(freshNode(1)));
    w.cw.faults.push(THROTTLE, THROTTLE);
    // real time: the SDK's backoff between retries is real, the flush deadline must be too
    const { code } = await runCycles(w, 2, ["--interval", "1"], undefined, systemClock);
    assertEquals(code, 0, w.logs.join("\n"));
    assertEquals(w.cw.requests.map((r) => r.status), [400, 400, 200]);
    assertEquals(byTimestamp(w.cw.datums).size, 2);
    assertEquals(w.cw.datums.length, 2 * PER_CYCLE);
  }),
);

Deno.test(
  "CloudWatch outage longer than the SDK's retries: kept, then delivered once",
  opts,
  withWorld(async (w) => {
    w.api.textPod("aws-node-a", awsNodeText(freshNode(1)));
    w.cw.outage = UNAVAILABLE;
    const { code, reports } = await runCycles(w, 6, [], (i) => {
      if (i === 5) w.cw.outage = undefined;
    });
    assertEquals(code, 0);
    assert(w.cw.requests.filter((r) => r.status === 503).length >= 3);
    const sent = byTimestamp(w.cw.datums);
    assertEquals(sent.size, 6);
    assertEquals(w.cw.datums.length, 6 * PER_CYCLE);
    assertEquals([...sent.keys()], reports.map((r) => r.startedAt.getTime() / 1000));
    assert(
      w.messages("error").some((m) => m.includes("PutMetricData failed") && m.includes("kept")),
    );
  }),
);

Deno.test(
  "the buffer bound drops the oldest datums with a warning that says how many",
  opts,
  withWorld(async (w) => {
    w.api.textPod("aws-node-a", awsNodeText(freshNode(1)));
    w.cw.outage = UNAVAILABLE;
    const { reports } = await runCycles(w, 4, ["--buffer-max-datums", "50"], (i) => {
      if (i === 4) w.cw.outage = undefined;
    });
    // 4 cycles x PER_CYCLE datums, 50 kept: the newest 50
    assertEquals(w.cw.datums.length, 50);
    const last = (reports[3] as CycleReport).startedAt.getTime() / 1000;
    assertEquals(w.cw.datums.filter((d) => d.Timestamp === last).length, PER_CYCLE);
    // 3 cycles' datums after cycle 3: the oldest past 50 go
    const dropped = 3 * PER_CYCLE - 50;
    assert(
      w.messages("warning").some((m) => m.includes(`dropped the ${dropped} oldest datums`)),
      w.messages("warning").join("\n"),
    );
  }),
);

Deno.test(
  "no pod scraped: nothing published, logged as an error",
  opts,
  withWorld(async (w) => {
    w.api.addPod("aws-node-a", { kind: "unreachable" });
    const { code, reports } = await runCycles(w, 2, []);
    assertEquals(code, 0);
    assertEquals(reports.map((r) => r.snapshot), [null, null]);
    assertEquals(w.cw.requests.length, 0);
    assert(w.messages("error").some((m) => m.includes("none scraped")));
  }),
);

Deno.test(
  "--once: two samples one interval apart, the second published; exit 0",
  opts,
  withWorld(async (w) => {
    let n = 0;
    w.api.addPod("aws-node-a", {
      kind: "text",
      body: () => awsNodeText({ ...freshNode(1), addReq: 10 + 7 * n++ }),
    });
    const code = await w.run(["--once", "--interval", "2"]);
    assertEquals(code, 0);
    assertEquals(w.cw.datums.length, PER_CYCLE);
    assertEquals(w.cw.of("addReqCount")[0]?.Value, 7);
  }),
);

Deno.test(
  "--once: a first sample that fails ends it at once, naming the cause; a failed publish drops, not keeps",
  opts,
  withWorld(async (w) => {
    const cycles = () => {
      const seen: CycleReport[] = [];
      return { seen, onCycle: (r: CycleReport) => seen.push(r) };
    };
    const errors = () => w.messages("error");
    // no pod matches: the hint names the namespace and selector
    let c = cycles();
    assertEquals(await w.run(["--once", "--interval", "30"], { onCycle: c.onCycle }), 1);
    assertEquals(c.seen.length, 1);
    assertEquals(
      errors().at(-1),
      "--once: the first sample failed, so there is nothing to publish: no pod matches " +
        "--selector k8s-app=aws-node in --namespace kube-system: check both (aws-node runs in " +
        "kube-system with k8s-app=aws-node unless renamed)",
    );
    // the only pod cannot be scraped: its failure is the cause, and no second sample is taken
    w.api.addPod("aws-node-a", { kind: "unreachable" });
    c = cycles();
    assertEquals(await w.run(["--once", "--interval", "30"], { onCycle: c.onCycle }), 1);
    assertEquals(c.seen.length, 1);
    const cause = errors().at(-1) ?? "";
    assert(
      cause.startsWith(
        "--once: the first sample failed, so there is nothing to publish: 1 pods found, none " +
          "scraped (1 failed, 0 not running); the first: kube-system/aws-node-a: HTTP 503",
      ),
      cause,
    );
    // a good first sample says when the second comes; a failed publish is not "kept"
    w.api.textPod("aws-node-a", awsNodeText(freshNode(1)));
    w.cw.outage = UNAVAILABLE;
    c = cycles();
    assertEquals(await w.run(["--once", "--interval", "1"], { onCycle: c.onCycle }), 1);
    assertEquals(c.seen.length, 2);
    assert(
      w.messages("info").some((m) =>
        /^--once: baseline sample taken; the second sample, the one published, in 0?\.?\d+(\.\d)? s$/
          .test(m)
      ),
      w.messages("info").join("\n"),
    );
    assert(
      errors().some((m) =>
        m.startsWith(`--once: publish failed, ${PER_CYCLE} datums not published: `)
      ),
    );
    assert(errors().every((m) => !m.includes("kept for the next publish")), errors().join("\n"));
  }),
);

Deno.test(
  "--dry-run: each request as one JSON line, nothing sent",
  opts,
  withWorld(async (w) => {
    w.api.textPod("aws-node-a", awsNodeText({ ...freshNode(1), assigned: 9 }));
    const code = await w.run(["--once", "--dry-run", "--interval", "1"]);
    assertEquals(code, 0);
    assertEquals(w.cw.requests.length, 0);
    assertEquals(w.stdout.length, 1);
    const req = JSON.parse(w.stdout[0] as string);
    assertEquals(req.Namespace, "Kubernetes");
    assertEquals(req.MetricData.length, PER_CYCLE);
    const assigned = req.MetricData.find((d: { MetricName: string }) =>
      d.MetricName === "assignIPAddresses"
    );
    assertEquals(assigned.Value, 9);
    assertEquals(assigned.Dimensions, [{ Name: "CLUSTER_ID", Value: "test" }]);
    // printed, not "published"
    const info = w.messages("info");
    assert(
      info.includes(`dry run: printed ${PER_CYCLE} datums in 1 request(s); nothing sent`),
      info.join("\n"),
    );
    assert(info.every((m) => !m.startsWith("published")), info.join("\n"));
  }),
);

Deno.test(
  "a wrong token: the listing error names the status, and no token is logged",
  opts,
  withWorld(async (w) => {
    w.api.textPod("aws-node-a", awsNodeText(freshNode(1)));
    w.api.writeKubeconfig(w.kubeconfig, { token: "wrong-token-secret" });
    const { reports } = await runCycles(w, 1, []);
    assert(reports[0]?.listError?.includes("HTTP 401"), reports[0]?.listError);
    assert(w.logs.every((l) => !l.includes("wrong-token-secret") && !l.includes(w.api.token)));
  }),
);

Deno.test(
  "a server certificate from another CA is refused",
  opts,
  withWorld(async (w) => {
    w.api.textPod("aws-node-a", awsNodeText(freshNode(1)));
    const other = Deno.readTextFileSync(new URL("../../tools/certs/other-ca.crt", import.meta.url));
    w.api.writeKubeconfig(w.kubeconfig, { ca: other });
    // on a driven clock: the refusal comes from the TLS handshake, never from a timeout
    const { code, reports } = await runDriven(w, 1, []);
    assertEquals(code, 0);
    const [r] = reports;
    assertEquals([r?.found, r?.scraped, r?.snapshot], [undefined, 0, null]);
    // rustls' verdict on the chain: its issuer is not the kubeconfig's CA
    assert(
      r?.listError?.startsWith("listing pods in kube-system with selector k8s-app=aws-node") &&
        r.listError.endsWith("invalid peer certificate: UnknownIssuer"),
      r?.listError,
    );
    // no request got through the handshake: nothing listed, nothing proxied
    assertEquals(w.api.requests, []);
    assertEquals(w.api.counts.proxy, 0);
  }),
);

Deno.test(
  "hostile bodies fail only their own pod, with short messages; the cluster's counters stay exact",
  opts,
  withWorld(async (w) => {
    let cycle = 0;
    const now = () => cycle;
    // two healthy nodes: 100 -> 110 -> 130 and 7 -> 8 -> 20
    scripted(w, "aws-node-ok1", [{ addReq: 100 }, { addReq: 110 }, { addReq: 130 }], now);
    scripted(w, "aws-node-ok2", [{ addReq: 7 }, { addReq: 8 }, { addReq: 20 }], now);
    // healthy too: families the helper does not read are odd, and one is 10 MB
    const exotic = (n: number) =>
      [
        "# TYPE go_x gaugehistogram",
        '{"http.requests.ü", method="GET"} 1',
        `go_info{version="${"v".repeat(10 * 1024 * 1024)}"} 1`,
        awsNodeText({ ...freshNode(1000), addReq: n }),
      ].join("\n");
    w.api.addPod("aws-node-exotic", { kind: "text", body: () => exotic([1, 2, 4][cycle] ?? 4) });
    const full = awsNodeText({ ...freshNode(1000), addReq: 50 });
    w.api.textPod("aws-node-digits", `awscni_ip_max ${"1".repeat(60_000)}x\n`);
    w.api.textPod("aws-node-cut", full.slice(0, full.indexOf("awscni_eni_max") + 8));
    w.api.textPod("aws-node-nul", full.replace("awscni_ip_max 29", "awscni_ip_max 29\0"));
    // on a clock the test drives: the 10 MB body through TLS takes what it takes on this
    // machine, and no timeout can fire before the test moves time on
    const { code, reports } = await runDriven(w, 3, [], (i) => cycle = i);
    assertEquals(code, 0);
    for (const r of reports) {
      assertEquals(r.scraped, 3);
      const why = Object.fromEntries(r.failures.map((f) => [f.target.name, f.error]));
      assertEquals(Object.keys(why).sort(), ["aws-node-cut", "aws-node-digits", "aws-node-nul"]);
      for (const e of Object.values(why)) {
        assertEquals(e.kind, "parse");
        assert(
          e.message.length < 250,
          `${e.message.length} characters: ${e.message.slice(0, 300)}`,
        );
      }
      assert(why["aws-node-cut"]?.message.includes("truncated"), why["aws-node-cut"]?.message);
      assert(why["aws-node-digits"]?.message.includes("… (60001 characters)"));
      assert(why["aws-node-nul"]?.message.includes('invalid value "29\\u0000"'));
    }
    const sent = [...byTimestamp(w.cw.datums).values()].map((m) => m.get("addReqCount"));
    // cycle 1 is the baseline; then (10 + 1 + 1) and (20 + 12 + 2)
    assertEquals(sent, [0, 12, 34]);
  }),
);

Deno.test(
  "--subnets: each subnet's free IPs and their minimum published every cycle, with SubnetId",
  opts,
  withWorld(async (w) => {
    const ec2 = new FakeEc2();
    try {
      // aws-node serves its IPs per ENI: 3 on the primary ENI (subnet-1), 1 on the second (subnet-2)
      w.api.textPod(
        "aws-node-a",
        awsNodeText({ ...freshNode(1), assigned: 4 }) +
          'awscni_assigned_ip_per_eni{eni="eni-0aaa-0"} 3\n' +
          'awscni_assigned_ip_per_eni{eni="eni-0aaa-1"} 1\n',
      );
      // an older aws-node without the family: counted in no subnet, said in one info line
      w.api.textPod("aws-node-old", awsNodeText({ ...freshNode(2), assigned: 7 }));
      w.api.nodes.set("node-aws-node-a", "aws:///us-test-1a/i-0aaa");
      ec2.instances.set("i-0aaa", { subnet: "subnet-1", enis: ["subnet-1", "subnet-2"] });
      ec2.subnets.set("subnet-1", { zone: "us-test-1a", available: 250 });
      ec2.subnets.set("subnet-2", { zone: "us-test-1a", available: 12 });
      const { code } = await runCycles(w, 2, ["--subnets"], undefined, undefined, {
        subnetEc2: (region) =>
          sdkSubnetEc2(region, { endpoint: ec2.url, credentials: TEST_CREDENTIALS }),
      });
      assertEquals(code, 0);
      const sent = [...byTimestamp(w.cw.datums).values()];
      assertEquals(sent.length, 2);
      for (const m of sent) {
        assertEquals(m.get("minSubnetAvailableIPAddresses"), 12);
        assertEquals(m.get("subnetAvailableIPAddresses{subnet-1}"), 250);
        assertEquals(m.get("subnetAvailableIPAddresses{subnet-2}"), 12);
        assertEquals(m.get("minNodeIPHeadroom"), 22);
        assertEquals(m.get("subnetAssignedIPAddresses{subnet-1}"), 3);
        assertEquals(m.get("subnetAssignedIPAddresses{subnet-2}"), 1);
      }
      assertEquals(
        w.messages("info").filter((m) => m.startsWith("subnets: 1 pods' aws-node serves no")),
        [
          "subnets: 1 pods' aws-node serves no awscni_assigned_ip_per_eni (an older aws-node): " +
          "their IPs count in no subnet's subnetAssignedIPAddresses",
        ],
      );
      const perSubnet = w.cw.datums.filter((d) => d.MetricName === "subnetAvailableIPAddresses");
      assertEquals(perSubnet.map((d) => [d.Dimensions, d.Value]).slice(0, 2), [
        [[{ Name: "CLUSTER_ID", Value: "test" }, { Name: "SubnetId", Value: "subnet-1" }], 250],
        [[{ Name: "CLUSTER_ID", Value: "test" }, { Name: "SubnetId", Value: "subnet-2" }], 12],
      ]);
      assertEquals(perSubnet.length, 4);
      assert(
        w.messages("info").some((m) =>
          m ===
            "subnets read: 2 in use (2 from 1 nodes' network interfaces, 0 from ENIConfigs); " +
              "fewest free IPs: 12 in subnet-2 (us-test-1a)"
        ),
        w.messages("info").join("\n"),
      );
    } finally {
      await ec2.close();
    }
  }),
);
