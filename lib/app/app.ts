/**
 * Wiring: the one place a command is chosen and its parts are built, from
 * the config and the runtime `main.ts` hands in (`collect_command.ts`,
 * `dashboard_command.ts`, `report_command.ts`; the set-up steps in `aws_setup.ts`,
 * `kube_setup.ts`, `terms.ts`). Nothing here reads `Deno.env` or
 * `Deno.args`, and nothing exits: failures are thrown as
 * `UserError`/`RuntimeError` and `main.ts` maps them.
 *
 * @module
 */

import type { Config } from "../cli/config.ts";
import { runCollect } from "./collect_command.ts";
import { runDashboard } from "./dashboard_command.ts";
import { runReport } from "./report_command.ts";
import type { Runtime } from "./runtime.ts";

export { FLUSH_DEADLINE_MS } from "./runtime.ts";
export type { ProcessFacts, Runtime, Seams } from "./runtime.ts";

/**
 * Runs the configured command.
 *
 * @param config the resolved config
 * @param rt process facts and seams
 * @returns the exit code of a command that ran: 0 done, 1 it did not achieve its end
 * @throws {import("../base/errors.ts").UserError} for what the user must fix (exit 2)
 * @throws {import("../base/errors.ts").RuntimeError} for a failure at run time (exit 1)
 */
export async function runApp(config: Config, rt: Runtime): Promise<number> {
  switch (config.command) {
    case "dashboard":
      return await runDashboard(config, rt);
    case "report":
      return await runReport(config, rt);
    case "collect":
      return await runCollect(config, rt);
  }
}
