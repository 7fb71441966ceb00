/**
 * The kube adapters against the HTTPS fake API server (its own CA, a bearer
 * token) through the real client-node and our one TLS client: the kubeconfig
 * and its context as plain data, the pod list page by page, the scraper's
 * path, failure kinds, timeout (on the fake clock) and body limit.
 */

import { assert, assertEquals, assertRejects } from "../support/assert.ts";
import { FakeClock } from "../support/fake_clock.ts";
import { FakeApiServer } from "../../tools/fake_apiserver.ts";
import { connect, KubeError, loadKubeconfig } from "../../lib/kube/kubeconfig.ts";
import { ProxyScraper, readLimited, ScrapeError } from "../../lib/scrape/scraper.ts";

/** A fake API server, a kubeconfig for it, and a connection; always closed. */
function withApi(
  fn: (api: FakeApiServer, kubeconfig: string) => Promise<void>,
): () => Promise<void> {
  return async () => {
    const api = FakeApiServer.start();
    const dir = Deno.makeTempDirSync();
    try {
      api.writeKubeconfig(`${dir}/config`, {
        cluster: "arn:aws:eks:eu-west-1:123456789012:cluster/prod",
      });
      await fn(api, `${dir}/config`);
    } finally {
      await api.close();
      Deno.removeSync(dir, { recursive: true });
    }
  };
}

const source = (kubeconfig: string) => ({
  kubeconfig: [kubeconfig],
  context: undefined,
  inCluster: false,
  homeConfig: undefined,
});

/** A connection, a prepared proxy scraper and the listed pods. */
async function scraperFor(
  api: FakeApiServer,
  kubeconfig: string,
  maxBodyBytes?: number,
  metricsPort = 61678,
) {
  const conn = await connect(source(kubeconfig));
  const scraper = new ProxyScraper(conn, {
    metricsPort,
    ...(maxBodyBytes === undefined ? {} : { maxBodyBytes }),
  });
  await scraper.prepare(new AbortController().signal);
  const pods = [...api.pods.values()].map((p) => ({
    key: `${p.namespace}/${p.name}/${p.uid}`,
    name: p.name,
    namespace: p.namespace,
    node: p.node,
    podIP: p.podIP,
    running: true,
  }));
  return { conn, scraper, pods };
}

Deno.test(
  "the kubeconfig's context reaches the rest of the program as plain data",
  withApi((api, kubeconfig) => {
    const loaded = loadKubeconfig(source(kubeconfig));
    assertEquals(loaded.describe, `kubeconfig ${kubeconfig} (context fake)`);
    assertEquals(loaded.context, {
      contextName: "fake",
      clusterName: "arn:aws:eks:eu-west-1:123456789012:cluster/prod",
      server: api.url,
      exec: undefined,
    });
    return Promise.resolve();
  }),
);

/** The text of a one-context kubeconfig, `current-context` as given. */
function oneContext(current: string): string {
  return [
    "apiVersion: v1",
    "kind: Config",
    "clusters:",
    "- name: c",
    "  cluster: { server: 'https://127.0.0.1:1', certificate-authority-data: '' }",
    "users:",
    "- name: u",
    "  user: { token: t }",
    "contexts:",
    "- name: a",
    "  context: { cluster: c, user: u }",
    `current-context: ${current}`,
    "",
  ].join("\n");
}

