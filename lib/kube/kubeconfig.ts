/**
 * The kubeconfig and the connection to the API server: which file or
 * service account, which context, the TLS client built from its CA and
 * client certificate, and the auth headers (refreshed for exec plugins and
 * rotated token files). client-node reads the kubeconfig and runs its auth;
 * every request goes through one long-lived keep-alive `Deno.HttpClient`
 * (DESIGN.md "Known traps": client-node builds a new TLS agent per request,
 * and its own HTTP/2 transport aborted the Deno process on a GOAWAY).
 *
 * @module
 */

import * as k8s from "@kubernetes/client-node";
import { untilAborted } from "../base/clock.ts";
import { errorText, RuntimeError } from "../base/errors.ts";
import type { KubeContextInfo } from "../aws/identity.ts";

/** A kubeconfig or API problem that stops the program (exit 1). */
export class KubeError extends RuntimeError {
  /** The API server's HTTP status, when it answered. */
  readonly status: number | undefined;
  /**
   * @param message what is wrong, naming the file, context or resource
   * @param status the API server's HTTP status, when it answered
   */
  constructor(message: string, status?: number) {
    super(message);
    this.name = "KubeError";
    this.status = status;
  }
}

/** Where the kubeconfig comes from. */
export interface KubeconfigSource {
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
}

/** A loaded kubeconfig, as plain data for the rest of the program. */
export interface LoadedKubeconfig {
  /** Where it came from and the context, for logs (never its content). */
  readonly describe: string;
  /** The current context's names, server and exec plugin (identity hints). */
  readonly context: KubeContextInfo | undefined;
}

/**
 * Loads the kubeconfig without connecting (the `dashboard` command reads it
 * for region and cluster id hints only).
 *
 * @param src where it is
 * @returns what it says
 * @throws {KubeError} when none is usable
 */
export function loadKubeconfig(src: KubeconfigSource): LoadedKubeconfig {
  const kc = new k8s.KubeConfig();
  const describe = loadInto(kc, src);
  return { describe, context: contextInfo(kc) };
}

/** The API server connection: base URL, TLS client, auth. */
export class KubeConnection implements LoadedKubeconfig {
  /** Where the kubeconfig came from and the context, for logs. */
  readonly describe: string;
  /** The current context, as plain data. */
  readonly context: KubeContextInfo | undefined;
  /** `https://host:port` without a trailing slash. */
  readonly server: string;
  /** The one keep-alive client every request uses. */
  readonly http: Deno.HttpClient;
  /** The kubeconfig, for client-node's request signing (kube/pod_watcher.ts only). */
  readonly kubeConfig: k8s.KubeConfig;

  /**
   * @param kc the loaded kubeconfig
   * @param describe where it came from
   * @param server the API server URL
   * @param http the TLS client
   */
  constructor(kc: k8s.KubeConfig, describe: string, server: string, http: Deno.HttpClient) {
    this.kubeConfig = kc;
    this.describe = describe;
    this.context = contextInfo(kc);
    this.server = server;
    this.http = http;
  }

  /**
   * The auth headers for the next requests: runs the exec plugin or re-reads
   * the token file when the kubeconfig says so (client-node caches a token
   * until it expires).
   *
   * @param signal aborts the wait (client-node itself takes no signal)
   * @returns `Authorization` and any other headers the kubeconfig's auth sets
   * @throws {KubeError} when the credentials cannot be had
   */
  async authHeaders(signal: AbortSignal): Promise<Record<string, string>> {
    const opts: { headers?: Record<string, string> } = { headers: {} };
    try {
      // client-node takes no signal: stop waiting for it when the signal aborts
      await untilAborted(this.kubeConfig.applyToHTTPSOptions(opts as never), signal);
      if (signal.aborted) throw signal.reason;
    } catch (e) {
      throw new KubeError(`${this.describe}: getting credentials failed: ${errorText(e)}`);
    }
    const headers: Record<string, string> = { ...opts.headers };
    const user = this.kubeConfig.getCurrentUser();
    if (user?.username) {
      headers["Authorization"] = `Basic ${btoa(`${user.username}:${user.password ?? ""}`)}`;
    }
    return headers;
  }

  /** Closes the client's connections. */
  close(): void {
    this.http.close();
  }
}

/**
 * Loads the kubeconfig and builds the TLS client for its cluster.
 *
 * @param src where the kubeconfig is
 * @returns the connection
 * @throws {KubeError} when no usable kubeconfig is found
 */
