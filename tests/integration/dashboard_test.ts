/**
 * `dashboard`: the body and alarm definitions as golden JSON, then the
 * command through the real SDK against the local CloudWatch endpoint.
 */

import { assert, assertEquals } from "../support/assert.ts";
import { withWorld } from "../support/harness.ts";
import { assertGolden } from "../support/golden.ts";
import { alarmInputs, dashboardBody, defaultDashboardName } from "../../lib/outputs/dashboard.ts";
import { FIGURES } from "../../lib/model/figures.ts";

const opts = {};
const target = { region: "eu-west-1", clusterId: "prod" };
const TOPIC = "arn:aws:sns:eu-west-1:123456789012:oncall";

/** Compares pretty JSON with `tests/golden/<name>`. */
function assertGoldenJson(actual: unknown, name: string): void {
  assertGolden(JSON.stringify(actual, null, 2) + "\n", name);
}

Deno.test("dashboard body (golden JSON)", () => {
  const body = dashboardBody(target, "EKS-CNI-metrics-prod");
  assertGoldenJson(body, "dashboard-prod.json");
  // every metric a widget names is one the helper publishes, with our namespace and dimension
  const names = new Set(FIGURES.map((f) => f.cloudwatch));
  for (const w of body.widgets) {
    for (const row of (w.properties["metrics"] as unknown[][] | undefined) ?? []) {
      if (typeof row[0] !== "string") continue;
      assertEquals([row[0], row[2], row[3]], ["Kubernetes", "CLUSTER_ID", "prod"]);
      assert(names.has(row[1] as string), `unknown metric ${row[1]}`);
    }
  }
  assertEquals(body.widgets[0]?.type, "text");
  assert(String(body.widgets[0]?.properties["markdown"]).includes("cni-metrics-helper dashboard"));
  // the headroom row; with --subnets, the subnets row (a SEARCH over every SubnetId)
  const titles = (b: typeof body) => b.widgets.map((w) => w.properties["title"]).slice(-4);
  assertEquals(titles(body), [
    "AWS API latency (worst p99, ms)",
    "ENIs: attached and max",
    "Node IP headroom: fewest free IPs on a node (ip_max - assigned)",
    "Nodes near their IP limit",
  ]);
  const withSubnets = dashboardBody({ ...target, subnets: true }, "EKS-CNI-metrics-prod");
  assertGoldenJson(withSubnets.widgets.slice(-3), "dashboard-prod-subnets.json");
  // free IPs beside IPs in use, then the fewest free
  assertEquals(titles(withSubnets).slice(-3), [
    "Subnets: free IPs",
    "Subnets: IPs assigned to pods",
    "Subnets: the fewest free IPs",
  ]);
});

Deno.test("with --breakdown: a row per breakdown, each a SEARCH on its dimension", () => {
  const plain = dashboardBody(target, "d").widgets.length;
  const body = dashboardBody({ ...target, breakdowns: ["zone", "nodegroup"] }, "d");
  const extra = body.widgets.slice(plain);
  assertEquals(extra.map((w) => [w.properties["title"], w.x, w.y]), [
    ["IPs assigned per zone", 0, 30],
    ["Fewest free IPs on a node per zone", 12, 30],
    ["IPs assigned per node group", 0, 36],
    ["Fewest free IPs on a node per node group", 12, 36],
  ]);
  assertEquals(extra[1]?.properties["metrics"], [[{
    expression:
      `SEARCH('{Kubernetes,CLUSTER_ID,AvailabilityZone} MetricName="minNodeIPHeadroom" CLUSTER_ID="prod"', 'Minimum', 60)`,
    id: "e1",
    label: "",
  }]]);
  assertEquals(extra[2]?.properties["metrics"], [[{
    expression:
      `SEARCH('{Kubernetes,CLUSTER_ID,NodeGroup} MetricName="assignIPAddresses" CLUSTER_ID="prod"', 'Average', 60)`,
    id: "e1",
    label: "",
  }]]);
  const text = body.widgets[0]?.properties["markdown"] as string;
  assert(text.includes("--breakdown zone,nodegroup`."), text);
});

Deno.test("alarm definitions (golden JSON), with and without an SNS topic", () => {
  assertGoldenJson(alarmInputs(target, 90, TOPIC), "alarms-prod.json");
  const quiet = alarmInputs(target, 75, undefined);
  assertEquals(quiet.map((a) => a.AlarmName), [
    "EKS-CNI-prod-ip-utilization",
    "EKS-CNI-prod-no-available-ip",
    "EKS-CNI-prod-node-headroom",
  ]);
  const headroom = quiet[2] as Record<string, unknown>;
  assertEquals(
    [
      headroom["MetricName"],
      headroom["ComparisonOperator"],
      headroom["Threshold"],
      headroom["EvaluationPeriods"],
    ],
    ["nodesNearIPLimit", "GreaterThanThreshold", 0, 3],
  );
  const subnets = alarmInputs({ ...target, subnets: true }, 90, TOPIC, 20);
  assertGoldenJson(subnets[3], "alarm-prod-subnet-low.json");
  assertEquals(
    [subnets[3]?.["MetricName"], subnets[3]?.["ComparisonOperator"], subnets[3]?.["Threshold"]],
    ["minSubnetAvailableIPAddresses", "LessThanThreshold", 20],
  );
  assert(quiet.every((a) => a["AlarmActions"] === undefined));
  assertEquals(quiet[0]?.["Threshold"], 75);
  assertEquals(quiet[0]?.["EvaluationPeriods"], 3);
});

