/**
 * Configuration: flags and environment resolved once into a frozen, typed
 * {@linkcode Config}, from the option table in `cli/options.ts` (the one place
 * each option, its variables, default, bounds and refused combinations are
 * declared). Pure: the caller passes `args` and `env` in. A flag beats its
 * environment variable; a bad value, a flag the chosen command does not
 * take, or a refused combination is a {@linkcode ConfigError} naming the
 * flag or variable and the value.
 *
 * @module
 */

import { parseArgs } from "node:util";
import { errorText } from "../base/errors.ts";
import type { LogFormat } from "../base/logging.ts";
import {
  checkEndpointUrls,
  type Command,
  COMMANDS,
  ConfigError,
  type ConfigFields,
  type DefaultContext,
  defaultOf,
  flagText,
  INFO_SWITCHES,
  OPTION_KEYS,
  OPTION_LIST,
  type OptionKey,
  OPTIONS,
  type OptionSpec,
} from "./options.ts";

export { ConfigError, ENV_VARS, OPTION_LIST, OPTIONS, parseBool } from "./options.ts";
export type { Command, ConfigFields, ListenAddress, ScrapeVia, Sourced } from "./options.ts";
export type { LogFormat, LogLevel } from "../base/logging.ts";

/**
 * Everything the program needs to know, resolved once: the command, and one
 * field per option of `OPTIONS` (its key), where its flag, variables and
 * default are declared (`docs/configuration.md` shows them).
 */
export interface Config extends ConfigFields {
  /** `collect` (no command given) or `dashboard`. */
  readonly command: Command;
}

/** What {@linkcode parseConfig} asks for: show help, show version, or run. */
export type ParseResult =
  | { readonly kind: "help"; readonly command?: Command }
  | { readonly kind: "version" }
  | { readonly kind: "run"; readonly config: Config };

/** The flags as given: each flag's value (a switch's is a boolean). */
type Given = Readonly<Record<string, string | boolean | undefined>>;

/**
 * Resolves flags and environment into a frozen {@linkcode Config}.
 *
 * @param args command-line arguments (without the program name)
 * @param env environment variables
 * @param stderrIsTerminal whether stderr is a terminal (picks the default log format) @default false
 * @returns help, version, or the config
 * @throws {ConfigError} on any bad flag or value, or a refused combination
 */
export function parseConfig(
  args: readonly string[],
  env: Readonly<Record<string, string | undefined>>,
  stderrIsTerminal = false,
): ParseResult {
  // -h and -v, and the words help and version, as people type them
  const words = args.map((a) => (a === "-h" ? "--help" : a === "-v" ? "--version" : a));
  const first = words.find((a) => !a.startsWith("-"));
  if (first === "help" || first === "version") {
    const rest = words.filter((a) => a !== first);
    words.splice(0, words.length, ...rest, `--${first}`);
  }
  const { given, positionals, rawFlags } = readFlags(words);
  if (given[INFO_SWITCHES.help.flag] === true) {
    const [c] = positionals;
    const command = COMMANDS.find((k) => k === c);
    return command === undefined ? { kind: "help" } : { kind: "help", command };
  }
  if (given[INFO_SWITCHES.version.flag] === true) return { kind: "version" };
  checkEndpointUrls(env);
  const command = commandOf(positionals);
  for (const o of OPTION_LIST) {
    if (given[o.flag] !== undefined && !o.commands.includes(command)) {
      // name the form that was typed: --no-cloudwatch, not --cloudwatch
      const typed = !rawFlags.has(`--${o.flag}`) && rawFlags.has(`--no-${o.flag}`)
        ? `no-${o.flag}`
        : o.flag;
      throw new ConfigError(
        `"--${typed}" is a flag of the ${o.commands.join(" and ")} command, not of ${command}`,
      );
    }
    if (o.type === "boolean" && rawFlags.has(`--${o.flag}`) && rawFlags.has(`--no-${o.flag}`)) {
      throw new ConfigError(
        `"--${o.flag}" and "--no-${o.flag}" contradict each other: drop one`,
      );
    }
  }
  const fields = resolveFields(command, given, env, stderrIsTerminal);
  refuseCombinations(fields, given);
  return { kind: "run", config: Object.freeze({ command, ...fields }) };
}

