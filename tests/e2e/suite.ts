/**
 * End to end against a real kube-apiserver (RBAC enforced) and etcd, moto
 * for CloudWatch and EC2, and the AWS IMDS mock, all in this process's own
 * network namespace (see run.ts). The helper runs as deploy.yaml's service
 * account with a minted token, with the start task's permissions. Published
 * values are read back through moto's GetMetricData / GetMetricStatistics and
 * compared with figures computed here from what the simulated nodes served.
 *
 * The shared environment (etcd, kube-apiserver with the Helm chart's objects
 * applied, moto, the IMDS mock of the node the helper runs on) starts once,
 * when the first scenario awaits {@linkcode env}, and is killed when the
 * process unloads. Each scenario makes what else it needs (its tokens, its
 * simulated nodes, its instances and IMDS mocks) and removes its nodes at its
 * end, so each passes alone under `--filter`.
 */

import { loadAll } from "js-yaml";
import {
  CloudWatchClient,
  DescribeAlarmsCommand,
  GetDashboardCommand,
  GetMetricDataCommand,
  GetMetricStatisticsCommand,
} from "@aws-sdk/client-cloudwatch";
import {
  CreateNetworkInterfaceCommand,
  CreateSubnetCommand,
  CreateTagsCommand,
  CreateVpcCommand,
  DescribeImagesCommand,
  DescribeSubnetsCommand,
  EC2Client,
  RunInstancesCommand,
} from "@aws-sdk/client-ec2";
import { assert, assertEquals } from "../support/assert.ts";
import { passThrough, readLines, spawnHelper } from "../support/harness.ts";
import { certFile } from "../../tools/fake_apiserver.ts";
import { freshNode, type NodeFigures } from "../../tools/sim.ts";
import { API, Cluster, createPod, deletePod, type Kube, MOTO_URL, SimNode } from "./env.ts";
import { DEFAULT_FIGURES, PER_CYCLE } from "../support/figures.ts";
import { METRICS } from "../../lib/model/figures.ts";
import { dashboardBody } from "../../lib/outputs/dashboard.ts";
import { parseExposition } from "../../lib/model/exposition.ts";

if (Deno.env.get("E2E_NETNS") === undefined) {
  throw new Error("run the e2e suite through `deno task e2e` (it needs its own network namespace)");
}

const opts = {};
const REGION = "us-west-2";
const AWS_CREDS = { accessKeyId: "testing", secretAccessKey: "testing" };
const dir = Deno.makeTempDirSync({ prefix: "cnimh-e2e-" });
/** The processes of the shared environment (started by {@linkcode env}). */
const cluster = new Cluster(dir);
/** The next simulated pod's IP: 10.200.1.10 on, each IP used once over the run. */
let ipCounter = 10;
/** deploy.yaml's (and the chart's) service account. */
const SA = "cni-metrics-helper";
/** The shared IMDS mock: the node the helper runs on (region, instance tags). */
const IMDS_URL = "http://127.0.0.1:1338";

const cw = new CloudWatchClient({ region: REGION, endpoint: MOTO_URL, credentials: AWS_CREDS });

let environment: Promise<Kube> | undefined;

/**
 * The shared environment, started once (by the first scenario that awaits
 * it): etcd, kube-apiserver with RBAC and the Helm chart's default render
 * applied, moto, and the IMDS mock of the helper's node.
 *
 * @returns the admin client of the API server
 */
function env(): Promise<Kube> {
  return environment ??= startEnvironment();
}

