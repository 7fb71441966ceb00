/**
 * The `report` command: one measurement of where the IPs are (per zone, per
 * node group, per subnet with `--subnets`, the nodes with the least
 * headroom), printed as text or JSON on stdout. No CloudWatch call, no
 * HTTP server; exit 0, or 1 when no pod could be scraped.
 *
 * @module
 */

import type { Config } from "../cli/config.ts";
import { EXIT_OK, EXIT_RUNTIME } from "../base/errors.ts";
import { logger } from "../base/logging.ts";
import { connect } from "../kube/kubeconfig.ts";
import { buildReport, reportText } from "../outputs/report.ts";
import type { CycleReport } from "../model/report.ts";
import { resolveForAws } from "./aws_setup.ts";
import { kubeSource } from "./kube_setup.ts";
import type { Runtime } from "./runtime.ts";
import { startTerm } from "./terms.ts";

const log = () => logger();

/**
 * Runs `report`.
 *
 * @param config the resolved config (`--output`, the kubeconfig, identity and `--subnets` options)
 * @param rt process facts and seams
 * @returns 0, or 1 when no pod could be scraped
 */
export async function runReport(config: Config, rt: Runtime): Promise<number> {
  const conn = await connect(kubeSource(config, rt));
  try {
    const identity = await resolveForAws(config, rt, conn.context);
    let report: CycleReport | undefined;
    const hook = { name: "report", observe: (r: CycleReport) => report = r };
    // the report always groups by zone and node group; no cap, every group is a row
    const term = await startTerm(config, rt, conn, identity.region?.value, [hook], rt.shutdown, {
      breakdowns: ["zone", "nodegroup"],
      maxGroups: Number.MAX_SAFE_INTEGER,
    });
    try {
      const r = await term.deps.collect(rt.shutdown);
      hook.observe(r);
    } finally {
      await term.close();
    }
    const snap = report?.snapshot ?? null;
    if (snap === null) {
      const r = report;
      log().error("report: no pod could be scraped: {cause}", {
        cause: r?.listError ??
          (r?.found === 0
            ? `no pod matches --selector ${config.selector} in --namespace ${config.namespace}`
            : `${r?.found ?? 0} pods found, ${r?.failures.length ?? 0} failed` +
              (r?.failures[0] === undefined
                ? ""
                : `; the first: ${r.failures[0].target.name}: ${r.failures[0].error.message}`)),
      });
      return EXIT_RUNTIME;
    }
    const built = buildReport(snap, identity.clusterId.value);
    rt.writeStdout(
      config.output === "json" ? JSON.stringify(built) : reportText(built).trimEnd(),
    );
    return EXIT_OK;
  } finally {
    conn.close();
  }
}
