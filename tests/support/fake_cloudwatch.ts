/**
 * A local CloudWatch endpoint for tests: speaks the AWS JSON 1.0 protocol
 * the SDK uses (`X-Amz-Target: GraniteServiceVersion20100801.<Op>`), honours
 * `Content-Encoding: gzip`, records every accepted datum with the access key
 * id and region that signed the request, and fails on cue (throttling, 5xx).
 *
 * @module
 */

/** One datum as CloudWatch received it. */
export interface ReceivedDatum {
  readonly MetricName: string;
  readonly Value: number;
  readonly Timestamp: number;
  readonly Unit: string | undefined;
  readonly Dimensions: readonly { Name: string; Value: string }[];
}

/** One request as received. */
export interface ReceivedRequest {
  /** Operation, e.g. `PutMetricData`. */
  readonly operation: string;
  /** The JSON body. */
  readonly body: Record<string, unknown>;
  /** Access key id from the SigV4 Authorization header. */
  readonly accessKeyId: string | undefined;
  /** Region from the SigV4 credential scope. */
  readonly region: string | undefined;
  /** Whether the body came gzipped. */
  readonly gzip: boolean;
  /** What we answered. */
  readonly status: number;
}

/** A canned failure. */
export interface Fault {
  readonly status: number;
  readonly code: string;
  readonly message: string;
}

/** Throttling, as CloudWatch sends it. */
export const THROTTLE: Fault = { status: 400, code: "Throttling", message: "Rate exceeded" };
/** A server-side failure. */
export const UNAVAILABLE: Fault = {
  status: 503,
  code: "ServiceUnavailable",
  message: "Service is unavailable",
};

/** The fake endpoint. */
export class FakeCloudWatch {
  /** Every request, accepted or not. */
  readonly requests: ReceivedRequest[] = [];
  /** Every accepted datum, in arrival order. */
  readonly datums: ReceivedDatum[] = [];
  /** Faults to answer with, one per request, before answering normally. */
  readonly faults: Fault[] = [];
  /** When set, every request fails with it (an outage) until cleared. */
  outage: Fault | undefined;
  /** When set, asked for each request (0-based count): a fault to answer with. */
  faultFor: ((n: number) => Fault | undefined) | undefined;
  /**
   * When set, each request is held (nothing recorded, no answer) until it
   * resolves: a publish kept in flight for as long as the test says.
   */
  gate: Promise<void> | undefined;
  /** Other operations' handlers (dashboard tests). */
  readonly handlers = new Map<string, (body: Record<string, unknown>) => Response>();
  #server: Deno.HttpServer<Deno.NetAddr>;

  private constructor(server: Deno.HttpServer<Deno.NetAddr>) {
    this.#server = server;
  }

  /** Starts on 127.0.0.1, a free port. */
  static start(): FakeCloudWatch {
    const box: { self?: FakeCloudWatch } = {};
    const server = Deno.serve(
      { hostname: "127.0.0.1", port: 0, onListen: () => {} },
      (req) => (box.self as FakeCloudWatch).#handle(req),
    );
    box.self = new FakeCloudWatch(server);
    return box.self;
  }

  /** `http://127.0.0.1:<port>` */
  get url(): string {
    return `http://127.0.0.1:${this.#server.addr.port}`;
  }

  /** Accepted datums of one metric. */
  of(name: string): ReceivedDatum[] {
    return this.datums.filter((d) => d.MetricName === name);
  }

  /** Stops the server. */
  async close(): Promise<void> {
    await this.#server.shutdown();
  }

  async #handle(req: Request): Promise<Response> {
    const target = req.headers.get("x-amz-target") ?? "";
    const operation = target.replace(/^GraniteServiceVersion20100801\./, "");
    const gzip = req.headers.get("content-encoding") === "gzip";
    const raw = gzip
      ? await new Response(req.body!.pipeThrough(new DecompressionStream("gzip"))).text()
      : await req.text();
    const body = raw === "" ? {} : JSON.parse(raw) as Record<string, unknown>;
    await this.gate;
    const auth = req.headers.get("authorization") ?? "";
    const scope = /Credential=([^/]+)\/\d+\/([^/]+)\//.exec(auth);
    const fault = this.outage ?? this.faultFor?.(this.requests.length) ?? this.faults.shift();
    const record = (status: number) =>
      this.requests.push({
        operation,
        body,
        accessKeyId: scope?.[1],
        region: scope?.[2],
        gzip,
        status,
      });
    if (fault !== undefined) {
      record(fault.status);
      return Response.json(
        { __type: `com.amazonaws.monitoring#${fault.code}`, message: fault.message },
        {
          status: fault.status,
          headers: {
            "content-type": "application/x-amz-json-1.0",
            "x-amzn-query-error": `${fault.code};${fault.status >= 500 ? "Receiver" : "Sender"}`,
          },
        },
      );
    }
    const custom = this.handlers.get(operation);
    if (custom !== undefined) {
      const res = custom(body);
      record(res.status);
      return res;
    }
    if (operation !== "PutMetricData") {
      record(400);
      return Response.json({ __type: "UnknownOperationException" }, { status: 400 });
    }
    for (const d of (body["MetricData"] as Record<string, unknown>[] | undefined) ?? []) {
      this.datums.push({
        MetricName: String(d["MetricName"]),
        Value: Number(d["Value"]),
        Timestamp: Number(d["Timestamp"]),
        Unit: d["Unit"] as string | undefined,
        Dimensions: (d["Dimensions"] as { Name: string; Value: string }[] | undefined) ?? [],
      });
    }
    record(200);
    return new Response("{}", { headers: { "content-type": "application/x-amz-json-1.0" } });
  }
}
