/**
 * Region and cluster id resolution, one test per row of the order, through
 * the real SDK IMDS and EC2 clients against local endpoints; kubeconfigs from
 * `aws eks update-kubeconfig` and from a non-EKS cluster.
 */

import { assert, assertEquals, assertRejects } from "../support/assert.ts";
import { closedPortUrl, FakeEc2, FakeImds, HangingServer } from "../support/fake_aws.ts";
import { TEST_CREDENTIALS, withWorld, type World } from "../support/harness.ts";
import { drive, FakeClock } from "../support/fake_clock.ts";
import { PER_CYCLE } from "../support/figures.ts";
import { awsNodeText, freshNode } from "../../tools/sim.ts";
import { sdkImds, sdkTagReader } from "../../lib/aws/sdk_clients.ts";
import {
  DEFAULT_CLUSTER_ID,
  eksFromKubeContext,
  IdentityError,
  type IdentityInputs,
  regionFromSharedConfig,
  resolveIdentity,
} from "../../lib/aws/identity.ts";

const opts = {};

interface Env {
  imds: FakeImds;
  ec2: FakeEc2;
  inputs: (over?: Partial<IdentityInputs>) => IdentityInputs;
  close: () => Promise<void>;
}

function env(): Env {
  const imds = new FakeImds("ap-south-1", "i-0abc");
  const ec2 = new FakeEc2();
  return {
    imds,
    ec2,
    inputs: (over = {}) => ({
      clusterId: undefined,
      region: undefined,
      eks: undefined,
      profileRegion: undefined,
      imds: sdkImds({ endpoint: imds.url }),
      ec2: (region) => sdkTagReader(region, { endpoint: ec2.url, credentials: TEST_CREDENTIALS }),
      needRegion: true,
      ...over,
    }),
    close: async () => {
      await imds.close();
      await ec2.close();
    },
  };
}

const eks = {
  region: "eu-north-1",
  clusterName: "from-kubeconfig",
  source: "kubeconfig cluster ARN arn:aws:eks:eu-north-1:123456789012:cluster/from-kubeconfig",
};

const FLAG_REGION = { value: "us-west-2", source: "--region" };
const PROFILE_REGION = { value: "ca-central-1", source: "AWS profile dev in /h/.aws/config" };

// One test per row of the region order; each row's source is present
// together with every later one, so the row must win over them.
const regionRows: [string, Partial<IdentityInputs>, { value: string; source: string }][] = [
  [
    "--region / AWS_REGION / AWS_DEFAULT_REGION (resolved by config)",
    { region: FLAG_REGION, eks, profileRegion: PROFILE_REGION },
    FLAG_REGION,
  ],
  [
    "the EKS kubeconfig context",
    { eks, profileRegion: PROFILE_REGION },
    { value: "eu-north-1", source: eks.source },
  ],
  ["the AWS profile", { profileRegion: PROFILE_REGION }, PROFILE_REGION],
  ["IMDS placement/region (IMDSv2)", {}, { value: "ap-south-1", source: "IMDS placement/region" }],
];

for (const [row, over, want] of regionRows) {
  Deno.test(`region order: ${row}`, opts, async () => {
    const e = env();
    try {
      const id = await resolveIdentity(
        e.inputs({ clusterId: { value: "c", source: "x" }, ...over }),
      );
      assertEquals(id.region, want);
      if (want.source.startsWith("IMDS")) {
        // IMDSv2: a token first; the fake refuses any GET without it
        assertEquals(e.imds.seen[0], "PUT /latest/api/token");
      } else {
        assertEquals(e.imds.seen, [], "IMDS asked although an earlier source answered");
      }
    } finally {
      await e.close();
    }
  });
}

