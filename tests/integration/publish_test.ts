/**
 * Batching and the buffer: requests of at most 1,000 datums and under 1 MB,
 * sent through the real SDK to the local CloudWatch; a failed request keeps
 * itself and everything after it; nothing is sent twice.
 */

import { NO_HEADROOM_FIGURES, PER_CYCLE, PER_CYCLE_NO_HEADROOM } from "../support/figures.ts";
import { assert, assertEquals } from "../support/assert.ts";
import { FakeCloudWatch, UNAVAILABLE } from "../support/fake_cloudwatch.ts";
import { TEST_CREDENTIALS } from "../support/harness.ts";
import {
  batch,
  type Datum,
  MAX_REQUEST_BYTES,
  PublishBuffer,
  toDatums,
} from "../../lib/outputs/datum_buffer.ts";
import {
  cloudWatchClient,
  CloudWatchPublisher,
  DryRunPublisher,
} from "../../lib/aws/cloudwatch_api.ts";

const opts = {};

function datums(n: number, clusterId = "c"): Datum[] {
  return Array.from({ length: n }, (_, i) => ({
    MetricName: "assignIPAddresses",
    Dimensions: [{ Name: "CLUSTER_ID", Value: clusterId }],
    Timestamp: new Date(1_700_000_000_000 + i * 1000),
    Value: i,
    Unit: "Count" as const,
  }));
}

Deno.test("batch: at most 1,000 datums a request, in order", () => {
  const reqs = batch(datums(2500));
  assertEquals(reqs.map((r) => r.MetricData.length), [1000, 1000, 500]);
  assertEquals(
    reqs.flatMap((r) => r.MetricData.map((d) => d.Value)),
    datums(2500).map((d) => d.Value),
  );
  assert(reqs.every((r) => r.Namespace === "Kubernetes"));
  assertEquals(batch([]), []);
});

Deno.test("batch: under 1 MB a request even when datums are large", () => {
  const big = datums(900, "x".repeat(2000));
  const reqs = batch(big);
  assert(reqs.length > 1);
  for (const r of reqs) {
    assert(JSON.stringify(r).length < MAX_REQUEST_BYTES, `${JSON.stringify(r).length}`);
  }
  assertEquals(reqs.reduce((a, r) => a + r.MetricData.length, 0), 900);
});

Deno.test("toDatums: one datum per metric, the cycle's timestamp, Count", () => {
  const ts = new Date(1_700_000_000_000);
  const d = toDatums(
    { values: new Map([["assignIPAddresses", 7]]), podsScraped: 1, podsBaselined: 0 },
    "prod",
    ts,
  );
  assertEquals(d.length, PER_CYCLE_NO_HEADROOM);
  assertEquals(d.map((x) => x.MetricName), NO_HEADROOM_FIGURES);
  assert(d.every((x) => x.Timestamp === ts && x.Unit === "Count"));
  assertEquals(d[0]?.Value, 7);
  assertEquals(d[1]?.Value, 0);
});

Deno.test("toDatums: the headroom figures, each subnet with its SubnetId, and the subnets' minimum", () => {
  const ts = new Date(1_700_000_000_000);
  const d = toDatums(
    {
      values: new Map(),
      podsScraped: 3,
      podsBaselined: 0,
      headroom: { min: 2, node: "n1", nearLimit: 1, threshold: 10, nodes: 3 },
      subnets: [
        { subnetId: "subnet-a", availabilityZone: "eu-west-1a", available: 251 },
        { subnetId: "subnet-b", availabilityZone: "eu-west-1b", available: 12 },
      ],
    },
    "prod",
    ts,
  );
  const cluster = [{ Name: "CLUSTER_ID", Value: "prod" }];
  assertEquals(d.length, PER_CYCLE + 2 + 1);
  assertEquals(d.slice(PER_CYCLE_NO_HEADROOM).map((x) => [x.MetricName, x.Dimensions, x.Value]), [
    ["minNodeIPHeadroom", cluster, 2],
    ["nodesNearIPLimit", cluster, 1],
    ["subnetAvailableIPAddresses", [...cluster, { Name: "SubnetId", Value: "subnet-a" }], 251],
    ["subnetAvailableIPAddresses", [...cluster, { Name: "SubnetId", Value: "subnet-b" }], 12],
    ["minSubnetAvailableIPAddresses", cluster, 12],
  ]);
  assert(d.every((x) => x.Timestamp === ts && x.Unit === "Count"));
});

Deno.test(
  "flush through the SDK: 2,500 datums in 3 gzipped requests; a failed second request keeps the rest",
  opts,
  async () => {
    const cw = FakeCloudWatch.start();
    try {
      const publisher = new CloudWatchPublisher(
        cloudWatchClient({
          region: "r-1",
          endpoint: cw.url,
          credentials: TEST_CREDENTIALS,
          maxAttempts: 2,
        }),
      );
      const buf = new PublishBuffer(publisher, 10_000);
      buf.add(datums(2500));
      // the second request and its retry fail
      cw.faultFor = (n) => (n === 1 || n === 2 ? UNAVAILABLE : undefined);
      const first = await buf.flush(new AbortController().signal);
      assertEquals([first.requests, first.sent, first.pending], [1, 1000, 1500]);
      assert(first.error?.includes("ServiceUnavailable"), first.error);
      assertEquals(buf.stats.requestsFailed, 1);
      cw.faultFor = undefined;
      const second = await buf.flush(new AbortController().signal);
      assertEquals([second.requests, second.sent, second.pending, second.error], [
        2,
        1500,
        0,
        undefined,
      ]);
      // every datum arrived exactly once, in order
      assertEquals(cw.datums.map((d) => d.Value), datums(2500).map((d) => d.Value));
      assert(
        cw.requests.filter((r) => r.status === 200).every((r) => r.gzip),
        "large bodies are gzipped",
      );
      assertEquals(buf.stats, {
        requestsOk: 3,
        requestsFailed: 1,
        // the failed request's two attempts, each counted
        attemptsOk: 3,
        attemptsFailed: 2,
        datumsSent: 2500,
        datumsDropped: 0,
      });
    } finally {
      await cw.close();
    }
  },
);

Deno.test("--dry-run: printed requests count as neither sent requests nor published datums", async () => {
  const lines: string[] = [];
  const buf = new PublishBuffer(new DryRunPublisher((l) => lines.push(l)), 10_000);
  buf.add(datums(1500));
  const r = await buf.flush(new AbortController().signal);
  assertEquals([r.requests, r.sent, r.pending, lines.length], [2, 1500, 0, 2]);
  assertEquals(buf.stats, {
    requestsOk: 0,
    requestsFailed: 0,
    attemptsOk: 0,
    attemptsFailed: 0,
    datumsSent: 0,
    datumsDropped: 0,
  });
});
