/**
 * The pod source: list-then-watch against the HTTPS fake API server (its
 * own CA, a bearer token, pod objects the size of real ones), through our
 * TLS client. Events are awaited through the watcher's debug log lines;
 * backoff runs on the fake clock.
 */

import { assert, assertEquals, assertRejects } from "../support/assert.ts";
import { FakeClock } from "../support/fake_clock.ts";
import { LogCapture } from "../support/logs.ts";
import { FakeApiServer } from "../../tools/fake_apiserver.ts";
import { type KubeConnection, KubeError } from "../../lib/kube/kubeconfig.ts";
import { connectTo } from "../support/harness.ts";
import { PodWatcher } from "../../lib/kube/pod_watcher.ts";

const QUERY = { namespace: "kube-system", selector: "k8s-app=aws-node" };
const live = () => new AbortController().signal;

interface Rig {
  api: FakeApiServer;
  conn: KubeConnection;
  clock: FakeClock;
  logs: LogCapture;
  watcher: (pageSize?: number) => PodWatcher;
}

function withRig(fn: (r: Rig) => Promise<void>): () => Promise<void> {
  return async () => {
    const api = FakeApiServer.start();
    const dir = Deno.makeTempDirSync();
    const logs = await LogCapture.start();
    api.writeKubeconfig(`${dir}/config`);
    const conn = await connectTo(`${dir}/config`);
    const clock = new FakeClock();
    const made: PodWatcher[] = [];
    try {
      await fn({
        api,
        conn,
        clock,
        logs,
        watcher: (pageSize) => {
          const w = new PodWatcher(
            conn,
            pageSize === undefined ? QUERY : { ...QUERY, pageSize },
            clock,
            { backoffMs: 1000, maxBackoffMs: 4000 },
          );
          made.push(w);
          return w;
        },
      });
    } finally {
      for (const w of made) await w.close();
      conn.close();
      await api.close();
      Deno.removeSync(dir, { recursive: true });
    }
  };
}

/** Resolves once the watcher has applied `n` events of `type` for pod `name`. */
function applied(logs: LogCapture, type: string, name: string, n = 1): Promise<void> {
  return logs.logged((m) => m.startsWith(`pod watch: ${type} kube-system/${name} `), n);
}

Deno.test(
  "the first listing: every page, only the selected pods, Running with an IP marked",
  withRig(async ({ api, watcher }) => {
    for (let i = 0; i < 7; i++) api.textPod(`aws-node-${i}`, "");
    api.addPod("aws-node-pending", { kind: "hang" }, { phase: "Pending", podIP: "" });
    api.addPod("other", { kind: "hang" }, { labels: { "k8s-app": "other" } });
    api.addPod("elsewhere", { kind: "hang" }, { namespace: "default" });
    const w = watcher(3);
    // the signal reaches the transport: an aborted first listing fails at once
    const stop = new AbortController();
    stop.abort();
    const e = await assertRejects(() => w.list(stop.signal), KubeError);
    assertEquals(
      e.message,
      "listing pods in kube-system with selector k8s-app=aws-node (page 1): aborted: shutting down",
    );
    assertEquals(api.counts.list, 0);

    const { targets, stale } = await w.list(live());
    assertEquals(api.counts.list, 3);
    assertEquals([targets.length, stale], [8, undefined]);
    assertEquals(targets.filter((p) => !p.running).map((p) => p.name), ["aws-node-pending"]);
    assertEquals(targets[0], {
      key: "kube-system/aws-node-0/uid-1",
      name: "aws-node-0",
      namespace: "kube-system",
      node: "node-aws-node-0",
      podIP: "10.200.0.1",
      running: true,
      // the aws-node container's warm-pool settings that are set (literal values only)
      warm: { ENABLE_PREFIX_DELEGATION: "false", WARM_ENI_TARGET: "1", WARM_PREFIX_TARGET: "1" },
    });
    // one object per distinct set of settings, shared by the pods that have it
    assert(targets.every((t) => t.warm === targets[0]?.warm));
    // ~9 KB a pod object, like a real aws-node pod
    assert(api.listBytes > 8 * 9000, `${api.listBytes} bytes listed`);
  }),
);

Deno.test(
  "steady state: changes arrive by the watch, and a cycle's listing costs no request",
  withRig(async ({ api, logs, watcher }) => {
    api.textPod("aws-node-a", "");
    api.textPod("aws-node-b", "");
    const w = watcher();
    await w.list(live());
    api.textPod("aws-node-c", "");
    api.removePod("aws-node-a");
    api.updatePod("aws-node-b", { phase: "Failed" });
    await applied(logs, "MODIFIED", "aws-node-b");
    const { targets, stale } = await w.list(live());
    assertEquals(targets.map((t) => [t.name, t.running]), [
      ["aws-node-b", false],
      ["aws-node-c", true],
    ]);
    assertEquals(stale, undefined);
    for (let i = 0; i < 5; i++) await w.list(live());
    assertEquals([api.counts.list, api.counts.watch], [1, 1]);
  }),
);

