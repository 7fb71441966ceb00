/**
 * Local AWS endpoints for identity and credential tests, spoken to by the
 * real SDK clients: IMDSv2 (token required), EC2 DescribeTags (EC2 query
 * protocol, XML), STS AssumeRoleWithWebIdentity (query protocol, XML), and a
 * container credentials endpoint (EKS Pod Identity) that checks its
 * authorization token.
 *
 * @module
 */

function listen(
  handler: (req: Request) => Response | Promise<Response>,
): Deno.HttpServer<Deno.NetAddr> {
  return Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, handler);
}

const EXPIRES = "2099-01-01T00:00:00Z";

/** IMDSv2: PUT /latest/api/token, then GETs carrying the token. */
export class FakeImds {
  /** meta-data paths → text; a missing path answers 404. */
  readonly paths = new Map<string, string>();
  /** Instance tags exposed under `tags/instance` (instance-metadata tags on). */
  readonly tags = new Map<string, string>();
  /** Whether instance-metadata tags are enabled. */
  tagsEnabled = true;
  /** Requests seen (method path). */
  readonly seen: string[] = [];
  /** Instance role credentials, when set. */
  role: { name: string; accessKeyId: string } | undefined;
  #token = `imds-token-${crypto.randomUUID()}`;
  #server: Deno.HttpServer<Deno.NetAddr>;

  constructor(region = "ap-south-1", instanceId = "i-0123456789abcdef0") {
    this.paths.set("placement/region", region);
    this.paths.set("instance-id", instanceId);
    this.#server = listen((req) => this.#handle(req));
  }

  /** `http://127.0.0.1:<port>` */
  get url(): string {
    return `http://127.0.0.1:${this.#server.addr.port}`;
  }

  #handle(req: Request): Response {
    const path = new URL(req.url).pathname;
    this.seen.push(`${req.method} ${path}`);
    if (path === "/latest/api/token") {
      if (req.method !== "PUT" || !req.headers.get("x-aws-ec2-metadata-token-ttl-seconds")) {
        return new Response("", { status: 400 });
      }
      return new Response(this.#token);
    }
    if (req.headers.get("x-aws-ec2-metadata-token") !== this.#token) {
      return new Response("", { status: 401 });
    }
    const md = path.replace(/^\/latest\/meta-data\//, "");
    if (md === "tags/instance" && this.tagsEnabled) {
      return new Response([...this.tags.keys()].join("\n"));
    }
    if (md.startsWith("tags/instance/") && this.tagsEnabled) {
      const v = this.tags.get(decodeURIComponent(md.slice("tags/instance/".length)));
      return v === undefined ? new Response("", { status: 404 }) : new Response(v);
    }
    if (this.role !== undefined) {
      if (md === "iam/security-credentials/" || md === "iam/security-credentials") {
        return new Response(this.role.name);
      }
      if (md === `iam/security-credentials/${this.role.name}`) {
        return Response.json({
          Code: "Success",
          Type: "AWS-HMAC",
          AccessKeyId: this.role.accessKeyId,
          SecretAccessKey: "instance-secret",
          Token: "instance-session-token",
          Expiration: EXPIRES,
          LastUpdated: "2026-01-01T00:00:00Z",
        });
      }
    }
    const v = this.paths.get(md);
    return v === undefined ? new Response("", { status: 404 }) : new Response(v);
  }

  async close(): Promise<void> {
    await this.#server.shutdown();
  }
}

/** A TCP listener that accepts and never answers (a hanging IMDS). */
export class HangingServer {
  readonly #listener: Deno.Listener;
  readonly #conns: Deno.Conn[] = [];
  #waiters: { n: number; resolve: () => void }[] = [];

  constructor() {
    const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
    this.#listener = listener;
    (async () => {
      try {
        for await (const c of listener) {
          this.#conns.push(c);
          for (const w of this.#waiters.filter((w) => this.#conns.length >= w.n)) {
            this.#waiters.splice(this.#waiters.indexOf(w), 1);
            w.resolve();
          }
        }
      } catch {
        // closed
      }
    })();
  }

  get url(): string {
    return `http://127.0.0.1:${(this.#listener.addr as Deno.NetAddr).port}`;
  }

