import { assert, assertEquals, assertThrows } from "../support/assert.ts";
import {
  type Config,
  ConfigError,
  helpText,
  OPTION_LIST,
  OPTIONS,
  parseConfig,
} from "../../lib/cli/config.ts";
import { boundsText, type NumberBounds, parseNumber } from "../../lib/cli/options.ts";
import { runtimeFromEnv } from "../../lib/cli/env_facts.ts";

function run(args: string[], env: Record<string, string> = {}, tty = false): Config {
  const r = parseConfig(args, env, tty);
  assert(r.kind === "run");
  return r.config;
}

Deno.test("defaults match the existing contract", () => {
  const c = run([]);
  assertEquals(c.command, "collect");
  assertEquals(c.kubeconfig, []);
  assertEquals(c.context, undefined);
  assertEquals(c.namespace, "kube-system");
  assertEquals(c.selector, "k8s-app=aws-node");
  assertEquals(c.metricsPort, 61678);
  assertEquals(c.cloudwatch, true);
  assertEquals(c.prometheus, false);
  assertEquals(c.intervalSeconds, 30);
  assertEquals(c.clusterId, undefined);
  assertEquals(c.region, undefined);
  assertEquals(c.scrapeConcurrency, 32);
  assertEquals(c.scrapeTimeoutSeconds, 10);
  assertEquals(c.once, false);
  assertEquals(c.dryRun, false);
  assertEquals(c.logLevel, "info");
  assertEquals(c.logFormat, "json");
  // outside a pod only the loopback; in a pod every interface
  assertEquals(c.listen, { hostname: "127.0.0.1", port: 61681 });
  const inPod = parseConfig([], { KUBERNETES_SERVICE_HOST: "10.100.0.1" });
  assert(inPod.kind === "run");
  assertEquals(inPod.config.listen, { hostname: "0.0.0.0", port: 61681 });
  assertEquals(c.bufferMaxDatums, 60480);
  assert(Object.isFrozen(c));
});

Deno.test("log format defaults to text on a terminal", () => {
  assertEquals(run([], {}, true).logFormat, "text");
  assertEquals(run(["--log-format", "JSON"], {}, true).logFormat, "json");
});

Deno.test("environment variables are read", () => {
  const c = run([], {
    USE_CLOUDWATCH: "No",
    USE_PROMETHEUS: "YES",
    METRIC_UPDATE_INTERVAL: "60",
    AWS_CLUSTER_ID: "prod-1",
    AWS_REGION: "eu-west-1",
    AWS_VPC_K8S_CNI_LOGLEVEL: "DEBUG",
    KUBECONFIG: "/a:/b",
    AWS_PROFILE: "dev",
  });
  assertEquals(c.cloudwatch, false);
  assertEquals(c.prometheus, true);
  assertEquals(c.intervalSeconds, 60);
  assertEquals(c.clusterId, { value: "prod-1", source: "AWS_CLUSTER_ID" });
  assertEquals(c.region, { value: "eu-west-1", source: "AWS_REGION" });
  assertEquals(c.logLevel, "debug");
  assertEquals(c.kubeconfig, ["/a", "/b"]);
  assertEquals(c.profile, "dev");
});

Deno.test("AWS_DEFAULT_REGION is used after AWS_REGION; empty variables are unset", () => {
  assertEquals(run([], { AWS_DEFAULT_REGION: "us-west-2" }).region, {
    value: "us-west-2",
    source: "AWS_DEFAULT_REGION",
  });
  assertEquals(
    run([], { AWS_REGION: "eu-west-1", AWS_DEFAULT_REGION: "eu-west-2" }).region?.value,
    "eu-west-1",
  );
  assertEquals(run([], { AWS_CLUSTER_ID: "", USE_CLOUDWATCH: " " }).clusterId, undefined);
  assertEquals(run([], { USE_CLOUDWATCH: "" }).cloudwatch, true);
});

