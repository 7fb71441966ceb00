/**
 * An in-process HTTPS fake of the Kubernetes API server, with its own CA and
 * a bearer token: pod list (label selector, limit/continue) and the pod
 * proxy `.../pods/<name>:<port>/proxy/metrics`. Each pod's answer is set by
 * the test or by the simulator.
 *
 * @module
 */

/** What a pod's metrics endpoint does. */
export type PodBehaviour =
  | { readonly kind: "text"; readonly body: () => string }
  | { readonly kind: "unreachable" }
  | { readonly kind: "hang" }
  | { readonly kind: "status"; readonly status: number; readonly body: string };

/** One fake pod. */
export interface FakePod {
  name: string;
  namespace: string;
  uid: string;
  node: string;
  labels: Record<string, string>;
  phase: string;
  podIP: string;
  behaviour: PodBehaviour;
}

const CERT_DIR = new URL("./certs/", import.meta.url);

/** Reads a file of `tools/certs/`. */
export function certFile(name: string): string {
  return Deno.readTextFileSync(new URL(name, CERT_DIR));
}

/** The fake API server. */
export class FakeApiServer {
  /** Pods by name (in listing order). */
  readonly pods: Map<string, FakePod> = new Map();
  /** Bearer token it accepts. */
  readonly token: string;
  /** Counts of requests by kind. */
  readonly counts = { list: 0, proxy: 0, unauthorized: 0 };
  /** Proxy paths asked for, in order. */
  readonly proxyPaths: string[] = [];
  #server: Deno.HttpServer<Deno.NetAddr>;
  #hung = new Set<() => void>();
  #hangWaiters: { n: number; resolve: () => void }[] = [];
  #hangsTotal = 0;
  #uid = 0;

  private constructor(server: Deno.HttpServer<Deno.NetAddr>, token: string) {
    this.#server = server;
    this.token = token;
  }

  /**
   * Starts on 127.0.0.1, a free port.
   *
   * @param token the bearer token to accept
   * @returns the running server
   */
  static start(token = "test-token-do-not-log"): FakeApiServer {
    const box: { self?: FakeApiServer } = {};
    const server = Deno.serve(
      {
        hostname: "127.0.0.1",
        port: 0,
        cert: certFile("server.crt"),
        key: certFile("server.key"),
        onListen: () => {},
      },
      (req) => (box.self as FakeApiServer).#handle(req),
    );
    box.self = new FakeApiServer(server, token);
    return box.self;
  }

  /** `https://127.0.0.1:<port>` */
  get url(): string {
    return `https://127.0.0.1:${this.#server.addr.port}`;
  }

  /**
   * Adds (or replaces) a pod with the aws-node label.
   *
   * @param name pod name
   * @param behaviour what its endpoint does
   * @param extra other fields
   * @returns the pod
   */
  addPod(name: string, behaviour: PodBehaviour, extra: Partial<FakePod> = {}): FakePod {
    const pod: FakePod = {
      name,
      namespace: "kube-system",
      uid: `uid-${++this.#uid}`,
      node: `node-${name}`,
      labels: { "k8s-app": "aws-node" },
      phase: "Running",
      podIP: `10.200.${(this.#uid >> 8) & 255}.${this.#uid & 255}`,
      behaviour,
      ...extra,
    };
    this.pods.set(name, pod);
    return pod;
  }

  /**
   * Sets a pod's body to fixed text.
   *
   * @param name pod name
   * @param text the body
   * @param extra other fields
   * @returns the pod
   */
  textPod(name: string, text: string, extra: Partial<FakePod> = {}): FakePod {
    return this.addPod(name, { kind: "text", body: () => text }, extra);
  }

  /**
   * Writes a kubeconfig for this server: CA data and the token only.
   *
   * @param path where
   * @param opts context name, cluster name, user exec block
   */
  writeKubeconfig(
    path: string,
    opts: {
      context?: string;
      cluster?: string;
      token?: string;
      ca?: string;
      exec?: { command: string; args: string[] };
    } = {},
  ): void {
    const user = opts.exec === undefined ? [`    token: ${opts.token ?? this.token}`] : [
      "    exec:",
      "      apiVersion: client.authentication.k8s.io/v1beta1",
      `      command: ${opts.exec.command}`,
      `      args: ${JSON.stringify(opts.exec.args)}`,
      "      interactiveMode: Never",
    ];
    const ca = btoa(opts.ca ?? certFile("ca.crt"));
    const cluster = opts.cluster ?? "fake";
    const context = opts.context ?? "fake";
    Deno.writeTextFileSync(
      path,
      [
        "apiVersion: v1",
        "kind: Config",
        "clusters:",
        `- name: ${JSON.stringify(cluster)}`,
        "  cluster:",
        `    server: ${this.url}`,
        `    certificate-authority-data: ${ca}`,
        "users:",
        "- name: fake-user",
        "  user:",
        ...user,
        "contexts:",
        `- name: ${JSON.stringify(context)}`,
        "  context:",
        `    cluster: ${JSON.stringify(cluster)}`,
        "    user: fake-user",
        `current-context: ${JSON.stringify(context)}`,
        "",
      ].join("\n"),
    );
  }

