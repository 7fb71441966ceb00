/**
 * When a subnet runs out (pure): hours until its free IPs (or free /28
 * blocks) reach zero at their current rate of decline, from a robust trend
 * over the reads of the forecast window. The slope is Theil–Sen's (the
 * median of the slopes of every pair of reads), which a step or a few odd
 * reads do not drag; the level is the median of `value - slope × time`, and
 * the forecast runs from that line's value at the last read. No forecast:
 * fewer than 6 reads, reads spanning less than 3 refresh periods, or a trend
 * that does not decline: the slope must be negative and the reads must fall
 * in most pairs (Kendall's tau at most -0.5), so noise around a flat line
 * gives no datum rather than a huge number.
 *
 * @module
 */

/** One read of a subnet. */
export interface Read {
  /** When, ms since the epoch. */
  readonly atMs: number;
  /** The value read (free IPs, free /28 blocks). */
  readonly value: number;
}

/** What a forecast needs. */
export interface ForecastRules {
  /** Reads needed at least. @default 6 */
  readonly minReads?: number;
  /** Time the reads must span at least, ms (3 × `--subnet-refresh`). */
  readonly minSpanMs: number;
}

/** Kendall's tau a decline must reach (-1: every pair falls; 0: no trend). */
const MAX_TAU = -0.5;

/** Pairs considered at most (the newest reads win): keeps the median cheap on long windows. */
const MAX_READS = 200;

function median(xs: number[]): number {
  xs.sort((a, b) => a - b);
  const mid = xs.length >> 1;
  return xs.length % 2 === 1
    ? xs[mid] as number
    : ((xs[mid - 1] as number) + (xs[mid] as number)) / 2;
}

/**
 * Hours until the value reaches zero at its robust trend.
 *
 * @param reads the window's reads, any order
 * @param rules how many reads over how long a span are needed
 * @returns the hours (0 when the trend line is already at or below zero), or `undefined` when
 *   there is no forecast
 */
export function hoursToExhaustion(
  reads: readonly Read[],
  rules: ForecastRules,
): number | undefined {
  const sorted = [...reads].filter((r) => Number.isFinite(r.value)).sort((a, b) => a.atMs - b.atMs)
    .slice(-MAX_READS);
  const first = sorted[0];
  const last = sorted.at(-1);
  if (first === undefined || last === undefined) return undefined;
  if (sorted.length < (rules.minReads ?? 6) || last.atMs - first.atMs < rules.minSpanMs) {
    return undefined;
  }
  const slopes: number[] = [];
  let falling = 0;
  let rising = 0;
  for (let i = 0; i < sorted.length; i++) {
    for (let j = i + 1; j < sorted.length; j++) {
      const a = sorted[i] as Read;
      const b = sorted[j] as Read;
      if (b.atMs <= a.atMs) continue;
      slopes.push((b.value - a.value) / (b.atMs - a.atMs));
      if (b.value < a.value) falling++;
      else if (b.value > a.value) rising++;
    }
  }
  if (slopes.length === 0) return undefined;
  const tau = (rising - falling) / slopes.length;
  const slope = median(slopes); // per ms
  if (!(slope < 0) || tau > MAX_TAU) return undefined;
  const level = median(sorted.map((r) => r.value - slope * r.atMs));
  const now = level + slope * last.atMs;
  if (now <= 0) return 0;
  return now / -slope / 3_600_000;
}
