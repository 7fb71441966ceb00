/**
 * AWS adapters: IMDS through `@aws-sdk/ec2-metadata-service` (IMDSv2
 * tokens, short timeouts, no retries); EC2 DescribeTags (identity);
 * DescribeInstances and DescribeSubnets (the subnet figures).
 *
 * @module
 */

import { sdkLogger } from "./sdk_logger.ts";
import { MetadataService } from "@aws-sdk/ec2-metadata-service";
import { type Clock, systemClock, untilAborted } from "../base/clock.ts";
import { errorText } from "../base/errors.ts";
import { type Imds, ImdsUnavailable, type TagReader } from "./identity.ts";

import type { SubnetEc2 } from "../sources/subnets.ts";
import type { SubnetFigure } from "../model/report.ts";

/** IMDS client options. */
export interface ImdsOptions {
  /** Endpoint override; otherwise the SDK's (`AWS_EC2_METADATA_SERVICE_ENDPOINT` included). */
  readonly endpoint?: string;
  /** Milliseconds one request may take (token and GET each). @default 1000 */
  readonly timeoutMs?: number;
  /** Time (the outer deadline). @default systemClock */
  readonly clock?: Clock;
}

/**
 * An IMDSv2 client that gives up fast: a blocked IMDS (hop limit 1 for pods
 * without host networking) fails in about `timeoutMs`.
 *
 * @param opts endpoint and timeout
 * @returns the client
 */
export function sdkImds(opts: ImdsOptions = {}): Imds {
  const timeoutMs = opts.timeoutMs ?? 1000;
  const svcOpts: ConstructorParameters<typeof MetadataService>[0] = {
    httpOptions: { timeout: timeoutMs },
    retries: 0,
    ec2MetadataV1Disabled: true,
  };
  if (opts.endpoint !== undefined) svcOpts.endpoint = opts.endpoint;
  const svc = new MetadataService(svcOpts);
  const clock = opts.clock ?? systemClock;
  return {
    async get(path: string): Promise<string | undefined> {
      // the SDK's own timeout covers each request; this bounds the whole call
      const deadline = clock.timeout(2 * timeoutMs);
      try {
        // the SDK joins the endpoint's path ("/") and ours: no leading slash here
        const answer = await untilAborted(svc.request(`latest/meta-data/${path}`, {}), deadline);
        if (answer === undefined) throw new ImdsUnavailable(`no answer within ${2 * timeoutMs} ms`);
        return answer;
      } catch (e) {
        if (e instanceof ImdsUnavailable) throw e;
        const status = (e as { $metadata?: { httpStatusCode?: number } }).$metadata
          ?.httpStatusCode;
        if (status === 404) return undefined;
        throw new ImdsUnavailable(
          errorText(e).replace(/^Error making request to the metadata service: /, ""),
        );
      }
    },
  };
}

/** How an EC2 client is made: `--profile`; endpoint and credentials overrides (tests). */
export interface Ec2Options {
  readonly profile?: string;
  readonly endpoint?: string;
  readonly credentials?: { accessKeyId: string; secretAccessKey: string };
}

/**
 * An EC2 client (`@aws-sdk/client-ec2`, loaded only when needed: it is
 * large) with real timeouts: a stalled request fails the attempt instead of
 * only warning (~120 s). Honours `AWS_ENDPOINT_URL_EC2` through the SDK.
 */
async function ec2Client(region: string, part: string, opts: Ec2Options) {
  const { EC2Client } = await import("@aws-sdk/client-ec2");
  return new EC2Client({
    region,
    maxAttempts: 2,
    logger: sdkLogger(part),
    requestHandler: {
      requestTimeout: 10_000,
      connectionTimeout: 3_000,
      throwOnRequestTimeout: true,
    },
    ...opts,
  });
}

