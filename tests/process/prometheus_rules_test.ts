/**
 * deploy/prometheus-rules.yaml: a PrometheusRule whose groups pass
 * `promtool check rules` and the `promtool test rules` unit test in
 * tests/fixtures/prometheus-rules.test.yaml; its alerts read only series the
 * helper exports.
 */

import { assert, assertEquals } from "../support/assert.ts";
import { HAVE_PROMTOOL, promtool, PROMTOOL_NOTE } from "../support/promtool.ts";
import { dump, load } from "js-yaml";

const root = new URL("../..", import.meta.url);

interface Rule {
  alert: string;
  expr: string;
  for: string;
}

function loadRule(): { kind: string; spec: { groups: { name: string; rules: Rule[] }[] } } {
  return load(Deno.readTextFileSync(new URL("deploy/prometheus-rules.yaml", root))) as {
    kind: string;
    spec: { groups: { name: string; rules: Rule[] }[] };
  };
}

Deno.test("the PrometheusRule alerts on the exported headroom and subnet series", () => {
  const doc = loadRule();
  assertEquals(doc.kind, "PrometheusRule");
  const rules = doc.spec.groups.flatMap((g) => g.rules);
  assertEquals(rules.map((r) => [r.alert, r.for]), [
    ["EKSCNINodeNearIPLimit", "3m"],
    ["EKSCNISubnetLow", "3m"],
    ["EKSCNIZoneIPHeadroomLow", "10m"],
  ]);
  assert(rules[0]?.expr.includes("cni_metrics_helper_cluster_nodes_near_ip_limit"));
  assert(rules[1]?.expr.includes("cni_metrics_helper_subnet_available_ip_addresses"));
  assert(rules[2]?.expr.includes('cni_metrics_helper_cluster_ip_max{zone!=""}'));
});

Deno.test({
  name: `promtool check rules and promtool test rules pass${PROMTOOL_NOTE}`,
  ignore: !HAVE_PROMTOOL,
  fn: async () => {
    const dir = Deno.makeTempDirSync();
    try {
      Deno.writeTextFileSync(`${dir}/rules.yaml`, dump({ groups: loadRule().spec.groups }));
      Deno.copyFileSync(
        new URL("tests/fixtures/prometheus-rules.test.yaml", root),
        `${dir}/rules.test.yaml`,
      );
      const check = await promtool(["check", "rules", `${dir}/rules.yaml`]);
      assertEquals(check.code, 0, check.out);
      assert(check.out.includes("SUCCESS: 3 rules found"), check.out);
      const test = await promtool(["test", "rules", `${dir}/rules.test.yaml`]);
      assertEquals(test.code, 0, test.out);
    } finally {
      Deno.removeSync(dir, { recursive: true });
    }
  },
});
