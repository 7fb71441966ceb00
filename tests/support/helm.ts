/**
 * The pinned helm (tests/e2e/build.sh builds it from the Go module proxy into
 * the e2e cache; `.ci/run` builds it before the tests). Where it is missing
 * the chart tests are reported as ignored with the reason in their name;
 * under `CI=true` they always run.
 *
 * @module
 */

/** The helm version build.sh builds. */
export const HELM_VERSION = "v3.22.0";

function candidates(): string[] {
  const home = Deno.env.get("HOME") ?? "/root";
  const cache = Deno.env.get("E2E_CACHE") ??
    `${Deno.env.get("XDG_CACHE_HOME") ?? `${home}/.cache`}/cni-metrics-helper-e2e`;
  return [Deno.env.get("HELM") ?? "", `${cache}/bin/helm-${HELM_VERSION}`].filter((p) => p !== "");
}

function find(): string | undefined {
  for (const p of candidates()) {
    try {
      if (Deno.statSync(p).isFile) return p;
    } catch {
      // not there
    }
  }
  return undefined;
}

/** The helm binary, when there is one. */
export const HELM: string | undefined = find();

/** Whether the chart tests run here. */
export const HAVE_HELM: boolean = HELM !== undefined || Deno.env.get("CI") === "true";

/** Appended to the name of a test that needs helm, when it is ignored. */
export const HELM_NOTE: string = HAVE_HELM ? "" : ` (ignored: helm ${HELM_VERSION} is not built; ` +
  "bash tests/e2e/build.sh helm, as .ci/run does)";

/**
 * Runs helm.
 *
 * @param args its arguments
 * @returns the exit code, stdout and stderr
 */
export async function helm(args: string[]): Promise<{ code: number; out: string; err: string }> {
  if (HELM === undefined) {
    throw new Error(`helm ${HELM_VERSION} not found: bash tests/e2e/build.sh helm (.ci/run does)`);
  }
  const o = await new Deno.Command(HELM, {
    args,
    env: { HELM_CACHE_HOME: "/tmp/helm-cache", HELM_CONFIG_HOME: "/tmp/helm-config" },
    stdout: "piped",
    stderr: "piped",
  }).output();
  return {
    code: o.code,
    out: new TextDecoder().decode(o.stdout),
    err: new TextDecoder().decode(o.stderr),
  };
}
