/**
 * The docs match the code: every flag and variable of `--help` is
 * documented, every flag and variable the docs name exists (ours, or another
 * program's listed here), every CloudWatch metric is described, every table
 * fits 100 columns, and the README stays one screen.
 */

import { WARM_SETTINGS } from "../../lib/kube/pod_watcher.ts";
import { assert, assertEquals } from "../support/assert.ts";
import { helpText } from "../../lib/cli/config.ts";
import { ENV_VARS, OPTION_LIST } from "../../lib/cli/options.ts";
import { FIGURES, figuresMarkdown, METRICS } from "../../lib/model/figures.ts";
import { FIGURES_BEGIN, FIGURES_END } from "../../tools/docs.ts";

const root = new URL("../..", import.meta.url);
const read = (path: string) => Deno.readTextFileSync(new URL(path, root));
const PAGES = [
  "README.md",
  ...[...Deno.readDirSync(new URL("docs/", root))].filter((e) => e.name.endsWith(".md"))
    .map((e) => `docs/${e.name}`).sort(),
];

/** Flags of other programs the docs show (deno, docker, kubectl, aws, the demo and bench). */
const OTHER_FLAGS = new Set([
  // deno
  "allow-net",
  "allow-env",
  "allow-read",
  "allow-run",
  "allow-sys",
  "allow-write",
  "no-code-cache",
  "quiet",
  "frozen",
  "check",
  // docker buildx
  "platform",
  "push",
  // helm install
  "set",
  // aws eks, and the kubeconfig's exec args
  "name",
  "cluster-name",
  // kube-apiserver in the e2e suite
  "authorization-mode",
  // V8, through DENO_V8_FLAGS
  "max-old-space-size",
  // the demo (deno task demo --help) and the bench
  "pods",
  "cycles",
]);

/** Variables that are not the program's own but that the docs name. */
const OTHER_VARS = new Set([
  // aws-node's warm-pool settings, read from its pods' env (lib/kube/pod_watcher.ts)
  ...WARM_SETTINGS,
  // the AWS SDK's credential chain and endpoints
  "AWS_ACCESS_KEY_ID",
  "AWS_SECRET_ACCESS_KEY",
  "AWS_ROLE_ARN",
  "AWS_WEB_IDENTITY_TOKEN_FILE",
  "AWS_CONTAINER_CREDENTIALS_FULL_URI",
  "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE",
  "AWS_ENDPOINT_URL_CLOUDWATCH",
  "AWS_ENDPOINT_URL_EC2",
  "AWS_EC2_METADATA_SERVICE_ENDPOINT",
  // the CloudWatch dimension, not a variable
  "CLUSTER_ID",
  // tests, bench and e2e
  "UPDATE_GOLDEN",
  "E2E_CACHE",
  "DENO_V8_FLAGS",
  "BENCH_INTERVAL",
  "BENCH_SCRAPE_TIMEOUT",
]);

function outsideComments(text: string): string {
  return text.replace(/<!--[\s\S]*?-->/g, "");
}

Deno.test("every flag and variable of --help is in docs/configuration.md", () => {
  const doc = read("docs/configuration.md");
  const help = helpText("0");
  for (const o of OPTION_LIST.filter((o) => o.key !== undefined)) {
    assert(help.includes(`--${o.flag}`), o.flag);
    assert(doc.includes(`\`--${o.flag}`), `--${o.flag} is not documented`);
    for (const e of o.env) assert(doc.includes(`\`${e}\``), `${e} is not documented`);
  }
});

Deno.test("every flag the docs name exists (ours, or another program's listed here)", () => {
  const ours = new Set(OPTION_LIST.flatMap((o) => [o.flag, `no-${o.flag}`]));
  const unknown: string[] = [];
  for (const page of PAGES) {
    for (const m of outsideComments(read(page)).matchAll(/(?<![\w-])--([a-z][a-z0-9-]*)/g)) {
      const flag = m[1] as string;
      if (!ours.has(flag) && !OTHER_FLAGS.has(flag)) unknown.push(`${page}: --${flag}`);
    }
  }
  assertEquals(unknown, []);
});

Deno.test("every variable the docs name exists (ours, or the AWS SDK's listed here)", () => {
  const ours = new Set([...ENV_VARS, "AWS_SHARED_CREDENTIALS_FILE", "AWS_ENDPOINT_URL"]);
  const unknown: string[] = [];
  for (const page of PAGES) {
    const text = outsideComments(read(page));
    for (const m of text.matchAll(/(?<![\w.-])([A-Z][A-Z0-9]*(?:_[A-Z0-9]+)+)(?![\w-])/g)) {
      const name = m[1] as string;
      if (name.startsWith("AWS_ENDPOINT_URL_<") || ours.has(name) || OTHER_VARS.has(name)) continue;
      unknown.push(`${page}: ${name}`);
    }
  }
  assertEquals(unknown, []);
});

Deno.test("docs/metrics.md describes every CloudWatch metric", () => {
  const doc = read("docs/metrics.md");
  for (const m of METRICS) {
    assert(new RegExp(`^\\| ${m.cwName} +\\| ${m.family} +\\|`, "m").test(doc), m.cwName);
  }
});

Deno.test("docs/metrics.md lists exactly the figures the table declares (deno task docs)", () => {
  const doc = read("docs/metrics.md");
  const list = doc.slice(
    doc.indexOf(FIGURES_BEGIN) + FIGURES_BEGIN.length,
    doc.indexOf(FIGURES_END),
  );
  const fold = (t: string) => t.replace(/\s+/g, " ").trim();
  assertEquals(fold(list), fold(figuresMarkdown()));
  assertEquals(list.split("\n").filter((l) => l.startsWith("- ")).length, FIGURES.length);
});

Deno.test("every table fits 100 columns; the README is one screen", () => {
  const wide: string[] = [];
  for (const page of PAGES) {
    read(page).split("\n").forEach((line, i) => {
      if (line.startsWith("|") && line.length > 100) wide.push(`${page}:${i + 1} (${line.length})`);
    });
  }
  assertEquals(wide, []);
  const readme = read("README.md").trimEnd().split("\n");
  assert(readme.length <= 80, `README.md has ${readme.length} lines`);
});

Deno.test("every page the README links to exists", () => {
  for (const m of read("README.md").matchAll(/\]\((docs\/[^)#]+)\)/g)) {
    assert(PAGES.includes(m[1] as string), `${m[1]} is linked but missing`);
  }
});
