/**
 * Wiring: builds the adapters from the config and the runtime facts that
 * `main.ts` read, runs the command, and returns the exit code. Nothing here
 * reads `Deno.env` or `Deno.args`.
 *
 * @module
 */

import { getLogger } from "@logtape/logtape";
import type { Config } from "./config.ts";
import {
  CloudWatchCallError,
  cloudWatchClient,
  type CloudWatchOptions,
  CloudWatchPublisher,
  DryRunPublisher,
  putDashboard,
  putMetricAlarm,
} from "./cloudwatch.ts";
import { alarmInputs, dashboardBody, defaultDashboardName } from "./dashboard.ts";
import { type Clock, Collector, type CycleReport } from "./collector.ts";
import {
  eksFromKubeContext,
  type Identity,
  IdentityError,
  type Imds,
  regionFromSharedConfig,
  resolveIdentity,
  type TagReader,
} from "./identity.ts";
import { connectKube, type KubeClient, KubeError, loadKubeconfigOnly } from "./kube.ts";
import { PublishBuffer, type Publisher } from "./publish.ts";
import { sdkImds, sdkTagReader } from "./aws.ts";
import { ListenError, makeHandler, serve } from "./server.ts";
import { HelperStatus } from "./status.ts";
import type * as k8s from "@kubernetes/client-node";

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
  /** `AWS_EC2_METADATA_DISABLED` is true. */
  readonly imdsDisabled: boolean;
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
  /** Called after every cycle (tests). */
  readonly onCycle?: (report: CycleReport) => void;
  /** Called with the HTTP server's address once it listens (tests). */
  readonly onListen?: (addr: Deno.NetAddr) => void;
}

const log = () => getLogger(["cni-metrics-helper"]);

/**
 * Runs the configured command.
 *
 * @param config the resolved config
 * @param rt runtime facts and hooks
 * @returns the exit code: 0 done, 1 runtime failure, 2 configuration the user must fix
 */