Deno.test("a flag beats its variable", () => {
  const env = {
    USE_CLOUDWATCH: "true",
    USE_PROMETHEUS: "false",
    METRIC_UPDATE_INTERVAL: "60",
    AWS_CLUSTER_ID: "env-id",
    AWS_REGION: "env-region",
    AWS_VPC_K8S_CNI_LOGLEVEL: "error",
    KUBECONFIG: "/env",
    AWS_PROFILE: "env-profile",
  };
  const c = run([
    "--no-cloudwatch",
    "--prometheus",
    "--interval=5",
    "--cluster-id",
    "flag-id",
    "--region",
    "eu-flag-1",
    "--log-level",
    "warn",
    "--kubeconfig",
    "/flag",
    "--profile",
    "flag-profile",
  ], env);
  assertEquals(c.cloudwatch, false);
  assertEquals(c.prometheus, true);
  assertEquals(c.intervalSeconds, 5);
  assertEquals(c.clusterId, { value: "flag-id", source: "--cluster-id" });
  assertEquals(c.region, { value: "eu-flag-1", source: "--region" });
  assertEquals(c.logLevel, "warning");
  assertEquals(c.kubeconfig, ["/flag"]);
  assertEquals(c.profile, "flag-profile");
  assertEquals(run(["--cloudwatch"], { USE_CLOUDWATCH: "false" }).cloudwatch, true);
});

Deno.test("every flag parses", () => {
  const c = run([
    "--context=ctx",
    "--namespace=ns",
    "--selector=app=x",
    "--metrics-port=9000",
    "--scrape-concurrency=4",
    "--scrape-timeout=2.5",
    "--dry-run",
    "--log-format=text",
    "--listen=127.0.0.1:9999",
    "--buffer-max-datums=100",
    "--interval=5",
  ]);
  assertEquals(c.context, "ctx");
  assertEquals(c.namespace, "ns");
  assertEquals(c.selector, "app=x");
  assertEquals(c.metricsPort, 9000);
  assertEquals(c.scrapeConcurrency, 4);
  assertEquals(c.scrapeTimeoutSeconds, 2.5);
  assertEquals(run(["--once"]).once, true);
  assertEquals(c.dryRun, true);
  assertEquals(c.logFormat, "text");
  assertEquals(c.listen, { hostname: "127.0.0.1", port: 9999 });
  assertEquals(c.bufferMaxDatums, 100);
  assertEquals(c.intervalSeconds, 5);
  assertEquals(run(["--listen=[::1]:81"]).listen, { hostname: "::1", port: 81 });
});

Deno.test("dashboard subcommand and its flags", () => {
  const c = run([
    "dashboard",
    "--name=mine",
    "--alarms",
    "--ip-utilization-threshold=80",
    "--alarm-topic-arn=arn:aws:sns:us-east-1:123456789012:t",
  ]);
  assertEquals(c.command, "dashboard");
  assertEquals(c.dashboardName, "mine");
  assertEquals(c.alarms, true);
  assertEquals(c.ipUtilizationThreshold, 80);
  assertEquals(c.alarmTopicArn, "arn:aws:sns:us-east-1:123456789012:t");
});

Deno.test("help and version", () => {
  assertEquals(parseConfig(["--help"], {}).kind, "help");
  assertEquals(parseConfig(["--version"], {}).kind, "version");
  const text = helpText("1.2.3");
  for (const o of OPTION_LIST) assert(text.includes(`--${o.flag}`), o.flag);
  for (const env of ["USE_CLOUDWATCH", "METRIC_UPDATE_INTERVAL", "AWS_CLUSTER_ID", "AWS_REGION"]) {
    assert(text.includes(env), env);
  }
});

