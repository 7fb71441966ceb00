/**
 * The shape every background source shares: it reads on its own schedule
 * (the subnets every `--subnet-refresh`; the node labels the next features
 * watch), and each cycle takes its last good read into the cycle's inputs.
 * The aws-node scrape is the one source read in the cycle itself
 * (`aws_node.ts`); the others plug in here, built in `app/terms.ts`.
 *
 * @module
 */

import type { ClusterSnapshot } from "../model/report.ts";

/** A source read in the background, whose last good read joins each cycle. */
export interface BackgroundSource {
  /** Name, for logs. */
  readonly name: string;
  /**
   * Adds the last good read to a cycle's inputs (as they are when there is none).
   *
   * @param inputs the cycle's inputs so far
   * @returns them with this source's part
   */
  contribute(inputs: ClusterSnapshot): ClusterSnapshot;
}
