/**
 * The scraper: one pod's metrics text through the API server's pod proxy
 * (`/api/v1/namespaces/NS/pods/NAME:PORT/proxy/metrics`), on the
 * connection's keep-alive client, with a body limit. Failures become a
 * {@linkcode ScrapeError} of a bounded kind (a metric label), never a throw
 * of anything else.
 *
 * @module
 */

import { timedOut } from "../base/clock.ts";
import { errorText } from "../base/errors.ts";
import { apiStatusText } from "../kube/api_errors.ts";
import type { KubeConnection } from "../kube/kubeconfig.ts";
import type { Target } from "../model/report.ts";

/** Reads one pod's metrics text. */
export interface Scraper {
  /**
   * Called once per cycle before the scrapes (refreshes short-lived tokens).
   *
   * @param signal aborts the refresh
   * @throws {import("../kube/kubeconfig.ts").KubeError} when the credentials cannot be had
   */
  prepare(signal: AbortSignal): Promise<void>;
  /**
   * Reads one pod's metrics text.
   *
   * @param target the pod
   * @param signal aborts the scrape (timeout or shutdown)
   * @returns the body
   * @throws {ScrapeError} only
   */
  scrape(target: Target, signal: AbortSignal): Promise<string>;
  /** Releases connections the scraper holds of its own. */
  close?(): void;
}

/** Why a scrape failed, as a bounded set (used as a metric label). */
export type ScrapeFailure = "timeout" | "http" | "network" | "parse" | "aborted";

/** A failed scrape with a reason fit for a log line. */
export class ScrapeError extends Error {
  /** The failure class. */
  readonly kind: ScrapeFailure;
  /** HTTP status, when the API server answered. */
  readonly status: number | undefined;
  /**
   * Builds it.
   *
   * @param kind failure class
   * @param message reason, naming what went wrong
   * @param status HTTP status, when known
   */
  constructor(kind: ScrapeFailure, message: string, status?: number) {
    super(message);
    this.name = "ScrapeError";
    this.kind = kind;
    this.status = status;
  }
}

/** Scraper settings (both modes). */
export interface ScraperOptions {
  /** aws-node metrics port. */
  readonly metricsPort: number;
  /** Largest body accepted from a pod, bytes. @default 16 MiB */
  readonly maxBodyBytes?: number;
}

/** Default body limit: 16 MiB (a real aws-node body is 10-20 KB). */
export const DEFAULT_MAX_BODY_BYTES = 16 * 1024 * 1024;

/** Scrapes through the API server's pod proxy. */
export class ProxyScraper implements Scraper {
  readonly #conn: KubeConnection;
  readonly #opts: ScraperOptions;
  #headers: Record<string, string> = {};

  /**
   * Builds it.
   *
   * @param conn the API server connection
   * @param opts port and body limit
   */
  constructor(conn: KubeConnection, opts: ScraperOptions) {
    this.#conn = conn;
    this.#opts = opts;
  }

  async prepare(signal: AbortSignal): Promise<void> {
    this.#headers = { ...(await this.#conn.authHeaders(signal)), Accept: "text/plain" };
  }

  /**
   * GETs the pod's metrics through the API server's pod proxy.
   *
   * @param target the pod
   * @param signal the scrape's deadline and shutdown
   * @returns the body
   */
  async scrape(target: Target, signal: AbortSignal): Promise<string> {
    const path = `/api/v1/namespaces/${encodeURIComponent(target.namespace)}/pods/${
      encodeURIComponent(target.name)
    }:${this.#opts.metricsPort}/proxy/metrics`;
    let res: Response;
    try {
      res = await fetch(this.#conn.server + path, {
        headers: this.#headers,
        client: this.#conn.http,
        signal,
      });
    } catch (e) {
      throw fetchFailure(e, signal);
    }
    const body = await readLimited(res, this.#opts.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES, signal);
    if (res.status !== 200) {
      throw new ScrapeError(
        "http",
        httpFailureText(res.status, body, this.#opts.metricsPort),
        res.status,
      );
    }
    return body;
  }
}

/**
 * Scrapes `http://<pod IP>:<port>/metrics` straight from the node (aws-node
 * is host-network), on one keep-alive client of its own: no API server in
 * the path. Needs the node security group to let the helper's pod reach
 * the metrics port.
 */
export class DirectScraper implements Scraper {
  readonly #opts: ScraperOptions;
  readonly #http: Deno.HttpClient;

