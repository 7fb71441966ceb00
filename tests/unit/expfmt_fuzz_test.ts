/**
 * Fuzz: a few thousand mutations of the two fixtures (fixed seed, so a
 * failure reproduces), parsed as the collector parses them and with every
 * family read. Only ExpositionParseError may ever be thrown, with a short message.
 */
import { assert } from "../support/assert.ts";
import { ExpositionParseError, parseExposition } from "../../lib/model/exposition.ts";
import { METRICS } from "../../lib/model/figures.ts";

const WANTED = new Set([...METRICS.map((m) => m.family), "process_start_time_seconds"]);
const FIXTURES = ["aws-node-v1.data", "aws-node-prefix-delegation.data"].map((n) =>
  Deno.readTextFileSync(new URL(`../fixtures/${n}`, import.meta.url))
);
const ALPHABET = [
  "{",
  "}",
  '"',
  "\\",
  "=",
  ",",
  " ",
  "\t",
  "\n",
  "\r",
  "#",
  "\0",
  "\uFFFD",
  "e",
  "+",
  "-",
  ".",
  "9",
  "_count",
  "_sum",
  "Inf",
  "NaN",
  "# TYPE ",
  "# HELP ",
  "awscni_ip_max",
  "quantile",
  "le",
  "ü",
];

/** mulberry32: a small seeded generator. */
function rng(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function mutate(text: string, r: () => number): string {
  const at = () => Math.floor(r() * text.length);
  const times = 1 + Math.floor(r() * 4);
  for (let k = 0; k < times; k++) {
    const i = at();
    switch (Math.floor(r() * 6)) {
      case 0: // delete a range
        text = text.slice(0, i) + text.slice(i + 1 + Math.floor(r() * 40));
        break;
      case 1: // insert a token
        text = text.slice(0, i) + ALPHABET[Math.floor(r() * ALPHABET.length)] + text.slice(i);
        break;
      case 2: // repeat a range
        text = text.slice(0, i) + text.slice(i, i + 60).repeat(1 + Math.floor(r() * 50)) +
          text.slice(i);
        break;
      case 3: // cut the body
        text = text.slice(0, i);
        break;
      case 4: { // swap two lines
        const lines = text.split("\n");
        const a = Math.floor(r() * lines.length), b = Math.floor(r() * lines.length);
        [lines[a], lines[b]] = [lines[b] as string, lines[a] as string];
        text = lines.join("\n");
        break;
      }
      default: // replace one character
        text = text.slice(0, i) + String.fromCharCode(Math.floor(r() * 128)) + text.slice(i + 1);
    }
  }
  return text;
}

Deno.test("fuzz: 4,000 mutations of the fixtures throw nothing but ExpositionParseError", () => {
  const r = rng(0x5eed11);
  let refused = 0;
  for (let n = 0; n < 4000; n++) {
    const text = mutate(FIXTURES[n % 2] as string, r);
    for (const opts of [{ wanted: WANTED }, {}]) {
      try {
        parseExposition(text, opts);
      } catch (e) {
        assert(e instanceof ExpositionParseError, `mutation ${n}: ${String(e).slice(0, 300)}`);
        assert(e.message.length < 300, `mutation ${n}: message of ${e.message.length} characters`);
        refused++;
      }
    }
  }
  // the mutations must reach the error paths, or the test proves nothing
  assert(refused > 2000, `only ${refused} of 8000 parses refused`);
});
