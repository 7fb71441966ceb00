/**
 * Region and cluster id resolution (DESIGN.md "Contract"), pure over its
 * inputs: the sources are passed in as values or small interfaces.
 *
 * Region: `--region` → `AWS_REGION` → `AWS_DEFAULT_REGION` → the EKS
 * kubeconfig context → the AWS profile → IMDS `placement/region`.
 * Cluster id: `--cluster-id` → `AWS_CLUSTER_ID` → the EKS kubeconfig context
 * → instance tags (`eks:cluster-name`, `CLUSTER_ID`, `Name`) through IMDS,
 * else EC2 DescribeTags → `k8s-cluster` with a warning.
 *
 * @module
 */

import type { Sourced } from "../cli/config.ts";
import { awsErrorText, errorText, UserError } from "../base/errors.ts";

/** Instance tags tried for the cluster id, in order. */
export const CLUSTER_TAGS: readonly string[] = Object.freeze([
  "eks:cluster-name",
  "CLUSTER_ID",
  "Name",
]);

/** The cluster id used when nothing names one. */
export const DEFAULT_CLUSTER_ID = "k8s-cluster";

/** Resolution failed in a way the user must fix (exit 2). */
export class IdentityError extends UserError {
  /**
   * @param message says which flag or variable to set
   */
  constructor(message: string) {
    super(message);
    this.name = "IdentityError";
  }
}

/** IMDS could not be reached (blocked, timed out, disabled). */
export class ImdsUnavailable extends Error {
  /**
   * @param message why
   */
  constructor(message: string) {
    super(message);
    this.name = "ImdsUnavailable";
  }
}

/** The instance metadata service, as far as identity needs it. */
export interface Imds {
  /**
   * @param path below `/latest/meta-data/`
   * @returns the text, or `undefined` on 404
   * @throws {ImdsUnavailable} when IMDS cannot be reached
   */
  get(path: string): Promise<string | undefined>;
}

/** EC2 DescribeTags for one instance. */
export interface TagReader {
  /**
   * @param instanceId the instance
   * @param keys tag keys wanted
   * @returns the tags found
   */
  describeTags(instanceId: string, keys: readonly string[]): Promise<Map<string, string>>;
}

/** What an EKS kubeconfig context tells. */
export interface EksHint {
  /** Region from the cluster ARN or the exec args. */
  readonly region: string | undefined;
  /** Cluster name from the cluster ARN or the exec args. */
  readonly clusterName: string | undefined;
  /** Where it came from, for the log. */
  readonly source: string;
}

/** The parts of a kubeconfig context that identity reads. */
export interface KubeContextInfo {
  /** Context name. */
  readonly contextName: string;
  /** Cluster name (an ARN when written by `aws eks update-kubeconfig`). */
  readonly clusterName: string;
  /** Cluster server URL. */
  readonly server: string;
  /** The user's exec plugin command and args, if any. */
  readonly exec: { readonly command: string; readonly args: readonly string[] } | undefined;
}

const EKS_ARN = /^arn:aws[a-z-]*:eks:([a-z0-9-]+):\d{12}:cluster\/(.+)$/;

/**
 * Reads region and cluster name from an EKS kubeconfig context: the cluster
 * ARN, else `aws eks get-token --cluster-name N --region R` or
 * `aws-iam-authenticator token -i N` args.
 *
 * @param ctx the current context's cluster and user
 * @returns the hint, or `undefined` for a non-EKS context
 */
