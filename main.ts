/**
 * cni-metrics-helper: aggregates the Amazon VPC CNI's aws-node metrics
 * cluster-wide and publishes them to CloudWatch and Prometheus.
 *
 * Thin on purpose: read args and environment once, set up logging, hand
 * over to `lib/app/app.ts`, and turn what comes back (or is thrown) into the
 * exit code: the one place errors become exit codes. Only this file exits.
 *
 * @module
 */

import denoJson from "./deno.json" with { type: "json" };
import { helpText, logFormatOf, parseConfig } from "./lib/cli/config.ts";
import { errorText, exitCodeFor, UserError } from "./lib/base/errors.ts";
import { logger, setupLogging } from "./lib/base/logging.ts";
import { runApp } from "./lib/app/app.ts";
import { systemClock } from "./lib/base/clock.ts";
import { runtimeFromEnv } from "./lib/cli/env_facts.ts";

async function main(): Promise<number> {
  const env = Deno.env.toObject();
  const encoder = new TextEncoder();
  const stderr = (l: string) => void Deno.stderr.writeSync(encoder.encode(l));
  const terminal = Deno.stderr.isTerminal();
  let parsed;
  let facts;
  try {
    parsed = parseConfig(Deno.args, env, terminal);
    facts = runtimeFromEnv(env, existsSync, readSync);
  } catch (e) {
    if (!(e instanceof UserError)) throw e;
    // in the format the run would have logged in: one JSON line for a log pipeline
    await setupLogging("info", logFormatOf(Deno.args, terminal), stderr);
    logger().error("{error}", { error: e.message });
    return exitCodeFor(e);
  }
  if (parsed.kind === "help") return print(helpText(denoJson.version, parsed.command));
  if (parsed.kind === "version") return print(`cni-metrics-helper ${denoJson.version}`);
  const { config } = parsed;
  await setupLogging(config.logLevel, config.logFormat, stderr);
  const stop = new AbortController();
  for (const sig of ["SIGTERM", "SIGINT"] as const) Deno.addSignalListener(sig, () => stop.abort());
  try {
    return await runApp(config, {
      ...facts,
      version: denoJson.version,
      writeStdout: (line) => Deno.stdout.writeSync(encoder.encode(`${line}\n`)),
      shutdown: stop.signal,
      clock: systemClock,
    });
  } catch (e) {
    logger().error("{error}", { error: errorText(e) });
    return exitCodeFor(e);
  }
}

function print(text: string): number {
  console.log(text);
  return 0;
}

function readSync(path: string): string | undefined {
  try {
    return Deno.readTextFileSync(path);
  } catch {
    return undefined;
  }
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
  console.error(`cni-metrics-helper: fatal: ${errorText(e)}`);
  Deno.exit(exitCodeFor(e));
}