Deno.test("kubeconfig problems each name the file and the fix (kubectl's handling of empty files)", async () => {
  const dir = Deno.makeTempDirSync();
  const message = async (src: Parameters<typeof connect>[0]) => {
    const e = await assertRejects(() => connect(src), KubeError);
    return e.message;
  };
  try {
    const good = `${dir}/good`;
    const empty = `${dir}/empty`;
    const gone = `${dir}/gone`;
    Deno.writeTextFileSync(good, oneContext("a"));
    Deno.writeTextFileSync(empty, "\n  \n");
    Deno.writeTextFileSync(gone, oneContext("gone"));
    const base = { context: undefined, inCluster: false, homeConfig: undefined };
    // the default ~/.kube/config missing: what to do outside a pod
    assertEquals(
      await message({ ...base, kubeconfig: [], homeConfig: `${dir}/nope` }),
      `kubeconfig ${dir}/nope: file not found: outside a pod the helper needs a kubeconfig: ` +
        "set --kubeconfig or KUBECONFIG, or run it in the cluster",
    );
    // a path given: check it
    assertEquals(
      await message({ ...base, kubeconfig: [`${dir}/nope`] }),
      `kubeconfig ${dir}/nope: file not found (check --kubeconfig or KUBECONFIG)`,
    );
    // an empty file in a list is skipped, as kubectl does; only empty files: said so
    const conn = await connect({ ...base, kubeconfig: [empty, good] });
    assertEquals(conn.describe, `kubeconfig ${empty}:${good} (context a)`);
    conn.close();
    assertEquals(
      await message({ ...base, kubeconfig: [empty] }),
      `kubeconfig ${empty}: the file is empty; point --kubeconfig or KUBECONFIG at a kubeconfig`,
    );
    // a current-context that does not exist: the contexts there are
    assertEquals(
      await message({ ...base, kubeconfig: [gone] }),
      `kubeconfig ${gone} (context gone): current-context "gone" is not a context of the file: ` +
        "it has a; fix current-context or pass --context",
    );
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});

Deno.test("a context the kubeconfig lacks is a KubeError naming the contexts it has", () => {
  const dir = Deno.makeTempDirSync();
  const api = `${dir}/config`;
  try {
    Deno.writeTextFileSync(
      api,
      [
        "apiVersion: v1",
        "kind: Config",
        "clusters:",
        "- name: c",
        "  cluster: { server: 'https://127.0.0.1:1' }",
        "users:",
        "- name: u",
        "  user: { token: t }",
        "contexts:",
        "- name: a",
        "  context: { cluster: c, user: u }",
        "current-context: a",
        "",
      ].join("\n"),
    );
    let error: unknown;
    try {
      loadKubeconfig({ ...source(api), context: "b" });
    } catch (e) {
      error = e;
    }
    assert(error instanceof KubeError);
    assertEquals(error.message, `"--context" "b" is not in kubeconfig ${api}: it has a`);
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});

Deno.test(
  "the scraper: the pod proxy path with the bearer token; a 503 says which rule to open",
  withApi(async (api, kubeconfig) => {
    api.textPod("aws-node-a", "awscni_ip_max 29\n");
    api.addPod("aws-node-b", { kind: "unreachable" });
    const { conn, scraper, pods: [a, b] } = await scraperFor(api, kubeconfig);
    try {
      assert(a !== undefined && b !== undefined);
      assertEquals(await scraper.scrape(a, new AbortController().signal), "awscni_ip_max 29\n");
      assertEquals(api.proxyPaths, [
        "/api/v1/namespaces/kube-system/pods/aws-node-a:61678/proxy/metrics",
      ]);
      const e = await assertRejects(
        () => scraper.scrape(b, new AbortController().signal),
        ScrapeError,
      );
      assertEquals([e.kind, e.status], ["http", 503]);
      assertEquals(
        e.message,
        "HTTP 503: error trying to reach service: dial tcp 10.200.0.2:61678: connect: connection " +
          "refused (the API server could not reach the pod's port: allow inbound tcp/61678 from " +
          "the cluster security group to the nodes)",
      );
      assertEquals(api.counts.unauthorized, 0);
    } finally {
      conn.close();
    }
    // another --metrics-port: the hint names that port
    const other = await scraperFor(api, kubeconfig, undefined, 9100);
    try {
      const b9100 = other.pods[1];
      assert(b9100 !== undefined);
      const e = await assertRejects(
        () => other.scraper.scrape(b9100, new AbortController().signal),
        ScrapeError,
      );
      assert(
        e.message.endsWith("allow inbound tcp/9100 from the cluster security group to the nodes)"),
        e.message,
      );
    } finally {
      other.conn.close();
    }
  }),
);

Deno.test(
  "a hung scrape through TLS fails as timeout when the fake clock's timeout fires, as aborted on shutdown",
  withApi(async (api, kubeconfig) => {
    api.addPod("aws-node-hung", { kind: "hang" });
    const { conn, scraper, pods: [hung] } = await scraperFor(api, kubeconfig);
    try {
      const clock = new FakeClock();
      assert(hung !== undefined);
      const scraping = assertRejects(
        () => scraper.scrape(hung, clock.timeout(10_000)),
        ScrapeError,
      );
      await api.hanging(1);
      clock.tick(10_000);
      assertEquals((await scraping).kind, "timeout");
      const stop = new AbortController();
      const stopped = assertRejects(() => scraper.scrape(hung, stop.signal), ScrapeError);
      await api.hanging(2);
      stop.abort();
      const e = await stopped;
      assertEquals([e.kind, e.message], ["aborted", "aborted: shutting down"]);
    } finally {
      conn.close();
    }
  }),
);

Deno.test(
  "an API server that went away is a network failure naming it",
  withApi(async (api, kubeconfig) => {
    api.textPod("aws-node-a", "");
    const { conn, scraper, pods: [a] } = await scraperFor(api, kubeconfig);
    try {
      assert(a !== undefined);
      await api.close();
      const e = await assertRejects(
        () => scraper.scrape(a, new AbortController().signal),
        ScrapeError,
      );
      assertEquals(e.kind, "network");
      assert(e.message.startsWith("cannot reach the API server: "), e.message);
    } finally {
      conn.close();
    }
  }),
);

Deno.test(
  "the body limit: by Content-Length before reading, and as a streamed body arrives",
  withApi(async (api, kubeconfig) => {
    api.textPod("aws-node-big", "x".repeat(2048));
    const { conn, scraper, pods: [big] } = await scraperFor(api, kubeconfig, 1024);
    try {
      assert(big !== undefined);
      const e = await assertRejects(
        () => scraper.scrape(big, new AbortController().signal),
        ScrapeError,
      );
      assertEquals([e.kind, e.message], ["http", "body of 2048 bytes is over the 1024-byte limit"]);
    } finally {
      conn.close();
    }
    // no Content-Length: counted chunk by chunk, the stream cancelled at the limit
    let pulled = 0;
    let cancelled = false;
    const stream = new ReadableStream<Uint8Array>({
      pull(c) {
        pulled++;
        c.enqueue(new Uint8Array(400));
      },
      cancel() {
        cancelled = true;
      },
    });
    const e = await assertRejects(
      () => readLimited(new Response(stream), 1024, new AbortController().signal),
      ScrapeError,
    );
    assertEquals([e.kind, e.message], ["http", "body is over the 1024-byte limit"]);
    assertEquals([pulled >= 3, cancelled], [true, true]);
    assertEquals(
      await readLimited(new Response("héllo"), 1024, new AbortController().signal),
      "héllo",
    );
  }),
);
