/**
 * Wiring: the one place adapters are built from the config and the runtime
 * facts `main.ts` read. `collect` connects to the cluster, resolves region
 * and cluster id, builds the collector, the sinks and the HTTP server, and
 * hands them to the scheduler; `dashboard` writes the CloudWatch dashboard.
 * Nothing here reads `Deno.env` or `Deno.args`, and nothing exits: failures
 * are thrown as `UserError`/`RuntimeError` and `main.ts` maps them.
 *
 * @module
 */

import { type Config, ConfigError } from "../cli/config.ts";
import {
  cloudWatchClient,
  type CloudWatchOptions,
  CloudWatchPublisher,
  DryRunPublisher,
  putDashboard,
  putMetricAlarm,
} from "../aws/cloudwatch_api.ts";
import { CloudWatchSink } from "../outputs/cloudwatch.ts";
import type { Clock } from "../base/clock.ts";
import { Collector, type CycleReport } from "../sources/aws_node.ts";
import { CycleLog } from "../outputs/cycle_log.ts";
import { alarmInputs, dashboardBody, defaultDashboardName } from "../outputs/dashboard.ts";
import { errorText } from "../base/errors.ts";
import {
  eksFromKubeContext,
  type Identity,
  IdentityError,
  type Imds,
  type KubeContextInfo,
  regionFromSharedConfig,
  resolveIdentity,
  type TagReader,
} from "../aws/identity.ts";
import {
  connect,
  type KubeconfigSource,
  type KubeConnection,
  loadKubeconfig,
} from "../kube/kubeconfig.ts";
import { kubeLeaseStore, LeaderElector, type LeaderTiming } from "../kube/leader_election.ts";
import { logger } from "../base/logging.ts";
import { PodWatcher } from "../kube/pod_watcher.ts";
import { flushSinks, runLoop, runOnce, type SchedulerDeps } from "./scheduler.ts";
import { DirectScraper, ProxyScraper, type Scraper } from "../scrape/scraper.ts";
import { makeHandler, serve } from "../http/server.ts";
import type { Sink } from "../outputs/output.ts";
import { StatusSink } from "../outputs/status.ts";
import { sdkImds, sdkSubnetEc2, sdkTagReader } from "../aws/sdk_clients.ts";
import { type CredentialEnv, findCredentials } from "../aws/credentials.ts";
import { kubeSubnetSource, type SubnetEc2, SubnetRefresher } from "../sources/subnets.ts";

/** Facts about the process that `main.ts` reads and hands in. */
export interface Runtime {
  /** Program version. */
  readonly version: string;
  /** Running in a pod: `KUBERNETES_SERVICE_HOST` set and the service-account token mounted. */
  readonly inCluster: boolean;
  /** `~/.kube/config`, when a home directory is known. */
  readonly homeKubeconfig: string | undefined;
  /** Prefix of the service-account paths (tests). @default "" */
  readonly inClusterRoot?: string;
  /** AWS shared config file (`AWS_CONFIG_FILE` or `~/.aws/config`). */
  readonly awsConfigFile: string | undefined;
  /** AWS shared credentials file (`AWS_SHARED_CREDENTIALS_FILE` or `~/.aws/credentials`). */
  readonly awsCredentialsFile?: string | undefined;
  /** Which AWS credential variables are set. @default none */
  readonly credentialEnv?: CredentialEnv;
  /** `AWS_EC2_METADATA_DISABLED` is true. */
  readonly imdsDisabled: boolean;
  /** `POD_NAME` (downward API): the base of the leader-election identity. */
  readonly podName?: string | undefined;
  /** The pod's namespace, in a pod (the Lease's default namespace). */
  readonly podNamespace?: string | undefined;
  /** Lease timing override (tests). @default client-go's 15/10/2 s */
  readonly leaderTiming?: LeaderTiming;
  /** Writes one line to stdout (dry-run requests). */
  readonly writeStdout: (line: string) => void;
  /** Aborts on SIGTERM/SIGINT. */
  readonly shutdown: AbortSignal;
  /** Time. */
  readonly clock: Clock;
  /** Milliseconds the final flush may take after shutdown. @default 8000 */
  readonly flushDeadlineMs?: number;
  /** CloudWatch overrides (tests); the SDK's defaults otherwise. */
  readonly cloudwatch?: Omit<CloudWatchOptions, "region">;
  /** IMDS override (tests); the SDK client otherwise. */
  readonly imds?: Imds;
  /** DescribeTags override (tests); the SDK client otherwise. */
  readonly ec2?: (region: string) => TagReader;
  /** DescribeInstances/DescribeSubnets override (tests); the SDK client otherwise. */
  readonly subnetEc2?: (region: string) => SubnetEc2;
  /** Called after every cycle, after the other sinks (tests). */
  readonly onCycle?: (report: CycleReport) => void;
  /** Called with the HTTP server's address once it listens (tests). */
  readonly onListen?: (addr: Deno.NetAddr) => void;
}

