/**
 * Every option, declared once: its flag, environment variables, typed
 * default, parser and bounds, help text, the commands that take it, and the
 * combinations it is refused in. {@linkcode OPTIONS} is keyed by the
 * {@linkcode ConfigFields} field each option sets and typed by it: a parser
 * or default of the wrong type, a field without an option or an option
 * without a field fails `deno check`. `parseConfig` (cli/config.ts),
 * `--help` and the list in `docs/configuration.md` are all built from it (a
 * test checks the document against it; `deno task docs` rewrites it).
 *
 * @module
 */

import { UserError } from "../base/errors.ts";
import type { LogFormat, LogLevel } from "../base/logging.ts";
import { type Breakdown, BREAKDOWNS } from "../model/node_groups.ts";

/** A bad flag or environment value; `main.ts` prints it and exits 2. */
export class ConfigError extends UserError {
  /**
   * A bad flag or value.
   *
   * @param message names the flag or variable and the value
   */
  constructor(message: string) {
    super(message);
    this.name = "ConfigError";
  }
}

/** The subcommands. */
export const COMMANDS = ["collect", "dashboard", "report"] as const;

/** A subcommand. */
export type Command = typeof COMMANDS[number];

/** A value and where it came from (for the start-up log line). */
export interface Sourced {
  /** The value. */
  readonly value: string;
  /** e.g. `--region`, `AWS_REGION`. */
  readonly source: string;
}

/** How pods are scraped: through the API server's pod proxy, or straight from the node. */
export type ScrapeVia = "proxy" | "direct";

/** A listen address. */
export interface ListenAddress {
  /** Host to bind; `0.0.0.0` for all. */
  readonly hostname: string;
  /** Port; 0 for any free one. */
  readonly port: number;
}

/**
 * Every value an option sets, one field per entry of {@linkcode OPTIONS}
 * (the entry of the same key declares its flag, variables and default;
 * `docs/configuration.md` shows them). `Config` (cli/config.ts) is these
 * plus the command.
 */
export interface ConfigFields {
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
  /** `--breakdown` / `BREAKDOWN`: the figures also per zone, node group or instance type. */
  readonly breakdown: readonly Breakdown[];
  /** `--breakdown-max-groups`: groups kept per breakdown; the smallest fold into `other`. */
  readonly breakdownMaxGroups: number;
  /** `--output` (report): text or json. */
  readonly output: ReportFormat;
}

/** How the report is printed. */
export type ReportFormat = "text" | "json";

/** A field of {@linkcode ConfigFields}: the key of its option in {@linkcode OPTIONS}. */
export type OptionKey = keyof ConfigFields;

/** A default written as a value: `--help` and the docs show `String(value)`. */
export type Literal = string | number | boolean;

/** What a computed default may depend on. */
export interface DefaultContext {
  /** Whether stderr is a terminal. */
  readonly stderrIsTerminal: boolean;
  /** Whether the process runs in a pod (`KUBERNETES_SERVICE_HOST` is set). @default false */
  readonly inPod?: boolean;
  /**
   * Another option's resolved value (a default derived from it).
   *
   * @param key the other option
   * @returns its value, as the config will have it
   */
  readonly value: <K extends OptionKey>(key: K) => ConfigFields[K];
}

/** A default written as a value; its text is derived from it. */
export interface LiteralDefault<T> {
  /** The value when neither the flag nor a variable is set. */
  readonly default: Extract<T, Literal>;
  /** Not written: it is `String(default)`. */
  readonly defaultText?: never;
}

/** A default computed from the context (or not a literal), with the text saying how. */
export interface ComputedDefault<T> {
  /** The value when neither the flag nor a variable is set. */
  readonly default: (ctx: DefaultContext) => T;
  /** The default as `--help` and the docs show it. */
  readonly defaultText: string;
}

