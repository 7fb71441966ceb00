/**
 * The `dashboard` command: creates or replaces the CloudWatch dashboard
 * (and with `--alarms` the alarms) for the resolved region and cluster id.
 *
 * @module
 */

import type { Config } from "../cli/config.ts";
import { putDashboard, putMetricAlarm } from "../aws/cloudwatch_api.ts";
import type { KubeContextInfo } from "../aws/identity.ts";
import { errorText } from "../base/errors.ts";
import { logger } from "../base/logging.ts";
import { loadKubeconfig } from "../kube/kubeconfig.ts";
import { alarmInputs, dashboardBody, defaultDashboardName } from "../outputs/dashboard.ts";
import { cloudWatchFor, resolveForAws } from "./aws_setup.ts";
import { kubeSource } from "./kube_setup.ts";
import type { Runtime } from "./runtime.ts";

const log = () => logger();

/**
 * `dashboard`: creates or replaces the CloudWatch dashboard (and with
 * `--alarms` the alarms) for the resolved region and cluster id.
 */
export async function runDashboard(config: Config, rt: Runtime): Promise<number> {
  let context: KubeContextInfo | undefined;
  try {
    context = loadKubeconfig(kubeSource(config, rt)).context;
  } catch (e) {
    // the dashboard needs no cluster access: the kubeconfig only helps name it
    log().debug("no kubeconfig for region and cluster id hints: {error}", {
      error: errorText(e),
    });
  }
  const identity = await resolveForAws(config, rt, context);
  const target = {
    region: identity.region?.value ?? "",
    clusterId: identity.clusterId.value,
    subnets: config.subnets,
    breakdowns: config.breakdown,
  };
  const name = config.dashboardName ?? defaultDashboardName(target.clusterId);
  const body = dashboardBody(target, name, rt.figures);
  const alarms = config.alarms
    ? alarmInputs(
      target,
      config.ipUtilizationThreshold,
      config.alarmTopicArn,
      config.subnetThreshold,
      rt.figures,
    )
    : [];
  if (config.dryRun) {
    // PutDashboard's input as the API takes it: the body is a JSON string
    rt.writeStdout(JSON.stringify({ DashboardName: name, DashboardBody: JSON.stringify(body) }));
    for (const a of alarms) rt.writeStdout(JSON.stringify(a));
    log().info(
      "dry run: printed dashboard {name}{alarms} on stdout; nothing sent",
      { name, alarms: alarms.length > 0 ? ` and ${alarms.length} alarms` : "" },
    );
    return 0;
  }
  const client = cloudWatchFor(config, rt, target.region);
  try {
    const problems = await putDashboard(client, name, body);
    for (const p of problems) {
      log().warn("CloudWatch says of the dashboard: {problem}", { problem: p });
    }
    log().info("dashboard {name} created or replaced: {url}", {
      name,
      url:
        `https://${target.region}.console.aws.amazon.com/cloudwatch/home?region=${target.region}#dashboards:name=${name}`,
    });
    for (const a of alarms) {
      await putMetricAlarm(client, a);
      log().info("alarm {name} created or updated", { name: a.AlarmName });
    }
    return 0;
  } finally {
    client.destroy();
  }
}
