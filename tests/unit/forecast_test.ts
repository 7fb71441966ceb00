/**
 * The free /28 blocks of a subnet and the time-to-exhaustion forecast,
 * with exact numbers.
 */

import { assert, assertEquals, assertThrows } from "../support/assert.ts";
import { freePrefixes, parseCidr, parseIpv4 } from "../../lib/model/prefixes.ts";
import { hoursToExhaustion, type Read } from "../../lib/model/forecast.ts";

Deno.test("free /28 blocks: the reserved addresses, scattered IPs, prefixes and reservations", () => {
  const none = { addresses: [], prefixes: [], reservations: [] };
  const cases: [string, Parameters<typeof freePrefixes>[0], number][] = [
    // a /24 is 16 blocks: the first (4 reserved) and the last (broadcast) are used
    ["empty /24", { ...none, cidr: "10.0.1.0/24" }, 14],
    // a /26 is 4 blocks
    ["empty /26", { ...none, cidr: "10.0.1.64/26" }, 2],
    // a /20 is 256 blocks
    ["empty /20", { ...none, cidr: "10.0.16.0/20" }, 254],
    [
      // one IP in each of 7 blocks: 200+ free IPs, 7 fewer blocks
      "scattered IPs in a /24",
      {
        ...none,
        cidr: "10.0.1.0/24",
        addresses: [
          "10.0.1.20",
          "10.0.1.40",
          "10.0.1.70",
          "10.0.1.100",
          "10.0.1.130",
          "10.0.1.21",
          "10.0.1.160",
          "10.0.1.190",
        ],
      },
      14 - 7,
    ],
    [
      "prefixes and a reservation in a /20",
      {
        cidr: "10.0.16.0/20",
        // .16.10 is in the first block (reserved anyway); .31.200 in the block before the last
        addresses: ["10.0.16.10", "10.0.31.200"],
        // two assigned /28s
        prefixes: ["10.0.17.0/28", "10.0.17.16/28"],
        // a /24 reservation keeps 16 blocks; a /32 inside an assigned prefix counts once
        reservations: ["10.0.20.0/24", "10.0.17.5/32"],
      },
      // 256 blocks - first - last - .31.192/28 - 2 prefixes - 16 reserved
      256 - 1 - 1 - 1 - 2 - 16,
    ],
    [
      "an address outside the CIDR changes nothing",
      { ...none, cidr: "10.0.1.0/26", addresses: ["10.0.2.17"] },
      2,
    ],
    ["a /29 holds no /28", { ...none, cidr: "10.0.1.0/29" }, 0],
  ];
  for (const [name, use, want] of cases) assertEquals(freePrefixes(use), want, name);
  assertEquals(parseIpv4("10.0.1.2"), 167772418);
  assertEquals(parseCidr("10.0.1.77/26"), { start: parseIpv4("10.0.1.64"), bits: 26 });
  assertEquals(
    assertThrows(() => parseCidr("10.0.1.0/33"), SyntaxError).message,
    'not an IPv4 CIDR: "10.0.1.0/33"',
  );
  assertEquals(
    assertThrows(() => parseIpv4("10.0.1.256"), SyntaxError).message,
    'not an IPv4 address: "10.0.1.256"',
  );
});

const T0 = Date.UTC(2026, 11, 4);
/** Reads every 5 minutes over the last `hours`. */
const series = (n: number, f: (i: number) => number, stepMs = 5 * 60_000): Read[] =>
  Array.from({ length: n }, (_, i) => ({ atMs: T0 + i * stepMs, value: f(i) }));
const rules = { minSpanMs: 3 * 5 * 60_000 };

Deno.test("the forecast of a scripted decline is within 5% of the truth", () => {
  // 1,000 free IPs falling 40 an hour: 25 h from the start, 25 - 6 h left after 6 h of reads
  const reads = series(73, (i) => 1000 - 40 * (i / 12));
  const h = hoursToExhaustion(reads, rules);
  assert(h !== undefined);
  assert(Math.abs(h - 19) / 19 < 0.05, `${h} h`);
  // with a few odd reads (a refresh that caught a burst), still within 5%
  const odd = reads.map((r, i) => (i % 17 === 5 ? { ...r, value: r.value - 300 } : r));
  const h2 = hoursToExhaustion(odd, rules);
  assert(h2 !== undefined && Math.abs(h2 - 19) / 19 < 0.05, `${h2} h`);
});

Deno.test("noise around a flat line, a rising subnet and too few reads: no forecast", () => {
  // a fixed pattern of ±5 around 500
  const noise = [3, -5, 1, 4, -2, -4, 5, 0, -1, 2, -3, 5];
  assertEquals(hoursToExhaustion(series(72, (i) => 500 + (noise[i % 12] ?? 0)), rules), undefined);
  assertEquals(hoursToExhaustion(series(72, (i) => 500 + i), rules), undefined);
  assertEquals(hoursToExhaustion(series(72, () => 500), rules), undefined);
  // 5 reads, and 6 reads spanning less than 3 refresh periods
  assertEquals(hoursToExhaustion(series(5, (i) => 500 - 10 * i), rules), undefined);
  assertEquals(hoursToExhaustion(series(6, (i) => 500 - 10 * i, 60_000), rules), undefined);
  // exactly enough: 6 reads over 25 minutes
  assertEquals(hoursToExhaustion(series(6, (i) => 500 - 10 * i), rules), (450 / 10) * 5 / 60);
});

Deno.test("a step change: the robust trend is the median pair slope, not the step", () => {
  // 36 reads at 500, then a node group scales up: 36 reads at 400 (6 h in all)
  const reads = series(72, (i) => (i < 36 ? 500 : 400));
  // half the pairs are flat, half cross the step: the median slope is that of the crossing
  // pairs' lower half; exact: the trend falls 100 over the ~3 h between the halves' medians
  const h = hoursToExhaustion(reads, rules);
  assert(h !== undefined, "a step down is a decline");
  assert(h > 6, `${h} h: the step does not read as a cliff`);
  // a step back up (IPs freed): no forecast
  assertEquals(hoursToExhaustion(series(72, (i) => (i < 36 ? 400 : 500)), rules), undefined);
});
