/**
 * Test harness: a fake API server and a local CloudWatch, a kubeconfig for
 * them, log capture, and the helper run in-process or as a subprocess.
 *
 * @module
 */

import { parseConfig } from "../../lib/cli/config.ts";
import { runApp, type Runtime } from "../../lib/app/app.ts";
import { connect, type KubeConnection } from "../../lib/kube/kubeconfig.ts";
import type { Clock } from "../../lib/base/clock.ts";
import { fastClock } from "./fake_clock.ts";

import { errorText, exitCodeFor } from "../../lib/base/errors.ts";
import { ImdsUnavailable } from "../../lib/aws/identity.ts";
import { logger } from "../../lib/base/logging.ts";
import { LogCapture } from "./logs.ts";
import { passThrough } from "../../tools/spawn.ts";
import { FakeApiServer } from "../../tools/fake_apiserver.ts";
import { FakeCloudWatch } from "./fake_cloudwatch.ts";
import denoJson from "../../deno.json" with { type: "json" };
import type { CycleReport } from "../../lib/model/report.ts";

export { passThrough, spawnHelper } from "../../tools/spawn.ts";

/** Fixed test credentials (the fake records the access key id). */
export const TEST_CREDENTIALS = {
  accessKeyId: "AKIDTESTEXAMPLE",
  secretAccessKey: "test-secret-do-not-log",
};

/** A running fake API server and CloudWatch with a kubeconfig for them. */
export class World {
  readonly api: FakeApiServer;
  readonly cw: FakeCloudWatch;
  readonly dir: string;
  readonly kubeconfig: string;
  /** Captured log lines (JSON). */
  readonly logs: string[];
  /** Captured stdout lines. */
  readonly stdout: string[] = [];
  #capture: LogCapture;

  private constructor(api: FakeApiServer, cw: FakeCloudWatch, dir: string, logs: LogCapture) {
    this.#capture = logs;
    this.logs = logs.lines;
    this.api = api;
    this.cw = cw;
    this.dir = dir;
    // under $HOME/.kube: the only kubeconfig place the start task may read
    Deno.mkdirSync(`${dir}/.kube`);
    this.kubeconfig = `${dir}/.kube/config`;
    api.writeKubeconfig(this.kubeconfig);
  }

  /** Starts both fakes and captures logs. */
  static async start(): Promise<World> {
    const logs = await LogCapture.start();
    return new World(FakeApiServer.start(), FakeCloudWatch.start(), Deno.makeTempDirSync(), logs);
  }

  /**
   * Resolves once `n` log messages (counting those already logged) match `match`.
   *
   * @param match the test of a message
   * @param n how many in total @default 1
   */
  logged(match: (msg: string) => boolean, n = 1): Promise<void> {
    return this.#capture.logged(match, n);
  }

  /** Parsed log records. */
  records(): Record<string, unknown>[] {
    return this.logs.map((l) => JSON.parse(l) as Record<string, unknown>);
  }

  /** Log messages at a level. */
  messages(level: string): string[] {
    return this.records().filter((r) => r["level"] === level).map((r) => String(r["msg"]));
  }

  /**
   * Runs the helper in-process with `args` (kubeconfig, region and cluster id added).
   *
   * @param args flags
   * @param opts shutdown signal, cycle hook, clock (default: real time 10 times faster, so
   *   `--interval 2` takes 200 ms)
   * @returns the exit code
   */
  async run(
    args: string[],
    opts: {
      shutdown?: AbortSignal;
      onCycle?: (r: CycleReport) => void;
      clock?: Clock;
      extra?: Partial<Runtime>;
      /** Leave out the default `--region us-test-1`. */
      noRegion?: boolean;
      /** No AWS credentials given (the start-up check looks for them as in production). */
      noCredentials?: boolean;
      /** Environment variables the config reads (flags win). @default none */
      env?: Record<string, string>;
    } = {},
  ): Promise<number> {
    const collect = args[0] !== "dashboard" && args[0] !== "report";
    const parsed = parseConfig(
      [
        "--kubeconfig",
        this.kubeconfig,
        ...(opts.noRegion ? [] : ["--region", "us-test-1"]),
        "--cluster-id",
        "test",
        ...(collect && !args.includes("--once") ? ["--listen", "127.0.0.1:0"] : []),
        ...args,
      ],
      opts.env ?? {},
    );
    if (parsed.kind !== "run") throw new Error("expected a run config");
    // what main.ts does with a thrown error: log it, map it to the exit code
    return await runApp(parsed.config, {
      version: denoJson.version,
      inCluster: false,
      homeKubeconfig: undefined,
      awsConfigFile: undefined,
      imdsDisabled: false,
      writeStdout: (l) => this.stdout.push(l),
      shutdown: opts.shutdown ?? new AbortController().signal,
      clock: opts.clock ?? fastClock(10),
      cloudwatch: {
        endpoint: this.cw.url,
        ...(opts.noCredentials ? {} : { credentials: TEST_CREDENTIALS }),
        requestTimeoutMs: 2000,
      },
      imds: { get: () => Promise.reject(new ImdsUnavailable("no IMDS in tests")) },
      ...(opts.onCycle ? { onCycle: opts.onCycle } : {}),
      ...opts.extra,
    }).catch((e) => {
      logger().error("{error}", { error: errorText(e) });
      return exitCodeFor(e);
    });
  }