/**
 * A combination an option is refused in, checked once every value is
 * resolved, when the option's flag is given (either form of a switch):
 * flags that would do nothing, or that contradict another, are refused
 * rather than ignored. A variable alone never refuses (deployments set them
 * for every mode).
 */
export interface Refusal {
  /** The combination refused, on the resolved values. */
  readonly when: (c: ConfigFields) => boolean;
  /** The message after the flag's quoted name, e.g. `does nothing with "--once" ...`. */
  readonly reason: string | ((c: ConfigFields) => string);
}

/** What every option declares, whatever its kind (see {@linkcode OptionSpec}). */
export interface OptionBase<T> {
  /** Flag name without the dashes. */
  readonly flag: string;
  /** Environment variables read when the flag is absent, in order. */
  readonly env: readonly string[];
  /** Commands that take the flag (the variables are read by those only). */
  readonly commands: readonly Command[];
  /** One line of help. */
  readonly help: string;
  /**
   * Parses a text value (a switch's variable, or `"true"`/`"false"` for its
   * flag).
   *
   * @param text the value, trimmed, not empty
   * @param name `"--flag"` or the variable, for messages
   * @param source `--flag` or the variable, as `Sourced.source`
   * @throws {ConfigError} naming `name` and the value
   */
  readonly parse: (text: string, name: string, source: string) => T;
  /** Parses a variable's value when it differs from a flag's (a path list). */
  readonly parseEnv?: (text: string, name: string) => T;
  /** The combinations this option is refused in. @default none */
  readonly refused?: readonly Refusal[];
}

/** An option with a value: `--flag VALUE` or `--flag=VALUE`. */
export interface ValueOption<T> extends OptionBase<T> {
  /** A flag with a value. */
  readonly type: "string";
  /** Placeholder of the value in `--help` and the docs, e.g. `SECONDS`. */
  readonly valueName: string;
  /** The bounds of a number option (its parser checks them). */
  readonly bounds?: NumberBounds;
}

/** A switch: `--flag` / `--no-flag`; only for a boolean field. */
export interface SwitchOption<T> extends OptionBase<T> {
  /** A switch. */
  readonly type: "boolean";
}

/** One option. `T` is the type of the config field it sets. */
export type OptionSpec<T> =
  & (ValueOption<T> | ([T] extends [boolean] ? SwitchOption<T> : never))
  & (LiteralDefault<T> | ComputedDefault<T>);

/** The option table's type: one option per config field, typed by it. */
export type OptionTable = { readonly [K in OptionKey]: OptionSpec<ConfigFields[K]> };

/**
 * Whether an option's default is computed (and so has a written text).
 *
 * @param o the option
 * @returns `true` when `default` is a function
 */
export function isComputed<T>(
  o: LiteralDefault<T> | ComputedDefault<T>,
): o is ComputedDefault<T> {
  return typeof o.default === "function";
}

/**
 * An option's default value.
 *
 * @param o the option
 * @param ctx what a computed default depends on
 * @returns the value
 */
export function defaultOf<T>(o: OptionSpec<T>, ctx: DefaultContext): T {
  return isComputed(o) ? o.default(ctx) : o.default;
}

/**
 * An option's default as `--help` and the docs show it: `String(default)`
 * for a literal, the written text for a computed one.
 *
 * @param o the option
 * @returns the text
 */
export function defaultTextOf<T>(o: OptionSpec<T>): string {
  return isComputed(o) ? o.defaultText : String(o.default);
}

/**
 * Parses a comma list of breakdowns.
 *
 * @param text the list
 * @param name `"--breakdown"` or `BREAKDOWN`
 * @returns each breakdown once, in the order given
 * @throws {ConfigError} naming an unknown breakdown and the ones there are
 */