/** Milliseconds the shutdown flush may take. @default 8000 */
export const FLUSH_DEADLINE_MS = 8000;

const log = () => logger();

/**
 * Runs the configured command.
 *
 * @param config the resolved config
 * @param rt runtime facts and hooks
 * @returns the exit code of a command that ran: 0 done, 1 it did not achieve its end
 * @throws {import("../base/errors.ts").UserError} for what the user must fix (exit 2)
 * @throws {import("../base/errors.ts").RuntimeError} for a failure at run time (exit 1)
 */
export async function runApp(config: Config, rt: Runtime): Promise<number> {
  return config.command === "dashboard"
    ? await runDashboard(config, rt)
    : await runCollect(config, rt);
}

function kubeSource(config: Config, rt: Runtime): KubeconfigSource {
  return {
    kubeconfig: config.kubeconfig,
    context: config.context,
    inCluster: rt.inCluster,
    homeConfig: rt.homeKubeconfig,
    ...(rt.inClusterRoot !== undefined ? { inClusterRoot: rt.inClusterRoot } : {}),
  };
}

async function runCollect(config: Config, rt: Runtime): Promise<number> {
  const conn = await connect(kubeSource(config, rt));
  const stopServer = new AbortController();
  let server: Deno.HttpServer<Deno.NetAddr> | undefined;
  try {
    const identity = await resolve(config, rt, conn.context);
    if (awsUses(config).length > 0) await checkCredentials(config, rt);
    const elector = config.leaderElection ? electorFor(config, rt, conn) : undefined;
    const cloudwatch = cloudWatchSinkFor(config, rt, identity);
    const status = new StatusSink(
      rt.version,
      config.intervalSeconds,
      () => rt.clock.now(),
      cloudwatch?.stats,
      elector,
    );
    status.identityResolved(identity.clusterId.value, identity.region?.value ?? "");
    const sinks: Sink[] = [status, new CycleLog()];
    if (cloudwatch !== undefined) sinks.push(cloudwatch);
    if (rt.onCycle !== undefined) sinks.push({ name: "hook", observe: rt.onCycle });
    if (!config.once) {
      server = serve(
        config.listen,
        makeHandler({
          status,
          prometheus: config.prometheus,
          now: () => rt.clock.now(),
          memory: () => {
            const m = Deno.memoryUsage();
            return { rss: m.rss, heapUsed: m.heapUsed };
          },
        }),
        stopServer.signal,
      );
      rt.onListen?.(server.addr);
      log().info("serving /metrics, /healthz, /readyz on {address}", {
        address: `${server.addr.hostname}:${server.addr.port}`,
      });
    }
    log().info(
      "collecting from {kube}: pods {selector} in {namespace}, every {interval} s, scraped {via}",
      {
        via: config.scrapeVia === "direct"
          ? `directly on port ${config.metricsPort}`
          : "through the API server's pod proxy",
        kube: conn.describe,
        selector: config.selector,
        namespace: config.namespace,
        interval: config.intervalSeconds,
      },
    );
    const region = identity.region?.value;
    /** Builds a term's parts, runs `work` on them, and closes them. */
    const inTerm = async <T>(signal: AbortSignal, work: (deps: SchedulerDeps) => Promise<T>) => {
      const t = await startTerm(config, rt, conn, region, sinks, signal);
      try {
        return await work(t.deps);
      } finally {
        await t.close();
      }
    };
    if (config.once) return await inTerm(rt.shutdown, (deps) => once(config, rt, deps));
    if (elector === undefined) {
      await inTerm(rt.shutdown, (deps) => runLoop(deps, config.intervalSeconds, rt.shutdown));
      return await shutdown(rt, sinks, cloudwatch);
    }
    // only the leader lists, scrapes and publishes; each term starts from scratch
    // (its first cycle is a baseline), and a lost term publishes nothing more
    await elector.run(rt.shutdown, async (signal) => {
      cloudwatch?.termStarted();
      await inTerm(
        signal,
        (deps) => runLoop(deps, config.intervalSeconds, signal, { aligned: true }),
      );
      if (!rt.shutdown.aborted) {
        status.termEnded();
        const dropped = cloudwatch?.discard() ?? 0;
        if (dropped > 0) {
          log().error(
            "{dropped} datums of the lost term are not published (a new leader measures)",
            {
              dropped,
            },
          );
        }
      }
    });
    const code = await shutdown(rt, sinks, cloudwatch);
    await elector.release(rt.clock.timeout(RELEASE_DEADLINE_MS));
    return code;
  } finally {
    conn.close();
    stopServer.abort();
    await server?.finished;
  }
}

