/**
 * The node source: the cluster's Nodes kept by list-then-watch
 * (`list_watch.ts`), each as its name, provider id and groups (zone, node
 * group, instance type from its labels): what the breakdowns and the report
 * need. RBAC: `list` and `watch` on nodes.
 *
 * @module
 */

import type { Clock } from "../base/clock.ts";
import { groupsOf, type NodeGroups } from "../model/node_groups.ts";
import type { KubeConnection } from "./kubeconfig.ts";
import { ListWatch, type WatchedObject, type WatchOptions } from "./list_watch.ts";

/** What is kept of a Node. */
export interface NodeInfo {
  /** `metadata.name` (a pod's `spec.nodeName`). */
  readonly name: string;
  /** `spec.providerID`, e.g. `aws:///us-east-1a/i-0abc`; `""` when unset. */
  readonly providerID: string;
  /** Its group per breakdown. */
  readonly groups: NodeGroups;
}

/** The nodes now, by name. */
export interface NodeSet {
  /** Node name → what is kept of it. */
  readonly nodes: ReadonlyMap<string, NodeInfo>;
  /** Why the set may be out of date; `undefined` when current. */
  readonly stale: string | undefined;
}

interface NodeObject extends WatchedObject {
  metadata?: WatchedObject["metadata"] & { labels?: Record<string, string> };
  spec?: { providerID?: string };
}

/** Keeps the cluster's nodes by list-then-watch. */
export class NodeWatcher {
  readonly #watch: ListWatch<NodeObject, NodeInfo>;

  /**
   * Nothing is requested until the first `current`.
   *
   * @param conn the API server connection
   * @param clock backoff and the watch's own deadline
   * @param opts watch length and backoff
   */
  constructor(conn: KubeConnection, clock: Clock, opts: WatchOptions = {}) {
    this.#watch = new ListWatch<NodeObject, NodeInfo>(
      conn,
      {
        path: "/api/v1/nodes",
        what: "nodes",
        kind: "node",
        toItem: (node) => {
          const name = node.metadata?.name ?? "";
          return [name, {
            name,
            providerID: node.spec?.providerID ?? "",
            groups: groupsOf(node.metadata?.labels ?? {}),
          }] as const;
        },
      },
      clock,
      opts,
    );
  }

  /**
   * The nodes (the first call LISTs and starts the watch).
   *
   * @param signal aborts the first LIST
   * @returns the nodes by name, and whether the set may be out of date
   * @throws {import("./kubeconfig.ts").KubeError} when the first LIST fails (RBAC: list nodes)
   */
  async current(signal: AbortSignal): Promise<NodeSet> {
    const { items, down } = await this.#watch.current(signal);
    return {
      nodes: items,
      stale: down === undefined
        ? undefined
        : `the node watch is down since ${new Date(down.since).toISOString()} (${down.reason})`,
    };
  }

  /** Stops the watch and waits for it. */
  close(): Promise<void> {
    return this.#watch.close();
  }
}
