/**
 * Kubernetes adapter: kubeconfig and auth through client-node, the aws-node
 * pod list through client-node's CoreV1Api (paginated), and the scrapes
 * through one long-lived keep-alive `Deno.HttpClient` (DESIGN.md "Known
 * traps": client-node builds a new TLS agent per request).
 *
 * @module
 */

import * as k8s from "@kubernetes/client-node";
import { Buffer } from "node:buffer";
import { errorText } from "./errors.ts";

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
  /** Whether the pod is Running with an IP (others are listed, not scraped). */
  readonly running: boolean;
}

/** Lists the aws-node pods. */
export interface TargetLister {
  /**
   * @param signal aborts the listing
   * @returns every matching pod, all pages
   */
  list(signal: AbortSignal): Promise<Target[]>;
}

/** Reads one pod's metrics text. */
export interface Scraper {
  /**
   * Called once per cycle before the scrapes (refreshes short-lived tokens).
   *
   * @param signal aborts the refresh
   */
  prepare(signal: AbortSignal): Promise<void>;
  /**
   * @param target the pod
   * @param signal aborts the scrape (timeout or shutdown)
   * @returns the body
   * @throws {ScrapeError}
   */
  scrape(target: Target, signal: AbortSignal): Promise<string>;
  /** Closes connections. */
  close(): void;
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
   * @param kind failure class
   * @param message reason, naming the pod and what went wrong
   * @param status HTTP status, when known
   */
  constructor(kind: ScrapeFailure, message: string, status?: number) {
    super(message);
    this.name = "ScrapeError";
    this.kind = kind;
    this.status = status;
  }
}

/** A kubeconfig or API problem that stops the program (exit 1). */
export class KubeError extends Error {
  /**
   * @param message what is wrong, naming the file, context or resource
   */
  constructor(message: string) {
    super(message);
    this.name = "KubeError";
  }
}

/** Where the kubeconfig comes from. */
export interface KubeOptions {
  /** Kubeconfig files; empty: in-cluster when `inCluster`, else `homeConfig`. */
  readonly kubeconfig: readonly string[];
  /** Context to use; `undefined`: the current one. */
  readonly context: string | undefined;
  /** True when running in a pod (service-account token mounted, `KUBERNETES_SERVICE_HOST` set). */
  readonly inCluster: boolean;
  /** `~/.kube/config`, tried last. */
  readonly homeConfig: string | undefined;
  /** Prefix of the service-account paths (tests). @default "" */
  readonly inClusterRoot?: string;
  /** Namespace of the aws-node pods. */
  readonly namespace: string;
  /** Label selector. */
  readonly selector: string;
  /** aws-node metrics port. */
  readonly metricsPort: number;
  /** Page size of the pod list. @default 500 */
  readonly pageSize?: number;
  /** Largest body accepted from a pod, bytes. @default 16 MiB */
  readonly maxBodyBytes?: number;
}

/** The connected cluster: lister and scraper over one kubeconfig. */
export interface KubeClient extends TargetLister, Scraper {
  /** The loaded kubeconfig (for identity resolution: EKS cluster ARN and exec args). */
  readonly kubeConfig: k8s.KubeConfig;
  /** Where it came from, for the start-up log (never its content). */
  readonly describe: string;
}

/**
 * Loads the kubeconfig and builds the lister and scraper.
 *
 * @param opts where the kubeconfig is and what to scrape
 * @returns the client
 * @throws {KubeError} when no usable kubeconfig is found
 */
export async function connectKube(opts: KubeOptions): Promise<KubeClient> {
  const kc = new k8s.KubeConfig();
  const describe = loadKubeConfig(kc, opts);
  const cluster = kc.getCurrentCluster();
  if (cluster === null) {
    throw new KubeError(`${describe}: context ${kc.getCurrentContext()} names no cluster`);
  }
  if (cluster.skipTLSVerify) {
    throw new KubeError(
      `${describe}: cluster ${cluster.name} sets insecure-skip-tls-verify; give it its ` +
        `certificate-authority(-data) instead`,
    );
  }
  const tls: { ca?: unknown; cert?: unknown; key?: unknown } = {};
  try {
    await kc.applyToHTTPSOptions(tls as never);
  } catch (e) {
    throw new KubeError(`${describe}: cannot read TLS or credentials: ${errorText(e)}`);
  }
  const clientOpts: Deno.CreateHttpClientOptions & Partial<Deno.TlsCertifiedKeyPem> = {
    poolIdleTimeout: 90_000,
  };
  if (tls.ca !== undefined) clientOpts.caCerts = [String(tls.ca)];
  if (tls.cert !== undefined && tls.key !== undefined) {
    clientOpts.cert = String(tls.cert);
    clientOpts.key = String(tls.key);
  }
  const http = Deno.createHttpClient(clientOpts as Deno.CreateHttpClientOptions);
  return new KubeAdapter(kc, describe, cluster.server.replace(/\/+$/, ""), http, opts);
}

