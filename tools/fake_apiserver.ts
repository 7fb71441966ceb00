/**
 * An in-process HTTPS fake of the Kubernetes API server, with its own CA and
 * a bearer token: pod list (label selector, limit/continue, a
 * resourceVersion), pod watch (events after a resourceVersion, bookmarks,
 * `410 Gone` for a version older than its event window, streams it can cut)
 * and the pod proxy `.../pods/<name>:<port>/proxy/metrics`. Pod objects are
 * as large as a real aws-node pod's (two containers, an init container, the
 * full env list, volumes, managed fields: ~10 KB of JSON). Each pod's answer
 * is set by the test or by the simulator.
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
  /** The aws-node container's env beside the upstream defaults (a value replaces theirs). */
  env?: Record<string, string>;
}

const CERT_DIR = new URL("./certs/", import.meta.url);

/** Reads a file of `tools/certs/`. */
export function certFile(name: string): string {
  return Deno.readTextFileSync(new URL(name, CERT_DIR));
}

interface PodEvent {
  readonly type: "ADDED" | "MODIFIED" | "DELETED";
  readonly rv: number;
  readonly pod: FakePod;
}

interface Watcher {
  readonly namespace: string;
  readonly selector: string[][];
  readonly send: (line: string) => void;
  readonly close: () => void;
}

/** Events kept for watches that resume; older versions get `410 Gone`. */
const EVENT_WINDOW = 1000;

/** The fake API server. */
export class FakeApiServer {
  readonly #pods: Map<string, FakePod> = new Map();
  /** Bearer token it accepts. */
  readonly token: string;
  /** Counts of requests by kind. */
  readonly counts = { list: 0, watch: 0, proxy: 0, unauthorized: 0 };
  /** Bytes of pod list and watch bodies sent. */
  listBytes = 0;
  /** While true, watch requests get HTTP 503. */
  failWatches = false;
  /** While true, list requests never answer (until the client gives up). */
  hangLists = false;
  #rv = 1;
  #events: PodEvent[] = [];
  #watchers = new Set<Watcher>();
  #watchWaiters: { n: number; resolve: () => void }[] = [];
  #listWaiters: { n: number; resolve: () => void }[] = [];
  #listsHung = 0;
  /** Every request that arrived, in order: method and URL path with its query. */
  readonly requests: { readonly method: string; readonly url: string }[] = [];
  /** Proxy paths asked for, in order. */
  readonly proxyPaths: string[] = [];
  /** Node name → `spec.providerID` (GET /api/v1/nodes, 2 a page when paged). */
  readonly nodes = new Map<string, string>();
  /** Node name → its labels (zone, node group, instance type); set with `labelNode`. */
  readonly nodeLabels = new Map<string, Record<string, string>>();
  #nodeWatchers = new Set<(line: string) => void>();
  #nodeCloses = new Set<() => void>();
  /** ENIConfig name → `spec.subnet`; `undefined`: the CRD is not installed (404). */
  eniConfigs: Map<string, string> | undefined = undefined;
  /** Collections that answer 403 as RBAC would (`nodes`, `eniconfigs`). */
  readonly forbidden = new Set<string>();
  /** Leases by `namespace/name`, with a resourceVersion each write bumps. */
  readonly leases = new Map<string, { rv: number; spec: Record<string, unknown> }>();
  /** Lease requests answer 503 (an API server outage, for leases only). */
  leasesDown = false;
  /** Lease requests seen (`GET ns/name`, `PUT ns/name`, `POST ns`). */
  readonly leaseRequests: string[] = [];
  #leaseRv = 100;
  #server: Deno.HttpServer<Deno.NetAddr>;
  #hung = new Set<() => void>();
  #hangWaiters: { n: number; resolve: () => void }[] = [];
  #hangsTotal = 0;
  #uid = 0;

  readonly #tls: boolean;

  private constructor(server: Deno.HttpServer<Deno.NetAddr>, token: string, tls: boolean) {
    this.#tls = tls;
    this.#server = server;
    this.token = token;
  }

