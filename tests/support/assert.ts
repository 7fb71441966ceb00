/**
 * Assertions for `Deno.test`, on top of `node:assert/strict`.
 *
 * @module
 */

import nodeAssert from "node:assert/strict";

/** Throws unless `cond` is truthy. */
export function assert(cond: unknown, message?: string): asserts cond {
  nodeAssert.ok(cond, message ?? "assertion failed");
}

/** Deep strict equality. */
export function assertEquals<T>(actual: T, expected: T, message?: string): void {
  nodeAssert.deepStrictEqual(actual, expected, message ?? "values differ");
}

/** Runs `fn`, expects it to throw an instance of `type`, returns the error. */
export function assertThrows<E extends Error>(
  fn: () => unknown,
  // deno-lint-ignore no-explicit-any
  type: new (...args: any[]) => E,
): E {
  try {
    fn();
  } catch (e) {
    nodeAssert.ok(e instanceof type, `expected ${type.name}, got ${String(e)}`);
    return e;
  }
  throw new nodeAssert.AssertionError({ message: `expected ${type.name} to be thrown` });
}

/** Async version of {@linkcode assertThrows}. */
export async function assertRejects<E extends Error>(
  fn: () => Promise<unknown>,
  // deno-lint-ignore no-explicit-any
  type: new (...args: any[]) => E,
): Promise<E> {
  try {
    await fn();
  } catch (e) {
    nodeAssert.ok(e instanceof type, `expected ${type.name}, got ${String(e)}`);
    return e;
  }
  throw new nodeAssert.AssertionError({ message: `expected ${type.name} to be rejected` });
}