  /**
   * Resolves once `n` connections have been accepted in total.
   *
   * @param n how many
   */
  connected(n: number): Promise<void> {
    if (this.#conns.length >= n) return Promise.resolve();
    return new Promise((resolve) => this.#waiters.push({ n, resolve }));
  }

  close(): void {
    for (const c of this.#conns) {
      try {
        c.close();
      } catch {
        // gone
      }
    }
    this.#listener.close();
  }
}

/** A loopback URL nothing listens on (connection refused). */
export function closedPortUrl(): string {
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (l.addr as Deno.NetAddr).port;
  l.close();
  return `http://127.0.0.1:${port}`;
}

async function form(req: Request): Promise<URLSearchParams> {
  return new URLSearchParams(await req.text());
}

/** EC2 DescribeTags, DescribeInstances and DescribeSubnets (EC2 query protocol). */
export class FakeEc2 {
  /** instance id → tags */
  readonly tags = new Map<string, Map<string, string>>();
  /** instance id → its own subnet and its network interfaces' subnets */
  readonly instances = new Map<string, { subnet: string; enis: string[] }>();
  /** subnet id → zone and free IPs */
  readonly subnets = new Map<string, { zone: string; available: number }>();
  /** Items a DescribeInstances / DescribeSubnets page holds (NextToken beyond). */
  pageSize = 2;
  /** Answer UnauthorizedOperation to every action (no ec2:DescribeTags). */
  deny = false;
  /** Actions answered UnauthorizedOperation. */
  readonly denied = new Set<string>();
  /** Actions seen with their access key ids. */
  readonly seen: { action: string; accessKeyId: string | undefined }[] = [];
  #server: Deno.HttpServer<Deno.NetAddr>;

  constructor() {
    this.#server = listen((req) => this.#handle(req));
  }

  get url(): string {
    return `http://127.0.0.1:${this.#server.addr.port}`;
  }

  async #handle(req: Request): Promise<Response> {
    const p = await form(req);
    const action = p.get("Action") ?? "";
    const auth = req.headers.get("authorization") ?? "";
    this.seen.push({ action, accessKeyId: /Credential=([^/]+)\//.exec(auth)?.[1] });
    if (this.deny || this.denied.has(action)) {
      return new Response(
        `<?xml version="1.0" encoding="UTF-8"?>\n<Response><Errors><Error><Code>UnauthorizedOperation</Code><Message>You are not authorized to perform this operation. User: arn:aws:sts::123456789012:assumed-role/node/i-0123 is not authorized to perform: ec2:${action}</Message></Error></Errors><RequestID>req-1</RequestID></Response>`,
        { status: 403, headers: { "content-type": "text/xml" } },
      );
    }
    if (action === "DescribeInstances") return this.#instances(p);
    if (action === "DescribeSubnets") return this.#subnets(p);
    if (action !== "DescribeTags") return new Response("", { status: 400 });
    const filters = new Map<string, string[]>();
    for (let i = 1; p.has(`Filter.${i}.Name`); i++) {
      const values: string[] = [];
      for (let j = 1; p.has(`Filter.${i}.Value.${j}`); j++) {
        values.push(p.get(`Filter.${i}.Value.${j}`) as string);
      }
      filters.set(p.get(`Filter.${i}.Name`) as string, values);
    }
    const ids = filters.get("resource-id") ?? [];
    const keys = filters.get("key");
    const items: string[] = [];
    for (const id of ids) {
      for (const [k, v] of this.tags.get(id) ?? []) {
        if (keys !== undefined && !keys.includes(k)) continue;
        items.push(
          `<item><resourceId>${id}</resourceId><resourceType>instance</resourceType><key>${k}</key><value>${v}</value></item>`,
        );
      }
    }
    return new Response(
      `<?xml version="1.0" encoding="UTF-8"?>\n<DescribeTagsResponse xmlns="http://ec2.amazonaws.com/doc/2016-11-15/"><requestId>req-2</requestId><tagSet>${
        items.join("")
      }</tagSet></DescribeTagsResponse>`,
      { headers: { "content-type": "text/xml" } },
    );
  }

  /** The `Name.N` values of a query. */
  #list(p: URLSearchParams, name: string): string[] {
    const out: string[] = [];
    for (let i = 1; p.has(`${name}.${i}`); i++) out.push(p.get(`${name}.${i}`) as string);
    return out;
  }

  /** One page of `items` from `NextToken` (a numeric offset). */
  #page<T>(p: URLSearchParams, items: T[]): { page: T[]; next: string } {
    const start = Number(p.get("NextToken") ?? "0");
    const end = start + this.pageSize;
    return {
      page: items.slice(start, end),
      next: end < items.length ? `<nextToken>${end}</nextToken>` : "",
    };
  }

  #instances(p: URLSearchParams): Response {
    const ids = this.#list(p, "InstanceId");
    const missing = ids.filter((id) => !this.instances.has(id));
    if (missing.length > 0) {
      return xmlError(
        400,
        "InvalidInstanceID.NotFound",
        `The instance IDs '${missing.join(", ")}' do not exist`,
      );
    }
    const { page, next } = this.#page(p, ids);
    const items = page.map((id) => {
      const i = this.instances.get(id) as { subnet: string; enis: string[] };
      const enis = i.enis.map((sn, n) =>
        `<item><networkInterfaceId>eni-${
          id.slice(2)
        }-${n}</networkInterfaceId><subnetId>${sn}</subnetId></item>`
      ).join("");
      return `<item><reservationId>r-${
        id.slice(2)
      }</reservationId><instancesSet><item><instanceId>${id}</instanceId><subnetId>${i.subnet}</subnetId><networkInterfaceSet>${enis}</networkInterfaceSet></item></instancesSet></item>`;
    });
    return xml(
      `<DescribeInstancesResponse xmlns="http://ec2.amazonaws.com/doc/2016-11-15/"><requestId>req-3</requestId><reservationSet>${
        items.join("")
      }</reservationSet>${next}</DescribeInstancesResponse>`,
    );
  }

