/**
 * The subnets' free IPs: nodes and ENIConfigs from the HTTPS fake API
 * server through our client, DescribeInstances and DescribeSubnets through
 * the real EC2 SDK against a local EC2 endpoint (paged: 2 items a page).
 * Missing permissions warn, name the action, and the rest goes on.
 */

import { assert, assertEquals } from "../support/assert.ts";
import { FakeClock } from "../support/fake_clock.ts";
import { FakeEc2 } from "../support/fake_aws.ts";
import { connectTo, TEST_CREDENTIALS } from "../support/harness.ts";
import { FakeApiServer } from "../../tools/fake_apiserver.ts";
import { sdkSubnetEc2 } from "../../lib/aws/sdk_clients.ts";
import { instanceIdOf, kubeSubnetSource, SubnetRefresher } from "../../lib/sources/subnets.ts";
import { setupLogging } from "../../lib/base/logging.ts";

Deno.test("instanceIdOf: the instance id of an EC2 node's providerID, else nothing", () => {
  const cases: [string | undefined, string | undefined][] = [
    ["aws:///us-east-1a/i-0abc123def4567890", "i-0abc123def4567890"],
    ["aws:///eu-west-1b/i-0123", "i-0123"],
    ["aws:///us-east-1a/fargate-ip-10-0-1-2.ec2.internal", undefined],
    ["kind://docker/kind/kind-control-plane", undefined],
    ["", undefined],
    [undefined, undefined],
  ];
  for (const [id, want] of cases) assertEquals(instanceIdOf(id), want, String(id));
});

interface Rig {
  api: FakeApiServer;
  ec2: FakeEc2;
  clock: FakeClock;
  refresher: SubnetRefresher;
  warnings: string[];
}

function withRig(fn: (r: Rig) => Promise<void>): () => Promise<void> {
  return async () => {
    const warnings: string[] = [];
    await setupLogging("debug", "json", (l) => {
      const r = JSON.parse(l);
      if (r.level === "warning") warnings.push(r.msg);
    });
    const api = FakeApiServer.start();
    const ec2 = new FakeEc2();
    const dir = Deno.makeTempDirSync();
    api.writeKubeconfig(`${dir}/config`);
    const conn = await connectTo(`${dir}/config`);
    const clock = new FakeClock();
    const reader = sdkSubnetEc2("us-test-1", { endpoint: ec2.url, credentials: TEST_CREDENTIALS });
    const refresher = new SubnetRefresher(kubeSubnetSource(conn, clock), reader, clock, {
      refreshSeconds: 300,
    });
    // 5 nodes (one on Fargate), their instances' interfaces in 3 subnets
    for (let i = 1; i <= 4; i++) api.nodes.set(`ip-10-0-${i}-1`, `aws:///us-test-1a/i-000${i}`);
    api.nodes.set("fargate-1", "aws:///us-test-1a/fargate-ip-10-0-9-9.ec2.internal");
    ec2.instances.set("i-0001", { subnet: "subnet-a", enis: ["subnet-a", "subnet-b"] });
    ec2.instances.set("i-0002", { subnet: "subnet-a", enis: ["subnet-a"] });
    ec2.instances.set("i-0003", { subnet: "subnet-c", enis: ["subnet-c", "subnet-b"] });
    ec2.instances.set("i-0004", { subnet: "subnet-c", enis: ["subnet-c"] });
    ec2.subnets.set("subnet-a", { zone: "us-test-1a", available: 4000 });
    ec2.subnets.set("subnet-b", { zone: "us-test-1a", available: 37 });
    ec2.subnets.set("subnet-c", { zone: "us-test-1b", available: 251 });
    ec2.subnets.set("subnet-pods", { zone: "us-test-1b", available: 8100 });
    try {
      await fn({ api, ec2, clock, refresher, warnings });
    } finally {
      await refresher.close();
      reader.close();
      conn.close();
      await ec2.close();
      await api.close();
      Deno.removeSync(dir, { recursive: true });
    }
  };
}

const live = () => new AbortController().signal;

Deno.test(
  "every subnet of the nodes' interfaces and of the ENIConfigs, with its free IPs, all pages",
  withRig(async ({ api, ec2, refresher, warnings }) => {
    // no ENIConfig CRD: normal, no warning
    const first = await refresher.refresh(live());
    assertEquals(first.figures, [
      { subnetId: "subnet-a", availabilityZone: "us-test-1a", available: 4000 },
      { subnetId: "subnet-b", availabilityZone: "us-test-1a", available: 37 },
      { subnetId: "subnet-c", availabilityZone: "us-test-1b", available: 251 },
    ]);
    assertEquals(warnings, []);
    // DescribeInstances for 4 instances and DescribeSubnets for 3, 2 a page
    assertEquals(
      ec2.seen.map((s) => s.action),
      ["DescribeInstances", "DescribeInstances", "DescribeSubnets", "DescribeSubnets"],
    );
    // custom networking: the pods' subnet comes from an ENIConfig
    api.eniConfigs = new Map([["us-test-1b", "subnet-pods"]]);
    // a new ENI took IPs from subnet-b
    ec2.subnets.set("subnet-b", { zone: "us-test-1a", available: 36 });
    const second = await refresher.refresh(live());
    assertEquals(second.figures?.map((f) => [f.subnetId, f.available]), [
      ["subnet-a", 4000],
      ["subnet-b", 36],
      ["subnet-c", 251],
      ["subnet-pods", 8100],
    ]);
    assertEquals(refresher.current(), second.figures);
    assertEquals(warnings, []);
  }),
);

