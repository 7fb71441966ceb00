/**
 * main.ts as a process, with the `start` task's permission flags: exit
 * codes, messages, SIGTERM flush, `--once`, `--dry-run`.
 */

import { PER_CYCLE } from "../support/figures.ts";
import { assert, assertEquals } from "../support/assert.ts";
import { byTimestamp, passThrough, readLines, spawnHelper, withWorld } from "../support/harness.ts";
import { awsNodeText, freshNode } from "../../tools/sim.ts";

const opts = {};
const LISTEN_WITH_ONCE =
  '"--listen" does nothing with "--once" (no HTTP server runs for one measurement): drop one';

async function runToEnd(args: string[], env: Record<string, string>) {
  const out = await spawnHelper(args, env).output();
  return {
    code: out.code,
    stdout: new TextDecoder().decode(out.stdout),
    stderr: new TextDecoder().decode(out.stderr),
  };
}

/** Writes `<home>/.kube/config`: one cluster, one user, one current context. */
function kubeconfigIn(home: string, cluster: string, user: string[]): void {
  Deno.mkdirSync(`${home}/.kube`);
  Deno.writeTextFileSync(
    `${home}/.kube/config`,
    [
      "apiVersion: v1",
      "kind: Config",
      "clusters:",
      "- name: c",
      `  cluster: ${cluster}`,
      "users:",
      "- name: u",
      "  user:",
      ...user,
      "contexts:",
      "- name: x",
      "  context: {cluster: c, user: u}",
      "current-context: x",
      "",
    ].join("\n"),
  );
}

Deno.test("--help and --version exit 0", opts, async () => {
  const help = await runToEnd(["--help"], { PATH: "/usr/bin:/bin", ...passThrough() });
  assertEquals(help.code, 0);
  assert(help.stdout.includes("Usage: cni-metrics-helper"));
  assert(help.stdout.includes("METRIC_UPDATE_INTERVAL"));
  const version = await runToEnd(["--version"], { PATH: "/usr/bin:/bin", ...passThrough() });
  assertEquals(version.code, 0);
  assert(/^cni-metrics-helper \d+\.\d+\.\d+/.test(version.stdout));
});

Deno.test("a bad value exits 2 naming it and its value, with no stack trace", opts, async () => {
  for (
    const [args, env, message] of [
      [[], { METRIC_UPDATE_INTERVAL: "0" }, "METRIC_UPDATE_INTERVAL must be from 1 to 3600: got 0"],
      [
        [],
        { USE_CLOUDWATCH: "enabled" },
        'USE_CLOUDWATCH must be true, false, yes or no: got "enabled"',
      ],
      [["--scrape-timeout", "soon"], {}, '"--scrape-timeout" must be a number: got "soon"'],
      [
        [],
        { AWS_EC2_METADATA_DISABLED: "sometimes" },
        'AWS_EC2_METADATA_DISABLED must be true, false, yes or no: got "sometimes"',
      ],
      [
        ["--region", "not a region!!"],
        {},
        '"--region" must be an AWS region like us-east-1: got "not a region!!"',
      ],
      [
        [],
        { AWS_ENDPOINT_URL_CLOUDWATCH: "not-a-url" },
        'AWS_ENDPOINT_URL_CLOUDWATCH must be an http(s) URL: got "not-a-url"',
      ],
      [["--scrape-via", "node"], {}, '"--scrape-via" must be proxy or direct: got "node"'],
      [["--interval", "3000000"], {}, '"--interval" must be from 1 to 3600: got 3000000'],
      [
        ["--interval", "5", "--scrape-timeout", "10"],
        {},
        '"--scrape-timeout" must be below the interval (5 s): got 10',
      ],
      [["--once", "--listen", ":0"], {}, LISTEN_WITH_ONCE],
      [["--unknown-flag"], {}, 'unknown flag "--unknown-flag": see --help'],
    ] as [string[], Record<string, string>, string][]
  ) {
    const r = await runToEnd(args, { PATH: "/usr/bin:/bin", ...passThrough(), ...env });
    assertEquals(r.code, 2, r.stderr);
    const lines = r.stderr.trim().split("\n");
    assertEquals(lines.length, 1, r.stderr);
    const { time: _time, ...rest } = JSON.parse(lines[0] as string);
    assertEquals(rest, { level: "error", logger: "cni-metrics-helper", msg: message });
  }
});

