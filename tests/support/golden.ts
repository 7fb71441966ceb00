/**
 * Golden files in `tests/golden/`. `UPDATE_GOLDEN=1` rewrites a file that
 * differs, says so on stderr, and still fails the test when `CI=true` (a
 * golden is never rewritten silently, and never by CI).
 *
 * @module
 */

import { assertEquals } from "./assert.ts";

/**
 * Compares `actual` with `tests/golden/<name>`.
 *
 * @param actual the text produced
 * @param name the golden file's name
 */
export function assertGolden(actual: string, name: string): void {
  const url = new URL(`../golden/${name}`, import.meta.url);
  let expected: string | undefined;
  try {
    expected = Deno.readTextFileSync(url);
  } catch {
    expected = undefined;
  }
  if (Deno.env.get("UPDATE_GOLDEN") === "1" && expected !== actual) {
    Deno.writeTextFileSync(url, actual);
    console.error(`UPDATE_GOLDEN: rewrote tests/golden/${name}`);
    if (Deno.env.get("CI") === "true") {
      throw new Error(
        `UPDATE_GOLDEN=1 under CI=true: tests/golden/${name} differed and was rewritten`,
      );
    }
    return;
  }
  assertEquals(actual, expected ?? `(tests/golden/${name} is missing)`);
}
