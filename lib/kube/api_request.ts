/**
 * Plain GETs and paged LISTs against the API server on our keep-alive
 * client, with the connection's credentials: the pod watcher's and the
 * subnet refresher's one way to ask. A failure is a {@linkcode KubeError}
 * naming what was asked and the API server's answer (with the 401/403 fix).
 *
 * @module
 */

import { type Clock, deadline, timedOut } from "../base/clock.ts";
import { errorText } from "../base/errors.ts";
import { apiStatusText } from "./api_errors.ts";
import { type KubeConnection, KubeError } from "./kubeconfig.ts";
import { logger } from "../base/logging.ts";

const log = logger("kube");

/**
 * Why a request or its body read failed: timed out, shutting down, or the error.
 *
 * @param e the error
 * @param signal the request's signal
 * @returns the text
 */
export function readFailure(e: unknown, signal: AbortSignal): string {
  if (timedOut(signal)) return "timed out";
  if (signal.aborted) return "aborted: shutting down";
  return errorText(e);
}

/**
 * Sends one request with the connection's credentials, whatever the answer.
 *
 * @param conn the connection
 * @param method `GET`, `POST`, `PUT`
 * @param url the full URL
 * @param signal aborts the request
 * @param what what is asked, for messages
 * @param body a JSON body
 * @returns the response, any status
 * @throws {KubeError} on a network failure (no answer)
 */
export async function kubeRequest(
  conn: KubeConnection,
  method: string,
  url: string,
  signal: AbortSignal,
  what: string,
  body?: unknown,
): Promise<Response> {
  try {
    const auth = await conn.authHeaders(signal);
    const headers: Record<string, string> = { ...auth, Accept: "application/json" };
    if (body !== undefined) headers["Content-Type"] = "application/json";
    return await fetch(url, {
      method,
      headers,
      client: conn.http,
      signal,
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
    });
  } catch (e) {
    throw new KubeError(`${what}: ${readFailure(e, signal)}`);
  }
}

/**
 * GETs `url` with the connection's credentials.
 *
 * @param conn the connection
 * @param url the full URL
 * @param signal aborts the request
 * @param what what is asked, for messages (e.g. `listing nodes (page 2)`)
 * @returns the response, status 200
 * @throws {KubeError} with the status when the answer is not 200, or on a network failure
 */
export async function kubeGet(
  conn: KubeConnection,
  url: string,
  signal: AbortSignal,
  what: string,
): Promise<Response> {
  const res = await kubeRequest(conn, "GET", url, signal, what);
  if (res.status === 200) return res;
  const text = await res.text().catch(() => "");
  throw new KubeError(`${what}: ${apiStatusText(res.status, text)}`, res.status);
}

/** A LIST answer: its items and where the next page starts. */
interface ListPage<T> {
  readonly items?: readonly T[];
  readonly metadata?: { readonly continue?: string; readonly resourceVersion?: string };
}

/** What a paged LIST gave: the mapped items and the list's resource version. */
export interface Listed<U> {
  /** `map`'s results, in the API server's order (items it mapped to `undefined` left out). */
  readonly items: U[];
  /** The list's `resourceVersion` (where a watch starts). */
  readonly resourceVersion: string;
}

/** Paging and deadlines of {@linkcode listAll}. */
export interface ListOptions {
  /** Time of the page deadlines. */
  readonly clock: Clock;
  /** Shutdown. */
  readonly stop: AbortSignal;
  /** Items a page. @default 500 */
  readonly pageSize?: number;
  /** Milliseconds a page may take. @default 10000 */
  readonly pageTimeoutMs?: number;
  /** Query parameters besides the paging ones (e.g. `labelSelector`). */
  readonly params?: Record<string, string>;
}

/**
 * Every item of a paged LIST (`limit`, `continue`), each page within its
 * own deadline, each item mapped as its page arrives (so a large list's raw
 * objects are never all held at once). One debug line a page.
 *
 * @param conn the connection
 * @param path the collection, e.g. `/api/v1/nodes`
 * @param what what is listed, for messages (e.g. `nodes`)
 * @param map keeps what is needed of an item; `undefined` leaves it out
 * @param opts clock, stop signal, paging, query
 * @returns the mapped items and the resource version
 * @throws {KubeError} naming the page that failed
 */
export async function listAll<T, U>(
  conn: KubeConnection,
  path: string,
  what: string,
  map: (item: T) => U | undefined,
  opts: ListOptions,
): Promise<Listed<U>> {
  const items: U[] = [];
  let cont = "";
  let rv = "";
  let pages = 0;
  do {
    const q = new URLSearchParams({ ...opts.params, limit: String(opts.pageSize ?? 500) });
    if (cont !== "") q.set("continue", cont);
    const d = deadline(opts.clock, opts.stop, opts.pageTimeoutMs ?? 10_000);
    const label = `listing ${what} (page ${++pages})`;
    const t0 = opts.clock.now();
    let page: ListPage<T>;
    try {
      const res = await kubeGet(conn, `${conn.server}${path}?${q}`, d.signal, label);
      try {
        page = await res.json() as ListPage<T>;
      } catch (e) {
        throw new KubeError(`${label}: ${readFailure(e, d.signal)}`);
      }
    } finally {
      d.release();
    }
    for (const item of page.items ?? []) {
      const u = map(item);
      if (u !== undefined) items.push(u);
    }
    rv = page.metadata?.resourceVersion ?? "";
    cont = page.metadata?.continue ?? "";
    if (log.isEnabledFor("debug")) {
      log.debug(
        `list page ${pages} of ${what}: ${page.items?.length ?? 0} items in ${
          Math.round(opts.clock.now() - t0)
        } ms${cont === "" ? ", the last" : ", more to come"}`,
      );
    }
  } while (cont !== "");
  return { items, resourceVersion: rv };
}
