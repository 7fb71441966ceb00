/**
 * The e2e environment, run inside the suite's own network namespace: etcd,
 * a real kube-apiserver (RBAC on), moto (CloudWatch, EC2), the AWS IMDS mock,
 * and simulated aws-node endpoints listening on pod IPs of 10.200.0.0/16.
 *
 * @module
 */

import { certFile } from "../../tools/fake_apiserver.ts";
import { awsNodeText, type NodeFigures } from "../../tools/sim.ts";

/** Where build.sh put the binaries. */
export const CACHE = Deno.env.get("E2E_CACHE") ??
  `${Deno.env.get("HOME") ?? "/root"}/.cache/cni-metrics-helper-e2e`;
const K8S = Deno.env.get("K8S_VERSION") ?? "v1.34.4";
const ETCD = Deno.env.get("ETCD_VERSION") ?? "v3.6.16";
const AEMM = Deno.env.get("IMDS_MOCK_VERSION") ?? "v1.13.0";
const MOTO = Deno.env.get("MOTO_VERSION") ?? "5.1.19";

/** The API server's address inside the namespace. */
export const API = "https://127.0.0.1:6443";
/** moto's address. */
export const MOTO_URL = "http://127.0.0.1:5000";

/** A started process whose output goes to a log file. */
export class Proc {
  readonly name: string;
  readonly child: Deno.ChildProcess;
  readonly log: string;

