/**
 * The HTTP endpoints on `--listen` (default `:61681`): `/healthz`, `/readyz`,
 * `/metrics`. Handlers are plain `(Request) => Response` functions; `serve`
 * is the only part with a socket.
 *
 * @module
 */

import {
  type MemoryFigures,
  OPENMETRICS_CONTENT_TYPE,
  renderMetrics,
  TEXT_CONTENT_TYPE,
} from "../outputs/prometheus_text.ts";
import type { StatusSink } from "../outputs/status.ts";
import { errorText, RuntimeError } from "../base/errors.ts";

/** What the handler reads. */
export interface EndpointDeps {
  /** The helper's state. */
  readonly status: StatusSink;
  /** Export the cluster figures on `/metrics`. */
  readonly prometheus: boolean;
  /** Now, ms since the epoch. */
  readonly now: () => number;
  /** Process memory. */
  readonly memory: () => MemoryFigures;
}

/**
 * Builds the request handler.
 *
 * @param deps state, clock, memory
 * @returns the handler
 */
export function makeHandler(deps: EndpointDeps): (req: Request) => Response {
  return (req: Request): Response => {
    const path = new URL(req.url).pathname;
    if (req.method !== "GET" && req.method !== "HEAD") {
      return new Response("method not allowed\n", { status: 405, headers: { allow: "GET, HEAD" } });
    }
    switch (path) {
      case "/healthz":
        return text(200, "ok\n");
      case "/readyz": {
        const reason = deps.status.notReadyReason(deps.now());
        return reason === undefined ? text(200, "ok\n") : text(503, `not ready: ${reason}\n`);
      }
      case "/metrics": {
        const openMetrics = (req.headers.get("accept") ?? "").includes(
          "application/openmetrics-text",
        );
        const body = renderMetrics(deps.status, {
          cluster: deps.prometheus,
          memory: deps.memory(),
          openMetrics,
        });
        return new Response(body, {
          headers: { "content-type": openMetrics ? OPENMETRICS_CONTENT_TYPE : TEXT_CONTENT_TYPE },
        });
      }
      default:
        return text(404, "not found: try /metrics, /healthz or /readyz\n");
    }
  };
}

function text(status: number, body: string): Response {
  return new Response(body, { status, headers: { "content-type": "text/plain; charset=utf-8" } });
}

/** Listening failed (port in use, no permission). */
export class ListenError extends RuntimeError {
  /**
   * @param message names the address and the reason
   */
  constructor(message: string) {
    super(message);
    this.name = "ListenError";
  }
}

/**
 * Serves the handler until `signal` aborts.
 *
 * @param listen address
 * @param handler the handler
 * @param signal stops the server
 * @returns the server (its `finished` resolves after shutdown)
 * @throws {ListenError} when the address cannot be bound
 */
export function serve(
  listen: { readonly hostname: string; readonly port: number },
  handler: (req: Request) => Response,
  signal: AbortSignal,
): Deno.HttpServer<Deno.NetAddr> {
  try {
    return Deno.serve(
      { hostname: listen.hostname, port: listen.port, signal, onListen: () => {} },
      handler,
    );
  } catch (e) {
    throw new ListenError(
      `cannot listen on ${listen.hostname}:${listen.port} ("--listen"): ${errorText(e)}`,
    );
  }
}
