/**
 * `deno task demo` as a process: its help, a bad flag, a busy port and
 * SIGTERM (the helper stops, the temporary kubeconfig is removed).
 */

import { assert, assertEquals } from "../support/assert.ts";
import { passThrough, readLines } from "../support/harness.ts";

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
      if (!signalled && line.startsWith("demo: would send PutMetricData #1")) {
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
