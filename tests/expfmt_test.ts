import { assert, assertEquals, assertThrows } from "./support/assert.ts";
import {
  ExpositionParseError,
  type MetricFamily,
  parseExposition,
  parseFloatToken,
  seriesKey,
} from "../lib/expfmt.ts";

const fixture = (name: string) =>
  Deno.readTextFileSync(new URL(`./fixtures/${name}`, import.meta.url));

function fam(text: string, name: string): MetricFamily {
  const f = parseExposition(text).get(name);
  assert(f !== undefined, `family ${name} missing`);
  return f;
}

Deno.test("parses the aws-node v1 fixture completely", () => {
  const families = parseExposition(fixture("aws-node-v1.data"));
  assertEquals(families.size, 42);
  const lat = fam(fixture("aws-node-v1.data"), "awscni_aws_api_latency_ms");
  assertEquals(lat.type, "summary");
  assertEquals(lat.help, "AWS API call latency in ms");
  assertEquals(lat.samples.length, 55);
  assertEquals(lat.samples.filter((s) => Number.isNaN(s.value)).length, 30);
  const ec2 = fam(fixture("aws-node-v1.data"), "awscni_ec2api_req_count");
  assertEquals(ec2.type, "counter");
  assertEquals(ec2.samples.reduce((a, s) => a + s.value, 0), 21);
  const gc = fam(fixture("aws-node-v1.data"), "go_gc_duration_seconds");
  assertEquals(gc.samples.length, 7);
  assertEquals(families.get("go_memstats_alloc_bytes_total")?.samples[0]?.value, 1.778966304e+10);
});

Deno.test("parses the prefix-delegation fixture", () => {
  const text = fixture("aws-node-prefix-delegation.data");
  const families = parseExposition(text);
  assertEquals(families.size, 43);
  const cidr = fam(text, "awscni_assigned_ip_per_cidr");
  assertEquals(cidr.samples[0]?.labels, { cidr: "192.168.20.0/28" });
  assertEquals(fam(text, "awscni_total_ip_addresses").samples[0]?.value, 16);
});

interface Good {
  name: string;
  text: string;
  check: (f: Map<string, MetricFamily>) => void;
}

const good: Good[] = [
  {
    name: "empty body",
    text: "",
    check: (f) => assertEquals(f.size, 0),
  },
  {
    name: "blank lines, comments and CRLF",
    text: "\r\n# a comment\r\n\r\n# TYPE a gauge\r\na 1\r\n\r\n",
    check: (f) => assertEquals(f.get("a")?.samples[0]?.value, 1),
  },
  {
    name: "label escapes",
    text: 'm{a="x\\\\y",b="say \\"hi\\"",c="two\\nlines"} 1\n',
    check: (f) =>
      assertEquals(f.get("m")?.samples[0]?.labels, {
        a: "x\\y",
        b: 'say "hi"',
        c: "two\nlines",
      }),
  },
  {
    name: "special values and a timestamp",
    text: "a NaN\nb +Inf\nc -Inf 1700000000000\nd 1.5e3\ne -0.25\n",
    check: (f) => {
      assert(Number.isNaN(f.get("a")?.samples[0]?.value as number));
      assertEquals(f.get("b")?.samples[0]?.value, Infinity);
      assertEquals(f.get("c")?.samples[0]?.value, -Infinity);
      assertEquals(f.get("c")?.samples[0]?.timestampMs, 1700000000000);
      assertEquals(f.get("d")?.samples[0]?.value, 1500);
      assertEquals(f.get("e")?.samples[0]?.value, -0.25);
    },
  },
  {
    name: "untyped samples get their own untyped family",
    text: 'x_total 3\nx_total{k="v"} 4\n',
    check: (f) => {
      assertEquals(f.get("x_total")?.type, "untyped");
      assertEquals(f.get("x_total")?.samples.length, 2);
    },
  },
  {
    name: "histogram with buckets, sum, count",
    text: [
      "# HELP h A histogram.",
      "# TYPE h histogram",
      'h_bucket{le="0.5"} 1',
      'h_bucket{le="+Inf"} 3',
      "h_sum 4.5",
      "h_count 3",
    ].join("\n"),
    check: (f) => {
      assertEquals(f.get("h")?.type, "histogram");
      assertEquals(f.get("h")?.samples.map((s) => s.name), [
        "h_bucket",
        "h_bucket",
        "h_sum",
        "h_count",
      ]);
      assertEquals(f.size, 1);
    },
  },
  {
    name: "summary sum and count belong to the summary",
    text: '# TYPE s summary\ns{quantile="0.99"} 2\ns_sum 10\ns_count 5\n',
    check: (f) => {
      assertEquals(f.size, 1);
      assertEquals(f.get("s")?.samples.length, 3);
    },
  },
  {
    name: "HELP escapes, trailing comma, spaces in label set",
    text: '# HELP m a \\\\ b\\nc\nm{ a = "1" , } 2\n',
    check: (f) => {
      assertEquals(f.get("m")?.help, "a \\ b\nc");
      assertEquals(f.get("m")?.samples[0]?.labels, { a: "1" });
    },
  },
  {
    name: "label value with braces, commas and equals",
    text: 'm{a="{x=1,y}"} 1\n',
    check: (f) => assertEquals(f.get("m")?.samples[0]?.labels, { a: "{x=1,y}" }),
  },
];

