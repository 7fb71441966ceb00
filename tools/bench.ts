/**
 * `deno task bench [N ...]`: wall time and peak RSS of one
 * `--once --dry-run` run of the helper (as a subprocess, with the `start`
 * task's permissions) against the simulated cluster with N aws-node pods
 * (default: 20 and 1000). Prints figures; asserts nothing.
 */

import { FakeApiServer } from "./fake_apiserver.ts";
import { passThrough, spawnHelper } from "./spawn.ts";
import { awsNodeText, freshNode } from "./sim.ts";

const sizes = Deno.args.length > 0 ? Deno.args.map(Number) : [20, 1000];
const interval = 1;

function peakRssKiB(pid: number): number | undefined {
  try {
    const status = Deno.readTextFileSync(`/proc/${pid}/status`);
    const m = /VmHWM:\s+(\d+) kB/.exec(status);
    return m ? Number(m[1]) : undefined;
  } catch {
    return undefined;
  }
}

console.log("pods  wall_s  cycle1_ms  cycle2_ms  peak_rss_MiB  exit");
for (const n of sizes) {
  const api = FakeApiServer.start();
  for (let i = 0; i < n; i++) {
    const text = awsNodeText({ ...freshNode(1), addReq: i });
    api.textPod(`aws-node-${i}`, text);
  }
  const dir = Deno.makeTempDirSync();
  Deno.mkdirSync(`${dir}/.kube`);
  api.writeKubeconfig(`${dir}/.kube/config`);
  const t0 = performance.now();
  const child = spawnHelper(
    [
      "--kubeconfig",
      `${dir}/.kube/config`,
      "--once",
      "--dry-run",
      "--interval",
      String(interval),
      "--cluster-id",
      "bench",
      "--log-format",
      "json",
    ],
    { ...passThrough(), HOME: dir, AWS_EC2_METADATA_DISABLED: "true" },
  );
  let peak = 0;
  const poll = setInterval(() => {
    peak = Math.max(peak, peakRssKiB(child.pid) ?? 0);
  }, 20);
  const out = await child.output();
  clearInterval(poll);
  const wall = (performance.now() - t0) / 1000;
  const cycles = new TextDecoder().decode(out.stderr).split("\n")
    .filter((l) => l.includes('"msg":"cycle:'))
    .map((l) => JSON.parse(l).durationMs as number);
  console.log(
    `${String(n).padEnd(6)}${wall.toFixed(2).padEnd(8)}${String(cycles[0] ?? "-").padEnd(11)}${
      String(cycles[1] ?? "-").padEnd(11)
    }${(peak / 1024).toFixed(0).padEnd(14)}${out.code}`,
  );
  await api.close();
  Deno.removeSync(dir, { recursive: true });
}
console.log(`(wall time includes start-up and the ${interval} s between the two samples)`);
