/**
 * Publishers: the CloudWatch SDK client, and the `--dry-run` printer that
 * writes each request as one JSON line.
 *
 * @module
 */

import { sdkLogger } from "./sdk_logger.ts";
import {
  CloudWatchClient,
  type CloudWatchClientConfig,
  PutDashboardCommand,
  PutMetricAlarmCommand,
  type PutMetricAlarmCommandInput,
  PutMetricDataCommand,
} from "@aws-sdk/client-cloudwatch";
import type { AlarmInput } from "../outputs/dashboard.ts";
import { awsErrorText, RuntimeError } from "../base/errors.ts";
import type { Publisher, PutRequest } from "../outputs/datum_buffer.ts";

/** How to reach CloudWatch. */
export interface CloudWatchOptions {
  /** Region. */
  readonly region: string;
  /** Endpoint override (tests); otherwise the SDK's own (`AWS_ENDPOINT_URL_CLOUDWATCH` included). */
  readonly endpoint?: string;
  /** AWS shared-config profile (`--profile`); `AWS_PROFILE` is read by the SDK itself. */
  readonly profile?: string;
  /** Credentials override (tests); otherwise the SDK's default chain. */
  readonly credentials?: CloudWatchClientConfig["credentials"];
  /** Attempts per request, retries with backoff and jitter included. @default 3 */
  readonly maxAttempts?: number;
  /** Milliseconds one HTTP attempt may take. @default 10000 */
  readonly requestTimeoutMs?: number;
}

/**
 * Builds the CloudWatch client (standard retry mode: exponential backoff with
 * full jitter for throttling, 5xx and transient network errors).
 *
 * @param opts region and overrides
 * @returns the client
 */
export function cloudWatchClient(opts: CloudWatchOptions): CloudWatchClient {
  const config: CloudWatchClientConfig = {
    region: opts.region,
    maxAttempts: opts.maxAttempts ?? 3,
    retryMode: "standard",
    logger: sdkLogger("cloudwatch"),
    requestHandler: {
      requestTimeout: opts.requestTimeoutMs ?? 10_000,
      connectionTimeout: 3_000,
      // without it the handler only warns (a non-JSON line on stderr) and a
      // stalled request holds ~120 s (DESIGN.md, "Known traps")
      throwOnRequestTimeout: true,
    },
  };
  if (opts.endpoint !== undefined) config.endpoint = opts.endpoint;
  if (opts.profile !== undefined) config.profile = opts.profile;
  if (opts.credentials !== undefined) config.credentials = opts.credentials;
  return new CloudWatchClient(config);
}

/** Publishes through the SDK. */
export class CloudWatchPublisher implements Publisher {
  readonly target = "CloudWatch";
  readonly sends = true;
  readonly #client: CloudWatchClient;
  #onAttempt: (ok: boolean) => void = () => {};

  /**
   * @param client the SDK client (an attempt counter is added to its middleware)
   */
  constructor(client: CloudWatchClient) {
    this.#client = client;
    // the deserialize step runs once per attempt, below the retry middleware
    client.middlewareStack.add(
      (next) => async (args) => {
        try {
          const out = await next(args);
          this.#onAttempt(true);
          return out;
        } catch (e) {
          this.#onAttempt(false);
          throw e;
        }
      },
      { step: "deserialize", name: "cniMetricsHelperAttempts", priority: "high" },
    );
  }

  observeAttempts(fn: (ok: boolean) => void): void {
    this.#onAttempt = fn;
  }

  async put(request: PutRequest, signal: AbortSignal): Promise<void> {
    await this.#client.send(
      new PutMetricDataCommand({
        Namespace: request.Namespace,
        MetricData: request.MetricData.map((d) => ({
          MetricName: d.MetricName,
          Dimensions: d.Dimensions.map((x) => ({ Name: x.Name, Value: x.Value })),
          Timestamp: d.Timestamp,
          Value: d.Value,
          Unit: d.Unit,
        })),
      }),
      { abortSignal: signal },
    );
  }
}

/** `--dry-run`: prints each request as one JSON line instead of sending it. */
export class DryRunPublisher implements Publisher {
  readonly target = "stdout (dry run)";
  readonly sends = false;
  readonly #write: (line: string) => void;

  /**
   * @param write receives each line (main.ts passes a stdout writer)
   */
  constructor(write: (line: string) => void) {
    this.#write = write;
  }

  put(request: PutRequest): Promise<void> {
    this.#write(JSON.stringify(request));
    return Promise.resolve();
  }
}

/** A dashboard or alarm call CloudWatch refused, naming the IAM action. */
export class CloudWatchCallError extends RuntimeError {
  /**
   * @param message names the action and CloudWatch's answer
   */
  constructor(message: string) {
    super(message);
    this.name = "CloudWatchCallError";
  }
}

function callError(action: string, e: unknown): CloudWatchCallError {
  const name = (e as { name?: string }).name ?? "";
  const text = awsErrorText(e);
  if (/AccessDenied|UnauthorizedOperation|NotAuthorized/i.test(name)) {
    return new CloudWatchCallError(
      `${action} was denied: the caller lacks the IAM permission cloudwatch:${action} (${text})`,
    );
  }
  return new CloudWatchCallError(`${action} failed: ${text}`);
}

/**
 * Creates or replaces a dashboard.
 *
 * @param client the SDK client
 * @param name dashboard name
 * @param body the body object
 * @returns CloudWatch's validation messages (empty when all is well)
 * @throws {CloudWatchCallError} naming `cloudwatch:PutDashboard` when denied
 */
export async function putDashboard(
  client: CloudWatchClient,
  name: string,
  body: unknown,
): Promise<string[]> {
  try {
    const out = await client.send(
      new PutDashboardCommand({ DashboardName: name, DashboardBody: JSON.stringify(body) }),
    );
    return (out.DashboardValidationMessages ?? []).map((m) =>
      `${m.DataPath ?? ""}: ${m.Message ?? ""}`
    );
  } catch (e) {
    throw callError("PutDashboard", e);
  }
}

/**
 * Creates or updates an alarm.
 *
 * @param client the SDK client
 * @param input the alarm
 * @throws {CloudWatchCallError} naming `cloudwatch:PutMetricAlarm` when denied
 */
export async function putMetricAlarm(client: CloudWatchClient, input: AlarmInput): Promise<void> {
  try {
    // the alarm definitions are plain JSON in the API's shape (model/figures.ts declares them)
    const plain: PutMetricAlarmCommandInput = JSON.parse(JSON.stringify(input));
    await client.send(new PutMetricAlarmCommand(plain));
  } catch (e) {
    throw callError("PutMetricAlarm", e);
  }
}