export function eksFromKubeContext(ctx: KubeContextInfo): EksHint | undefined {
  for (const name of [ctx.clusterName, ctx.contextName]) {
    const m = EKS_ARN.exec(name);
    if (m) {
      return { region: m[1], clusterName: m[2], source: `kubeconfig cluster ARN ${name}` };
    }
  }
  if (ctx.exec === undefined) return undefined;
  const args = ctx.exec.args;
  const arg = (...flags: string[]): string | undefined => {
    for (let i = 0; i < args.length; i++) {
      const a = args[i] as string;
      for (const f of flags) {
        if (a === f) return args[i + 1];
        if (a.startsWith(`${f}=`)) return a.slice(f.length + 1);
      }
    }
    return undefined;
  };
  const isAwsCli = args.includes("eks") && args.includes("get-token");
  const isAuthenticator = ctx.exec.command.includes("aws-iam-authenticator");
  if (!isAwsCli && !isAuthenticator) return undefined;
  const clusterName = isAwsCli ? arg("--cluster-name") : arg("-i", "--cluster-id");
  const region = arg("--region") ?? /\.([a-z0-9-]+)\.eks\.amazonaws\.com/.exec(ctx.server)?.[1];
  if (clusterName === undefined && region === undefined) return undefined;
  return { region, clusterName, source: `kubeconfig exec args (${ctx.exec.command})` };
}

/**
 * The region of a profile in an AWS shared config file.
 *
 * @param text the file (`~/.aws/config`)
 * @param profile profile name; `default` when undefined
 * @returns the region, or `undefined`
 */