/** Milliseconds the lease release may take on shutdown, after the flush. */
const RELEASE_DEADLINE_MS = 2_000;

/** The elector of this replica: pod name plus a random suffix, the Lease in its namespace. */
function electorFor(config: Config, rt: Runtime, conn: KubeConnection): LeaderElector {
  const namespace = config.leaderElectionNamespace ?? rt.podNamespace;
  if (namespace === undefined) {
    throw new ConfigError(
      `"--leader-election" outside a pod needs "--leader-election-namespace": the Lease's ` +
        `namespace (in a pod it is the pod's own)`,
    );
  }
  const suffix = crypto.getRandomValues(new Uint8Array(4));
  const identity = `${rt.podName ?? "cni-metrics-helper"}_${
    [...suffix].map((b) => b.toString(16).padStart(2, "0")).join("")
  }`;
  log().info("leader election: lease {namespace}/{name}, identity {identity}", {
    namespace,
    name: config.leaderElectionName,
    identity,
  });
  return new LeaderElector(
    kubeLeaseStore(conn, namespace, config.leaderElectionName),
    identity,
    rt.clock,
    rt.leaderTiming,
  );
}

/** One term of work: the pod source, scraper, subnets and collector, built fresh. */
async function startTerm(
  config: Config,
  rt: Runtime,
  conn: KubeConnection,
  region: string | undefined,
  sinks: readonly Sink[],
  signal: AbortSignal,
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
  const close = async () => {
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
    { lister, scraper, clock: rt.clock, ...(subnets !== undefined ? { subnets } : {}) },
    {
      scrapeTimeoutSeconds: config.scrapeTimeoutSeconds,
      scrapeConcurrency: config.scrapeConcurrency,
      headroomThreshold: config.headroom ? config.headroomThreshold : undefined,
    },
  );
  return { deps: { collect: (s) => collector.collect(s), sinks, clock: rt.clock }, close };
}

