/**
 * Every option, declared once: its flag, environment variables, typed
 * default, parser and bounds, help text, and the commands that take it.
 * `parseConfig` (cli/config.ts), `--help` and the table in
 * `docs/configuration.md` are all built from {@linkcode OPTIONS} (a test
 * checks the document against it; `deno task docs` rewrites it).
 *
 * @module
 */

import { UserError } from "../base/errors.ts";
import type { LogFormat, LogLevel } from "../base/logging.ts";

/** A bad flag or environment value; `main.ts` prints it and exits 2. */
export class ConfigError extends UserError {
  /**
   * @param message names the flag or variable and the value
   */
  constructor(message: string) {
    super(message);
    this.name = "ConfigError";
  }
}

/** The subcommands. */
export const COMMANDS = ["collect", "dashboard"] as const;

/** A subcommand. */
export type Command = typeof COMMANDS[number];

/** A value and where it came from (for the start-up log line). */
export interface Sourced {
  /** The value. */
  readonly value: string;
  /** e.g. `--region`, `AWS_REGION`. */
  readonly source: string;
}

/** What a default may depend on. */
export interface DefaultContext {
  /** Whether stderr is a terminal. */
  readonly stderrIsTerminal: boolean;
}

/** One option. `T` is the type of its value in the config. */
export interface OptionSpec<T = unknown> {
  /** Flag name without the dashes. */
  readonly flag: string;
  /** The config field it sets; `undefined` for `--help` and `--version`. */
  readonly key: string | undefined;
  /** A flag with a value, or a switch (`--x` / `--no-x`). */
  readonly type: "string" | "boolean";
  /** Placeholder of the value in `--help` and the docs, e.g. `SECONDS`. */
  readonly valueName?: string;
  /** Environment variables read when the flag is absent, in order. */
  readonly env: readonly string[];
  /** Commands that take the flag (the variables are read by those only). */
  readonly commands: readonly Command[];
  /** One line of help. */
  readonly help: string;
  /** The value when neither the flag nor a variable is set. */
  readonly default: (ctx: DefaultContext) => T;
  /** The default as the docs show it. */
  readonly defaultText: string;
  /**
   * Parses a text value.
   *
   * @param text the value, trimmed, not empty
   * @param name `"--flag"` or the variable, for messages
   * @param source `--flag` or the variable, as `Sourced.source`
   * @throws {ConfigError} naming `name` and the value
   */
  readonly parse: (text: string, name: string, source: string) => T;
  /** Parses a variable's value when it differs from a flag's (a path list). */
  readonly parseEnv?: (text: string, name: string) => T;
}

const BOTH: readonly Command[] = COMMANDS;
const COLLECT: readonly Command[] = ["collect"];
const DASHBOARD: readonly Command[] = ["dashboard"];

/** Bounds of a number option. */
export interface NumberBounds {
  /** Exclusive lower bound. */
  readonly above: number;
  /** Inclusive lower bound, when tighter than `above`. */
  readonly min?: number;
  /** Inclusive upper bound. */
  readonly max?: number;
  /** Whole numbers only. */
  readonly integer: boolean;
}

const PLAIN_NUMBER = /^[+]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)$/;

/**
 * Parses a plain decimal number within bounds.
 *
 * @param name `"--flag"` or the variable
 * @param text the value
 * @param b the bounds
 * @returns the number
 * @throws {ConfigError} naming `name` and `text`
 */
export function parseNumber(name: string, text: string, b: NumberBounds): number {
  // the pattern has no nested repeats: linear on any input
  const n = text.length <= 32 && PLAIN_NUMBER.test(text) ? Number(text) : NaN;
  const what = b.integer ? "a whole number" : "a number";
  if (!Number.isFinite(n) || (b.integer && !Number.isInteger(n))) {
    throw new ConfigError(`${name} must be ${what}: got ${JSON.stringify(text)}`);
  }
  if (b.min !== undefined && b.max !== undefined && (n < b.min || n > b.max)) {
    throw new ConfigError(`${name} must be from ${b.min} to ${b.max}: got ${text}`);
  }
  if (b.min !== undefined && n < b.min) {
    throw new ConfigError(`${name} must be >= ${b.min}: got ${text}`);
  }
  if (n <= b.above) throw new ConfigError(`${name} must be > ${b.above}: got ${text}`);
  if (b.max !== undefined && n > b.max) {
    throw new ConfigError(`${name} must be <= ${b.max}: got ${text}`);
  }
  return n;
}

