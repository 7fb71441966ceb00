/**
 * Logging set-up (LogTape): JSON lines or readable text, to a writer the
 * caller passes (stderr in `main.ts`), written synchronously so nothing is
 * lost when the process exits. {@linkcode logger} is the one way modules get
 * a logger.
 *
 * @module
 */

import { configure, getLogger, getTextFormatter, type LogRecord, reset } from "@logtape/logtape";
import type { Logger } from "@logtape/logtape";

/** Root category of every logger of this program. */
export const ROOT = "cni-metrics-helper";

/** Log levels accepted by `--log-level` and `AWS_VPC_K8S_CNI_LOGLEVEL`. */
export type LogLevel = "trace" | "debug" | "info" | "warning" | "error" | "fatal";

/** Log output formats. */
export type LogFormat = "json" | "text";

/**
 * The logger of one part of the program.
 *
 * @param part sub-category, e.g. `collector`; none for the program's own
 * @returns the logger `cni-metrics-helper[.part]`
 */
export function logger(part?: string): Logger {
  return getLogger(part === undefined ? [ROOT] : [ROOT, part]);
}

/**
 * Configures LogTape for the whole process.
 *
 * @param level lowest level written
 * @param format `json` (one object a line) or `text`
 * @param write receives each formatted line (ends in a newline)
 */
export async function setupLogging(
  level: LogLevel,
  format: LogFormat,
  write: (line: string) => void,
): Promise<void> {
  const text = getTextFormatter({
    timestamp: "date-time-tz",
    value: (v: unknown) => (typeof v === "string" ? v : JSON.stringify(v)),
  });
  const formatter = format === "json" ? jsonLine : text;
  await configure({
    reset: true,
    sinks: { out: (record: LogRecord) => write(formatter(record)) },
    loggers: [
      { category: [ROOT], lowestLevel: level, sinks: ["out"] },
      { category: ["logtape", "meta"], lowestLevel: "warning", sinks: ["out"] },
    ],
  });
}

/** Removes the configuration (tests). */
export async function resetLogging(): Promise<void> {
  await reset();
}

function renderValue(v: unknown): string {
  return typeof v === "string" ? v : JSON.stringify(v) ?? String(v);
}

/**
 * One JSON object a line: `time`, `level`, `logger`, `msg` (placeholders
 * filled, strings unquoted), then the properties the message does not show:
 * each value is said once, in the message when it has a place there.
 *
 * @param record the log record
 * @returns the line, newline-terminated
 */
export function jsonLine(record: LogRecord): string {
  const msg = record.message.map((part, i) => (i % 2 === 0 ? String(part) : renderValue(part)))
    .join("");
  const properties = { ...record.properties };
  const raw = record.rawMessage;
  if (typeof raw === "string") {
    for (const m of raw.matchAll(/\{(\w+)\}/g)) delete properties[m[1] as string];
  }
  return `${
    JSON.stringify({
      time: new Date(record.timestamp).toISOString(),
      level: record.level,
      logger: record.category.join("."),
      msg,
      ...properties,
    })
  }\n`;
}