/**
 * Loads the kubeconfig only (no connection): for identity hints.
 *
 * @param opts where it is
 * @returns the kubeconfig and a description of where it came from
 * @throws {KubeError} when none is usable
 */
export function loadKubeconfigOnly(
  opts: Pick<KubeOptions, "kubeconfig" | "context" | "inCluster" | "homeConfig" | "inClusterRoot">,
): { kubeConfig: k8s.KubeConfig; describe: string } {
  const kc = new k8s.KubeConfig();
  return { kubeConfig: kc, describe: loadKubeConfig(kc, opts) };
}

function loadKubeConfig(
  kc: k8s.KubeConfig,
  opts: Pick<KubeOptions, "kubeconfig" | "context" | "inCluster" | "homeConfig" | "inClusterRoot">,
): string {
  let describe: string;
  const files = opts.kubeconfig.length > 0
    ? opts.kubeconfig
    : (!opts.inCluster && opts.homeConfig !== undefined ? [opts.homeConfig] : []);
  if (files.length > 0) {
    describe = `kubeconfig ${files.join(":")}`;
    files.forEach((file, i) => {
      const one = i === 0 ? kc : new k8s.KubeConfig();
      try {
        one.loadFromFile(file);
      } catch (e) {
        const msg = (e as { code?: string }).code === "ENOENT"
          ? "file not found"
          : (e as { name?: string }).name === "NotCapable"
          ? "not readable: this build may read only /var/run/secrets, ~/.kube and ~/.aws " +
            "(copy the file to ~/.kube/config)"
          : errorText(e).split("\n")[0];
        throw new KubeError(`kubeconfig ${file}: ${msg}`);
      }
      if (one !== kc) kc.mergeConfig(one);
    });
  } else if (opts.inCluster) {
    describe = "in-cluster service account";
    try {
      kc.loadFromCluster(opts.inClusterRoot ?? "");
    } catch (e) {
      throw new KubeError(`in-cluster config: ${errorText(e)}`);
    }
  } else {
    throw new KubeError(
      "no kubeconfig: not running in a pod and ~/.kube/config not found; " +
        "set --kubeconfig or KUBECONFIG",
    );
  }
  if (opts.context !== undefined) {
    const names = kc.getContexts().map((c) => c.name);
    if (!names.includes(opts.context)) {
      throw new KubeError(
        `"--context" ${JSON.stringify(opts.context)} is not in ${describe}: it has ${
          names.length === 0 ? "no contexts" : names.join(", ")
        }`,
      );
    }
    kc.setCurrentContext(opts.context);
  }
  if (kc.getCurrentContext() === "" || kc.getCurrentContext() === undefined) {
    throw new KubeError(`${describe} has no current context; pass --context`);
  }
  return `${describe} (context ${kc.getCurrentContext()})`;
}

class KubeAdapter implements KubeClient {
  readonly kubeConfig: k8s.KubeConfig;
  readonly describe: string;
  #server: string;
  #http: Deno.HttpClient;
  #opts: KubeOptions;
  #api: k8s.CoreV1Api;
  #headers: Record<string, string> = {};
  #listSignal: AbortSignal | undefined;