const errors: [string, string[], Record<string, string>, string][] = [
  ["interval zero", ["--interval", "0"], {}, '"--interval" must be from 1 to 3600: got 0'],
  ["interval under 1 s", ["--interval", "0.2"], {}, '"--interval" must be from 1 to 3600: got 0.2'],
  [
    "interval over an hour",
    ["--interval", "3000000"],
    {},
    '"--interval" must be from 1 to 3600: got 3000000',
  ],
  [
    "scrape timeout not below the interval",
    ["--interval", "5", "--scrape-timeout", "5"],
    {},
    '"--scrape-timeout" must be below the interval (5 s): got 5',
  ],
  ["interval text", ["--interval=abc"], {}, '"--interval" must be a number: got "abc"'],
  [
    "interval negative, inline",
    ["--interval=-5"],
    {},
    '"--interval" must be from 1 to 3600: got -5',
  ],
  ["interval negative", ["--interval", "-5"], {}, '"--interval" must be from 1 to 3600: got -5'],
  [
    "interval negative env",
    [],
    { METRIC_UPDATE_INTERVAL: "-5" },
    "METRIC_UPDATE_INTERVAL must be from 1 to 3600: got -5",
  ],
  [
    "interval negative text",
    ["--interval", "-5s"],
    {},
    '"--interval" must be a number: got "-5s"',
  ],
  [
    "headroom threshold negative flag",
    ["--headroom-threshold", "-3"],
    {},
    '"--headroom-threshold" must be a whole number from 0 to 100000: got -3',
  ],
  [
    "headroom threshold negative, inline",
    ["--headroom-threshold=-3"],
    {},
    '"--headroom-threshold" must be a whole number from 0 to 100000: got -3',
  ],
  [
    "a value that looks like a flag",
    ["--context", "-x"],
    {},
    '"--context" needs a value: got "-x" (a value starting with "-" is written --context=-x)',
  ],
  [
    "a flag where a value belongs",
    ["--context", "--namespace", "ns"],
    {},
    '"--context" needs a value: got "--namespace"',
  ],
  [
    "a switch and its --no- form",
    ["--cloudwatch", "--no-cloudwatch"],
    {},
    '"--cloudwatch" and "--no-cloudwatch" contradict each other: drop one',
  ],
  [
    "a switch and its --no- form, reversed",
    ["--no-headroom", "--headroom"],
    {},
    '"--headroom" and "--no-headroom" contradict each other: drop one',
  ],
  [
    "interval env",
    [],
    { METRIC_UPDATE_INTERVAL: "30s" },
    'METRIC_UPDATE_INTERVAL must be a number: got "30s"',
  ],
  [
    "bool env",
    [],
    { USE_CLOUDWATCH: "maybe" },
    'USE_CLOUDWATCH must be true, false, yes or no: got "maybe"',
  ],
  [
    "prometheus env",
    [],
    { USE_PROMETHEUS: "1" },
    'USE_PROMETHEUS must be true, false, yes or no: got "1"',
  ],
  [
    "log level env",
    [],
    { AWS_VPC_K8S_CNI_LOGLEVEL: "loud" },
    'AWS_VPC_K8S_CNI_LOGLEVEL must be one of trace, debug, info, warn, error, fatal: got "loud"',
  ],
  [
    "log level flag",
    ["--log-level=x"],
    {},
    '"--log-level" must be one of trace, debug, info, warn, error, fatal: got "x"',
  ],
  ["log format", ["--log-format=xml"], {}, '"--log-format" must be json or text: got "xml"'],
  [
    "port range",
    ["--metrics-port=70000"],
    {},
    '"--metrics-port" must be a whole number from 1 to 65535: got 70000',
  ],
  [
    "concurrency fraction",
    ["--scrape-concurrency=1.5"],
    {},
    '"--scrape-concurrency" must be a whole number from 1 to 10000: got 1.5',
  ],
  ["timeout zero", ["--scrape-timeout=0"], {}, '"--scrape-timeout" must be above 0: got 0'],
  [
    "buffer",
    ["--buffer-max-datums=0"],
    {},
    '"--buffer-max-datums" must be a whole number, at least 1: got 0',
  ],
  [
    "listen",
    ["--listen=61681"],
    {},
    '"--listen" must be [host]:port with a port from 0 to 65535: got "61681"',
  ],
  ["unknown flag", ["--bogus"], {}, 'unknown flag "--bogus": see --help'],
  ["missing value", ["--interval"], {}, '"--interval" needs a value: got none'],
  ["empty value", ["--region="], {}, '"--region" needs a value: got ""'],
  [
    "region syntax",
    ["--region", "not a region!!"],
    {},
    '"--region" must be an AWS region like us-east-1: got "not a region!!"',
  ],
  [
    "region env",
    [],
    { AWS_REGION: "useast1" },
    'AWS_REGION must be an AWS region like us-east-1: got "useast1"',
  ],
  [
    "endpoint url",
    [],
    { AWS_ENDPOINT_URL_CLOUDWATCH: "not-a-url" },
    'AWS_ENDPOINT_URL_CLOUDWATCH must be an http(s) URL: got "not-a-url"',
  ],
  [
    "endpoint url scheme",
    ["dashboard"],
    { AWS_ENDPOINT_URL: "ftp://x" },
    'AWS_ENDPOINT_URL must be an http(s) URL: got "ftp://x"',
  ],
  [
    "unknown command",
    ["publish"],
    {},
    'unknown command "publish": expected "collect", "dashboard", "report" (see --help)',
  ],
  ["extra argument", ["collect", "x"], {}, 'unexpected argument "x"'],
  [
    "listen with once",
    ["--once", "--listen", ":9999"],
    {},
    '"--listen" does nothing with "--once" (no HTTP server runs for one measurement): drop one',
  ],
  [
    "prometheus with once",
    ["--once", "--prometheus"],
    {},
    '"--prometheus" does nothing with "--once" (no /metrics is served for one measurement): drop one',
  ],
  [
    "buffer bound without a publisher",
    ["--no-cloudwatch", "--buffer-max-datums", "10"],
    {},
    '"--buffer-max-datums" does nothing with CloudWatch off and no "--dry-run": drop it',
  ],
  [
    "headroom threshold with --no-headroom",
    ["--no-headroom", "--headroom-threshold", "5"],
    {},
    '"--headroom-threshold" does nothing with "--no-headroom": drop one',
  ],
  [
    "headroom threshold negative",
    [],
    { HEADROOM_THRESHOLD: "-1" },
    "HEADROOM_THRESHOLD must be a whole number from 0 to 100000: got -1",
  ],
  [
    "subnet refresh without --subnets",
    ["--subnet-refresh", "60"],
    {},
    '"--subnet-refresh" does nothing without "--subnets": add it or drop this',
  ],
  [
    "subnet refresh too often",
    ["--subnets", "--subnet-refresh", "5"],
    {},
    '"--subnet-refresh" must be from 10 to 86400: got 5',
  ],
  [
    "subnet threshold without alarms",
    ["dashboard", "--subnets", "--subnet-threshold", "20"],
    {},
    '"--subnet-threshold" sets the subnet-low alarm: it needs "--subnets" and "--alarms"',
  ],
  [
    "leader election with once",
    ["--once", "--leader-election"],
    {},
    '"--once" and leader election do not go together (one measurement needs no leader): drop one (LEADER_ELECTION=false)',
  ],
  [
    "lease name without leader election",
    ["--leader-election-name", "x"],
    {},
    '"--leader-election-name" does nothing without "--leader-election": add it or drop this',
  ],
  [
    "topic without alarms",
    ["dashboard", "--alarm-topic-arn", "arn:aws:sns:us-east-1:123456789012:t"],
    {},
    '"--alarm-topic-arn" does nothing without "--alarms": add "--alarms" or drop it',
  ],
  [
    "threshold",
    ["dashboard", "--ip-utilization-threshold=150"],
    {},
    '"--ip-utilization-threshold" must be above 0 and at most 100: got 150',
  ],
];