/** The flags whose value follows them (`--interval 5`). */
const VALUE_FLAGS: ReadonlySet<string> = new Set(
  OPTION_LIST.filter((o) => o.type === "string").map((o) => `--${o.flag}`),
);

/**
 * The arguments with a flag's value that starts with "-" joined to it
 * (`--interval -5` → `--interval=-5`), so a negative number gets its range
 * message; a value like `-x` is refused as missing (parseArgs would call it
 * "ambiguous").
 */
function joinDashValues(args: readonly string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const a = args[i] ?? "";
    const next = args[i + 1];
    if (a === "--") return [...out, ...args.slice(i)];
    if (!VALUE_FLAGS.has(a) || next === undefined || next.length < 2 || next[0] !== "-") {
      out.push(a);
    } else if (/^-[0-9.]/.test(next)) {
      out.push(`${a}=${next}`);
      i++;
    } else {
      const hint = next.startsWith("--")
        ? ""
        : ` (a value starting with "-" is written ${a}=${next})`;
      throw new ConfigError(`"${a}" needs a value: got ${JSON.stringify(next)}${hint}`);
    }
  }
  return out;
}

function readFlags(args: readonly string[]): {
  given: Given;
  positionals: readonly string[];
  rawFlags: ReadonlySet<string>;
} {
  const options: Record<string, { type: "string" | "boolean" }> = {};
  for (const o of OPTION_LIST) options[o.flag] = { type: o.type };
  try {
    const parsed = parseArgs({
      args: joinDashValues(args),
      options,
      strict: true,
      allowPositionals: true,
      allowNegative: true,
      tokens: true,
    });
    const rawFlags = new Set(parsed.tokens.flatMap((t) => t.kind === "option" ? [t.rawName] : []));
    return { given: parsed.values, positionals: parsed.positionals, rawFlags };
  } catch (e) {
    if (e instanceof ConfigError) throw e;
    throw new ConfigError(argsMessage(e));
  }
}

/** A config under construction (filled one field at a time). */
type Partly = { -readonly [K in OptionKey]?: ConfigFields[K] };

function setField<K extends OptionKey>(into: Partly, key: K, value: ConfigFields[K]): void {
  into[key] = value;
}

function isComplete(p: Partly): p is ConfigFields {
  return OPTION_KEYS.every((k) => Object.hasOwn(p, k));
}

/**
 * Every field from its option: the flag, else the first variable set, else
 * the default (a computed default may read another field). The other
 * command's variables are not read (deployments set them for collect).
 */
function resolveFields(
  command: Command,
  given: Given,
  env: Readonly<Record<string, string | undefined>>,
  stderrIsTerminal: boolean,
): ConfigFields {
  const pending = new Set<OptionKey>();
  const value = <K extends OptionKey>(key: K): ConfigFields[K] => {
    if (pending.has(key)) throw new Error(`the default of "${key}" depends on itself`);
    pending.add(key);
    try {
      const o: OptionSpec<ConfigFields[K]> = OPTIONS[key];
      return o.commands.includes(command)
        ? resolveOne(o, given[o.flag], env, ctx)
        : defaultOf(o, ctx);
    } finally {
      pending.delete(key);
    }
  };
  const ctx: DefaultContext = {
    stderrIsTerminal,
    inPod: (env["KUBERNETES_SERVICE_HOST"] ?? "") !== "",
    value,
  };
  const fields: Partly = {};
  for (const key of OPTION_KEYS) setField(fields, key, value(key));
  if (!isComplete(fields)) throw new Error("an option of OPTIONS was not resolved");
  return fields;
}

/** The combinations the table refuses, for the flags given (a variable alone never refuses). */
function refuseCombinations(c: ConfigFields, given: Given): void {
  for (const key of OPTION_KEYS) {
    const o = OPTIONS[key];
    if (given[o.flag] === undefined) continue;
    for (const r of o.refused ?? []) {
      if (!r.when(c)) continue;
      const reason = typeof r.reason === "string" ? r.reason : r.reason(c);
      throw new ConfigError(`"--${o.flag}" ${reason}`);
    }
  }
}

