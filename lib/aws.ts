/**
 * AWS adapters for identity: IMDS through `@aws-sdk/ec2-metadata-service`
 * (IMDSv2 tokens, short timeouts, no retries) and EC2 DescribeTags.
 *
 * @module
 */

import { sdkLogger } from "./sdk_logger.ts";
import { MetadataService } from "@aws-sdk/ec2-metadata-service";
import { type Clock, systemClock, untilAborted } from "./clock.ts";
import { errorText } from "./errors.ts";
import { type Imds, ImdsUnavailable, type TagReader } from "./identity.ts";

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

/**
 * EC2 DescribeTags through `@aws-sdk/client-ec2` (loaded only when needed:
 * it is large). Honours `AWS_ENDPOINT_URL_EC2` through the SDK.
 *
 * @param region the region
 * @param opts profile (`--profile`); endpoint and credentials overrides (tests)
 * @returns the reader
 */
export function sdkTagReader(
  region: string,
  opts: {
    readonly profile?: string;
    readonly endpoint?: string;
    readonly credentials?: { accessKeyId: string; secretAccessKey: string };
  } = {},
): TagReader {
  return {
    async describeTags(instanceId: string, keys: readonly string[]) {
      const { EC2Client, DescribeTagsCommand } = await import("@aws-sdk/client-ec2");
      const client = new EC2Client({
        region,
        maxAttempts: 2,
        logger: sdkLogger("identity"),
        // a stalled request fails the attempt instead of only warning (~120 s)
        requestHandler: {
          requestTimeout: 10_000,
          connectionTimeout: 3_000,
          throwOnRequestTimeout: true,
        },
        ...opts,
      });
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