export function parseBreakdowns(text: string, name: string): readonly Breakdown[] {
  const out: Breakdown[] = [];
  for (const raw of text.split(",")) {
    const b = raw.trim().toLowerCase();
    if (b === "") continue;
    const known = BREAKDOWNS.find((k) => k === b);
    if (known === undefined) {
      throw new ConfigError(
        `${name} must list ${BREAKDOWNS.join(", ")}: got ${JSON.stringify(raw.trim())}`,
      );
    }
    if (!out.includes(known)) out.push(known);
  }
  return out;
}

/** A namespace name as Kubernetes takes it (RFC 1123 label). */
const NAMESPACE_NAME = /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/;

function parseNamespace(text: string, name: string): string {
  if (!NAMESPACE_NAME.test(text)) {
    throw new ConfigError(
      `${name} must be a namespace name (lowercase letters, digits and -, at most 63): got ` +
        JSON.stringify(text.slice(0, 80)),
    );
  }
  return text;
}

function parseDashboardName(text: string, name: string): string {
  if (!/^[A-Za-z0-9_-]{1,255}$/.test(text)) {
    throw new ConfigError(
      `${name} must be a CloudWatch dashboard name (letters, digits, - and _, at most 255): ` +
        `got ${JSON.stringify(text.slice(0, 80))}`,
    );
  }
  return text;
}

/** `arn:<partition>:sns:<region>:<12-digit account>:<topic>` (a FIFO topic ends in .fifo). */
const SNS_ARN =
  /^arn:aws(?:-[a-z]+)*:sns:[a-z]{2}(?:-[a-z]+){1,3}-[0-9]{1,2}:[0-9]{12}:[A-Za-z0-9_-]{1,256}(?:\.fifo)?$/;

function parseTopicArn(text: string, name: string): string {
  if (text.length > 400 || !SNS_ARN.test(text)) {
    throw new ConfigError(
      `${name} must be an SNS topic ARN like arn:aws:sns:us-east-1:123456789012:cni-alarms: got ` +
        JSON.stringify(text.slice(0, 80)),
    );
  }
  return text;
}

function parseReportFormat(text: string, name: string): ReportFormat {
  const t = text.toLowerCase();
  if (t === "text" || t === "json") return t;
  throw new ConfigError(`${name} must be text or json: got ${JSON.stringify(text)}`);
}

const ALL: readonly Command[] = COMMANDS;
const BOTH: readonly Command[] = ["collect", "dashboard"];
const COLLECT: readonly Command[] = ["collect"];
const COLLECT_REPORT: readonly Command[] = ["collect", "report"];
const REPORT: readonly Command[] = ["report"];
const DASHBOARD: readonly Command[] = ["dashboard"];

/** Bounds of a number option. */
export interface NumberBounds {
  /** Lower bound, inclusive unless `exclusiveMin`. @default none */
  readonly min?: number;
  /** `min` itself is refused: the value must be above it. @default false */
  readonly exclusiveMin?: boolean;
  /** Inclusive upper bound. @default none */
  readonly max?: number;
  /** Whole numbers only. */
  readonly integer: boolean;
}

/**
 * The rule of a number option as its message says it, e.g. `from 1 to
 * 3600`, `a whole number from 1 to 65535`, `above 0`.
 *
 * @param b the bounds
 * @returns the text after "must be"
 */
export function boundsText(b: NumberBounds): string {
  const range = rangeText(b);
  if (!b.integer) return range ?? "a number";
  if (range === undefined) return "a whole number";
  return range.startsWith("from ") ? `a whole number ${range}` : `a whole number, ${range}`;
}

function rangeText({ min, max, exclusiveMin }: NumberBounds): string | undefined {
  if (min !== undefined && max !== undefined) {
    return exclusiveMin ? `above ${min} and at most ${max}` : `from ${min} to ${max}`;
  }
  if (min !== undefined) return exclusiveMin ? `above ${min}` : `at least ${min}`;
  if (max !== undefined) return `at most ${max}`;
  return undefined;
}

/** A plain decimal: a sign, digits, an optional fraction; no exponent, hex or spaces. */
const PLAIN_NUMBER = /^[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)$/;

