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

import { METRICS } from "../model/families.ts";
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
  type: "gauge" | "counter" | "histogram";
  help: string;
  samples: { suffix?: string; labels?: Record<string, string>; value: number }[];
}

/** Process memory, passed in (the renderer reads no clock or process). */
export interface MemoryFigures {
  /** Resident set size, bytes. */
  readonly rss: number;
  /** V8 heap in use, bytes. */
  readonly heapUsed: number;
}

/**
 * The Prometheus name of a cluster metric.
 *
 * @param cwName CloudWatch name
 * @returns the exported name
 */
export function clusterMetricName(cwName: string): string {
  const spec = METRICS.find((m) => m.cwName === cwName);
  if (spec === undefined) throw new Error(`unknown metric ${cwName}`);
  const base = `${PREFIX}cluster_${spec.family.replace(/^awscni_/, "")}`;
  if (spec.kind === "counter") return `${base}_total`;
  if (spec.kind === "latency") return base.replace(/_ms$/, "_seconds");
  return base;
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
  const stats = status.publish?.stats;
  fams.push({
    name: `${PREFIX}cloudwatch_requests_total`,
    type: "counter",
    help: "PutMetricData requests by result (after the SDK's retries).",
    samples: [
      { labels: { result: "ok" }, value: stats?.requestsOk ?? 0 },
      { labels: { result: "error" }, value: stats?.requestsFailed ?? 0 },
    ],
  });
  fams.push({
    name: `${PREFIX}cloudwatch_attempts_total`,
    type: "counter",
    help: "PutMetricData HTTP attempts by result, counted as each ends (retries included).",
    samples: [
      { labels: { result: "ok" }, value: stats?.attemptsOk ?? 0 },
      { labels: { result: "error" }, value: stats?.attemptsFailed ?? 0 },
    ],
  });
  fams.push({
    name: `${PREFIX}cloudwatch_datums_published_total`,
    type: "counter",
    help: "Datums CloudWatch accepted.",
    samples: [{ value: stats?.datumsSent ?? 0 }],
  });
  g(
    "cloudwatch_datums_buffered",
    "Datums waiting for the next publish.",
    status.publish?.pending ?? 0,
  );
  fams.push({
    name: `${PREFIX}cloudwatch_datums_dropped_total`,
    type: "counter",
    help: "Datums dropped because the buffer was full.",
    samples: [{ value: stats?.datumsDropped ?? 0 }],
  });
  g("resident_memory_bytes", "Resident set size of the helper process.", opts.memory.rss);
  g("heap_used_bytes", "V8 heap in use by the helper process.", opts.memory.heapUsed);

  if (opts.cluster && status.snapshot !== undefined && status.clusterId !== undefined) {
    const labels = { cluster_id: status.clusterId };
    for (const m of METRICS) {
      const name = clusterMetricName(m.cwName);
      if (m.kind === "counter") {
        fams.push({
          name,
          type: "counter",
          help: `Cluster total of ${m.help} (${m.family} increases summed over pods).`,
          samples: [{ labels, value: status.counterTotals.get(m.cwName) ?? 0 }],
        });
      } else {
        const v = status.snapshot.values.get(m.cwName) ?? 0;
        fams.push({
          name,
          type: "gauge",
          help: m.kind === "latency"
            ? "Worst AWS API p99 latency over nodes and APIs, seconds (CloudWatch awsAPILatency, in ms there)."
            : `Cluster sum of ${m.help} (${m.family}).`,
          samples: [{ labels, value: m.kind === "latency" ? v / 1000 : v }],
        });
      }
    }
    const h = status.snapshot.headroom;
    if (h !== undefined) {
      fams.push({
        name: `${PREFIX}cluster_min_node_ip_headroom`,
        type: "gauge",
        help: "Smallest awscni_ip_max - awscni_assigned_ip_addresses over the nodes scraped " +
          "(CloudWatch minNodeIPHeadroom).",
        samples: [{ labels, value: h.min }],
      });
      fams.push({
        name: `${PREFIX}cluster_nodes_near_ip_limit`,
        type: "gauge",
        help: `Nodes with fewer than ${h.threshold} free IPs (CloudWatch nodesNearIPLimit).`,
        samples: [{ labels, value: h.nearLimit }],
      });
    }
    const subnets = status.snapshot.subnets;
    if (subnets !== undefined && subnets.length > 0) {
      fams.push({
        name: `${PREFIX}subnet_available_ip_addresses`,
        type: "gauge",
        help: "Free IPs of a subnet the nodes use, from EC2 DescribeSubnets at the last refresh " +
          "(CloudWatch subnetAvailableIPAddresses).",
        samples: subnets.map((sn) => ({
          labels: {
            ...labels,
            subnet_id: sn.subnetId,
            availability_zone: sn.availabilityZone,
          },
          value: sn.available,
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