for (const [name, args, env, message] of errors) {
  Deno.test(`config error: ${name}`, () => {
    const e = assertThrows(() => parseConfig(args, env), ConfigError);
    assertEquals(e.message, message);
  });
}

Deno.test("runtime facts from the environment", () => {
  const none = runtimeFromEnv({}, () => false);
  assertEquals(none, {
    inCluster: false,
    homeKubeconfig: undefined,
    awsConfigFile: undefined,
    awsCredentialsFile: undefined,
    credentialEnv: { staticKeys: false, webIdentity: false, container: false },
    imdsDisabled: false,
    podName: undefined,
    podNamespace: undefined,
  });
  const pod = runtimeFromEnv(
    {
      KUBERNETES_SERVICE_HOST: "10.0.0.1",
      HOME: "/home/u",
      AWS_EC2_METADATA_DISABLED: "true",
      AWS_ROLE_ARN: "arn:aws:iam::1:role/r",
      AWS_WEB_IDENTITY_TOKEN_FILE: "/var/run/secrets/eks.amazonaws.com/serviceaccount/token",
      AWS_ACCESS_KEY_ID: "AKID",
      AWS_CONTAINER_CREDENTIALS_FULL_URI: " ",
      POD_NAME: "cni-metrics-helper-7d9f-x2k",
    },
    () => true,
    (path) => path.endsWith("/serviceaccount/namespace") ? "monitoring\n" : undefined,
  );
  assertEquals(pod, {
    inCluster: true,
    homeKubeconfig: "/home/u/.kube/config",
    awsConfigFile: "/home/u/.aws/config",
    awsCredentialsFile: "/home/u/.aws/credentials",
    // a key id without its secret is not a source; a blank variable is not set
    credentialEnv: { staticKeys: false, webIdentity: true, container: false },
    imdsDisabled: true,
    podName: "cni-metrics-helper-7d9f-x2k",
    podNamespace: "monitoring",
  });
  assertEquals(
    runtimeFromEnv({ KUBERNETES_SERVICE_HOST: "x" }, () => false).inCluster,
    false,
  );
  assertEquals(runtimeFromEnv({ AWS_CONFIG_FILE: "/c" }, () => false).awsConfigFile, "/c");
  const e = assertThrows(
    () => runtimeFromEnv({ AWS_EC2_METADATA_DISABLED: "sure" }, () => false),
    ConfigError,
  );
  assertEquals(e.message, 'AWS_EC2_METADATA_DISABLED must be true, false, yes or no: got "sure"');
});

