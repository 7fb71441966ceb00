/**
 * The AWS side of a run's set-up: region and cluster id (each source
 * consulted is kept for the debug log), what the run calls AWS for, the
 * start-up credentials check, and the CloudWatch client and output.
 *
 * @module
 */

import type { Config } from "../cli/config.ts";
import type { CloudWatchClient } from "@aws-sdk/client-cloudwatch";
import { cloudWatchClient, CloudWatchPublisher, DryRunPublisher } from "../aws/cloudwatch_api.ts";
import { findCredentials } from "../aws/credentials.ts";
import {
  eksFromKubeContext,
  type Identity,
  IdentityError,
  type Imds,
  type KubeContextInfo,
  regionFromSharedConfig,
  resolveIdentity,
} from "../aws/identity.ts";
import { sdkImds, sdkTagReader } from "../aws/sdk_clients.ts";
import { RuntimeError } from "../base/errors.ts";
import { logger } from "../base/logging.ts";
import { CloudWatchSink } from "../outputs/cloudwatch.ts";
import type { Runtime } from "./runtime.ts";

const log = () => logger();

/**
 * Resolves region and cluster id from the config, the kubeconfig context,
 * the AWS profile and the instance, and logs one line saying where each came from.
 */
export async function resolve(
  config: Config,
  rt: Runtime,
  context: KubeContextInfo | undefined,
): Promise<Identity> {
  const eks = context === undefined ? undefined : eksFromKubeContext(context);
  const profileRegion = await readProfileRegion(rt.awsConfigFile, config.profile);
  const needRegion = awsUses(config).length > 0;
  const identity = await resolveIdentity({
    clusterId: config.clusterId,
    region: config.region,
    eks,
    profileRegion,
    imds: imdsFor(rt),
    ec2: rt.ec2 ??
      ((region) =>
        sdkTagReader(region, config.profile === undefined ? {} : { profile: config.profile })),
    needRegion,
  }).catch((e) => {
    // the dashboard's widgets name both, so its dry run needs them too (the collector's does not)
    if (e instanceof IdentityError && config.command === "dashboard") {
      throw new IdentityError(
        `${e.message} (the dashboard's widgets name the region and the ` +
          `cluster id, so "dashboard --dry-run" needs them too)`,
      );
    }
    throw e;
  });
  for (const t of identity.tried) log().debug(`identity: ${t}`);
  for (const w of identity.warnings) log().warn("{warning}", { warning: w });
  log().info(
    "region {region} (from {regionSource}), cluster id {clusterId} (from {clusterIdSource})",
    {
      region: identity.region?.value ?? "none",
      regionSource: identity.region?.source ?? "nowhere: not needed",
      clusterId: identity.clusterId.value,
      clusterIdSource: identity.clusterId.source,
    },
  );
  return identity;
}

/**
 * Region and cluster id, then (when the run calls AWS) the credentials
 * check: every problem of the two in one error, so one run says all there
 * is to fix (exit 2 when any of them is a value to set, else 1).
 *
 * @param config the resolved config
 * @param rt process facts and seams
 * @param context the kubeconfig's current context, if any
 * @returns the identity
 * @throws {IdentityError} naming every problem when one is a missing value
 * @throws {RuntimeError} when only the credentials are missing
 */
export async function resolveForAws(
  config: Config,
  rt: Runtime,
  context: KubeContextInfo | undefined,
): Promise<Identity> {
  let identity: Identity | undefined;
  let identityError: IdentityError | undefined;
  try {
    identity = await resolve(config, rt, context);
  } catch (e) {
    if (!(e instanceof IdentityError)) throw e;
    identityError = e;
  }
  let credentialsError: RuntimeError | undefined;
  if (awsUses(config).length > 0 && !(config.command === "dashboard" && config.dryRun)) {
    try {
      await checkCredentials(config, rt);
    } catch (e) {
      if (!(e instanceof RuntimeError)) throw e;
      credentialsError = e;
    }
  }
  if (identity === undefined) {
    const e = identityError ?? new IdentityError("region and cluster id could not be resolved");
    throw credentialsError === undefined
      ? e
      : new IdentityError(`${e.message}. Also: ${credentialsError.message}`);
  }
  if (credentialsError !== undefined) throw credentialsError;
  return identity;
}