export async function runApp(config: Config, rt: Runtime): Promise<number> {
  if (config.command === "dashboard") return await runDashboard(config, rt);
  let kube: KubeClient | undefined;
  const status = new HelperStatus(rt.version, config.intervalSeconds);
  const stopServer = new AbortController();
  let server: Deno.HttpServer<Deno.NetAddr> | undefined;
  try {
    if (config.command === "collect" && !config.once) {
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
    kube = await connectKube({
      kubeconfig: config.kubeconfig,
      context: config.context,
      inCluster: rt.inCluster,
      homeConfig: rt.homeKubeconfig,
      ...(rt.inClusterRoot !== undefined ? { inClusterRoot: rt.inClusterRoot } : {}),
      namespace: config.namespace,
      selector: config.selector,
      metricsPort: config.metricsPort,
    });
    const identity = await resolve(config, rt, kube.kubeConfig);
    status.clusterId = identity.clusterId.value;
    status.region = identity.region?.value ?? "";
    return await collect(config, rt, kube, identity, status);
  } catch (e) {
    if (e instanceof ListenError) {
      log().error("{error}", { error: e.message });
      return 1;
    }
    if (e instanceof IdentityError) {
      log().error("{error}", { error: e.message });
      return 2;
    }
    if (e instanceof KubeError) {
      log().error("{error}", { error: e.message });
      return 1;
    }
    throw e;
  } finally {
    kube?.close();
    stopServer.abort();
    await server?.finished;
  }
}

/**
 * Resolves region and cluster id from the config, the kubeconfig context,
 * the AWS profile and the instance, and logs one line saying where each came from.
 */
async function resolve(
  config: Config,
  rt: Runtime,
  kc: k8s.KubeConfig | undefined,
): Promise<Identity> {
  const cluster = kc?.getCurrentCluster() ?? null;
  const user = kc?.getCurrentUser();
  const eks = cluster === null || kc === undefined ? undefined : eksFromKubeContext({
    contextName: kc.getCurrentContext(),
    clusterName: cluster.name,
    server: cluster.server,
    exec: user?.exec
      ? { command: String(user.exec.command ?? ""), args: user.exec.args ?? [] }
      : undefined,
  });
  const profileRegion = await readProfileRegion(rt.awsConfigFile, config.profile);
  const needRegion = (config.cloudwatch && !config.dryRun) || config.command === "dashboard";
  const identity = await resolveIdentity({
    clusterId: config.clusterId,
    region: config.region,
    eks,
    profileRegion,
    imds: rt.imdsDisabled ? undefined : (rt.imds ?? sdkImds()),
    ec2: rt.ec2 ??
      ((region) =>
        sdkTagReader(region, config.profile === undefined ? {} : { profile: config.profile })),
    needRegion,
  });
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

function publisherFor(config: Config, rt: Runtime, identity: Identity): Publisher | undefined {
  if (config.dryRun) return new DryRunPublisher(rt.writeStdout);
  if (!config.cloudwatch) return undefined;
  const region = identity.region?.value as string;
  return new CloudWatchPublisher(cloudWatchFor(config, rt, region));
}

/** The CloudWatch client for a region: `--profile`, and the runtime's overrides (tests). */
function cloudWatchFor(config: Config, rt: Runtime, region: string) {
  return cloudWatchClient({
    region,
    ...(config.profile !== undefined ? { profile: config.profile } : {}),
    ...rt.cloudwatch,
  });
}

async function collect(
  config: Config,
  rt: Runtime,
  kube: KubeClient,
  identity: Identity,
  status: HelperStatus,
): Promise<number> {
  const publisher = publisherFor(config, rt, identity);
  const buffer = publisher === undefined
    ? undefined
    : new PublishBuffer(publisher, config.bufferMaxDatums);
  status.publish = buffer;
  const collector = new Collector(
    {
      lister: kube,
      scraper: kube,
      buffer,
      clock: rt.clock,
      onCycle: (r) => {
        status.observe(r, rt.clock.now());
        rt.onCycle?.(r);
      },
    },
    {
      intervalSeconds: config.intervalSeconds,
      scrapeTimeoutSeconds: config.scrapeTimeoutSeconds,
      scrapeConcurrency: config.scrapeConcurrency,
      clusterId: identity.clusterId.value,
    },
  );
  log().info("collecting from {kube}: pods {selector} in {namespace}, every {interval} s", {
    kube: kube.describe,
    selector: config.selector,
    namespace: config.namespace,
    interval: config.intervalSeconds,
  });

  if (config.once) {
    const { report, flush } = await collector.once(rt.shutdown);
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

  await collector.run(rt.shutdown);
  const pending = buffer?.pending ?? 0;
  log().info("shutting down: flushing {pending} datums", { pending });
  const flush = await collector.flush(AbortSignal.timeout(rt.flushDeadlineMs ?? 8000));
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
 * `dashboard`: creates or replaces the CloudWatch dashboard (and with
 * `--alarms` the alarms) for the resolved region and cluster id.
 */
async function runDashboard(config: Config, rt: Runtime): Promise<number> {
  let kc: k8s.KubeConfig | undefined;
  try {
    kc = loadKubeconfigOnly({
      kubeconfig: config.kubeconfig,
      context: config.context,
      inCluster: rt.inCluster,
      homeConfig: rt.homeKubeconfig,
      ...(rt.inClusterRoot !== undefined ? { inClusterRoot: rt.inClusterRoot } : {}),
    }).kubeConfig;
  } catch (e) {
    // the dashboard needs no cluster access: the kubeconfig only helps name it
    log().debug("no kubeconfig for region and cluster id hints: {error}", {
      error: e instanceof Error ? e.message : String(e),
    });
  }
  let identity: Identity;
  try {
    identity = await resolve(config, rt, kc);
  } catch (e) {
    if (!(e instanceof IdentityError)) throw e;
    log().error("{error}", { error: e.message });
    return 2;
  }
  const target = { region: identity.region?.value ?? "", clusterId: identity.clusterId.value };
  const name = config.dashboardName ?? defaultDashboardName(target.clusterId);
  const body = dashboardBody(target, name);
  const alarms = config.alarms
    ? alarmInputs(target, config.ipUtilizationThreshold, config.alarmTopicArn)
    : [];
  if (config.dryRun) {
    rt.writeStdout(JSON.stringify({ DashboardName: name, DashboardBody: body }));
    for (const a of alarms) rt.writeStdout(JSON.stringify(a));
    return 0;
  }
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
  } catch (e) {
    if (!(e instanceof CloudWatchCallError)) throw e;
    log().error("{error}", { error: e.message });
    return 1;
  } finally {
    client.destroy();
  }
}