Deno.test(
  "a watch cut (API server restart) resumes from the last version: nothing lost, no new LIST",
  withRig(async ({ api, logs, watcher }) => {
    api.textPod("aws-node-a", "");
    const w = watcher();
    await w.list(live());
    await api.watched(1);
    api.cutWatches();
    // changes while no watch is open are replayed to the next one
    api.textPod("aws-node-b", "");
    await applied(logs, "ADDED", "aws-node-b");
    assertEquals((await w.list(live())).targets.map((t) => t.name), ["aws-node-a", "aws-node-b"]);
    assertEquals([api.counts.list, api.counts.watch], [1, 2]);
  }),
);

Deno.test(
  "410 Gone: a version older than the API server keeps means a new LIST; bookmarks avoid it",
  withRig(async ({ api, logs, watcher }) => {
    api.textPod("aws-node-a", "");
    const w = watcher();
    await w.list(live());
    await api.watched(1);
    // pods elsewhere move the version on; a bookmark tells the watcher
    api.addPod("x", { kind: "hang" }, { namespace: "default" });
    api.bookmark();
    await logs.logged((m) => m.startsWith("pod watch: BOOKMARK"));
    api.compact();
    api.cutWatches();
    await logs.logged((m) => m.startsWith("the watch ended"), 1);
    api.textPod("aws-node-b", "");
    await applied(logs, "ADDED", "aws-node-b");
    assertEquals(api.counts.list, 1);

    // no bookmark this time: the version the watcher holds is gone
    api.addPod("y", { kind: "hang" }, { namespace: "default" });
    api.compact();
    api.cutWatches();
    await logs.logged((m) => m.includes("(410 Gone): listing again"));
    await logs.logged((m) => m.startsWith("listed 2 pods"));
    assertEquals(api.counts.list, 2);
    api.removePod("aws-node-a");
    await applied(logs, "DELETED", "aws-node-a");
    assertEquals((await w.list(live())).targets.map((t) => t.name), ["aws-node-b"]);
  }),
);

Deno.test(
  "a watch that fails: the last known set, marked stale, retried with backoff until it is back",
  withRig(async ({ api, clock, logs, watcher }) => {
    api.textPod("aws-node-a", "");
    const w = watcher();
    await w.list(live());
    await api.watched(1);
    api.failWatches = true;
    api.cutWatches();
    await logs.logged((m) => m.startsWith("the pod watch broke"));
    const down = await w.list(live());
    assertEquals(down.targets.map((t) => t.name), ["aws-node-a"]);
    assert(
      down.stale?.startsWith(
        "the pod watch is down since 2026-11-28T12:00:00.000Z (watching pods " +
          "in kube-system with selector k8s-app=aws-node: HTTP 503: the watch cache is not ready",
      ),
      down.stale,
    );
    assert(down.stale?.endsWith("using the last known 1 pods"), down.stale);
    // backoff 1 s, 2 s, 4 s, 4 s: one request each
    for (const [ms, n] of [[1000, 3], [2000, 4], [4000, 5], [4000, 6]] as const) {
      assertEquals(await clock.sleeping(), ms);
      clock.tick(ms);
      await logs.logged((m) => m.startsWith("watching again in"), n - 1);
    }
    assertEquals(api.counts.watch, 6);
    api.failWatches = false;
    api.textPod("aws-node-b", "");
    clock.tick(4000);
    await applied(logs, "ADDED", "aws-node-b");
    const back = await w.list(live());
    assertEquals([back.targets.length, back.stale], [2, undefined]);
    assert(logs.messages("info").some((m) => m.startsWith("the pod watch is back after 15 s")));
    assertEquals(api.counts.list, 1);
  }),
);

Deno.test(
  "a LIST page that never answers fails the listing at the page deadline, naming the page",
  withRig(async ({ api, clock, watcher }) => {
    api.textPod("aws-node-a", "");
    api.hangLists = true;
    const w = watcher();
    const listing = w.list(live());
    await api.listsHanging(1);
    clock.tick(9_999);
    clock.tick(1);
    const e = await assertRejects(() => listing, KubeError);
    assertEquals(
      e.message,
      "listing pods in kube-system with selector k8s-app=aws-node (page 1): timed out",
    );
    api.hangLists = false;
    assertEquals((await w.list(live())).targets.length, 1);
  }),
);

Deno.test(
  "HTTP 401 on the pod list says what to do about the credentials",
  withRig(async ({ api, clock }) => {
    const dir = Deno.makeTempDirSync();
    try {
      api.writeKubeconfig(`${dir}/config`, { token: "expired-token" });
      const conn = await connectTo(`${dir}/config`);
      const w = new PodWatcher(conn, QUERY, clock);
      try {
        const e = await assertRejects(() => w.list(live()), KubeError);
        assertEquals(
          e.message,
          "listing pods in kube-system with selector k8s-app=aws-node (page 1): HTTP 401: " +
            "Unauthorized (the API server did not accept the credentials: an expired or invalid " +
            "token; for EKS run `aws eks update-kubeconfig --name <cluster>` or check the AWS " +
            "profile the kubeconfig's exec plugin uses)",
        );
      } finally {
        await w.close();
        conn.close();
      }
    } finally {
      Deno.removeSync(dir, { recursive: true });
    }
  }),
);
