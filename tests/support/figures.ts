/**
 * What one cycle publishes with the default options (headroom on, no
 * --subnets, no --breakdown), derived from the figure table so a new figure
 * changes no test constant.
 *
 * @module
 */

import { FIGURES, HEADROOM_METRICS } from "../../lib/model/figures.ts";

/** The figures every default cycle publishes, one datum each, in publish order. */
export const DEFAULT_FIGURES: readonly string[] = Object.freeze(
  FIGURES.filter((f) => f.feature === undefined).map((f) => f.cloudwatch),
);

/** Datums a default cycle publishes (today 24: 21 aws-node figures, idle IPs, 2 headroom). */
export const PER_CYCLE: number = DEFAULT_FIGURES.length;

/** The figures of a default cycle whose snapshot has no headroom (no node had both families). */
export const NO_HEADROOM_FIGURES: readonly string[] = Object.freeze(
  DEFAULT_FIGURES.filter((n) => n !== HEADROOM_METRICS.min && n !== HEADROOM_METRICS.near),
);

/** Datums of such a cycle. */
export const PER_CYCLE_NO_HEADROOM: number = NO_HEADROOM_FIGURES.length;
