/**
 * The AWS SDK's logger, routed into ours: one short debug line per command
 * (service, command, HTTP status, attempts; the request id at trace), the SDK's own
 * debug detail at trace, its warnings and errors as ours, so no line of its
 * own reaches stderr. Request bodies
 * are not logged (PutMetricData carries up to 1,000 datums).
 *
 * @module
 */

import { logger } from "../base/logging.ts";

/** The shape the SDK calls (`@smithy/types` `Logger`). */
export interface SdkLogger {
  /** Detail. */
  trace(...content: unknown[]): void;
  /** Detail. */
  debug(...content: unknown[]): void;
  /** One call per command, with its metadata. */
  info(...content: unknown[]): void;
  /** Something the user may want to fix. */
  warn(...content: unknown[]): void;
  /** A failure. */
  error(...content: unknown[]): void;
}

interface CommandLog {
  clientName?: string;
  commandName?: string;
  error?: unknown;
  metadata?: { httpStatusCode?: number; attempts?: number; requestId?: string };
}

function isCommandLog(c: unknown): boolean {
  return c !== null && typeof c === "object" && typeof (c as CommandLog).commandName === "string";
}

/** One line for what the SDK passes: its command summary, or its text. */
function text(content: unknown[], withRequestId: boolean): string {
  return content.map((c) => {
    if (typeof c === "string") return c;
    const o = c as CommandLog | null;
    if (o !== null && typeof o === "object" && typeof o.commandName === "string") {
      const m = o.metadata ?? {};
      const id = withRequestId ? `, request id ${m.requestId ?? "none"}` : "";
      return `${o.clientName ?? "AWS"} ${o.commandName}: HTTP ${m.httpStatusCode ?? "?"}, ${
        m.attempts ?? 1
      } attempt(s)${id}${o.error ? ", failed" : ""}`;
    }
    if (c instanceof Error) return `${c.name}: ${c.message}`;
    try {
      return JSON.stringify(c).slice(0, 300);
    } catch {
      return String(c).slice(0, 300);
    }
  }).join(" ");
}

/**
 * The SDK logger for one client.
 *
 * @param part the logger category under ours, e.g. `"cloudwatch"`
 * @returns what the SDK's `logger` option takes
 */
export function sdkLogger(part: string): SdkLogger {
  const log = logger(part);
  const summary = (c: unknown[]) => {
    if (log.isEnabledFor("trace")) log.trace("{sdk}", { sdk: text(c, true) });
    else log.debug("{sdk}", { sdk: text(c, false) });
  };
  return {
    trace: (...c) => log.trace("{sdk}", { sdk: text(c, true) }),
    // the SDK's debug is chatty (every config lookup): ours at trace
    debug: (...c) => log.trace("{sdk}", { sdk: text(c, true) }),
    // one call per command: at debug, and with its request id at trace
    info: (...c) => summary(c),
    warn: (...c) => log.warn("{sdk}", { sdk: text(c, true) }),
    // a failed command's summary: the caller logs the failure itself (errors once)
    error: (...c) => c.some(isCommandLog) ? summary(c) : log.error("{sdk}", { sdk: text(c, true) }),
  };
}
