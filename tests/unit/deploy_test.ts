/**
 * Shipping: deploy.yaml, the Dockerfile, the permission flags and the Deno
 * pin agree with what the program does.
 */

import { loadAll } from "js-yaml";
import { assert, assertEquals } from "../support/assert.ts";
import { ENV_VARS, parseConfig } from "../../lib/cli/config.ts";
import { makeHandler } from "../../lib/http/server.ts";
import { StatusSink } from "../../lib/outputs/status.ts";
import denoJson from "../../deno.json" with { type: "json" };
import { TEST_CREDENTIALS, World } from "../support/harness.ts";
import { drive, FakeClock } from "../support/fake_clock.ts";
import { FakeEc2 } from "../support/fake_aws.ts";
import { sdkSubnetEc2 } from "../../lib/aws/sdk_clients.ts";
import { Collector } from "../../lib/sources/aws_node.ts";
import { awsNodeText, freshNode } from "../../tools/sim.ts";
import type { Runtime } from "../../lib/app/runtime.ts";

const read = (p: string) => Deno.readTextFileSync(new URL(`../../${p}`, import.meta.url));
// deno-lint-ignore no-explicit-any
type Obj = any;
// a plain YAML parse: a typo in a field name must not vanish into a typed model
const docs: Obj[] = loadAll(read("deploy.yaml")).filter((d: Obj) => d !== null);
const byKind = (kind: string): Obj => {
  const d = docs.find((x) => x.kind === kind);
  assert(d !== undefined, `${kind} missing from deploy.yaml`);
  return d;
};
const deployment = byKind("Deployment");
const pod = deployment.spec.template.spec;
const container = pod.containers[0];

Deno.test("deploy.yaml parses: account, RBAC, the Lease's Role, a PDB, the Deployment", () => {
  assertEquals(docs.map((d) => d.kind), [
    "ServiceAccount",
    "ClusterRole",
    "ClusterRoleBinding",
    "Role",
    "RoleBinding",
    "PodDisruptionBudget",
    "Deployment",
  ]);
  assertEquals(deployment.metadata.namespace, "kube-system");
  const binding = byKind("ClusterRoleBinding");
  assertEquals(binding.roleRef.name, byKind("ClusterRole").metadata.name);
  assertEquals(binding.subjects, [{
    kind: "ServiceAccount",
    name: byKind("ServiceAccount").metadata.name,
    namespace: "kube-system",
  }]);
  assertEquals(pod.serviceAccountName, byKind("ServiceAccount").metadata.name);
});

// --- RBAC: what the code asks of the API server, against what the manifests grant ---

interface Rule {
  apiGroups: string[];
  resources: string[];
  verbs: string[];
  resourceNames?: string[];
}

/** A rule granted to the helper's account: everywhere (ClusterRole) or in one namespace (Role). */
interface Grant {
  readonly rule: Rule;
  readonly namespace: string | undefined;
  readonly from: string;
}

/** The rules the manifests bind to the helper's account (kube-system/cni-metrics-helper). */
function grants(manifests: Obj[]): Grant[] {
  const sa = byKind("ServiceAccount").metadata;
  const out: Grant[] = [];
  for (const b of manifests) {
    if (b.kind !== "ClusterRoleBinding" && b.kind !== "RoleBinding") continue;
    const bound = (b.subjects as Obj[]).some((x) =>
      x.kind === "ServiceAccount" && x.name === sa.name && x.namespace === sa.namespace
    );
    if (!bound) continue;
    const role = manifests.find((r) =>
      r.kind === b.roleRef.kind && r.metadata.name === b.roleRef.name &&
      (r.kind === "ClusterRole" || r.metadata.namespace === b.metadata.namespace)
    );
    assert(role !== undefined, `${b.kind} ${b.metadata.name}: no ${b.roleRef.kind}`);
    const namespace = b.kind === "RoleBinding" ? b.metadata.namespace : undefined;
    for (const rule of role.rules as Rule[]) {
      out.push({ rule, namespace, from: `${role.kind} ${role.metadata.name}` });
    }
  }
  return out;
}

