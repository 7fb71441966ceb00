/**
 * The `collect` command: connects to the cluster, resolves region and
 * cluster id, builds the outputs and the HTTP server once, and runs the
 * cycles: in a loop, as the elected leader's terms, or `--once`. The exit
 * policy is here: 0 when everything measured was delivered, 1 when an
 * output still held data at the end (or `--once` did not reach its end).
 *
 * @module
 */

import type { Config } from "../cli/config.ts";
import { EXIT_OK, EXIT_RUNTIME } from "../base/errors.ts";
import { logger } from "../base/logging.ts";
import { connect, type KubeConnection } from "../kube/kubeconfig.ts";
import type { LeaderElector } from "../kube/leader_election.ts";
import { CycleLog } from "../outputs/cycle_log.ts";
import type { Output, SelfReporting } from "../outputs/output.ts";
import { StatusSink } from "../outputs/status.ts";
import { makeHandler, serve } from "../http/server.ts";
import { cloudWatchSinkFor, resolveForAws } from "./aws_setup.ts";
import { electorFor, kubeSource, RELEASE_DEADLINE_MS } from "./kube_setup.ts";
import { FLUSH_DEADLINE_MS, type Runtime } from "./runtime.ts";
import type { CycleReport } from "../model/report.ts";
import {
  flushOutputs,
  type OutputFlush,
  runLoop,
  runOnce,
  type SchedulerDeps,
} from "./scheduler.ts";
import { startTerm } from "./terms.ts";

const log = () => logger();

/**
 * Runs `collect` until shutdown (or for `--once`, two samples).
 *
 * @param config the resolved config
 * @param rt process facts and seams
 * @returns the exit code
 */
export async function runCollect(config: Config, rt: Runtime): Promise<number> {
  const conn = await connect(kubeSource(config, rt));
  const stopServer = new AbortController();
  let server: Deno.HttpServer<Deno.NetAddr> | undefined;
  try {
    const identity = await resolveForAws(config, rt, conn.context);
    const elector = config.leaderElection ? electorFor(config, rt, conn) : undefined;
    const cloudwatch = cloudWatchSinkFor(config, rt, identity);
    const reporters: SelfReporting[] = cloudwatch === undefined ? [] : [cloudwatch];
    const status = new StatusSink({
      version: rt.version,
      intervalSeconds: config.intervalSeconds,
      now: () => rt.clock.now(),
      reporters,
      leader: elector,
      ...(rt.figures !== undefined ? { figures: rt.figures } : {}),
    });
    status.identityResolved(identity.clusterId.value, identity.region?.value ?? "");
    const outputs: Output[] = [
      status,
      new CycleLog(undefined, rt.figures, {
        namespace: config.namespace,
        selector: config.selector,
      }),
    ];
    if (cloudwatch !== undefined) outputs.push(cloudwatch);
    if (rt.onCycle !== undefined) outputs.push({ name: "hook", observe: rt.onCycle });
    if (!config.once) server = listen(config, rt, status, stopServer.signal);
    logStart(config, conn);
    const region = identity.region?.value;
    /** Builds a term's parts, runs `work` on them, and closes them. */
    const inTerm = async <T>(signal: AbortSignal, work: (deps: SchedulerDeps) => Promise<T>) => {
      const t = await startTerm(config, rt, conn, region, outputs, signal, {
        breakdowns: config.breakdown,
        maxGroups: config.breakdownMaxGroups,
      });
      try {
        return await work(t.deps);
      } finally {
        await t.close();
      }
    };
    if (config.once) return await inTerm(rt.shutdown, (deps) => once(config, rt, deps));
    if (elector === undefined) {
      await inTerm(rt.shutdown, (deps) => runLoop(deps, config.intervalSeconds, rt.shutdown));
      return await shutdown(rt, outputs);
    }
    return await leaderTerms(config, rt, elector, outputs, inTerm);
  } finally {
    conn.close();
    stopServer.abort();
    await server?.finished;
  }
}

/**
 * With leader election: only the leader lists, scrapes and publishes; each
 * term starts from scratch (its first cycle is a baseline), and a lost term
 * publishes nothing more. Shutdown flushes, then releases the Lease.
 */
