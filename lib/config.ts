/**
 * Configuration: flags and environment resolved once into a frozen, typed
 * object. Pure: the caller passes `args` and `env` in. A flag beats its
 * environment variable; a bad value is a {@linkcode ConfigError} naming the
 * flag or variable and the value (exit code 2 in `main.ts`).
 *
 * @module
 */

import { parseArgs } from "node:util";

/** A bad flag or environment value; `main.ts` prints it and exits 2. */
export class ConfigError extends Error {
  /**
   * @param message names the flag or variable and the value
   */
  constructor(message: string) {
    super(message);
    this.name = "ConfigError";
  }
}

/** Log levels accepted by `--log-level` and `AWS_VPC_K8S_CNI_LOGLEVEL`. */
export type LogLevel = "trace" | "debug" | "info" | "warning" | "error" | "fatal";

/** Log output formats. */
export type LogFormat = "json" | "text";

/** The subcommand. */
export type Command = "collect" | "dashboard";

/** Everything the program needs to know, resolved once. */
export interface Config {
  /** `collect` (default) or `dashboard`. */
  readonly command: Command;
  /** Kubeconfig files from `--kubeconfig` or `KUBECONFIG` (path-list); empty: in-cluster or `~/.kube/config`. */
  readonly kubeconfig: readonly string[];
  /** Kubeconfig context to use; `undefined`: the current context. */
  readonly context: string | undefined;
  /** Namespace of the aws-node pods. @default "kube-system" */
  readonly namespace: string;
  /** Label selector of the aws-node pods. @default "k8s-app=aws-node" */
  readonly selector: string;
  /** aws-node metrics port. @default 61678 */
  readonly metricsPort: number;
  /** Publish to CloudWatch (`USE_CLOUDWATCH`). @default true */
  readonly cloudwatch: boolean;
  /** Export the cluster figures on `/metrics` (`USE_PROMETHEUS`). @default false */
  readonly prometheus: boolean;
  /** Seconds between scrape cycles (`METRIC_UPDATE_INTERVAL`). @default 30 */
  readonly intervalSeconds: number;
  /** Cluster id from `--cluster-id` / `AWS_CLUSTER_ID`; `undefined`: resolve it. */
  readonly clusterId: Sourced | undefined;
  /** Region from `--region` / `AWS_REGION` / `AWS_DEFAULT_REGION`; `undefined`: resolve it. */
  readonly region: Sourced | undefined;
  /** AWS profile from `--profile` / `AWS_PROFILE`. */
  readonly profile: string | undefined;
  /** Scrapes in flight at once. @default 32 */
  readonly scrapeConcurrency: number;
  /** Seconds one scrape may take. @default 10 */
  readonly scrapeTimeoutSeconds: number;
  /** Take two samples, publish, flush, exit. @default false */
  readonly once: boolean;
  /** Print the PutMetricData requests instead of sending them. @default false */
  readonly dryRun: boolean;
  /** Log threshold. @default "info" */
  readonly logLevel: LogLevel;
  /** Log format. @default "json" off a terminal, "text" on one */
  readonly logFormat: LogFormat;
  /** Address of the HTTP server (`/metrics`, `/healthz`, `/readyz`). @default ":61681" */
  readonly listen: { readonly hostname: string; readonly port: number };
  /** Datums kept for CloudWatch while it is unreachable (oldest dropped first). @default 60480 */
  readonly bufferMaxDatums: number;
  /** Dashboard name (`dashboard` command). @default "EKS-CNI-metrics-<cluster>" */
  readonly dashboardName: string | undefined;
  /** Also create the alarms (`dashboard --alarms`). @default false */
  readonly alarms: boolean;
  /** IP utilisation alarm threshold in percent. @default 90 */
  readonly ipUtilizationThreshold: number;
  /** SNS topic for alarm actions. */
  readonly alarmTopicArn: string | undefined;
}

/** A value and where it came from (for the start-up log line). */
export interface Sourced {
  /** The value. */
  readonly value: string;
  /** e.g. `--region`, `AWS_REGION`. */
  readonly source: string;
}

/** What {@linkcode parseConfig} asks for: show help, show version, or run. */
export type ParseResult =
  | { readonly kind: "help" }
  | { readonly kind: "version" }
  | { readonly kind: "run"; readonly config: Config };

