import { assert, assertEquals, assertThrows } from "../support/assert.ts";
import {
  ExpositionParseError,
  type MetricFamily,
  parseExposition,
  parseFloatToken,
  seriesKey,
} from "../../lib/model/exposition.ts";

const fixture = (name: string) =>
  Deno.readTextFileSync(new URL(`../fixtures/${name}`, import.meta.url));

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
      "",
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

// --- hostile bodies (issue 11): every outcome exact, every message short ---

/** The families the collector reads. */
const WANTED = new Set([
  "awscni_ip_max",
  "awscni_assigned_ip_addresses",
  "awscni_assigned_ip_per_cidr",
  "awscni_add_ip_req_count",
  "awscni_aws_api_latency_ms",
  "process_start_time_seconds",
]);
const MB10 = 10 * 1024 * 1024;
const digits = (n: number) => "1".repeat(n);

/** `[line, fragment]` of the error, or the check of a good parse. */
type Outcome = [number, string] | ((f: Map<string, MetricFamily>) => void);

interface Hostile {
  name: string;
  text: () => string;
  /** What the collector's parse (only the wanted families) gives. */
  outcome: Outcome;
  /** What a parse of every family gives. @default the same as `outcome` */
  all?: Outcome;
}

const hostile: Hostile[] = [
  {
    name: "60,000 digits then x in a wanted value",
    text: () => `awscni_ip_max ${digits(60_000)}x\n`,
    outcome: [1, `invalid value "${digits(80)}"… (60001 characters) for metric awscni_ip_max`],
  },
  {
    name: "1 MB of digits in a wanted value (out of float64 range)",
    text: () => `awscni_ip_max ${digits(1_000_000)}\n`,
    outcome: [1, "invalid value"],
  },
  {
    name: "60,000 exponent digits then x",
    text: () => `awscni_ip_max 1e${digits(60_000)}x\n`,
    outcome: [1, `invalid value "1e${digits(78)}"… (60003 characters)`],
  },
  {
    name: "60,000 digits then x in a family not read",
    text: () => `m ${digits(60_000)}x\nawscni_ip_max 3\n`,
    outcome: (f) => assertEquals([...f.keys()], ["awscni_ip_max"]),
    all: [1, `invalid value "${digits(80)}"… (60001 characters) for metric m`],
  },
  {
    name: "10 MB label value in a wanted family",
    text: () => `awscni_assigned_ip_per_cidr{cidr="${"a".repeat(MB10)}"} 2\n`,
    outcome: (f) =>
      assertEquals(
        f.get("awscni_assigned_ip_per_cidr")?.samples[0]?.labels["cidr"]?.length,
        MB10,
      ),
  },
  {
    name: "10 MB unterminated label value in a wanted family",
    text: () => `awscni_assigned_ip_per_cidr{cidr="${"a".repeat(MB10)} 2\n`,
    outcome: [1, "unterminated label set of metric awscni_assigned_ip_per_cidr"],
  },
  {
    name: "10 MB HELP text in a family not read",
    text: () => `# HELP go_x ${"h".repeat(MB10)}\nawscni_ip_max 3\n`,
    outcome: (f) => assertEquals(f.get("awscni_ip_max")?.samples[0]?.value, 3),
    // read, go_x is a family declared without samples
    all: [2, "truncated: metric go_x is declared at line 1 but the body ends before any of its"],
  },
  {
    name: "10 MB of one line without a name",
    text: () => `${"{".repeat(MB10)}\nawscni_ip_max 3\n`,
    outcome: (f) => assertEquals(f.size, 1),
    all: [1, `invalid metric name at "${"{".repeat(80)}"… (81 characters)`],
  },
  {
    name: "10 MB of one line of a wanted family",
    text: () => `awscni_ip_max 1 ${"9".repeat(MB10)}\n`,
    outcome: [1, `invalid timestamp "${"9".repeat(80)}"… (10485760 characters)`],
  },
  {
    name: "invalid UTF-8 (decoded as U+FFFD) in a wanted line",
    text: () =>
      new TextDecoder().decode(
        new Uint8Array([...new TextEncoder().encode('awscni_assigned_ip_per_cidr{cidr="'), 0xff]),
      ) + '"} 1\n',
    outcome: [1, "invalid UTF-8 at column 35"],
  },
  {
    name: "invalid UTF-8 in a family not read",
    text: () => `go_info{version="\uFFFD"} 1\nawscni_ip_max 3\n`,
    outcome: (f) => assertEquals(f.size, 1),
    all: [1, 'invalid UTF-8 at column 18 in "go_info{version=\\"\uFFFD\\"} 1"'],
  },
  {
    name: "NUL byte after a wanted value",
    text: () => "awscni_ip_max 3\0\n",
    outcome: [1, 'invalid value "3\\u0000" for metric awscni_ip_max'],
  },
  {
    name: "NUL bytes in a family not read",
    text: () => "go_\0x 1\0\nawscni_ip_max 3\n",
    outcome: (f) => assertEquals(f.get("awscni_ip_max")?.samples[0]?.value, 3),
    all: [1, 'invalid value "\\u0000x" for metric go_'],
  },
  {
    name: "unknown TYPE, quoted UTF-8 name, exotic value in families not read",
    text: () =>
      [
        "# TYPE go_x gaugehistogram",
        'go_x{le="1"} 1',
        '{"http.requests.ü", method="GET"} 1',
        "go_y 0x1p-3",
        "# TYPE go_y info",
        "awscni_ip_max 29",
        "",
      ].join("\n"),
    outcome: (f) => assertEquals([...f.keys()], ["awscni_ip_max"]),
    all: [1, 'unknown metric type "gaugehistogram" for metric go_x'],
  },
  {
    name: "unknown TYPE in a wanted family",
    text: () => "# TYPE awscni_ip_max gaugehistogram\nawscni_ip_max 29\n",
    outcome: [1, 'unknown metric type "gaugehistogram" for metric awscni_ip_max'],
  },
  {
    name: "CRLF line endings",
    text: () => "# TYPE awscni_ip_max gauge\r\nawscni_ip_max 29\r\n",
    outcome: (f) => assertEquals(f.get("awscni_ip_max")?.samples[0]?.value, 29),
  },
  {
    name: "a body cut mid-line (no final newline)",
    text: () => "awscni_ip_max 29\nawscni_assigned_ip_addr",
    outcome: [2, 'truncated: the body ends inside a line (no final newline) at "awscni_assigned'],
  },
  {
    name: "a body cut after a family's TYPE line",
    text: () =>
      "awscni_ip_max 29\n# HELP awscni_add_ip_req_count x\n# TYPE awscni_add_ip_req_count counter\n",
    outcome: [3, "truncated: metric awscni_add_ip_req_count is declared at line 2"],
  },
];

