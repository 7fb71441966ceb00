/**
 * Configuration: flags and environment resolved once into a frozen, typed
 * {@linkcode Config}, from the option table in `cli/options.ts` (the one place
 * each option, its variables, default and bounds are declared). Pure: the
 * caller passes `args` and `env` in. A flag beats its environment variable;
 * a bad value, or a flag the chosen command does not take, is a
 * {@linkcode ConfigError} naming the flag or variable and the value.
 *
 * @module
 */

import { parseArgs } from "node:util";
import { errorText } from "../base/errors.ts";
import type { LogFormat, LogLevel } from "../base/logging.ts";
import {
  checkEndpointUrls,
  type Command,
  ConfigError,
  flagText,
  type ListenAddress,
  OPTIONS,
  type OptionSpec,
  type ScrapeVia,
  type Sourced,
} from "./options.ts";

export { ConfigError, ENV_VARS, OPTIONS, parseBool } from "./options.ts";
export type { Command, ListenAddress, ScrapeVia, Sourced } from "./options.ts";
export type { LogFormat, LogLevel } from "../base/logging.ts";

/**
 * Everything the program needs to know, resolved once. Each field is set by
 * the option of the same `key` in `OPTIONS`, where its flag, variables and
 * default are declared (`docs/configuration.md` shows them).
 */
export interface Config {
  /** `collect` (no command given) or `dashboard`. */
  readonly command: Command;
  /** `--kubeconfig` / `KUBECONFIG` (a path list); empty: in-cluster or `~/.kube/config`. */
  readonly kubeconfig: readonly string[];
  /** `--context`; `undefined`: the current context. */
  readonly context: string | undefined;
  /** `--namespace`: namespace of the aws-node pods. */
  readonly namespace: string;
  /** `--selector`: label selector of the aws-node pods. */
  readonly selector: string;
  /** `--metrics-port`: aws-node metrics port. */
  readonly metricsPort: number;
  /** `--[no-]cloudwatch` / `USE_CLOUDWATCH`: publish to CloudWatch. */
  readonly cloudwatch: boolean;
  /** `--prometheus` / `USE_PROMETHEUS`: export the cluster figures on `/metrics`. */
  readonly prometheus: boolean;
  /** `--interval` / `METRIC_UPDATE_INTERVAL`: seconds between cycles. */
  readonly intervalSeconds: number;
  /** `--cluster-id` / `AWS_CLUSTER_ID`; `undefined`: resolve it. */
  readonly clusterId: Sourced | undefined;
  /** `--region` / `AWS_REGION` / `AWS_DEFAULT_REGION`; `undefined`: resolve it. */
  readonly region: Sourced | undefined;
  /** `--profile` / `AWS_PROFILE`. */
  readonly profile: string | undefined;
  /** `--scrape-concurrency`: scrapes in flight at once. */
  readonly scrapeConcurrency: number;
  /** `--scrape-via` / `SCRAPE_VIA`: through the API server's proxy, or straight to the pod IP. */
  readonly scrapeVia: ScrapeVia;
  /** `--scrape-timeout`: seconds one scrape may take (below the interval; default 10 or half of it). */
  readonly scrapeTimeoutSeconds: number;
  /** `--[no-]headroom`: publish the nodes' IP headroom figures. */
  readonly headroom: boolean;
  /** `--headroom-threshold` / `HEADROOM_THRESHOLD`: free IPs below which a node is near its limit. */
  readonly headroomThreshold: number;
  /** `--subnets` / `USE_SUBNET_METRICS`: publish the node subnets' free IPs. */
  readonly subnets: boolean;
  /** `--subnet-refresh`: seconds between two reads of the subnets. */
  readonly subnetRefreshSeconds: number;
  /** `--leader-election` / `LEADER_ELECTION`: a Lease elects the replica that works. */
  readonly leaderElection: boolean;
  /** `--leader-election-name`: the Lease's name. */
  readonly leaderElectionName: string;
  /** `--leader-election-namespace`; `undefined`: the pod's own namespace. */
  readonly leaderElectionNamespace: string | undefined;
  /** `--once`: two samples, publish, flush, exit. */
  readonly once: boolean;
  /** `--dry-run`: print the CloudWatch requests instead of sending them. */
  readonly dryRun: boolean;
  /** `--log-level` / `AWS_VPC_K8S_CNI_LOGLEVEL`. */
  readonly logLevel: LogLevel;
  /** `--log-format`. */
  readonly logFormat: LogFormat;
  /** `--listen`: address of `/metrics`, `/healthz`, `/readyz`. */
  readonly listen: ListenAddress;
  /** `--buffer-max-datums`: datums kept while CloudWatch is unreachable. */
  readonly bufferMaxDatums: number;
  /** `--name` (dashboard); `undefined`: `EKS-CNI-metrics-<cluster>`. */
  readonly dashboardName: string | undefined;
  /** `--alarms` (dashboard): also create the alarms. */
  readonly alarms: boolean;
  /** `--ip-utilization-threshold` (dashboard): percent. */
  readonly ipUtilizationThreshold: number;
  /** `--subnet-threshold` (dashboard): the subnet-low alarm's threshold, free IPs. */
  readonly subnetThreshold: number;
  /** `--alarm-topic-arn` (dashboard): SNS topic for alarm actions. */
  readonly alarmTopicArn: string | undefined;
}

