/**
 * The subnets' free IPs (`--subnets`): which subnets the cluster uses (the
 * subnets of every network interface of its nodes' instances, plus those
 * named by `ENIConfig` objects for custom networking) and their
 * `AvailableIpAddressCount`, read every `--subnet-refresh` seconds in the
 * background, not every cycle. A cycle publishes the last good read.
 *
 * A missing permission (RBAC `list nodes` or `list eniconfigs`, IAM
 * `ec2:DescribeInstances` or `ec2:DescribeSubnets`) is one warning a
 * refresh naming it, and the rest goes on: a source that failed this time
 * lends the subnets it found last time; figures older than 3 refresh
 * periods are no longer published. The `ENIConfig` resource not existing
 * (no custom networking) is normal.
 *
 * @module
 */

import { type Clock, deadline } from "../base/clock.ts";
import type { BackgroundSource } from "./source.ts";
import type { ClusterSnapshot, SubnetFigure } from "../model/report.ts";
import { awsErrorText, errorText } from "../base/errors.ts";
import { type KubeConnection, KubeError } from "../kube/kubeconfig.ts";
import { listAll } from "../kube/api_request.ts";
import { logger } from "../base/logging.ts";

const log = logger("subnets");

/** The EC2 side (the SDK in aws/sdk_clients.ts, or a test's). */
export interface SubnetEc2 {
  /**
   * The subnets of these instances' network interfaces (and the instances' own).
   *
   * @param instanceIds EC2 instance ids
   * @param signal aborts the calls
   * @returns subnet ids, sorted, and each network interface's subnet
   */
  instanceSubnets(instanceIds: readonly string[], signal: AbortSignal): Promise<InstanceNetwork>;
  /**
   * Each subnet's free IPs.
   *
   * @param subnetIds subnet ids
   * @param signal aborts the calls
   * @returns the figures, sorted by subnet id
   */
  subnets(subnetIds: readonly string[], signal: AbortSignal): Promise<SubnetFigure[]>;
}

/** What DescribeInstances says of the nodes' network. */
export interface InstanceNetwork {
  /** Subnet ids, sorted. */
  readonly subnets: string[];
  /** Network interface id (`eni-…`) → its subnet. */
  readonly eniSubnets: ReadonlyMap<string, string>;
}

/** The Kubernetes side. */
export interface SubnetKube {
  /**
   * The EC2 instance ids of the cluster's nodes (from `spec.providerID`).
   *
   * @param signal aborts the listing
   */
  nodeInstanceIds(signal: AbortSignal): Promise<string[]>;
  /**
   * The subnets `ENIConfig` objects name; `undefined` when the resource does not exist.
   *
   * @param signal aborts the listing
   */
  eniConfigSubnets(signal: AbortSignal): Promise<string[] | undefined>;
}

/**
 * The instance id in a node's `spec.providerID` (`aws:///us-east-1a/i-0abc…`).
 *
 * @param providerID the node's provider id
 * @returns the id, or `undefined` (Fargate, other clouds)
 */
export function instanceIdOf(providerID: string | undefined): string | undefined {
  const last = providerID?.split("/").pop();
  return last !== undefined && /^i-[0-9a-f]+$/.test(last) ? last : undefined;
}

const ENICONFIGS = "/apis/crd.k8s.amazonaws.com/v1alpha1/eniconfigs";

/**
 * The Kubernetes side through the API server.
 *
 * @param conn the connection
 * @param clock page deadlines
 * @returns the lister
 */
