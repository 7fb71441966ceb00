/**
 * The Kubernetes side of a run's set-up: where the kubeconfig comes from,
 * and this replica's leader elector.
 *
 * @module
 */

import { type Config, ConfigError } from "../cli/config.ts";
import { logger } from "../base/logging.ts";
import type { KubeconfigSource, KubeConnection } from "../kube/kubeconfig.ts";
import { kubeLeaseStore, LeaderElector } from "../kube/leader_election.ts";
import type { Runtime } from "./runtime.ts";

const log = () => logger();

/** Where the kubeconfig comes from: the flags, the pod's service account, `~/.kube/config`. */
export function kubeSource(config: Config, rt: Runtime): KubeconfigSource {
  return {
    kubeconfig: config.kubeconfig,
    context: config.context,
    inCluster: rt.inCluster,
    homeConfig: rt.homeKubeconfig,
    ...(rt.inClusterRoot !== undefined ? { inClusterRoot: rt.inClusterRoot } : {}),
  };
}

/** Milliseconds the lease release may take on shutdown, after the flush. */
export const RELEASE_DEADLINE_MS = 2_000;

/** The elector of this replica: pod name plus a random suffix, the Lease in its namespace. */
export function electorFor(config: Config, rt: Runtime, conn: KubeConnection): LeaderElector {
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
