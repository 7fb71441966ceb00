/**
 * `--scrape-via direct`: the helper reads http://<pod IP>:<port>/metrics
 * itself. Simulated nodes listen on their own loopback addresses (127.0.0.x,
 * one port for all), through the real fetch client; the pod list still comes
 * from the HTTPS fake API server, which must see no proxy request.
 */

import { assert, assertEquals } from "../support/assert.ts";
import { byTimestamp, withWorld } from "../support/harness.ts";
import { awsNodeText, freshNode } from "../../tools/sim.ts";
import type { CycleReport } from "../../lib/model/report.ts";

Deno.test(
  "direct mode: each node answers on its own IP; a closed port and garbage fail alone, named",
  withWorld(async (w) => {
    let cycle = 0;
    const node1 = Deno.serve(
      { hostname: "127.0.0.1", port: 0, onListen: () => {} },
      () => new Response(awsNodeText({ ...freshNode(1), assigned: 4, addReq: 10 + 5 * cycle })),
    );
    const port = node1.addr.port;
    const node2 = Deno.serve(
      { hostname: "127.0.0.2", port, onListen: () => {} },
      () => new Response("<html>bad gateway</html>\n"),
    );
    try {
      w.api.addPod("aws-node-1", { kind: "hang" }, { podIP: "127.0.0.1" });
      w.api.addPod("aws-node-2", { kind: "hang" }, { podIP: "127.0.0.2" });
      // nothing listens on 127.0.0.3
      w.api.addPod("aws-node-3", { kind: "hang" }, { podIP: "127.0.0.3" });
      const stop = new AbortController();
      const reports: CycleReport[] = [];
      const code = await w.run(
        ["--interval", "2", "--scrape-via", "direct", "--metrics-port", String(port)],
        {
          shutdown: stop.signal,
          onCycle: (r) => {
            reports.push(r);
            cycle = reports.length;
            if (reports.length >= 4) stop.abort();
          },
        },
      );
      assertEquals(code, 0);
      assertEquals(w.api.counts.proxy, 0);
      const r = reports[1] as CycleReport;
      assertEquals(r.scraped, 1);
      const failures = new Map(r.failures.map((f) => [f.target.name, f.error]));
      assertEquals(failures.get("aws-node-2")?.kind, "parse");
      assertEquals(failures.get("aws-node-3")?.kind, "network");
      const refused = failures.get("aws-node-3")?.message ?? "";
      assert(refused.startsWith(`cannot reach 127.0.0.3:${port}: `), refused);
      assert(refused.includes(`inbound tcp/${port}`), refused);
      const sent = [...byTimestamp(w.cw.datums).values()];
      assertEquals(sent.map((m) => m.get("assignIPAddresses")), [4, 4, 4, 4]);
      // 10 -> 15 -> 20 -> 25 (the first cycle is the baseline)
      assertEquals(sent.map((m) => m.get("addReqCount")), [0, 5, 5, 5]);
    } finally {
      await node1.shutdown();
      await node2.shutdown();
    }
  }),
);

Deno.test("direct mode: a bad --scrape-via names the flag and the value", async () => {
  const { parseConfig } = await import("../../lib/cli/config.ts");
  const { ConfigError } = await import("../../lib/cli/options.ts");
  for (
    const [args, env, message] of [
      [["--scrape-via", "node"], {}, '"--scrape-via" must be proxy or direct: got "node"'],
      [[], { SCRAPE_VIA: "Pods" }, 'SCRAPE_VIA must be proxy or direct: got "Pods"'],
    ] as const
  ) {
    try {
      parseConfig([...args], { ...env });
      throw new Error("accepted");
    } catch (e) {
      assert(e instanceof ConfigError, String(e));
      assertEquals(e.message, message);
    }
  }
  const ok = parseConfig([], { SCRAPE_VIA: "DIRECT" });
  assertEquals(ok.kind === "run" && ok.config.scrapeVia, "direct");
});