for (const c of good) {
  Deno.test(`parser accepts: ${c.name}`, () => c.check(parseExposition(c.text)));
}

const bad: [string, string, number, string][] = [
  ["value missing", "# TYPE a gauge\na\n", 2, "metric a has no value"],
  ["bad value", "a 1\nb one\n", 2, 'invalid value "one" for metric b'],
  ["bad timestamp", "a 1 12.5\n", 1, 'invalid timestamp "12.5"'],
  ["extra token", "a 1 2 3\n", 1, 'unexpected text "3"'],
  ["unterminated labels", 'a{b="c" 1\n', 1, 'expected "," or "}"'],
  ["unterminated value", 'a{b="c} 1\n', 1, "unterminated label set"],
  ["bad escape", 'a{b="\\t"} 1\n', 1, 'invalid escape sequence "\\t"'],
  ["duplicate label", 'a{b="1",b="2"} 1\n', 1, "duplicate label b"],
  ["bad label name", 'a{1b="1"} 1\n', 1, "invalid label name"],
  ["label without quotes", "a{b=1} 1\n", 1, "expected '\"' to open the value of label b"],
  ["bad metric name", "1a 1\n", 1, "invalid metric name"],
  ["unknown type", "# TYPE a gaugez\n", 1, 'unknown metric type "gaugez"'],
  ["second TYPE", "# TYPE a gauge\n# TYPE a counter\n", 2, "second TYPE line for metric a"],
  ["second HELP", "# HELP a x\n# HELP a y\n", 2, "second HELP line for metric a"],
  ["TYPE after samples", "a 1\n# TYPE a gauge\n", 2, "TYPE line for metric a after its samples"],
  ["summary without quantile", "# TYPE s summary\ns 1\n", 2, 'sample without a "quantile" label'],
  ["histogram bucket without le", "# TYPE h histogram\nh_bucket 1\n", 2, 'bucket without an "le"'],
  ["histogram plain sample", "# TYPE h histogram\nh 1\n", 2, "must end in _bucket, _sum or _count"],
  ["HTML error page", "<html>\n<body>502 Bad Gateway</body>\n", 1, "invalid metric name"],
  ["CRLF line number", "a 1\r\nb 2\r\nc x\r\n", 3, 'invalid value "x"'],
];

for (const [name, text, line, fragment] of bad) {
  Deno.test(`parser rejects: ${name} (line ${line})`, () => {
    const e = assertThrows(() => parseExposition(text), ExpositionParseError);
    assertEquals(e.line, line);
    assert(e.message.startsWith(`line ${line}: `), e.message);
    assert(e.message.includes(fragment), `${e.message} should include ${fragment}`);
  });
}

Deno.test("float tokens follow Go's ParseFloat forms", () => {
  assertEquals(parseFloatToken("+inf"), Infinity);
  assertEquals(parseFloatToken("-Inf"), -Infinity);
  assert(Number.isNaN(parseFloatToken("nan") as number));
  assertEquals(parseFloatToken(".5"), 0.5);
  assertEquals(parseFloatToken("1e-3"), 0.001);
  assertEquals(parseFloatToken("0x10"), undefined);
  assertEquals(parseFloatToken(""), undefined);
});

Deno.test("series keys are sorted and can omit labels", () => {
  assertEquals(seriesKey({ b: "2", a: "1" }), 'a="1",b="2"');
  assertEquals(seriesKey({ quantile: "0.5", api: "X" }, new Set(["quantile"])), 'api="X"');
  assertEquals(seriesKey({}), "");
});
