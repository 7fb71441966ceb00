/**
 * The types every step of a cycle shares, in one place: the pods a cycle
 * works on ({@linkcode Target}), what the aggregation makes of them
 * ({@linkcode ClusterSnapshot}, the inputs of every figure), and what one
 * cycle did ({@linkcode CycleReport}, which every output observes).
 *
 * @module
 */

import type { ScrapeError } from "../scrape/scraper.ts";
import type { Breakdown } from "./node_groups.ts";

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
  /**
   * The aws-node container's warm-pool settings (WARM_IP_TARGET, MINIMUM_IP_TARGET,
   * WARM_ENI_TARGET, WARM_PREFIX_TARGET, ENABLE_PREFIX_DELEGATION) that are set. @default none
   */
  readonly warm?: Readonly<Record<string, string>>;
}

/**
 * The nodes' IP headroom this cycle: a node's headroom is its
 * `awscni_ip_max - awscni_assigned_ip_addresses`, over the nodes scraped
 * this cycle whose body has both families.
 */
export interface NodeHeadroom {
  /** The smallest headroom (`minNodeIPHeadroom`). */
  readonly min: number;
  /** The node that has it (the first by name on a tie). */
  readonly node: string;
  /** Nodes whose headroom is below the threshold (`nodesNearIPLimit`). */
  readonly nearLimit: number;
  /** The threshold (`--headroom-threshold`). */
  readonly threshold: number;
  /** Nodes that had both families. */
  readonly nodes: number;
}

/** One subnet's free IPs, as EC2 DescribeSubnets reported them at the last refresh. */
export interface SubnetFigure {
  /** `subnet-…` */
  readonly subnetId: string;
  /** e.g. `us-east-1a`. */
  readonly availabilityZone: string;
  /** `AvailableIpAddressCount`. */
  readonly available: number;
}

/** The cluster figures of one cycle. */
export interface ClusterSnapshot {
  /** CloudWatch metric name → cluster value, every row of {@linkcode METRICS}. */
  readonly values: ReadonlyMap<string, number>;
  /** Pods whose samples went into the figures. */
  readonly podsScraped: number;
  /** Pods that are baselines this cycle (their counters contribute nothing yet). */
  readonly podsBaselined: number;
  /** The nodes' IP headroom; `undefined` when turned off or no node had both families. */
  readonly headroom?: NodeHeadroom | undefined;
  /** The subnets in use, sorted by id; `undefined` when `--subnets` is off or none is known yet. */
  readonly subnets?: readonly SubnetFigure[] | undefined;
  /** The nodes with the least headroom, ascending, at most 10 (the report's list). @default none */
  readonly lowestHeadroom?: readonly { readonly node: string; readonly headroom: number }[];
  /** With `--subnets`: IPs assigned per subnet (`awscni_assigned_ip_per_eni` over its ENIs). */
  readonly subnetAssigned?: ReadonlyMap<string, number>;
  /** With `--subnets`: scraped pods whose aws-node lacks `awscni_assigned_ip_per_eni`. */
  readonly podsWithoutPerEni?: number;
  /** Per breakdown asked for (`--breakdown`), its groups by name. @default none */
  readonly breakdowns?: ReadonlyMap<Breakdown, readonly GroupFigures[]>;
  /** Breakdowns whose smallest groups were folded into `other` this cycle, and how many. */
  readonly folded?: readonly { readonly breakdown: Breakdown; readonly groups: number }[];
}

/** One group of a breakdown (a zone, a node group, an instance type) this cycle. */
export interface GroupFigures {
  /** The group's name (`none` for nodes without the label, `other` for the folded ones). */
  readonly group: string;
  /** Pods scraped in it. */
  readonly pods: number;
  /** Its aws-node values (sums, counter increases), CloudWatch name → value. */
  readonly values: ReadonlyMap<string, number>;
  /** Its nodes' headroom; `undefined` when off or no node had both families. */
  readonly headroom: NodeHeadroom | undefined;
}

/** A pod whose scrape failed this cycle. */
export interface Failure {
  /** The pod. */
  readonly target: Target;
  /** Why. */
  readonly error: ScrapeError;
}

/** What one cycle did. */
export interface CycleReport {
  /** When the cycle started (the datums' timestamp). */
  readonly startedAt: Date;
  /** Wall time of the cycle. */
  readonly durationMs: number;
  /** Pods listed; `undefined` when the listing itself failed. */
  readonly found: number | undefined;
  /** Listed pods not Running with an IP (not scraped). */
  readonly notRunning: number;
  /** Pods scraped and parsed. */
  readonly scraped: number;
  /** Pods whose scrape or parse failed. */
  readonly failures: readonly Failure[];
  /** The cluster figures; `null` when no pod was scraped. */
  readonly snapshot: ClusterSnapshot | null;
  /**
   * The warm-pool settings seen in the listed pods, each with how many pods have it.
   * @default none
   */
  readonly warmSettings?: readonly {
    readonly settings: Readonly<Record<string, string>>;
    readonly pods: number;
  }[];
  /** The listing's error, when it failed. */
  readonly listError: string | undefined;
  /** Why the pod set may be out of date (the watch is down); `undefined` when current. */
  readonly listStale: string | undefined;
  /** True when shutdown interrupted the cycle (its data is discarded). */
  readonly aborted: boolean;
  /**
   * False for a sample taken only to set the counters' baselines (the first
   * of `--once`), whose figures are not published. @default true
   */
  readonly publish: boolean;
}
