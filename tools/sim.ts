/**
 * Simulated aws-node pods: figures in, exposition text out (in the shape of
 * the real aws-node output in `tests/fixtures/`), and a cluster whose figures
 * move over time for the demo and the benchmark.
 *
 * @module
 */

/** What one aws-node reports. */
export interface NodeFigures {
  assigned: number;
  total: number;
  maxIPs: number;
  eniAllocated: number;
  eniMax: number;
  prefixes: number;
  inProgress: number;
  addReq: number;
  delReq: number;
  awsApiErr: number;
  ec2Req: number;
  ec2Err: number;
  ipamdErr: number;
  noAvailable: number;
  reconcile: number;
  /** p99 of GetMetadata latency, ms */
  latencyP99: number;
  startTime: number;
}

/** Figures of a fresh m5.large-like node. */
export function freshNode(startTime: number): NodeFigures {
  return {
    assigned: 3,
    total: 10,
    maxIPs: 29,
    eniAllocated: 1,
    eniMax: 3,
    prefixes: 0,
    inProgress: 0,
    addReq: 0,
    delReq: 0,
    awsApiErr: 0,
    ec2Req: 4,
    ec2Err: 0,
    ipamdErr: 0,
    noAvailable: 0,
    reconcile: 0,
    latencyP99: 1,
    startTime,
  };
}

/**
 * Renders a node's figures as aws-node exposition text.
 *
 * @param f the figures
 * @returns the text, about 120 lines like the real thing
 */
export function awsNodeText(f: NodeFigures): string {
  const lines: string[] = [];
  const fam = (name: string, type: string, help: string, samples: [string, number][]) => {
    lines.push(`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`);
    for (const [labels, v] of samples) lines.push(`${name}${labels} ${v}`);
  };
  fam("awscni_add_ip_req_count", "counter", "The number of add IP address request", [[
    "",
    f.addReq,
  ]]);
  fam("awscni_assigned_ip_addresses", "gauge", "The number of IP addresses assigned to pods", [[
    "",
    f.assigned,
  ]]);
  fam("awscni_aws_api_error_count", "counter", "The number of times AWS API returns an error", [[
    '{api="DeleteNetworkInterface",error="InvalidParameterValue"}',
    f.awsApiErr,
  ]]);
  fam("awscni_ec2api_req_count", "counter", "The number of requests made to EC2 APIs by CNI", [
    ['{fn="AssignPrivateIpAddresses"}', Math.floor(f.ec2Req / 2)],
    ['{fn="DescribeNetworkInterfaces"}', f.ec2Req - Math.floor(f.ec2Req / 2)],
  ]);
  fam("awscni_ec2api_error_count", "counter", "The number of failed EC2 APIs requests", [[
    '{fn="AssignPrivateIpAddresses"}',
    f.ec2Err,
  ]]);
  lines.push(
    "# HELP awscni_aws_api_latency_ms AWS API call latency in ms",
    "# TYPE awscni_aws_api_latency_ms summary",
  );
  for (const api of ["AssignPrivateIpAddresses", "GetMetadata"]) {
    const p99 = api === "GetMetadata" ? String(f.latencyP99) : "NaN";
    for (const q of ["0.5", "0.9", "0.99"]) {
      lines.push(
        `awscni_aws_api_latency_ms{api="${api}",error="false",quantile="${q}"} ${
          q === "0.99" ? p99 : api === "GetMetadata" ? "0" : "NaN"
        }`,
      );
    }
    lines.push(
      `awscni_aws_api_latency_ms_sum{api="${api}",error="false"} ${f.ec2Req * 37}`,
      `awscni_aws_api_latency_ms_count{api="${api}",error="false"} ${f.ec2Req}`,
    );
  }
  fam("awscni_del_ip_req_count", "counter", "The number of delete IP address request", [[
    '{reason="PodDeleted"}',
    f.delReq,
  ]]);
  fam("awscni_eni_allocated", "gauge", "The number of ENIs allocated", [["", f.eniAllocated]]);
  fam(
    "awscni_eni_max",
    "gauge",
    "The maximum number of ENIs that can be attached to the instance",
    [
      ["", f.eniMax],
    ],
  );
  fam("awscni_ip_max", "gauge", "The maximum number of IP addresses that can be allocated", [[
    "",
    f.maxIPs,
  ]]);
  fam("awscni_ipamd_action_inprogress", "gauge", "The number of ipamd actions in progress", [
    ['{fn="increaseIPPool"}', f.inProgress],
    ['{fn="decreaseIPPool"}', 0],
  ]);
  fam("awscni_ipamd_error_count", "counter", "The number of errors encountered in ipamd", [[
    "",
    f.ipamdErr,
  ]]);
  fam(
    "awscni_no_available_ip_addresses",
    "counter",
    "The number of pod IP assignments that fail due to no available IP addresses",
    [[
      "",
      f.noAvailable,
    ]],
  );
  fam(
    "awscni_reconcile_count",
    "counter",
    "The number of times ipamd reconciles on ENIs and IP/Prefix addresses",
    [[
      '{fn="eniDataStorePoolReconcileAdd"}',
      f.reconcile,
    ]],
  );
  fam("awscni_total_ip_addresses", "gauge", "The total number of IP addresses", [["", f.total]]);
  fam("awscni_total_ipv4_prefixes", "gauge", "The total number of IPv4 prefixes", [[
    "",
    f.prefixes,
  ]]);
  for (let i = 0; i < 30; i++) {
    fam(`go_memstats_sim_${i}_bytes`, "gauge", "Filler like the Go runtime's own metrics.", [[
      "",
      1.5e6 + i,
    ]]);
  }
  fam(
    "process_start_time_seconds",
    "gauge",
    "Start time of the process since unix epoch in seconds.",
    [[
      "",
      f.startTime,
    ]],
  );
  return lines.join("\n") + "\n";
}

/** A small deterministic PRNG (mulberry32), so runs are repeatable. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * Moves one node's figures one step: pods come and go, counters grow,
 * occasionally aws-node restarts (counters reset, new start time).
 *
 * @param f the figures, updated in place
 * @param rnd random source
 * @param now seconds since the epoch (new start time on restart)
 */
export function advance(f: NodeFigures, rnd: () => number, now: number): void {
  if (rnd() < 0.01) {
    Object.assign(f, { ...freshNode(now), assigned: f.assigned, total: f.total });
    return;
  }
  const added = Math.floor(rnd() * 4);
  const removed = Math.min(f.assigned, Math.floor(rnd() * 4));
  f.addReq += added;
  f.delReq += removed;
  f.assigned = Math.max(0, Math.min(f.maxIPs, f.assigned + added - removed));
  if (f.assigned > f.total - 2 && f.eniAllocated < f.eniMax) {
    f.eniAllocated++;
    f.total = Math.min(f.maxIPs, f.total + 9);
    f.ec2Req += 3;
  }
  if (f.assigned >= f.maxIPs && added > 0) f.noAvailable += added;
  if (rnd() < 0.05) f.awsApiErr++;
  f.reconcile++;
  f.latencyP99 = Math.round(rnd() * 200) / 10;
}