Deno.test("a missing or unreadable kubeconfig exits 1 with a one-line reason", opts, async () => {
  const home = Deno.makeTempDirSync();
  try {
    for (
      const [path, reason] of [
        [`${home}/.kube/missing`, "file not found (check --kubeconfig or KUBECONFIG)"],
        // outside what the build may read, whether it exists or not: where to put it
        ...["/etc/hostname", "/nope/config"].map((p) => [
          p,
          "this build may read only /var/run/secrets, ~/.kube and ~/.aws: copy the file into " +
          "~/.kube (if it exists)",
        ]),
      ]
    ) {
      const r = await runToEnd(["--kubeconfig", path as string, "--log-format", "text"], {
        PATH: "/usr/bin:/bin",
        HOME: home,
        ...passThrough(),
      });
      assertEquals(r.code, 1);
      assert(r.stderr.includes(`kubeconfig ${path}: ${reason}`), r.stderr);
      assert(!r.stderr.includes("    at "), r.stderr);
    }
  } finally {
    Deno.removeSync(home, { recursive: true });
  }
});

Deno.test(
  "SIGTERM: stops scraping, flushes every pending datum (one publish still in flight), exits 0",
  opts,
  withWorld(async (w) => {
    w.api.textPod("aws-node-a", awsNodeText({ ...freshNode(1), assigned: 5 }));
    // CloudWatch holds every request until the helper has said what it flushes: the publish
    // after cycle 2 (2 x PER_CYCLE datums) is in flight at SIGTERM, whatever the machine's speed
    let release = () => {};
    w.cw.gate = new Promise<void>((r) => release = r);
    const child = spawnHelper(
      [
        "--kubeconfig",
        w.kubeconfig,
        "--interval",
        "1",
        "--region",
        "us-test-1",
        "--cluster-id",
        "c1",
        "--listen",
        "127.0.0.1:0",
      ],
      w.env(),
    );
    let cycles = 0;
    const stderr: string[] = [];
    let receivedAtShutdown: number | undefined;
    try {
      const reading = readLines(child.stderr, (line) => {
        stderr.push(line);
        if (line.includes('"msg":"cycle:') && ++cycles === 3) {
          child.kill("SIGTERM");
        }
        if (line.includes('"msg":"shutting down:')) {
          receivedAtShutdown = w.cw.datums.length;
          release();
        }
      });
      const stdout = child.stdout.cancel();
      const status = await child.status;
      await reading;
      await stdout;
      assertEquals(status.code, 0, stderr.join("\n"));
    } finally {
      release();
    }
    const msgs = stderr.filter((l) => l.startsWith("{")).map((l) => String(JSON.parse(l)["msg"]));
    assertEquals(cycles, 3);
    // PER_CYCLE datums a cycle: cycles 1 and 2 in flight, cycle 3's queued behind them
    assertEquals(receivedAtShutdown, 0);
    assertEquals(msgs.filter((m) => m.startsWith("shutting down:")), [
      `shutting down: flushing ${3 * PER_CYCLE} datums`,
    ]);
    // the flush waited for the request in flight and sent the rest after it: each datum once
    // (byTimestamp throws on a repeat)
    assertEquals(msgs.filter((m) => m.startsWith("published ")).length, 1);
    assert(
      msgs.some((m) =>
        new RegExp(`^published ${3 * PER_CYCLE} datums to .* in 2 request\\(s\\)$`).test(m)
      ),
      msgs.join("\n"),
    );
    const sent = byTimestamp(w.cw.datums);
    assertEquals(sent.size, 3);
    assertEquals(w.cw.datums.length, 3 * PER_CYCLE);
    assertEquals(w.cw.requests.map((r) => r.body["MetricData"] as unknown[]).map((d) => d.length), [
      2 * PER_CYCLE,
      PER_CYCLE,
    ]);
    assertEquals([...sent.values()].map((m) => m.get("assignIPAddresses")), [5, 5, 5]);
    assert(w.cw.requests.every((r) => r.accessKeyId === "AKIDTESTEXAMPLE"));
    // no credential or token in the logs
    for (const secret of [w.api.token, "test-secret-do-not-log"]) {
      assert(stderr.every((l) => !l.includes(secret)), `${secret} logged`);
    }
  }),
);