// One test per row of the cluster id order, every later source present too.
const clusterRows: [string, (e: Env) => Partial<IdentityInputs>, [string, string]][] = [
  [
    "--cluster-id / AWS_CLUSTER_ID",
    (e) => {
      e.imds.tags.set("eks:cluster-name", "tag");
      return { clusterId: { value: "flag", source: "--cluster-id" }, eks };
    },
    ["flag", "--cluster-id"],
  ],
  [
    "the EKS kubeconfig context",
    (e) => {
      e.imds.tags.set("eks:cluster-name", "tag");
      return { eks };
    },
    ["from-kubeconfig", eks.source],
  ],
  [
    "IMDS instance tag eks:cluster-name",
    (e) => {
      for (
        const [k, v] of [["eks:cluster-name", "eks-tag"], ["CLUSTER_ID", "id-tag"], ["Name", "n"]]
      ) {
        e.imds.tags.set(k as string, v as string);
      }
      return {};
    },
    ["eks-tag", "IMDS instance tag eks:cluster-name"],
  ],
  [
    "IMDS instance tag CLUSTER_ID",
    (e) => {
      e.imds.tags.set("CLUSTER_ID", "id-tag");
      e.imds.tags.set("Name", "n");
      return {};
    },
    ["id-tag", "IMDS instance tag CLUSTER_ID"],
  ],
  [
    "IMDS instance tag Name",
    (e) => {
      e.imds.tags.set("Name", "name-tag");
      return {};
    },
    ["name-tag", "IMDS instance tag Name"],
  ],
  [
    "EC2 DescribeTags when instance-metadata tags are off",
    (e) => {
      e.imds.tagsEnabled = false;
      e.ec2.tags.set("i-0abc", new Map([["Name", "n"], ["eks:cluster-name", "prod-eks"]]));
      return {};
    },
    ["prod-eks", "EC2 DescribeTags i-0abc tag eks:cluster-name"],
  ],
  [
    "k8s-cluster, with a warning, when no tag names it",
    () => ({}),
    [DEFAULT_CLUSTER_ID, "default"],
  ],
];

for (const [row, setUp, [value, source]] of clusterRows) {
  Deno.test(`cluster id order: ${row}`, opts, async () => {
    const e = env();
    try {
      const id = await resolveIdentity(
        e.inputs({ region: { value: "r", source: "x" }, ...setUp(e) }),
      );
      assertEquals(id.clusterId, { value, source });
      if (source.startsWith("EC2")) {
        assertEquals(e.ec2.seen, [{
          action: "DescribeTags",
          accessKeyId: TEST_CREDENTIALS.accessKeyId,
        }]);
      }
      if (source === "default") {
        assert(id.warnings.some((w) => w.includes("set AWS_CLUSTER_ID")), id.warnings.join("|"));
      } else {
        assertEquals(id.warnings, []);
      }
    } finally {
      await e.close();
    }
  });
}

Deno.test("cluster id: DescribeTags denied, the warning names ec2:DescribeTags", opts, async () => {
  const e = env();
  try {
    e.imds.tagsEnabled = false;
    e.ec2.deny = true;
    const id = await resolveIdentity(e.inputs({ region: { value: "r", source: "x" } }));
    assertEquals(id.clusterId.value, DEFAULT_CLUSTER_ID);
    assert(
      id.warnings.some((w) =>
        w.includes("ec2:DescribeTags") && w.includes("UnauthorizedOperation")
      ),
      id.warnings.join("|"),
    );
    // each source consulted, in order, for the debug log
    assertEquals(id.tried.slice(0, 4), [
      "region from --region, AWS_REGION, AWS_DEFAULT_REGION: r",
      "cluster id from --cluster-id, AWS_CLUSTER_ID: none",
      "cluster id from the kubeconfig's EKS context: none",
      "IMDS from tags/instance: none",
    ]);
    assertEquals(id.tried[4], "IMDS from instance-id: i-0abc");
    assert(
      /^cluster id from EC2 DescribeTags i-0abc: .*UnauthorizedOperation/.test(id.tried[5] ?? ""),
      id.tried.join("|"),
    );
  } finally {
    await e.close();
  }
});

