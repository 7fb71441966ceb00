/**
 * The pod source: the aws-node pods of the cluster, kept up to date by
 * list-then-watch (as client-go's reflector does): one paged LIST, then one
 * long WATCH from its `resourceVersion` with bookmarks; a watch that ends is
 * resumed from the last version seen, a `410 Gone` answer means a new LIST,
 * and a broken watch is retried with backoff. Only the fields the helper
 * uses are kept (namespace, name, uid, node, phase, pod IP). In steady state
 * a cycle costs the API server nothing; while the watch is down a cycle uses
 * the last known set and says so.
 *
 * Requests go out on the connection's own keep-alive `Deno.HttpClient` as
 * plain `fetch` calls (client-node's own transport is not used: see
 * docs/architecture.md), with the connection's credentials, refreshed
 * before each request.
 *
 * @module
 */

import { type Clock, deadline, timedOut } from "../base/clock.ts";
import { errorText } from "../base/errors.ts";
import { type KubeConnection, KubeError } from "./kubeconfig.ts";
import { apiStatusText } from "./api_errors.ts";
import { kubeGet, listAll, readFailure } from "./api_request.ts";
import { logger } from "../base/logging.ts";
import type { Target } from "../model/report.ts";

const log = logger("pods");

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
   * @throws {KubeError} naming the namespace, selector and the API server's answer
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

/** Watch settings (tests shorten them). */
export interface WatchOptions {
  /** `timeoutSeconds` asked of the API server for one watch request. @default 300 */
  readonly watchSeconds?: number;
  /** First retry delay after a failure, ms; doubles up to `maxBackoffMs`. @default 1000 */
  readonly backoffMs?: number;
  /** Longest retry delay, ms. @default 30000 */
  readonly maxBackoffMs?: number;
  /** Time one LIST page may take (request and body), ms. @default 10000 */
  readonly pageTimeoutMs?: number;
}

/** Longest line of a watch stream accepted (one pod object), characters. */
const MAX_EVENT_CHARS = 16 * 1024 * 1024;

/** Keeps the set of aws-node pods by list-then-watch. */
export class PodWatcher implements TargetLister {
  readonly #conn: KubeConnection;
  readonly #query: PodQuery;
  readonly #clock: Clock;
  readonly #opts: Required<WatchOptions>;
  readonly #stop = new AbortController();
  /** uid → target */
  #pods = new Map<string, Target>();
  #rv = "";
  #synced = false;
  #loop: Promise<void> | undefined;
  #down: { since: number; reason: string } | undefined;