/**
 * Parses yes/true/no/false in any case.
 *
 * @param name the flag or variable, for the message
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

const LEVELS: Readonly<Record<string, LogLevel>> = {
  trace: "trace",
  debug: "debug",
  info: "info",
  warn: "warning",
  warning: "warning",
  error: "error",
  fatal: "fatal",
};

function parseLevel(text: string, name: string): LogLevel {
  const level = LEVELS[text.toLowerCase()];
  if (level === undefined) {
    throw new ConfigError(
      `${name} must be one of trace, debug, info, warn, error, fatal: got ${JSON.stringify(text)}`,
    );
  }
  return level;
}

function parseFormat(text: string, name: string): LogFormat {
  const t = text.toLowerCase();
  if (t === "json" || t === "text") return t;
  throw new ConfigError(`${name} must be json or text: got ${JSON.stringify(text)}`);
}

/** How pods are scraped: through the API server's pod proxy, or straight from the node. */
export type ScrapeVia = "proxy" | "direct";

function parseScrapeVia(text: string, name: string): ScrapeVia {
  const t = text.toLowerCase();
  if (t === "proxy" || t === "direct") return t;
  throw new ConfigError(`${name} must be proxy or direct: got ${JSON.stringify(text)}`);
}

/** A listen address. */
export interface ListenAddress {
  /** Host to bind; `0.0.0.0` for all. */
  readonly hostname: string;
  /** Port; 0 for any free one. */
  readonly port: number;
}

/**
 * Parses `[host]:port`.
 *
 * @param text the value
 * @param name `"--listen"`
 * @returns the address
 * @throws {ConfigError} naming `name` and `text`
 */
export function parseListen(text: string, name: string): ListenAddress {
  const m = /^(\[[0-9a-fA-F:.]+\]|[^:]*):([0-9]{1,5})$/.exec(text);
  const port = m ? Number(m[2]) : NaN;
  if (m === null || !Number.isInteger(port) || port > 65535) {
    throw new ConfigError(
      `${name} must be [host]:port with a port from 0 to 65535: got ${JSON.stringify(text)}`,
    );
  }
  const host = (m[1] as string).replace(/^\[|\]$/g, "");
  return { hostname: host === "" ? "0.0.0.0" : host, port };
}

const text = (t: string) => t;
const sourced = (t: string, _name: string, source: string): Sourced => ({ value: t, source });

/** An AWS region name: `us-east-1`, `us-gov-west-1`, `cn-north-1`, `eu-central-2`. */
const REGION = /^[a-z]{2}(?:-[a-z]+){1,3}-[0-9]{1,2}$/;

function parseRegion(t: string, name: string, source: string): Sourced {
  if (t.length > 32 || !REGION.test(t)) {
    throw new ConfigError(`${name} must be an AWS region like us-east-1: got ${JSON.stringify(t)}`);
  }
  return { value: t, source };
}

/**
 * Checks the `AWS_ENDPOINT_URL` and `AWS_ENDPOINT_URL_<SERVICE>` variables
 * the AWS SDK reads: each must be an http(s) URL.
 *
 * @param env the environment
 * @throws {ConfigError} naming the variable and its value
 */
export function checkEndpointUrls(env: Readonly<Record<string, string | undefined>>): void {
  for (const [name, value] of Object.entries(env)) {
    if (!/^AWS_ENDPOINT_URL(?:_[A-Z0-9_]+)?$/.test(name) || value === undefined) continue;
    let ok = false;
    try {
      const u = new URL(value.trim());
      ok = u.protocol === "http:" || u.protocol === "https:";
    } catch {
      ok = false;
    }
    if (!ok) {
      throw new ConfigError(`${name} must be an http(s) URL: got ${JSON.stringify(value)}`);
    }
  }
}
const num = (b: NumberBounds) => (t: string, name: string) => parseNumber(name, t, b);
const flagOnly = (t: string, name: string): boolean => parseBool(name, t);
const fixed = <T>(v: T) => () => v;

