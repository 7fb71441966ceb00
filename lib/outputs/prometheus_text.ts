/**
 * Renders the `/metrics` body (pure): the helper's own metrics always, the
 * cluster figures when the Prometheus export is on. Text format 0.0.4, or
 * OpenMetrics 1.0 when asked. Families are sorted by name.
 *
 * Cluster names carry one prefix, `cni_metrics_helper_cluster_`, and a
 * `cluster_id` label, so they cannot collide with aws-node's own per-node
 * `awscni_*` series. Counters are cluster counters that only grow: the
 * running total of the increases published, so `rate()` works across pod
 * restarts and node churn.
 *
 * @module
 */

import {
  computeFigures,
  DIMENSION_LABELS,
  dimensionsOf,
  type Figure,
  FIGURES,
  valueKey,
} from "../model/figures.ts";
import type { OwnFamily } from "./output.ts";
import { CYCLE_BUCKETS, SCRAPE_RESULTS, type StatusSink } from "./status.ts";

/** Prefix of every metric the helper exports. */
export const PREFIX = "cni_metrics_helper_";

/** Content type of the 0.0.4 text format. */
export const TEXT_CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8";
/** Content type of OpenMetrics 1.0. */
export const OPENMETRICS_CONTENT_TYPE =
  "application/openmetrics-text; version=1.0.0; charset=utf-8";

interface Family {
  name: string;
  type: OwnFamily["type"];
  help: string;
  samples: OwnFamily["samples"];
}

/** Process memory, passed in (the renderer reads no clock or process). */
export interface MemoryFigures {
  /** Resident set size, bytes. */
  readonly rss: number;
  /** V8 heap in use, bytes. */
  readonly heapUsed: number;
}

/**
 * The Prometheus name of a figure.
 *
 * @param cwName its CloudWatch name
 * @param table the figures @default FIGURES
 * @returns the exported name
 * @throws {Error} when the table has no such figure, or it is not exported on Prometheus
 */
export function clusterMetricName(cwName: string, table: readonly Figure[] = FIGURES): string {
  const spec = table.find((m) => m.cloudwatch === cwName);
  if (spec?.prometheus === undefined) throw new Error(`no Prometheus name for ${cwName}`);
  return PREFIX + spec.prometheus;
}

/**
 * @param status the helper's state
 * @param opts whether to include the cluster figures, memory, format
 * @returns the body
 */
