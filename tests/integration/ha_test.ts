/**
 * Two replicas of the whole helper in-process, one fake API server (with
 * its Lease) and one local CloudWatch, on a clock 10 times faster than real
 * time: one publishes; when it stops (flush, release) the other takes over
 * within a retry period; CloudWatch never holds one metric twice for a
 * timestamp; the standby holds no pod watch and answers /readyz.
 */

import { assert, assertEquals } from "../support/assert.ts";
import { byTimestamp, withWorld } from "../support/harness.ts";
import { fastClock } from "../support/fake_clock.ts";
import { awsNodeText, freshNode } from "../../tools/sim.ts";
import type { CycleReport } from "../../lib/model/report.ts";


const opts = {};

Deno.test(
  "two replicas: one leader publishes; on its shutdown it releases and the standby takes over",
  opts,
  withWorld(async (w) => {
    w.api.textPod("aws-node-a", awsNodeText({ ...freshNode(1), assigned: 5 }));
    w.api.textPod("aws-node-b", awsNodeText({ ...freshNode(1), assigned: 7 }));
    const clock = fastClock(10);
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
    let firstB: (() => void) | undefined;
    const bStarted = new Promise<void>((r) => (firstB = r));
    const a = w.run(args, {
      shutdown: stopA.signal,
      clock,
      extra: { podName: "helper-a" },
      onCycle: (r) => {
        cyclesA.push(r);
        // a leads from the start (it asked first); after 4 cycles it is told to stop
        if (cyclesA.length === 4) stopA.abort();
      },
    });
    // b starts once a holds the Lease
    await w.logged((m) => m.startsWith("became the leader"));
    const b = w.run(args, {
      shutdown: stopB.signal,
      clock,
      extra: { podName: "helper-b" },
      onCycle: (r) => {
        cyclesB.push(r);
        if (cyclesB.length === 1) firstB?.();
        if (cyclesB.length === 3) stopB.abort();
      },
    });
    assertEquals(await a, 0);
    const releasedAt = clock.now();
    await bStarted;
    const tookMs = clock.now() - releasedAt;
    assertEquals(await b, 0);
    // b's first cycle began within one retry period (2 s) of a's release, plus its first cycle
    assert(tookMs < 2_400 + 2_000, `b's first cycle ended ${tookMs} ms after a released`);
    // one LIST per term: the standby held no pod cache and listed nothing while a led
    assertEquals(w.api.counts.list, 2);
    assertEquals(cyclesA.length, 4);
    assertEquals(cyclesB.length, 3);
    // every datum once per timestamp (byTimestamp throws on a repeat); a's 4 cycles and b's 3
    const sent = byTimestamp(w.cw.datums);
    assertEquals(sent.size, 7);
    const starts = [...cyclesA, ...cyclesB].map((r) => r.startedAt.getTime() / 1000);
    assertEquals([...sent.keys()].sort(), starts.sort());
    // b's first cycle is a baseline: no counter increase invented
    assertEquals(cyclesB[0]?.snapshot?.values.get("addReqCount"), 0);
    assertEquals(cyclesB[0]?.snapshot?.podsBaselined, 2);
    assert(w.messages("info").some((m) => m.startsWith("released the lease")));
    assert(
      w.messages("info").filter((m) => m.startsWith("became the leader")).length === 2,
      w.messages("info").join("\n"),
    );
  }),
);