Deno.test("a deployment's variables never make a flag refused: USE_PROMETHEUS with --once", () => {
  assertEquals(run(["--once"], { USE_PROMETHEUS: "true" }).prometheus, true);
  assertEquals(
    run(["--dry-run", "--no-cloudwatch", "--buffer-max-datums", "5"]).bufferMaxDatums,
    5,
  );
});

Deno.test("the scrape timeout defaults to 10 s, or half the interval when that is less", () => {
  const cases: [string[], number][] = [
    [[], 10],
    [["--interval", "60"], 10],
    [["--interval", "12"], 6],
    [["--interval", "1"], 0.5],
    [["--interval", "2", "--scrape-timeout", "1.5"], 1.5],
  ];
  for (const [args, want] of cases) {
    assertEquals(run(args).scrapeTimeoutSeconds, want, args.join(" "));
  }
});

Deno.test("headroom and subnet options: defaults, variables, flags", () => {
  const d = run([]);
  assertEquals([d.headroom, d.headroomThreshold, d.subnets, d.subnetRefreshSeconds], [
    true,
    10,
    false,
    300,
  ]);
  const e = run([], { HEADROOM_THRESHOLD: "0", USE_SUBNET_METRICS: "true" });
  assertEquals([e.headroomThreshold, e.subnets], [0, true]);
  assertEquals(run(["--no-headroom"]).headroom, false);
  assertEquals(run(["--subnets", "--subnet-refresh", "60"]).subnetRefreshSeconds, 60);
  const dash = run(["dashboard", "--subnets", "--alarms", "--subnet-threshold", "20"]);
  assertEquals([dash.subnets, dash.subnetThreshold], [true, 20]);
  assertEquals(run(["dashboard"]).subnetThreshold, 50);
});

Deno.test("leader election options: off by default, LEADER_ELECTION, name and namespace", () => {
  const d = run([]);
  assertEquals([d.leaderElection, d.leaderElectionName, d.leaderElectionNamespace], [
    false,
    "cni-metrics-helper",
    undefined,
  ]);
  const e = run(["--leader-election-namespace", "ops"], { LEADER_ELECTION: "true" });
  assertEquals([e.leaderElection, e.leaderElectionNamespace], [true, "ops"]);
});

Deno.test('a value starting with "-" is taken when written --flag=value', () => {
  assertEquals(run(["--context=-x"]).context, "-x");
  assertEquals(run(["--selector", "-"]).selector, "-");
  assertEquals(run(["--headroom-threshold", "+3"]).headroomThreshold, 3);
  // after "--" nothing is a flag's value
  assertEquals(
    assertThrows(() => parseConfig(["--", "--interval", "-5"], {}), ConfigError).message,
    'unknown command "--interval": expected "collect", "dashboard", "report" (see --help)',
  );
});

