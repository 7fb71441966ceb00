/**
 * Leader election: two electors on one Lease in the HTTPS fake API server
 * (resourceVersion concurrency, 409 on a stale write), through our client,
 * on the fake clock: who leads, when a standby takes over after a crash or
 * a release, and that a leader cut off from the API server gives up before
 * its lease can expire.
 */

import { assert, assertEquals } from "../support/assert.ts";
import { FakeClock } from "../support/fake_clock.ts";
import { connectTo } from "../support/harness.ts";
import { FakeApiServer } from "../../tools/fake_apiserver.ts";
import type { KubeConnection } from "../../lib/kube/kubeconfig.ts";
import {
  DEFAULT_TIMING,
  kubeLeaseStore,
  LeaderElector,
  type LeaseRecord,
  type LeaseStore,
  microTime,
} from "../../lib/kube/leader_election.ts";
import { setupLogging } from "../../lib/base/logging.ts";

const NS = "kube-system";
const NAME = "cni-metrics-helper";
/** A standby retries every 2 s × (1 + 0.2 × 0.5) = 2.2 s: the jitter, fixed. */
const JITTER = 0.5;
const TIMING = { ...DEFAULT_TIMING, random: () => JITTER };

/** Counts one replica's requests (to check a standby only reads). */
function counted(store: LeaseStore, calls: string[]): LeaseStore {
  return {
    get: (s) => (calls.push("get"), store.get(s)),
    create: (r, s) => (calls.push("create"), store.create(r, s)),
    update: (r, s) => (calls.push("update"), store.update(r, s)),
  };
}

interface Replica {
  elector: LeaderElector;
  calls: string[];
  stop: AbortController;
  /** [start, end] of each term, fake ms since the clock's start */
  terms: [number, number | undefined][];
  done: Promise<void>;
}

interface Rig {
  api: FakeApiServer;
  clock: FakeClock;
  start: (id: string) => Replica;
  /** Starts pod-a, lets it take the Lease, then starts pod-b as its standby. */
  pair: () => Promise<[Replica, Replica]>;
  /** Moves the clock by `ms` in 100 ms steps, letting the running loops go idle after each. */
  advance: (ms: number, idle: number) => Promise<void>;
  t: () => number;
}

function withRig(fn: (r: Rig) => Promise<void>): () => Promise<void> {
  return async () => {
    const lines: string[] = [];
    await setupLogging("info", "json", (l) => lines.push(l));
    const api = FakeApiServer.start();
    const dir = Deno.makeTempDirSync();
    api.writeKubeconfig(`${dir}/config`);
    const conns: KubeConnection[] = [];
    const clock = new FakeClock();
    const t0 = clock.now();
    const replicas: Replica[] = [];
    const startReplica = (id: string): Replica => {
      const calls: string[] = [];
      const stop = new AbortController();
      const terms: [number, number | undefined][] = [];
      const r: Replica = {
        elector: undefined as never,
        calls,
        stop,
        terms,
        done: undefined as never,
      };
      const made = (async () => {
        const conn = await connectTo(`${dir}/config`);
        conns.push(conn);
        r.elector = new LeaderElector(
          counted(kubeLeaseStore(conn, NS, NAME), calls),
          id,
          clock,
          TIMING,
        );
        await r.elector.run(stop.signal, async (term) => {
          const i = terms.push([clock.now() - t0, undefined]) - 1;
          await new Promise((resolve) => term.addEventListener("abort", resolve));
          (terms[i] as [number, number | undefined])[1] = clock.now() - t0;
        });
      })();
      r.done = made;
      replicas.push(r);
      return r;
    };
    try {
      await fn({
        api,
        clock,
        t: () => clock.now() - t0,
        start: startReplica,
        pair: async () => {
          const a = startReplica("pod-a");
          await clock.sleepersAtLeast(1);
          const b = startReplica("pod-b");
          await clock.sleepersAtLeast(2);
          return [a, b];
        },
        advance: async (ms, idle) => {
          for (let done = 0; done < ms; done += 100) {
            clock.tick(100);
            await clock.sleepersAtLeast(idle);
          }
        },
      });
    } finally {
      for (const r of replicas) r.stop.abort();
      await Promise.all(replicas.map((r) => r.done));
      for (const c of conns) c.close();
      await api.close();
      Deno.removeSync(dir, { recursive: true });
    }
  };
}

Deno.test("microTime: RFC 3339 with microseconds, as the API server's MicroTime", () => {
  assertEquals(microTime(Date.UTC(2026, 10, 29, 22, 30, 12, 960)), "2026-11-29T22:30:12.960000Z");
});