/** What {@linkcode parseConfig} asks for: show help, show version, or run. */
export type ParseResult =
  | { readonly kind: "help" }
  | { readonly kind: "version" }
  | { readonly kind: "run"; readonly config: Config };

/**
 * Resolves flags and environment into a frozen {@linkcode Config}.
 *
 * @param args command-line arguments (without the program name)
 * @param env environment variables
 * @param stderrIsTerminal whether stderr is a terminal (picks the default log format) @default false
 * @returns help, version, or the config
 * @throws {ConfigError} on any bad flag or value
 */
export function parseConfig(
  args: readonly string[],
  env: Readonly<Record<string, string | undefined>>,
  stderrIsTerminal = false,
): ParseResult {
  const options: Record<string, { type: "string" | "boolean" }> = {};
  for (const o of OPTIONS) options[o.flag] = { type: o.type };
  let parsed;
  try {
    parsed = parseArgs({
      args: [...args],
      options,
      strict: true,
      allowPositionals: true,
      allowNegative: true,
    });
  } catch (e) {
    throw new ConfigError(argsMessage(e));
  }
  const given = parsed.values as Record<string, string | boolean | undefined>;
  if (given["help"] === true) return { kind: "help" };
  if (given["version"] === true) return { kind: "version" };
  checkEndpointUrls(env);
  const command = commandOf(parsed.positionals);

  const values: Record<string, unknown> = { command };
  for (const o of OPTIONS) {
    const flagGiven = given[o.flag] !== undefined;
    if (flagGiven && !o.commands.includes(command)) {
      throw new ConfigError(
        `"--${o.flag}" is a flag of the ${o.commands.join(" and ")} command, not of ${command}`,
      );
    }
    if (o.key === undefined) continue;
    // the other command's variables are not read (deployments set them for collect)
    values[o.key] = o.commands.includes(command)
      ? resolveOne(o, given[o.flag], env, stderrIsTerminal)
      : o.default({ stderrIsTerminal });
  }
  refuseUnused(given, values);
  values["scrapeTimeoutSeconds"] = scrapeTimeout(values);
  return { kind: "run", config: Object.freeze(values as unknown as Config) };
}

/** Flags that would do nothing in the chosen mode are refused, not ignored. */
function refuseUnused(
  given: Record<string, string | boolean | undefined>,
  values: Record<string, unknown>,
): void {
  if (values["once"] === true && given["listen"] !== undefined) {
    throw new ConfigError(
      `"--listen" does nothing with "--once" (no HTTP server runs for one measurement): drop one`,
    );
  }
  if (values["once"] === true && given["prometheus"] === true) {
    throw new ConfigError(
      `"--prometheus" does nothing with "--once" (no /metrics is served for one measurement): ` +
        `drop one`,
    );
  }
  const publishing = values["cloudwatch"] === true || values["dryRun"] === true;
  if (given["buffer-max-datums"] !== undefined && !publishing) {
    throw new ConfigError(
      `"--buffer-max-datums" does nothing with CloudWatch off and no "--dry-run": drop it`,
    );
  }
  if (values["once"] === true && values["leaderElection"] === true) {
    throw new ConfigError(
      `"--once" and leader election do not go together (one measurement needs no leader): ` +
        `drop one (LEADER_ELECTION=false)`,
    );
  }
  for (const f of ["leader-election-name", "leader-election-namespace"]) {
    if (given[f] !== undefined && values["leaderElection"] !== true) {
      throw new ConfigError(
        `"--${f}" does nothing without "--leader-election": add it or drop this`,
      );
    }
  }
  if (given["headroom-threshold"] !== undefined && values["headroom"] !== true) {
    throw new ConfigError(`"--headroom-threshold" does nothing with "--no-headroom": drop one`);
  }
  if (given["subnet-refresh"] !== undefined && values["subnets"] !== true) {
    throw new ConfigError(
      `"--subnet-refresh" does nothing without "--subnets": add it or drop this`,
    );
  }
  if (
    given["subnet-threshold"] !== undefined && (values["subnets"] !== true || !values["alarms"])
  ) {
    throw new ConfigError(
      `"--subnet-threshold" sets the subnet-low alarm: it needs "--subnets" and "--alarms"`,
    );
  }
  if (given["alarm-topic-arn"] !== undefined && values["alarms"] !== true) {
    throw new ConfigError(
      `"--alarm-topic-arn" does nothing without "--alarms": add "--alarms" or drop it`,
    );
  }
}