/** Parses `text` and asserts `outcome`: the error's line, fragment and short message, or the check. */
function expectOutcome(parse: () => Map<string, MetricFamily>, outcome: Outcome): void {
  if (typeof outcome === "function") {
    outcome(parse());
    return;
  }
  const [line, fragment] = outcome;
  const e = assertThrows(parse, ExpositionParseError);
  assertEquals(e.line, line);
  assert(e.message.includes(fragment), `${e.message.slice(0, 400)} should include ${fragment}`);
  assert(e.message.length < 250, `message of ${e.message.length} characters`);
}

for (const c of hostile) {
  Deno.test(`hostile body: ${c.name}`, () => {
    const text = c.text();
    expectOutcome(() => parseExposition(text, { wanted: WANTED }), c.outcome);
  });
}

Deno.test("hostile body: the same texts, every family read: each exact outcome, short messages", () => {
  for (const c of hostile) {
    const text = c.text();
    try {
      expectOutcome(() => parseExposition(text), c.all ?? c.outcome);
    } catch (e) {
      throw new Error(`${c.name}: ${(e as Error).message.slice(0, 600)}`);
    }
  }
});

Deno.test("a wanted-only parse of the fixture keeps exactly the wanted families, same samples", () => {
  const text = fixture("aws-node-v1.data");
  const all = parseExposition(text);
  const some = parseExposition(text, { wanted: WANTED });
  assertEquals([...some.keys()].sort(), [...WANTED].filter((n) => all.has(n)).sort());
  for (const [name, f] of some) assertEquals(f, all.get(name));
});

Deno.test("truncation at every line boundary and inside every line of both fixtures", () => {
  for (const file of ["aws-node-v1.data", "aws-node-prefix-delegation.data"]) {
    const text = fixture(file);
    const full = parseExposition(text, { wanted: WANTED });
    const lines = text.split("\n").slice(0, -1);
    for (let k = 0; k < lines.length; k++) {
      // cut inside line k+1: always refused as truncated, on that line
      const line = lines[k] as string;
      if (line.length > 1) {
        const cut = [...lines.slice(0, k), line.slice(0, Math.floor(line.length / 2))].join("\n");
        const e = assertThrows(
          () => parseExposition(cut, { wanted: WANTED }),
          ExpositionParseError,
        );
        assert(e instanceof ExpositionParseError);
        assertEquals(e.line, k + 1);
        assert(e.reason.startsWith("truncated: the body ends inside a line"), e.reason);
      }
      // cut after line k+1: refused when a wanted family was declared and has no
      // samples yet; otherwise each family is a prefix of the full parse
      const prefix = lines.slice(0, k + 1).join("\n") + "\n";
      const declaredOpen = [...WANTED].some((name) => {
        const declared = lines.slice(0, k + 1).some((l) =>
          l === `# TYPE ${name} ${full.get(name)?.type}` || l.startsWith(`# HELP ${name} `)
        );
        const sampled = lines.slice(0, k + 1).some((l) => l.startsWith(name) && !l.startsWith("#"));
        return declared && !sampled;
      });
      if (declaredOpen) {
        const e = assertThrows(
          () => parseExposition(prefix, { wanted: WANTED }),
          ExpositionParseError,
        );
        assert(e instanceof ExpositionParseError && e.reason.startsWith("truncated: metric "));
        continue;
      }
      for (const [name, f] of parseExposition(prefix, { wanted: WANTED })) {
        const whole = full.get(name);
        assertEquals(f.samples, whole?.samples.slice(0, f.samples.length));
      }
    }
  }
});
