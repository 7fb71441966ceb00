/**
 * `deno task bench [ROW ...]`: the helper as a subprocess (the start task's
 * permissions, `--dry-run`, cycles 11 s apart with a 10 s scrape timeout) against in-process fakes:
 * the fake API server as plain HTTP behind a TLS terminator (Deno.serve's own
 * TLS would measure itself), and in direct mode one listener on 0.0.0.0
 * answering every loopback pod IP (127.x.y.z). Prints one table; asserts
 * nothing.
 *
 * Rows: `proxy:1000`, `proxy:5000`, `direct:5000`, `direct:20000`,
 * `direct:100000`, `hung:1000`, `hung:5000` (proxy, 5 % of pods never
 * answer). Default: all. `HELPER_V8_FLAGS` is passed to the helper as
 * `DENO_V8_FLAGS` (e.g. `--max-old-space-size=320`). `CYCLES=K` cycles a row (default 4); the figures
 * are over cycles 2..K (cycle 1 holds the first LIST and start-up).
 * `BENCH_INTERVAL` / `BENCH_SCRAPE_TIMEOUT` set the helper's `--interval` and
 * `--scrape-timeout` (default 11 and 10; `BENCH_INTERVAL=1
 * BENCH_SCRAPE_TIMEOUT=0.9` runs cycles back to back).
 */

import { FakeApiServer } from "./fake_apiserver.ts";
import { TlsFront } from "./tls_front.ts";
import { passThrough, spawnHelper } from "./spawn.ts";
import { awsNodeText, freshNode } from "./sim.ts";

const ALL = [
  "proxy:1000",
  "proxy:5000",
  "direct:5000",
  "direct:20000",
  "direct:100000",
  "hung:1000",
  "hung:5000",
];
const rows = Deno.args.length > 0 ? Deno.args : ALL;
const CYCLES = Number(Deno.env.get("CYCLES") ?? "4");
/** The helper's interval and scrape timeout (the timeout must stay below the interval). */
const INTERVAL = Deno.env.get("BENCH_INTERVAL") ?? "11";
const SCRAPE_TIMEOUT = Deno.env.get("BENCH_SCRAPE_TIMEOUT") ?? "10";
const HZ = 100; // clock ticks a second in /proc/PID/stat

/** 16 bodies like real aws-node output, different figures. */
const BODIES = Array.from(
  { length: 16 },
  (_, i) => awsNodeText({ ...freshNode(1_700_000_000), assigned: 3 + i, addReq: 100 + 7 * i }),
);

function procStatus(pid: number, key: string): number {
  try {
    const m = new RegExp(`${key}:\\s+(\\d+) kB`).exec(Deno.readTextFileSync(`/proc/${pid}/status`));
    return m ? Number(m[1]) : 0;
  } catch {
    return 0;
  }
}

function cpuSeconds(pid: number): number {
  try {
    const stat = Deno.readTextFileSync(`/proc/${pid}/stat`);
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return (Number(fields[11]) + Number(fields[12])) / HZ;
  } catch {
    return 0;
  }
}

function sockets(pid: number): number {
  let n = 0;
  try {
    for (const e of Deno.readDirSync(`/proc/${pid}/fd`)) {
      try {
        if (Deno.readLinkSync(`/proc/${pid}/fd/${e.name}`).startsWith("socket:")) n++;
      } catch {
        // closed meanwhile
      }
    }
  } catch {
    // gone
  }
  return n;
}

function loopbackIP(i: number): string {
  return `127.${1 + (i >> 16)}.${(i >> 8) & 255}.${i & 255}`;
}

interface Mark {
  at: number;
  cpu: number;
  requests: number;
  bytes: number;
  handshakes: number;
}