interface OptionDoc {
  readonly flag: string;
  readonly type: "string" | "boolean";
  readonly env?: string;
  readonly default: string;
  readonly help: string;
}

/** Every flag, its variable, default and meaning (used by `--help` and tests). */
export const OPTIONS: readonly OptionDoc[] = Object.freeze([
  {
    flag: "kubeconfig",
    type: "string",
    env: "KUBECONFIG",
    default: "in-cluster, else ~/.kube/config",
    help: "kubeconfig file",
  },
  {
    flag: "context",
    type: "string",
    default: "current context",
    help: "kubeconfig context to use",
  },
  {
    flag: "namespace",
    type: "string",
    default: "kube-system",
    help: "namespace of the aws-node pods",
  },
  {
    flag: "selector",
    type: "string",
    default: "k8s-app=aws-node",
    help: "label selector of the aws-node pods",
  },
  { flag: "metrics-port", type: "string", default: "61678", help: "aws-node metrics port" },
  {
    flag: "cloudwatch",
    type: "boolean",
    env: "USE_CLOUDWATCH",
    default: "true",
    help: "publish to CloudWatch (--no-cloudwatch to turn off)",
  },
  {
    flag: "prometheus",
    type: "boolean",
    env: "USE_PROMETHEUS",
    default: "false",
    help: "export the cluster figures on /metrics",
  },
  {
    flag: "interval",
    type: "string",
    env: "METRIC_UPDATE_INTERVAL",
    default: "30",
    help: "seconds between scrape cycles; CloudWatch publishes every 2 x interval",
  },
  {
    flag: "cluster-id",
    type: "string",
    env: "AWS_CLUSTER_ID",
    default: "kubeconfig EKS context, else instance tags",
    help: "value of the CLUSTER_ID dimension",
  },
  {
    flag: "region",
    type: "string",
    env: "AWS_REGION",
    default: "AWS_DEFAULT_REGION, kubeconfig, profile, IMDS",
    help: "CloudWatch region",
  },
  {
    flag: "profile",
    type: "string",
    env: "AWS_PROFILE",
    default: "none",
    help: "AWS shared-config profile",
  },
  {
    flag: "scrape-concurrency",
    type: "string",
    default: "32",
    help: "scrapes in flight at once",
  },
  {
    flag: "scrape-timeout",
    type: "string",
    default: "10",
    help: "seconds one scrape may take",
  },
  {
    flag: "once",
    type: "boolean",
    default: "false",
    help: "take two samples one interval apart, publish, flush, exit",
  },
  {
    flag: "dry-run",
    type: "boolean",
    default: "false",
    help: "print each PutMetricData request as a JSON line instead of sending it",
  },
  {
    flag: "log-level",
    type: "string",
    env: "AWS_VPC_K8S_CNI_LOGLEVEL",
    default: "info",
    help: "trace, debug, info, warn, error, fatal",
  },
  {
    flag: "log-format",
    type: "string",
    default: "json off a terminal, text on one",
    help: "json or text",
  },
  {
    flag: "listen",
    type: "string",
    default: ":61681",
    help: "address of /metrics, /healthz, /readyz",
  },
  {
    flag: "buffer-max-datums",
    type: "string",
    default: "60480",
    help: "datums kept while CloudWatch is unreachable (24 h at 30 s)",
  },
  {
    flag: "name",
    type: "string",
    default: "EKS-CNI-metrics-<cluster>",
    help: "dashboard: dashboard name",
  },
  { flag: "alarms", type: "boolean", default: "false", help: "dashboard: also create alarms" },
  {
    flag: "ip-utilization-threshold",
    type: "string",
    default: "90",
    help: "dashboard: IP utilisation alarm threshold, %",
  },
  {
    flag: "alarm-topic-arn",
    type: "string",
    default: "none",
    help: "dashboard: SNS topic for alarm actions",
  },
  { flag: "help", type: "boolean", default: "", help: "show this help" },
  { flag: "version", type: "boolean", default: "", help: "show the version" },
]);

/**
 * Every environment variable the program reads itself (the AWS SDK reads
 * its own standard ones too, e.g. `AWS_ACCESS_KEY_ID`, `AWS_ROLE_ARN`).
 */