/** What the API server's authorizer sees of a request (client-go's RequestInfo, resource requests). */
interface Attributes {
  readonly verb: string;
  readonly apiGroup: string;
  /** `pods`, or `pods/proxy` for a subresource. */
  readonly resource: string;
  readonly name: string;
  readonly namespace: string | undefined;
}

function attributes(method: string, url: string): Attributes {
  const u = new URL(url, "https://api");
  const parts = u.pathname.split("/").filter((p) => p !== "").map(decodeURIComponent);
  let rest: string[];
  let apiGroup: string;
  if (parts[0] === "api" && parts.length >= 3) {
    [apiGroup, rest] = ["", parts.slice(2)];
  } else if (parts[0] === "apis" && parts.length >= 4) {
    [apiGroup, rest] = [parts[1] as string, parts.slice(3)];
  } else {
    throw new Error(`${method} ${url}: not a resource request (no RBAC rule can grant it)`);
  }
  let namespace: string | undefined;
  if (rest[0] === "namespaces" && rest.length >= 3) {
    namespace = rest[1];
    rest = rest.slice(2);
  }
  const [resource, name = "", sub] = rest as [string, string?, string?];
  const watch = ["1", "true"].includes(u.searchParams.get("watch") ?? "");
  const verbs: Record<string, string> = {
    GET: watch ? "watch" : name === "" ? "list" : "get",
    HEAD: name === "" ? "list" : "get",
    POST: "create",
    PUT: "update",
    PATCH: "patch",
    DELETE: name === "" ? "deletecollection" : "delete",
  };
  const verb = verbs[method];
  assert(verb !== undefined, `${method} ${url}: unknown method`);
  return { verb, apiGroup, resource: sub ? `${resource}/${sub}` : resource, name, namespace };
}

/** Whether a grant allows a request, as the RBAC authorizer decides. */
function allows(g: Grant, a: Attributes): boolean {
  const any = (list: string[], v: string) => list.includes(v) || list.includes("*");
  return (g.namespace === undefined || g.namespace === a.namespace) &&
    any(g.rule.verbs, a.verb) && any(g.rule.apiGroups, a.apiGroup) &&
    any(g.rule.resources, a.resource) &&
    (g.rule.resourceNames === undefined || g.rule.resourceNames.length === 0 ||
      (a.name !== "" && g.rule.resourceNames.includes(a.name)));
}

/**
 * Every request the helper made to the (fake) API server in two cycles and
 * a shutdown, run as the Deployment runs it: its environment, in a pod in
 * kube-system, leader election on. On a driven fake clock: time moves only
 * while every loop waits (`sleepers` of them). It stops after 2 cycles, once
 * the `watches` (resources) are open.
 */
async function requestsOf(
  env: Record<string, string>,
  sleepers: number,
  extra: (w: World) => Partial<Runtime> = () => ({}),
  watches: string[] = ["pods"],
): Promise<Attributes[]> {
  const w = await World.start();
  try {
    w.api.textPod("aws-node-a", awsNodeText(freshNode(1)));
    const clock = new FakeClock();
    const stop = new AbortController();
    let cycles = 0;
    const running = w.run([], {
      env,
      clock,
      shutdown: stop.signal,
      extra: { podName: "cni-metrics-helper-7d9f", podNamespace: "kube-system", ...extra(w) },
      // after 2 cycles, once the watches are open (else after the next cycle)
      onCycle: () => {
        const open = w.api.requests.map((r) => attributes(r.method, r.url))
          .filter((a) => a.verb === "watch").map((a) => a.resource);
        if (++cycles >= 2 && watches.every((x) => open.includes(x))) stop.abort();
      },
    });
    await drive(clock, () => sleepers, running);
    assertEquals(await running, 0, w.logs.join("\n"));
    return w.api.requests.map((r) => attributes(r.method, r.url));
  } finally {
    await w.close();
  }
}

/** deploy.yaml's environment for the helper (the downward API's POD_NAME as a value). */
function deployEnv(): Record<string, string> {
  return Object.fromEntries(
    (container.env as { name: string; value?: string }[]).map((e) => [e.name, e.value ?? "x"]),
  );
}

