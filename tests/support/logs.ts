/**
 * Captured JSON log lines, and a way to await one (no sleeping).
 *
 * @module
 */

import { setupLogging } from "../../lib/base/logging.ts";

/** Every log line of the program, as it is written. */
export class LogCapture {
  /** The lines (JSON). */
  readonly lines: string[] = [];
  #waiters: { match: (msg: string) => boolean; n: number; resolve: () => void }[] = [];

  private constructor() {}

  /** Routes the program's logs (debug and up, JSON) here. */
  static async start(): Promise<LogCapture> {
    const c = new LogCapture();
    await setupLogging("debug", "json", (l) => c.#add(l));
    return c;
  }

  #add(line: string): void {
    this.lines.push(line);
    const msg = String(JSON.parse(line)["msg"]);
    for (const waiter of [...this.#waiters]) {
      if (waiter.match(msg) && --waiter.n === 0) {
        this.#waiters.splice(this.#waiters.indexOf(waiter), 1);
        waiter.resolve();
      }
    }
  }

  /** Parsed records. */
  records(): Record<string, unknown>[] {
    return this.lines.map((l) => JSON.parse(l) as Record<string, unknown>);
  }

  /** Messages at a level. */
  messages(level: string): string[] {
    return this.records().filter((r) => r["level"] === level).map((r) => String(r["msg"]));
  }

  /**
   * Resolves once `n` messages (counting those already logged) match `match`.
   *
   * @param match the test of a message
   * @param n how many in total @default 1
   */
  logged(match: (msg: string) => boolean, n = 1): Promise<void> {
    const seen = this.records().filter((r) => match(String(r["msg"]))).length;
    if (seen >= n) return Promise.resolve();
    return new Promise((resolve) => this.#waiters.push({ match, n: n - seen, resolve }));
  }
}