export function kubeSubnetSource(conn: KubeConnection, clock: Clock): SubnetKube {
  return {
    async nodeInstanceIds(signal) {
      const listed = await listAll(
        conn,
        "/api/v1/nodes",
        "nodes",
        (n: { spec?: { providerID?: string } }) => instanceIdOf(n.spec?.providerID),
        { clock, stop: signal },
      );
      return [...new Set(listed.items)].sort();
    },
    async eniConfigSubnets(signal) {
      try {
        const listed = await listAll(
          conn,
          ENICONFIGS,
          "eniconfigs",
          (e: { spec?: { subnet?: string } }) => e.spec?.subnet || undefined,
          { clock, stop: signal },
        );
        return [...new Set(listed.items)].sort();
      } catch (e) {
        // no ENIConfig CRD: custom networking is not in use
        if (e instanceof KubeError && e.status === 404) return undefined;
        throw e;
      }
    },
  };
}

/** A read that failed on a missing permission: the action is named. */
function denied(e: unknown): boolean {
  const x = e as { name?: string; $metadata?: { httpStatusCode?: number }; status?: number };
  return x?.name === "UnauthorizedOperation" || /AccessDenied/.test(x?.name ?? "") ||
    x?.$metadata?.httpStatusCode === 403 || (e instanceof KubeError && e.status === 403);
}

/** What one refresh found (for logs and tests). */
export interface RefreshOutcome {
  /** The figures read, or `undefined` when they could not be read. */
  readonly figures: readonly SubnetFigure[] | undefined;
  /** One per failed source, naming the action. */
  readonly warnings: readonly string[];
}

/** Cadence of {@linkcode SubnetRefresher}. */
export interface SubnetRefreshOptions {
  /** Seconds between two reads (`--subnet-refresh`). */
  readonly refreshSeconds: number;
  /** Milliseconds one refresh may take (the first one delays the first cycle). @default 30000 */
  readonly timeoutMs?: number;
}

/** Reads the subnets every refresh period; a cycle takes the last good read. */
export class SubnetRefresher implements BackgroundSource {
  readonly name = "subnets";
  readonly #kube: SubnetKube;
  readonly #ec2: SubnetEc2;
  readonly #clock: Clock;
  readonly #opts: SubnetRefreshOptions;
  readonly #stop = new AbortController();
  #loop: Promise<void> | undefined;
  #instanceSubnets: readonly string[] = [];
  #eniToSubnet: ReadonlyMap<string, string> = new Map();
  #eniSubnets: readonly string[] = [];
  #last: { figures: readonly SubnetFigure[]; at: number } | undefined;

  /**
   * @param kube nodes and ENIConfigs
   * @param ec2 instances and subnets
   * @param clock time
   * @param opts cadence
   */
  constructor(kube: SubnetKube, ec2: SubnetEc2, clock: Clock, opts: SubnetRefreshOptions) {
    this.#kube = kube;
    this.#ec2 = ec2;
    this.#clock = clock;
    this.#opts = opts;
  }

  /**
   * The cycle's inputs with the subnets of the last good read (none when
   * there is none, or it is older than 3 refresh periods).
   *
   * @param inputs the cycle's inputs so far
   * @returns them with the subnets
   */
  contribute(inputs: ClusterSnapshot): ClusterSnapshot {
    const subnets = this.current();
    return subnets === undefined ? inputs : { ...inputs, subnets };
  }

  /**
   * Each network interface's subnet as of the last read (the cycle sums
   * `awscni_assigned_ip_per_eni` per subnet with it).
   *
   * @returns `eni-…` → `subnet-…`; empty before the first read
   */
  eniSubnets(): ReadonlyMap<string, string> {
    return this.#eniToSubnet;
  }

  /** The last good read, unless older than 3 refresh periods. */
  current(): readonly SubnetFigure[] | undefined {
    const last = this.#last;
    if (last === undefined) return undefined;
    const maxAge = 3 * this.#opts.refreshSeconds * 1000;
    return this.#clock.now() - last.at > maxAge ? undefined : last.figures;
  }