const show = (a: Attributes) =>
  `${a.verb} ${a.apiGroup === "" ? "" : `${a.apiGroup}/`}${a.resource}` +
  `${a.name === "" ? "" : ` ${a.name}`}${a.namespace === undefined ? "" : ` in ${a.namespace}`}`;

/** Asserts that `grantsOf` allow every request and that each of `used` allowed one. */
function assertAuthorized(requests: Attributes[], all: Grant[], used: Grant[]): void {
  assert(requests.length > 0);
  const denied = requests.filter((a) => !all.some((g) => allows(g, a)));
  assertEquals(denied.map(show), [], "requests the RBAC does not grant");
  // the other way: nothing granted that the code does not use (every verb of every rule)
  for (const g of used) {
    for (const verb of g.rule.verbs) {
      const one = { ...g, rule: { ...g.rule, verbs: [verb] } };
      assert(
        requests.some((a) => allows(one, a)),
        `${g.from} grants ${verb} ${g.rule.resources.join(",")}, which the code never asks`,
      );
    }
  }
}

Deno.test("the ClusterRole grants only what the code uses: list and watch pods, get pods/proxy", () => {
  assertEquals(byKind("ClusterRole").rules, [
    { apiGroups: [""], resources: ["pods"], verbs: ["list", "watch"] },
    { apiGroups: [""], resources: ["pods/proxy"], verbs: ["get"] },
  ]);
});

Deno.test("RBAC: deploy.yaml grants every request the helper makes as deploy.yaml runs it, and no more", async () => {
  const env = deployEnv();
  assertEquals([env["LEADER_ELECTION"], env["USE_SUBNET_METRICS"]], ["true", "false"]);
  // the leader's renewals and its cycles wait on the clock
  const requests = await requestsOf(env, 2);
  const deploy = grants(docs);
  assertAuthorized(requests, deploy, deploy);
  assertEquals([...new Set(requests.map(show))].sort(), [
    "create coordination.k8s.io/leases in kube-system",
    "get coordination.k8s.io/leases cni-metrics-helper in kube-system",
    "get pods/proxy aws-node-a:61678 in kube-system",
    "list pods in kube-system",
    "update coordination.k8s.io/leases cni-metrics-helper in kube-system",
    "watch pods in kube-system",
  ]);
});

Deno.test("RBAC: with --subnets, deploy.yaml and deploy/subnets-rbac.yaml grant every request", async () => {
  const extra: Obj[] = loadAll(read("deploy/subnets-rbac.yaml")).filter((d: Obj) => d !== null);
  const ec2 = new FakeEc2();
  try {
    const env = { ...deployEnv(), USE_SUBNET_METRICS: "true" };
    // the renewals, the cycles and the subnets' refresh wait on the clock
    const requests = await requestsOf(env, 3, (w) => {
      w.api.nodes.set("node-aws-node-a", "aws:///us-test-1a/i-0a");
      w.api.eniConfigs = new Map([["us-test-1a", "subnet-2"]]);
      ec2.instances.set("i-0a", { subnet: "subnet-1", enis: ["subnet-1"] });
      ec2.subnets.set("subnet-1", { zone: "us-test-1a", available: 100 });
      ec2.subnets.set("subnet-2", { zone: "us-test-1a", available: 200 });
      return {
        subnetEc2: (region) =>
          sdkSubnetEc2(region, { endpoint: ec2.url, credentials: TEST_CREDENTIALS }),
      };
    });
    // deploy.yaml alone does not grant them: --subnets is opt-in
    const denied = requests.filter((a) => !grants(docs).some((g) => allows(g, a))).map(show);
    assertEquals([...new Set(denied)].sort(), [
      "list crd.k8s.amazonaws.com/eniconfigs",
      "list nodes",
    ]);
    assertAuthorized(requests, grants([...docs, ...extra]), grants(extra));
  } finally {
    await ec2.close();
  }
});

