/**
 * The user guide's four situations and the AWS SDK's credential chain,
 * verified end to end: main.ts as a process with the `start` task's
 * permissions, against local IMDSv2, EC2, STS, container-credentials and
 * CloudWatch endpoints. The CloudWatch fake records which access key id and
 * region signed each request.
 */

import { assert, assertEquals } from "../support/assert.ts";
import { spawnHelper, World } from "../support/harness.ts";
import {
  closedPortUrl,
  FakeContainerCredentials,
  FakeEc2,
  FakeImds,
  FakeSts,
} from "../support/fake_aws.ts";
import { awsNodeText, freshNode } from "../../tools/sim.ts";

const opts = {};

interface Aws {
  w: World;
  imds: FakeImds;
  ec2: FakeEc2;
  sts: FakeSts;
  cc: FakeContainerCredentials;
  /** env without static keys, IMDS and EC2 pointed at the fakes */
  env: (extra?: Record<string, string>) => Record<string, string>;
  run: (args: string[], env: Record<string, string>) => Promise<{ code: number; stderr: string }>;
  close: () => Promise<void>;
}

async function aws(): Promise<Aws> {
  const w = await World.start();
  let n = 0;
  w.api.addPod("aws-node-a", {
    kind: "text",
    body: () => awsNodeText({ ...freshNode(1), assigned: 3, addReq: 2 * n++ }),
  });
  const imds = new FakeImds("ap-south-1", "i-0guide");
  const ec2 = new FakeEc2();
  const sts = new FakeSts("irsa-projected-token");
  const cc = new FakeContainerCredentials("pod-identity-token-value");
  Deno.mkdirSync(`${w.dir}/.aws`);
  return {
    w,
    imds,
    ec2,
    sts,
    cc,
    env: (extra = {}) => {
      const e = w.env({
        AWS_EC2_METADATA_SERVICE_ENDPOINT: imds.url,
        AWS_ENDPOINT_URL_EC2: ec2.url,
        AWS_ENDPOINT_URL_STS: sts.url,
      });
      delete e["AWS_EC2_METADATA_DISABLED"];
      delete e["AWS_ACCESS_KEY_ID"];
      delete e["AWS_SECRET_ACCESS_KEY"];
      return { ...e, ...extra };
    },
    run: async (args, env) => {
      const out = await spawnHelper(
        [
          "--kubeconfig",
          w.kubeconfig,
          "--once",
          "--interval",
          "1",
          ...args,
        ],
        env,
      ).output();
      return { code: out.code, stderr: new TextDecoder().decode(out.stderr) };
    },
    close: async () => {
      await Promise.all([w.close(), imds.close(), ec2.close(), sts.close(), cc.close()]);
    },
  };
}

function startLine(stderr: string): string {
  return stderr.split("\n").find((l) => l.includes('"msg":"region ')) ?? "(no start-up line)";
}

function published(
  a: Aws,
): { region: string | undefined; key: string | undefined; cluster: string | undefined } {
  const r = a.w.cw.requests.find((x) => x.status === 200);
  const d = a.w.cw.datums[0];
  return { region: r?.region, key: r?.accessKeyId, cluster: d?.Dimensions[0]?.Value };
}

Deno.test(
  "guide 1: no IRSA: region and cluster id from IMDS, credentials from the instance role",
  opts,
  async () => {
    const a = await aws();
    try {
      a.imds.tags.set("eks:cluster-name", "guide-one");
      a.imds.role = { name: "eks-node-role", accessKeyId: "ASIAINSTANCEROLE" };
      const r = await a.run([], a.env());
      assertEquals(r.code, 0, r.stderr);
      assertEquals(published(a), {
        region: "ap-south-1",
        key: "ASIAINSTANCEROLE",
        cluster: "guide-one",
      });
      assert(
        startLine(r.stderr).includes(
          "region ap-south-1 (from IMDS placement/region), cluster id guide-one (from IMDS instance tag eks:cluster-name)",
        ),
        startLine(r.stderr),
      );
    } finally {
      await a.close();
    }
  },
);