  #subnets(p: URLSearchParams): Response {
    const ids = this.#list(p, "SubnetId");
    const missing = ids.filter((id) => !this.subnets.has(id));
    if (missing.length > 0) {
      return xmlError(
        400,
        "InvalidSubnetID.NotFound",
        `The subnet ID '${missing[0]}' does not exist`,
      );
    }
    const { page, next } = this.#page(p, ids);
    const items = page.map((id) => {
      const sn = this.subnets.get(id) as { zone: string; available: number };
      return `<item><subnetId>${id}</subnetId><state>available</state><vpcId>vpc-1</vpcId><cidrBlock>10.0.0.0/24</cidrBlock><availableIpAddressCount>${sn.available}</availableIpAddressCount><availabilityZone>${sn.zone}</availabilityZone></item>`;
    });
    return xml(
      `<DescribeSubnetsResponse xmlns="http://ec2.amazonaws.com/doc/2016-11-15/"><requestId>req-4</requestId><subnetSet>${
        items.join("")
      }</subnetSet>${next}</DescribeSubnetsResponse>`,
    );
  }

  async close(): Promise<void> {
    await this.#server.shutdown();
  }
}

function xml(body: string): Response {
  return new Response(`<?xml version="1.0" encoding="UTF-8"?>\n${body}`, {
    headers: { "content-type": "text/xml" },
  });
}

function xmlError(status: number, code: string, message: string): Response {
  return new Response(
    `<?xml version="1.0" encoding="UTF-8"?>\n<Response><Errors><Error><Code>${code}</Code><Message>${message}</Message></Error></Errors><RequestID>req-5</RequestID></Response>`,
    { status, headers: { "content-type": "text/xml" } },
  );
}

/** STS AssumeRoleWithWebIdentity (query protocol), checking the token. */
export class FakeSts {
  /** The web identity token it accepts. */
  readonly token: string;
  /** Role ARNs assumed. */
  readonly assumed: string[] = [];
  #server: Deno.HttpServer<Deno.NetAddr>;

  constructor(token: string) {
    this.token = token;
    this.#server = listen((req) => this.#handle(req));
  }

  get url(): string {
    return `http://127.0.0.1:${this.#server.addr.port}`;
  }

  async #handle(req: Request): Promise<Response> {
    const p = await form(req);
    if (
      p.get("Action") !== "AssumeRoleWithWebIdentity" || p.get("WebIdentityToken") !== this.token
    ) {
      return new Response(
        `<ErrorResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><Error><Type>Sender</Type><Code>InvalidIdentityToken</Code><Message>bad token</Message></Error><RequestId>r</RequestId></ErrorResponse>`,
        { status: 400, headers: { "content-type": "text/xml" } },
      );
    }
    this.assumed.push(p.get("RoleArn") ?? "");
    return new Response(
      `<AssumeRoleWithWebIdentityResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><AssumeRoleWithWebIdentityResult><Credentials><AccessKeyId>ASIAIRSAEXAMPLE</AccessKeyId><SecretAccessKey>irsa-secret</SecretAccessKey><SessionToken>irsa-session</SessionToken><Expiration>${EXPIRES}</Expiration></Credentials><SubjectFromWebIdentityToken>system:serviceaccount:kube-system:cni-metrics-helper</SubjectFromWebIdentityToken><AssumedRoleUser><Arn>arn:aws:sts::123456789012:assumed-role/cni/s</Arn><AssumedRoleId>AROAEXAMPLE:s</AssumedRoleId></AssumedRoleUser><Audience>sts.amazonaws.com</Audience></AssumeRoleWithWebIdentityResult><ResponseMetadata><RequestId>r-1</RequestId></ResponseMetadata></AssumeRoleWithWebIdentityResponse>`,
      { headers: { "content-type": "text/xml" } },
    );
  }

  async close(): Promise<void> {
    await this.#server.shutdown();
  }
}

/** EKS Pod Identity's container credentials endpoint, checking the token. */
export class FakeContainerCredentials {
  readonly token: string;
  /** Authorization headers seen. */
  readonly seen: (string | null)[] = [];
  #server: Deno.HttpServer<Deno.NetAddr>;

  constructor(token: string) {
    this.token = token;
    this.#server = listen((req) => {
      const auth = req.headers.get("authorization");
      this.seen.push(auth);
      if (auth !== this.token) return new Response("denied", { status: 401 });
      return Response.json({
        AccessKeyId: "ASIAPODIDENTITY",
        SecretAccessKey: "pod-identity-secret",
        Token: "pod-identity-session",
        AccountId: "123456789012",
        Expiration: EXPIRES,
      });
    });
  }

  get url(): string {
    return `http://127.0.0.1:${this.#server.addr.port}/v1/credentials`;
  }

  async close(): Promise<void> {
    await this.#server.shutdown();
  }
}