export async function connect(src: KubeconfigSource): Promise<KubeConnection> {
  const kc = new k8s.KubeConfig();
  const describe = loadInto(kc, src);
  const cluster = kc.getCurrentCluster();
  if (cluster === null) {
    const current = kc.getCurrentContext();
    const names = kc.getContexts().map((c) => c.name);
    throw new KubeError(
      names.includes(current)
        ? `${describe}: context ${current} names a cluster the file does not define: fix its ` +
          `cluster or pass --context (the file has ${names.join(", ")})`
        : `${describe}: current-context ${JSON.stringify(current)} is not a context of the ` +
          `file: it has ${names.length === 0 ? "no contexts" : names.join(", ")}; fix ` +
          `current-context or pass --context`,
    );
  }
  if (cluster.skipTLSVerify) {
    throw new KubeError(
      `${describe}: cluster ${cluster.name} sets insecure-skip-tls-verify; give it its ` +
        `certificate-authority(-data) instead`,
    );
  }
  const tls: { ca?: unknown; cert?: unknown; key?: unknown } = {};
  const deadline = new AbortController();
  const timer = setTimeout(() => deadline.abort(), CREDENTIALS_TIMEOUT_MS);
  try {
    // an exec plugin that never answers must not hold the start-up
    const done = await untilAborted(
      kc.applyToHTTPSOptions(tls as never).then(() => true),
      deadline.signal,
    );
    if (done === undefined) {
      const exec = kc.getCurrentUser()?.exec;
      throw new Error(
        `no answer within ${CREDENTIALS_TIMEOUT_MS / 1000} s` +
          (exec ? ` from the exec plugin ${String(exec.command ?? "")}` : ""),
      );
    }
  } catch (e) {
    throw new KubeError(`${describe}: cannot read TLS or credentials: ${errorText(e)}`);
  } finally {
    clearTimeout(timer);
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
  return new KubeConnection(kc, describe, cluster.server.replace(/\/+$/, ""), http);
}

function contextInfo(kc: k8s.KubeConfig): KubeContextInfo | undefined {
  const cluster = kc.getCurrentCluster();
  if (cluster === null) return undefined;
  const exec = kc.getCurrentUser()?.exec;
  return {
    contextName: kc.getCurrentContext(),
    clusterName: cluster.name,
    server: cluster.server,
    exec: exec ? { command: String(exec.command ?? ""), args: exec.args ?? [] } : undefined,
  };
}

/** Longest the kubeconfig's credentials (an exec plugin) may take at start-up, ms. */
export const CREDENTIALS_TIMEOUT_MS = 30_000;

/** Why a kubeconfig file could not be read, with the fix. */
function unreadable(e: unknown, given: boolean): string {
  if (e instanceof Deno.errors.NotFound || (e as { code?: string }).code === "ENOENT") {
    return given
      ? "file not found (check --kubeconfig or KUBECONFIG)"
      : "file not found: outside a pod the helper needs a kubeconfig: set --kubeconfig or " +
        "KUBECONFIG, or run it in the cluster";
  }
  if (e instanceof Deno.errors.NotCapable || (e as { name?: string }).name === "NotCapable") {
    return "this build may read only /var/run/secrets, ~/.kube and ~/.aws: copy the file " +
      "into ~/.kube (if it exists)";
  }
  return `cannot be read: ${errorText(e)}`;
}

function loadInto(kc: k8s.KubeConfig, src: KubeconfigSource): string {
  let describe: string;
  const files = src.kubeconfig.length > 0
    ? src.kubeconfig
    : (!src.inCluster && src.homeConfig !== undefined ? [src.homeConfig] : []);
  if (files.length > 0) {
    describe = `kubeconfig ${files.join(":")}`;
    const given = src.kubeconfig.length > 0;
    let loaded = 0;
    for (const file of files) {
      let text: string;
      try {
        text = Deno.readTextFileSync(file);
      } catch (e) {
        throw new KubeError(`kubeconfig ${file}: ${unreadable(e, given)}`);
      }
      // kubectl skips an empty file of a KUBECONFIG list
      if (text.trim() === "") continue;
      const one = loaded === 0 ? kc : new k8s.KubeConfig();
      try {
        one.loadFromFile(file);
      } catch (e) {
        throw new KubeError(`kubeconfig ${file}: ${unreadable(e, given)}`);
      }
      if (one !== kc) kc.mergeConfig(one);
      loaded++;
    }
    if (loaded === 0) {
      throw new KubeError(
        `${describe}: ${files.length === 1 ? "the file is" : "every file is"} empty; ` +
          (given ? "point --kubeconfig or KUBECONFIG at a kubeconfig" : "write one there, or " +
            "set --kubeconfig or KUBECONFIG"),
      );
    }
  } else if (src.inCluster) {
    describe = "in-cluster service account";
    try {
      kc.loadFromCluster(src.inClusterRoot ?? "");
    } catch (e) {
      throw new KubeError(`in-cluster config: ${errorText(e)}`);
    }
  } else {
    throw new KubeError(
      "no kubeconfig: not running in a pod and ~/.kube/config not found; " +
        "set --kubeconfig or KUBECONFIG",
    );
  }
  if (src.context !== undefined) {
    const names = kc.getContexts().map((c) => c.name);
    if (!names.includes(src.context)) {
      throw new KubeError(
        `"--context" ${JSON.stringify(src.context)} is not in ${describe}: it has ${
          names.length === 0 ? "no contexts" : names.join(", ")
        }`,
      );
    }
    kc.setCurrentContext(src.context);
  }
  if (kc.getCurrentContext() === "" || kc.getCurrentContext() === undefined) {
    throw new KubeError(`${describe} has no current context; pass --context`);
  }
  return `${describe} (context ${kc.getCurrentContext()})`;
}
