/**
 * The pod source: the aws-node pods of the cluster, kept up to date by
 * list-then-watch (`list_watch.ts`). Only the fields the helper uses are
 * kept (namespace, name, uid, node, phase, pod IP). In steady state a cycle
 * costs the API server nothing; while the watch is down a cycle uses the
 * last known set and says so.
 *
 * @module
 */

import type { Clock } from "../base/clock.ts";
import type { KubeConnection } from "./kubeconfig.ts";
import { ListWatch, type WatchedObject, type WatchOptions } from "./list_watch.ts";
import type { Target } from "../model/report.ts";

export type { WatchOptions } from "./list_watch.ts";

/** The pods a cycle works on. */
export interface PodListing {
  /** Every matching pod. */
  readonly targets: readonly Target[];
  /**
   * Why the set may be out of date (the watch is down), for the cycle's log
   * line; `undefined` when it is current.
   */
  readonly stale: string | undefined;
}

/** Gives the aws-node pods of a cycle. */
export interface TargetLister {
  /**
   * The pods of this cycle.
   *
   * @param signal aborts a listing that has to go to the API server
   * @returns every matching pod
   * @throws {import("./kubeconfig.ts").KubeError} naming the namespace, selector and the API server's answer
   */
  list(signal: AbortSignal): Promise<PodListing>;
  /** Stops background work (a watch) and waits for it. */
  close?(): Promise<void>;
}

/** Which pods to list. */
export interface PodQuery {
  /** Namespace of the aws-node pods. */
  readonly namespace: string;
  /** Label selector. */
  readonly selector: string;
  /** Page size of the list. @default 500 */
  readonly pageSize?: number;
}

/** The fields of a pod the helper reads. */
interface PodObject extends WatchedObject {
  spec?: {
    nodeName?: string;
    containers?: { name?: string; env?: { name?: string; value?: string }[] }[];
  };
  status?: { phase?: string; podIP?: string };
}

/** The aws-node settings that size the warm pools, read from the aws-node container's env. */
export const WARM_SETTINGS = [
  "WARM_IP_TARGET",
  "MINIMUM_IP_TARGET",
  "WARM_ENI_TARGET",
  "WARM_PREFIX_TARGET",
  "ENABLE_PREFIX_DELEGATION",
] as const;

/** One set of warm settings, shared by every pod that has it (interned: one object per set). */
function warmOf(pod: PodObject, interned: Map<string, Readonly<Record<string, string>>>) {
  const env = pod.spec?.containers?.find((c) => c.name === "aws-node")?.env ?? [];
  const out: Record<string, string> = {};
  for (const e of env) {
    if (
      e.name !== undefined && e.value !== undefined &&
      (WARM_SETTINGS as readonly string[]).includes(e.name)
    ) {
      out[e.name] = e.value;
    }
  }
  const key = JSON.stringify(Object.entries(out).sort());
  let w = interned.get(key);
  if (w === undefined) interned.set(key, w = Object.freeze(out));
  return w;
}

/** Keeps the set of aws-node pods by list-then-watch. */
export class PodWatcher implements TargetLister {
  readonly #watch: ListWatch<PodObject, Target>;

  /**
   * Nothing is requested until the first `list`.
   *
   * @param conn the API server connection
   * @param query namespace, selector, page size
   * @param clock backoff and the watch's own deadline
   * @param opts watch length and backoff
   */
  constructor(conn: KubeConnection, query: PodQuery, clock: Clock, opts: WatchOptions = {}) {
    const interned = new Map<string, Readonly<Record<string, string>>>();
    this.#watch = new ListWatch<PodObject, Target>(
      conn,
      {
        path: `/api/v1/namespaces/${encodeURIComponent(query.namespace)}/pods`,
        params: { labelSelector: query.selector },
        what: `pods in ${query.namespace} with selector ${query.selector}`,
        kind: "pod",
        ...(query.pageSize !== undefined ? { pageSize: query.pageSize } : {}),
        toItem: (pod) => {
          const t = { ...toTarget(pod, query.namespace), warm: warmOf(pod, interned) };
          return [pod.metadata?.uid ?? t.key, t] as const;
        },
      },
      clock,
      opts,
    );
  }

  /**
   * The watched set (the first call LISTs and starts the watch).
   *
   * @param signal aborts the first LIST
   * @returns the pods, and whether the set may be out of date
   */
  async list(signal: AbortSignal): Promise<PodListing> {
    const { items, down } = await this.#watch.current(signal);
    return {
      targets: [...items.values()],
      stale: down === undefined
        ? undefined
        : `the pod watch is down since ${
          new Date(down.since).toISOString()
        } (${down.reason}): using the last known ${items.size} pods`,
    };
  }

  /** Stops the watch and waits for it. */
  close(): Promise<void> {
    return this.#watch.close();
  }
}

function toTarget(pod: PodObject, namespace: string): Target {
  const name = pod.metadata?.name ?? "";
  const ns = pod.metadata?.namespace ?? namespace;
  const podIP = pod.status?.podIP ?? "";
  return {
    key: `${ns}/${name}/${pod.metadata?.uid ?? ""}`,
    name,
    namespace: ns,
    node: pod.spec?.nodeName ?? "",
    podIP,
    running: pod.status?.phase === "Running" && podIP !== "",
  };
}