  /**
   * Resolves once `n` requests to "hang" pods have arrived since the start
   * (counting those already released).
   *
   * @param n how many in total
   */
  hanging(n: number): Promise<void> {
    if (this.#hangsTotal >= n) return Promise.resolve();
    return new Promise((resolve) => this.#hangWaiters.push({ n, resolve }));
  }

  /** Stops the server and releases hung requests. */
  async close(): Promise<void> {
    for (const release of this.#hung) release();
    await this.#server.shutdown();
  }

  async #handle(req: Request): Promise<Response> {
    if (req.headers.get("authorization") !== `Bearer ${this.token}`) {
      this.counts.unauthorized++;
      return status(401, "Unauthorized", "Unauthorized");
    }
    const url = new URL(req.url);
    const list = /^\/api\/v1\/namespaces\/([^/]+)\/pods$/.exec(url.pathname);
    if (list && req.method === "GET") return this.#list(list[1] as string, url);
    const proxy = /^\/api\/v1\/namespaces\/([^/]+)\/pods\/([^/:]+):(\d+)\/proxy\/metrics$/.exec(
      url.pathname,
    );
    if (proxy && req.method === "GET") {
      this.counts.proxy++;
      this.proxyPaths.push(url.pathname);
      return await this.#proxy(proxy[1] as string, proxy[2] as string, req);
    }
    return status(404, "NotFound", `the server could not find the requested resource`);
  }

  #list(namespace: string, url: URL): Response {
    this.counts.list++;
    const selector = url.searchParams.get("labelSelector") ?? "";
    const wanted = selector.split(",").filter((s) => s !== "").map((s) => s.split("="));
    const matching = [...this.pods.values()].filter((p) =>
      p.namespace === namespace && wanted.every(([k, v]) => p.labels[k as string] === v)
    );
    const limit = Number(url.searchParams.get("limit") ?? "0") || matching.length;
    const start = Number(url.searchParams.get("continue") ?? "0");
    const page = matching.slice(start, start + limit);
    const next = start + limit < matching.length ? String(start + limit) : undefined;
    return Response.json({
      kind: "PodList",
      apiVersion: "v1",
      metadata: { resourceVersion: "1", ...(next ? { continue: next } : {}) },
      items: page.map((p) => ({
        metadata: { name: p.name, namespace: p.namespace, uid: p.uid, labels: p.labels },
        spec: { nodeName: p.node, containers: [{ name: "aws-node", image: "aws-node" }] },
        status: { phase: p.phase, podIP: p.podIP },
      })),
    });
  }

  async #proxy(namespace: string, name: string, req: Request): Promise<Response> {
    const pod = this.pods.get(name);
    if (pod === undefined || pod.namespace !== namespace) {
      return status(404, "NotFound", `pods "${name}" not found`);
    }
    const b = pod.behaviour;
    switch (b.kind) {
      case "text":
        return new Response(b.body(), {
          headers: { "content-type": "text/plain; version=0.0.4; charset=utf-8" },
        });
      case "unreachable":
        return status(
          503,
          "ServiceUnavailable",
          `error trying to reach service: dial tcp ${pod.podIP}:61678: connect: connection refused`,
        );
      case "status":
        return new Response(b.body, { status: b.status });
      case "hang":
        await new Promise<void>((resolve) => {
          const release = () => {
            this.#hung.delete(release);
            resolve();
          };
          this.#hung.add(release);
          req.signal.addEventListener("abort", release, { once: true });
          this.#hangsTotal++;
          for (const w of this.#hangWaiters.filter((w) => this.#hangsTotal >= w.n)) {
            this.#hangWaiters.splice(this.#hangWaiters.indexOf(w), 1);
            w.resolve();
          }
        });
        return new Response("too late", { status: 504 });
    }
  }
}

function status(code: number, reason: string, message: string): Response {
  return Response.json(
    { kind: "Status", apiVersion: "v1", status: "Failure", message, reason, code },
    { status: code },
  );
}
