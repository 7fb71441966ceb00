/**
 * The start-up credentials check: each source of the SDK's chain found in
 * its order, and none found named source by source. IMDS is the real SDK
 * client against a local IMDSv2.
 */

import { assert, assertEquals, assertRejects } from "../support/assert.ts";
import { FakeImds } from "../support/fake_aws.ts";
import { sdkImds } from "../../lib/aws/sdk_clients.ts";
import { type CredentialEnv, findCredentials, hasProfile } from "../../lib/aws/credentials.ts";
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

Deno.test("each source of the chain, in the SDK's order", async () => {
  const read = files({
    "/h/.aws/credentials": "[default]\naws_access_key_id = A\n",
    "/h/.aws/config": "[profile sso]\nsso_session = s\n",
  });
  const base = {
    files: ["/h/.aws/credentials", "/h/.aws/config"],
    readFile: read,
    imds: undefined,
  };
  const cases: [CredentialEnv, string | undefined, string][] = [
    [{ ...NONE, staticKeys: true, webIdentity: true }, "dev", "environment (AWS_ACCESS_KEY_ID)"],
    [NONE, undefined, "profile default in /h/.aws/credentials"],
    [NONE, "sso", "profile sso in /h/.aws/config"],
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
        "(IRSA or Pod Identity), set AWS_PROFILE or --profile on a laptop, or run with " +
        "--dry-run or --no-cloudwatch",
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
