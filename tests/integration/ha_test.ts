/**
 * Two replicas of the whole helper in-process, one fake API server (with
 * its Lease) and one local CloudWatch, on one driven fake clock (time moves
 * to the next pending sleep only once every loop of both replicas waits on
 * it, so no I/O is ever in the timed path): one publishes; when it stops
 * (flush, release) the other takes over at its next retry; CloudWatch never
 * holds one metric twice for a timestamp; the standby lists no pods.
 */

import { assert, assertEquals } from "../support/assert.ts";
import { byTimestamp, withWorld } from "../support/harness.ts";
import { drive, FakeClock } from "../support/fake_clock.ts";
import { awsNodeText, freshNode } from "../../tools/sim.ts";
import { DEFAULT_TIMING, microTime } from "../../lib/kube/leader_election.ts";
import type { CycleReport } from "../../lib/model/report.ts";

const opts = {};

/** A standby retries every 2 s × (1 + 0.2 × 0.5) = 2.2 s: the jitter, fixed. */
const leaderTiming = { ...DEFAULT_TIMING, random: () => 0.5 };

Deno.test(
  "two replicas: one leader publishes; on its shutdown it releases and the standby takes over",
  opts,
  withWorld(async (w) => {
    w.api.textPod("aws-node-a", awsNodeText({ ...freshNode(1), assigned: 5 }));
    w.api.textPod("aws-node-b", awsNodeText({ ...freshNode(1), assigned: 7 }));
    // t0 is an interval boundary; a starts 1 s after it, so its renewals (3, 5, 7 s, ...) never
    // run while its cycles (2, 4, 6, 8 s) do: none is in flight when it stops after cycle 4
    const t0 = Date.UTC(2026, 10, 28, 12, 0, 0);
    const clock = new FakeClock(t0 + 1_000);
    const at = (ms: number) => new Date(t0 + ms).toISOString();
    const lease = () => w.api.leases.get("kube-system/cni-metrics-helper")?.spec ?? {};
    const holder = () => String(lease()["holderIdentity"] ?? "");
    const args = [
      "--interval",
      "2",
      "--leader-election",
      "--leader-election-namespace",
      "kube-system",
    ];
    const stopA = new AbortController();
    const stopB = new AbortController();
    const cyclesA: CycleReport[] = [];
    const cyclesB: CycleReport[] = [];
    const a = w.run(args, {
      shutdown: stopA.signal,
      clock,
      extra: { podName: "helper-a", leaderTiming },
      onCycle: (r) => {
        cyclesA.push(r);
        // after 4 cycles a is told to stop
        if (cyclesA.length === 4) stopA.abort();
      },
    });
    // a leads from the start (it asked first): its renewals and its cycles wait on the clock
    await clock.sleepersAtLeast(2);
    assert(holder().startsWith("helper-a_"), holder());
    // b starts at 1.5 s: its retries (3.7, 5.9, 8.1 s) never meet a's steps either
    clock.tick(500);
    const b = w.run(args, {
      shutdown: stopB.signal,
      clock,
      extra: { podName: "helper-b", leaderTiming },
      onCycle: (r) => {
        cyclesB.push(r);
        if (cyclesB.length === 3) stopB.abort();
      },
    });
    // a's renewals and cycles and b's retries: 3 sleeps while both run
    await drive(clock, () => 3, a);
    assertEquals(await a, 0);
    const releasedAt = clock.now() - t0;
    assertEquals(releasedAt, 8_000);
    assertEquals(holder(), "");
    // b alone: its retries, then (leading) its renewals and its cycles
    await drive(clock, () => holder().startsWith("helper-b_") ? 2 : 1, b);
    assertEquals(await b, 0);

    assertEquals(cyclesA.map((r) => r.startedAt.toISOString()), [
      at(2_000),
      at(4_000),
      at(6_000),
      at(8_000),
    ]);
    // b took the Lease at its first retry after the release (8.1 s), and its first cycle began on
    // the first interval boundary after that (10 s)
    assertEquals([lease()["acquireTime"], lease()["leaseTransitions"]], [
      microTime(t0 + 8_100),
      1,
    ]);
    assertEquals(cyclesB.map((r) => r.startedAt.toISOString()), [
      at(10_000),
      at(12_000),
      at(14_000),
    ]);
    // one LIST per term: the standby held no pod cache and listed nothing while a led
    assertEquals(w.api.counts.list, 2);
    // every datum once per timestamp (byTimestamp throws on a repeat); a's 4 cycles and b's 3
    const sent = byTimestamp(w.cw.datums);
    assertEquals(sent.size, 7);
    const starts = [...cyclesA, ...cyclesB].map((r) => r.startedAt.getTime() / 1000);
    assertEquals([...sent.keys()].sort(), starts.sort());
    // b's first cycle is a baseline: no counter increase invented
    assertEquals(cyclesB[0]?.snapshot?.values.get("addReqCount"), 0);
    assertEquals(cyclesB[0]?.snapshot?.podsBaselined, 2);
    assertEquals(w.messages("info").filter((m) => m.startsWith("released the lease")).length, 2);
    assertEquals(w.messages("info").filter((m) => m.startsWith("became the leader")).length, 2);
  }),
);