  /**
   * Refreshes now, then every refresh period, until {@linkcode close}.
   *
   * @returns resolves when the first read is done (so the first cycle has its figures)
   */
  start(): Promise<void> {
    let first: () => void = () => {};
    const firstDone = new Promise<void>((resolve) => first = resolve);
    this.#loop ??= (async () => {
      const stop = this.#stop.signal;
      while (!stop.aborted) {
        const d = deadline(this.#clock, stop, this.#opts.timeoutMs ?? 30_000);
        try {
          await this.refresh(d.signal);
        } finally {
          d.release();
          first();
        }
        await this.#clock.sleep(this.#opts.refreshSeconds * 1000, stop);
      }
      first();
    })();
    return firstDone;
  }

  /**
   * One read: which subnets, then their free IPs. Never throws: each failed
   * source is a warning (logged, and returned).
   *
   * @param signal aborts the read
   * @returns what was read and the warnings
   */
  async refresh(signal: AbortSignal): Promise<RefreshOutcome> {
    const warnings: string[] = [];
    const warn = (what: string, e: unknown, fix: string) => {
      const why = e instanceof KubeError ? errorText(e) : awsErrorText(e);
      warnings.push(
        denied(e)
          ? `subnets: ${what} was denied (${why}): ${fix}; the rest of the helper goes on`
          : `subnets: ${what} failed (${why}); using what the last refresh found`,
      );
    };
    let nodes = 0;
    try {
      const ids = await this.#kube.nodeInstanceIds(signal);
      nodes = ids.length;
      const network = ids.length === 0
        ? { subnets: [], eniSubnets: new Map<string, string>() }
        : await this.#ec2.instanceSubnets(ids, signal)
          .catch((e) => {
            warn(
              "ec2:DescribeInstances",
              e,
              "grant it to the helper's role (docs/iam-rbac.md, --subnets)",
            );
            return { subnets: this.#instanceSubnets, eniSubnets: this.#eniToSubnet };
          });
      this.#instanceSubnets = network.subnets;
      this.#eniToSubnet = network.eniSubnets;
    } catch (e) {
      warn(
        "listing nodes (RBAC list nodes)",
        e,
        "apply deploy/subnets-rbac.yaml (list nodes and eniconfigs)",
      );
    }
    try {
      const eni = await this.#kube.eniConfigSubnets(signal);
      if (eni === undefined) log.debug("no ENIConfig resource: custom networking is not in use");
      this.#eniSubnets = eni ?? [];
    } catch (e) {
      warn(
        "listing eniconfigs (RBAC list eniconfigs.crd.k8s.amazonaws.com)",
        e,
        "apply deploy/subnets-rbac.yaml (list nodes and eniconfigs)",
      );
    }
    const ids = [...new Set([...this.#instanceSubnets, ...this.#eniSubnets])].sort();
    let figures: SubnetFigure[] | undefined;
    if (ids.length > 0) {
      try {
        figures = await this.#ec2.subnets(ids, signal);
        this.#last = { figures, at: this.#clock.now() };
      } catch (e) {
        warn(
          "ec2:DescribeSubnets",
          e,
          "grant it to the helper's role (docs/iam-rbac.md, --subnets)",
        );
      }
    } else if (warnings.length === 0) {
      warnings.push(
        `subnets: none found (${nodes} nodes with an EC2 instance id, no ENIConfig subnet)`,
      );
    }
    for (const w of warnings) log.warn("{warning}", { warning: w });
    if (figures !== undefined && figures.length > 0) {
      const least = figures.reduce((a, b) => (b.available < a.available ? b : a));
      log.info(
        "subnets read: {n} in use ({inst} from {nodes} nodes' network interfaces, {eni} from " +
          "ENIConfigs); fewest free IPs: {least} in {subnet} ({zone})",
        {
          n: figures.length,
          inst: this.#instanceSubnets.length,
          nodes,
          eni: this.#eniSubnets.length,
          least: least.available,
          subnet: least.subnetId,
          zone: least.availabilityZone,
        },
      );
    }
    return { figures, warnings };
  }

  /** Stops the background refresh and waits for it. */
  async close(): Promise<void> {
    this.#stop.abort();
    await this.#loop;
  }
}