/**
 * EC2 DescribeTags. Honours `AWS_ENDPOINT_URL_EC2` through the SDK.
 *
 * @param region the region
 * @param opts profile (`--profile`); endpoint and credentials overrides (tests)
 * @returns the reader
 */
export function sdkTagReader(region: string, opts: Ec2Options = {}): TagReader {
  return {
    async describeTags(instanceId: string, keys: readonly string[]) {
      const { DescribeTagsCommand } = await import("@aws-sdk/client-ec2");
      const client = await ec2Client(region, "identity", opts);
      try {
        const out = await client.send(
          new DescribeTagsCommand({
            Filters: [
              { Name: "resource-id", Values: [instanceId] },
              { Name: "key", Values: [...keys] },
            ],
          }),
        );
        const tags = new Map<string, string>();
        for (const t of out.Tags ?? []) {
          if (t.Key !== undefined && t.Value !== undefined) tags.set(t.Key, t.Value);
        }
        return tags;
      } finally {
        client.destroy();
      }
    },
  };
}

/** Instance ids (or subnet ids) a DescribeInstances (DescribeSubnets) call asks for at most. */
export const EC2_BATCH = 200;

function batches<T>(items: readonly T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

/**
 * EC2 DescribeInstances and DescribeSubnets for the subnet figures: ids in
 * batches of {@linkcode EC2_BATCH}, every page of each. One client for the
 * process; `close` destroys it.
 *
 * @param region the region
 * @param opts profile (`--profile`); endpoint and credentials overrides (tests)
 * @returns the reader
 */
export function sdkSubnetEc2(region: string, opts: Ec2Options = {}): SubnetEc2 & {
  close(): void;
} {
  let client: Awaited<ReturnType<typeof ec2Client>> | undefined;
  const get = async () => client ??= await ec2Client(region, "subnets", opts);
  return {
    async instanceSubnets(instanceIds, signal) {
      const { DescribeInstancesCommand } = await import("@aws-sdk/client-ec2");
      const c = await get();
      const subnets = new Set<string>();
      const eniSubnets = new Map<string, string>();
      for (const ids of batches(instanceIds, EC2_BATCH)) {
        let token: string | undefined;
        do {
          const out = await c.send(
            new DescribeInstancesCommand({ InstanceIds: ids, NextToken: token }),
            { abortSignal: signal },
          );
          for (const r of out.Reservations ?? []) {
            for (const i of r.Instances ?? []) {
              if (i.SubnetId) subnets.add(i.SubnetId);
              for (const eni of i.NetworkInterfaces ?? []) {
                if (eni.SubnetId) subnets.add(eni.SubnetId);
                if (eni.SubnetId && eni.NetworkInterfaceId) {
                  eniSubnets.set(eni.NetworkInterfaceId, eni.SubnetId);
                }
              }
            }
          }
          token = out.NextToken || undefined;
        } while (token !== undefined);
      }
      return { subnets: [...subnets].sort(), eniSubnets };
    },
    async subnets(subnetIds, signal) {
      const { DescribeSubnetsCommand } = await import("@aws-sdk/client-ec2");
      const c = await get();
      const out: SubnetFigure[] = [];
      for (const ids of batches(subnetIds, EC2_BATCH)) {
        let token: string | undefined;
        do {
          const page = await c.send(
            new DescribeSubnetsCommand({ SubnetIds: ids, NextToken: token }),
            { abortSignal: signal },
          );
          for (const sn of page.Subnets ?? []) {
            if (sn.SubnetId === undefined) continue;
            out.push({
              subnetId: sn.SubnetId,
              availabilityZone: sn.AvailabilityZone ?? "",
              available: sn.AvailableIpAddressCount ?? 0,
            });
          }
          token = page.NextToken || undefined;
        } while (token !== undefined);
      }
      return out.sort((a, b) => (a.subnetId < b.subnetId ? -1 : a.subnetId > b.subnetId ? 1 : 0));
    },
    close() {
      client?.destroy();
    },
  };
}
