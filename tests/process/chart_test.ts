/**
 * charts/cni-metrics-helper with the pinned helm: `helm lint`, the default
 * render equal to deploy.yaml's objects, and the upstream chart's values
 * (image, env, serviceAccount, resources, scheduling) plus ours doing what
 * they say.
 */

import { loadAll } from "js-yaml";
import { assert, assertEquals } from "../support/assert.ts";
import { HAVE_HELM, helm, HELM_NOTE } from "../support/helm.ts";

const root = new URL("../..", import.meta.url).pathname;
const CHART = `${root}charts/cni-metrics-helper`;
// deno-lint-ignore no-explicit-any
type Obj = any;

const objects = (text: string): Obj[] =>
  (loadAll(text) as Obj[]).filter((d) => d !== null && d !== undefined);
const key = (o: Obj) => `${o.kind}/${o.metadata?.namespace ?? ""}/${o.metadata?.name}`;
const byKey = (list: Obj[]) => Object.fromEntries(list.map((o) => [key(o), o]));

async function render(...set: string[]): Promise<Obj[]> {
  const args = ["template", "cni-metrics-helper", CHART, "--namespace", "kube-system"];
  for (const s of set) {
    args.push(s.startsWith("-") ? s : "--set", ...(s.startsWith("-") ? [] : [s]));
  }
  const r = await helm(args);
  assertEquals(r.code, 0, r.err);
  return objects(r.out);
}

const t = (name: string, fn: () => Promise<void>) =>
  Deno.test({ name: `${name}${HELM_NOTE}`, ignore: !HAVE_HELM, fn });

t("helm lint passes", async () => {
  const r = await helm(["lint", CHART, "--strict", "--namespace", "kube-system"]);
  assertEquals(r.code, 0, r.out + r.err);
  assert(r.out.includes("1 chart(s) linted, 0 chart(s) failed"), r.out);
});

t("the default render is deploy.yaml's objects", async () => {
  const chart = await render();
  const deploy = objects(Deno.readTextFileSync(`${root}deploy.yaml`));
  assertEquals(Object.keys(byKey(chart)).sort(), Object.keys(byKey(deploy)).sort());
  assertEquals(byKey(chart), byKey(deploy));
});

t("the upstream chart's values keep their meaning", async () => {
  const objs = byKey(
    await render(
      "image.override=",
      "image.region=eu-west-1",
      "image.account=111122223333",
      "image.tag=v9.9.9",
      "env.AWS_CLUSTER_ID=prod",
      "env.METRIC_UPDATE_INTERVAL=60",
      "env.USE_PROMETHEUS=true",
      "env.AWS_VPC_K8S_CNI_LOGLEVEL=DEBUG",
      "serviceAccount.annotations.eks\\.amazonaws\\.com/role-arn=arn:aws:iam::1:role/r",
      "resources.limits.memory=1Gi",
      "nodeSelector.pool=system",
      "tolerations[0].key=CriticalAddonsOnly",
      "tolerations[0].operator=Exists",
      "affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms[0].matchExpressions[0].key=arch",
      "affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms[0].matchExpressions[0].operator=Exists",
      "podAnnotations.team=net",
      "podSecurityContext.fsGroup=65532",
      "revisionHistoryLimit=3",
    ),
  );
  const dep = objs["Deployment/kube-system/cni-metrics-helper"];
  const pod = dep.spec.template.spec;
  const c = pod.containers[0];
  assertEquals(c.image, "111122223333.dkr.ecr.eu-west-1.amazonaws.com/cni-metrics-helper:v9.9.9");
  const env = Object.fromEntries(
    c.env.filter((e: Obj) => e.value !== undefined).map((e: Obj) => [
      e.name,
      e.value,
    ]),
  );
  assertEquals(
    [
      env.AWS_CLUSTER_ID,
      env.METRIC_UPDATE_INTERVAL,
      env.USE_PROMETHEUS,
      env.AWS_VPC_K8S_CNI_LOGLEVEL,
    ],
    ["prod", "60", "true", "DEBUG"],
  );
  assertEquals(
    objs["ServiceAccount/kube-system/cni-metrics-helper"].metadata.annotations,
    { "eks.amazonaws.com/role-arn": "arn:aws:iam::1:role/r" },
  );
  assertEquals(c.resources.limits.memory, "1Gi");
  assertEquals(pod.nodeSelector, { "kubernetes.io/os": "linux", pool: "system" });
  assertEquals(pod.tolerations, [{ key: "CriticalAddonsOnly", operator: "Exists" }]);
  assert(pod.affinity.nodeAffinity !== undefined);
  assertEquals(dep.spec.template.metadata.annotations, { team: "net" });
  assertEquals(pod.securityContext.fsGroup, 65532);
  assertEquals(dep.spec.revisionHistoryLimit, 3);
});