Deno.test(
  "ec2:DescribeSubnets denied: one warning naming it; the last read stays for 3 periods, then goes",
  withRig(async ({ ec2, clock, refresher, warnings }) => {
    const good = await refresher.refresh(live());
    ec2.denied.add("DescribeSubnets");
    clock.tick(300_000);
    const r = await refresher.refresh(live());
    assertEquals(r.figures, undefined);
    assertEquals(r.warnings.length, 1);
    assert(
      (r.warnings[0] ?? "").startsWith(
        "subnets: ec2:DescribeSubnets was denied (UnauthorizedOperation: HTTP 403: You are not " +
          "authorized to perform this operation.",
      ) && (r.warnings[0] ?? "").endsWith(
        "grant it to the helper's role (docs/iam-rbac.md, --subnets); the rest of the helper " +
          "goes on",
      ),
      r.warnings[0],
    );
    assertEquals(warnings, r.warnings);
    assertEquals(refresher.current(), good.figures);
    clock.tick(600_001);
    assertEquals(refresher.current(), undefined);
  }),
);

Deno.test(
  "ec2:DescribeInstances denied: named; the subnets found before and the ENIConfigs' are still read",
  withRig(async ({ api, ec2, refresher }) => {
    await refresher.refresh(live());
    ec2.denied.add("DescribeInstances");
    api.eniConfigs = new Map([["us-test-1b", "subnet-pods"]]);
    const r = await refresher.refresh(live());
    assertEquals(r.warnings.length, 1);
    assert((r.warnings[0] ?? "").startsWith("subnets: ec2:DescribeInstances was denied ("));
    assertEquals(r.figures?.map((f) => f.subnetId), [
      "subnet-a",
      "subnet-b",
      "subnet-c",
      "subnet-pods",
    ]);
  }),
);

Deno.test(
  "RBAC: list nodes or list eniconfigs forbidden is a warning naming it and deploy/subnets-rbac.yaml",
  withRig(async ({ api, refresher }) => {
    api.eniConfigs = new Map([["us-test-1b", "subnet-pods"]]);
    api.forbidden.add("nodes");
    const r = await refresher.refresh(live());
    assertEquals(r.warnings.length, 1);
    assert(
      (r.warnings[0] ?? "").startsWith(
        "subnets: listing nodes (RBAC list nodes) was denied (listing nodes (page 1): HTTP 403: " +
          'nodes is forbidden: User "system:serviceaccount:kube-system:cni-metrics-helper" ' +
          'cannot list resource "nodes"',
      ) && (r.warnings[0] ?? "").includes("apply deploy/subnets-rbac.yaml"),
      r.warnings[0],
    );
    // the ENIConfigs' subnet is still read
    assertEquals(r.figures?.map((f) => f.subnetId), ["subnet-pods"]);
    api.forbidden.clear();
    api.forbidden.add("eniconfigs");
    const r2 = await refresher.refresh(live());
    assertEquals(r2.warnings.length, 1);
    assert(
      (r2.warnings[0] ?? "").startsWith(
        "subnets: listing eniconfigs (RBAC list eniconfigs.crd.k8s.amazonaws.com) was denied",
      ),
      r2.warnings[0],
    );
    // the ENIConfig subnet of the last read is kept
    assertEquals(r2.figures?.map((f) => f.subnetId), [
      "subnet-a",
      "subnet-b",
      "subnet-c",
      "subnet-pods",
    ]);
  }),
);

Deno.test(
  "the background refresh runs at start and every --subnet-refresh on the clock",
  withRig(async ({ ec2, clock, refresher }) => {
    refresher.start();
    await clock.sleeping();
    assertEquals(refresher.current()?.find((f) => f.subnetId === "subnet-c")?.available, 251);
    ec2.subnets.set("subnet-c", { zone: "us-test-1b", available: 200 });
    clock.tick(300_000);
    // the next sleep starts once the second read is done
    await clock.sleeping();
    assertEquals(refresher.current()?.find((f) => f.subnetId === "subnet-c")?.available, 200);
  }),
);
