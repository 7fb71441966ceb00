/**
 * Each option is declared once (lib/cli/options.ts): the parser, `--help` and
 * docs/configuration.md all follow the table, a default's text is its value
 * (where the default is a literal), and a flag of the other command is
 * refused with a message.
 */

import { assert, assertEquals, assertThrows } from "../support/assert.ts";
import { type Config, ConfigError, helpText, parseConfig } from "../../lib/cli/config.ts";
import { COMMANDS, OPTION_LIST, optionsMarkdown } from "../../lib/cli/options.ts";
import { BEGIN, END } from "../../tools/docs.ts";

/** Text with every run of whitespace folded to one space (deno fmt rewraps lists). */
function folded(text: string): string {
  return text.replace(/\s+/g, " ").trim();
}

const doc = Deno.readTextFileSync(new URL("../../docs/configuration.md", import.meta.url));
const docList = doc.slice(doc.indexOf(BEGIN) + BEGIN.length, doc.indexOf(END));

/** The line of `--help` for a flag. */
function helpLine(flag: string): string {
  const line = helpText("1.2.3").split("\n").find((l) => new RegExp(`^  --${flag}( |$)`).test(l));
  assert(line !== undefined, flag);
  return line;
}

/** The item of the docs' list for a flag, whitespace folded. */
function docItem(flag: string): string {
  const item = folded(docList).split(/ (?=- `--)/).find((i) =>
    i.startsWith(`- \`--${flag} `) ||
    i.startsWith(`- \`--${flag}\``)
  );
  assert(item !== undefined, flag);
  return item;
}

Deno.test("docs/configuration.md shows exactly the options the code declares (deno task docs)", () => {
  assertEquals(folded(docList), folded(optionsMarkdown()));
  assertEquals(
    docList.split("\n").filter((l) => l.startsWith("- ")).length,
    OPTION_LIST.filter((o) => o.key !== undefined).length,
  );
});

Deno.test("--help lists every flag with its variables and default", () => {
  for (const o of OPTION_LIST) {
    const line = helpLine(o.flag);
    for (const env of o.env) assert(line.includes(env), `${o.flag}: ${env}`);
    if (o.defaultText !== "") assert(line.includes(`(default: ${o.defaultText})`), o.flag);
  }
});

/**
 * Each option's default, written here independently of the table: a
 * default changed by mistake fails here, and so does its text (derived from
 * the value where the value is a literal).
 */
const EXPECTED_DEFAULTS: Readonly<Record<string, unknown>> = {
  "kubeconfig": [],
  "context": undefined,
  "namespace": "kube-system",
  "selector": "k8s-app=aws-node",
  "metrics-port": 61678,
  "cloudwatch": true,
  "prometheus": false,
  "interval": 30,
  "cluster-id": undefined,
  "region": undefined,
  "profile": undefined,
  "scrape-concurrency": 32,
  "scrape-via": "proxy",
  "scrape-timeout": 10,
  "headroom": true,
  "headroom-threshold": 10,
  "subnets": false,
  "subnet-refresh": 300,
  "leader-election": false,
  "leader-election-name": "cni-metrics-helper",
  "leader-election-namespace": undefined,
  "once": false,
  "dry-run": false,
  "log-level": "info",
  "log-format": "json",
  "listen": { hostname: "127.0.0.1", port: 61681 },
  "buffer-max-datums": 60480,
  "name": undefined,
  "alarms": false,
  "ip-utilization-threshold": 90,
  "subnet-threshold": 50,
  "alarm-topic-arn": undefined,
  "breakdown": [],
  "breakdown-max-groups": 50,
  "output": "text",
};

/** The texts of the defaults that are computed, not literal (so written by hand). */
const EXPECTED_COMPUTED_TEXTS: Readonly<Record<string, string>> = {
  "kubeconfig": "in-cluster, else ~/.kube/config",
  "context": "the current context",
  "cluster-id": "EKS kubeconfig context, else instance tags; required off EC2",
  "region": "kubeconfig EKS context, AWS profile, IMDS",
  "profile": "none",
  "scrape-timeout": "10, at most half of --interval",
  "leader-election-namespace": "the pod's own namespace; required outside a pod",
  "log-format": "json off a terminal, text on one",
  "listen": ":61681 in a pod, 127.0.0.1:61681 outside one",
  "name": "EKS-CNI-metrics-<cluster>",
  "alarm-topic-arn": "none",
  "breakdown": "none",
};

Deno.test("with nothing set, every field is the default written in this test", () => {
  const config: Config = (() => {
    const r = parseConfig([], {});
    assert(r.kind === "run");
    return r.config;
  })();
  const dashboard = parseConfig(["dashboard"], {});
  assert(dashboard.kind === "run");
  const options = OPTION_LIST.filter((o) => o.key !== undefined);
  assertEquals(options.map((o) => o.flag).sort(), Object.keys(EXPECTED_DEFAULTS).sort());
  for (const o of options) {
    assert(o.key !== undefined);
    const c = o.commands.includes("collect") ? config : dashboard.config;
    assertEquals(c[o.key], EXPECTED_DEFAULTS[o.flag], o.flag);
  }
});

Deno.test("a literal default is shown as its value in --help and the docs; others as written", () => {
  for (const o of OPTION_LIST.filter((o) => o.key !== undefined)) {
    const computed = EXPECTED_COMPUTED_TEXTS[o.flag];
    if (computed === undefined) {
      // the table's literal is the value this test expects, and its text is String(value)
      assertEquals(o.literalDefault, EXPECTED_DEFAULTS[o.flag], o.flag);
      const text = String(EXPECTED_DEFAULTS[o.flag]);
      assertEquals(o.defaultText, text, o.flag);
      assert(helpLine(o.flag).endsWith(`(default: ${text})`), o.flag);
      assert(docItem(o.flag).includes(`default \`${text}\`; `), docItem(o.flag));
    } else {
      assertEquals(o.literalDefault, undefined, o.flag);
      assertEquals(o.defaultText, computed, o.flag);
      assert(helpLine(o.flag).endsWith(`(default: ${computed})`), o.flag);
      const shown = computed.includes(" ") ? computed : `\`${computed}\``;
      assert(docItem(o.flag).includes(`default ${shown}; `), docItem(o.flag));
    }
  }
  // a switch on by default is written with its --no- form
  assert(helpLine("cloudwatch").startsWith("  --cloudwatch / --no-cloudwatch "));
  assert(helpLine("prometheus").startsWith("  --prometheus "));
});

Deno.test("a flag of the other command is refused, naming the command that takes it", () => {
  const cases: [string[], string][] = [
    [["--alarms"], '"--alarms" is a flag of the dashboard command, not of collect'],
    [["collect", "--name", "x"], '"--name" is a flag of the dashboard command, not of collect'],
    [
      ["dashboard", "--interval", "5"],
      '"--interval" is a flag of the collect command, not of dashboard',
    ],
    [
      ["dashboard", "--no-cloudwatch"],
      '"--no-cloudwatch" is a flag of the collect command, not of dashboard',
    ],
    [
      ["dashboard", "--cloudwatch"],
      '"--cloudwatch" is a flag of the collect command, not of dashboard',
    ],
  ];
  for (const [args, message] of cases) {
    assertEquals(assertThrows(() => parseConfig(args, {}), ConfigError).message, message);
  }
  // a variable of the other command is not read: deployments set them for collect
  const r = parseConfig(["dashboard"], { METRIC_UPDATE_INTERVAL: "not a number" });
  assertEquals(r.kind, "run");
  for (const o of OPTION_LIST) assert(o.commands.every((c) => COMMANDS.includes(c)), o.flag);
});
