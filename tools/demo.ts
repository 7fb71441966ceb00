/**
 * `deno task demo`: a simulated cluster in-process (an HTTPS API server with
 * its own CA and ~20 aws-node pods whose figures move over time), and the
 * real helper run against it with `--dry-run`, printing the cluster figures
 * each cycle. Ctrl-C stops both.
 *
 * Flags: --pods N (20), --interval S (5), --cycles N (until Ctrl-C),
 * --once (one `--once --dry-run` run), --quiet (no helper output),
 * --listen ADDR (the helper's endpoints, 127.0.0.1:61681).
 */

import { parseArgs } from "node:util";
import { FakeApiServer } from "./fake_apiserver.ts";
import { passThrough, spawnHelper } from "./spawn.ts";
import { advance, awsNodeText, freshNode, type NodeFigures, prng } from "./sim.ts";

const { values } = parseArgs({
  args: Deno.args,
  options: {
    pods: { type: "string", default: "20" },
    interval: { type: "string", default: "5" },
    cycles: { type: "string" },
    once: { type: "boolean", default: false },
    quiet: { type: "boolean", default: false },
    listen: { type: "string", default: "127.0.0.1:61681" },
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
Deno.mkdirSync(`${dir}/.kube`);
const kubeconfig = `${dir}/.kube/config`;
api.writeKubeconfig(kubeconfig, { context: "demo" });
if (!values.quiet) {
  console.error(
    `demo: simulated cluster with ${pods} aws-node pods at ${api.url}; kubeconfig ${kubeconfig}`,
  );
}

const args = [
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
  "--prometheus",
  ...(values.once ? [] : ["--listen", values.listen]),
  ...(values.once ? ["--once"] : []),
];
if (!values.quiet && !values.once) {
  console.error(`demo: the helper's endpoints: http://${values.listen}/metrics, /healthz, /readyz`);
}
// the helper runs with the start task's permissions, HOME = the demo's folder
const child = spawnHelper(args, {
  ...passThrough(),
  HOME: dir,
  AWS_EC2_METADATA_DISABLED: "true",
});
if (!values.quiet) void child.stderr.pipeTo(Deno.stderr.writable, { preventClose: true });
else void child.stderr.cancel();

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