export const ENV_VARS: readonly string[] = Object.freeze([
  ...OPTIONS.flatMap((o) => (o.env === undefined ? [] : [o.env])),
  "AWS_DEFAULT_REGION",
  "AWS_CONFIG_FILE",
  "AWS_EC2_METADATA_DISABLED",
  "KUBERNETES_SERVICE_HOST",
  "KUBERNETES_SERVICE_PORT",
  "HOME",
]);

/**
 * Resolves flags and environment into a frozen {@linkcode Config}.
 *
 * @param args command-line arguments (without the program name)
 * @param env environment variables
 * @param stderrIsTerminal whether stderr is a terminal (picks the default log format)
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
  const v = parsed.values as Record<string, string | boolean | undefined>;
  if (v["help"] === true) return { kind: "help" };
  if (v["version"] === true) return { kind: "version" };

  const [first, ...extra] = parsed.positionals;
  let command: Command = "collect";
  if (first === "dashboard") command = "dashboard";
  else if (first !== undefined && first !== "collect") {
    throw new ConfigError(
      `unknown command ${JSON.stringify(first)}: expected "collect" or "dashboard"`,
    );
  }
  if (extra.length > 0) {
    throw new ConfigError(`unexpected argument ${JSON.stringify(extra[0])}`);
  }

  const str = (flag: string): string | undefined => {
    const x = v[flag];
    if (x === undefined) return undefined;
    if (typeof x !== "string" || x.trim() === "") {
      throw new ConfigError(`"--${flag}" needs a value: got ${JSON.stringify(x)}`);
    }
    return x.trim();
  };
  const envStr = (name: string): string | undefined => {
    const x = env[name];
    return x === undefined || x.trim() === "" ? undefined : x.trim();
  };
  const sourced = (flag: string, ...names: string[]): Sourced | undefined => {
    const f = str(flag);
    if (f !== undefined) return { value: f, source: `--${flag}` };
    for (const n of names) {
      const e = envStr(n);
      if (e !== undefined) return { value: e, source: n };
    }
    return undefined;
  };
  const bool = (flag: string, name: string | undefined, dflt: boolean): boolean => {
    const f = v[flag];
    if (typeof f === "boolean") return f;
    const e = name === undefined ? undefined : envStr(name);
    return e === undefined ? dflt : parseBool(name as string, e);
  };
  const num = (
    flag: string,
    name: string | undefined,
    dflt: number,
    check: NumberCheck,
  ): number => {
    const f = str(flag);
    if (f !== undefined) return parseNumber(`"--${flag}"`, f, check);
    const e = name === undefined ? undefined : envStr(name);
    return e === undefined ? dflt : parseNumber(name as string, e, check);
  };

  const kubeFlag = str("kubeconfig");
  const kubeEnv = envStr("KUBECONFIG");
  const kubeconfig = kubeFlag !== undefined
    ? [kubeFlag]
    : (kubeEnv ?? "").split(":").filter((p) => p !== "");

  const levelText = sourced("log-level", "AWS_VPC_K8S_CNI_LOGLEVEL");
  const formatText = str("log-format");
  const intervalSeconds = num("interval", "METRIC_UPDATE_INTERVAL", 30, { min: 0, integer: false });
  const config: Config = {
    command,
    kubeconfig,
    context: str("context"),
    namespace: str("namespace") ?? "kube-system",
    selector: str("selector") ?? "k8s-app=aws-node",
    metricsPort: num("metrics-port", undefined, 61678, { min: 0, max: 65535, integer: true }),
    cloudwatch: bool("cloudwatch", "USE_CLOUDWATCH", true),
    prometheus: bool("prometheus", "USE_PROMETHEUS", false),
    intervalSeconds,
    clusterId: sourced("cluster-id", "AWS_CLUSTER_ID"),
    region: sourced("region", "AWS_REGION", "AWS_DEFAULT_REGION"),
    profile: str("profile") ?? envStr("AWS_PROFILE"),
    scrapeConcurrency: num("scrape-concurrency", undefined, 32, {
      min: 0,
      max: 10000,
      integer: true,
    }),
    scrapeTimeoutSeconds: num("scrape-timeout", undefined, 10, { min: 0, integer: false }),
    once: v["once"] === true,
    dryRun: v["dry-run"] === true,
    logLevel: levelText === undefined ? "info" : parseLevel(levelText),
    logFormat: formatText === undefined
      ? (stderrIsTerminal ? "text" : "json")
      : parseFormat(formatText),
    listen: parseListen(str("listen") ?? ":61681"),
    bufferMaxDatums: num("buffer-max-datums", undefined, 60480, {
      min: 0,
      integer: true,
    }),
    dashboardName: str("name"),
    alarms: v["alarms"] === true,
    ipUtilizationThreshold: num("ip-utilization-threshold", undefined, 90, {
      min: 0,
      max: 100,
      integer: false,
    }),
    alarmTopicArn: str("alarm-topic-arn"),
  };
  return { kind: "run", config: Object.freeze(config) };
}

function argsMessage(e: unknown): string {
  const msg = e instanceof Error ? e.message : String(e);
  const unknown = /Unknown option '([^']+)'/.exec(msg);
  if (unknown) return `unknown flag ${JSON.stringify(unknown[1])}: see --help`;
  const missing = /Option '(--[a-z-]+)/.exec(msg);
  if (missing && msg.includes("argument missing")) {
    return `"${missing[1]}" needs a value: got none`;
  }
  return `${msg.replace(/\. To specify.*$/s, "")}: see --help`;
}

/**
 * Parses yes/true/no/false in any case.
 *
 * @param name the variable, for the message
 * @param text its value
 * @returns the boolean
 * @throws {ConfigError} on anything else
 */