  constructor(
    kc: k8s.KubeConfig,
    describe: string,
    server: string,
    http: Deno.HttpClient,
    opts: KubeOptions,
  ) {
    this.kubeConfig = kc;
    this.describe = describe;
    this.#server = server;
    this.#http = http;
    this.#opts = opts;
    // client-node builds the requests, applies the kubeconfig's auth and
    // parses the answers; the transport is our one keep-alive Deno client.
    // (client-node's own undici transport negotiates HTTP/2 through
    // node:http2, which aborted the whole Deno process on a server GOAWAY.)
    this.#api = new k8s.CoreV1Api(k8s.createConfiguration({
      baseServer: new k8s.ServerConfiguration(server, {}),
      authMethods: { default: kc },
      httpApi: k8s.wrapHttpLibrary({ send: (req) => this.#send(req) }),
    }));
  }

  async #send(req: k8s.RequestContext): Promise<k8s.ResponseContext> {
    const body = req.getBody();
    const res = await fetch(req.getUrl(), {
      method: req.getHttpMethod().toString(),
      headers: req.getHeaders(),
      body: body === undefined ? null : body as BodyInit,
      signal: this.#listSignal ?? null,
      client: this.#http,
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

  async list(signal: AbortSignal): Promise<Target[]> {
    const out: Target[] = [];
    let cont: string | undefined = undefined;
    const { namespace, selector } = this.#opts;
    do {
      const req: k8s.CoreV1ApiListNamespacedPodRequest = {
        namespace,
        labelSelector: selector,
        limit: this.#opts.pageSize ?? 500,
      };
      if (cont !== undefined) req._continue = cont;
      let page: k8s.V1PodList;
      try {
        // client-node's API takes no signal: our transport (#send) applies it
        this.#listSignal = signal;
        page = await this.#api.listNamespacedPod(req);
      } catch (e) {
        throw new KubeError(
          `listing pods in ${namespace} with selector ${selector}: ${apiErrorText(e)}`,
        );
      }
      for (const pod of page.items) {
        const name = pod.metadata?.name ?? "";
        const ns = pod.metadata?.namespace ?? namespace;
        out.push({
          key: `${ns}/${name}/${pod.metadata?.uid ?? ""}`,
          name,
          namespace: ns,
          node: pod.spec?.nodeName ?? "",
          running: pod.status?.phase === "Running" && (pod.status?.podIP ?? "") !== "",
        });
      }
      cont = page.metadata?._continue || undefined;
    } while (cont !== undefined);
    return out;
  }

  async prepare(signal: AbortSignal): Promise<void> {
    const opts: { headers?: Record<string, string> } = { headers: {} };
    try {
      await abortable(this.kubeConfig.applyToHTTPSOptions(opts as never), signal);
    } catch (e) {
      throw new KubeError(`${this.describe}: getting credentials failed: ${errorText(e)}`);
    }
    const headers: Record<string, string> = { ...opts.headers, Accept: "text/plain" };
    const user = this.kubeConfig.getCurrentUser();
    if (user?.username) {
      headers["Authorization"] = `Basic ${btoa(`${user.username}:${user.password ?? ""}`)}`;
    }
    this.#headers = headers;
  }

  async scrape(target: Target, signal: AbortSignal): Promise<string> {
    const path = `/api/v1/namespaces/${encodeURIComponent(target.namespace)}/pods/${
      encodeURIComponent(target.name)
    }:${this.#opts.metricsPort}/proxy/metrics`;
    let res: Response;
    try {
      res = await fetch(this.#server + path, {
        headers: this.#headers,
        client: this.#http,
        signal,
      });
    } catch (e) {
      throw fetchFailure(e, signal);
    }
    let body: string;
    try {
      body = await readLimited(res, this.#opts.maxBodyBytes ?? 16 * 1024 * 1024);
    } catch (e) {
      if (e instanceof ScrapeError) throw e;
      throw fetchFailure(e, signal);
    }
    if (res.status !== 200) {
      throw new ScrapeError("http", httpFailureText(res.status, body), res.status);
    }
    return body;
  }

  close(): void {
    this.#http.close();
  }
}

async function readLimited(res: Response, max: number): Promise<string> {
  const len = Number(res.headers.get("content-length") ?? "0");
  if (len > max) {
    await res.body?.cancel();
    throw new ScrapeError("http", `body of ${len} bytes is over the ${max}-byte limit`);
  }
  if (res.body === null) return "";
  const reader = res.body.getReader();
  const chunks: Uint8Array[] = [];
  let total = 0;
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
  const all = new Uint8Array(total);
  let off = 0;
  for (const c of chunks) {
    all.set(c, off);
    off += c.byteLength;
  }
  return new TextDecoder().decode(all);
}

/** The API server's 503 when it cannot reach a pod's port (upstream #1912, #2091). */
const UNREACHABLE_HINT = "the API server could not reach the pod's port: allow inbound tcp/61678 " +
  "from the cluster security group to the nodes";

function httpFailureText(status: number, body: string): string {
  let message = body.trim().slice(0, 300);
  try {
    const st = JSON.parse(body) as { kind?: string; message?: string };
    if (st.kind === "Status" && typeof st.message === "string") message = st.message;
  } catch {
    // not a Status object: keep the text
  }
  const base = `HTTP ${status}${message ? `: ${message}` : ""}`;
  return status === 503 ? `${base} (${UNREACHABLE_HINT})` : base;
}

function fetchFailure(e: unknown, signal: AbortSignal): ScrapeError {
  const reason = signal.reason as { name?: string } | undefined;
  if (signal.aborted && reason?.name === "TimeoutError") {
    return new ScrapeError("timeout", "timed out");
  }
  if (signal.aborted) return new ScrapeError("aborted", "aborted: shutting down");
  return new ScrapeError("network", `cannot reach the API server: ${errorText(e)}`);
}

/**
 * Rejects when `signal` aborts, without waiting for `p` (client-node takes
 * no signal).
 */
function abortable<T>(p: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) return Promise.reject(signal.reason);
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(signal.reason);
    signal.addEventListener("abort", onAbort, { once: true });
    p.then(resolve, reject).finally(() => signal.removeEventListener("abort", onAbort));
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