async function startEnvironment(): Promise<Kube> {
  const t0 = performance.now();
  await cluster.start();
  const kube = cluster.kube;
  // the Helm chart rendered with its defaults (the same objects as deploy.yaml: chart_test),
  // every object applied for real, the Deployment included (nothing runs it: no kubelet)
  const docs = loadAll(await helmTemplate()) as { kind: string }[];
  const paths: Record<string, string> = {
    ServiceAccount: "/api/v1/namespaces/kube-system/serviceaccounts",
    ClusterRole: "/apis/rbac.authorization.k8s.io/v1/clusterroles",
    ClusterRoleBinding: "/apis/rbac.authorization.k8s.io/v1/clusterrolebindings",
    Role: "/apis/rbac.authorization.k8s.io/v1/namespaces/kube-system/roles",
    RoleBinding: "/apis/rbac.authorization.k8s.io/v1/namespaces/kube-system/rolebindings",
    PodDisruptionBudget: "/apis/policy/v1/namespaces/kube-system/poddisruptionbudgets",
    Deployment: "/apis/apps/v1/namespaces/kube-system/deployments",
  };
  for (const d of docs.filter((x) => x)) {
    const path = paths[d.kind];
    if (path === undefined) throw new Error(`the chart has a ${d.kind} the suite does not apply`);
    await kube.json("POST", path, d);
  }
  // the helper's node: IMDS with instance-metadata tags on (eks:cluster-name)
  await cluster.imds(1338, {
    "instance-id": "i-0e2e0000000000001",
    "placement-region": REGION,
    "tags-instance-name": "node-1",
    "tags-instance-test": "e2e-cluster",
  }, { "tags-instance-test": "/latest/meta-data/tags/instance/eks:cluster-name" });
  console.log(`environment up in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
  return kube;
}

// not a test: the environment goes when the process does, whatever ran
globalThis.addEventListener("unload", () => {
  cw.destroy();
  cluster.kill();
  try {
    Deno.removeSync(dir, { recursive: true });
  } catch {
    // a process was still writing its log
  }
});

/** A scenario's simulated aws-node pods: made as it goes, all removed at its end. */
class Nodes {
  /** Every node the scenario made, removed ones included (what they served counts). */
  readonly list: SimNode[] = [];
  readonly #kube: Kube;

  constructor(kube: Kube) {
    this.#kube = kube;
  }

  /** A node: its endpoint (unless `listen` is false: a closed port) and its Running pod. */
  async add(
    name: string,
    step: (f: NodeFigures) => void,
    listen = true,
    labels: Record<string, string> = { "k8s-app": "aws-node" },
  ): Promise<SimNode> {
    const ip = `10.200.1.${ipCounter++}`;
    const n = new SimNode(name, ip, { ...freshNode(1_700_000_000), addReq: 100 }, step);
    this.list.push(n);
    if (listen) n.listen();
    await createPod(this.#kube, name, ip, labels);
    return n;
  }

  /** A node leaves: its endpoint closes and its pod goes (it stays in `list`). */
  async retire(n: SimNode): Promise<void> {
    n.close();
    await deletePod(this.#kube, n.name);
  }

  /** Every node's endpoint closed and pod deleted. */
  async close(): Promise<void> {
    for (const n of this.list) {
      n.close();
      await deletePod(this.#kube, n.name).catch(() => {});
    }
  }
}

/** What a scenario gets: the admin client and its own nodes (removed at its end). */
interface Scenario {
  readonly kube: Kube;
  readonly nodes: Nodes;
  /** A fresh token of deploy.yaml's service account. */
  readonly token: () => Promise<string>;
}

/** A test body on the shared environment, with its own nodes. */
function scenario(fn: (s: Scenario) => Promise<void>): () => Promise<void> {
  return async () => {
    const kube = await env();
    const nodes = new Nodes(kube);
    try {
      await fn({ kube, nodes, token: () => mintToken(kube, SA) });
    } finally {
      await nodes.close();
    }
  };
}

/** An instance in moto with `tags` (what DescribeTags reads). */
async function instance(tags: Record<string, string>): Promise<string> {
  const ec2 = new EC2Client({ region: REGION, endpoint: MOTO_URL, credentials: AWS_CREDS });
  try {
    const images = await ec2.send(new DescribeImagesCommand({}));
    const ami = images.Images?.[0]?.ImageId ?? "ami-12c6146b";
    const run = await ec2.send(
      new RunInstancesCommand({ ImageId: ami, MinCount: 1, MaxCount: 1, InstanceType: "t3.micro" }),
    );
    const id = run.Instances?.[0]?.InstanceId ?? "";
    assert(id.startsWith("i-"), id);
    await ec2.send(
      new CreateTagsCommand({
        Resources: [id],
        Tags: Object.entries(tags).map(([Key, Value]) => ({ Key, Value })),
      }),
    );
    return id;
  } finally {
    ec2.destroy();
  }
}

function b64(s: string): string {
  return btoa(s);
}

/** A kubeconfig in `home/.kube/config`: a token, or the admin client certificate. */
function writeKubeconfig(home: string, auth: { token: string } | "admin"): void {
  Deno.mkdirSync(`${home}/.kube`, { recursive: true });
  const user = auth === "admin"
    ? [
      `    client-certificate-data: ${b64(certFile("client.crt"))}`,
      `    client-key-data: ${b64(certFile("client.key"))}`,
    ]
    : [`    token: ${auth.token}`];
  Deno.writeTextFileSync(
    `${home}/.kube/config`,
    [
      "apiVersion: v1",
      "kind: Config",
      "clusters:",
      "- name: e2e",
      "  cluster:",
      `    server: ${API}`,
      `    certificate-authority-data: ${b64(certFile("ca.crt"))}`,
      "users:",
      "- name: u",
      "  user:",
      ...user,
      "contexts:",
      "- name: e2e",
      "  context: {cluster: e2e, user: u}",
      "current-context: e2e",
      "",
    ].join("\n"),
  );
}

async function mintToken(kube: Kube, sa: string): Promise<string> {
  const r = await kube.json("POST", `/api/v1/namespaces/kube-system/serviceaccounts/${sa}/token`, {
    apiVersion: "authentication.k8s.io/v1",
    kind: "TokenRequest",
    spec: { expirationSeconds: 3600 },
  });
  return (r["status"] as { token: string }).token;
}

/** A service account in kube-system, bound to a ClusterRole of `rules` (none: unbound). */
async function serviceAccount(
  kube: Kube,
  name: string,
  rules?: { apiGroups: string[]; resources: string[]; verbs: string[] }[],
): Promise<void> {
  await kube.json("POST", "/api/v1/namespaces/kube-system/serviceaccounts", {
    apiVersion: "v1",
    kind: "ServiceAccount",
    metadata: { name },
  });
  if (rules === undefined) return;
  await kube.json("POST", "/apis/rbac.authorization.k8s.io/v1/clusterroles", {
    apiVersion: "rbac.authorization.k8s.io/v1",
    kind: "ClusterRole",
    metadata: { name },
    rules,
  });
  await kube.json("POST", "/apis/rbac.authorization.k8s.io/v1/clusterrolebindings", {
    apiVersion: "rbac.authorization.k8s.io/v1",
    kind: "ClusterRoleBinding",
    metadata: { name },
    roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "ClusterRole", name },
    subjects: [{ kind: "ServiceAccount", name, namespace: "kube-system" }],
  });
}

/** Deterministic movement: counters grow, gauges wobble. */
function grow(seed: number): (f: NodeFigures) => void {
  let i = 0;
  return (f) => {
    i++;
    f.addReq += 3 + seed;
    f.delReq += 1 + (i % 2);
    f.ec2Req += seed;
    f.awsApiErr += i % 3 === 0 ? 1 : 0;
    f.noAvailable += seed === 2 ? 1 : 0;
    f.reconcile += 1;
    f.assigned = 3 + ((i + seed) % 5);
    f.total = 10 + seed;
    f.eniAllocated = 1 + (seed % 2);
    f.inProgress = i % 2;
    f.latencyP99 = 10 * seed + (i % 4);
  };
}

interface HelperRun {
  code: number;
  stderr: string[];
  startMs: number;
  endMs: number;
}

/** `helm template` of the chart with its defaults, by the helm build.sh built. */
async function helmTemplate(): Promise<string> {
  const { HELM } = await import("../support/helm.ts");
  if (HELM === undefined) throw new Error("helm is not built: bash tests/e2e/build.sh helm");
  const o = await new Deno.Command(HELM, {
    args: [
      "template",
      "cni-metrics-helper",
      new URL("../../charts/cni-metrics-helper", import.meta.url).pathname,
      "--namespace",
      "kube-system",
    ],
    env: { HELM_CACHE_HOME: `${dir}/helm-cache`, HELM_CONFIG_HOME: `${dir}/helm-config` },
    stdout: "piped",
    stderr: "piped",
  }).output();
  if (!o.success) throw new Error(`helm template: ${new TextDecoder().decode(o.stderr)}`);
  return new TextDecoder().decode(o.stdout);
}

/**
 * A home, with a kubeconfig when `env.KUBECONFIG_AUTH` says how to log in (a
 * token, or `admin`), and the helper's environment (moto, the shared IMDS
 * mock), `env` on top.
 */
function helperEnv(env: Record<string, string>): Record<string, string> {
  const home = `${dir}/home-${crypto.randomUUID()}`;
  Deno.mkdirSync(home);
  const auth = env["KUBECONFIG_AUTH"];
  if (auth === "admin") writeKubeconfig(home, "admin");
  else if (auth !== undefined) writeKubeconfig(home, { token: auth });
  const fullEnv: Record<string, string> = {
    ...passThrough(),
    PATH: "/usr/bin:/bin",
    HOME: home,
    AWS_ACCESS_KEY_ID: AWS_CREDS.accessKeyId,
    AWS_SECRET_ACCESS_KEY: AWS_CREDS.secretAccessKey,
    AWS_ENDPOINT_URL_CLOUDWATCH: MOTO_URL,
    AWS_ENDPOINT_URL_EC2: MOTO_URL,
    AWS_EC2_METADATA_SERVICE_ENDPOINT: IMDS_URL,
    ...env,
  };
  delete fullEnv["KUBECONFIG_AUTH"];
  return fullEnv;
}

/** A helper running in the background: its log lines with their arrival times. */
class Replica {
  readonly lines: { at: number; msg: string; level: string }[] = [];
  readonly child: Deno.ChildProcess;
  readonly done: Promise<Deno.CommandStatus>;
  #waiters: { re: RegExp; from: number; resolve: (at: number) => void }[] = [];

  constructor(args: string[], env: Record<string, string>) {
    this.child = spawnHelper([...args, "--listen", "127.0.0.1:0"], helperEnv(env));
    const reading = readLines(this.child.stderr, (line) => {
      let rec: { msg?: string; level?: string };
      try {
        rec = JSON.parse(line);
      } catch {
        rec = { msg: line, level: "raw" };
      }
      const entry = { at: Date.now(), msg: String(rec.msg), level: String(rec.level) };
      this.lines.push(entry);
      for (const w of [...this.#waiters]) {
        if (w.re.test(entry.msg) && entry.at >= w.from) {
          this.#waiters.splice(this.#waiters.indexOf(w), 1);
          w.resolve(entry.at);
        }
      }
    });
    const out = this.child.stdout.cancel();
    this.done = Promise.all([this.child.status, reading, out]).then(([s]) => s);
  }

  /** Resolves with the time of the first line matching `re` logged at or after `from`. */
  next(re: RegExp, from = 0): Promise<number> {
    const seen = this.lines.find((l) => re.test(l.msg) && l.at >= from);
    if (seen !== undefined) return Promise.resolve(seen.at);
    return new Promise((resolve) => this.#waiters.push({ re, from, resolve }));
  }

  text(): string {
    return this.lines.map((l) => `${l.level} ${l.msg}`).join("\n");
  }
}

/** Runs the helper; `onCycle(n)` after each cycle log line; SIGTERM after `stopAfter` cycles. */
async function runHelper(
  args: string[],
  env: Record<string, string>,
  stopAfter?: number,
  onCycle?: (n: number) => Promise<void> | void,
): Promise<HelperRun> {
  const fullEnv = helperEnv(env);
  const startMs = Date.now();
  // collect takes --listen; dashboard and --once refuse it
  const listen = args[0] === "dashboard" || args.includes("--once")
    ? []
    : ["--listen", "127.0.0.1:0"];
  const child = spawnHelper([...args, ...listen], fullEnv);
  const stderr: string[] = [];
  let cycles = 0;
  let chain = Promise.resolve();
  const reading = readLines(child.stderr, (line) => {
    stderr.push(line);
    if (!line.includes('"msg":"cycle:')) return;
    const n = ++cycles;
    chain = chain.then(async () => {
      await onCycle?.(n);
      if (n === stopAfter) child.kill("SIGTERM");
    });
  });
  await child.stdout.cancel();
  const status = await child.status;
  await reading;
  await chain;
  return { code: status.code, stderr, startMs, endMs: Date.now() };
}

/** Per-cycle values of every metric for one cluster id, through GetMetricData (1 s periods). */
async function readBack(
  clusterId: string,
  run: HelperRun,
): Promise<Map<string, { t: number[]; v: number[] }>> {
  const out = await cw.send(
    new GetMetricDataCommand({
      StartTime: new Date(Math.floor(run.startMs / 1000) * 1000 - 2000),
      EndTime: new Date(run.endMs + 2000),
      ScanBy: "TimestampAscending",
      MetricDataQueries: PUBLISHED.map((name, i) => ({
        Id: `m${i}`,
        MetricStat: {
          Metric: {
            Namespace: "Kubernetes",
            MetricName: name,
            Dimensions: [{ Name: "CLUSTER_ID", Value: clusterId }],
          },
          Period: 1,
          Stat: "Sum",
        },
      })),
    }),
  );
  const res = new Map<string, { t: number[]; v: number[] }>();
  for (const r of out.MetricDataResults ?? []) {
    const name = PUBLISHED[Number((r.Id ?? "m0").slice(1))];
    if (name === undefined) continue;
    res.set(name, { t: (r.Timestamps ?? []).map((d) => d.getTime()), v: r.Values ?? [] });
  }
  return res;
}

/** Every metric a cycle publishes with the CLUSTER_ID dimension alone: the 21 and the headroom pair. */
const PUBLISHED = [...DEFAULT_FIGURES];
/** The helper's default --headroom-threshold. */
const HEADROOM_THRESHOLD = 10;

const GAUGE: Record<string, (f: NodeFigures) => number> = {
  assignIPAddresses: (f) => f.assigned,
  totalIPAddresses: (f) => f.total,
  totalIPv4Prefixes: (f) => f.prefixes,
  totalAssignedIPv4sPerCidr: () => 0,
  eniAllocated: (f) => f.eniAllocated,
  eniMaxAvailable: (f) => f.eniMax,
  maxIPAddresses: (f) => f.maxIPs,
  ipamdActionInProgress: (f) => f.inProgress,
};
const COUNTER: Record<string, (f: NodeFigures) => number> = {
  addReqCount: (f) => f.addReq,
  delReqCount: (f) => f.delReq,
  awsAPIErr: (f) => f.awsApiErr,
  ec2ApiReqCount: (f) => f.ec2Req,
  ec2ApiErrCount: (f) => f.ec2Err,
  ipamdErr: (f) => f.ipamdErr,
  noAvailableIPAddresses: (f) => f.noAvailable,
  reconcileCount: (f) => f.reconcile,
  awsUtilErr: () => 0,
  podENIErr: () => 0,
  forceRemoveENI: () => 0,
  forceRemoveIPs: () => 0,
};

/**
 * What CloudWatch should hold, computed from what the nodes served: scrapes
 * are assigned to the cycle whose (1 s) timestamp precedes them; a node's
 * first scrape is its baseline; a changed start time or a lower value is a
 * restart (the increase is the new value).
 */
function expected(
  cycleStarts: number[],
  served: SimNode[],
  assign?: (at: number) => number,
): Map<string, number[]> {
  const out = new Map<string, number[]>(PUBLISHED.map((name) => [name, cycleStarts.map(() => 0)]));
  const least = cycleStarts.map(() => Infinity);
  const cycleOf = assign ?? ((at: number) => {
    let k = -1;
    cycleStarts.forEach((t, i) => {
      if (t <= at) k = i;
    });
    return k;
  });
  for (const n of served) {
    let prev: NodeFigures | undefined;
    for (const s of n.served) {
      const k = cycleOf(s.at);
      if (k < 0) {
        prev = s.figures;
        continue;
      }
      const add = (name: string, v: number) => {
        const arr = out.get(name) as number[];
        arr[k] = (arr[k] ?? 0) + v;
      };
      for (const [name, f] of Object.entries(GAUGE)) add(name, f(s.figures));
      const arr = out.get("awsAPILatency") as number[];
      arr[k] = Math.max(arr[k] ?? 0, s.figures.latencyP99);
      // a node's headroom: ip_max - assigned
      const room = s.figures.maxIPs - s.figures.assigned;
      least[k] = Math.min(least[k] ?? Infinity, room);
      if (room < HEADROOM_THRESHOLD) add("nodesNearIPLimit", 1);
      if (prev !== undefined) {
        const restarted = prev.startTime !== s.figures.startTime;
        for (const [name, f] of Object.entries(COUNTER)) {
          const now = f(s.figures);
          const before = f(prev);
          add(name, restarted || now < before ? now : now - before);
        }
      }
      prev = s.figures;
    }
  }
  out.set("minNodeIPHeadroom", least.map((x) => (x === Infinity ? 0 : x)));
  // the warm pools' IPs no pod uses: the cluster's total less its assigned
  const assigned = out.get("assignIPAddresses") as number[];
  out.set(
    "idleIPAddresses",
    (out.get("totalIPAddresses") as number[]).map((t, k) => t - (assigned[k] ?? 0)),
  );
  return out;
}

/**
 * Which published cycle a body served at `at` went into, from the helper's
 * own cycle lines (each is logged when its cycle ends, after all its
 * scrapes): exact even when a slow cycle runs past the next one's 1 s
 * timestamp. Cycles that published nothing (no pod scraped) are skipped.
 */
function cycleByLog(run: HelperRun): (at: number) => number {
  const ends: { end: number; published: boolean }[] = [];
  for (const line of run.stderr) {
    if (!line.includes('"msg":"cycle:')) continue;
    const rec = JSON.parse(line) as { time: string; level: string };
    ends.push({ end: Date.parse(rec.time), published: rec.level === "info" });
  }
  return (at) => {
    const i = ends.findIndex((c) => c.end >= at);
    if (i < 0) return -1;
    if (!(ends[i] as { published: boolean }).published) {
      throw new Error(`a body served at ${at} belongs to a cycle that published nothing`);
    }
    return ends.slice(0, i).filter((c) => c.published).length;
  };
}

function compare(got: Map<string, { t: number[]; v: number[] }>, want: Map<string, number[]>) {
  for (const name of PUBLISHED) assertEquals(got.get(name)?.v, want.get(name), name);
}

Deno.test(
  "steady cluster, SIGTERM with data pending: every metric in moto equals what the nodes served",
  opts,
  scenario(async ({ nodes, token }) => {
    for (let i = 0; i < 4; i++) await nodes.add(`aws-node-s${i}`, grow(i + 1));
    // pods of other apps must not be scraped
    const other = await nodes.add("kube-proxy-x", () => {}, true, { "k8s-app": "kube-proxy" });
    const run = await runHelper(["--interval", "2"], { KUBECONFIG_AUTH: await token() }, 3);
    assertEquals(run.code, 0, run.stderr.join("\n"));
    assert(
      run.stderr.some((l) => l.includes(`shutting down: flushing ${PER_CYCLE} datums`)),
      "cycle 3 was pending at SIGTERM",
    );
    assert(
      run.stderr.some((l) =>
        l.includes(
          '"msg":"region us-west-2 (from IMDS placement/region), cluster id e2e-cluster (from IMDS instance tag eks:cluster-name)"',
        )
      ),
      run.stderr.join("\n"),
    );
    const got = await readBack("e2e-cluster", run);
    const starts = got.get("assignIPAddresses")?.t ?? [];
    assertEquals(starts.length, 3);
    compare(got, expected(starts, nodes.list.filter((n) => n.name.startsWith("aws-node-s"))));
    assertEquals(other.served.length, 0);
    // the statistics call a dashboard makes agrees
    const stats = await cw.send(
      new GetMetricStatisticsCommand({
        Namespace: "Kubernetes",
        MetricName: "addReqCount",
        Dimensions: [{ Name: "CLUSTER_ID", Value: "e2e-cluster" }],
        StartTime: new Date(run.startMs - 5000),
        EndTime: new Date(run.endMs + 5000),
        Period: 3600,
        Statistics: ["Sum", "SampleCount"],
      }),
    );
    const dp = stats.Datapoints?.[0];
    assertEquals(dp?.SampleCount, 3);
    assertEquals(dp?.Sum, (got.get("addReqCount")?.v ?? []).reduce((a, b) => a + b, 0));
  }),
);

Deno.test(
  "nodes added and removed, an aws-node restart, a node whose port 61678 is closed (503)",
  opts,
  scenario(async ({ nodes, token }) => {
    const n1 = await nodes.add("aws-node-c1", grow(1));
    const n2 = await nodes.add("aws-node-c2", grow(2));
    await nodes.add("aws-node-closed", () => {}, false);
    const run = await runHelper(
      ["--interval", "2"],
      { AWS_CLUSTER_ID: "e2e-churn", KUBECONFIG_AUTH: await token() },
      5,
      async (n) => {
        if (n === 2) {
          await nodes.add("aws-node-c3", grow(3));
          await nodes.retire(n2);
        }
        if (n === 3) {
          // aws-node restarts on node 1: counters start again, new start time
          n1.figures = { ...freshNode(1_800_000_000) };
        }
      },
    );
    assertEquals(run.code, 0, run.stderr.join("\n"));
    const warn = run.stderr.filter((l) =>
      l.includes('"level":"warning"') && l.includes("aws-node-closed")
    );
    assert(
      warn.length >= 5,
      `expected a warning per cycle for the closed node, got ${warn.length}`,
    );
    assert(warn[0]?.includes("HTTP 503") && warn[0]?.includes("tcp/61678"), warn[0]);
    const got = await readBack("e2e-churn", run);
    const starts = got.get("assignIPAddresses")?.t ?? [];
    assertEquals(starts.length, 5);
    const want = expected(starts, nodes.list);
    compare(got, want);
    // the restart shows as the new counts, never a negative or a cluster-wide jump
    assert((got.get("addReqCount")?.v ?? []).every((v) => v >= 0));
  }),
);

Deno.test(
  "--once from a workstation: admin kubeconfig, region and cluster id from flags, no IMDS",
  opts,
  scenario(async ({ nodes }) => {
    await nodes.add("aws-node-w1", grow(4));
    await nodes.add("aws-node-w2", grow(5));
    const run = await runHelper(
      ["--once", "--interval", "1", "--region", REGION, "--cluster-id", "e2e-workstation"],
      { KUBECONFIG_AUTH: "admin", AWS_EC2_METADATA_DISABLED: "true" },
    );
    assertEquals(run.code, 0, run.stderr.join("\n"));
    const got = await readBack("e2e-workstation", run);
    const starts = got.get("addReqCount")?.t ?? [];
    assertEquals(starts.length, 1);
    // two samples: the first is the baseline, only the second is published
    const want = expected([0, ...starts], nodes.list);
    for (const m of METRICS) {
      assertEquals(
        got.get(m.cwName)?.v,
        [(want.get(m.cwName) ?? [])[1]],
        m.cwName,
      );
    }
    assert((got.get("addReqCount")?.v[0] ?? 0) > 0);
  }),
);

Deno.test(
  "instance-metadata tags off: the cluster id from EC2 DescribeTags in moto",
  opts,
  scenario(async ({ nodes, token }) => {
    await nodes.add("aws-node-t1", grow(1));
    // this node's instance, tagged in moto; its IMDS gives no tags
    const id = await instance({ "eks:cluster-name": "e2e-cluster-from-ec2", Name: "node-1" });
    const imds = await cluster.imds(1339, { "instance-id": id, "placement-region": REGION }, {
      "tags-instance-name": "/latest/meta-data/no-tags-name",
      "tags-instance-test": "/latest/meta-data/no-tags-test",
    });
    try {
      const run = await runHelper(["--once", "--interval", "1"], {
        AWS_EC2_METADATA_SERVICE_ENDPOINT: "http://127.0.0.1:1339",
        KUBECONFIG_AUTH: await token(),
      });
      assertEquals(run.code, 0, run.stderr.join("\n"));
      assert(
        run.stderr.some((l) =>
          l.includes(
            `cluster id e2e-cluster-from-ec2 (from EC2 DescribeTags ${id} tag eks:cluster-name)`,
          )
        ),
        run.stderr.join("\n"),
      );
      const got = await readBack("e2e-cluster-from-ec2", run);
      assertEquals(got.get("assignIPAddresses")?.v.length, 1);
    } finally {
      await cluster.stopProc(imds);
    }
  }),
);

Deno.test(
  "RBAC: without the binding, or without pods/proxy, the log names the missing permission",
  opts,
  scenario(async ({ kube, nodes }) => {
    // a pod to scrape: the list-only account gets as far as the proxy
    await nodes.add("aws-node-b1", grow(1));
    await serviceAccount(kube, "e2e-unbound");
    await serviceAccount(kube, "e2e-list-only", [
      { apiGroups: [""], resources: ["pods"], verbs: ["list"] },
    ]);
    const unbound = await runHelper(["--once", "--interval", "1", "--cluster-id", "x"], {
      KUBECONFIG_AUTH: await mintToken(kube, "e2e-unbound"),
    });
    assertEquals(unbound.code, 1);
    assert(
      unbound.stderr.some((l) =>
        l.includes("HTTP 403") &&
        l.includes(
          'cannot list resource \\"pods\\" in API group \\"\\" in the namespace \\"kube-system\\"',
        ) &&
        l.includes("system:serviceaccount:kube-system:e2e-unbound") &&
        l.includes("deploy.yaml's ClusterRole cni-metrics-helper has the rules")
      ),
      unbound.stderr.join("\n"),
    );
    const listOnly = await runHelper(["--once", "--interval", "1", "--cluster-id", "x"], {
      KUBECONFIG_AUTH: await mintToken(kube, "e2e-list-only"),
    });
    assertEquals(listOnly.code, 1);
    assert(
      listOnly.stderr.some((l) =>
        l.includes("HTTP 403") && l.includes('cannot get resource \\"pods/proxy\\"') &&
        l.includes("deploy.yaml's ClusterRole")
      ),
      listOnly.stderr.join("\n"),
    );
  }),
);

/** Requests of one verb on pods the API server has counted since it started. */
async function podRequests(kube: Kube, verb: string): Promise<number> {
  const text = await (await kube.req("GET", "/metrics")).text();
  const fam = parseExposition(text, { wanted: new Set(["apiserver_request_total"]) })
    .get("apiserver_request_total");
  return (fam?.samples ?? [])
    .filter((s) =>
      s.labels["verb"] === verb && s.labels["resource"] === "pods" && s.labels["subresource"] === ""
    )
    .reduce((a, s) => a + s.value, 0);
}

Deno.test(
  "direct mode: nodes read on their own IPs with a token that may not use pods/proxy; one LIST, then the watch",
  opts,
  scenario(async ({ kube, nodes }) => {
    // a service account with list and watch on pods, and nothing else
    await serviceAccount(kube, "e2e-direct", [
      { apiGroups: [""], resources: ["pods"], verbs: ["list", "watch"] },
    ]);
    await nodes.add("aws-node-d1", grow(1));
    await nodes.add("aws-node-d2", grow(2));
    const closed = await nodes.add("aws-node-d-closed", () => {}, false);
    const lists = await podRequests(kube, "LIST");
    const run = await runHelper(
      ["--interval", "2", "--scrape-via", "direct"],
      { AWS_CLUSTER_ID: "e2e-direct", KUBECONFIG_AUTH: await mintToken(kube, "e2e-direct") },
      5,
      async (n) => {
        // a node joining mid-run reaches the helper through the watch
        if (n === 2) await nodes.add("aws-node-d3", grow(3));
      },
    );
    assertEquals(run.code, 0, run.stderr.join("\n"));
    const refused = run.stderr.filter((l) =>
      l.includes('"level":"warning"') && l.includes("aws-node-d-closed")
    );
    assert(refused.length >= 5, run.stderr.join("\n"));
    assert(
      refused[0]?.includes(`cannot reach ${closed.ip}:61678`) &&
        refused[0]?.includes("inbound tcp/61678"),
      refused[0],
    );
    const got = await readBack("e2e-direct", run);
    const starts = got.get("assignIPAddresses")?.t ?? [];
    assertEquals(starts.length, 5);
    compare(got, expected(starts, nodes.list));
    assert((nodes.list.find((x) => x.name === "aws-node-d3")?.served.length ?? 0) >= 2);
    // five cycles and a pod added: the API server saw one LIST of pods (the first)
    assertEquals((await podRequests(kube, "LIST")) - lists, 1);
  }),
);

Deno.test(
  "the watch cut by an API server restart: cycles go on with the last known pods, no increase lost or doubled",
  opts,
  scenario(async ({ nodes, token }) => {
    await nodes.add("aws-node-r1", grow(1));
    await nodes.add("aws-node-r2", grow(2));
    let restarted = false;
    const run = await runHelper(
      ["--interval", "2"],
      { AWS_CLUSTER_ID: "e2e-restart", KUBECONFIG_AUTH: await token() },
      10,
      async (n) => {
        if (n === 2) {
          // down for 5 s: at least two cycles run while it is away
          await cluster.restartApiServer(5000);
          restarted = true;
        }
        // a node joining after the restart arrives through the resumed watch
        if (n === 5 && restarted) await nodes.add("aws-node-r3", grow(3));
      },
    );
    assertEquals(run.code, 0, run.stderr.join("\n"));
    assert(run.stderr.some((l) => l.includes("the pod watch broke")), run.stderr.join("\n"));
    assert(
      run.stderr.some((l) => l.includes("the pod watch is back after")),
      run.stderr.join("\n"),
    );
    assert(
      run.stderr.some((l) => l.includes('"msg":"pods: the pod watch is down since')),
      "a cycle said it used the last known pods",
    );
    const got = await readBack("e2e-restart", run);
    const starts = got.get("assignIPAddresses")?.t ?? [];
    // cycles that scraped no pod (the API server away) published nothing
    assert(starts.length >= 4 && starts.length < 10, `${starts.length} cycles published`);
    // a cycle slowed by the API server's return can run past the next one's
    // 1 s timestamp: assign the bodies by the helper's own cycle lines
    compare(got, expected(starts, nodes.list, cycleByLog(run)));
    // every increase the nodes made after their first scrape is in CloudWatch, once
    const total = (got.get("addReqCount")?.v ?? []).reduce((a, b) => a + b, 0);
    const served = nodes.list.reduce((a, x) => {
      const s = x.served;
      return a + ((s.at(-1)?.figures.addReq ?? 0) - (s[0]?.figures.addReq ?? 0));
    }, 0);
    assertEquals(total, served);
    assert((nodes.list.find((x) => x.name === "aws-node-r3")?.served.length ?? 0) >= 2);
  }),
);

Deno.test(
  "--subnets: moto's subnets of the real Nodes' instances, published as moto counts them, and again after a new ENI; RBAC denied warns and goes on",
  opts,
  scenario(async ({ kube, nodes, token }) => {
    const ec2 = new EC2Client({ region: REGION, endpoint: MOTO_URL, credentials: AWS_CREDS });
    // cluster objects this scenario makes, deleted at its end: Nodes, the subnets' RBAC
    const made: string[] = [];
    try {
      // a VPC with two subnets; three instances, one with a second ENI in the other subnet
      const vpc = await ec2.send(new CreateVpcCommand({ CidrBlock: "10.50.0.0/16" }));
      const subnet = async (cidr: string, az: string) =>
        (await ec2.send(
          new CreateSubnetCommand({
            VpcId: vpc.Vpc?.VpcId,
            CidrBlock: cidr,
            AvailabilityZone: `${REGION}${az}`,
          }),
        )).Subnet?.SubnetId as string;
      const subnetA = await subnet("10.50.1.0/24", "a");
      const subnetB = await subnet("10.50.2.0/25", "b");
      const images = await ec2.send(new DescribeImagesCommand({}));
      const ami = images.Images?.[0]?.ImageId ?? "ami-12c6146b";
      const run = async (sn: string) =>
        (await ec2.send(
          new RunInstancesCommand({
            ImageId: ami,
            MinCount: 1,
            MaxCount: 1,
            InstanceType: "m5.large",
            SubnetId: sn,
          }),
        )).Instances?.[0]?.InstanceId as string;
      const ids = [await run(subnetA), await run(subnetA), await run(subnetB)];
      // the real API server's Nodes carry those instances as their providerIDs
      for (const [i, id] of ids.entries()) {
        made.push(`/api/v1/nodes/ip-10-50-${i}-1.ec2.internal`);
        await kube.json("POST", "/api/v1/nodes", {
          apiVersion: "v1",
          kind: "Node",
          metadata: { name: `ip-10-50-${i}-1.ec2.internal` },
          spec: { providerID: `aws:///${REGION}${i < 2 ? "a" : "b"}/${id}` },
        });
      }
      const counts = async () => {
        const out = await ec2.send(new DescribeSubnetsCommand({ SubnetIds: [subnetA, subnetB] }));
        return new Map((out.Subnets ?? []).map((x) => [x.SubnetId, x.AvailableIpAddressCount]));
      };
      const before = await counts();
      // deploy/subnets-rbac.yaml, for real, on deploy.yaml's account
      const extra = loadAll(
        Deno.readTextFileSync(new URL("../../deploy/subnets-rbac.yaml", import.meta.url)),
      ) as { kind: string; metadata: { name: string } }[];
      for (const d of extra.filter((x) => x)) {
        const path = `/apis/rbac.authorization.k8s.io/v1/${
          d.kind === "ClusterRole" ? "clusterroles" : "clusterrolebindings"
        }`;
        made.push(`${path}/${d.metadata.name}`);
        await kube.json("POST", path, d);
      }
      await nodes.add("aws-node-sn1", grow(1));
      await nodes.add("aws-node-sn2", grow(2));
      let after: Map<string | undefined, number | undefined> | undefined;
      const helper = await runHelper(
        [
          "--subnets",
          "--subnet-refresh",
          "10",
          "--interval",
          "2",
          "--region",
          REGION,
          "--cluster-id",
          "e2e-subnets",
        ],
        { AWS_EC2_METADATA_DISABLED: "true", KUBECONFIG_AUTH: await token() },
        9,
        async (n) => {
          if (n !== 2) return;
          // a new ENI takes an address in subnet A; the next refresh (10 s) must see it
          await ec2.send(new CreateNetworkInterfaceCommand({ SubnetId: subnetA }));
          after = await counts();
        },
      );
      assertEquals(helper.code, 0, helper.stderr.join("\n"));
      assert(after !== undefined);
      assertEquals((after.get(subnetA) ?? 0) + 1, before.get(subnetA));
      assert(
        helper.stderr.every((l) => !l.includes('"level":"warning"')),
        helper.stderr.join("\n"),
      );
      // what moto holds, per subnet, cycle by cycle
      const perSubnet = async (name: string, dims: { Name: string; Value: string }[]) => {
        const out = await cw.send(
          new GetMetricDataCommand({
            StartTime: new Date(Math.floor(helper.startMs / 1000) * 1000 - 2000),
            EndTime: new Date(helper.endMs + 2000),
            ScanBy: "TimestampAscending",
            MetricDataQueries: [{
              Id: "m",
              MetricStat: {
                Metric: { Namespace: "Kubernetes", MetricName: name, Dimensions: dims },
                Period: 1,
                Stat: "Sum",
              },
            }],
          }),
        );
        return out.MetricDataResults?.[0]?.Values ?? [];
      };
      const cluster_ = { Name: "CLUSTER_ID", Value: "e2e-subnets" };
      const a = await perSubnet("subnetAvailableIPAddresses", [cluster_, {
        Name: "SubnetId",
        Value: subnetA,
      }]);
      const b = await perSubnet("subnetAvailableIPAddresses", [cluster_, {
        Name: "SubnetId",
        Value: subnetB,
      }]);
      const least = await perSubnet("minSubnetAvailableIPAddresses", [cluster_]);
      assertEquals(a.length, 9, `subnet A: ${a}`);
      // the first reads see moto's first count, the later ones the count after the new ENI
      const i = a.indexOf(after.get(subnetA) as number);
      assert(i > 0, `subnet A never showed ${after.get(subnetA)}: ${a}`);
      assertEquals(a, [
        ...Array(i).fill(before.get(subnetA)),
        ...Array(a.length - i).fill(after.get(subnetA)),
      ]);
      assertEquals(b, Array(9).fill(before.get(subnetB)));
      console.log(
        `moto holds, cycle 1 → 9: subnetAvailableIPAddresses ${subnetA}: ${a.join(" ")}; ` +
          `${subnetB}: ${b.join(" ")}; minSubnetAvailableIPAddresses: ${
            (await perSubnet("minSubnetAvailableIPAddresses", [cluster_])).join(" ")
          }`,
      );
      assertEquals(least, a.map((x) => Math.min(x, before.get(subnetB) as number)));
      assert(
        helper.stderr.some((l) =>
          l.includes(
            `"msg":"subnets read: 2 in use (2 from 3 nodes' network interfaces, 0 from ENIConfigs)`,
          )
        ),
        helper.stderr.join("\n"),
      );
      // an account without deploy/subnets-rbac.yaml: one warning naming list nodes, data still out
      await serviceAccount(kube, "e2e-no-nodes", [
        { apiGroups: [""], resources: ["pods"], verbs: ["list", "watch"] },
        { apiGroups: [""], resources: ["pods/proxy"], verbs: ["get"] },
      ]);
      const denied = await runHelper(
        ["--once", "--interval", "1", "--subnets", "--region", REGION, "--cluster-id", "e2e-nn"],
        {
          KUBECONFIG_AUTH: await mintToken(kube, "e2e-no-nodes"),
          AWS_EC2_METADATA_DISABLED: "true",
        },
      );
      assertEquals(denied.code, 0, denied.stderr.join("\n"));
      const warnings = denied.stderr.filter((l) => l.includes('"level":"warning"'));
      assert(
        warnings.some((l) =>
          l.includes("subnets: listing nodes (RBAC list nodes) was denied") &&
          l.includes('cannot list resource \\"nodes\\"') &&
          l.includes("apply deploy/subnets-rbac.yaml")
        ),
        warnings.join("\n"),
      );
      // besides it, at most the ENIConfigs' listing, denied too (RBAC is checked first)
      assert(
        warnings.length <= 2 && warnings.every((l) => /listing (nodes|eniconfigs)/.test(l)),
        warnings.join("\n"),
      );
      const got = await readBack("e2e-nn", denied);
      assertEquals(got.get("assignIPAddresses")?.v.length, 1);
    } finally {
      ec2.destroy();
      for (const path of made.reverse()) await kube.json("DELETE", path).catch(() => {});
    }
  }),
);