Deno.test(
  "--once --dry-run: requests on stdout as JSON lines, logs on stderr",
  opts,
  withWorld(async (w) => {
    let n = 0;
    w.api.addPod("aws-node-a", {
      kind: "text",
      body: () => awsNodeText({ ...freshNode(1), addReq: 3 * ++n }),
    });
    const r = await runToEnd(
      [
        "--kubeconfig",
        w.kubeconfig,
        "--once",
        "--dry-run",
        "--interval",
        "1",
        "--cluster-id",
        "dry",
      ],
      w.env({ AWS_ENDPOINT_URL_CLOUDWATCH: "http://127.0.0.1:9" }),
    );
    assertEquals(r.code, 0, r.stderr);
    const lines = r.stdout.trim().split("\n");
    assertEquals(lines.length, 1);
    const req = JSON.parse(lines[0] as string);
    assertEquals(req.MetricData.length, PER_CYCLE);
    assertEquals(
      req.MetricData.find((d: { MetricName: string }) => d.MetricName === "addReqCount").Value,
      3,
    );
    assert(r.stderr.split("\n").filter((l) => l !== "").every((l) => JSON.parse(l).level));
    assertEquals(w.cw.requests.length, 0);
  }),
);

Deno.test(
  "a kubeconfig file outside what this build may read: the message says what it may read, not Deno's flag",
  opts,
  async () => {
    const home = Deno.makeTempDirSync();
    try {
      kubeconfigIn(home, "{server: 'https://127.0.0.1:1', certificate-authority: /etc/hostname}", [
        "    token: not-a-real-token",
      ]);
      const r = await runToEnd(
        ["--once", "--dry-run", "--cluster-id", "x", "--log-format", "text"],
        {
          PATH: "/usr/bin:/bin",
          HOME: home,
          AWS_EC2_METADATA_DISABLED: "true",
          ...passThrough(),
        },
      );
      assertEquals(r.code, 1, r.stderr);
      assert(
        r.stderr.includes(
          'not allowed to read "/etc/hostname": this build may read only /var/run/secrets, ' +
            "~/.kube and ~/.aws; move the file under ~/.kube or put its content in the kubeconfig",
        ),
        r.stderr,
      );
      assert(!r.stderr.includes("run again with the"), r.stderr);
      assert(!r.stderr.includes("not-a-real-token"), r.stderr);
    } finally {
      Deno.removeSync(home, { recursive: true });
    }
  },
);

Deno.test("a bad flag with --log-format text is one readable line, not JSON", opts, async () => {
  const r = await runToEnd(["--log-format", "text", "--interval", "0"], {
    PATH: "/usr/bin:/bin",
    ...passThrough(),
  });
  assertEquals(r.code, 2, r.stderr);
  const lines = r.stderr.trim().split("\n");
  assertEquals(lines.length, 1, r.stderr);
  assert(
    /\[ERR\] cni-metrics-helper: "--interval" must be from 1 to 3600: got 0$/.test(lines[0] ?? ""),
    r.stderr,
  );
});