async function leaderTerms(
  config: Config,
  rt: Runtime,
  elector: LeaderElector,
  outputs: readonly Output[],
  inTerm: (signal: AbortSignal, work: (deps: SchedulerDeps) => Promise<void>) => Promise<void>,
): Promise<number> {
  await elector.run(rt.shutdown, async (signal) => {
    for (const o of outputs) o.termStarted?.();
    await inTerm(
      signal,
      (deps) => runLoop(deps, config.intervalSeconds, signal, { aligned: true }),
    );
    if (!rt.shutdown.aborted) { for (const o of outputs) o.termEnded?.(); }
  });
  const code = await shutdown(rt, outputs);
  await elector.release(rt.clock.timeout(RELEASE_DEADLINE_MS));
  return code;
}

/** The HTTP server of `/metrics`, `/healthz`, `/readyz`. */
function listen(
  config: Config,
  rt: Runtime,
  status: StatusSink,
  signal: AbortSignal,
): Deno.HttpServer<Deno.NetAddr> {
  const server = serve(
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
    signal,
  );
  rt.onListen?.(server.addr);
  log().info("serving /metrics, /healthz, /readyz on {address}", {
    address: `${server.addr.hostname}:${server.addr.port}`,
  });
  return server;
}

function logStart(config: Config, conn: KubeConnection): void {
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
}

/** What the outputs still hold after their flush (lost when the process ends). */
function undelivered(flushes: readonly OutputFlush[]): OutputFlush[] {
  return flushes.filter((f) => f.outcome.pending > 0 || f.outcome.error !== undefined);
}

async function once(config: Config, rt: Runtime, deps: SchedulerDeps): Promise<number> {
  const { first, second } = await runOnce(
    deps,
    config.intervalSeconds,
    rt.shutdown,
    (ms) =>
      log().info(
        "--once: baseline sample taken; the second sample, the one published, in {seconds} s",
        { seconds: Math.round(ms / 100) / 10 },
      ),
  );
  if (first.snapshot === null && !first.aborted) {
    log().error("--once: the first sample failed, so there is nothing to publish: {cause}", {
      cause: onceCause(config, first),
    });
    return EXIT_RUNTIME;
  }
  if (second === undefined || rt.shutdown.aborted) {
    log().error("--once: stopped by a signal before the second sample was published");
    return EXIT_RUNTIME;
  }
  if (second.snapshot === null) {
    log().error("--once: the second sample failed: {cause}", { cause: onceCause(config, second) });
    return EXIT_RUNTIME;
  }
  const flushes = await flushOutputs(
    deps.outputs,
    rt.clock.timeout(rt.flushDeadlineMs ?? FLUSH_DEADLINE_MS),
  );
  const left = undelivered(flushes);
  if (left.length > 0) {
    log().error("--once: publish failed, {pending} datums not published: {error}", {
      pending: left.reduce((n, f) => n + f.outcome.pending, 0),
      error: left.map((f) => f.outcome.error ?? "datums left").join("; "),
    });
    return EXIT_RUNTIME;
  }
  return EXIT_OK;
}

/** Why a sample has no figures: the listing's error, no pod found, or every scrape failed. */
function onceCause(config: Config, r: CycleReport): string {
  if (r.listError !== undefined) return r.listError;
  if (r.found === 0) {
    return `no pod matches --selector ${config.selector} in --namespace ${config.namespace}: ` +
      `check both (aws-node runs in kube-system with k8s-app=aws-node unless renamed)`;
  }
  const f = r.failures[0];
  return `${r.found ?? 0} pods found, none scraped (${r.failures.length} failed, ` +
    `${r.notRunning} not running)` +
    (f === undefined
      ? ""
      : `; the first: ${f.target.namespace}/${f.target.name}: ${f.error.message}`);
}

/** The final flush after the last cycle (SIGTERM/SIGINT): 0, or 1 when data is lost. */
async function shutdown(rt: Runtime, outputs: readonly Output[]): Promise<number> {
  log().info("shutting down: flushing {pending} datums", {
    pending: outputs.reduce((n, o) => n + (o.pending ?? 0), 0),
  });
  const flushes = await flushOutputs(
    outputs,
    rt.clock.timeout(rt.flushDeadlineMs ?? FLUSH_DEADLINE_MS),
  );
  const left = undelivered(flushes).filter((f) => f.outcome.pending > 0);
  for (const f of left) {
    log().error("shutdown: {pending} datums could not be published ({error}) and are lost", {
      pending: f.outcome.pending,
      error: f.outcome.error ?? "unknown",
    });
  }
  if (left.length > 0) return EXIT_RUNTIME;
  log().info("stopped");
  return EXIT_OK;
}