Deno.test(
  "one leader: the first creates the Lease and renews it every 2 s; the other only reads it",
  withRig(async ({ api, clock, start, advance }) => {
    const a = start("pod-a_1f2e");
    await clock.sleepersAtLeast(1);
    const b = start("pod-b_9c8d");
    await clock.sleepersAtLeast(2);
    assert(a.elector.isLeader);
    assert(!b.elector.isLeader);
    assertEquals(b.elector.holder, "pod-a_1f2e");
    const spec = api.leases.get(`${NS}/${NAME}`)?.spec as Record<string, unknown>;
    assertEquals([spec["holderIdentity"], spec["leaseDurationSeconds"], spec["leaseTransitions"]], [
      "pod-a_1f2e",
      15,
      0,
    ]);
    a.calls.length = 0;
    b.calls.length = 0;
    await advance(20_000, 2);
    // a: a GET and a PUT every retry period (2 s, no jitter); b: one GET every 2.2 s (2 s and
    // its jitter): at 2.2, 4.4, ... 19.8 s
    assertEquals(a.calls.filter((c) => c === "update").length, 10);
    assertEquals(a.calls.filter((c) => c === "get").length, 10);
    assertEquals(b.calls, Array(9).fill("get"));
    assertEquals(a.terms.length, 1);
    assertEquals(b.terms.length, 0);
  }),
);

Deno.test(
  "the leader dies without releasing: the standby takes over 15 s after it last saw a renewal",
  withRig(async ({ pair, advance, t }) => {
    const [a, b] = await pair();
    await advance(4_000, 2);
    // SIGKILL: a's loop stops, nothing is released
    const lastRenew = t() - (t() % 2_000);
    a.stop.abort();
    await a.done;
    await advance(20_000, 1);
    assertEquals(b.terms.length, 1);
    const took = (b.terms[0] as [number, number | undefined])[0];
    // b (retrying at 2.2, 4.4, 6.6 s, ...) saw a's last renewal (4 s) at 4.4 s: the lease is
    // a's until 19.4 s, and b takes it at its first retry after that
    assertEquals(lastRenew, 4_000);
    assertEquals(took, 19_800);
  }),
);

Deno.test(
  "release on shutdown: the holder is cleared and the standby leads at its next retry",
  withRig(async ({ api, pair, advance, t }) => {
    const [a, b] = await pair();
    await advance(3_000, 2);
    a.stop.abort();
    await a.done;
    await a.elector.release(new AbortController().signal);
    const spec = api.leases.get(`${NS}/${NAME}`)?.spec as Record<string, unknown>;
    assertEquals([spec["holderIdentity"], spec["leaseDurationSeconds"]], ["", 1]);
    const released = t();
    await advance(3_000, 1);
    assertEquals(b.terms.length, 1);
    const took = (b.terms[0] as [number, number | undefined])[0];
    // released at 3 s; b's retries: 2.2 s (a held it), 4.4 s (free: b leads)
    assertEquals([released, took], [3_000, 4_400]);
    const after = api.leases.get(`${NS}/${NAME}`)?.spec as Record<string, unknown>;
    assertEquals([after["holderIdentity"], after["leaseTransitions"]], ["pod-b", 1]);
  }),
);

Deno.test(
  "cut off from the API server, the leader gives up before its lease can expire; nobody leads",
  withRig(async ({ api, pair, advance, t }) => {
    const [a, b] = await pair();
    await advance(4_000, 2);
    const lastRenew = t() - (t() % 2_000);
    api.leasesDown = true;
    await advance(16_000, 2);
    const term = a.terms[0] as [number, number | undefined];
    assert(term[1] !== undefined, "the leader did not give up");
    // renew deadline 10 s after the round began (2 s after the last renewal): before 15 s
    assert(term[1] - lastRenew <= 12_000, `renewed at ${lastRenew}, gave up at ${term[1]}`);
    assert(term[1] - lastRenew < 15_000);
    assert(!a.elector.isLeader && !b.elector.isLeader);
    assertEquals(b.terms.length, 0);
    // the API server is back: one of them leads again, with a fresh term
    api.leasesDown = false;
    await advance(20_000, 2);
    assertEquals(a.terms.length + b.terms.length, 2);
  }),
);

Deno.test("a stale write loses: 409 from the API server is not an error, just not leading", async () => {
  const api = FakeApiServer.start();
  const dir = Deno.makeTempDirSync();
  try {
    api.writeKubeconfig(`${dir}/config`);
    const conn = await connectTo(`${dir}/config`);
    try {
      const store = kubeLeaseStore(conn, NS, NAME);
      const live = new AbortController().signal;
      const rec: LeaseRecord = {
        holder: "x",
        leaseDurationSeconds: 15,
        acquireTime: microTime(0),
        renewTime: microTime(0),
        transitions: 0,
        resourceVersion: "",
      };
      const made = await store.create(rec, live);
      assert(made !== "conflict");
      assertEquals(await store.create(rec, live), "conflict");
      const next = await store.update({ ...made, holder: "y" }, live);
      assert(next !== "conflict");
      // made's resourceVersion is stale now
      assertEquals(await store.update({ ...made, holder: "z" }, live), "conflict");
      assertEquals((await store.get(live))?.holder, "y");
    } finally {
      conn.close();
    }
  } finally {
    await api.close();
    Deno.removeSync(dir, { recursive: true });
  }
});
