/**
 * cni-metrics-helper: aggregates the Amazon VPC CNI's aws-node metrics
 * cluster-wide and publishes them to CloudWatch and Prometheus.
 *
 * Thin on purpose: read args and environment once, build the runtime facts,
 * hand over to `lib/app.ts`, exit with its code. Only this file exits.
 *
 * @module
 */

import denoJson from "./deno.json" with { type: "json" };
import { ConfigError, helpText, parseConfig } from "./lib/config.ts";
import { setupLogging } from "./lib/logging.ts";
import { runApp } from "./lib/app.ts";
import { systemClock } from "./lib/collector.ts";
import { runtimeFromEnv } from "./lib/runtime.ts";

async function main(): Promise<number> {
  const env = Deno.env.toObject();
  let parsed;
  let facts;
  try {
    parsed = parseConfig(Deno.args, env, Deno.stderr.isTerminal());
    facts = runtimeFromEnv(env, existsSync);
  } catch (e) {
    if (!(e instanceof ConfigError)) throw e;
    console.error(`cni-metrics-helper: ${e.message}`);
    return 2;
  }
  if (parsed.kind === "help") return print(helpText(denoJson.version));
  if (parsed.kind === "version") return print(`cni-metrics-helper ${denoJson.version}`);
  const { config } = parsed;
  const encoder = new TextEncoder();
  await setupLogging(
    config.logLevel,
    config.logFormat,
    (l) => Deno.stderr.writeSync(encoder.encode(l)),
  );
  const stop = new AbortController();
  for (const sig of ["SIGTERM", "SIGINT"] as const) Deno.addSignalListener(sig, () => stop.abort());
  return await runApp(config, {
    ...facts,
    version: denoJson.version,
    writeStdout: (line) => Deno.stdout.writeSync(encoder.encode(`${line}\n`)),
    shutdown: stop.signal,
    clock: systemClock,
  });
}

function print(text: string): number {
  console.log(text);
  return 0;
}

function existsSync(path: string): boolean {
  try {
    Deno.statSync(path);
    return true;
  } catch {
    return false;
  }
}

try {
  Deno.exit(await main());
} catch (e) {
  console.error(`cni-metrics-helper: fatal: ${e instanceof Error ? e.message : String(e)}`);
  Deno.exit(1);
}