/**
 * What this run calls AWS for (beyond identity): CloudWatch when it publishes
 * or makes the dashboard, EC2 for `--subnets`. Empty: no region and no
 * credentials are needed.
 */
export function awsUses(config: Config): string[] {
  return [
    ...(config.command === "dashboard" ||
        (config.command === "collect" && config.cloudwatch && !config.dryRun)
      ? ["CloudWatch"]
      : []),
    ...(config.command !== "dashboard" && config.subnets ? ["EC2 (--subnets)"] : []),
  ];
}

/** IMDS: the runtime's (tests), the SDK's, or none when `AWS_EC2_METADATA_DISABLED`. */
export function imdsFor(rt: Runtime): Imds | undefined {
  return rt.imdsDisabled ? undefined : (rt.imds ?? sdkImds({ clock: rt.clock }));
}

/**
 * Fails in seconds, before any port is bound, when no source of AWS
 * credentials is present (see aws/credentials.ts); logs the one found at debug.
 */
export async function checkCredentials(config: Config, rt: Runtime): Promise<void> {
  if (rt.cloudwatch?.credentials !== undefined) return;
  const files = [rt.awsCredentialsFile, rt.awsConfigFile].filter((f) => f !== undefined);
  const source = await findCredentials({
    env: rt.credentialEnv ?? { staticKeys: false, webIdentity: false, container: false },
    profile: config.profile,
    files,
    readFile: (path) => Deno.readTextFile(path),
    imds: imdsFor(rt),
    purpose: awsUses(config).join(" and "),
    alternatives: config.command === "dashboard"
      ? "run with --dry-run (prints the dashboard and alarms, sends nothing)"
      : config.command === "report"
      ? "run without --subnets"
      : `run with --dry-run or --no-cloudwatch${config.subnets ? " and without --subnets" : ""}`,
  });
  log().debug("AWS credentials from {source}", { source });
}

/** The region of the AWS profile in the shared config file, if it sets one. */
async function readProfileRegion(
  file: string | undefined,
  profile: string | undefined,
): Promise<{ value: string; source: string } | undefined> {
  if (file === undefined) return undefined;
  let text: string;
  try {
    text = await Deno.readTextFile(file);
  } catch {
    return undefined;
  }
  const region = regionFromSharedConfig(text, profile);
  return region === undefined
    ? undefined
    : { value: region, source: `AWS profile ${profile ?? "default"} in ${file}` };
}

/** The CloudWatch output (the SDK, or the dry-run printer); `undefined` when CloudWatch is off. */
export function cloudWatchSinkFor(
  config: Config,
  rt: Runtime,
  identity: Identity,
): CloudWatchSink | undefined {
  if (!config.dryRun && !config.cloudwatch) return undefined;
  const publisher = config.dryRun
    ? new DryRunPublisher(rt.writeStdout)
    : new CloudWatchPublisher(cloudWatchFor(config, rt, identity.region?.value as string));
  return new CloudWatchSink(publisher, {
    clusterId: identity.clusterId.value,
    maxDatums: config.bufferMaxDatums,
    clock: rt.clock,
    intervalSeconds: config.intervalSeconds,
    ...(rt.figures !== undefined ? { figures: rt.figures } : {}),
  });
}

/** The CloudWatch client for a region: `--profile`, and the runtime's overrides (tests). */
export function cloudWatchFor(config: Config, rt: Runtime, region: string): CloudWatchClient {
  return cloudWatchClient({
    region,
    ...(config.profile !== undefined ? { profile: config.profile } : {}),
    ...rt.cloudwatch,
  });
}
