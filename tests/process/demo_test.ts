/**
 * `deno task demo` as a process: its help, a bad flag, a busy port and
 * SIGTERM (the helper stops, the temporary kubeconfig is removed).
 */

import { assert, assertEquals } from "../support/assert.ts";
import { passThrough, readLines } from "../support/harness.ts";
import { PER_CYCLE } from "../support/figures.ts";

const DEMO = new URL("../../tools/demo.ts", import.meta.url).pathname;

function demo(args: string[]): Deno.ChildProcess {
  return new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "--quiet",
      "--allow-net",
      "--allow-env",
      "--allow-read",
      "--allow-write",
      "--allow-run",
      DEMO,
      ...args,
    ],
    env: { ...passThrough(), HOME: Deno.env.get("HOME") ?? "/root", PATH: "/usr/bin:/bin" },
    clearEnv: true,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
}

Deno.test("demo --help prints its usage; an unknown flag exits 2 with one line", async () => {
  const help = await demo(["--help"]).output();
  assertEquals(help.code, 0);
  assert(new TextDecoder().decode(help.stdout).startsWith("Usage: deno task demo"));
  const bad = await demo(["--bogus"]).output();
  assertEquals(bad.code, 2);
  assertEquals(new TextDecoder().decode(bad.stderr), 'demo: unknown flag "--bogus": see --help\n');
  // a negative number is the flag's value, refused for its range in one line
  const negative = await demo(["--pods", "-3"]).output();
  assertEquals(negative.code, 2);
  assertEquals(
    new TextDecoder().decode(negative.stderr),
    'demo: "--pods" must be a whole number >= 1: got -3\n',
  );
});

Deno.test("demo --cycles N: N cycles, each request printed on stdout as the README says", async () => {
  // a publish every 2 cycles, and the rest at the end
  for (const [cycles, datums] of [[1, [PER_CYCLE]], [3, [2 * PER_CYCLE, PER_CYCLE]]] as const) {
    const out = await demo(["--pods", "2", "--interval", "1", "--cycles", String(cycles)])
      .output();
    const stderr = new TextDecoder().decode(out.stderr).split("\n");
    assertEquals(out.code, 0, stderr.join("\n"));
    assertEquals(stderr.filter((l) => / cycle: /.test(l)).length, cycles, stderr.join("\n"));
    const requests = new TextDecoder().decode(out.stdout).trim().split("\n").map((l) =>
      JSON.parse(l) as { MetricData: unknown[] }
    );
    assertEquals(requests.map((r) => r.MetricData.length), [...datums]);
    assertEquals(
      stderr.filter((l) => l.startsWith("demo: PutMetricData request #")).length,
      datums.length,
    );
  }
});

Deno.test("demo: a busy port is replaced; SIGTERM stops it and removes its kubeconfig", async () => {
  const taken = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (taken.addr as Deno.NetAddr).port;
  try {
    const child = demo(["--pods", "3", "--interval", "1", "--listen", `127.0.0.1:${port}`]);
    const out = child.stdout.cancel();
    const lines: string[] = [];
    let kubeconfig = "";
    let signalled = false;
    await readLines(child.stderr, (line) => {
      lines.push(line);
      const k = / kubeconfig (\/\S+\/\.kube\/config)$/.exec(line);
      if (k) kubeconfig = k[1] as string;
      if (!signalled && line.startsWith("demo: PutMetricData request #1 ")) {
        signalled = true;
        child.kill("SIGTERM");
      }
    });
    await out;
    const status = await child.status;
    assertEquals(status.code, 0, lines.join("\n"));
    assert(lines.some((l) => l.startsWith(`demo: port ${port} is busy: the helper listens on`)));
    assert(kubeconfig !== "", lines.join("\n"));
    let gone = false;
    try {
      Deno.statSync(kubeconfig);
    } catch (e) {
      gone = e instanceof Deno.errors.NotFound;
    }
    assert(gone, `${kubeconfig} is still there`);
  } finally {
    taken.close();
  }
});
