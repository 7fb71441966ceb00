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

Deno.test("the ClusterRole grants only what the code uses: list and watch pods, get pods/proxy", () => {
  assertEquals(byKind("ClusterRole").rules, [
    { apiGroups: [""], resources: ["pods"], verbs: ["list", "watch"] },
    { apiGroups: [""], resources: ["pods/proxy"], verbs: ["get"] },
  ]);
  // the code asks for nothing else of the API server: pods (list, watch) and the pod proxy
  const pods = Deno.readTextFileSync(new URL("../../lib/kube/list_watch.ts", import.meta.url));
  assert(pods.includes('watch: "1"') && !/method:\s*"(POST|PUT|PATCH|DELETE)"/.test(pods));
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

Deno.test("probes and port match the server", async () => {
  const [port] = container.ports;
  assertEquals(port, { name: "metrics", containerPort: 61681, protocol: "TCP" });
  const r = parseConfig([], {});
  assert(r.kind === "run");
  assertEquals(r.config.listen.port, port.containerPort);
  assertEquals(container.livenessProbe.httpGet, { path: "/healthz", port: "metrics" });
  assertEquals(container.readinessProbe.httpGet, { path: "/readyz", port: "metrics" });
  const h = makeHandler({
    status: new StatusSink({ version: "t", intervalSeconds: 30, now: () => 0 }),
    prometheus: false,
    now: () => 0,
    memory: () => ({ rss: 0, heapUsed: 0 }),
  });
  const live = h(new Request(`http://x${container.livenessProbe.httpGet.path}`));
  assertEquals(live.status, 200);
  const ready = h(new Request(`http://x${container.readinessProbe.httpGet.path}`));
  assertEquals(ready.status, 503);
  assertEquals(await ready.text(), "not ready: region and cluster id are not resolved yet\n");
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