  /**
   * Builds it.
   *
   * @param opts port and body limit
   */
  constructor(opts: ScraperOptions) {
    this.#opts = opts;
    // one connection per node per cycle: a pool of idle ones would hold a
    // socket per node between cycles (thousands), so none is kept
    this.#http = Deno.createHttpClient({ http2: false, poolMaxIdlePerHost: 0 });
  }

  prepare(): Promise<void> {
    return Promise.resolve();
  }

  /**
   * GETs `http://<pod IP>:<port>/metrics`.
   *
   * @param target the pod
   * @param signal the scrape's deadline and shutdown
   * @returns the body
   */
  async scrape(target: Target, signal: AbortSignal): Promise<string> {
    const host = target.podIP.includes(":") ? `[${target.podIP}]` : target.podIP;
    const where = `${host}:${this.#opts.metricsPort}`;
    let res: Response;
    try {
      res = await fetch(`http://${where}/metrics`, {
        headers: { Accept: "text/plain" },
        client: this.#http,
        signal,
      });
    } catch (e) {
      throw directFailure(e, signal, where);
    }
    const max = this.#opts.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES;
    const body = await readLimited(res, max, signal, where);
    if (res.status !== 200) {
      throw new ScrapeError(
        "http",
        `HTTP ${res.status} from ${where}/metrics: ${body.trim().slice(0, 200)}`,
        res.status,
      );
    }
    return body;
  }

  /** Closes the keep-alive connections. */
  close(): void {
    this.#http.close();
  }
}

function directFailure(e: unknown, signal: AbortSignal, where: string): ScrapeError {
  const port = where.slice(where.lastIndexOf(":") + 1);
  return fetchFailure(
    e,
    signal,
    where,
    ` (direct mode needs inbound tcp/${port} from the helper's pod to the nodes in their ` +
      `security group; or use --scrape-via proxy)`,
  );
}

/**
 * Reads a response body as UTF-8 text, refusing more than `max` bytes (by
 * `Content-Length` before reading, or as the bytes arrive).
 *
 * @param res the response
 * @param max the limit, bytes
 * @param signal the scrape's signal (names a timeout as such)
 * @param peer what answered, for messages @default "the API server"
 * @returns the text
 * @throws {ScrapeError} over the limit, or when the body cannot be read
 */
export async function readLimited(
  res: Response,
  max: number,
  signal: AbortSignal,
  peer = "the API server",
): Promise<string> {
  const len = Number(res.headers.get("content-length") ?? "0");
  if (len > max) {
    await res.body?.cancel();
    throw new ScrapeError("http", `body of ${len} bytes is over the ${max}-byte limit`);
  }
  if (res.body === null) return "";
  if (res.headers.has("content-length")) {
    // the transport ends the body at its declared length: one read, bounded above
    try {
      return await res.text();
    } catch (e) {
      throw fetchFailure(e, signal, peer);
    }
  }
  const reader = res.body.getReader();
  const chunks: Uint8Array[] = [];
  let total = 0;
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      total += value.byteLength;
      if (total > max) {
        await reader.cancel();
        throw new ScrapeError("http", `body is over the ${max}-byte limit`);
      }
      chunks.push(value);
    }
  } catch (e) {
    if (e instanceof ScrapeError) throw e;
    throw fetchFailure(e, signal, peer);
  }
  const all = new Uint8Array(total);
  let off = 0;
  for (const c of chunks) {
    all.set(c, off);
    off += c.byteLength;
  }
  return new TextDecoder().decode(all);
}

/** The API server's 503 when it cannot reach a pod's port (upstream #1912, #2091). */
function unreachableHint(port: number): string {
  return `the API server could not reach the pod's port: allow inbound tcp/${port} from the ` +
    "cluster security group to the nodes";
}

function httpFailureText(status: number, body: string, port: number): string {
  const text = apiStatusText(status, body);
  return status === 503 ? `${text} (${unreachableHint(port)})` : text;
}

function fetchFailure(
  e: unknown,
  signal: AbortSignal,
  peer = "the API server",
  hint = "",
): ScrapeError {
  if (timedOut(signal)) return new ScrapeError("timeout", "timed out");
  if (signal.aborted) return new ScrapeError("aborted", "aborted: shutting down");
  return new ScrapeError("network", `cannot reach ${peer}: ${errorText(e)}${hint}`);
}