async function runRow(row: string): Promise<string[]> {
  const [mode = "", nText = "0"] = row.split(":");
  const n = Number(nText);
  const direct = mode === "direct";
  const hungEvery = mode === "hung" ? 20 : 0;
  const api = FakeApiServer.start("bench-token", { tls: false });
  const front = new TlsFront(api.port);
  let directBytes = 0;
  let served = 0;
  const metrics = direct
    ? Deno.serve({ hostname: "0.0.0.0", port: 0, onListen: () => {} }, () => {
      const body = BODIES[served++ % BODIES.length] as string;
      directBytes += body.length;
      return new Response(body);
    })
    : undefined;
  let lastHealthy = 0;
  for (let i = 0; i < n; i++) {
    const extra = direct ? { podIP: loopbackIP(i + 1) } : {};
    if (hungEvery > 0 && i % hungEvery === hungEvery - 1) {
      api.addPod(`aws-node-${i}`, { kind: "hang" }, extra);
    } else {
      const body = BODIES[i % BODIES.length] as string;
      api.addPod(`aws-node-${i}`, {
        kind: "text",
        body: () => {
          lastHealthy = Date.now();
          return body;
        },
      }, extra);
    }
  }
  const dir = Deno.makeTempDirSync();
  Deno.mkdirSync(`${dir}/.kube`);
  api.writeKubeconfig(`${dir}/.kube/config`, { server: front.url });
  const child = spawnHelper(
    [
      "--kubeconfig",
      `${dir}/.kube/config`,
      "--dry-run",
      // the 10 s scrape timeout of a deployment, which the interval must exceed
      "--interval",
      INTERVAL,
      "--scrape-timeout",
      SCRAPE_TIMEOUT,
      "--cluster-id",
      "bench",
      "--log-format",
      "json",
      "--listen",
      "127.0.0.1:0",
      "--scrape-via",
      direct ? "direct" : "proxy",
      ...(direct
        ? ["--metrics-port", String((metrics as Deno.HttpServer<Deno.NetAddr>).addr.port)]
        : []),
    ],
    {
      ...passThrough(),
      HOME: dir,
      AWS_EC2_METADATA_DISABLED: "true",
      ...(Deno.env.get("HELPER_V8_FLAGS")
        ? { DENO_V8_FLAGS: Deno.env.get("HELPER_V8_FLAGS") as string }
        : {}),
      ...(Deno.env.get("HELPER_MALLOC_ARENA_MAX")
        ? { MALLOC_ARENA_MAX: Deno.env.get("HELPER_MALLOC_ARENA_MAX") as string }
        : {}),
    },
  );
  const requests = () => api.counts.list + api.counts.watch + api.counts.proxy;
  const mark = (): Mark => ({
    at: Date.now(),
    cpu: cpuSeconds(child.pid),
    requests: requests(),
    bytes: front.bytesOut + directBytes,
    handshakes: front.handshakes,
  });
  let maxSockets = 0;
  let peakKiB = 0;
  const poll = setInterval(() => {
    maxSockets = Math.max(maxSockets, sockets(child.pid));
    peakKiB = Math.max(peakKiB, procStatus(child.pid, "VmHWM"));
  }, 200);
  const durations: number[] = [];
  const healthy: number[] = [];
  const marks: Mark[] = [];
  let cycles = 0;
  let helperPort = 0;
  const stdout = child.stdout.pipeTo(new WritableStream());
  let rest = "";
  for await (const chunk of child.stderr.pipeThrough(new TextDecoderStream())) {
    rest += chunk;
    let nl;
    while ((nl = rest.indexOf("\n")) !== -1) {
      const line = rest.slice(0, nl);
      rest = rest.slice(nl + 1);
      const listening = /"msg":"serving [^"]* on 127\.0\.0\.1:(\d+)"/.exec(line);
      if (listening) helperPort = Number(listening[1]);
      if (!line.includes('"msg":"cycle:')) {
        if (line.includes('"level":"error"') || line.includes('"level":"fatal"')) {
          console.error(line.slice(0, 300));
        }
        continue;
      }
      const rec = { durationMs: Number(/ in (\d+) ms;/.exec(line)?.[1]) };
      cycles++;
      marks.push(mark());
      if (Deno.env.get("BENCH_TRACE") && helperPort > 0) {
        const text = await (await fetch(`http://127.0.0.1:${helperPort}/metrics`)).text();
        const heap = /^cni_metrics_helper_heap_used_bytes (\S+)$/m.exec(text)?.[1];
        console.error(
          `cycle ${cycles}: rss ${procStatus(child.pid, "VmRSS") >> 10} MiB, heap ${
            Math.round(Number(heap) / 1048576)
          } MiB, ${rec.durationMs} ms`,
        );
      }
      if (cycles >= 2) {
        durations.push(rec.durationMs);
        const start = Date.now() - rec.durationMs;
        if (hungEvery > 0) healthy.push(Math.max(0, lastHealthy - start));
      }
      if (cycles === CYCLES) child.kill("SIGTERM");
    }
  }
  await stdout;
  await child.status;
  clearInterval(poll);
  await metrics?.shutdown();
  await front.close();
  await api.close();
  Deno.removeSync(dir, { recursive: true });

  const k = Math.max(1, marks.length - 1);
  const first = marks[0] as Mark;
  const last = marks[marks.length - 1] as Mark;
  const sorted = [...durations].sort((a, b) => a - b);
  const median = sorted[Math.floor(sorted.length / 2)] ?? 0;
  const max = sorted[sorted.length - 1] ?? 0;
  const per = (x: number) => (x / k);
  return [
    `${mode === "hung" ? "proxy, 5 % hung" : mode}`,
    String(n),
    (median / 1000).toFixed(2),
    (max / 1000).toFixed(2),
    healthy.length > 0 ? (Math.max(...healthy) / 1000).toFixed(2) : "-",
    per(last.cpu - first.cpu).toFixed(2),
    (peakKiB / 1024).toFixed(0),
    per(last.requests - first.requests).toFixed(0),
    `${(per(last.bytes - first.bytes) / 1e6).toFixed(1)}`,
    per(last.handshakes - first.handshakes).toFixed(1),
    String(maxSockets),
  ];
}

const header = [
  "mode",
  "pods",
  "cycle_med_s",
  "cycle_max_s",
  "healthy_done_s",
  "cpu_s/cycle",
  "peak_rss_MiB",
  "api_req/cycle",
  "MB_read/cycle",
  "tls_hs/cycle",
  "max_sockets",
];
console.log(`| ${header.join(" | ")} |`);
console.log(`|${header.map(() => "---").join("|")}|`);
for (const row of rows) {
  const cells = await runRow(row);
  console.log(`| ${cells.join(" | ")} |`);
}
console.log(
  `(cycles 2..${CYCLES} of each row, --interval ${INTERVAL} --scrape-timeout ${SCRAPE_TIMEOUT}; ${Deno.osRelease()} ${navigator.hardwareConcurrency} CPUs, fakes in this process)`,
);