Deno.test("RBAC: with BREAKDOWN, deploy.yaml and deploy/nodes-rbac.yaml grant every request", async () => {
  const extra: Obj[] = loadAll(read("deploy/nodes-rbac.yaml")).filter((d: Obj) => d !== null);
  const env = { ...deployEnv(), BREAKDOWN: "zone,nodegroup,instance-type" };
  // the renewals and the cycles wait on the clock (the node watch waits on the server)
  const requests = await requestsOf(env, 2, (w) => {
    w.api.nodes.set("node-aws-node-a", "aws:///us-test-1a/i-0a");
    w.api.labelNode("node-aws-node-a", { "topology.kubernetes.io/zone": "us-test-1a" });
    return {};
  }, ["pods", "nodes"]);
  const denied = requests.filter((a) => !grants(docs).some((g) => allows(g, a))).map(show);
  assertEquals([...new Set(denied)].sort(), ["list nodes", "watch nodes"]);
  assertAuthorized(requests, grants([...docs, ...extra]), grants(extra));
});

Deno.test("every variable deploy.yaml sets is one the program reads, with a valid value", () => {
  const env: Record<string, string> = {};
  for (const e of container.env as { name: string; value?: string; valueFrom?: Obj }[]) {
    assert(ENV_VARS.includes(e.name), `${e.name} is not read by the program`);
    env[e.name] = e.value ?? "from-the-downward-api";
  }
  assertEquals(Object.keys(env).sort(), [
    "AWS_CLUSTER_ID",
    "AWS_VPC_K8S_CNI_LOGLEVEL",
    "HEADROOM_THRESHOLD",
    "LEADER_ELECTION",
    "METRIC_UPDATE_INTERVAL",
    "POD_NAME",
    "SCRAPE_VIA",
    "USE_CLOUDWATCH",
    "USE_PROMETHEUS",
    "USE_SUBNET_METRICS",
  ]);
  const r = parseConfig([], env);
  assert(r.kind === "run");
  assertEquals(r.config.intervalSeconds, 30);
  assertEquals(r.config.clusterId, undefined);
  assertEquals(r.config.scrapeVia, "proxy");
});

Deno.test("probes and port match the server: /readyz 503 before the first cycle, 200 after one with data", async () => {
  const [port] = container.ports;
  assertEquals(port, { name: "metrics", containerPort: 61681, protocol: "TCP" });
  const r = parseConfig([], deployEnv());
  assert(r.kind === "run");
  assertEquals(r.config.listen.port, port.containerPort);
  assertEquals(container.livenessProbe.httpGet, { path: "/healthz", port: "metrics" });
  assertEquals(container.readinessProbe.httpGet, { path: "/readyz", port: "metrics" });
  // the status as the app builds it: the identity is resolved before the server binds
  const clock = new FakeClock();
  const status = new StatusSink({
    version: "t",
    intervalSeconds: r.config.intervalSeconds,
    now: () => clock.now(),
  });
  status.identityResolved("prod", "eu-west-1");
  const h = makeHandler({
    status,
    prometheus: false,
    now: () => clock.now(),
    memory: () => ({ rss: 0, heapUsed: 0 }),
  });
  const probe = async (p: { path: string }) => {
    const res = h(new Request(`http://x${p.path}`));
    return [res.status, await res.text()];
  };
  const live = container.livenessProbe.httpGet;
  const ready = container.readinessProbe.httpGet;
  assertEquals((await probe(live))[0], 200);
  assertEquals(await probe(ready), [503, "not ready: no cycle has scraped a pod yet\n"]);
  // one real cycle (the collector over one pod answering the aws-node fixture) reaches the sink
  const aws = Deno.readTextFileSync(new URL("../fixtures/aws-node-v1.data", import.meta.url));
  const target = {
    key: "kube-system/aws-node-a/uid-a",
    name: "aws-node-a",
    namespace: "kube-system",
    node: "node-a",
    podIP: "10.0.0.1",
    running: true,
  };
  const collector = new Collector({
    lister: { list: () => Promise.resolve({ targets: [target], stale: undefined }) },
    scraper: { prepare: () => Promise.resolve(), scrape: () => Promise.resolve(aws) },
    clock,
  }, { scrapeTimeoutSeconds: r.config.scrapeTimeoutSeconds, scrapeConcurrency: 1 });
  const report = await collector.collect(new AbortController().signal);
  assertEquals(report.scraped, 1);
  status.observe(report);
  assertEquals((await probe(live))[0], 200);
  assertEquals(await probe(ready), [200, "ok\n"]);
  // 3 intervals later without another cycle: not ready again
  clock.tick(3 * r.config.intervalSeconds * 1000 + 1000);
  assertEquals((await probe(ready))[0], 503);
  assertEquals((await probe(live))[0], 200);
});

