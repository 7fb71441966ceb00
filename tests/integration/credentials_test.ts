/**
 * The start-up credentials check: each source of the SDK's chain found in
 * its order, and none found named source by source. IMDS is the real SDK
 * client against a local IMDSv2.
 */

import { assert, assertEquals, assertRejects } from "../support/assert.ts";
import { FakeImds } from "../support/fake_aws.ts";
import { sdkImds } from "../../lib/aws/sdk_clients.ts";
import {
  type CredentialEnv,
  findCredentials,
  hasProfile,
  profileCredentials,
  sharedSections,
} from "../../lib/aws/credentials.ts";
import { RuntimeError } from "../../lib/base/errors.ts";

const NONE: CredentialEnv = { staticKeys: false, webIdentity: false, container: false };

function files(map: Record<string, string>) {
  return (path: string): Promise<string> => {
    const text = map[path];
    return text === undefined
      ? Promise.reject(new Deno.errors.NotFound(`no ${path}`))
      : Promise.resolve(text);
  };
}

Deno.test("hasProfile: [name] in credentials, [profile name] or [default] in config", () => {
  const cases: [string, string, boolean][] = [
    ["[default]\naws_access_key_id = A\n", "default", true],
    ["[dev]\n", "dev", true],
    ["[profile dev]\nregion = x\n", "dev", true],
    ["[ profile  dev ] ; comment\n", "dev", true],
    ["[development]\n", "dev", false],
    ["# [dev]\n", "dev", false],
    ["region = dev\n", "dev", false],
  ];
  for (const [text, profile, want] of cases) {
    assertEquals(hasProfile(text, profile), want, JSON.stringify(text));
  }
});

Deno.test("a profile counts only when it yields credentials, as the SDK's chain would", () => {
  const credentials = sharedSections(
    "[keys]\naws_access_key_id = A\naws_secret_access_key = S\n[halfkeys]\naws_access_key_id = A\n",
  );
  const config = sharedSections(
    [
      "[profile onlyregion]",
      "region = eu-central-1",
      "[profile sso]",
      "sso_session = corp",
      "sso_account_id = 1",
      "[profile legacy-sso]",
      "sso_start_url = https://x.awsapps.com/start",
      "[profile proc]",
      "credential_process = /usr/bin/creds --json",
      "[profile web]",
      "role_arn = arn:aws:iam::1:role/r",
      "web_identity_token_file = /t",
      "[profile chained]",
      "role_arn = arn:aws:iam::1:role/r",
      "source_profile = keys",
      "[profile chained-to-nothing]",
      "role_arn = arn:aws:iam::1:role/r",
      "source_profile = onlyregion",
      "[profile loop]",
      "role_arn = arn:aws:iam::1:role/r",
      "source_profile = loop",
      "[profile on-ec2]",
      "role_arn = arn:aws:iam::1:role/r",
      "credential_source = Ec2InstanceMetadata",
      "[profile bare-role]",
      "role_arn = arn:aws:iam::1:role/r",
      "[profile keys]",
      "region = us-east-1",
    ].join("\n"),
  );
  const files = [credentials, config];
  const cases: [string, string][] = [
    ["keys", "static keys"],
    ["sso", "SSO"],
    ["legacy-sso", "SSO"],
    ["proc", "credential_process"],
    ["web", "web identity token"],
    ["chained", "role arn:aws:iam::1:role/r from profile keys"],
    ["on-ec2", "role arn:aws:iam::1:role/r from credential_source Ec2InstanceMetadata"],
    ["onlyregion", "none: it sets no credentials (only region)"],
    ["halfkeys", "none: it sets no credentials (only aws_access_key_id)"],
    [
      "chained-to-nothing",
      "none: its role's source_profile onlyregion has no credentials (it sets no credentials " +
      "(only region))",
    ],
    [
      "loop",
      "none: its role's source_profile loop has no credentials (profile loop is its own " +
      "source_profile (a loop))",
    ],
    ["bare-role", "none: role_arn without source_profile or credential_source"],
    ["missing", "none: no profile missing"],
  ];
  for (const [profile, want] of cases) {
    const got = profileCredentials(files, profile);
    assertEquals("way" in got ? got.way : `none: ${got.none}`, want, profile);
  }
});