async function once(config: Config, rt: Runtime, deps: SchedulerDeps): Promise<number> {
  const report = await runOnce(deps, config.intervalSeconds, rt.shutdown);
  const flush = (await flushSinks(deps.sinks, rt.shutdown)).get("cloudwatch");
  if (rt.shutdown.aborted) {
    log().error("--once: stopped by a signal before the second sample was published");
    return 1;
  }
  if (report.snapshot === null) {
    log().error("--once: no pod could be scraped");
    return 1;
  }
  if (flush !== undefined && (flush.error !== undefined || flush.pending > 0)) {
    log().error("--once: publish failed: {error}", { error: flush.error ?? "datums left" });
    return 1;
  }
  return 0;
}

/** The final flush after the last cycle (SIGTERM/SIGINT): 0, or 1 when datums are lost. */
async function shutdown(
  rt: Runtime,
  sinks: readonly Sink[],
  cloudwatch: CloudWatchSink | undefined,
): Promise<number> {
  log().info("shutting down: flushing {pending} datums", { pending: cloudwatch?.pending ?? 0 });
  const outcomes = await flushSinks(
    sinks,
    rt.clock.timeout(rt.flushDeadlineMs ?? FLUSH_DEADLINE_MS),
  );
  const flush = outcomes.get("cloudwatch");
  if (flush !== undefined && flush.pending > 0) {
    log().error("shutdown: {pending} datums could not be published ({error}) and are lost", {
      pending: flush.pending,
      error: flush.error ?? "unknown",
    });
    return 1;
  }
  log().info("stopped");
  return 0;
}

/**
 * Resolves region and cluster id from the config, the kubeconfig context,
 * the AWS profile and the instance, and logs one line saying where each came from.
 */
async function resolve(
  config: Config,
  rt: Runtime,
  context: KubeContextInfo | undefined,
): Promise<Identity> {
  const eks = context === undefined ? undefined : eksFromKubeContext(context);
  const profileRegion = await readProfileRegion(rt.awsConfigFile, config.profile);
  const needRegion = awsUses(config).length > 0;
  const identity = await resolveIdentity({
    clusterId: config.clusterId,
    region: config.region,
    eks,
    profileRegion,
    imds: imdsFor(rt),
    ec2: rt.ec2 ??
      ((region) =>
        sdkTagReader(region, config.profile === undefined ? {} : { profile: config.profile })),
    needRegion,
  }).catch((e) => {
    // the dashboard's widgets name both, so its dry run needs them too (the collector's does not)
    if (e instanceof IdentityError && config.command === "dashboard") {
      throw new IdentityError(
        `${e.message} (the dashboard's widgets name the region and the ` +
          `cluster id, so "dashboard --dry-run" needs them too)`,
      );
    }
    throw e;
  });
  for (const t of identity.tried) log().debug(`identity: ${t}`);
  for (const w of identity.warnings) log().warn("{warning}", { warning: w });
  log().info(
    "region {region} (from {regionSource}), cluster id {clusterId} (from {clusterIdSource})",
    {
      region: identity.region?.value ?? "none",
      regionSource: identity.region?.source ?? "nowhere: not needed",
      clusterId: identity.clusterId.value,
      clusterIdSource: identity.clusterId.source,
    },
  );
  return identity;
}

/**
 * What this run calls AWS for (beyond identity): CloudWatch when it publishes
 * or makes the dashboard, EC2 for `--subnets`. Empty: no region and no
 * credentials are needed.
 */
function awsUses(config: Config): string[] {
  return [
    ...(config.command === "dashboard" || (config.cloudwatch && !config.dryRun)
      ? ["CloudWatch"]
      : []),
    ...(config.command === "collect" && config.subnets ? ["EC2 (--subnets)"] : []),
  ];
}

/** IMDS: the runtime's (tests), the SDK's, or none when `AWS_EC2_METADATA_DISABLED`. */
function imdsFor(rt: Runtime): Imds | undefined {
  return rt.imdsDisabled ? undefined : (rt.imds ?? sdkImds({ clock: rt.clock }));
}

/**
 * Fails in seconds, before any port is bound, when no source of AWS
 * credentials is present (see aws/credentials.ts); logs the one found at debug.
 */