/**
 * Parses a plain decimal number (negative ones too) within bounds.
 *
 * @param name `"--flag"` or the variable
 * @param text the value
 * @param b the bounds
 * @returns the number
 * @throws {ConfigError} `<name> must be a number: got "<text>"` for a text
 *   that is not a number, else `<name> must be <rule>: got <text>`
 */
export function parseNumber(name: string, text: string, b: NumberBounds): number {
  // the pattern has no nested repeats: linear on any input
  const n = text.length <= 32 && PLAIN_NUMBER.test(text) ? Number(text) : NaN;
  if (!Number.isFinite(n)) {
    throw new ConfigError(`${name} must be a number: got ${JSON.stringify(text)}`);
  }
  const low = b.min === undefined || (b.exclusiveMin ? n > b.min : n >= b.min);
  const high = b.max === undefined || n <= b.max;
  if (!low || !high || (b.integer && !Number.isInteger(n))) {
    throw new ConfigError(`${name} must be ${boundsText(b)}: got ${text}`);
  }
  return n;
}

/** A number option's parser and bounds, spread into its entry. */
function numeric(bounds: NumberBounds): Pick<ValueOption<number>, "bounds" | "parse"> {
  return { bounds, parse: (t, name) => parseNumber(name, t, bounds) };
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

function parseScrapeVia(text: string, name: string): ScrapeVia {
  const t = text.toLowerCase();
  if (t === "proxy" || t === "direct") return t;
  throw new ConfigError(`${name} must be proxy or direct: got ${JSON.stringify(text)}`);
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
const flagOnly = (t: string, name: string): boolean => parseBool(name, t);

/** A switch's entry: `--flag` / `--no-flag`, its variables parsed as yes/true/no/false. */
function onOff(
  o: Omit<SwitchOption<boolean>, "type" | "parse" | "env"> & {
    readonly env?: readonly string[];
    readonly default: boolean;
  },
): OptionSpec<boolean> {
  return { ...o, type: "boolean", env: o.env ?? [], parse: flagOnly };
}

/** The scrape timeout when the interval allows it. */
const DEFAULT_SCRAPE_TIMEOUT_SECONDS = 10;
/** The default `--listen`, as written. */
const DEFAULT_LISTEN = ":61681";
const LAPTOP_LISTEN = "127.0.0.1:61681";

/**
 * Every option of the program, keyed by the config field it sets, in
 * `--help` order (`--help` and `--version`, which are not config, are
 * {@linkcode INFO_SWITCHES}).
 */
export const OPTIONS: OptionTable = {
  kubeconfig: {
    flag: "kubeconfig",
    type: "string",
    valueName: "PATH",
    env: ["KUBECONFIG"],
    commands: ALL,
    help: "kubeconfig file (the variable may list several, separated by ':')",
    default: () => [],
    defaultText: "in-cluster, else ~/.kube/config",
    parse: (t) => [t],
    parseEnv: (t) => t.split(":").filter((p) => p !== ""),
  },
  context: {
    flag: "context",
    type: "string",
    valueName: "NAME",
    env: [],
    commands: ALL,
    help: "kubeconfig context to use",
    default: () => undefined,
    defaultText: "the current context",
    parse: text,
  },
  namespace: {
    flag: "namespace",
    type: "string",
    valueName: "NS",
    env: [],
    commands: COLLECT_REPORT,
    help: "namespace of the aws-node pods",
    default: "kube-system",
    parse: parseNamespace,
  },
  selector: {
    flag: "selector",
    type: "string",
    valueName: "SELECTOR",
    env: [],
    commands: COLLECT_REPORT,
    help: "label selector of the aws-node pods",
    default: "k8s-app=aws-node",
    parse: text,
  },
  metricsPort: {
    flag: "metrics-port",
    type: "string",
    valueName: "PORT",
    env: [],
    commands: COLLECT_REPORT,
    help: "aws-node metrics port",
    default: 61678,
    ...numeric({ min: 1, max: 65535, integer: true }),
  },
  cloudwatch: onOff({
    flag: "cloudwatch",
    env: ["USE_CLOUDWATCH"],
    commands: COLLECT,
    help: "publish to CloudWatch (--no-cloudwatch to turn off)",
    default: true,
  }),
  prometheus: onOff({
    flag: "prometheus",
    env: ["USE_PROMETHEUS"],
    commands: COLLECT,
    help: "export the cluster figures on /metrics",
    default: false,
    refused: [{
      when: (c) => c.prometheus && c.once,
      reason: `does nothing with "--once" (no /metrics is served for one measurement): drop one`,
    }],
  }),
  intervalSeconds: {
    flag: "interval",
    type: "string",
    valueName: "SECONDS",
    env: ["METRIC_UPDATE_INTERVAL"],
    commands: COLLECT,
    help: "seconds between scrape cycles, 1 to 3600; CloudWatch publishes every 2 x interval",
    default: 30,
    ...numeric({ min: 1, max: 3600, integer: false }),
  },
  clusterId: {
    flag: "cluster-id",
    type: "string",
    valueName: "ID",
    env: ["AWS_CLUSTER_ID"],
    commands: ALL,
    help: "value of the CLUSTER_ID dimension",
    default: () => undefined,
    defaultText: "EKS kubeconfig context, else instance tags; required off EC2",
    parse: sourced,
  },
  region: {
    flag: "region",
    type: "string",
    valueName: "REGION",
    env: ["AWS_REGION", "AWS_DEFAULT_REGION"],
    commands: ALL,
    help: "CloudWatch region",
    default: () => undefined,
    defaultText: "kubeconfig EKS context, AWS profile, IMDS",
    parse: parseRegion,
  },
  profile: {
    flag: "profile",
    type: "string",
    valueName: "NAME",
    env: ["AWS_PROFILE"],
    commands: ALL,
    help: "AWS shared-config profile",
    default: () => undefined,
    defaultText: "none",
    parse: text,
  },
  scrapeConcurrency: {
    flag: "scrape-concurrency",
    type: "string",
    valueName: "N",
    env: [],
    commands: COLLECT_REPORT,
    help: "scrapes in flight at once",
    default: 32,
    ...numeric({ min: 1, max: 10000, integer: true }),
  },
  scrapeVia: {
    flag: "scrape-via",
    type: "string",
    valueName: "MODE",
    env: ["SCRAPE_VIA"],
    commands: COLLECT_REPORT,
    help:
      "proxy (through the API server) or direct (http://<pod IP>:<metrics port> from the helper)",
    default: "proxy",
    parse: parseScrapeVia,
  },
  scrapeTimeoutSeconds: {
    flag: "scrape-timeout",
    type: "string",
    valueName: "SECONDS",
    env: [],
    commands: COLLECT_REPORT,
    help: "seconds one scrape may take, below --interval; a dead node costs at most this",
    // a cycle's slowest scrape must end before the next cycle is due
    default: (ctx) => Math.min(DEFAULT_SCRAPE_TIMEOUT_SECONDS, ctx.value("intervalSeconds") / 2),
    defaultText: `${DEFAULT_SCRAPE_TIMEOUT_SECONDS}, at most half of --interval`,
    ...numeric({ min: 0, exclusiveMin: true, integer: false }),
    refused: [{
      when: (c) => c.scrapeTimeoutSeconds >= c.intervalSeconds,
      reason: (c) =>
        `must be below the interval (${c.intervalSeconds} s): got ${c.scrapeTimeoutSeconds}`,
    }],
  },
  headroom: onOff({
    flag: "headroom",
    commands: COLLECT,
    help: "publish minNodeIPHeadroom and nodesNearIPLimit (--no-headroom: the 21 metrics only)",
    default: true,
  }),
  headroomThreshold: {
    flag: "headroom-threshold",
    type: "string",
    valueName: "N",
    env: ["HEADROOM_THRESHOLD"],
    commands: COLLECT_REPORT,
    help: "a node with fewer free IPs (ip_max - assigned) counts in nodesNearIPLimit",
    default: 10,
    ...numeric({ min: 0, max: 100000, integer: true }),
    refused: [{ when: (c) => !c.headroom, reason: `does nothing with "--no-headroom": drop one` }],
  },
  subnets: onOff({
    flag: "subnets",
    env: ["USE_SUBNET_METRICS"],
    commands: ALL,
    help:
      "publish each node subnet's free IPs (EC2 DescribeInstances and DescribeSubnets, list nodes)",
    default: false,
  }),
  subnetRefreshSeconds: {
    flag: "subnet-refresh",
    type: "string",
    valueName: "SECONDS",
    env: [],
    commands: COLLECT,
    help: "seconds between two reads of the subnets' free IPs, 10 to 86400",
    default: 300,
    ...numeric({ min: 10, max: 86400, integer: false }),
    refused: [{
      when: (c) => !c.subnets,
      reason: `does nothing without "--subnets": add it or drop this`,
    }],
  },
  leaderElection: onOff({
    flag: "leader-election",
    env: ["LEADER_ELECTION"],
    commands: COLLECT,
    help: "run several replicas: a Lease elects the one that scrapes and publishes",
    default: false,
  }),
  leaderElectionName: {
    flag: "leader-election-name",
    type: "string",
    valueName: "NAME",
    env: [],
    commands: COLLECT,
    help: "name of the Lease",
    default: "cni-metrics-helper",
    parse: text,
    refused: [{
      when: (c) => !c.leaderElection,
      reason: `does nothing without "--leader-election": add it or drop this`,
    }],
  },
  leaderElectionNamespace: {
    flag: "leader-election-namespace",
    type: "string",
    valueName: "NS",
    env: [],
    commands: COLLECT,
    help: "namespace of the Lease",
    default: () => undefined,
    defaultText: "the pod's own namespace; required outside a pod",
    parse: text,
    refused: [{
      when: (c) => !c.leaderElection,
      reason: `does nothing without "--leader-election": add it or drop this`,
    }],
  },
  once: onOff({
    flag: "once",
    commands: COLLECT,
    help: "take two samples one interval apart, publish the second, flush, exit",
    default: false,
    refused: [{
      when: (c) => c.once && c.leaderElection,
      reason: "and leader election do not go together (one measurement needs no leader): " +
        "drop one (LEADER_ELECTION=false)",
    }],
  }),
  dryRun: onOff({
    flag: "dry-run",
    commands: BOTH,
    help: "print each CloudWatch request as a JSON line on stdout instead of sending it",
    default: false,
  }),
  logLevel: {
    flag: "log-level",
    type: "string",
    valueName: "LEVEL",
    env: ["AWS_VPC_K8S_CNI_LOGLEVEL"],
    commands: ALL,
    help: "trace, debug, info, warn, error or fatal (any case)",
    default: "info",
    parse: parseLevel,
  },
  logFormat: {
    flag: "log-format",
    type: "string",
    valueName: "FORMAT",
    env: [],
    commands: ALL,
    help: "json (one object a line) or text",
    default: (ctx) => (ctx.stderrIsTerminal ? "text" : "json"),
    defaultText: "json off a terminal, text on one",
    parse: parseFormat,
  },
  listen: {
    flag: "listen",
    type: "string",
    valueName: "ADDR",
    env: [],
    commands: COLLECT,
    help: "address of /metrics, /healthz, /readyz ([host]:port)",
    // in a pod every interface (the kubelet's probes and Prometheus reach the pod IP); on a
    // laptop only the loopback: a workstation's helper is not for the network to read
    default: (ctx) =>
      parseListen(ctx.inPod === true ? DEFAULT_LISTEN : LAPTOP_LISTEN, "the default"),
    defaultText: `${DEFAULT_LISTEN} in a pod, ${LAPTOP_LISTEN} outside one`,
    parse: parseListen,
    refused: [{
      when: (c) => c.once,
      reason: `does nothing with "--once" (no HTTP server runs for one measurement): drop one`,
    }],
  },
  bufferMaxDatums: {
    flag: "buffer-max-datums",
    type: "string",
    valueName: "N",
    env: [],
    commands: COLLECT,
    help: "datums kept while CloudWatch is unreachable (24 h at 30 s); then the oldest go",
    default: 60480,
    ...numeric({ min: 1, integer: true }),
    refused: [{
      when: (c) => !c.cloudwatch && !c.dryRun,
      reason: `does nothing with CloudWatch off and no "--dry-run": drop it`,
    }],
  },
  dashboardName: {
    flag: "name",
    type: "string",
    valueName: "NAME",
    env: [],
    commands: DASHBOARD,
    help: "dashboard name (letters, digits, - and _, at most 255)",
    default: () => undefined,
    defaultText: "EKS-CNI-metrics-<cluster>",
    parse: parseDashboardName,
  },
  alarms: onOff({
    flag: "alarms",
    commands: DASHBOARD,
    help: "also create the IP-exhaustion alarms",
    default: false,
  }),
  ipUtilizationThreshold: {
    flag: "ip-utilization-threshold",
    type: "string",
    valueName: "PERCENT",
    env: [],
    commands: DASHBOARD,
    help: "IP utilisation alarm threshold, percent",
    default: 90,
    ...numeric({ min: 0, exclusiveMin: true, max: 100, integer: false }),
  },
  subnetThreshold: {
    flag: "subnet-threshold",
    type: "string",
    valueName: "N",
    env: [],
    commands: DASHBOARD,
    help: "with --subnets --alarms: alarm when a subnet has fewer free IPs",
    default: 50,
    ...numeric({ min: 0, max: 16777216, integer: true }),
    refused: [{
      when: (c) => !c.subnets || !c.alarms,
      reason: `sets the subnet-low alarm: it needs "--subnets" and "--alarms"`,
    }],
  },
  alarmTopicArn: {
    flag: "alarm-topic-arn",
    type: "string",
    valueName: "ARN",
    env: [],
    commands: DASHBOARD,
    help: "SNS topic the alarms notify (arn:aws:sns:<region>:<account>:<topic>)",
    default: () => undefined,
    defaultText: "none",
    parse: parseTopicArn,
    refused: [{
      when: (c) => !c.alarms,
      reason: `does nothing without "--alarms": add "--alarms" or drop it`,
    }],
  },
  breakdown: {
    flag: "breakdown",
    type: "string",
    valueName: "LIST",
    env: ["BREAKDOWN"],
    commands: BOTH,
    help: "also publish the IP figures per zone, nodegroup and/or instance-type (comma list; " +
      "watches the nodes)",
    default: () => [],
    defaultText: "none",
    parse: parseBreakdowns,
  },
  breakdownMaxGroups: {
    flag: "breakdown-max-groups",
    type: "string",
    valueName: "N",
    env: [],
    commands: COLLECT,
    help: "groups published per breakdown, 1 to 1000; the smallest past it fold into other",
    default: 50,
    ...numeric({ min: 1, max: 1000, integer: true }),
    refused: [{
      when: (c) => c.breakdown.length === 0,
      reason: `does nothing without "--breakdown": add it or drop this`,
    }],
  },
  output: {
    flag: "output",
    type: "string",
    valueName: "FORMAT",
    env: [],
    commands: REPORT,
    help: "text (tables) or json (one object, for scripts)",
    default: "text",
    parse: parseReportFormat,
  },
};
Object.freeze(OPTIONS);

/** A switch that asks for a text instead of a run: not a config field. */
export interface InfoSwitch {
  /** Flag name without the dashes. */
  readonly flag: string;
  /** One line of help. */
  readonly help: string;
}

/** `--help` and `--version`, listed after the options. */
export const INFO_SWITCHES: { readonly help: InfoSwitch; readonly version: InfoSwitch } = Object
  .freeze({
    help: { flag: "help", help: "show this help" },
    version: { flag: "version", help: "show the version" },
  });

/**
 * Whether a text is a key of {@linkcode OPTIONS}.
 *
 * @param k the text
 * @returns `true` for a config field with an option
 */
export function isOptionKey(k: string): k is OptionKey {
  return Object.hasOwn(OPTIONS, k);
}

/** The keys of {@linkcode OPTIONS}, in `--help` order. */
export const OPTION_KEYS: readonly OptionKey[] = Object.freeze(
  Object.keys(OPTIONS).filter(isOptionKey),
);

/** An option as `--help`, the docs and the flag parser see it (its type erased). */
export interface OptionInfo {
  /** The config field it sets; `undefined` for `--help` and `--version`. */
  readonly key: OptionKey | undefined;
  /** Flag name without the dashes. */
  readonly flag: string;
  /** A flag with a value, or a switch. */
  readonly type: "string" | "boolean";
  /** Placeholder of the value, for a flag with a value. */
  readonly valueName: string | undefined;
  /** Environment variables read when the flag is absent, in order. */
  readonly env: readonly string[];
  /** Commands that take the flag. */
  readonly commands: readonly Command[];
  /** One line of help. */
  readonly help: string;
  /** The default as shown; `""` for `--help` and `--version`. */
  readonly defaultText: string;
  /** The default when it is written as a value; `undefined` when computed. */
  readonly literalDefault: Literal | undefined;
}

function infoOf<K extends OptionKey>(key: K): OptionInfo {
  const o: OptionSpec<ConfigFields[K]> = OPTIONS[key];
  return Object.freeze({
    key,
    flag: o.flag,
    type: o.type,
    valueName: o.type === "string" ? o.valueName : undefined,
    env: o.env,
    commands: o.commands,
    help: o.help,
    defaultText: defaultTextOf(o),
    literalDefault: isComputed(o) ? undefined : o.default,
  });
}

/** Every flag in `--help` order: the options, then `--help` and `--version`. */
export const OPTION_LIST: readonly OptionInfo[] = Object.freeze([
  ...OPTION_KEYS.map(infoOf),
  ...[INFO_SWITCHES.help, INFO_SWITCHES.version].map((s): OptionInfo =>
    Object.freeze({
      key: undefined,
      flag: s.flag,
      type: "boolean",
      valueName: undefined,
      env: [],
      commands: BOTH,
      help: s.help,
      defaultText: "",
      literalDefault: undefined,
    })
  ),
]);

/**
 * Every environment variable the program reads itself (the AWS SDK reads
 * its own standard ones too, e.g. `AWS_ACCESS_KEY_ID`, `AWS_ROLE_ARN`).
 */
export const ENV_VARS: readonly string[] = Object.freeze([
  ...OPTION_LIST.flatMap((o) => o.env),
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
export function flagText(o: OptionInfo): string {
  if (o.type === "string") return `--${o.flag} ${o.valueName ?? "VALUE"}`;
  return o.literalDefault === true ? `--${o.flag} / --no-${o.flag}` : `--${o.flag}`;
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
  const items = OPTION_LIST.filter((o) => o.key !== undefined).map((o) => {
    const env = o.env.length > 0 ? `${o.env.map((e) => `\`${e}\``).join(", ")}; ` : "";
    const dflt = o.defaultText.includes(" ") ? o.defaultText : `\`${o.defaultText}\``;
    const cmd = o.commands.length === COMMANDS.length ? "every command" : o.commands.join(", ");
    return `- \`${flagText(o)}\` (${env}default ${dflt}; ${cmd}): ${o.help}.`;
  });
  return items.join("\n") + "\n";
}