Deno.test(
  "guide 2: IRSA without AWS_CLUSTER_ID: cluster id from IMDS, credentials from STS",
  opts,
  async () => {
    const a = await aws();
    try {
      a.imds.tagsEnabled = false; // instance-metadata tags off: DescribeTags
      a.ec2.tags.set("i-0guide", new Map([["eks:cluster-name", "guide-two"]]));
      Deno.writeTextFileSync(`${a.w.dir}/.aws/irsa-token`, "irsa-projected-token");
      const r = await a.run(
        [],
        a.env({
          AWS_REGION: "us-east-2",
          AWS_ROLE_ARN: "arn:aws:iam::123456789012:role/cni-metrics-helper",
          AWS_WEB_IDENTITY_TOKEN_FILE: `${a.w.dir}/.aws/irsa-token`,
        }),
      );
      assertEquals(r.code, 0, r.stderr);
      assertEquals(published(a), {
        region: "us-east-2",
        key: "ASIAIRSAEXAMPLE",
        cluster: "guide-two",
      });
      // one AssumeRoleWithWebIdentity per SDK client (EC2 for the tags, CloudWatch)
      assertEquals(
        a.sts.assumed,
        Array(2).fill("arn:aws:iam::123456789012:role/cni-metrics-helper"),
      );
      // DescribeTags was signed with the IRSA credentials
      assertEquals(a.ec2.seen.map((s) => s.accessKeyId), ["ASIAIRSAEXAMPLE"]);
      assert(
        startLine(r.stderr).includes("(from EC2 DescribeTags i-0guide tag eks:cluster-name)"),
        startLine(r.stderr),
      );
      assert(!r.stderr.includes("irsa-projected-token") && !r.stderr.includes("irsa-secret"));
    } finally {
      await a.close();
    }
  },
);

Deno.test(
  "guide 3: IMDS blocked and no AWS_CLUSTER_ID: exit 2 naming AWS_CLUSTER_ID",
  opts,
  async () => {
    const a = await aws();
    try {
      Deno.writeTextFileSync(`${a.w.dir}/.aws/irsa-token`, "irsa-projected-token");
      const r = await a.run(
        ["--log-format", "text"],
        a.env({
          AWS_REGION: "us-east-2",
          AWS_ROLE_ARN: "arn:aws:iam::123456789012:role/cni-metrics-helper",
          AWS_WEB_IDENTITY_TOKEN_FILE: `${a.w.dir}/.aws/irsa-token`,
          AWS_EC2_METADATA_SERVICE_ENDPOINT: closedPortUrl(),
        }),
      );
      assertEquals(r.code, 2, r.stderr);
      assert(
        r.stderr.includes("no cluster id: set AWS_CLUSTER_ID (or --cluster-id); IMDS unreachable"),
        r.stderr,
      );
      assert(!r.stderr.includes("    at "), "stack trace in the output");
      assertEquals(a.w.cw.requests.length, 0);
    } finally {
      await a.close();
    }
  },
);

Deno.test("guide 4: IMDS reachable and AWS_CLUSTER_ID set: AWS_CLUSTER_ID wins", opts, async () => {
  const a = await aws();
  try {
    a.imds.tags.set("eks:cluster-name", "from-tags");
    a.imds.role = { name: "r", accessKeyId: "ASIAINSTANCEROLE" };
    const r = await a.run([], a.env({ AWS_CLUSTER_ID: "from-env" }));
    assertEquals(r.code, 0, r.stderr);
    assertEquals(published(a).cluster, "from-env");
    assert(startLine(r.stderr).includes("cluster id from-env (from AWS_CLUSTER_ID)"));
    assert(
      !a.imds.seen.some((s) => s.includes("tags/instance")),
      "tags read although AWS_CLUSTER_ID was set",
    );
  } finally {
    await a.close();
  }
});

Deno.test(
  "credentials: EKS Pod Identity's container endpoint, with its authorization token",
  opts,
  async () => {
    const a = await aws();
    try {
      Deno.writeTextFileSync(`${a.w.dir}/.aws/pod-identity-token`, "pod-identity-token-value");
      const r = await a.run(
        ["--cluster-id", "pi"],
        a.env({
          AWS_REGION: "eu-west-1",
          AWS_CONTAINER_CREDENTIALS_FULL_URI: a.cc.url,
          AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE: `${a.w.dir}/.aws/pod-identity-token`,
        }),
      );
      assertEquals(r.code, 0, r.stderr);
      assertEquals(published(a), { region: "eu-west-1", key: "ASIAPODIDENTITY", cluster: "pi" });
      assertEquals(a.cc.seen, ["pod-identity-token-value"]);
    } finally {
      await a.close();
    }
  },
);