function commandOf(positionals: readonly string[]): Command {
  const [first, ...extra] = positionals;
  const command = first === undefined ? "collect" : COMMANDS.find((c) => c === first);
  if (command === undefined) {
    throw new ConfigError(
      `unknown command ${JSON.stringify(first)}: expected ${
        COMMANDS.map((c) => `"${c}"`).join(", ")
      } (see --help)`,
    );
  }
  if (extra.length > 0) throw new ConfigError(`unexpected argument ${JSON.stringify(extra[0])}`);
  return command;
}

function resolveOne<T>(
  o: OptionSpec<T>,
  flag: string | boolean | undefined,
  env: Readonly<Record<string, string | undefined>>,
  ctx: DefaultContext,
): T {
  const name = `"--${o.flag}"`;
  if (typeof flag === "boolean") return o.parse(String(flag), name, `--${o.flag}`);
  if (typeof flag === "string") {
    const t = flag.trim();
    if (t === "") throw new ConfigError(`${name} needs a value: got ${JSON.stringify(flag)}`);
    return o.parse(t, name, `--${o.flag}`);
  }
  for (const variable of o.env) {
    const t = env[variable]?.trim();
    if (t === undefined || t === "") continue;
    return (o.parseEnv ?? o.parse)(t, variable, variable);
  }
  return defaultOf(o, ctx);
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
  const o = OPTIONS.logFormat;
  const flag = `--${o.flag}`;
  let given: string | undefined;
  args.forEach((a, i) => {
    if (a === flag) given = args[i + 1];
    else if (a.startsWith(`${flag}=`)) given = a.slice(flag.length + 1);
  });
  try {
    const t = given?.trim();
    if (t) return o.parse(t, flag, flag);
  } catch {
    // not valid: the default, as the run would have
  }
  return defaultOf(o, {
    stderrIsTerminal,
    value: () => {
      throw new Error("the log format's default reads no other option");
    },
  });
}

/** What each command does, for `--help`. */
const COMMAND_HELP: Readonly<Record<Command, string>> = {
  collect: "scrape every aws-node pod each interval and publish the cluster figures (default)",
  dashboard: "create or replace the CloudWatch dashboard (and with --alarms the alarms)",
  report: "one measurement: where the IPs are, per zone, node group and subnet (text or json)",
};

/**
 * The `--help` text, built from the option table: every flag, or with a
 * command only that command's.
 *
 * @param version the program version
 * @param command the command asked about (`dashboard --help`) @default every command
 * @returns the text
 */
export function helpText(version: string, command?: Command): string {
  const rows = OPTION_LIST.filter((o) => command === undefined || o.commands.includes(command))
    .map((o) => {
      const env = o.env.length > 0 ? ` [${o.env.join(", ")}]` : "";
      const dflt = o.defaultText === "" ? "" : ` (default: ${o.defaultText})`;
      const only = command === undefined && o.commands.length === 1 ? `${o.commands[0]}: ` : "";
      return `  ${flagText(o).padEnd(36)}${only}${o.help}${env}${dflt}`;
    });
  return [
    `cni-metrics-helper ${version}: aggregates the Amazon VPC CNI's aws-node metrics`,
    "cluster-wide and publishes them to CloudWatch and Prometheus.",
    "",
    command === undefined
      ? `Usage: cni-metrics-helper [${COMMANDS.join("|")}] [flags]`
      : `Usage: cni-metrics-helper ${command} [flags]: ${COMMAND_HELP[command]}`,
    ...(command === undefined
      ? ["", "Commands:", ...COMMANDS.map((c) => `  ${c.padEnd(10)}${COMMAND_HELP[c]}`)]
      : []),
    "",
    `Flags${command === undefined ? "" : ` of ${command}`} (a flag beats its environment ` +
    "variable, shown in brackets):",
    ...rows,
    "",
    "Exit codes: 0 done, 1 runtime failure, 2 bad flag or variable.",
  ].join("\n");
}