async function checkCredentials(config: Config, rt: Runtime): Promise<void> {
  if (rt.cloudwatch?.credentials !== undefined) return;
  const files = [rt.awsCredentialsFile, rt.awsConfigFile].filter((f) => f !== undefined);
  const source = await findCredentials({
    env: rt.credentialEnv ?? { staticKeys: false, webIdentity: false, container: false },
    profile: config.profile,
    files,
    readFile: (path) => Deno.readTextFile(path),
    imds: imdsFor(rt),
    purpose: awsUses(config).join(" and "),
  });
  log().debug("AWS credentials from {source}", { source });
}

async function readProfileRegion(
  file: string | undefined,
  profile: string | undefined,
): Promise<{ value: string; source: string } | undefined> {
  if (file === undefined) return undefined;
  let text: string;
  try {
    text = await Deno.readTextFile(file);
  } catch {
    return undefined;
  }
  const region = regionFromSharedConfig(text, profile);
  return region === undefined
    ? undefined
    : { value: region, source: `AWS profile ${profile ?? "default"} in ${file}` };
}

function cloudWatchSinkFor(
  config: Config,
  rt: Runtime,
  identity: Identity,
): CloudWatchSink | undefined {
  if (!config.dryRun && !config.cloudwatch) return undefined;
  const publisher = config.dryRun
    ? new DryRunPublisher(rt.writeStdout)
    : new CloudWatchPublisher(cloudWatchFor(config, rt, identity.region?.value as string));
  return new CloudWatchSink(publisher, {
    clusterId: identity.clusterId.value,
    maxDatums: config.bufferMaxDatums,
    clock: rt.clock,
    intervalSeconds: config.intervalSeconds,
  });
}

/** The CloudWatch client for a region: `--profile`, and the runtime's overrides (tests). */
function cloudWatchFor(config: Config, rt: Runtime, region: string) {
  return cloudWatchClient({
    region,
    ...(config.profile !== undefined ? { profile: config.profile } : {}),
    ...rt.cloudwatch,
  });
}

/**
 * `dashboard`: creates or replaces the CloudWatch dashboard (and with
 * `--alarms` the alarms) for the resolved region and cluster id.
 */
async function runDashboard(config: Config, rt: Runtime): Promise<number> {
  let context: KubeContextInfo | undefined;
  try {
    context = loadKubeconfig(kubeSource(config, rt)).context;
  } catch (e) {
    // the dashboard needs no cluster access: the kubeconfig only helps name it
    log().debug("no kubeconfig for region and cluster id hints: {error}", {
      error: errorText(e),
    });
  }
  const identity = await resolve(config, rt, context);
  const target = {
    region: identity.region?.value ?? "",
    clusterId: identity.clusterId.value,
    subnets: config.subnets,
  };
  const name = config.dashboardName ?? defaultDashboardName(target.clusterId);
  const body = dashboardBody(target, name);
  const alarms = config.alarms
    ? alarmInputs(
      target,
      config.ipUtilizationThreshold,
      config.alarmTopicArn,
      config.subnetThreshold,
    )
    : [];
  if (config.dryRun) {
    rt.writeStdout(JSON.stringify({ DashboardName: name, DashboardBody: body }));
    for (const a of alarms) rt.writeStdout(JSON.stringify(a));
    return 0;
  }
  await checkCredentials(config, rt);
  const client = cloudWatchFor(config, rt, target.region);
  try {
    const problems = await putDashboard(client, name, body);
    for (const p of problems) {
      log().warn("CloudWatch says of the dashboard: {problem}", { problem: p });
    }
    log().info("dashboard {name} created or replaced: {url}", {
      name,
      url:
        `https://${target.region}.console.aws.amazon.com/cloudwatch/home?region=${target.region}#dashboards:name=${name}`,
    });
    for (const a of alarms) {
      await putMetricAlarm(client, a);
      log().info("alarm {name} created or updated", { name: a.AlarmName });
    }
    return 0;
  } finally {
    client.destroy();
  }
}
