/**
 * Prometheus' own `promtool`, for the tests that check our output with it.
 * CI (`CI=true`) always has it (`.ci/run` installs Debian's prometheus
 * package) and never ignores those tests; elsewhere they are reported as
 * ignored with the reason in their name.
 *
 * @module
 */

function installed(): boolean {
  try {
    return new Deno.Command("promtool", { args: ["--version"], stdout: "null", stderr: "null" })
      .outputSync().success;
  } catch {
    return false;
  }
}

/** Whether promtool tests run here. */
export const HAVE_PROMTOOL: boolean = installed() || Deno.env.get("CI") === "true";

/** Appended to the name of a test that needs promtool, when it is ignored. */
export const PROMTOOL_NOTE: string = HAVE_PROMTOOL
  ? ""
  : " (ignored: promtool is not installed; apt-get install prometheus, as .ci/run does)";

/**
 * Runs promtool.
 *
 * @param args its arguments
 * @param stdin text for its standard input
 * @returns the exit code and everything it printed
 */
export async function promtool(
  args: string[],
  stdin?: string,
): Promise<{ code: number; out: string }> {
  let cmd;
  try {
    cmd = new Deno.Command("promtool", {
      args,
      stdin: stdin === undefined ? "null" : "piped",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
  } catch (e) {
    throw new Error(
      `promtool not found (${e}): install Debian's prometheus package (.ci/run does)`,
    );
  }
  if (stdin !== undefined) {
    const w = cmd.stdin.getWriter();
    await w.write(new TextEncoder().encode(stdin));
    await w.close();
  }
  const o = await cmd.output();
  return {
    code: o.code,
    out: new TextDecoder().decode(o.stdout) + new TextDecoder().decode(o.stderr),
  };
}
