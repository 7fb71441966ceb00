/**
 * The cycle log: a {@linkcode Sink} that writes one line per cycle (the
 * pods and the cluster's IP and ENI figures; every figure of the table at debug) and one warning per failed pod, up to
 * a cap, then a summary of the rest by failure kind.
 *
 * @module
 */

import { logger } from "../base/logging.ts";
import type { Output } from "./output.ts";
import { computeFigures, dimensionsOf, FIGURES, type FigureTable } from "../model/figures.ts";
import type { CycleReport } from "../model/report.ts";

/** Failed pods logged one by one per cycle before a summary line. @default 20 */
export const DEFAULT_MAX_FAILURE_LOGS = 20;

/** Where the aws-node pods are looked for (`--namespace`, `--selector`). */
export interface PodScope {
  /** `--namespace`. */
  readonly namespace: string;
  /** `--selector`. */
  readonly selector: string;
}

/** Logs each cycle. */
export class CycleLog implements Output {
  readonly name = "log";
  readonly #maxFailureLogs: number;
  readonly #figures: FigureTable;
  readonly #scope: PodScope | undefined;
  #withoutPerEni = 0;
  readonly #foldSaid = new Set<string>();

  /**
   * @param maxFailureLogs failed pods logged one by one per cycle @default 20
   * @param figures the figures of the debug line @default FIGURES
   * @param scope where the pods are looked for, named when none is found @default none
   */
  constructor(
    maxFailureLogs = DEFAULT_MAX_FAILURE_LOGS,
    figures: FigureTable = FIGURES,
    scope?: PodScope,
  ) {
    this.#maxFailureLogs = maxFailureLogs;
    this.#figures = figures;
    this.#scope = scope;
  }

  observe(r: CycleReport): void {
    const log = logger("collector");
    if (r.aborted) return;
    if (r.listError !== undefined) {
      log.error("cycle failed: {error}; nothing published for this cycle", {
        error: r.listError,
      });
      return;
    }
    if (r.listStale !== undefined) log.warn("pods: {stale}", { stale: r.listStale });
    const max = this.#maxFailureLogs;
    for (const f of r.failures.slice(0, max)) {
      log.warn("scrape of pod {pod} on node {node} failed ({kind}): {reason}", {
        pod: `${f.target.namespace}/${f.target.name}`,
        node: f.target.node,
        kind: f.error.kind,
        reason: f.error.message,
      });
    }
    if (r.failures.length > max) {
      const byKind: Record<string, number> = {};
      for (const f of r.failures) byKind[f.error.kind] = (byKind[f.error.kind] ?? 0) + 1;
      log.warn("{more} more pods failed this cycle ({byKind})", {
        more: r.failures.length - max,
        byKind: Object.entries(byKind).map(([k, n]) => `${k}: ${n}`).join(", "),
      });
    }
    const summary = {
      found: r.found,
      scraped: r.scraped,
      failed: r.failures.length,
      notRunning: r.notRunning,
      durationMs: Math.round(r.durationMs),
    };
    if (r.snapshot === null && r.found === 0 && this.#scope !== undefined) {
      log.error(
        "cycle: no pod matches --selector {selector} in --namespace {namespace}: nothing " +
          "published for this cycle (check both: aws-node runs in kube-system with " +
          "k8s-app=aws-node unless renamed)",
        { ...summary, ...this.#scope },
      );
      return;
    }
    if (r.snapshot === null) {
      log.error(
        "cycle: {found} pods found, none scraped ({failed} failed, {notRunning} not running): " +
          "nothing published for this cycle",
        summary,
      );
      return;
    }
    const v = (name: string) => r.snapshot?.values.get(name) ?? 0;
    const h = r.snapshot.headroom;
    log.info(
      "cycle: {scraped} of {found} pods scraped ({failed} failed, {notRunning} not running) " +
        "in {durationMs} ms; IPs {assigned} assigned of {total} (max {max}), ENIs {enis} of {eniMax}" +
        (h === undefined
          ? ""
          : "; least IP headroom {headroom} on node {node}, {near} nodes under {threshold}"),
      {
        ...(h === undefined
          ? {}
          : { headroom: h.min, node: h.node, near: h.nearLimit, threshold: h.threshold }),
        ...summary,
        assigned: v("assignIPAddresses"),
        total: v("totalIPAddresses"),
        max: v("maxIPAddresses"),
        enis: v("eniAllocated"),
        eniMax: v("eniMaxAvailable"),
      },
    );
    const without = r.snapshot.podsWithoutPerEni ?? 0;
    if (without !== this.#withoutPerEni && without > 0) {
      log.info(
        "subnets: {pods} pods' aws-node serves no awscni_assigned_ip_per_eni (an older aws-node): " +
          "their IPs count in no subnet's subnetAssignedIPAddresses",
        { pods: without },
      );
    }
    this.#withoutPerEni = without;
    for (const f of r.snapshot.folded ?? []) {
      if (this.#foldSaid.has(f.breakdown)) continue;
      this.#foldSaid.add(f.breakdown);
      log.info(
        "breakdown {breakdown}: more groups than --breakdown-max-groups; the {groups} smallest " +
          "are published as the group other (said once)",
        { breakdown: f.breakdown, groups: f.groups },
      );
    }
    if (!log.isEnabledFor("debug")) return;
    log.debug("cycle figures ({baselined} pods baselined this cycle): {figures}", {
      baselined: r.snapshot.podsBaselined,
      figures: computeFigures(this.#figures, r.snapshot).flatMap(({ figure, values }) =>
        values.map((v) => {
          const dims = dimensionsOf(v).map(([, x]) => x);
          return `${figure.cloudwatch}${dims.length > 0 ? `{${dims.join(",")}}` : ""}=${v.value}`;
        })
      ).join(" "),
    });
  }
}