t("names: nameOverride, fullnameOverride, an existing service account", async () => {
  const objs = byKey(
    await render("fullnameOverride=cmh", "serviceAccount.create=false", "serviceAccount.name=ops"),
  );
  assert(objs["Deployment/kube-system/cmh"] !== undefined, Object.keys(objs).join(" "));
  assertEquals(objs["ServiceAccount/kube-system/cmh"], undefined);
  assertEquals(objs["Deployment/kube-system/cmh"].spec.template.spec.serviceAccountName, "ops");
  assertEquals(objs["ClusterRoleBinding//cmh"].subjects[0].name, "ops");
  const released = byKey(await render("fullnameOverride=", "nameOverride=cmh"));
  assert(released["Deployment/kube-system/cni-metrics-helper-cmh"] !== undefined);
});

t(
  "ours: replicas, leader election off, direct scraping, subnets, PDB, ServiceMonitor",
  async () => {
    const objs = byKey(
      await render(
        "replicas=1",
        "leaderElection.enabled=false",
        "scrapeVia=direct",
        "subnets.enabled=true",
        "headroomThreshold=5",
        "podDisruptionBudget.enabled=false",
        "serviceMonitor.enabled=true",
        "serviceMonitor.labels.release=prom",
      ),
    );
    const dep = objs["Deployment/kube-system/cni-metrics-helper"];
    assertEquals(dep.spec.replicas, 1);
    const env = Object.fromEntries(
      dep.spec.template.spec.containers[0].env.map((e: Obj) => [e.name, e.value]),
    );
    assertEquals(
      [env.LEADER_ELECTION, env.SCRAPE_VIA, env.USE_SUBNET_METRICS, env.HEADROOM_THRESHOLD],
      ["false", "direct", "true", "5"],
    );
    assertEquals(objs["Role/kube-system/cni-metrics-helper-leader-election"], undefined);
    assertEquals(objs["PodDisruptionBudget/kube-system/cni-metrics-helper"], undefined);
    // direct: no pods/proxy rule
    assertEquals(
      objs["ClusterRole//cni-metrics-helper"].rules.map((r: Obj) => r.resources).flat(),
      ["pods"],
    );
    assertEquals(
      objs["ClusterRole//cni-metrics-helper-subnets"].rules.map((r: Obj) => r.resources).flat(),
      ["nodes", "eniconfigs"],
    );
    assertEquals(objs["Service/kube-system/cni-metrics-helper"].spec.ports[0].port, 61681);
    const sm = objs["ServiceMonitor/kube-system/cni-metrics-helper"];
    assertEquals(sm.metadata.labels.release, "prom");
    assertEquals(sm.spec.endpoints[0].port, "metrics");
    // no breakdown by default: no nodes rule, no BREAKDOWN
    assertEquals(objs["ClusterRole//cni-metrics-helper-nodes"], undefined);
    assertEquals(env.BREAKDOWN, undefined);
    // a breakdown: the variable, and list and watch on nodes
    const grouped = byKey(await render("breakdown={zone,nodegroup}"));
    const genv = Object.fromEntries(
      grouped["Deployment/kube-system/cni-metrics-helper"].spec.template.spec.containers[0].env
        .map((e: Obj) => [e.name, e.value]),
    );
    assertEquals(genv.BREAKDOWN, "zone,nodegroup");
    assertEquals(grouped["ClusterRole//cni-metrics-helper-nodes"].rules, [
      { apiGroups: [""], resources: ["nodes"], verbs: ["list", "watch"] },
    ]);
    assertEquals(
      grouped["ClusterRoleBinding//cni-metrics-helper-nodes"].subjects[0].name,
      "cni-metrics-helper",
    );
    // a Lease name of one's own goes to the flag, and into the Role
    const named = byKey(await render("leaderElection.name=cmh-leader"));
    assertEquals(
      named["Deployment/kube-system/cni-metrics-helper"].spec.template.spec.containers[0].args,
      ["--leader-election-name", "cmh-leader"],
    );
    assertEquals(
      named["Role/kube-system/cni-metrics-helper-leader-election"].rules[1].resourceNames,
      ["cmh-leader"],
    );
  },
);