  constructor(
    name: string,
    cmd: string,
    args: string[],
    dir: string,
    env: Record<string, string> = {},
  ) {
    this.name = name;
    this.log = `${dir}/${name}.log`;
    const file = Deno.openSync(this.log, { write: true, create: true, truncate: true });
    this.child = new Deno.Command(cmd, {
      args,
      env,
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    const w = file.writable.getWriter();
    const pump = async (s: ReadableStream<Uint8Array>) => {
      for await (const chunk of s) await w.write(chunk);
    };
    Promise.all([pump(this.child.stdout), pump(this.child.stderr)]).finally(() =>
      w.close().catch(() => {})
    );
  }

  async stop(signal: Deno.Signal = "SIGTERM"): Promise<void> {
    try {
      this.child.kill(signal);
    } catch {
      // already gone
    }
    await this.child.status;
  }

  tail(n = 30): string {
    try {
      return Deno.readTextFileSync(this.log).split("\n").slice(-n).join("\n");
    } catch {
      return "";
    }
  }
}

/** Polls `check` until it returns true or `ms` pass. */
export async function waitFor(
  what: string,
  check: () => Promise<boolean>,
  ms = 60_000,
  proc?: Proc,
) {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    try {
      if (await check()) return;
    } catch {
      // not yet
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(
    `timed out waiting for ${what}${proc ? `; ${proc.name} log:\n${proc.tail()}` : ""}`,
  );
}

function pem(label: string, der: ArrayBuffer): string {
  const b64 = btoa(String.fromCharCode(...new Uint8Array(der)));
  return `-----BEGIN ${label}-----\n${b64.match(/.{1,64}/g)?.join("\n")}\n-----END ${label}-----\n`;
}

/** The admin HTTP client (client certificate in system:masters). */
export function adminClient(): Deno.HttpClient {
  return Deno.createHttpClient({
    caCerts: [certFile("ca.crt")],
    cert: certFile("client.crt"),
    key: certFile("client.key"),
  });
}

/** A small REST client for the API server, as admin. */
export class Kube {
  readonly #client = adminClient();

  async req(method: string, path: string, body?: unknown): Promise<Response> {
    return await fetch(`${API}${path}`, {
      method,
      client: this.#client,
      headers: { "content-type": "application/json", accept: "application/json" },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
  }

  async json(method: string, path: string, body?: unknown): Promise<Record<string, unknown>> {
    const r = await this.req(method, path, body);
    const text = await r.text();
    if (!r.ok) throw new Error(`${method} ${path}: HTTP ${r.status}: ${text.slice(0, 300)}`);
    return JSON.parse(text);
  }

  close(): void {
    this.#client.close();
  }
}

/** etcd, kube-apiserver, moto, the IMDS mock. */
export class Cluster {
  readonly dir: string;
  readonly procs: Proc[] = [];
  readonly kube = new Kube();

  constructor(dir: string) {
    this.dir = dir;
  }

  async start(): Promise<void> {
    const d = this.dir;
    const etcd = new Proc("etcd", `${CACHE}/bin/etcd-${ETCD}`, [
      "--data-dir",
      `${d}/etcd`,
      "--listen-client-urls",
      "http://127.0.0.1:2379",
      "--advertise-client-urls",
      "http://127.0.0.1:2379",
      "--listen-peer-urls",
      "http://127.0.0.1:2380",
      "--initial-advertise-peer-urls",
      "http://127.0.0.1:2380",
      "--initial-cluster",
      "default=http://127.0.0.1:2380",
      "--log-level",
      "warn",
    ], d);
    this.procs.push(etcd);
    await waitFor(
      "etcd",
      async () => (await fetch("http://127.0.0.1:2379/health")).ok,
      30_000,
      etcd,
    );

    const keys = await crypto.subtle.generateKey(
      {
        name: "RSASSA-PKCS1-v1_5",
        modulusLength: 2048,
        publicExponent: new Uint8Array([1, 0, 1]),
        hash: "SHA-256",
      },
      true,
      ["sign", "verify"],
    );
    Deno.writeTextFileSync(
      `${d}/sa.key`,
      pem("PRIVATE KEY", await crypto.subtle.exportKey("pkcs8", keys.privateKey)),
    );
    Deno.writeTextFileSync(
      `${d}/sa.pub`,
      pem("PUBLIC KEY", await crypto.subtle.exportKey("spki", keys.publicKey)),
    );
    const api = await this.#startApiServer();
    await waitFor(
      "the kube-system namespace",
      async () => (await this.kube.req("GET", "/api/v1/namespaces/kube-system")).ok,
      60_000,
      api,
    );
    // RBAC bootstrap roles are in place once the system:masters binding answers
    await waitFor(
      "RBAC bootstrap",
      async () =>
        (await this.kube.req("GET", "/apis/rbac.authorization.k8s.io/v1/clusterroles/admin")).ok,
      60_000,
      api,
    );

    const moto = new Proc("moto", `${CACHE}/moto-${MOTO}/bin/moto_server`, [
      "-H",
      "127.0.0.1",
      "-p",
      "5000",
    ], d);
    this.procs.push(moto);
    await waitFor(
      "moto",
      async () => (await fetch(`${MOTO_URL}/moto-api/data.json`)).ok,
      60_000,
      moto,
    );
  }

  /** Starts kube-apiserver and waits until it is ready. */
  async #startApiServer(): Promise<Proc> {
    const d = this.dir;
    const certs = new URL("../../tools/certs/", import.meta.url).pathname;
    const api = new Proc("kube-apiserver", `${CACHE}/bin/kube-apiserver-${K8S}`, [
      "--etcd-servers=http://127.0.0.1:2379",
      "--bind-address=127.0.0.1",
      "--secure-port=6443",
      "--advertise-address=10.200.0.1",
      `--tls-cert-file=${certs}server.crt`,
      `--tls-private-key-file=${certs}server.key`,
      `--client-ca-file=${certs}ca.crt`,
      `--service-account-key-file=${d}/sa.pub`,
      `--service-account-signing-key-file=${d}/sa.key`,
      "--service-account-issuer=https://kubernetes.default.svc",
      "--authorization-mode=RBAC",
      "--service-cluster-ip-range=10.96.0.0/16",
      // no controller-manager creates "default" service accounts here
      "--disable-admission-plugins=ServiceAccount",
      "--profiling=false",
    ], d);
    this.procs.push(api);
    await waitFor(
      "kube-apiserver /readyz",
      async () => (await this.kube.req("GET", "/readyz")).ok,
      120_000,
      api,
    );
    return api;
  }

  /**
   * Kills kube-apiserver (SIGKILL: a crash; on SIGTERM it stops accepting at
   * once but holds open watches for its 60 s grace period), keeps it down for
   * `downMs`, starts it again on the same etcd.
   *
   * @param downMs how long it stays down
   */
  async restartApiServer(downMs: number): Promise<void> {
    const old = this.procs.find((p) => p.name === "kube-apiserver");
    if (old === undefined) throw new Error("kube-apiserver is not running");
    await old.stop("SIGKILL");
    this.procs.splice(this.procs.indexOf(old), 1);
    await new Promise((resolve) => setTimeout(resolve, downMs));
    await this.#startApiServer();
  }

  /** Starts an IMDS mock (IMDSv2 required) on `port`. */
  async imds(
    port: number,
    values: Record<string, string>,
    paths: Record<string, string>,
  ): Promise<Proc> {
    const cfg = `${this.dir}/aemm-${port}.json`;
    Deno.writeTextFileSync(cfg, JSON.stringify({ metadata: { paths, values } }));
    const p = new Proc(`imds-${port}`, `${CACHE}/bin/ec2-metadata-mock-${AEMM}`, [
      "-n",
      "127.0.0.1",
      "-p",
      String(port),
      "--imdsv2",
      "-c",
      cfg,
    ], this.dir);
    this.procs.push(p);
    await waitFor(
      `IMDS mock on ${port}`,
      async () => {
        const r = await fetch(`http://127.0.0.1:${port}/latest/api/token`, {
          method: "PUT",
          headers: { "x-aws-ec2-metadata-token-ttl-seconds": "60" },
        });
        await r.body?.cancel();
        return r.ok;
      },
      30_000,
      p,
    );
    return p;
  }

  /** Stops one of its processes (an IMDS mock a scenario started). */
  async stopProc(p: Proc): Promise<void> {
    const i = this.procs.indexOf(p);
    if (i >= 0) this.procs.splice(i, 1);
    await p.stop();
  }

  async stop(): Promise<void> {
    this.kube.close();
    for (const p of [...this.procs].reverse()) await p.stop();
  }

  /**
   * Kills every process at once, without waiting (the process is exiting:
   * an `unload` handler cannot await).
   */
  kill(): void {
    this.kube.close();
    for (const p of [...this.procs].reverse()) {
      try {
        p.child.kill("SIGKILL");
      } catch {
        // already gone
      }
    }
    this.procs.length = 0;
  }
}

/** One simulated aws-node: its pod in the API and its endpoint on the pod IP. */
export class SimNode {
  readonly name: string;
  readonly ip: string;
  figures: NodeFigures;
  /** Every body served: when, and the figures. */
  readonly served: { at: number; figures: NodeFigures }[] = [];
  /** Called before each answer to move the figures. */
  step: (f: NodeFigures) => void;
  #listener: Deno.Listener | undefined;

  constructor(name: string, ip: string, figures: NodeFigures, step: (f: NodeFigures) => void) {
    this.name = name;
    this.ip = ip;
    this.figures = figures;
    this.step = step;
  }

  /** Listens on ip:61678 (a node whose port is closed never calls this). */
  listen(): void {
    const l = Deno.listen({ hostname: this.ip, port: 61678 });
    this.#listener = l;
    (async () => {
      try {
        for await (const conn of l) void this.#answer(conn);
      } catch {
        // closed
      }
    })();
  }

  async #answer(conn: Deno.Conn): Promise<void> {
    try {
      const buf = new Uint8Array(8192);
      let req = "";
      while (!req.includes("\r\n\r\n")) {
        const n = await conn.read(buf);
        if (n === null) return;
        req += new TextDecoder().decode(buf.subarray(0, n));
      }
      // the accepted connection's local address says which pod was asked
      const local = (conn.localAddr as Deno.NetAddr).hostname;
      if (local !== this.ip || !req.startsWith("GET /metrics")) {
        await conn.write(
          new TextEncoder().encode(
            "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
          ),
        );
        return;
      }
      this.step(this.figures);
      this.served.push({ at: Date.now(), figures: { ...this.figures } });
      const body = new TextEncoder().encode(awsNodeText(this.figures));
      await conn.write(
        new TextEncoder().encode(
          `HTTP/1.1 200 OK\r\nContent-Type: text/plain; version=0.0.4\r\nContent-Length: ${body.length}\r\nConnection: close\r\n\r\n`,
        ),
      );
      await conn.write(body);
    } finally {
      try {
        conn.close();
      } catch {
        // closed
      }
    }
  }

  close(): void {
    try {
      this.#listener?.close();
    } catch {
      // closed
    }
  }
}

/** Creates the pod (no nodeName) and sets its status Running with the IP. */
export async function createPod(
  kube: Kube,
  name: string,
  ip: string,
  labels: Record<string, string>,
) {
  await kube.json("POST", "/api/v1/namespaces/kube-system/pods", {
    apiVersion: "v1",
    kind: "Pod",
    metadata: { name, labels },
    spec: {
      containers: [{ name: "c", image: "registry.invalid/none" }],
      automountServiceAccountToken: false,
    },
  });
  const pod = await kube.json("GET", `/api/v1/namespaces/kube-system/pods/${name}`);
  pod["status"] = { phase: "Running", podIP: ip, podIPs: [{ ip }] };
  await kube.json("PUT", `/api/v1/namespaces/kube-system/pods/${name}/status`, pod);
}

/** Deletes a pod at once. */
export async function deletePod(kube: Kube, name: string) {
  await kube.json("DELETE", `/api/v1/namespaces/kube-system/pods/${name}?gracePeriodSeconds=0`);
}
