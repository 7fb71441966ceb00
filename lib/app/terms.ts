/**
 * A term of work: the parts a leader (or a run without leader election)
 * builds fresh, so its first cycle is a baseline: the pod watcher, the
 * scraper, the node watcher (with a breakdown), the subnet refresher and
 * the collector.
 *
 * @module
 */

import type { Config } from "../cli/config.ts";
import { sdkSubnetEc2 } from "../aws/sdk_clients.ts";
import type { KubeConnection } from "../kube/kubeconfig.ts";
import { NodeWatcher } from "../kube/node_watcher.ts";
import { PodWatcher } from "../kube/pod_watcher.ts";
import type { GroupOptions } from "../model/aggregation.ts";
import type { Output } from "../outputs/output.ts";
import { DirectScraper, ProxyScraper, type Scraper } from "../scrape/scraper.ts";
import { Collector } from "../sources/aws_node.ts";
import { kubeSubnetSource, type SubnetEc2, SubnetRefresher } from "../sources/subnets.ts";
import type { SchedulerDeps } from "./scheduler.ts";
import type { Runtime } from "./runtime.ts";

/** One term of work: the pod source, scraper, subnets and collector, built fresh. */
export async function startTerm(
  config: Config,
  rt: Runtime,
  conn: KubeConnection,
  region: string | undefined,
  outputs: readonly Output[],
  signal: AbortSignal,
  groups: GroupOptions = { breakdowns: [] },
): Promise<{ deps: SchedulerDeps; close: () => Promise<void> }> {
  const scraper: Scraper = config.scrapeVia === "direct"
    ? new DirectScraper({ metricsPort: config.metricsPort })
    : new ProxyScraper(conn, { metricsPort: config.metricsPort });
  const lister = new PodWatcher(
    conn,
    { namespace: config.namespace, selector: config.selector },
    rt.clock,
  );
  let subnets: SubnetRefresher | undefined;
  let subnetEc2: (SubnetEc2 & { close?(): void }) | undefined;
  // the nodes' labels, only when a breakdown needs them (RBAC: list and watch nodes)
  const nodes = groups.breakdowns.length > 0 ? new NodeWatcher(conn, rt.clock) : undefined;
  const close = async () => {
    await nodes?.close();
    await subnets?.close();
    subnetEc2?.close?.();
    await lister.close();
    scraper.close?.();
  };
  try {
    if (config.subnets) {
      // resolve() requires a region when --subnets is on
      const r = region as string;
      subnetEc2 = rt.subnetEc2?.(r) ??
        sdkSubnetEc2(r, config.profile === undefined ? {} : { profile: config.profile });
      subnets = new SubnetRefresher(kubeSubnetSource(conn, rt.clock), subnetEc2, rt.clock, {
        refreshSeconds: config.subnetRefreshSeconds,
      });
      // the first read before the first cycle, so it has the subnets' figures (30 s at most)
      if (!signal.aborted) await subnets.start();
    }
  } catch (e) {
    await close();
    throw e;
  }
  const collector = new Collector(
    {
      lister,
      scraper,
      clock: rt.clock,
      background: subnets === undefined ? [] : [subnets],
      ...(nodes !== undefined ? { nodes } : {}),
      ...(subnets !== undefined ? { eniSubnets: eniSubnetsOf(subnets) } : {}),
    },
    {
      scrapeTimeoutSeconds: config.scrapeTimeoutSeconds,
      groups,
      scrapeConcurrency: config.scrapeConcurrency,
      headroomThreshold: config.headroom ? config.headroomThreshold : undefined,
      ...(rt.figures !== undefined ? { figures: rt.figures } : {}),
    },
  );
  return { deps: { collect: (s) => collector.collect(s), outputs, clock: rt.clock }, close };
}

/** The refresher's ENI → subnet map, read at each cycle. */
function eniSubnetsOf(refresher: SubnetRefresher): () => ReadonlyMap<string, string> {
  return () => refresher.eniSubnets();
}