export function renderMetrics(
  status: StatusSink,
  opts: { cluster: boolean; memory: MemoryFigures; openMetrics: boolean },
): string {
  const fams: Family[] = [];
  const g = (name: string, help: string, value: number, labels?: Record<string, string>) =>
    fams.push({
      name: PREFIX + name,
      type: "gauge",
      help,
      samples: [{ value, ...(labels ? { labels } : {}) }],
    });
  g("build_info", "Version of the helper; always 1.", 1, { version: status.version });
  g("targets", "aws-node pods found by the last pod listing.", status.targets);
  const l = status.leader;
  if (l !== undefined) {
    g(
      "leader",
      "1 while this replica is the elected leader (it alone scrapes and publishes), else 0.",
      l.isLeader ? 1 : 0,
      { identity: l.identity },
    );
    g(
      "lease_holder_info",
      "The Lease's holder as this replica last read it; always 1.",
      1,
      { holder: l.holder },
    );
  }
  fams.push({
    name: `${PREFIX}scrapes_total`,
    type: "counter",
    help: "Scrapes of aws-node pods by result.",
    samples: SCRAPE_RESULTS.map((r) => ({ labels: { result: r }, value: status.scrapes[r] })),
  });
  let cum = 0;
  fams.push({
    name: `${PREFIX}cycle_duration_seconds`,
    type: "histogram",
    help: "Wall time of one scrape cycle.",
    samples: [
      ...CYCLE_BUCKETS.map((le, i) => {
        cum += status.cycleBuckets[i] ?? 0;
        return { suffix: "_bucket", labels: { le: String(le) }, value: cum };
      }),
      { suffix: "_bucket", labels: { le: "+Inf" }, value: status.cycleCount },
      { suffix: "_sum", value: status.cycleSum },
      { suffix: "_count", value: status.cycleCount },
    ],
  });
  g(
    "last_successful_cycle_timestamp_seconds",
    "When the last cycle that scraped at least one pod ended (0: never).",
    (status.lastSuccessMs ?? 0) / 1000,
  );
  for (const part of status.reporters) fams.push(...part.ownFamilies());
  const warm = status.warmSettings ?? [];
  if (warm.length > 0) {
    fams.push({
      name: `${PREFIX}aws_node_warm_settings`,
      type: "gauge",
      help: "aws-node pods by the warm-pool settings of their env (WARM_IP_TARGET, " +
        "MINIMUM_IP_TARGET, WARM_ENI_TARGET, WARM_PREFIX_TARGET, ENABLE_PREFIX_DELEGATION; " +
        "a setting not set has no label).",
      samples: warm.map((w) => ({
        labels: Object.fromEntries(
          Object.entries(w.settings).sort().map(([k, v]) => [k.toLowerCase(), v]),
        ),
        value: w.pods,
      })),
    });
  }
  g("resident_memory_bytes", "Resident set size of the helper process.", opts.memory.rss);
  g("heap_used_bytes", "V8 heap in use by the helper process.", opts.memory.heapUsed);

  if (opts.cluster && status.snapshot !== undefined && status.clusterId !== undefined) {
    const clusterLabel = { cluster_id: status.clusterId };
    for (const { figure, values } of computeFigures(status.figures, status.snapshot)) {
      if (figure.prometheus === undefined || values.length === 0) continue;
      const totals = status.counterTotals.get(figure.cloudwatch);
      const scale = figure.prometheusScale ?? 1;
      fams.push({
        name: PREFIX + figure.prometheus,
        type: figure.kind === "counter" ? "counter" : "gauge",
        help: figure.prometheusHelp ?? figure.help,
        samples: values.map((v) => ({
          labels: {
            ...clusterLabel,
            ...Object.fromEntries(
              dimensionsOf(v).map(([k, x]) => [DIMENSION_LABELS[k] ?? labelOf(figure, k), x]),
            ),
            ...v.labels,
          },
          value: figure.kind === "counter"
            ? totals?.get(valueKey(figure, v)) ?? 0
            : v.value * scale,
        })),
      });
    }
  }
  fams.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  const out: string[] = [];
  for (const f of fams) {
    const typeName = opts.openMetrics && f.type === "counter"
      ? f.name.replace(/_total$/, "")
      : f.name;
    out.push(`# HELP ${typeName} ${escapeHelp(f.help)}`, `# TYPE ${typeName} ${f.type}`);
    for (const s of f.samples) {
      out.push(`${f.name}${s.suffix ?? ""}${labelText(s.labels)} ${formatValue(s.value)}`);
    }
  }
  if (opts.openMetrics) out.push("# EOF");
  return out.join("\n") + "\n";
}

/** The Prometheus label of a dimension the figure declares (or the name, snake-cased). */
function labelOf(figure: Figure, dim: string): string {
  return figure.dimensions.find((d) => d.cloudwatch === dim)?.prometheus ??
    dim.replace(/([a-z])([A-Z])/g, "$1_$2").toLowerCase();
}

function escapeHelp(text: string): string {
  return text.replace(/\\/g, "\\\\").replace(/\n/g, "\\n");
}

function labelText(labels: Record<string, string> | undefined): string {
  if (labels === undefined) return "";
  const parts = Object.entries(labels).map(([k, v]) =>
    `${k}="${v.replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(/\n/g, "\\n")}"`
  );
  return `{${parts.join(",")}}`;
}

function formatValue(v: number): string {
  if (Number.isNaN(v)) return "NaN";
  if (v === Infinity) return "+Inf";
  if (v === -Infinity) return "-Inf";
  // 15 significant digits: no binary noise such as 0.30000000000000004
  return String(Number(v.toPrecision(15)));
}