  /** Environment for a subprocess run of main.ts against these fakes. */
  env(extra: Record<string, string> = {}): Record<string, string> {
    return {
      PATH: Deno.env.get("PATH") ?? "/usr/bin:/bin",
      HOME: this.dir,
      AWS_ACCESS_KEY_ID: TEST_CREDENTIALS.accessKeyId,
      AWS_SECRET_ACCESS_KEY: TEST_CREDENTIALS.secretAccessKey,
      AWS_ENDPOINT_URL_CLOUDWATCH: this.cw.url,
      AWS_EC2_METADATA_DISABLED: "true",
      DENO_NO_UPDATE_CHECK: "1",
      ...passThrough(),
      ...extra,
    };
  }

  /** Stops both fakes and removes the temp dir. */
  async close(): Promise<void> {
    await this.api.close();
    await this.cw.close();
    Deno.removeSync(this.dir, { recursive: true });
  }
}

/** Reads a stream line by line, calling `onLine` for each; resolves at its end. */
export async function readLines(
  stream: ReadableStream<Uint8Array>,
  onLine: (line: string) => void,
): Promise<void> {
  let rest = "";
  for await (const chunk of stream.pipeThrough(new TextDecoderStream())) {
    rest += chunk;
    let i;
    while ((i = rest.indexOf("\n")) >= 0) {
      onLine(rest.slice(0, i));
      rest = rest.slice(i + 1);
    }
  }
  if (rest !== "") onLine(rest);
}

/**
 * Groups accepted datums by timestamp: timestamp → metric → value. A datum
 * with dimensions besides `CLUSTER_ID` is keyed `name{value,...}`, e.g.
 * `subnetAvailableIPAddresses{subnet-1}`.
 */
export function byTimestamp(
  datums: readonly {
    MetricName: string;
    Value: number;
    Timestamp: number;
    Dimensions?: readonly { Name: string; Value: string }[];
  }[],
): Map<number, Map<string, number>> {
  const out = new Map<number, Map<string, number>>();
  for (const d of datums) {
    const m = out.get(d.Timestamp) ?? new Map<string, number>();
    const extra = (d.Dimensions ?? []).filter((x) => x.Name !== "CLUSTER_ID").map((x) => x.Value);
    const key = extra.length === 0 ? d.MetricName : `${d.MetricName}{${extra.join(",")}}`;
    if (m.has(key)) throw new Error(`${key} at ${d.Timestamp} received twice`);
    m.set(key, d.Value);
    out.set(d.Timestamp, m);
  }
  return out;
}

/**
 * A connection through the kubeconfig file at `path`.
 *
 * @param path the kubeconfig
 * @returns the connection (close it)
 */
export function connectTo(path: string): Promise<KubeConnection> {
  return connect({
    kubeconfig: [path],
    context: undefined,
    inCluster: false,
    homeConfig: undefined,
  });
}

/** A test body that gets a started {@linkcode World} and always closes it. */
export function withWorld(fn: (w: World) => Promise<void>): () => Promise<void> {
  return async () => {
    const w = await World.start();
    try {
      await fn(w);
    } finally {
      await w.close();
    }
  };
}
