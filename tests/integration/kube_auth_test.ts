/**
 * How the helper reaches the API server: an exec credential plugin (how a
 * workstation reaches EKS), the in-cluster service account, contexts.
 */

import { assert, assertEquals } from "../support/assert.ts";
import { passThrough, spawnHelper, withWorld, World } from "../support/harness.ts";
import { awsNodeText, freshNode } from "../../tools/sim.ts";
import type { CycleReport } from "../../lib/model/report.ts";

const opts = {};

Deno.test(
  "an exec credential plugin (aws eks get-token) works from a kubeconfig",
  opts,
  withWorld(async (w) => {
    w.api.textPod("aws-node-a", awsNodeText({ ...freshNode(1), assigned: 7 }));
    // a stand-in `aws` on PATH that prints an ExecCredential, as the AWS CLI does
    const bin = `${w.dir}/bin`;
    Deno.mkdirSync(bin);
    Deno.writeTextFileSync(
      `${bin}/aws`,
      `#!/bin/sh\necho "$@" >> ${w.dir}/aws-calls\ncat <<'JSON'\n${
        JSON.stringify({
          kind: "ExecCredential",
          apiVersion: "client.authentication.k8s.io/v1beta1",
          spec: {},
          status: { token: w.api.token, expirationTimestamp: "2099-01-01T00:00:00Z" },
        })
      }\nJSON\n`,
      { mode: 0o755 },
    );
    w.api.writeKubeconfig(w.kubeconfig, {
      cluster: "arn:aws:eks:eu-north-1:123456789012:cluster/shop-prod",
      context: "arn:aws:eks:eu-north-1:123456789012:cluster/shop-prod",
      exec: {
        command: "aws",
        args: ["--region", "eu-north-1", "eks", "get-token", "--cluster-name", "shop-prod"],
      },
    });
    const out = await spawnHelper(
      ["--kubeconfig", w.kubeconfig, "--once", "--dry-run", "--interval", "1"],
      w.env({ PATH: `${bin}:/usr/bin:/bin` }),
    ).output();
    const stderr = new TextDecoder().decode(out.stderr);
    assertEquals(out.code, 0, stderr);
    const req = JSON.parse(new TextDecoder().decode(out.stdout).trim());
    const datum = req.MetricData.find((d: { MetricName: string }) =>
      d.MetricName === "assignIPAddresses"
    );
    assertEquals(datum.Value, 7);
    // cluster id and region came from the EKS context
    assertEquals(datum.Dimensions, [{ Name: "CLUSTER_ID", Value: "shop-prod" }]);
    assert(stderr.includes("region eu-north-1 (from kubeconfig cluster ARN"), stderr);
    assert(
      Deno.readTextFileSync(`${w.dir}/aws-calls`).includes(
        "eks get-token --cluster-name shop-prod",
      ),
    );
    assert(!stderr.includes(w.api.token), "token logged");
  }),
);

Deno.test(
  "in a pod: the mounted service-account token and CA authenticate the list and the scrapes",
  opts,
  async () => {
    const w = await World.start();
    const saved = ["KUBERNETES_SERVICE_HOST", "KUBERNETES_SERVICE_PORT"].map((
      k,
    ) => [k, Deno.env.get(k)]);
    try {
      w.api.textPod("aws-node-a", awsNodeText({ ...freshNode(1), assigned: 2 }));
      const root = `${w.dir}/root`;
      const sa = `${root}/var/run/secrets/kubernetes.io/serviceaccount`;
      Deno.mkdirSync(sa, { recursive: true });
      Deno.writeTextFileSync(`${sa}/token`, w.api.token);
      Deno.writeTextFileSync(`${sa}/namespace`, "kube-system");
      Deno.copyFileSync(new URL("../../tools/certs/ca.crt", import.meta.url), `${sa}/ca.crt`);
      Deno.env.set("KUBERNETES_SERVICE_HOST", "127.0.0.1");
      Deno.env.set("KUBERNETES_SERVICE_PORT", new URL(w.api.url).port);
      const reports: CycleReport[] = [];
      const stop = new AbortController();
      const parsedArgs = [
        "--listen",
        "127.0.0.1:0",
        "--interval",
        "2",
        "--dry-run",
        "--cluster-id",
        "pod",
        "--region",
        "us-east-1",
      ];
      const { parseConfig } = await import("../../lib/cli/config.ts");
      const { runApp } = await import("../../lib/app/app.ts");
      const { fastClock } = await import("../support/fake_clock.ts");
      const parsed = parseConfig(parsedArgs, {});
      assert(parsed.kind === "run");
      const code = await runApp(parsed.config, {
        version: "test",
        inCluster: true,
        inClusterRoot: root,
        homeKubeconfig: undefined,
        awsConfigFile: undefined,
        imdsDisabled: true,
        writeStdout: () => {},
        shutdown: stop.signal,
        clock: fastClock(10),
        onCycle: (r) => {
          reports.push(r);
          if (reports.length === 2) stop.abort();
        },
      });
      assertEquals(code, 0);
      assertEquals(reports.map((r) => r.scraped), [1, 1]);
      assert(w.messages("info").some((m) => m.includes("in-cluster service account")));
    } finally {
      for (const [k, v] of saved) {
        v === undefined ? Deno.env.delete(k as string) : Deno.env.set(k as string, v);
      }
      await w.close();
    }
  },
);

Deno.test(
  "--context picks a context; an unknown one names the ones there are",
  opts,
  withWorld(async (w) => {
    w.api.textPod("aws-node-a", awsNodeText(freshNode(1)));
    w.api.writeKubeconfig(w.kubeconfig, { context: "staging" });
    assertEquals(
      await w.run(["--once", "--dry-run", "--interval", "1", "--context", "staging"]),
      0,
    );
    assertEquals(await w.run(["--once", "--dry-run", "--context", "prod"]), 1);
    assert(
      w.messages("error").some((m) =>
        m.includes('"--context" "prod" is not in kubeconfig') && m.includes("it has staging")
      ),
      w.messages("error").join("\n"),
    );
  }),
);

Deno.test("no kubeconfig at all: the message says what to set", opts, async () => {
  const r = await spawnHelper(["--once", "--log-format", "text"], {
    PATH: "/usr/bin:/bin",
    ...passThrough(),
  }).output();
  assertEquals(r.code, 1);
  assert(new TextDecoder().decode(r.stderr).includes("no kubeconfig: not running in a pod"));
});