/** Every option of the program, in `--help` order. */
export const OPTIONS: readonly OptionSpec[] = Object.freeze<OptionSpec[]>([
  {
    flag: "kubeconfig",
    key: "kubeconfig",
    type: "string",
    valueName: "PATH",
    env: ["KUBECONFIG"],
    commands: BOTH,
    help: "kubeconfig file (the variable may list several, separated by ':')",
    default: fixed<readonly string[]>([]),
    defaultText: "in-cluster, else ~/.kube/config",
    parse: (t) => [t],
    parseEnv: (t) => t.split(":").filter((p) => p !== ""),
  },
  {
    flag: "context",
    key: "context",
    type: "string",
    valueName: "NAME",
    env: [],
    commands: BOTH,
    help: "kubeconfig context to use",
    default: fixed(undefined),
    defaultText: "the current context",
    parse: text,
  },
  {
    flag: "namespace",
    key: "namespace",
    type: "string",
    valueName: "NS",
    env: [],
    commands: COLLECT,
    help: "namespace of the aws-node pods",
    default: fixed("kube-system"),
    defaultText: "kube-system",
    parse: text,
  },
  {
    flag: "selector",
    key: "selector",
    type: "string",
    valueName: "SELECTOR",
    env: [],
    commands: COLLECT,
    help: "label selector of the aws-node pods",
    default: fixed("k8s-app=aws-node"),
    defaultText: "k8s-app=aws-node",
    parse: text,
  },
  {
    flag: "metrics-port",
    key: "metricsPort",
    type: "string",
    valueName: "PORT",
    env: [],
    commands: COLLECT,
    help: "aws-node metrics port",
    default: fixed(61678),
    defaultText: "61678",
    parse: num({ above: 0, max: 65535, integer: true }),
  },
  {
    flag: "cloudwatch",
    key: "cloudwatch",
    type: "boolean",
    env: ["USE_CLOUDWATCH"],
    commands: COLLECT,
    help: "publish to CloudWatch (--no-cloudwatch to turn off)",
    default: fixed(true),
    defaultText: "true",
    parse: flagOnly,
  },
  {
    flag: "prometheus",
    key: "prometheus",
    type: "boolean",
    env: ["USE_PROMETHEUS"],
    commands: COLLECT,
    help: "export the cluster figures on /metrics",
    default: fixed(false),
    defaultText: "false",
    parse: flagOnly,
  },
  {
    flag: "interval",
    key: "intervalSeconds",
    type: "string",
    valueName: "SECONDS",
    env: ["METRIC_UPDATE_INTERVAL"],
    commands: COLLECT,
    help: "seconds between scrape cycles, 1 to 3600; CloudWatch publishes every 2 x interval",
    default: fixed(30),
    defaultText: "30",
    parse: num({ above: 0, min: 1, max: 3600, integer: false }),
  },
  {
    flag: "cluster-id",
    key: "clusterId",
    type: "string",
    valueName: "ID",
    env: ["AWS_CLUSTER_ID"],
    commands: BOTH,
    help: "value of the CLUSTER_ID dimension",
    default: fixed(undefined),
    defaultText: "EKS kubeconfig context, else instance tags; required off EC2",
    parse: sourced,
  },
  {
    flag: "region",
    key: "region",
    type: "string",
    valueName: "REGION",
    env: ["AWS_REGION", "AWS_DEFAULT_REGION"],
    commands: BOTH,
    help: "CloudWatch region",
    default: fixed(undefined),
    defaultText: "kubeconfig EKS context, AWS profile, IMDS",
    parse: parseRegion,
  },
  {
    flag: "profile",
    key: "profile",
    type: "string",
    valueName: "NAME",
    env: ["AWS_PROFILE"],
    commands: BOTH,
    help: "AWS shared-config profile",
    default: fixed(undefined),
    defaultText: "none",
    parse: text,
  },
  {
    flag: "scrape-concurrency",
    key: "scrapeConcurrency",
    type: "string",
    valueName: "N",
    env: [],
    commands: COLLECT,
    help: "scrapes in flight at once",
    default: fixed(32),
    defaultText: "32",
    parse: num({ above: 0, max: 10000, integer: true }),
  },
  {
    flag: "scrape-via",
    key: "scrapeVia",
    type: "string",
    valueName: "MODE",
    env: ["SCRAPE_VIA"],
    commands: COLLECT,
    help:
      "proxy (through the API server) or direct (http://<pod IP>:<metrics port> from the helper)",
    default: fixed<ScrapeVia>("proxy"),
    defaultText: "proxy",
    parse: parseScrapeVia,
  },
  {
    flag: "scrape-timeout",
    key: "scrapeTimeoutSeconds",
    type: "string",
    valueName: "SECONDS",
    env: [],
    commands: COLLECT,
    help: "seconds one scrape may take, below --interval; a dead node costs at most this",
    default: fixed<number | undefined>(undefined),
    defaultText: "10, at most half of --interval",
    parse: num({ above: 0, integer: false }),
  },
  {
    flag: "headroom",
    key: "headroom",
    type: "boolean",
    env: [],
    commands: COLLECT,
    help: "publish minNodeIPHeadroom and nodesNearIPLimit (--no-headroom: the 21 metrics only)",
    default: fixed(true),
    defaultText: "true",
    parse: flagOnly,
  },
  {
    flag: "headroom-threshold",
    key: "headroomThreshold",
    type: "string",
    valueName: "N",
    env: ["HEADROOM_THRESHOLD"],
    commands: COLLECT,
    help: "a node with fewer free IPs (ip_max - assigned) counts in nodesNearIPLimit",
    default: fixed(10),
    defaultText: "10",
    parse: num({ above: -1, min: 0, max: 100000, integer: true }),
  },
  {
    flag: "subnets",
    key: "subnets",
    type: "boolean",
    env: ["USE_SUBNET_METRICS"],
    commands: BOTH,
    help:
      "publish each node subnet's free IPs (EC2 DescribeInstances and DescribeSubnets, list nodes)",
    default: fixed(false),
    defaultText: "false",
    parse: flagOnly,
  },
  {
    flag: "subnet-refresh",
    key: "subnetRefreshSeconds",
    type: "string",
    valueName: "SECONDS",
    env: [],
    commands: COLLECT,
    help: "seconds between two reads of the subnets' free IPs, 10 to 86400",
    default: fixed(300),
    defaultText: "300",
    parse: num({ above: 0, min: 10, max: 86400, integer: false }),
  },
  {
    flag: "leader-election",
    key: "leaderElection",
    type: "boolean",
    env: ["LEADER_ELECTION"],
    commands: COLLECT,
    help: "run several replicas: a Lease elects the one that scrapes and publishes",
    default: fixed(false),
    defaultText: "false",
    parse: flagOnly,
  },
  {
    flag: "leader-election-name",
    key: "leaderElectionName",
    type: "string",
    valueName: "NAME",
    env: [],
    commands: COLLECT,
    help: "name of the Lease",
    default: fixed("cni-metrics-helper"),
    defaultText: "cni-metrics-helper",
    parse: text,
  },
  {
    flag: "leader-election-namespace",
    key: "leaderElectionNamespace",
    type: "string",
    valueName: "NS",
    env: [],
    commands: COLLECT,
    help: "namespace of the Lease",
    default: fixed<string | undefined>(undefined),
    defaultText: "the pod's own namespace; required outside a pod",
    parse: text,
  },
  {
    flag: "once",
    key: "once",
    type: "boolean",
    env: [],
    commands: COLLECT,
    help: "take two samples one interval apart, publish the second, flush, exit",
    default: fixed(false),
    defaultText: "false",
    parse: flagOnly,
  },
  {
    flag: "dry-run",
    key: "dryRun",
    type: "boolean",
    env: [],
    commands: BOTH,
    help: "print each CloudWatch request as a JSON line on stdout instead of sending it",
    default: fixed(false),
    defaultText: "false",
    parse: flagOnly,
  },
  {
    flag: "log-level",
    key: "logLevel",
    type: "string",
    valueName: "LEVEL",
    env: ["AWS_VPC_K8S_CNI_LOGLEVEL"],
    commands: BOTH,
    help: "trace, debug, info, warn, error or fatal (any case)",
    default: fixed<LogLevel>("info"),
    defaultText: "info",
    parse: parseLevel,
  },
  {
    flag: "log-format",
    key: "logFormat",
    type: "string",
    valueName: "FORMAT",
    env: [],
    commands: BOTH,
    help: "json (one object a line) or text",
    default: (ctx): LogFormat => (ctx.stderrIsTerminal ? "text" : "json"),
    defaultText: "json off a terminal, text on one",
    parse: parseFormat,
  },
  {
    flag: "listen",
    key: "listen",
    type: "string",
    valueName: "ADDR",
    env: [],
    commands: COLLECT,
    help: "address of /metrics, /healthz, /readyz ([host]:port)",
    default: fixed<ListenAddress>({ hostname: "0.0.0.0", port: 61681 }),
    defaultText: ":61681",
    parse: parseListen,
  },
  {
    flag: "buffer-max-datums",
    key: "bufferMaxDatums",
    type: "string",
    valueName: "N",
    env: [],
    commands: COLLECT,
    help: "datums kept while CloudWatch is unreachable (24 h at 30 s); then the oldest go",
    default: fixed(60480),
    defaultText: "60480",
    parse: num({ above: 0, integer: true }),
  },
  {
    flag: "name",
    key: "dashboardName",
    type: "string",
    valueName: "NAME",
    env: [],
    commands: DASHBOARD,
    help: "dashboard name",
    default: fixed(undefined),
    defaultText: "EKS-CNI-metrics-<cluster>",
    parse: text,
  },
  {
    flag: "alarms",
    key: "alarms",
    type: "boolean",
    env: [],
    commands: DASHBOARD,
    help: "also create the IP-exhaustion alarms",
    default: fixed(false),
    defaultText: "false",
    parse: flagOnly,
  },
  {
    flag: "ip-utilization-threshold",
    key: "ipUtilizationThreshold",
    type: "string",
    valueName: "PERCENT",
    env: [],
    commands: DASHBOARD,
    help: "IP utilisation alarm threshold, percent",
    default: fixed(90),
    defaultText: "90",
    parse: num({ above: 0, max: 100, integer: false }),
  },
  {
    flag: "subnet-threshold",
    key: "subnetThreshold",
    type: "string",
    valueName: "N",
    env: [],
    commands: DASHBOARD,
    help: "with --subnets --alarms: alarm when a subnet has fewer free IPs",
    default: fixed(50),
    defaultText: "50",
    parse: num({ above: -1, min: 0, max: 16777216, integer: true }),
  },
  {
    flag: "alarm-topic-arn",
    key: "alarmTopicArn",
    type: "string",
    valueName: "ARN",
    env: [],
    commands: DASHBOARD,
    help: "SNS topic the alarms notify",
    default: fixed(undefined),
    defaultText: "none",
    parse: text,
  },
  {
    flag: "help",
    key: undefined,
    type: "boolean",
    env: [],
    commands: BOTH,
    help: "show this help",
    default: fixed(false),
    defaultText: "",
    parse: flagOnly,
  },
  {
    flag: "version",
    key: undefined,
    type: "boolean",
    env: [],
    commands: BOTH,
    help: "show the version",
    default: fixed(false),
    defaultText: "",
    parse: flagOnly,
  },
]);