export function parseBool(name: string, text: string): boolean {
  const t = text.trim().toLowerCase();
  if (t === "true" || t === "yes") return true;
  if (t === "false" || t === "no") return false;
  throw new ConfigError(`${name} must be true, false, yes or no: got ${JSON.stringify(text)}`);
}

interface NumberCheck {
  /** exclusive lower bound */
  readonly min: number;
  /** inclusive upper bound */
  readonly max?: number;
  readonly integer: boolean;
}

function parseNumber(name: string, text: string, check: NumberCheck): number {
  const n = /^[+]?(\d+\.?\d*|\.\d+)$/.test(text) ? Number(text) : NaN;
  const what = check.integer ? "a whole number" : "a number";
  if (!Number.isFinite(n) || (check.integer && !Number.isInteger(n))) {
    throw new ConfigError(`${name} must be ${what}: got ${JSON.stringify(text)}`);
  }
  if (n <= check.min) {
    throw new ConfigError(`${name} must be > ${check.min}: got ${text}`);
  }
  if (check.max !== undefined && n > check.max) {
    throw new ConfigError(`${name} must be <= ${check.max}: got ${text}`);
  }
  return n;
}

function parseLevel(s: Sourced): LogLevel {
  const t = s.value.toLowerCase();
  const map: Record<string, LogLevel> = {
    trace: "trace",
    debug: "debug",
    info: "info",
    warn: "warning",
    warning: "warning",
    error: "error",
    fatal: "fatal",
  };
  const level = map[t];
  if (level === undefined) {
    const name = s.source.startsWith("--") ? `"${s.source}"` : s.source;
    throw new ConfigError(
      `${name} must be one of trace, debug, info, warn, error, fatal: got ${
        JSON.stringify(s.value)
      }`,
    );
  }
  return level;
}

function parseFormat(text: string): LogFormat {
  const t = text.toLowerCase();
  if (t === "json" || t === "text") return t;
  throw new ConfigError(`"--log-format" must be json or text: got ${JSON.stringify(text)}`);
}

function parseListen(text: string): { hostname: string; port: number } {
  const m = /^(\[[0-9a-fA-F:.]+\]|[^:]*):(\d+)$/.exec(text);
  const port = m ? Number(m[2]) : NaN;
  if (m === null || !Number.isInteger(port) || port > 65535) {
    throw new ConfigError(
      `"--listen" must be [host]:port with a port from 0 to 65535: got ${JSON.stringify(text)}`,
    );
  }
  const host = (m[1] as string).replace(/^\[|\]$/g, "");
  return { hostname: host === "" ? "0.0.0.0" : host, port };
}

/**
 * The `--help` text, built from {@linkcode OPTIONS}.
 *
 * @param version the program version
 * @returns the text
 */
export function helpText(version: string): string {
  const rows = OPTIONS.map((o) => {
    const flag = o.type === "boolean" ? `--${o.flag}` : `--${o.flag} VALUE`;
    const env = o.env ? ` [${o.env}]` : "";
    const dflt = o.default === "" ? "" : ` (default: ${o.default})`;
    return `  ${flag.padEnd(34)}${o.help}${env}${dflt}`;
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