Deno.test(
  "IMDS blocked (closed port, or hanging): a clear error naming the variable, not a hang",
  opts,
  async () => {
    const hanging = new HangingServer();
    try {
      for (const url of [closedPortUrl(), hanging.url]) {
        // the hanging IMDS is given up by the outer deadline, on the fake clock
        const clock = new FakeClock();
        const imds = () => sdkImds({ endpoint: url, clock, timeoutMs: 60_000 });
        const base = {
          clusterId: undefined,
          region: undefined,
          eks: undefined,
          profileRegion: undefined,
          imds: imds(),
          ec2: undefined,
          needRegion: true,
        };
        const tick = () => url === hanging.url && clock.tick(120_000);
        const regionless = assertRejects(() => resolveIdentity(base), IdentityError);
        await hanging.connected(url === hanging.url ? 1 : 0);
        tick();
        const e = await regionless;
        const reason = url === hanging.url
          ? "IMDS unreachable: no answer within 120000 ms"
          : "IMDS unreachable";
        assert(
          e.message.startsWith(`no AWS region: set AWS_REGION (or --region); ${reason}`),
          e.message,
        );
        const clusterless = assertRejects(
          () =>
            resolveIdentity({
              ...base,
              imds: imds(),
              region: { value: "us-east-1", source: "AWS_REGION" },
            }),
          IdentityError,
        );
        await hanging.connected(url === hanging.url ? 2 : 0);
        tick();
        const e2 = await clusterless;
        assert(
          e2.message.startsWith(`no cluster id: set AWS_CLUSTER_ID (or --cluster-id); ${reason}`),
          e2.message,
        );
      }
    } finally {
      hanging.close();
    }
  },
);

Deno.test("IMDS disabled (AWS_EC2_METADATA_DISABLED): the error says so", async () => {
  const e = await assertRejects(
    () =>
      resolveIdentity({
        clusterId: undefined,
        region: { value: "r", source: "AWS_REGION" },
        eks: undefined,
        profileRegion: undefined,
        imds: undefined,
        ec2: undefined,
        needRegion: true,
      }),
    IdentityError,
  );
  assertEquals(
    e.message,
    "no cluster id: set AWS_CLUSTER_ID (or --cluster-id); IMDS is disabled (AWS_EC2_METADATA_DISABLED)",
  );
});

/**
 * `--once` through the whole app with no region anywhere, no AWS
 * credentials and IMDS disabled, on a driven clock (its one sleep is the
 * interval between the two samples).
 */
async function onceWithoutAws(w: World, args: string[]): Promise<number> {
  let n = 0;
  w.api.addPod("aws-node-a", {
    kind: "text",
    body: () => awsNodeText({ ...freshNode(1), addReq: 3 * ++n }),
  });
  const clock = new FakeClock();
  const run = w.run(["--once", "--interval", "1", ...args], {
    clock,
    noRegion: true,
    noCredentials: true,
    extra: { imdsDisabled: true },
  });
  await drive(clock, () => 1, run);
  return await run;
}

Deno.test(
  "--once --dry-run (or --no-cloudwatch) needs no region and no credentials; without, the run names both",
  opts,
  async () => {
    await withWorld(async (w) => {
      assertEquals(await onceWithoutAws(w, ["--dry-run"]), 0, w.logs.join("\n"));
      // the second sample's request, printed: 3 add requests between the two
      assertEquals(w.stdout.length, 1);
      const req = JSON.parse(w.stdout[0] as string);
      assertEquals(req.MetricData.length, PER_CYCLE);
      const add = req.MetricData.find((d: { MetricName: string }) =>
        d.MetricName === "addReqCount"
      );
      assertEquals(add.Value, 3);
      assert(
        w.messages("info").includes(
          "region none (from nowhere: not needed), cluster id test (from --cluster-id)",
        ),
        w.messages("info").join("\n"),
      );
      assertEquals(w.cw.requests.length, 0);
    })();
    await withWorld(async (w) => {
      assertEquals(await onceWithoutAws(w, []), 2);
      // one error naming both, and the way out
      const errors = w.messages("error");
      assertEquals(errors.length, 1, errors.join("\n"));
      const error = errors[0] as string;
      assert(
        error.startsWith("no AWS region: set AWS_REGION (or --region); IMDS is disabled"),
        error,
      );
      assert(error.includes("Also: no AWS credentials for CloudWatch: "), error);
      assert(error.endsWith("or run with --dry-run or --no-cloudwatch"), error);
      // nothing was scraped or sent: it stopped before any cycle
      assertEquals([w.api.counts.list, w.api.counts.proxy, w.cw.requests.length], [0, 0, 0]);
      assertEquals(w.stdout, []);
    })();
    // --no-cloudwatch calls no AWS either
    await withWorld(async (w) => {
      assertEquals(await onceWithoutAws(w, ["--no-cloudwatch"]), 0, w.logs.join("\n"));
      assertEquals([w.api.counts.proxy, w.stdout.length, w.cw.requests.length], [2, 0, 0]);
    })();
  },
);

