/**
 * The pod source: the aws-node pods of the cluster, listed page by page
 * through client-node's `CoreV1Api` (request building, auth, decoding) over
 * the connection's own keep-alive transport. The abort signal of a listing
 * goes to that transport as an argument of the call.
 *
 * @module
 */

import * as k8s from "@kubernetes/client-node";
import { Buffer } from "node:buffer";
import { errorText } from "./errors.ts";
import { type KubeConnection, KubeError } from "./kubeconfig.ts";

/** A pod to scrape. */
export interface Target {
  /** Stable key: namespace/name/uid (a replaced pod is a new target). */
  readonly key: string;
  /** Pod name. */
  readonly name: string;
  /** Pod namespace. */
  readonly namespace: string;
  /** Node the pod runs on, for logs. */
  readonly node: string;
  /** The pod's IP (aws-node is host-network: the node's IP); `""` before it has one. */
  readonly podIP: string;
  /** Whether the pod is Running with an IP (others are listed, not scraped). */
  readonly running: boolean;
}

/** Lists the aws-node pods. */
export interface TargetLister {
  /**
   * @param signal aborts the listing
   * @returns every matching pod, all pages
   * @throws {KubeError} naming the namespace, selector and the API server's answer
   */
  list(signal: AbortSignal): Promise<Target[]>;
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

/** Lists pods through the API server, all pages per call. */
export class ApiPodLister implements TargetLister {
  readonly #conn: KubeConnection;
  readonly #query: PodQuery;

  /**
   * @param conn the API server connection
   * @param query namespace, selector, page size
   */
  constructor(conn: KubeConnection, query: PodQuery) {
    this.#conn = conn;
    this.#query = query;
  }

  async list(signal: AbortSignal): Promise<Target[]> {
    const api = this.#api(signal);
    const out: Target[] = [];
    let cont: string | undefined = undefined;
    const { namespace, selector } = this.#query;
    do {
      const req: k8s.CoreV1ApiListNamespacedPodRequest = {
        namespace,
        labelSelector: selector,
        limit: this.#query.pageSize ?? 500,
      };
      if (cont !== undefined) req._continue = cont;
      let page: k8s.V1PodList;
      try {
        page = await api.listNamespacedPod(req);
      } catch (e) {
        throw new KubeError(
          `listing pods in ${namespace} with selector ${selector}: ${apiErrorText(e)}`,
        );
      }
      for (const pod of page.items) out.push(toTarget(pod, namespace));
      cont = page.metadata?._continue || undefined;
    } while (cont !== undefined);
    return out;
  }

  /** A client-node API whose every request goes out on our transport with `signal`. */
  #api(signal: AbortSignal): k8s.CoreV1Api {
    const conn = this.#conn;
    return new k8s.CoreV1Api(k8s.createConfiguration({
      baseServer: new k8s.ServerConfiguration(conn.server, {}),
      authMethods: { default: conn.kubeConfig },
      httpApi: k8s.wrapHttpLibrary({ send: (req) => send(conn.http, req, signal) }),
    }));
  }
}

function toTarget(pod: k8s.V1Pod, namespace: string): Target {
  const name = pod.metadata?.name ?? "";
  const ns = pod.metadata?.namespace ?? namespace;
  return {
    key: `${ns}/${name}/${pod.metadata?.uid ?? ""}`,
    name,
    namespace: ns,
    node: pod.spec?.nodeName ?? "",
    podIP: pod.status?.podIP ?? "",
    running: pod.status?.phase === "Running" && (pod.status?.podIP ?? "") !== "",
  };
}

async function send(
  http: Deno.HttpClient,
  req: k8s.RequestContext,
  signal: AbortSignal,
): Promise<k8s.ResponseContext> {
  const body = req.getBody();
  const res = await fetch(req.getUrl(), {
    method: req.getHttpMethod().toString(),
    headers: req.getHeaders(),
    body: body === undefined ? null : body as BodyInit,
    signal,
    client: http,
  });
  const headers: Record<string, string> = {};
  res.headers.forEach((v, k) => headers[k] = v);
  const bytes = new Uint8Array(await res.arrayBuffer());
  return new k8s.ResponseContext(res.status, headers, {
    text: () => Promise.resolve(new TextDecoder().decode(bytes)),
    binary: () => Promise.resolve(Buffer.from(bytes)),
    stream: () => new Blob([bytes]).stream() as never,
  });
}

function apiErrorText(e: unknown): string {
  const err = e as { code?: number; body?: unknown; name?: string };
  if (err?.name === "TimeoutError") return "timed out";
  if (typeof err?.code === "number") {
    let message = "";
    try {
      const st = typeof err.body === "string" ? JSON.parse(err.body) : err.body;
      message = (st as { message?: string })?.message ?? "";
    } catch {
      message = String(err.body).slice(0, 300);
    }
    return `HTTP ${err.code}${message ? `: ${message}` : ""}`;
  }
  return errorText(e);
}
