/**
 * Each option is declared once (lib/cli/options.ts): the parser, `--help` and
 * docs/configuration.md all follow the table, and a flag of the other
 * command is refused with a message.
 */

import { assert, assertEquals, assertThrows } from "../support/assert.ts";
import { ConfigError, helpText, parseConfig } from "../../lib/cli/config.ts";
import { COMMANDS, OPTIONS, optionsMarkdown } from "../../lib/cli/options.ts";
import { BEGIN, END } from "../../tools/docs.ts";

/** Text with every run of whitespace folded to one space (deno fmt rewraps lists). */
function folded(text: string): string {
  return text.replace(/\s+/g, " ").trim();
}

Deno.test("docs/configuration.md shows exactly the options the code declares (deno task docs)", () => {
  const doc = Deno.readTextFileSync(new URL("../../docs/configuration.md", import.meta.url));
  const list = doc.slice(doc.indexOf(BEGIN) + BEGIN.length, doc.indexOf(END));
  assertEquals(folded(list), folded(optionsMarkdown()));
  assertEquals(
    list.split("\n").filter((l) => l.startsWith("- ")).length,
    OPTIONS.filter((o) => o.key !== undefined).length,
  );
});

Deno.test("--help lists every flag with its variables and default", () => {
  const text = helpText("1.2.3");
  for (const o of OPTIONS) {
    const line = text.split("\n").find((l) => new RegExp(`^  --${o.flag}( |$)`).test(l));
    assert(line !== undefined, o.flag);
    for (const env of o.env) assert(line.includes(env), `${o.flag}: ${env}`);
    if (o.defaultText !== "") assert(line.includes(`(default: ${o.defaultText})`), o.flag);
  }
});

Deno.test("with nothing set, every field is its option's declared default", () => {
  const r = parseConfig([], {});
  assert(r.kind === "run");
  const config = r.config as unknown as Record<string, unknown>;
  for (const o of OPTIONS) {
    if (o.key === undefined) continue;
    // derived from the interval when not given: 10 s, or half the interval
    const want = o.key === "scrapeTimeoutSeconds" ? 10 : o.default({ stderrIsTerminal: false });
    assertEquals(config[o.key], want, o.flag);
  }
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
      '"--cloudwatch" is a flag of the collect command, not of dashboard',
    ],
  ];
  for (const [args, message] of cases) {
    assertEquals(assertThrows(() => parseConfig(args, {}), ConfigError).message, message);
  }
  // a variable of the other command is not read: deployments set them for collect
  const r = parseConfig(["dashboard"], { METRIC_UPDATE_INTERVAL: "not a number" });
  assertEquals(r.kind, "run");
  for (const o of OPTIONS) assert(o.commands.every((c) => COMMANDS.includes(c)), o.flag);
});