Deno.test("kubeconfig written by aws eks update-kubeconfig: region and cluster from the ARN", () => {
  const arn = "arn:aws:eks:us-west-2:111122223333:cluster/payments";
  assertEquals(
    eksFromKubeContext({
      contextName: arn,
      clusterName: arn,
      server: "https://ABCDEF.gr7.us-west-2.eks.amazonaws.com",
      exec: {
        command: "aws",
        args: [
          "--region",
          "us-west-2",
          "eks",
          "get-token",
          "--cluster-name",
          "payments",
          "--output",
          "json",
        ],
      },
    }),
    { region: "us-west-2", clusterName: "payments", source: `kubeconfig cluster ARN ${arn}` },
  );
  // renamed context and cluster (eksctl, --alias): the exec args still tell
  assertEquals(
    eksFromKubeContext({
      contextName: "payments",
      clusterName: "payments.us-west-2.eksctl.io",
      server: "https://ABCDEF.gr7.us-west-2.eks.amazonaws.com",
      exec: {
        command: "aws",
        args: ["eks", "get-token", "--cluster-name=payments", "--region=us-west-2"],
      },
    }),
    { region: "us-west-2", clusterName: "payments", source: "kubeconfig exec args (aws)" },
  );
  // aws-iam-authenticator: cluster from -i, region from the server name
  assertEquals(
    eksFromKubeContext({
      contextName: "x",
      clusterName: "x",
      server: "https://ABCDEF.yl4.eu-central-1.eks.amazonaws.com",
      exec: { command: "aws-iam-authenticator", args: ["token", "-i", "orders"] },
    }),
    {
      region: "eu-central-1",
      clusterName: "orders",
      source: "kubeconfig exec args (aws-iam-authenticator)",
    },
  );
  // China partition ARNs too
  assertEquals(
    eksFromKubeContext({
      contextName: "c",
      clusterName: "arn:aws-cn:eks:cn-north-1:111122223333:cluster/cn",
      server: "https://x",
      exec: undefined,
    })?.region,
    "cn-north-1",
  );
});

Deno.test("kubeconfig of a non-EKS cluster: nothing from it", () => {
  assertEquals(
    eksFromKubeContext({
      contextName: "kind-kind",
      clusterName: "kind-kind",
      server: "https://127.0.0.1:6443",
      exec: undefined,
    }),
    undefined,
  );
  assertEquals(
    eksFromKubeContext({
      contextName: "gke",
      clusterName: "gke_proj_zone_c",
      server: "https://34.1.2.3",
      exec: { command: "gke-gcloud-auth-plugin", args: [] },
    }),
    undefined,
  );
});

Deno.test("region from an AWS shared config profile", () => {
  const text = [
    "[default]",
    "region = us-east-1",
    "",
    "[profile dev] ; comment",
    "output = json",
    "region=eu-west-3",
    "[sso-session s]",
    "region = ap-east-1",
  ].join("\n");
  assertEquals(regionFromSharedConfig(text, undefined), "us-east-1");
  assertEquals(regionFromSharedConfig(text, "dev"), "eu-west-3");
  assertEquals(regionFromSharedConfig(text, "missing"), undefined);
});
