/**
 * List-then-watch of one kind of object (as client-go's reflector does):
 * one paged LIST, then one long WATCH from its `resourceVersion` with
 * bookmarks; a watch that ends is resumed from the last version seen, a
 * `410 Gone` answer means a new LIST, and a broken watch is retried with
 * backoff. Each object becomes a small item as it arrives (only the fields
 * kept), so the full objects are garbage at once. The pod source
 * (`pod_watcher.ts`) and the node source (`node_watcher.ts`) are two of it.
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
import { logger } from "../base/logging.ts";
import { type KubeConnection, KubeError } from "./kubeconfig.ts";
import { apiStatusText } from "./api_errors.ts";
import { kubeGet, listAll, readFailure } from "./api_request.ts";

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

/** The object fields every watched kind has. */
export interface WatchedObject {
  /** Name, uid and version. */
  metadata?: { name?: string; namespace?: string; uid?: string; resourceVersion?: string };
}

/** What to list and watch, and what to keep of each object. */
export interface ListWatchSpec<O extends WatchedObject, T> {
  /** Collection path, e.g. `/api/v1/namespaces/kube-system/pods` or `/api/v1/nodes`. */
  readonly path: string;
  /** Query parameters of both the LIST and the WATCH (a label selector). @default none */
  readonly params?: Readonly<Record<string, string>>;
  /** What is listed, for messages: `pods in kube-system with selector k8s-app=aws-node`. */
  readonly what: string;
  /** The kind in log lines: `pod`, `node`. */
  readonly kind: string;
  /** Page size of the list. @default 500 */
  readonly pageSize?: number;
  /** The item kept of an object, and its key (the uid). */
  readonly toItem: (obj: O) => readonly [string, T];
}

/** The watched set now. */
export interface Watched<T> {
  /** Key (uid) → item. */
  readonly items: ReadonlyMap<string, T>;
  /** Since when, and why, the watch is down; `undefined` while it is up. */
  readonly down: { readonly since: number; readonly reason: string } | undefined;
}

/** Longest line of a watch stream accepted (one object), characters. */
const MAX_EVENT_CHARS = 16 * 1024 * 1024;

/** Keeps the set of one kind of object by list-then-watch. */
export class ListWatch<O extends WatchedObject, T> {
  readonly #conn: KubeConnection;
  readonly #spec: ListWatchSpec<O, T>;
  readonly #clock: Clock;
  readonly #opts: Required<WatchOptions>;
  readonly #log: ReturnType<typeof logger>;
  readonly #stop = new AbortController();
  #items = new Map<string, T>();
  #rv = "";
  #synced = false;
  #loop: Promise<void> | undefined;
  #down: { since: number; reason: string } | undefined;