Deno.test("the pod is hardened like kube-state-metrics", () => {
  assertEquals(pod.securityContext.runAsNonRoot, true);
  assertEquals(pod.securityContext.seccompProfile, { type: "RuntimeDefault" });
  assertEquals(container.securityContext, {
    allowPrivilegeEscalation: false,
    readOnlyRootFilesystem: true,
    runAsNonRoot: true,
    capabilities: { drop: ["ALL"] },
  });
  assertEquals(byKind("ServiceAccount").automountServiceAccountToken, false);
  assertEquals(pod.automountServiceAccountToken, true);
  // longer than the 8 s flush deadline plus a cycle's abort
  assert(pod.terminationGracePeriodSeconds > 10);
  for (const k of ["requests", "limits"]) {
    assert(container.resources[k].cpu !== undefined, `${k}.cpu`);
    assert(container.resources[k].memory !== undefined, `${k}.memory`);
  }
});

const tasks = denoJson.tasks as Record<string, string>;
const permissionFlags = (task: string) =>
  (tasks[task] as string).split(/\s+/).filter((t) =>
    t.startsWith("--allow-") || t.startsWith("--deny-")
  );

Deno.test("start and every compile task use the same permission flags, and no blanket ones", () => {
  const start = permissionFlags("start");
  for (const t of ["compile", "compile:amd64", "compile:arm64"]) {
    assertEquals(permissionFlags(t), start, t);
  }
  assert(!start.includes("--allow-all") && !start.includes("-A"));
  assert(!start.includes("--allow-read"), "--allow-read must name paths");
  assert(!start.includes("--allow-run"), "--allow-run must name programs");
  assert(!start.includes("--allow-sys"), "--allow-sys must name calls");
  assert(!start.some((f) => f.startsWith("--allow-write") || f.startsWith("--allow-ffi")));
  assertEquals(
    start.find((f) => f.startsWith("--allow-read=")),
    "--allow-read=/var/run/secrets,$HOME/.kube,$HOME/.aws",
  );
  assert((tasks["compile:amd64"] as string).includes("--target x86_64-unknown-linux-gnu"));
  assert((tasks["compile:arm64"] as string).includes("--target aarch64-unknown-linux-gnu"));
  assert((tasks["start"] as string).endsWith(" main.ts"));
  // a read-only root filesystem: the binary must not try to write V8's code cache
  for (const t of ["compile", "compile:amd64", "compile:arm64"]) {
    assert((tasks[t] as string).includes("--no-code-cache"), t);
  }
});

Deno.test("the Deno pin is one place: .deno-version, read by CI and the Dockerfile, shown in the README", () => {
  const version = read(".deno-version").trim();
  assert(/^\d+\.\d+\.\d+$/.test(version));
  assert(Deno.version.deno === version, `running Deno ${Deno.version.deno}, pinned ${version}`);
  const dockerfile = read("Dockerfile");
  assert(dockerfile.includes('npm install -g "deno@$(cat .deno-version)"'));
  assert(read(".ci/run").includes("cat .deno-version"));
  const readme = read("README.md");
  assert(readme.includes(`npx deno@${version} task test`));
  assert(readme.includes(`npx deno@${version} task demo`));
  const other = [...readme.matchAll(/deno@(\d+\.\d+\.\d+)/g)].map((m) => m[1]);
  assert(other.every((v) => v === version), `README names ${other.join(", ")}`);
});