Deno.test("a profile that only sets a region is no source: the check says so, in the chain's order", async () => {
  const e = await assertRejects(
    () =>
      findCredentials({
        env: NONE,
        profile: "onlyregion",
        files: ["/h/.aws/credentials", "/h/.aws/config"],
        readFile: files({ "/h/.aws/config": "[profile onlyregion]\nregion = eu-central-1\n" }),
        imds: undefined,
        alternatives: "run with --dry-run or --no-cloudwatch",
      }),
    RuntimeError,
  );
  assert(
    e.message.includes(
      "; profile onlyregion in /h/.aws/config: it sets no credentials (only region); ",
    ),
    e.message,
  );
  assert(e.message.endsWith(", or run with --dry-run or --no-cloudwatch"), e.message);
});

Deno.test("each source of the chain, in the SDK's order", async () => {
  const read = files({
    "/h/.aws/credentials": "[default]\naws_access_key_id = A\naws_secret_access_key = S\n",
    "/h/.aws/config": "[profile sso]\nsso_session = s\n",
  });
  const base = {
    files: ["/h/.aws/credentials", "/h/.aws/config"],
    readFile: read,
    imds: undefined,
  };
  const cases: [CredentialEnv, string | undefined, string][] = [
    [{ ...NONE, staticKeys: true, webIdentity: true }, "dev", "environment (AWS_ACCESS_KEY_ID)"],
    [NONE, undefined, "profile default in /h/.aws/credentials (static keys)"],
    [NONE, "sso", "profile sso in /h/.aws/config (SSO)"],
    [
      { ...NONE, webIdentity: true, container: true },
      "dev",
      "web identity token (AWS_WEB_IDENTITY_TOKEN_FILE, IRSA)",
    ],
    [
      { ...NONE, container: true },
      "dev",
      "container endpoint (AWS_CONTAINER_CREDENTIALS_*, Pod Identity)",
    ],
  ];
  for (const [env, profile, want] of cases) {
    assertEquals(await findCredentials({ ...base, env, profile }), want);
  }
});

Deno.test("the instance role through IMDS; none anywhere names every source tried", async () => {
  const imds = new FakeImds();
  try {
    const inputs = {
      env: NONE,
      profile: "dev",
      files: ["/h/.aws/credentials", "/h/.aws/config"],
      readFile: files({}),
      imds: sdkImds({ endpoint: imds.url, timeoutMs: 2000 }),
    };
    imds.role = { name: "node-role", accessKeyId: "ASIA" };
    assertEquals(await findCredentials(inputs), "instance role node-role (IMDS)");
    imds.role = undefined;
    const e = await assertRejects(() => findCredentials(inputs), RuntimeError);
    assertEquals(
      e.message,
      "no AWS credentials for CloudWatch: AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY not set; " +
        "no profile dev in /h/.aws/credentials or /h/.aws/config; " +
        "AWS_WEB_IDENTITY_TOKEN_FILE/AWS_ROLE_ARN not set (IRSA); " +
        "AWS_CONTAINER_CREDENTIALS_FULL_URI not set (EKS Pod Identity); " +
        "instance role: the instance has none (IMDS). Give the service account an IAM role " +
        "(IRSA or Pod Identity), set AWS_PROFILE or --profile to a profile with credentials " +
        "on a laptop, or run with --dry-run",
    );
  } finally {
    await imds.close();
  }
});

Deno.test("IMDS off, and a file that cannot be read, are said as such", async () => {
  const e = await assertRejects(
    () =>
      findCredentials({
        env: NONE,
        profile: undefined,
        files: ["/h/.aws/credentials"],
        readFile: () => Promise.reject(new Deno.errors.PermissionDenied("EACCES")),
        imds: undefined,
      }),
    RuntimeError,
  );
  assert(
    e.message.includes("no profile default in /h/.aws/credentials (/h/.aws/credentials: EACCES)"),
    e.message,
  );
  assert(
    e.message.includes("instance role: IMDS turned off by AWS_EC2_METADATA_DISABLED"),
    e.message,
  );
});