Deno.test(
  "two replicas with leader election (the chart's Role, applied above): SIGKILL, SIGTERM and an API server outage; never two datapoints for one second",
  opts,
  scenario(async ({ nodes, token }) => {
    await nodes.add("aws-node-ha1", grow(1));
    await nodes.add("aws-node-ha2", grow(2));
    // direct mode: scrapes go on while the API server is away, so only the lease stops a leader
    const args = [
      "--interval",
      "2",
      "--scrape-via",
      "direct",
      "--leader-election",
      "--leader-election-namespace",
      "kube-system",
      "--region",
      REGION,
      "--cluster-id",
      "e2e-ha",
    ];
    const auth = await token();
    const env = (pod: string) => ({
      AWS_EC2_METADATA_DISABLED: "true",
      POD_NAME: pod,
      KUBECONFIG_AUTH: auth,
    });
    // every replica is gone at the end, whatever failed
    const replicas: Replica[] = [];
    const start = (pod: string) => {
      const r = new Replica(args, env(pod));
      replicas.push(r);
      return r;
    };
    const leader = /^became the leader/;
    const cycle = /^cycle: /;
    const published = /^published \d+ datums to CloudWatch/;
    try {
      const t0 = Date.now();
      const a = start("helper-a");
      await a.next(leader);
      const b = start("helper-b");
      await b.next(/^lease holder: helper-a_/);
      await a.next(published, (await a.next(cycle)) + 3_000);
      // 1. SIGKILL the leader: the standby publishes within 20 s
      const killed = Date.now();
      a.child.kill("SIGKILL");
      await a.done;
      const bLeads = await b.next(leader, killed);
      const bPublishes = await b.next(published, killed);
      const killTakeover = bPublishes - killed;
      console.log(
        `SIGKILL: the standby led after ${((bLeads - killed) / 1000).toFixed(1)} s and published ` +
          `after ${(killTakeover / 1000).toFixed(1)} s`,
      );
      assert(killTakeover < 20_000, `${killTakeover} ms:\n${b.text()}`);
      // 2. a new replica stands by; SIGTERM the leader: the standby publishes within 5 s
      const c = start("helper-c");
      await c.next(/^lease holder: helper-b_/);
      await b.next(published, Date.now() + 2_000);
      const termed = Date.now();
      b.child.kill("SIGTERM");
      const bStatus = await b.done;
      assertEquals(bStatus.code, 0, b.text());
      assert(b.lines.some((l) => l.msg.startsWith("released the lease")), b.text());
      const cPublishes = await c.next(published, termed);
      const termTakeover = cPublishes - termed;
      console.log(`SIGTERM: the standby published after ${(termTakeover / 1000).toFixed(1)} s`);
      assert(termTakeover < 5_000, `${termTakeover} ms:\n${c.text()}`);
      // 3. the API server away longer than the renew deadline: the leader stops before its lease
      //    could expire (≥ 13 s after the stop, the last renewal being at most 2 s before it)
      const d = start("helper-d");
      await d.next(/^lease holder: helper-c_/);
      await c.next(published, Date.now() + 2_000);
      const down = Date.now();
      const restart = cluster.restartApiServer(20_000);
      const lost = await c.next(/^lost the leadership/, down);
      console.log(
        `API server down: the leader stopped after ${((lost - down) / 1000).toFixed(1)} s`,
      );
      assert(lost - down <= 12_500, `${lost - down} ms:\n${c.text()}`);
      // no cycle of the old leader after it gave up
      assert(c.lines.every((l) => !(cycle.test(l.msg) && l.at > lost + 500)), c.text());
      await restart;
      const back = await Promise.race([c.next(published, lost), d.next(published, lost)]);
      console.log(
        `API server back: a leader published again ${
          ((back - down) / 1000).toFixed(1)
        } s after the stop`,
      );
      for (const r of [c, d]) r.child.kill("SIGTERM");
      for (const r of [c, d]) assertEquals((await r.done).code, 0, r.text());
      // 4. over the whole run, one datapoint a second at most, whichever replica sent it
      const counts = await cw.send(
        new GetMetricDataCommand({
          StartTime: new Date(Math.floor(t0 / 1000) * 1000 - 2000),
          EndTime: new Date(Date.now() + 2000),
          ScanBy: "TimestampAscending",
          MetricDataQueries: PUBLISHED.map((name, i) => ({
            Id: `m${i}`,
            MetricStat: {
              Metric: {
                Namespace: "Kubernetes",
                MetricName: name,
                Dimensions: [{ Name: "CLUSTER_ID", Value: "e2e-ha" }],
              },
              Period: 1,
              Stat: "SampleCount",
            },
          })),
        }),
      );
      for (const r of counts.MetricDataResults ?? []) {
        assert((r.Values ?? []).length > 10, `${r.Id}: ${r.Values}`);
        assert((r.Values ?? []).every((v) => v === 1), `${r.Id}: ${r.Values}`);
      }
    } finally {
      for (const r of replicas) {
        try {
          r.child.kill("SIGKILL");
        } catch {
          // already gone
        }
        await r.done;
      }
    }
  }),
);