  /**
   * Nothing is requested until the first `current`.
   *
   * @param conn the API server connection
   * @param spec what to list and keep
   * @param clock backoff and the watch's own deadline
   * @param opts watch length and backoff
   */
  constructor(
    conn: KubeConnection,
    spec: ListWatchSpec<O, T>,
    clock: Clock,
    opts: WatchOptions = {},
  ) {
    this.#conn = conn;
    this.#spec = spec;
    this.#clock = clock;
    this.#log = logger(`${spec.kind}s`);
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
   * @returns the items and whether the watch is down
   * @throws {KubeError} when the first LIST fails
   */
  async current(signal: AbortSignal): Promise<Watched<T>> {
    if (!this.#synced) {
      await this.#relist(signal);
      this.#loop ??= this.#watchLoop();
    }
    return { items: this.#items, down: this.#down };
  }

  /** Stops the watch and waits for it. */
  async close(): Promise<void> {
    this.#stop.abort();
    await this.#loop;
  }

  #url(params: Record<string, string>): string {
    const q = new URLSearchParams({ ...this.#spec.params, ...params });
    return `${this.#conn.server}${this.#spec.path}?${q}`;
  }

  /**
   * A paged LIST: replaces the set and the resource version. Each page has
   * its own deadline, so a large cluster's first LIST is not cut short.
   */
  async #relist(stop: AbortSignal): Promise<void> {
    const listed = await listAll(this.#conn, this.#spec.path, this.#spec.what, this.#spec.toItem, {
      clock: this.#clock,
      stop,
      pageTimeoutMs: this.#opts.pageTimeoutMs,
      params: { ...this.#spec.params },
      ...(this.#spec.pageSize !== undefined ? { pageSize: this.#spec.pageSize } : {}),
    });
    this.#items = new Map<string, T>(listed.items);
    this.#rv = listed.resourceVersion;
    this.#synced = true;
    this.#log.debug("listed {n} {kind}s at resourceVersion {rv}", {
      n: this.#items.size,
      kind: this.#spec.kind,
      rv: this.#rv,
    });
  }

  async #watchLoop(): Promise<void> {
    const stop = this.#stop.signal;
    const kind = this.#spec.kind;
    let failures = 0;
    while (!stop.aborted) {
      try {
        const ended = await this.#watchOnce(stop);
        if (ended === "gone") {
          this.#log.debug("resourceVersion {rv} is too old (410 Gone): listing again", {
            rv: this.#rv,
          });
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
          this.#log.warn(
            `the ${kind} watch broke ({reason}); cycles use the last known {n} ${kind}s until ` +
              "it is back",
            { reason, n: this.#items.size },
          );
        } else {
          this.#down.reason = reason;
        }
        const delay = Math.min(
          this.#opts.maxBackoffMs,
          this.#opts.backoffMs * 2 ** Math.min(failures - 1, 20),
        );
        this.#log.debug("watching again in {delay} ms", { delay });
        await this.#clock.sleep(delay, stop);
      }
    }
  }

  #up(): void {
    if (this.#down === undefined) return;
    this.#log.info(
      `the ${this.#spec.kind} watch is back after {seconds} s: {n} ${this.#spec.kind}s`,
      {
        seconds: Math.round((this.#clock.now() - this.#down.since) / 1000),
        n: this.#items.size,
      },
    );
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
      res = await kubeGet(
        this.#conn,
        this.#url({
          watch: "1",
          allowWatchBookmarks: "true",
          resourceVersion: this.#rv,
          timeoutSeconds: String(this.#opts.watchSeconds),
        }),
        signal,
        `watching ${this.#spec.what}`,
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
        if (this.#apply(JSON.parse(line) as WatchEvent<O>) === "gone") return "gone";
      }
    } catch (e) {
      if (stop.aborted) throw e;
      if (timedOut(signal)) return "ended";
      if (e instanceof KubeError) throw e;
      throw new KubeError(`watching ${this.#spec.what}: ${readFailure(e, signal)}`);
    }
    this.#log.debug("the watch ended after {events} events; resuming at {rv}", {
      events,
      rv: this.#rv,
    });
    return "ended";
  }

  #apply(ev: WatchEvent<O>): "ok" | "gone" {
    const obj = ev.object ?? {};
    if (ev.type === "ERROR") {
      const st = obj as StatusObject;
      if (st.code === 410) return "gone";
      throw new KubeError(
        `watching ${this.#spec.what}: ${apiStatusText(st.code ?? 0, JSON.stringify(st))}`,
        st.code,
      );
    }
    const o = obj as O;
    const rv = o.metadata?.resourceVersion;
    if (rv !== undefined) this.#rv = rv;
    if (ev.type === "BOOKMARK") {
      this.#log.debug(`${this.#spec.kind} watch: BOOKMARK at ${rv ?? "?"}`);
      return "ok";
    }
    const [key, item] = this.#spec.toItem(o);
    const name = [o.metadata?.namespace, o.metadata?.name].filter((p) => p).join("/");
    this.#log.debug(`${this.#spec.kind} watch: ${ev.type} ${name} at ${rv ?? "?"}`);
    if (ev.type === "DELETED") this.#items.delete(key);
    else if (ev.type === "ADDED" || ev.type === "MODIFIED") this.#items.set(key, item);
    return "ok";
  }
}

interface StatusObject {
  code?: number;
  message?: string;
  reason?: string;
}

interface WatchEvent<O> {
  type?: string;
  object?: O | StatusObject;
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