Deno.test("default dashboard name", () => {
  assertEquals(defaultDashboardName("prod"), "EKS-CNI-metrics-prod");
  assertEquals(defaultDashboardName("arn:weird/name"), "EKS-CNI-metrics-arn-weird-name");
});

Deno.test(
  "dashboard --alarms through the SDK: PutDashboard and PutMetricAlarm as defined",
  opts,
  withWorld(async (w) => {
    const bodies: Record<string, unknown>[] = [];
    w.cw.handlers.set("PutDashboard", (b) => {
      bodies.push(b);
      return Response.json({ DashboardValidationMessages: [] });
    });
    w.cw.handlers.set("PutMetricAlarm", (b) => {
      bodies.push(b);
      return Response.json({});
    });
    const code = await w.run(["dashboard", "--alarms", "--alarm-topic-arn", TOPIC]);
    assertEquals(code, 0, w.logs.join("\n"));
    assertEquals(w.cw.requests.map((r) => r.operation), [
      "PutDashboard",
      "PutMetricAlarm",
      "PutMetricAlarm",
      "PutMetricAlarm",
    ]);
    assert(w.cw.requests.every((r) => r.region === "us-test-1"));
    const dash = bodies[0] as { DashboardName: string; DashboardBody: string };
    assertEquals(dash.DashboardName, "EKS-CNI-metrics-test");
    assertEquals(
      JSON.parse(dash.DashboardBody),
      dashboardBody({ region: "us-test-1", clusterId: "test" }, "EKS-CNI-metrics-test"),
    );
    assertEquals(
      bodies.slice(1),
      JSON.parse(
        JSON.stringify(alarmInputs({ region: "us-test-1", clusterId: "test" }, 90, TOPIC)),
      ),
    );
    assert(
      w.messages("info").some((m) =>
        m.includes("dashboard EKS-CNI-metrics-test created or replaced")
      ),
    );
  }),
);

Deno.test(
  "dashboard --dry-run prints the body and alarms, sends nothing",
  opts,
  withWorld(async (w) => {
    const code = await w.run(["dashboard", "--dry-run", "--alarms", "--name", "mine"]);
    assertEquals(code, 0);
    assertEquals(w.cw.requests.length, 0);
    assertEquals(w.stdout.length, 4);
    const put = JSON.parse(w.stdout[0] as string);
    assertEquals(put.DashboardName, "mine");
    // the body as PutDashboard takes it: a string holding the JSON, the same the SDK sends
    assertEquals(typeof put.DashboardBody, "string");
    assertEquals(
      JSON.parse(put.DashboardBody),
      dashboardBody({ region: "us-test-1", clusterId: "test", subnets: false }, "mine"),
    );
    assertEquals(JSON.parse(w.stdout[1] as string).AlarmName, "EKS-CNI-test-ip-utilization");
    assert(
      w.messages("info").includes(
        "dry run: printed dashboard mine and 3 alarms on stdout; nothing sent",
      ),
      w.messages("info").join("\n"),
    );
  }),
);

Deno.test(
  "missing cloudwatch:PutDashboard or PutMetricAlarm: the error names the action",
  opts,
  withWorld(async (w) => {
    const denied = (action: string) => ({
      status: 403,
      code: "AccessDenied",
      message:
        `User: arn:aws:iam::123456789012:user/ops is not authorized to perform: cloudwatch:${action}`,
    });
    w.cw.faults.push(denied("PutDashboard"));
    assertEquals(await w.run(["dashboard"]), 1);
    assert(
      w.messages("error").some((m) =>
        m.startsWith(
          "PutDashboard was denied: the caller lacks the IAM permission cloudwatch:PutDashboard",
        )
      ),
      w.messages("error").join("\n"),
    );
    w.cw.handlers.set("PutDashboard", () => Response.json({ DashboardValidationMessages: [] }));
    let calls = 0;
    w.cw.handlers.set("PutMetricAlarm", () => {
      calls++;
      return Response.json(
        {
          __type: "AccessDenied",
          message: "not authorized to perform: cloudwatch:PutMetricAlarm",
        },
        { status: 403, headers: { "x-amzn-query-error": "AccessDenied;Sender" } },
      );
    });
    assertEquals(await w.run(["dashboard", "--alarms"]), 1);
    assertEquals(calls, 1);
    assert(
      w.messages("error").some((m) =>
        m.includes("cloudwatch:PutMetricAlarm") && m.includes("was denied")
      ),
      w.messages("error").join("\n"),
    );
  }),
);

Deno.test(
  "dashboard --dry-run without a region says the dashboard needs it, the collector's dry run does not",
  opts,
  withWorld(async (w) => {
    const code = await w.run(["dashboard", "--dry-run"], {
      noRegion: true,
      extra: { imdsDisabled: true },
    });
    assertEquals(code, 2);
    assertEquals(w.messages("error"), [
      "no AWS region: set AWS_REGION (or --region); IMDS is disabled (AWS_EC2_METADATA_DISABLED) " +
      '(the dashboard\'s widgets name the region and the cluster id, so "dashboard --dry-run" ' +
      "needs them too)",
    ]);
  }),
);