  /**
   * Starts on 127.0.0.1, a free port.
   *
   * @param token the bearer token to accept
   * @param opts `tls: false` serves plain HTTP, for a TLS terminator in front
   *   (`tls_front.ts`: `Deno.serve`'s own TLS stalls small answers ~44 ms) @default tls on
   * @returns the running server
   */
  static start(token = "test-token-do-not-log", opts: { tls?: boolean } = {}): FakeApiServer {
    const box: { self?: FakeApiServer } = {};
    const tls = opts.tls ?? true;
    const listen = { hostname: "127.0.0.1", port: 0, onListen: () => {} };
    const handler = (req: Request) => (box.self as FakeApiServer).#handle(req);
    const server = tls
      ? Deno.serve(
        { ...listen, cert: certFile("server.crt"), key: certFile("server.key") },
        handler,
      )
      : Deno.serve(listen, handler);
    box.self = new FakeApiServer(server, token, tls);
    return box.self;
  }

  /** `https://127.0.0.1:<port>` (`http://` without TLS) */
  get url(): string {
    return `${this.#tls ? "https" : "http"}://127.0.0.1:${this.#server.addr.port}`;
  }

  /** The port it listens on. */
  get port(): number {
    return this.#server.addr.port;
  }

  /** Pods by name (in listing order); change them with addPod, removePod, updatePod. */
  get pods(): ReadonlyMap<string, FakePod> {
    return this.#pods;
  }

  /** The current resourceVersion. */
  get resourceVersion(): number {
    return this.#rv;
  }

  /** Watch streams open now. */
  get openWatches(): number {
    return this.#watchers.size;
  }

