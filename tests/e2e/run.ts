/**
 * `deno task e2e`: makes the suite's own network namespace (loopback up, a
 * local route for 10.200.0.0/16 so simulated pods have global-unicast IPs the
 * API server will proxy to), runs `tests/e2e/suite.ts` inside it, removes it.
 * Nothing is sent to any address outside the namespace. Linux, root. Its
 * arguments go to `deno test` (`--filter NAME` runs one scenario).
 */

const ns = `cnimh-e2e-${Deno.pid}`;

async function ip(...args: string[]): Promise<void> {
  const out = await new Deno.Command("ip", { args, stdout: "piped", stderr: "piped" }).output();
  if (!out.success) {
    throw new Error(`ip ${args.join(" ")}: ${new TextDecoder().decode(out.stderr).trim()}`);
  }
}

if (Deno.uid() !== 0) {
  console.error("e2e: needs root (ip netns); run it as root or in CI");
  Deno.exit(1);
}
const started = performance.now();
let code = 1;
try {
  await ip("netns", "add", ns);
  await ip("-n", ns, "link", "set", "lo", "up");
  await ip("-n", ns, "route", "add", "local", "10.200.0.0/16", "dev", "lo");
  const cmd = new Deno.Command("ip", {
    args: [
      "netns",
      "exec",
      ns,
      Deno.execPath(),
      "test",
      "--allow-all",
      "--no-check",
      new URL("./suite.ts", import.meta.url).pathname,
      // e.g. `deno task e2e --filter "direct mode"`: one scenario alone
      ...Deno.args,
    ],
    env: { E2E_NETNS: ns },
    stdin: "null",
    stdout: "inherit",
    stderr: "inherit",
  });
  code = (await cmd.output()).code;
} catch (e) {
  console.error(`e2e: ${e instanceof Error ? e.message : String(e)}`);
} finally {
  await ip("netns", "delete", ns).catch(() => {});
}
console.error(`e2e: suite took ${((performance.now() - started) / 1000).toFixed(1)} s`);
Deno.exit(code);
