/**
 * `deno task demo`: a simulated cluster in-process (an HTTPS API server with
 * its own CA and ~20 aws-node pods whose figures move over time), and the
 * real helper run against it with `--dry-run`, printing the cluster figures
 * each cycle. Ctrl-C stops both.
 *
 * Flags: see `deno task demo --help`. A busy `--listen` port is replaced by a
 * free one; Ctrl-C and SIGTERM both stop the helper and remove the temporary
 * kubeconfig.
 */

import { parseArgs } from "node:util";
import { FakeApiServer } from "./fake_apiserver.ts";
import { passThrough, spawnHelper } from "./spawn.ts";
import { advance, awsNodeText, freshNode, type NodeFigures, prng } from "./sim.ts";

const USAGE = `Usage: deno task demo [--pods N] [--interval S] [--cycles N] [--once] [--quiet]
                      [--listen HOST:PORT]

A simulated EKS cluster (an HTTPS API server with its own CA and N aws-node
pods whose figures move) and the real helper against it, with --dry-run: each
PutMetricData request it would send is printed on stdout as one JSON line
instead (nothing is sent). Ctrl-C or SIGTERM
stops both and removes the demo's temporary kubeconfig.

  --pods N          simulated aws-node pods (default 20)
  --interval S      seconds between the helper's cycles (default 5)
  --cycles N        stop after N cycles (default: until stopped)
  --once            one --once run of the helper
  --quiet           no helper output
  --listen H:P      the helper's /metrics, /healthz, /readyz (default 127.0.0.1:61681;
                    a busy port is replaced by a free one, and the demo says so)
  --help            this text`;

function fail(message: string): never {
  console.error(`demo: ${message}`);
  Deno.exit(2);
}

let parsed;
try {
  parsed = parseArgs({
    // "--pods -3": a negative number is the flag's value (parseArgs would take it for a flag)
    args: Deno.args.map((a, i) =>
      /^-\d/.test(a) && /^--[a-z]+$/.test(Deno.args[i - 1] ?? "") ? `=${a}` : a
    ).reduce<string[]>((out, a) => {
      if (a.startsWith("=-")) out[out.length - 1] += a;
      else out.push(a);
      return out;
    }, []),
    options: {
      pods: { type: "string", default: "20" },
      interval: { type: "string", default: "5" },
      cycles: { type: "string" },
      once: { type: "boolean", default: false },
      quiet: { type: "boolean", default: false },
      listen: { type: "string", default: "127.0.0.1:61681" },
      help: { type: "boolean", default: false },
    },
  });
} catch (e) {
  const msg = e instanceof Error ? e.message : String(e);
  const unknown = /Unknown option '([^']+)'/.exec(msg);
  const missing = /Option '(--[a-z]+)[^']*' argument missing/.exec(msg);
  fail(
    unknown
      ? `unknown flag "${unknown[1]}": see --help`
      : missing
      ? `"${missing[1]}" needs a value: see --help`
      : `${msg.split(". ")[0]}: see --help`,
  );
}
const { values } = parsed;
if (values.help) {
  console.log(USAGE);
  Deno.exit(0);
}
const pods = Number(values.pods);
const interval = Number(values.interval);
if (!Number.isInteger(pods) || pods < 1) {
  fail(`"--pods" must be a whole number >= 1: got ${values.pods}`);
}
if (!(interval >= 1 && interval <= 3600)) {
  fail(`"--interval" must be from 1 to 3600: got ${values.interval}`);
}
if (
  values.cycles !== undefined &&
  !(Number.isInteger(Number(values.cycles)) && Number(values.cycles) > 0)
) {
  fail(`"--cycles" must be a whole number >= 1: got ${values.cycles}`);
}
const listenMatch = /^(.*):(\d+)$/.exec(values.listen);
if (listenMatch === null) fail(`"--listen" must be HOST:PORT: got ${values.listen}`);
const listenHost = listenMatch[1] === "" ? "127.0.0.1" : listenMatch[1] as string;
let listenPort = Number(listenMatch[2]);

/** The port, or a free one when it is taken (another demo, a helper already running). */
function freePort(host: string, port: number): number {
  try {
    Deno.listen({ hostname: host, port }).close();
    return port;
  } catch (e) {
    if (!(e instanceof Deno.errors.AddrInUse)) throw e;
    const l = Deno.listen({ hostname: host, port: 0 });
    const free = (l.addr as Deno.NetAddr).port;
    l.close();
    console.error(`demo: port ${port} is busy: the helper listens on ${host}:${free} instead`);
    return free;
  }
}
if (!values.once) listenPort = freePort(listenHost, listenPort);
const listen = `${listenHost}:${listenPort}`;

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
  ...(values.once ? [] : ["--prometheus", "--listen", listen]),
  ...(values.once ? ["--once"] : []),
];
if (!values.quiet && !values.once) {
  console.error(`demo: the helper's endpoints: http://${listen}/metrics, /healthz, /readyz`);
}
// the helper runs with the start task's permissions, HOME = the demo's folder
const child = spawnHelper(args, {
  ...passThrough(),
  HOME: dir,
  AWS_EC2_METADATA_DISABLED: "true",
});
let requests = 0;
let cycles = 0;
const maxCycles = values.cycles === undefined ? Infinity : Number(values.cycles);
const stopAll = () => {
  try {
    child.kill("SIGTERM");
  } catch {
    // already gone
  }
};
// Ctrl-C and SIGTERM alike: the helper flushes and exits, then the demo cleans up
Deno.addSignalListener("SIGINT", stopAll);
Deno.addSignalListener("SIGTERM", stopAll);
/** Calls `onLine` for each line of a stream. */
async function lines(stream: ReadableStream<Uint8Array>, onLine: (line: string) => void) {
  let rest = "";
  for await (const chunk of stream.pipeThrough(new TextDecoderStream())) {
    rest += chunk;
    let i;
    while ((i = rest.indexOf("\n")) >= 0) {
      onLine(rest.slice(0, i));
      rest = rest.slice(i + 1);
    }
  }
}
const encoder = new TextEncoder();
// the helper's log: shown, and its cycle lines counted (--cycles N stops after the Nth)
const logging = lines(child.stderr, (line) => {
  if (!values.quiet) Deno.stderr.writeSync(encoder.encode(`${line}\n`));
  if (/ cycle: /.test(line) && ++cycles === maxCycles) stopAll();
});
// each request the helper would send, printed on stdout as it came
const reading = lines(child.stdout, (line) => {
  const req = JSON.parse(line) as { MetricData: unknown[] };
  requests++;
  try {
    Deno.stdout.writeSync(encoder.encode(`${line}\n`));
  } catch (e) {
    // a reader that went away (`| head`) stops the printing, not the demo
    if (!(e instanceof Deno.errors.BrokenPipe)) throw e;
  }
  if (!values.quiet) {
    console.error(
      `demo: PutMetricData request #${requests} (${req.MetricData.length} datums) printed on ` +
        `stdout; nothing sent`,
    );
  }
});
const status = await child.status;
await reading;
await logging;
clearInterval(mover);
await api.close();
Deno.removeSync(dir, { recursive: true });
Deno.exit(status.code);