Deno.test("dashboard --alarms: read back with GetDashboard and DescribeAlarms", opts, async () => {
  await env();
  const run = await runHelper(
    [
      "dashboard",
      "--alarms",
      "--subnets",
      "--subnet-threshold",
      "25",
      "--region",
      REGION,
      "--cluster-id",
      "e2e-cluster",
    ],
    { AWS_EC2_METADATA_DISABLED: "true" },
  );
  assertEquals(run.code, 0, run.stderr.join("\n"));
  const dash = await cw.send(
    new GetDashboardCommand({ DashboardName: "EKS-CNI-metrics-e2e-cluster" }),
  );
  assertEquals(
    JSON.parse(dash.DashboardBody ?? "{}"),
    dashboardBody(
      { region: REGION, clusterId: "e2e-cluster", subnets: true },
      "EKS-CNI-metrics-e2e-cluster",
    ),
  );
  const alarms = await cw.send(
    new DescribeAlarmsCommand({ AlarmNamePrefix: "EKS-CNI-e2e-cluster-" }),
  );
  assertEquals(
    (alarms.MetricAlarms ?? []).map((a) => a.AlarmName).sort(),
    [
      "EKS-CNI-e2e-cluster-ip-utilization",
      "EKS-CNI-e2e-cluster-no-available-ip",
      "EKS-CNI-e2e-cluster-node-headroom",
      "EKS-CNI-e2e-cluster-subnet-low",
    ],
  );
  const low = alarms.MetricAlarms?.find((a) => a.AlarmName?.endsWith("subnet-low"));
  assertEquals(
    [low?.MetricName, low?.ComparisonOperator, low?.Threshold],
    ["minSubnetAvailableIPAddresses", "LessThanThreshold", 25],
  );
  const room = alarms.MetricAlarms?.find((a) => a.AlarmName?.endsWith("node-headroom"));
  assertEquals(
    [room?.MetricName, room?.ComparisonOperator, room?.Threshold, room?.EvaluationPeriods],
    ["nodesNearIPLimit", "GreaterThanThreshold", 0, 3],
  );
  const util = alarms.MetricAlarms?.find((a) => a.AlarmName?.endsWith("ip-utilization"));
  assertEquals(util?.Threshold, 90);
  assertEquals(util?.EvaluationPeriods, 3);
  assertEquals(
    util?.Metrics?.find((m) => m.Id === "utilization")?.Expression,
    "100 * assigned / max",
  );
});