Deno.test("credentials: static keys from the environment", opts, async () => {
  const a = await aws();
  try {
    const r = await a.run(
      ["--cluster-id", "k", "--region", "us-west-1"],
      a.env({
        AWS_ACCESS_KEY_ID: "AKIASTATICENV",
        AWS_SECRET_ACCESS_KEY: "static-secret",
      }),
    );
    assertEquals(r.code, 0, r.stderr);
    assertEquals(published(a), { region: "us-west-1", key: "AKIASTATICENV", cluster: "k" });
    assert(!r.stderr.includes("static-secret"));
  } finally {
    await a.close();
  }
});

Deno.test(
  "credentials and region: a named profile from a laptop (--profile, AWS_PROFILE)",
  opts,
  async () => {
    const a = await aws();
    try {
      Deno.writeTextFileSync(
        `${a.w.dir}/.aws/credentials`,
        "[default]\naws_access_key_id = AKIADEFAULT\naws_secret_access_key = d\n\n[dev]\naws_access_key_id = AKIAPROFILEDEV\naws_secret_access_key = dev-secret\n",
      );
      Deno.writeTextFileSync(
        `${a.w.dir}/.aws/config`,
        "[default]\nregion = us-east-1\n\n[profile dev]\nregion = sa-east-1\n",
      );
      const blocked = { AWS_EC2_METADATA_SERVICE_ENDPOINT: closedPortUrl() };
      const viaFlag = await a.run(["--profile", "dev", "--cluster-id", "laptop"], a.env(blocked));
      assertEquals(viaFlag.code, 0, viaFlag.stderr);
      assertEquals(published(a), { region: "sa-east-1", key: "AKIAPROFILEDEV", cluster: "laptop" });
      assert(
        startLine(viaFlag.stderr).includes("region sa-east-1 (from AWS profile dev in"),
        startLine(viaFlag.stderr),
      );
      a.w.cw.requests.length = 0;
      a.w.cw.datums.length = 0;
      const viaEnv = await a.run(
        ["--cluster-id", "laptop"],
        a.env({ ...blocked, AWS_PROFILE: "dev" }),
      );
      assertEquals(viaEnv.code, 0, viaEnv.stderr);
      assertEquals(published(a), { region: "sa-east-1", key: "AKIAPROFILEDEV", cluster: "laptop" });
    } finally {
      await a.close();
    }
  },
);

Deno.test(
  "no cluster id anywhere but IMDS reachable: k8s-cluster with a warning saying what to set",
  opts,
  async () => {
    const a = await aws();
    try {
      a.imds.role = { name: "r", accessKeyId: "ASIAINSTANCEROLE" };
      a.ec2.deny = true;
      const r = await a.run([], a.env());
      assertEquals(r.code, 0, r.stderr);
      assertEquals(published(a).cluster, "k8s-cluster");
      const warn = r.stderr.split("\n").filter((l) => l.includes('"level":"warning"')).join("\n");
      assert(
        warn.includes("ec2:DescribeTags") &&
          warn.includes('using \\"k8s-cluster\\"; set AWS_CLUSTER_ID'),
        warn,
      );
    } finally {
      await a.close();
    }
  },
);

Deno.test(
  "no credentials anywhere: exit 1 at start naming each source tried, before any port is bound",
  opts,
  async () => {
    const a = await aws();
    try {
      // IMDS answers (region, instance id) but the instance has no role
      const out = await spawnHelper(
        [
          "--kubeconfig",
          a.w.kubeconfig,
          "--cluster-id",
          "c",
          "--interval",
          "1",
          "--listen",
          "127.0.0.1:0",
          "--log-level",
          "debug",
        ],
        a.env(),
      ).output();
      const stderr = new TextDecoder().decode(out.stderr);
      assertEquals(out.code, 1, stderr);
      const lines = stderr.trim().split("\n").map((l) => JSON.parse(l));
      assert(lines.every((l) => !String(l.msg).startsWith("serving ")), stderr);
      const last = lines[lines.length - 1];
      assertEquals(last.level, "error");
      assert(
        String(last.msg).startsWith(
          "no AWS credentials for CloudWatch: AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY not set; " +
            `no profile default in ${a.w.dir}/.aws/credentials or ${a.w.dir}/.aws/config;`,
        ) && String(last.msg).endsWith("or run with --dry-run or --no-cloudwatch"),
        last.msg,
      );
      assertEquals(a.w.cw.requests.length, 0);
      assertEquals(a.w.api.counts.proxy, 0);
    } finally {
      await a.close();
    }
  },
);