Deno.test(
  "--log-level debug: a line per identity source, list page, scrape and publish request; trace adds request ids",
  opts,
  withWorld(async (w) => {
    w.api.textPod("aws-node-a", awsNodeText({ ...freshNode(1), assigned: 5 }));
    Deno.mkdirSync(`${w.dir}/.aws`);
    Deno.writeTextFileSync(`${w.dir}/.aws/config`, "[default]\nregion = us-test-1\n");
    const base = ["--kubeconfig", w.kubeconfig, "--once", "--interval", "1", "--cluster-id", "d"];
    const msgs = (stderr: string) =>
      stderr.trim().split("\n").map((l) => String(JSON.parse(l).msg));
    const debug = await runToEnd([...base, "--log-level", "debug"], w.env());
    assertEquals(debug.code, 0, debug.stderr);
    const m = msgs(debug.stderr);
    const has = (re: RegExp) => assert(m.some((x) => re.test(x)), `${re}:\n${m.join("\n")}`);
    has(/^identity: region from --region, AWS_REGION, AWS_DEFAULT_REGION: none$/);
    has(/^identity: region from the kubeconfig's EKS context: none$/);
    has(/^identity: region from the AWS profile: us-test-1$/);
    has(/^identity: cluster id from --cluster-id, AWS_CLUSTER_ID: d$/);
    has(
      /^list page 1 of pods in kube-system with selector k8s-app=aws-node: 1 items in \d+ ms, the last$/,
    );
    has(
      /^scrape of kube-system\/aws-node-a \(node node-aws-node-a\): HTTP 200, \d+ bytes, \d+ ms$/,
    );
    has(/^AWS credentials from environment \(AWS_ACCESS_KEY_ID\)$/);
    has(/^CloudWatchClient PutMetricDataCommand: HTTP 200, 1 attempt\(s\)$/);
    has(/^cycle figures \(\d+ pods baselined this cycle\): assignIPAddresses=5 /);
    const trace = await runToEnd([...base, "--log-level", "trace"], w.env());
    assertEquals(trace.code, 0, trace.stderr);
    assert(
      msgs(trace.stderr).some((x) =>
        /^CloudWatchClient PutMetricDataCommand: HTTP 200, 1 attempt\(s\), request id \S+$/.test(x)
      ),
      trace.stderr,
    );
  }),
);

Deno.test(
  "deno task start prints no line of Deno's own about a missing aws-iam-authenticator",
  opts,
  async () => {
    const home = Deno.makeTempDirSync();
    try {
      const out = await new Deno.Command(Deno.execPath(), {
        args: ["task", "--quiet", "start", "--version"],
        cwd: new URL("../..", import.meta.url).pathname,
        // a PATH without aws-iam-authenticator (and perhaps without aws)
        env: { PATH: `${home}:/usr/bin:/bin`, HOME: home, ...passThrough() },
        clearEnv: true,
        stdout: "piped",
        stderr: "piped",
      }).output();
      const stderr = new TextDecoder().decode(out.stderr);
      assertEquals(out.code, 0, stderr);
      assertEquals(stderr, "");
      assert(new TextDecoder().decode(out.stdout).startsWith("cni-metrics-helper "));
    } finally {
      Deno.removeSync(home, { recursive: true });
    }
  },
);

Deno.test(
  "an exec plugin this build may not run, or one not installed, says so and what to do",
  opts,
  async () => {
    const home = Deno.makeTempDirSync();
    try {
      Deno.mkdirSync(`${home}/bin`);
      Deno.writeTextFileSync(`${home}/bin/kubelogin`, "#!/bin/sh\necho {}\n", { mode: 0o755 });
      kubeconfigIn(home, "{server: 'https://127.0.0.1:1'}", [
        "    exec: {apiVersion: client.authentication.k8s.io/v1beta1, command: kubelogin}",
      ]);
      const run = (path: string) =>
        runToEnd(["--once", "--dry-run", "--cluster-id", "x"], {
          PATH: path,
          HOME: home,
          AWS_EC2_METADATA_DISABLED: "true",
          ...passThrough(),
        });
      const denied = await run(`${home}/bin:/usr/bin:/bin`);
      assertEquals(denied.code, 1, denied.stderr);
      assert(
        denied.stderr.includes(
          'not allowed to run \\"kubelogin\\": this build may run only aws and ' +
            "aws-iam-authenticator (as exec credential plugins); use one of those, or when " +
            "developing run deno task start with a wider --allow-run",
        ),
        denied.stderr,
      );
      const missing = await run("/usr/bin:/bin");
      assertEquals(missing.code, 1, missing.stderr);
      assert(
        missing.stderr.includes(
          'the program \\"kubelogin\\" was not found in PATH (the kubeconfig\'s exec credential ' +
            "plugin: install it, or fix users[].user.exec.command)",
        ),
        missing.stderr,
      );
    } finally {
      Deno.removeSync(home, { recursive: true });
    }
  },
);

Deno.test(
  "every start-up problem in one run: region, cluster id, credentials, then exit 2 (nothing listened)",
  opts,
  async () => {
    const home = Deno.makeTempDirSync();
    try {
      kubeconfigIn(home, "{server: 'https://127.0.0.1:1'}", ["    token: t"]);
      // a profile that only sets a region for another profile: no source of credentials
      Deno.mkdirSync(`${home}/.aws`);
      Deno.writeTextFileSync(`${home}/.aws/config`, "[profile other]\nregion = eu-west-1\n");
      const r = await runToEnd(["--once"], {
        PATH: "/usr/bin:/bin",
        HOME: home,
        AWS_EC2_METADATA_DISABLED: "true",
        ...passThrough(),
      });
      assertEquals(r.code, 2, r.stderr);
      const errors = r.stderr.trim().split("\n").map((l) => JSON.parse(l))
        .filter((l) => l.level === "error").map((l) => String(l.msg));
      assertEquals(errors.length, 1, r.stderr);
      const msg = errors[0] as string;
      assert(msg.startsWith("no AWS region: set AWS_REGION (or --region); IMDS is disabled"), msg);
      assert(msg.includes(". Also: no cluster id: set AWS_CLUSTER_ID (or --cluster-id)"), msg);
      assert(msg.includes(". Also: no AWS credentials for CloudWatch: "), msg);
      assert(msg.endsWith("or run with --dry-run or --no-cloudwatch"), msg);
    } finally {
      Deno.removeSync(home, { recursive: true });
    }
  },
);

Deno.test(
  "a profile that only sets a region fails the credentials check in seconds, before any port",
  opts,
  async () => {
    const home = Deno.makeTempDirSync();
    try {
      kubeconfigIn(home, "{server: 'https://127.0.0.1:1'}", ["    token: t"]);
      Deno.mkdirSync(`${home}/.aws`);
      Deno.writeTextFileSync(
        `${home}/.aws/config`,
        "[profile onlyregion]\nregion = eu-central-1\n",
      );
      const r = await runToEnd(["--once", "--profile", "onlyregion", "--cluster-id", "prod"], {
        PATH: "/usr/bin:/bin",
        HOME: home,
        AWS_EC2_METADATA_DISABLED: "true",
        ...passThrough(),
      });
      assertEquals(r.code, 1, r.stderr);
      const last = JSON.parse(r.stderr.trim().split("\n").at(-1) as string);
      assert(
        String(last.msg).includes(
          `profile onlyregion in ${home}/.aws/config: it sets no credentials (only region)`,
        ),
        last.msg,
      );
      assert(!r.stderr.includes("PutMetricData"), r.stderr);
    } finally {
      Deno.removeSync(home, { recursive: true });
    }
  },
);
