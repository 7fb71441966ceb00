/**
 * main.ts as a subprocess with the `start` task's permissions: the demo, the
 * benchmark and the tests run the helper exactly as an operator would.
 *
 * @module
 */

import denoJson from "../deno.json" with { type: "json" };

/**
 * What a subprocess needs from our environment: Deno's cache (HOME is
 * replaced) and the CA settings for the package registry.
 *
 * @returns the variables
 */
export function passThrough(): Record<string, string> {
  const out: Record<string, string> = {
    DENO_DIR: Deno.env.get("DENO_DIR") ?? `${Deno.env.get("HOME") ?? "/root"}/.cache/deno`,
  };
  for (const k of ["SSL_CERT_FILE", "SSL_CERT_DIR", "DENO_CERT", "NODE_EXTRA_CA_CERTS"]) {
    const v = Deno.env.get(k);
    if (v !== undefined) out[k] = v;
  }
  return out;
}

/**
 * The permission flags of `deno task start` (the same list `compile` uses),
 * with `$HOME` expanded as the task shell does.
 *
 * @param home the HOME the subprocess gets
 * @returns the flags
 */
export function startPermissionFlags(home: string): string[] {
  const task = (denoJson.tasks as Record<string, string>)["start"] as string;
  return task.split(/\s+/).filter((t) => t.startsWith("--allow-") || t.startsWith("--deny-"))
    .map((t) => t.replaceAll("$HOME", home));
}

/**
 * A subprocess of main.ts with the `start` task's permissions.
 *
 * @param args the helper's flags
 * @param env its whole environment (nothing else is inherited)
 * @returns the child, stdout and stderr piped
 */
export function spawnHelper(args: string[], env: Record<string, string>): Deno.ChildProcess {
  return new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "--quiet",
      ...startPermissionFlags(env["HOME"] ?? "/nonexistent"),
      new URL("../main.ts", import.meta.url).pathname,
      ...args,
    ],
    env,
    clearEnv: true,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
}