/**
 * The scrape timeout: as given, which must be below the interval (a cycle's
 * slowest scrape must end before the next cycle is due), else 10 s or half
 * the interval, whichever is less.
 */
function scrapeTimeout(values: Record<string, unknown>): number {
  const interval = values["intervalSeconds"] as number;
  const given = values["scrapeTimeoutSeconds"] as number | undefined;
  if (given === undefined) return Math.min(DEFAULT_SCRAPE_TIMEOUT_SECONDS, interval / 2);
  if (values["command"] === "collect" && given >= interval) {
    throw new ConfigError(
      `"--scrape-timeout" must be below the interval (${interval} s): got ${given}`,
    );
  }
  return given;
}

/** The scrape timeout when the interval allows it. */
const DEFAULT_SCRAPE_TIMEOUT_SECONDS = 10;

function commandOf(positionals: readonly string[]): Command {
  const [first, ...extra] = positionals;
  if (first !== undefined && first !== "collect" && first !== "dashboard") {
    throw new ConfigError(
      `unknown command ${JSON.stringify(first)}: expected "collect" or "dashboard"`,
    );
  }
  if (extra.length > 0) throw new ConfigError(`unexpected argument ${JSON.stringify(extra[0])}`);
  return first ?? "collect";
}

function resolveOne(
  o: OptionSpec,
  flag: string | boolean | undefined,
  env: Readonly<Record<string, string | undefined>>,
  stderrIsTerminal: boolean,
): unknown {
  if (typeof flag === "boolean") return flag;
  if (typeof flag === "string") {
    const t = flag.trim();
    if (t === "") throw new ConfigError(`"--${o.flag}" needs a value: got ${JSON.stringify(flag)}`);
    return o.parse(t, `"--${o.flag}"`, `--${o.flag}`);
  }
  for (const name of o.env) {
    const t = env[name]?.trim();
    if (t === undefined || t === "") continue;
    return (o.parseEnv ?? o.parse)(t, name, name);
  }
  return o.default({ stderrIsTerminal });
}

function argsMessage(e: unknown): string {
  const msg = errorText(e);
  const unknown = /Unknown option '([^']+)'/.exec(msg);
  if (unknown) return `unknown flag ${JSON.stringify(unknown[1])}: see --help`;
  const missing = /Option '(--[a-z-]+)/.exec(msg);
  if (missing && msg.includes("argument missing")) {
    return `"${missing[1]}" needs a value: got none`;
  }
  return `${msg.replace(/\. To specify.*$/s, "")}: see --help`;
}

/**
 * The log format a run with these arguments would use, for the errors found
 * before the config exists (a bad flag): `--log-format` when it is valid,
 * else JSON off a terminal and text on one, as the option's default.
 *
 * @param args command-line arguments
 * @param stderrIsTerminal whether stderr is a terminal
 * @returns the format
 */
export function logFormatOf(args: readonly string[], stderrIsTerminal: boolean): LogFormat {
  let given: string | undefined;
  args.forEach((a, i) => {
    if (a === "--log-format") given = args[i + 1];
    else if (a.startsWith("--log-format=")) given = a.slice("--log-format=".length);
  });
  const t = given?.trim().toLowerCase();
  if (t === "json" || t === "text") return t;
  return stderrIsTerminal ? "text" : "json";
}

/**
 * The `--help` text, built from `OPTIONS`.
 *
 * @param version the program version
 * @returns the text
 */
export function helpText(version: string): string {
  const rows = OPTIONS.map((o) => {
    const env = o.env.length > 0 ? ` [${o.env.join(", ")}]` : "";
    const dflt = o.defaultText === "" ? "" : ` (default: ${o.defaultText})`;
    const only = o.commands.length === 1 ? `${o.commands[0]}: ` : "";
    return `  ${flagText(o).padEnd(36)}${only}${o.help}${env}${dflt}`;
  });
  return [
    `cni-metrics-helper ${version}: aggregates the Amazon VPC CNI's aws-node metrics`,
    "cluster-wide and publishes them to CloudWatch and Prometheus.",
    "",
    "Usage: cni-metrics-helper [collect|dashboard] [flags]",
    "",
    "Flags (a flag beats its environment variable, shown in brackets):",
    ...rows,
    "",
    "Exit codes: 0 done, 1 runtime failure, 2 bad flag or variable.",
  ].join("\n");
}
