/**
 * `deno task demo`: a simulated cluster in-process (an HTTPS API server with
 * its own CA and ~20 aws-node pods whose figures move over time), and the
 * real helper run against it with `--dry-run`, printing the cluster figures
 * each cycle. Ctrl-C stops both.
 *
 * Flags: --pods N (20), --interval S (5), --cycles N (until Ctrl-C),
 * --once (one `--once --dry-run` run), --quiet (no helper output; for the benchmark).
 */

import { parseArgs } from "node:util";
import { FakeApiServer } from "../tests/support/fake_apiserver.ts";
import { passThrough } from "../tests/support/harness.ts";
import { advance, awsNodeText, freshNode, type NodeFigures, prng } from "../tests/support/sim.ts";
import denoJson from "../deno.json" with { type: "json" };

const { values } = parseArgs({
  args: Deno.args,
  options: {
    pods: { type: "string", default: "20" },
    interval: { type: "string", default: "5" },
    cycles: { type: "string" },
    once: { type: "boolean", default: false },
    quiet: { type: "boolean", default: false },
  },
});
const pods = Number(values.pods);
const interval = Number(values.interval);
if (!Number.isInteger(pods) || pods < 1) {
  console.error(`demo: "--pods" must be a whole number >= 1: got ${values.pods}`);
  Deno.exit(2);
}
if (!(interval > 0)) {
  console.error(`demo: "--interval" must be > 0: got ${values.interval}`);
  Deno.exit(2);
}

const rnd = prng(42);
const now = () => Math.floor(Date.now() / 1000);
const api = FakeApiServer.start();
const figures: NodeFigures[] = [];
for (let i = 0; i < pods; i++) {
  const f = freshNode(now() - 86_400);
  f.addReq = Math.floor(rnd() * 500);
  f.delReq = Math.floor(f.addReq * 0.9);
  figures.push(f);
  api.addPod(`aws-node-${String(i).padStart(5, "0")}`, {
    kind: "text",
    body: () => awsNodeText(f),
  });
}
// a few pods of other apps that must not be scraped
api.textPod("coredns-6d4b", "not metrics", { labels: { "k8s-app": "kube-dns" } });
const mover = setInterval(() => figures.forEach((f) => advance(f, rnd, now())), interval * 500);

const dir = Deno.makeTempDirSync({ prefix: "cni-demo-" });
const kubeconfig = `${dir}/kubeconfig`;
api.writeKubeconfig(kubeconfig, { context: "demo" });
if (!values.quiet) {
  console.error(
    `demo: simulated cluster with ${pods} aws-node pods at ${api.url}; kubeconfig ${kubeconfig}`,
  );
}

const task = (denoJson.tasks as Record<string, string>)["start"] as string;
const perms = task.split(/\s+/).filter((t) => t.startsWith("--allow-"));
const args = [
  "run",
  "--quiet",
  ...perms,
  new URL("../main.ts", import.meta.url).pathname,
  "--kubeconfig",
  kubeconfig,
  "--dry-run",
  "--cluster-id",
  "demo-cluster",
  "--region",
  "us-east-1",
  "--interval",
  String(interval),
  "--log-format",
  "text",
  ...(values.once ? ["--once"] : []),
];
const child = new Deno.Command(Deno.execPath(), {
  args,
  env: { ...passThrough(), AWS_EC2_METADATA_DISABLED: "true" },
  stdin: "null",
  stdout: "piped",
  stderr: values.quiet ? "null" : "inherit",
}).spawn();

let requests = 0;
const maxCycles = values.cycles === undefined ? Infinity : Number(values.cycles);
const stopAll = () => {
  try {
    child.kill("SIGTERM");
  } catch {
    // already gone
  }
};
Deno.addSignalListener("SIGINT", stopAll);
const reading = (async () => {
  let rest = "";
  for await (const chunk of child.stdout.pipeThrough(new TextDecoderStream())) {
    rest += chunk;
    let i;
    while ((i = rest.indexOf("\n")) >= 0) {
      const line = rest.slice(0, i);
      rest = rest.slice(i + 1);
      const req = JSON.parse(line) as { MetricData: unknown[] };
      requests++;
      if (!values.quiet) {
        console.error(
          `demo: would send PutMetricData #${requests} with ${req.MetricData.length} datums`,
        );
      }
      if (requests * 2 >= maxCycles) stopAll();
    }
  }
})();
const status = await child.status;
await reading;
clearInterval(mover);
await api.close();
Deno.removeSync(dir, { recursive: true });
Deno.exit(status.code);