Deno.test("the Dockerfile: multi-stage, frozen lock, compile per arch, distroless non-root", () => {
  const d = read("Dockerfile");
  const froms = d.split("\n").filter((l) => l.startsWith("FROM "));
  assertEquals(froms.length, 2);
  assert(froms[1]?.includes("gcr.io/distroless/cc-debian12:nonroot"));
  assert(d.includes("deno install --frozen"));
  assert(d.includes('deno task "compile:${TARGETARCH}"'));
  assert(d.includes("USER 65532:65532"));
  assert(d.includes('ENTRYPOINT ["/cni-metrics-helper"]'));
  assert(
    !/^\s*(RUN|SHELL)\b/m.test(d.slice(d.lastIndexOf("FROM "))),
    "no shell in the final stage",
  );
});

Deno.test("deploy/subnets-rbac.yaml: list nodes and eniconfigs, bound to deploy.yaml's account", () => {
  const extra: Obj[] = loadAll(read("deploy/subnets-rbac.yaml")).filter((d: Obj) => d !== null);
  assertEquals(extra.map((d) => d.kind), ["ClusterRole", "ClusterRoleBinding"]);
  assertEquals(extra[0].rules, [
    { apiGroups: [""], resources: ["nodes"], verbs: ["list"] },
    { apiGroups: ["crd.k8s.amazonaws.com"], resources: ["eniconfigs"], verbs: ["list"] },
  ]);
  assertEquals(extra[1].roleRef.name, extra[0].metadata.name);
  assertEquals(extra[1].subjects, [{
    kind: "ServiceAccount",
    name: byKind("ServiceAccount").metadata.name,
    namespace: "kube-system",
  }]);
  // deploy.yaml itself grants nothing on nodes: --subnets is opt-in
  const rules: Obj[] = byKind("ClusterRole").rules;
  assert(rules.every((r) => !r.resources.includes("nodes")), JSON.stringify(rules));
  const env = Object.fromEntries(container.env.map((e: Obj) => [e.name, e.value]));
  assertEquals([env["USE_SUBNET_METRICS"], env["HEADROOM_THRESHOLD"]], ["false", "10"]);
});

Deno.test("two replicas, one publisher: leader election, its Role, a PDB, spread over nodes and zones", () => {
  assertEquals(deployment.spec.replicas, 2);
  const env = Object.fromEntries(container.env.map((e: Obj) => [e.name, e]));
  assertEquals(env["LEADER_ELECTION"].value, "true");
  assertEquals(env["POD_NAME"].valueFrom, { fieldRef: { fieldPath: "metadata.name" } });
  const role = byKind("Role");
  assertEquals(role.metadata.namespace, "kube-system");
  assertEquals(role.rules, [
    { apiGroups: ["coordination.k8s.io"], resources: ["leases"], verbs: ["create"] },
    {
      apiGroups: ["coordination.k8s.io"],
      resources: ["leases"],
      resourceNames: ["cni-metrics-helper"],
      verbs: ["get", "update"],
    },
  ]);
  const rb = byKind("RoleBinding");
  assertEquals([rb.roleRef.kind, rb.roleRef.name], ["Role", role.metadata.name]);
  assertEquals(rb.subjects[0].name, byKind("ServiceAccount").metadata.name);
  const pdb = byKind("PodDisruptionBudget");
  assertEquals(pdb.spec.maxUnavailable, 1);
  assertEquals(pdb.spec.selector.matchLabels, deployment.spec.selector.matchLabels);
  assertEquals(
    pod.topologySpreadConstraints.map((t: Obj) => t.topologyKey),
    ["kubernetes.io/hostname", "topology.kubernetes.io/zone"],
  );
  // nothing cluster-wide beyond what scraping needs
  const cr = byKind("ClusterRole");
  assert(cr.rules.every((r: Obj) => r.resources.every((x: string) => x.startsWith("pods"))));
  // the config the pod gets: leader election on, the Lease in the pod's namespace
  const r = parseConfig([], { LEADER_ELECTION: "true" });
  assert(r.kind === "run" && r.config.leaderElection);
});