/**
 * Every environment variable the program reads itself (the AWS SDK reads
 * its own standard ones too, e.g. `AWS_ACCESS_KEY_ID`, `AWS_ROLE_ARN`).
 */
export const ENV_VARS: readonly string[] = Object.freeze([
  ...OPTIONS.flatMap((o) => o.env),
  "AWS_CONFIG_FILE",
  "AWS_EC2_METADATA_DISABLED",
  "AWS_SHARED_CREDENTIALS_FILE",
  "POD_NAME",
  "KUBERNETES_SERVICE_HOST",
  "KUBERNETES_SERVICE_PORT",
  "HOME",
]);

/**
 * How an option is written in `--help` and the docs: `--flag VALUE`,
 * `--flag`, or `--flag / --no-flag` for a switch that is on by default.
 *
 * @param o the option
 * @returns the text
 */
export function flagText(o: OptionSpec): string {
  if (o.type === "string") return `--${o.flag} ${o.valueName ?? "VALUE"}`;
  return o.key === undefined || o.defaultText !== "true"
    ? `--${o.flag}`
    : `--${o.flag} / --no-${o.flag}`;
}

/**
 * The options list of `docs/configuration.md`: one item per option (flag,
 * variables, default, command, meaning), so it fits 100 columns where a
 * table of five columns cannot. `deno fmt` may rewrap it; the test compares
 * it with whitespace folded.
 *
 * @returns the Markdown list
 */
export function optionsMarkdown(): string {
  const items = OPTIONS.filter((o) => o.key !== undefined).map((o) => {
    const env = o.env.length > 0 ? `${o.env.map((e) => `\`${e}\``).join(", ")}; ` : "";
    const dflt = o.defaultText.includes(" ") ? o.defaultText : `\`${o.defaultText}\``;
    const cmd = o.commands.length === COMMANDS.length ? "both commands" : o.commands.join(", ");
    return `- \`${flagText(o)}\` (${env}default ${dflt}; ${cmd}): ${o.help}.`;
  });
  return items.join("\n") + "\n";
}