Deno.test("bounds: one message naming the rule and the value; not a number only for text", () => {
  const cases: [NumberBounds, string, string | number][] = [
    [{ min: 1, max: 3600, integer: false }, "0", "x must be from 1 to 3600: got 0"],
    [{ min: 1, max: 3600, integer: false }, "-5", "x must be from 1 to 3600: got -5"],
    [{ min: 1, max: 3600, integer: false }, "3600", 3600],
    [{ min: 1, max: 3600, integer: false }, "3600.5", "x must be from 1 to 3600: got 3600.5"],
    [{ min: 1, max: 3600, integer: false }, "1e3", 'x must be a number: got "1e3"'],
    [{ min: 1, max: 3600, integer: false }, "--5", 'x must be a number: got "--5"'],
    [{ min: 0, max: 9, integer: true }, "-1", "x must be a whole number from 0 to 9: got -1"],
    [{ min: 0, max: 9, integer: true }, "1.5", "x must be a whole number from 0 to 9: got 1.5"],
    [{ min: 0, max: 9, integer: true }, "-0", -0],
    [{ min: 1, integer: true }, "0", "x must be a whole number, at least 1: got 0"],
    [{ min: 0, exclusiveMin: true, integer: false }, "0", "x must be above 0: got 0"],
    [{ min: 0, exclusiveMin: true, integer: false }, "0.01", 0.01],
    [
      { min: 0, exclusiveMin: true, max: 100, integer: false },
      "-3",
      "x must be above 0 and at most 100: got -3",
    ],
    [{ max: 5, integer: false }, "6", "x must be at most 5: got 6"],
    [{ integer: true }, "2.5", "x must be a whole number: got 2.5"],
  ];
  for (const [bounds, text, want] of cases) {
    if (typeof want === "number") {
      assertEquals(parseNumber("x", text, bounds), want, text);
    } else {
      const e = assertThrows(() => parseNumber("x", text, bounds), ConfigError);
      assertEquals(e.message, want, `${boundsText(bounds)} ${text}`);
    }
  }
});

/** For each option the table refuses in some combination: flags that hit the refusal. */
const REFUSED: Readonly<Record<string, string[]>> = {
  "prometheus": ["--once", "--prometheus"],
  "scrape-timeout": ["--interval", "5", "--scrape-timeout", "5"],
  "headroom-threshold": ["--no-headroom", "--headroom-threshold", "5"],
  "subnet-refresh": ["--subnet-refresh", "60"],
  "leader-election-name": ["--leader-election-name", "x"],
  "leader-election-namespace": ["--leader-election-namespace", "x"],
  "once": ["--once", "--leader-election"],
  "listen": ["--once", "--listen", ":1"],
  "buffer-max-datums": ["--no-cloudwatch", "--buffer-max-datums", "1"],
  "subnet-threshold": ["dashboard", "--alarms", "--subnet-threshold", "1"],
  "alarm-topic-arn": ["dashboard", "--alarm-topic-arn", "arn:aws:sns:us-east-1:123456789012:t"],
  "breakdown-max-groups": ["--breakdown-max-groups", "5"],
};

Deno.test("every refusal of the table is reached, with its reason after the flag", () => {
  const declared = Object.values(OPTIONS).filter((o) => (o.refused ?? []).length > 0);
  assertEquals(declared.map((o) => o.flag).sort(), Object.keys(REFUSED).sort());
  for (const o of declared) {
    const args = REFUSED[o.flag] ?? [];
    const e = assertThrows(() => parseConfig(args, {}), ConfigError);
    const [rule] = o.refused ?? [];
    assert(rule !== undefined);
    const reason = typeof rule.reason === "string" ? rule.reason : "must be below the interval";
    assert(e.message.startsWith(`"--${o.flag}" ${reason}`), e.message);
  }
  // the same values from variables alone are not refused: a deployment sets them for every mode
  assertEquals(run(["--once"], { USE_PROMETHEUS: "true", USE_CLOUDWATCH: "false" }).once, true);
  assertEquals(run(["--no-prometheus", "--once"]).prometheus, false);
  assertEquals(run(["--no-headroom"], { HEADROOM_THRESHOLD: "5" }).headroom, false);
  // a refusal that reads another value reads it from its variable too
  assertEquals(
    assertThrows(() => parseConfig(["--once"], { LEADER_ELECTION: "yes" }), ConfigError).message,
    '"--once" and leader election do not go together (one measurement needs no leader): ' +
      "drop one (LEADER_ELECTION=false)",
  );
});