  /**
   * Nothing is requested until the first `list`.
   *
   * @param conn the API server connection
   * @param query namespace, selector, page size
   * @param clock backoff and the watch's own deadline
   * @param opts watch length and backoff
   */
  constructor(conn: KubeConnection, query: PodQuery, clock: Clock, opts: WatchOptions = {}) {
    this.#conn = conn;
    this.#query = query;
    this.#clock = clock;
    this.#opts = {
      watchSeconds: opts.watchSeconds ?? 300,
      backoffMs: opts.backoffMs ?? 1000,
      maxBackoffMs: opts.maxBackoffMs ?? 30_000,
      pageTimeoutMs: opts.pageTimeoutMs ?? 10_000,
    };
  }

  /**
   * The watched set (the first call LISTs and starts the watch).
   *
   * @param signal aborts the first LIST
   * @returns the pods, and whether the set may be out of date
   */
  async list(signal: AbortSignal): Promise<PodListing> {
    if (!this.#synced) {
      await this.#relist(signal);
      this.#loop ??= this.#watchLoop();
    }
    const down = this.#down;
    return {
      targets: [...this.#pods.values()],
      stale: down === undefined
        ? undefined
        : `the pod watch is down since ${
          new Date(down.since).toISOString()
        } (${down.reason}): using the last known ${this.#pods.size} pods`,
    };
  }

  /** Stops the watch and waits for it. */
  async close(): Promise<void> {
    this.#stop.abort();
    await this.#loop;
  }

  #what(): string {
    return `pods in ${this.#query.namespace} with selector ${this.#query.selector}`;
  }

  #url(params: Record<string, string>): string {
    const q = new URLSearchParams({ labelSelector: this.#query.selector, ...params });
    return `${this.#conn.server}/api/v1/namespaces/${
      encodeURIComponent(this.#query.namespace)
    }/pods?${q}`;
  }

  /**
   * A paged LIST: replaces the set and the resource version. Each page has
   * its own deadline, so a large cluster's first LIST is not cut short.
   */
  async #relist(stop: AbortSignal): Promise<void> {
    const listed = await listAll(
      this.#conn,
      `/api/v1/namespaces/${encodeURIComponent(this.#query.namespace)}/pods`,
      this.#what(),
      (pod: PodObject) => {
        const t = toTarget(pod, this.#query.namespace);
        return [pod.metadata?.uid ?? t.key, t] as const;
      },
      {
        clock: this.#clock,
        stop,
        pageTimeoutMs: this.#opts.pageTimeoutMs,
        params: { labelSelector: this.#query.selector },
        ...(this.#query.pageSize !== undefined ? { pageSize: this.#query.pageSize } : {}),
      },
    );
    const pods = new Map<string, Target>(listed.items);
    const rv = listed.resourceVersion;
    this.#pods = pods;
    this.#rv = rv;
    this.#synced = true;
    log.debug("listed {n} pods at resourceVersion {rv}", { n: pods.size, rv });
  }

  #get(url: string, signal: AbortSignal, verb: string, page = 0): Promise<Response> {
    const what = `${verb} ${this.#what()}${page > 0 ? ` (page ${page})` : ""}`;
    return kubeGet(this.#conn, url, signal, what);
  }

  async #watchLoop(): Promise<void> {
    const stop = this.#stop.signal;
    let failures = 0;
    while (!stop.aborted) {
      try {
        const ended = await this.#watchOnce(stop);
        if (ended === "gone") {
          log.debug("resourceVersion {rv} is too old (410 Gone): listing again", { rv: this.#rv });
          await this.#relist(stop);
        }
        failures = 0;
        this.#up();
      } catch (e) {
        if (stop.aborted) break;
        failures++;
        const reason = errorText(e);
        if (this.#down === undefined) {
          this.#down = { since: this.#clock.now(), reason };
          log.warn(
            "the pod watch broke ({reason}); cycles use the last known {n} pods until it is back",
            {
              reason,
              n: this.#pods.size,
            },
          );
        } else {
          this.#down.reason = reason;
        }
        const delay = Math.min(
          this.#opts.maxBackoffMs,
          this.#opts.backoffMs * 2 ** Math.min(failures - 1, 20),
        );
        log.debug("watching again in {delay} ms", { delay });
        await this.#clock.sleep(delay, stop);
      }
    }
  }

  #up(): void {
    if (this.#down === undefined) return;
    log.info("the pod watch is back after {seconds} s: {n} pods", {
      seconds: Math.round((this.#clock.now() - this.#down.since) / 1000),
      n: this.#pods.size,
    });
    this.#down = undefined;
  }

  /**
   * One watch request, until the API server ends it.
   *
   * @returns `"ended"` when it ended normally, `"gone"` when its version is too old
   */
  async #watchOnce(stop: AbortSignal): Promise<"ended" | "gone"> {
    // the API server ends the request after watchSeconds; if it vanishes
    // without closing the connection, stop waiting a little later
    const d = deadline(this.#clock, stop, (this.#opts.watchSeconds + 30) * 1000);
    try {
      return await this.#watchWithin(stop, d.signal);
    } finally {
      d.release();
    }
  }

  async #watchWithin(stop: AbortSignal, signal: AbortSignal): Promise<"ended" | "gone"> {
    let res: Response;
    try {
      res = await this.#get(
        this.#url({
          watch: "1",
          allowWatchBookmarks: "true",
          resourceVersion: this.#rv,
          timeoutSeconds: String(this.#opts.watchSeconds),
        }),
        signal,
        "watching",
      );
    } catch (e) {
      if (e instanceof KubeError && e.status === 410) return "gone";
      throw e;
    }
    this.#up();
    let events = 0;
    try {
      for await (const line of lines(res.body, MAX_EVENT_CHARS)) {
        if (line.trim() === "") continue;
        events++;
        // leaving the loop cancels the stream
        if (this.#apply(JSON.parse(line) as WatchEvent) === "gone") return "gone";
      }
    } catch (e) {
      if (stop.aborted) throw e;
      if (timedOut(signal)) return "ended";
      if (e instanceof KubeError) throw e;
      throw new KubeError(`watching ${this.#what()}: ${readFailure(e, signal)}`);
    }
    log.debug("the watch ended after {events} events; resuming at {rv}", { events, rv: this.#rv });
    return "ended";
  }

  #apply(ev: WatchEvent): "ok" | "gone" {
    const obj = ev.object ?? {};
    if (ev.type === "ERROR") {
      const st = obj as StatusObject;
      if (st.code === 410) return "gone";
      throw new KubeError(
        `watching ${this.#what()}: ${apiStatusText(st.code ?? 0, JSON.stringify(st))}`,
        st.code,
      );
    }
    const pod = obj as PodObject;
    const rv = pod.metadata?.resourceVersion;
    if (rv !== undefined) this.#rv = rv;
    if (ev.type === "BOOKMARK") {
      log.debug(`pod watch: BOOKMARK at ${rv ?? "?"}`);
      return "ok";
    }
    const t = toTarget(pod, this.#query.namespace);
    const uid = pod.metadata?.uid ?? t.key;
    log.debug(`pod watch: ${ev.type} ${t.namespace}/${t.name} at ${rv ?? "?"}`);
    if (ev.type === "DELETED") this.#pods.delete(uid);
    else if (ev.type === "ADDED" || ev.type === "MODIFIED") this.#pods.set(uid, t);
    return "ok";
  }
}

/** The fields of a pod the helper reads. */
interface PodObject {
  metadata?: { name?: string; namespace?: string; uid?: string; resourceVersion?: string };
  spec?: { nodeName?: string };
  status?: { phase?: string; podIP?: string };
}

interface StatusObject {
  code?: number;
  message?: string;
  reason?: string;
}

interface WatchEvent {
  type?: string;
  object?: PodObject | StatusObject;
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

/** Splits a byte stream into lines, refusing a line longer than `max` characters. */
async function* lines(
  body: ReadableStream<Uint8Array> | null,
  max: number,
): AsyncGenerator<string> {
  if (body === null) return;
  let rest = "";
  for await (const chunk of body.pipeThrough(new TextDecoderStream())) {
    rest += chunk;
    let nl;
    while ((nl = rest.indexOf("\n")) !== -1) {
      yield rest.slice(0, nl);
      rest = rest.slice(nl + 1);
    }
    if (rest.length > max) throw new KubeError(`a watch event is over ${max} characters`);
  }
  if (rest.trim() !== "") yield rest;
}