export function regionFromSharedConfig(
  text: string,
  profile: string | undefined,
): string | undefined {
  const want = profile ?? "default";
  let section: string | undefined;
  for (const raw of text.split(/\r?\n/)) {
    const line = raw.replace(/[#;].*$/, "").trim();
    const head = /^\[\s*(?:profile\s+)?([^\]]+?)\s*\]$/.exec(line);
    if (head) {
      section = head[1];
      continue;
    }
    const kv = /^region\s*=\s*(\S+)$/.exec(line);
    if (kv && section === want) return kv[1];
  }
  return undefined;
}

/** Everything identity may consult, in resolution order. */
export interface IdentityInputs {
  /** From `--cluster-id` / `AWS_CLUSTER_ID`. */
  readonly clusterId: Sourced | undefined;
  /** From `--region` / `AWS_REGION` / `AWS_DEFAULT_REGION`. */
  readonly region: Sourced | undefined;
  /** From the kubeconfig context. */
  readonly eks: EksHint | undefined;
  /** From the AWS profile. */
  readonly profileRegion: Sourced | undefined;
  /** IMDS; `undefined` when `AWS_EC2_METADATA_DISABLED` is set. */
  readonly imds: Imds | undefined;
  /** EC2 DescribeTags client factory for a region. */
  readonly ec2: ((region: string) => TagReader) | undefined;
  /** Whether a region is required (CloudWatch or the dashboard is on). */
  readonly needRegion: boolean;
}

/** The resolved identity. */
export interface Identity {
  /** Region and its source; `undefined` only when not needed and not found. */
  readonly region: Sourced | undefined;
  /** Cluster id and its source. */
  readonly clusterId: Sourced;
  /** Things the user should know (e.g. the default cluster id). */
  readonly warnings: readonly string[];
  /** Each source consulted, in order, and what it gave (logged at debug). */
  readonly tried: readonly string[];
}

/**
 * Resolves region and cluster id.
 *
 * @param inp the sources
 * @returns the identity
 * @throws {IdentityError} when IMDS is needed but unreachable, naming what to set
 */
export async function resolveIdentity(inp: IdentityInputs): Promise<Identity> {
  const warnings: string[] = [];
  const tried: string[] = [];
  const note = (what: string, source: string, got: string | undefined) =>
    tried.push(`${what} from ${source}: ${got ?? "none"}`);
  let imdsProblem: string | undefined = inp.imds === undefined
    ? "IMDS is disabled (AWS_EC2_METADATA_DISABLED)"
    : undefined;
  const imdsGet = async (path: string): Promise<string | undefined> => {
    if (inp.imds === undefined || imdsProblem !== undefined) {
      note("IMDS", path, imdsProblem ?? "disabled");
      return undefined;
    }
    try {
      const v = (await inp.imds.get(path))?.trim() || undefined;
      note("IMDS", path, v);
      return v;
    } catch (e) {
      imdsProblem = `IMDS unreachable: ${errorText(e)}`;
      note("IMDS", path, imdsProblem);
      return undefined;
    }
  };

  let region: Sourced | undefined = inp.region;
  note("region", "--region, AWS_REGION, AWS_DEFAULT_REGION", inp.region?.value);
  if (region === undefined) {
    note("region", "the kubeconfig's EKS context", inp.eks?.region);
    if (inp.eks?.region !== undefined) region = { value: inp.eks.region, source: inp.eks.source };
  }
  if (region === undefined) {
    note("region", "the AWS profile", inp.profileRegion?.value);
    region = inp.profileRegion;
  }
  if (region === undefined) {
    const r = await imdsGet("placement/region");
    if (r !== undefined) region = { value: r, source: "IMDS placement/region" };
  }
  // every missing piece is said in one run, not one a run
  const missing: string[] = [];
  if (region === undefined && inp.needRegion) {
    missing.push(
      `no AWS region: set AWS_REGION (or --region)${imdsProblem ? `; ${imdsProblem}` : ""}`,
    );
  }

  let clusterId: Sourced | undefined = inp.clusterId;
  note("cluster id", "--cluster-id, AWS_CLUSTER_ID", inp.clusterId?.value);
  if (clusterId === undefined) {
    note("cluster id", "the kubeconfig's EKS context", inp.eks?.clusterName);
    if (inp.eks?.clusterName !== undefined) {
      clusterId = { value: inp.eks.clusterName, source: inp.eks.source };
    }
  }
  if (clusterId === undefined) {
    clusterId = await clusterIdFromInstance(imdsGet, inp, region, warnings, note);
    if (clusterId === undefined && imdsProblem !== undefined) {
      missing.push(`no cluster id: set AWS_CLUSTER_ID (or --cluster-id); ${imdsProblem}`);
    }
  }
  if (missing.length > 0) throw new IdentityError(missing.join(". Also: "));
  if (clusterId === undefined) {
    warnings.push(
      `no cluster id found in the flags, environment, kubeconfig or instance tags ` +
        `(${CLUSTER_TAGS.join(", ")}): using "${DEFAULT_CLUSTER_ID}"; set AWS_CLUSTER_ID ` +
        `to your cluster's name`,
    );
    clusterId = { value: DEFAULT_CLUSTER_ID, source: "default" };
  }
  return { region, clusterId, warnings, tried };
}

async function clusterIdFromInstance(
  imdsGet: (path: string) => Promise<string | undefined>,
  inp: IdentityInputs,
  region: Sourced | undefined,
  warnings: string[],
  note: (what: string, source: string, got: string | undefined) => void,
): Promise<Sourced | undefined> {
  const keys = await imdsGet("tags/instance");
  if (keys !== undefined) {
    const available = new Set(keys.split("\n").map((k) => k.trim()));
    for (const tag of CLUSTER_TAGS) {
      if (!available.has(tag)) continue;
      const v = await imdsGet(`tags/instance/${tag}`);
      if (v !== undefined) return { value: v, source: `IMDS instance tag ${tag}` };
    }
  }
  const instanceId = await imdsGet("instance-id");
  if (instanceId === undefined || inp.ec2 === undefined || region === undefined) return undefined;
  try {
    const tags = await inp.ec2(region.value).describeTags(instanceId, CLUSTER_TAGS);
    for (const tag of CLUSTER_TAGS) {
      const v = tags.get(tag);
      if (v !== undefined && v !== "") {
        note("cluster id", `EC2 DescribeTags ${instanceId} tag ${tag}`, v);
        return { value: v, source: `EC2 DescribeTags ${instanceId} tag ${tag}` };
      }
    }
    note("cluster id", `EC2 DescribeTags ${instanceId}`, `none of ${CLUSTER_TAGS.join(", ")}`);
  } catch (e) {
    note("cluster id", `EC2 DescribeTags ${instanceId}`, awsErrorText(e));
    warnings.push(
      `EC2 DescribeTags for ${instanceId} failed (${awsErrorText(e)}): grant ` +
        `ec2:DescribeTags or set AWS_CLUSTER_ID`,
    );
  }
  return undefined;
}