Deno.test("--breakdown and BREAKDOWN: a comma list of zone, nodegroup, instance-type; anything else exits 2 naming it", () => {
  assertEquals(run(["--breakdown", "zone,nodegroup"]).breakdown, ["zone", "nodegroup"]);
  assertEquals(run([], { BREAKDOWN: " Instance-Type , zone,zone" }).breakdown, [
    "instance-type",
    "zone",
  ]);
  assertEquals(run([]).breakdown, []);
  assertEquals(run(["--breakdown", "zone", "--breakdown-max-groups", "3"]).breakdownMaxGroups, 3);
  assertEquals(
    assertThrows(() => parseConfig(["--breakdown", "zone,region"], {}), ConfigError).message,
    '"--breakdown" must list zone, nodegroup, instance-type: got "region"',
  );
  assertEquals(
    assertThrows(() => parseConfig([], { BREAKDOWN: "az" }), ConfigError).message,
    'BREAKDOWN must list zone, nodegroup, instance-type: got "az"',
  );
  assertEquals(
    assertThrows(() => parseConfig(["report", "--output", "yaml"], {}), ConfigError).message,
    '"--output" must be text or json: got "yaml"',
  );
  const r = parseConfig(["report", "--output", "json", "--subnets"], {});
  assert(r.kind === "run" && r.config.command === "report" && r.config.output === "json");
});

Deno.test("-h, -v, help and version; a command's --help shows that command's flags", () => {
  for (const args of [["-h"], ["help"], ["--help"]]) {
    assertEquals(parseConfig(args, {}), { kind: "help" });
  }
  for (const args of [["-v"], ["version"], ["--version"]]) {
    assertEquals(parseConfig(args, {}), { kind: "version" });
  }
  assertEquals(parseConfig(["dashboard", "--help"], {}), { kind: "help", command: "dashboard" });
  assertEquals(parseConfig(["help", "report"], {}), { kind: "help", command: "report" });
  const dash = helpText("1", "dashboard");
  assert(dash.includes("Usage: cni-metrics-helper dashboard [flags]"), dash);
  assert(dash.includes("  --alarms") && !dash.includes("  --interval "), dash);
  const report = helpText("1", "report");
  assert(report.includes("  --output FORMAT") && !report.includes("  --alarms"), report);
});

Deno.test("accepted silently no more: a topic that is no SNS ARN, a dashboard name CloudWatch refuses, a namespace Kubernetes refuses", () => {
  const cases: [string[], string][] = [
    [
      ["dashboard", "--alarms", "--alarm-topic-arn", "not-an-arn"],
      '"--alarm-topic-arn" must be an SNS topic ARN like ' +
      'arn:aws:sns:us-east-1:123456789012:cni-alarms: got "not-an-arn"',
    ],
    [
      ["dashboard", "--name", "has spaces/and:slashes"],
      '"--name" must be a CloudWatch dashboard name (letters, digits, - and _, at most 255): got ' +
      '"has spaces/and:slashes"',
    ],
    [
      ["--namespace", "../../x"],
      '"--namespace" must be a namespace name (lowercase letters, digits and -, at most 63): got ' +
      '"../../x"',
    ],
  ];
  for (const [args, message] of cases) {
    assertEquals(assertThrows(() => parseConfig(args, {}), ConfigError).message, message);
  }
  const ok = parseConfig(
    [
      "dashboard",
      "--alarms",
      "--alarm-topic-arn",
      "arn:aws-us-gov:sns:us-gov-west-1:123456789012:alarms.fifo",
      "--name",
      "EKS_CNI-prod",
    ],
    {},
  );
  assert(ok.kind === "run" && ok.config.dashboardName === "EKS_CNI-prod");
});
