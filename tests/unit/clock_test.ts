import { assert, assertEquals } from "../support/assert.ts";
import { FakeClock } from "../support/fake_clock.ts";
import { deadline, timedOut } from "../../lib/base/clock.ts";

Deno.test("deadline: the parent's abort, with its reason", () => {
  const clock = new FakeClock();
  const parent = new AbortController();
  const d = deadline(clock, parent.signal, 1000);
  parent.abort(new Error("shutting down"));
  assert(d.signal.aborted && !timedOut(d.signal));
  assertEquals((d.signal.reason as Error).message, "shutting down");
  d.release();
});

Deno.test("deadline: the clock's timeout, as a TimeoutError, at exactly the deadline", () => {
  const clock = new FakeClock();
  const d = deadline(clock, new AbortController().signal, 1000);
  clock.tick(999);
  assert(!d.signal.aborted);
  clock.tick(1);
  assert(timedOut(d.signal));
  d.release();
});

Deno.test("deadline: released, it no longer follows the parent; an aborted parent aborts at once", () => {
  const clock = new FakeClock();
  const parent = new AbortController();
  const d = deadline(clock, parent.signal, 1000);
  d.release();
  parent.abort();
  clock.tick(1000);
  assert(!d.signal.aborted);
  const late = deadline(clock, parent.signal, 1000);
  assert(late.signal.aborted);
  late.release();
});