  #event(type: PodEvent["type"], pod: FakePod): void {
    const ev = { type, rv: ++this.#rv, pod: { ...pod } };
    this.#events.push(ev);
    if (this.#events.length > EVENT_WINDOW) this.#events.shift();
    for (const w of this.#watchers) {
      if (matches(pod, w.namespace, w.selector)) w.send(eventLine(ev));
    }
  }

  /**
   * Removes a pod (a DELETED event).
   *
   * @param name pod name
   */
  removePod(name: string): void {
    const pod = this.#pods.get(name);
    if (pod === undefined) return;
    this.#pods.delete(name);
    this.#event("DELETED", pod);
  }

  /**
   * Changes a pod's fields (a MODIFIED event).
   *
   * @param name pod name
   * @param patch the fields to change
   */
  updatePod(name: string, patch: Partial<FakePod>): void {
    const pod = this.#pods.get(name);
    if (pod === undefined) throw new Error(`no pod ${name}`);
    Object.assign(pod, patch);
    this.#event("MODIFIED", pod);
  }

  /**
   * Resolves once `n` watch requests have arrived since the start.
   *
   * @param n how many in total
   */
  watched(n: number): Promise<void> {
    if (this.counts.watch >= n) return Promise.resolve();
    return new Promise((resolve) => this.#watchWaiters.push({ n, resolve }));
  }

  /**
   * Resolves once `n` list requests have been held by `hangLists` since the start.
   *
   * @param n how many in total
   */
  listsHanging(n: number): Promise<void> {
    if (this.#listsHung >= n) return Promise.resolve();
    return new Promise((resolve) => this.#listWaiters.push({ n, resolve }));
  }

  /** Sends a BOOKMARK with the current resourceVersion on every open watch. */
  bookmark(): void {
    const line = JSON.stringify({
      type: "BOOKMARK",
      object: { kind: "Pod", apiVersion: "v1", metadata: { resourceVersion: String(this.#rv) } },
    }) + "\n";
    for (const w of this.#watchers) w.send(line);
  }

  /** Ends every open watch stream (as an API server restart does). */
  cutWatches(): void {
    for (const w of [...this.#watchers]) w.close();
    for (const c of [...this.#nodeCloses]) c();
  }

  /**
   * Sets a node's labels (adding the node, with no providerID, if it is new)
   * and tells every open node watch (MODIFIED), as a relabel does.
   *
   * @param name the node
   * @param labels its labels now
   */
  labelNode(name: string, labels: Record<string, string>): void {
    if (!this.nodes.has(name)) this.nodes.set(name, "");
    this.nodeLabels.set(name, labels);
    const line = JSON.stringify({ type: "MODIFIED", object: this.#nodeObject(name) }) + "\n";
    for (const send of this.#nodeWatchers) send(line);
  }

  #nodeObject(name: string): unknown {
    return {
      metadata: {
        name,
        labels: this.nodeLabels.get(name) ?? {},
        resourceVersion: String(this.#rv),
      },
      spec: { providerID: this.nodes.get(name) ?? "" },
    };
  }

  /** A node watch: open until the server closes, with an event for each `labelNode`. */
  #watchNodes(): Response {
    const enc = new TextEncoder();
    let send: ((line: string) => void) | undefined;
    let close: (() => void) | undefined;
    const body = new ReadableStream<Uint8Array>({
      start: (ctl) => {
        send = (line) => ctl.enqueue(enc.encode(line));
        close = () => {
          this.#nodeWatchers.delete(send as (line: string) => void);
          this.#nodeCloses.delete(close as () => void);
          try {
            ctl.close();
          } catch {
            // already closed by the client
          }
        };
        this.#nodeWatchers.add(send);
        this.#nodeCloses.add(close);
      },
      cancel: () => {
        this.#nodeWatchers.delete(send as (line: string) => void);
        this.#nodeCloses.delete(close as () => void);
      },
    });
    return new Response(body, { headers: { "content-type": "application/json" } });
  }

  /** Forgets the event history: a watch from any older version gets `410 Gone`. */
  compact(): void {
    this.#events = [];
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
    const replaced = this.#pods.get(name);
    if (replaced !== undefined) this.#event("DELETED", replaced);
    this.#pods.set(name, pod);
    this.#event("ADDED", pod);
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
      /** the server address @default this server's url */
      server?: string;
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
        `    server: ${opts.server ?? this.url}`,
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

  /** Stops the server and releases hung requests and watches. */
  async close(): Promise<void> {
    for (const release of this.#hung) release();
    this.cutWatches();
    await this.#server.shutdown();
  }

  async #handle(req: Request): Promise<Response> {
    const u = new URL(req.url);
    this.requests.push({ method: req.method, url: u.pathname + u.search });
    if (req.headers.get("authorization") !== `Bearer ${this.token}`) {
      this.counts.unauthorized++;
      return status(401, "Unauthorized", "Unauthorized");
    }
    const url = new URL(req.url);
    const list = /^\/api\/v1\/namespaces\/([^/]+)\/pods$/.exec(url.pathname);
    if (list && req.method === "GET") {
      const watch = url.searchParams.get("watch");
      if (watch === "1" || watch === "true") return this.#watch(list[1] as string, url);
      if (this.hangLists) {
        this.#listsHung++;
        for (const w of this.#listWaiters.filter((w) => this.#listsHung >= w.n)) {
          this.#listWaiters.splice(this.#listWaiters.indexOf(w), 1);
          w.resolve();
        }
        await new Promise<void>((resolve) => {
          this.#hung.add(resolve);
          req.signal.addEventListener("abort", () => {
            this.#hung.delete(resolve);
            resolve();
          }, { once: true });
        });
        return status(504, "Timeout", "too late");
      }
      return this.#list(list[1] as string, url);
    }
    const lease = /^\/apis\/coordination\.k8s\.io\/v1\/namespaces\/([^/]+)\/leases(?:\/([^/]+))?$/
      .exec(url.pathname);
    if (lease) return await this.#lease(req, lease[1] as string, lease[2]);
    if (url.pathname === "/api/v1/nodes" && req.method === "GET") {
      const watch = url.searchParams.get("watch");
      if (this.forbidden.has("nodes")) {
        return forbidden(watch === "1" ? "watch" : "list", "nodes", "");
      }
      if (watch === "1" || watch === "true") return this.#watchNodes();
      return paged(url, "NodeList", [...this.nodes.keys()].map((name) => this.#nodeObject(name)));
    }
    if (
      url.pathname === "/apis/crd.k8s.amazonaws.com/v1alpha1/eniconfigs" && req.method === "GET"
    ) {
      if (this.eniConfigs === undefined) {
        return status(404, "NotFound", "the server could not find the requested resource");
      }
      if (this.forbidden.has("eniconfigs")) {
        return forbidden("list", "eniconfigs", "crd.k8s.amazonaws.com");
      }
      return paged(
        url,
        "ENIConfigList",
        [...this.eniConfigs].map(([name, subnet]) => ({
          metadata: { name },
          spec: { subnet, securityGroups: [] },
        })),
      );
    }
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

  async #lease(req: Request, ns: string, name: string | undefined): Promise<Response> {
    this.leaseRequests.push(`${req.method} ${ns}${name ? `/${name}` : ""}`);
    if (this.leasesDown) return status(503, "ServiceUnavailable", "the lease store is down (test)");
    const object = (key: string) => {
      const l = this.leases.get(key) as { rv: number; spec: Record<string, unknown> };
      const [lns, lname] = key.split("/");
      return {
        apiVersion: "coordination.k8s.io/v1",
        kind: "Lease",
        metadata: { name: lname, namespace: lns, resourceVersion: String(l.rv) },
        spec: l.spec,
      };
    };
    if (req.method === "GET" && name !== undefined) {
      const key = `${ns}/${name}`;
      if (!this.leases.has(key)) return status(404, "NotFound", `leases "${name}" not found`);
      return Response.json(object(key));
    }
    const body = await req.json() as {
      metadata?: { name?: string; resourceVersion?: string };
      spec?: Record<string, unknown>;
    };
    if (req.method === "POST" && name === undefined) {
      const key = `${ns}/${body.metadata?.name}`;
      if (this.leases.has(key)) {
        return status(409, "AlreadyExists", `leases "${body.metadata?.name}" already exists`);
      }
      this.leases.set(key, { rv: ++this.#leaseRv, spec: body.spec ?? {} });
      return Response.json(object(key), { status: 201 });
    }
    if (req.method === "PUT" && name !== undefined) {
      const key = `${ns}/${name}`;
      const l = this.leases.get(key);
      if (l === undefined) return status(404, "NotFound", `leases "${name}" not found`);
      if (body.metadata?.resourceVersion !== String(l.rv)) {
        return status(
          409,
          "Conflict",
          `Operation cannot be fulfilled on leases.coordination.k8s.io "${name}": the object has ` +
            `been modified; please apply your changes to the latest version and try again`,
        );
      }
      this.leases.set(key, { rv: ++this.#leaseRv, spec: body.spec ?? {} });
      return Response.json(object(key));
    }
    return status(405, "MethodNotAllowed", `${req.method} is not allowed here`);
  }

  #list(namespace: string, url: URL): Response {
    this.counts.list++;
    const wanted = parseSelector(url.searchParams.get("labelSelector") ?? "");
    const matching = [...this.#pods.values()].filter((p) => matches(p, namespace, wanted));
    const limit = Number(url.searchParams.get("limit") ?? "0") || matching.length;
    const start = Number(url.searchParams.get("continue") ?? "0");
    const page = matching.slice(start, start + limit);
    const next = start + limit < matching.length ? String(start + limit) : undefined;
    const rv = String(this.#rv);
    const body = `{"kind":"PodList","apiVersion":"v1","metadata":${
      JSON.stringify({ resourceVersion: rv, ...(next ? { continue: next } : {}) })
    },"items":[${page.map((p) => JSON.stringify(podObject(p, rv))).join(",")}]}`;
    this.listBytes += body.length;
    return new Response(body, { headers: { "content-type": "application/json" } });
  }

  #watch(namespace: string, url: URL): Response {
    this.counts.watch++;
    for (const w of this.#watchWaiters.filter((w) => this.counts.watch >= w.n)) {
      this.#watchWaiters.splice(this.#watchWaiters.indexOf(w), 1);
      w.resolve();
    }
    if (this.failWatches) {
      return status(503, "ServiceUnavailable", "the watch cache is not ready (test)");
    }
    const from = Number(url.searchParams.get("resourceVersion") ?? "0");
    const oldest = this.#events[0]?.rv ?? this.#rv + 1;
    const selector = parseSelector(url.searchParams.get("labelSelector") ?? "");
    const enc = new TextEncoder();
    if (from < oldest - 1) {
      const gone = JSON.stringify({
        type: "ERROR",
        object: {
          kind: "Status",
          apiVersion: "v1",
          status: "Failure",
          message: `too old resource version: ${from} (${oldest - 1})`,
          reason: "Expired",
          code: 410,
        },
      }) + "\n";
      return new Response(gone, { headers: { "content-type": "application/json" } });
    }
    let watcher: Watcher | undefined;
    const body = new ReadableStream<Uint8Array>({
      start: (ctl) => {
        const send = (line: string) => {
          this.listBytes += line.length;
          ctl.enqueue(enc.encode(line));
        };
        for (const ev of this.#events) {
          if (ev.rv > from && matches(ev.pod, namespace, selector)) send(eventLine(ev));
        }
        watcher = {
          namespace,
          selector,
          send,
          close: () => {
            this.#watchers.delete(watcher as Watcher);
            try {
              ctl.close();
            } catch {
              // already closed by the client
            }
          },
        };
        this.#watchers.add(watcher);
      },
      cancel: () => void this.#watchers.delete(watcher as Watcher),
    });
    return new Response(body, { headers: { "content-type": "application/json" } });
  }

  async #proxy(namespace: string, name: string, req: Request): Promise<Response> {
    const pod = this.#pods.get(name);
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

function parseSelector(selector: string): string[][] {
  return selector.split(",").filter((s) => s !== "").map((s) => s.split("="));
}

function matches(p: FakePod, namespace: string, selector: string[][]): boolean {
  return p.namespace === namespace && selector.every(([k, v]) => p.labels[k as string] === v);
}

function eventLine(ev: PodEvent): string {
  return JSON.stringify({ type: ev.type, object: podObject(ev.pod, String(ev.rv)) }) + "\n";
}

const AWS_NODE_ENV: [string, string][] = [
  ["ADDITIONAL_ENI_TAGS", "{}"],
  ["ANNOTATE_POD_IP", "false"],
  ["AWS_VPC_CNI_NODE_PORT_SUPPORT", "true"],
  ["AWS_VPC_ENI_MTU", "9001"],
  ["AWS_VPC_K8S_CNI_CUSTOM_NETWORK_CFG", "false"],
  ["AWS_VPC_K8S_CNI_EXTERNALSNAT", "false"],
  ["AWS_VPC_K8S_CNI_LOGLEVEL", "DEBUG"],
  ["AWS_VPC_K8S_CNI_LOG_FILE", "/host/var/log/aws-routed-eni/ipamd.log"],
  ["AWS_VPC_K8S_CNI_RANDOMIZESNAT", "prng"],
  ["AWS_VPC_K8S_CNI_VETHPREFIX", "eni"],
  ["AWS_VPC_K8S_PLUGIN_LOG_FILE", "/var/log/aws-routed-eni/plugin.log"],
  ["AWS_VPC_K8S_PLUGIN_LOG_LEVEL", "DEBUG"],
  ["CLUSTER_NAME", "prod"],
  ["DISABLE_INTROSPECTION", "false"],
  ["DISABLE_METRICS", "false"],
  ["DISABLE_NETWORK_RESOURCE_PROVISIONING", "false"],
  ["ENABLE_IPv4", "true"],
  ["ENABLE_IPv6", "false"],
  ["ENABLE_POD_ENI", "false"],
  ["ENABLE_PREFIX_DELEGATION", "false"],
  ["ENABLE_SUBNET_DISCOVERY", "true"],
  ["NETWORK_POLICY_ENFORCING_MODE", "standard"],
  ["VPC_CNI_VERSION", "v1.19.2"],
  ["VPC_ID", "vpc-0a1b2c3d4e5f60718"],
  ["WARM_ENI_TARGET", "1"],
  ["WARM_PREFIX_TARGET", "1"],
];

/**
 * A pod object the size and shape of a real aws-node pod (the upstream
 * DaemonSet's pod spec and a running pod's status).
 */
function podObject(p: FakePod, rv: string): unknown {
  const own = p.env ?? {};
  const env = [
    ...AWS_NODE_ENV.filter(([name]) => own[name] === undefined).map(([name, value]) => ({
      name,
      value,
    })),
    ...Object.entries(own).map(([name, value]) => ({ name, value })),
    {
      name: "MY_NODE_NAME",
      valueFrom: { fieldRef: { apiVersion: "v1", fieldPath: "spec.nodeName" } },
    },
    {
      name: "MY_POD_NAME",
      valueFrom: { fieldRef: { apiVersion: "v1", fieldPath: "metadata.name" } },
    },
  ];
  const mounts = [
    ["/host/opt/cni/bin", "cni-bin-dir"],
    ["/host/etc/cni/net.d", "cni-net-dir"],
    ["/host/var/log/aws-routed-eni", "log-dir"],
    ["/var/run/aws-node", "run-dir"],
    ["/run/xtables.lock", "xtables-lock"],
    ["/var/run/secrets/kubernetes.io/serviceaccount", "kube-api-access-x7k2p"],
  ].map(([mountPath, name]) => ({ mountPath, name }));
  const resources = { requests: { cpu: "25m" } };
  const image = (n: string) =>
    `602401143452.dkr.ecr.eu-west-1.amazonaws.com/amazon-k8s-cni${n}:v1.19.2-eksbuild.1`;
  const started = "2026-11-01T10:00:00Z";
  const cstatus = (name: string, img: string) => ({
    containerID: `containerd://${"0123456789abcdef".repeat(4)}`,
    image: img,
    imageID: `${img.split(":")[0]}@sha256:${"89abcdef01234567".repeat(4)}`,
    lastState: {},
    name,
    ready: true,
    restartCount: 0,
    started: true,
    state: { running: { startedAt: started } },
  });
  const fieldsV1 = Object.fromEntries(
    AWS_NODE_ENV.map((
      [name],
    ) => [`k:{"name":"${name}"}`, { ".": {}, "f:name": {}, "f:value": {} }]),
  );
  return {
    metadata: {
      name: p.name,
      generateName: "aws-node-",
      namespace: p.namespace,
      uid: p.uid,
      resourceVersion: rv,
      creationTimestamp: started,
      labels: {
        ...p.labels,
        "app.kubernetes.io/instance": "aws-vpc-cni",
        "app.kubernetes.io/name": "aws-node",
        "controller-revision-hash": "5f7c9d8b6",
        "pod-template-generation": "3",
      },
      ownerReferences: [{
        apiVersion: "apps/v1",
        blockOwnerDeletion: true,
        controller: true,
        kind: "DaemonSet",
        name: "aws-node",
        uid: "9a1b2c3d-4e5f-6789-abcd-ef0123456789",
      }],
      managedFields: [{
        apiVersion: "v1",
        fieldsType: "FieldsV1",
        fieldsV1: {
          "f:spec": { "f:containers": { 'k:{"name":"aws-node"}': { "f:env": fieldsV1 } } },
        },
        manager: "kube-controller-manager",
        operation: "Update",
        time: started,
      }],
    },
    spec: {
      affinity: {
        nodeAffinity: {
          requiredDuringSchedulingIgnoredDuringExecution: {
            nodeSelectorTerms: [{
              matchFields: [{ key: "metadata.name", operator: "In", values: [p.node] }],
            }],
          },
        },
      },
      containers: [
        {
          name: "aws-node",
          image: image(""),
          env,
          ports: [{ containerPort: 61678, hostPort: 61678, name: "metrics", protocol: "TCP" }],
          livenessProbe: {
            exec: { command: ["/app/grpc-health-probe", "-addr=:50051", "-connect-timeout=5s"] },
            initialDelaySeconds: 60,
            timeoutSeconds: 10,
          },
          readinessProbe: {
            exec: { command: ["/app/grpc-health-probe", "-addr=:50051", "-connect-timeout=5s"] },
            initialDelaySeconds: 1,
            timeoutSeconds: 10,
          },
          resources,
          securityContext: { capabilities: { add: ["NET_ADMIN", "NET_RAW"] } },
          volumeMounts: mounts,
        },
        {
          name: "aws-eks-nodeagent",
          image:
            "602401143452.dkr.ecr.eu-west-1.amazonaws.com/amazon/aws-network-policy-agent:v1.1.6",
          args: [
            "--enable-ipv6=false",
            "--enable-network-policy=false",
            "--metrics-bind-addr=:8162",
          ],
          env: [{ name: "MY_NODE_NAME", valueFrom: { fieldRef: { fieldPath: "spec.nodeName" } } }],
          resources,
          securityContext: { capabilities: { add: ["NET_ADMIN"] }, privileged: true },
          volumeMounts: [
            { mountPath: "/sys/fs/bpf", name: "bpf-pin-path" },
            { mountPath: "/var/log/aws-routed-eni", name: "log-dir" },
            { mountPath: "/var/run/aws-node", name: "run-dir" },
          ],
        },
      ],
      initContainers: [{
        name: "aws-vpc-cni-init",
        image: image("-init"),
        env: [
          { name: "DISABLE_TCP_EARLY_DEMUX", value: "false" },
          { name: "ENABLE_IPv6", value: "false" },
        ],
        resources,
        securityContext: { privileged: true },
        volumeMounts: [{ mountPath: "/host/opt/cni/bin", name: "cni-bin-dir" }],
      }],
      dnsPolicy: "ClusterFirst",
      hostNetwork: true,
      nodeName: p.node,
      priorityClassName: "system-node-critical",
      serviceAccountName: "aws-node",
      terminationGracePeriodSeconds: 10,
      tolerations: [{ operator: "Exists" }],
      volumes: [
        { hostPath: { path: "/sys/fs/bpf" }, name: "bpf-pin-path" },
        { hostPath: { path: "/opt/cni/bin" }, name: "cni-bin-dir" },
        { hostPath: { path: "/etc/cni/net.d" }, name: "cni-net-dir" },
        {
          hostPath: { path: "/var/log/aws-routed-eni", type: "DirectoryOrCreate" },
          name: "log-dir",
        },
        { hostPath: { path: "/var/run/aws-node", type: "DirectoryOrCreate" }, name: "run-dir" },
        { hostPath: { path: "/run/xtables.lock", type: "FileOrCreate" }, name: "xtables-lock" },
        {
          name: "kube-api-access-x7k2p",
          projected: {
            defaultMode: 420,
            sources: [
              { serviceAccountToken: { expirationSeconds: 3607, path: "token" } },
              {
                configMap: { items: [{ key: "ca.crt", path: "ca.crt" }], name: "kube-root-ca.crt" },
              },
            ],
          },
        },
      ],
    },
    status: {
      conditions: [
        "PodReadyToStartContainers",
        "Initialized",
        "Ready",
        "ContainersReady",
        "PodScheduled",
      ]
        .map((type) => ({ lastTransitionTime: started, status: "True", type })),
      containerStatuses: [cstatus("aws-eks-nodeagent", "agent"), cstatus("aws-node", image(""))],
      initContainerStatuses: [cstatus("aws-vpc-cni-init", image("-init"))],
      hostIP: p.podIP,
      hostIPs: [{ ip: p.podIP }],
      phase: p.phase,
      podIP: p.podIP,
      podIPs: p.podIP === "" ? [] : [{ ip: p.podIP }],
      qosClass: "Burstable",
      startTime: started,
    },
  };
}

function status(code: number, reason: string, message: string): Response {
  return Response.json(
    { kind: "Status", apiVersion: "v1", status: "Failure", message, reason, code },
    { status: code },
  );
}

/** A LIST answer, paged by `limit` and a numeric `continue`. */
function paged(url: URL, kind: string, items: readonly unknown[]): Response {
  const limit = Number(url.searchParams.get("limit") ?? "0") || items.length;
  const start = Number(url.searchParams.get("continue") ?? "0");
  const next = start + limit < items.length ? String(start + limit) : undefined;
  return Response.json({
    kind,
    apiVersion: "v1",
    metadata: { resourceVersion: "1", ...(next ? { continue: next } : {}) },
    items: items.slice(start, start + limit),
  });
}

/** RBAC's 403, worded as the API server words it. */
function forbidden(verb: string, resource: string, group: string): Response {
  return status(
    403,
    "Forbidden",
    `${resource}${
      group ? `.${group}` : ""
    } is forbidden: User "system:serviceaccount:kube-system:` +
      `cni-metrics-helper" cannot ${verb} resource "${resource}" in API group "${group}" at the ` +
      `cluster scope`,
  );
}
