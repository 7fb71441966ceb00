/**
 * What a run is given besides its config: the facts of the process that
 * `main.ts` reads ({@linkcode ProcessFacts}), and the seams a test may
 * replace ({@linkcode Seams}: adapters and hooks; `main.ts` passes none, so
 * each has the production default).
 *
 * @module
 */

import type { Clock } from "../base/clock.ts";
import type { CloudWatchOptions } from "../aws/cloudwatch_api.ts";
import type { CredentialEnv } from "../aws/credentials.ts";
import type { Imds, TagReader } from "../aws/identity.ts";
import type { LeaderTiming } from "../kube/leader_election.ts";
import type { FigureTable } from "../model/figures.ts";
import type { CycleReport } from "../model/report.ts";
import type { SubnetEc2 } from "../sources/subnets.ts";

/** Facts about the process that `main.ts` reads and hands in. */
export interface ProcessFacts {
  /** Program version. */
  readonly version: string;
  /** Running in a pod: `KUBERNETES_SERVICE_HOST` set and the service-account token mounted. */
  readonly inCluster: boolean;
  /** `~/.kube/config`, when a home directory is known. */
  readonly homeKubeconfig: string | undefined;
  /** AWS shared config file (`AWS_CONFIG_FILE` or `~/.aws/config`). */
  readonly awsConfigFile: string | undefined;
  /** AWS shared credentials file (`AWS_SHARED_CREDENTIALS_FILE` or `~/.aws/credentials`). */
  readonly awsCredentialsFile?: string | undefined;
  /** Which AWS credential variables are set. @default none */
  readonly credentialEnv?: CredentialEnv;
  /** `AWS_EC2_METADATA_DISABLED` is true. */
  readonly imdsDisabled: boolean;
  /** `POD_NAME` (downward API): the base of the leader-election identity. */
  readonly podName?: string | undefined;
  /** The pod's namespace, in a pod (the Lease's default namespace). */
  readonly podNamespace?: string | undefined;
  /** Writes one line to stdout (dry-run requests). */
  readonly writeStdout: (line: string) => void;
  /** Aborts on SIGTERM/SIGINT. */
  readonly shutdown: AbortSignal;
  /** Time. */
  readonly clock: Clock;
}

/** What a test may replace; each has the production default when absent. */
export interface Seams {
  /** Prefix of the service-account paths. @default "" */
  readonly inClusterRoot?: string;
  /** Lease timing. @default client-go's 15/10/2 s */
  readonly leaderTiming?: LeaderTiming;
  /** Milliseconds the final flush may take after shutdown. @default 8000 */
  readonly flushDeadlineMs?: number;
  /** CloudWatch client options. @default the SDK's */
  readonly cloudwatch?: Omit<CloudWatchOptions, "region">;
  /** IMDS. @default the SDK client */
  readonly imds?: Imds;
  /** DescribeTags. @default the SDK client */
  readonly ec2?: (region: string) => TagReader;
  /** DescribeInstances/DescribeSubnets. @default the SDK client */
  readonly subnetEc2?: (region: string) => SubnetEc2;
  /** The figures published. @default FIGURES */
  readonly figures?: FigureTable;
  /** Called after every cycle, after the other outputs. @default none */
  readonly onCycle?: (report: CycleReport) => void;
  /** Called with the HTTP server's address once it listens. @default none */
  readonly onListen?: (addr: Deno.NetAddr) => void;
}

/** Everything a run is given besides its config. */
export type Runtime = ProcessFacts & Seams;

/** Milliseconds the shutdown flush may take. @default 8000 */
export const FLUSH_DEADLINE_MS = 8000;
