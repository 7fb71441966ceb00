/**
 * The start-up check that AWS credentials can be had, without calling AWS:
 * each source of the SDK's default chain is looked at in its order
 * (environment keys, the profile in the shared files, a web identity token
 * (IRSA), the container endpoint (EKS Pod Identity, ECS), the instance role
 * through IMDS) and the first one present wins. None: a
 * {@linkcode RuntimeError} that names every source tried and what to do,
 * instead of a `CredentialsProviderError` a minute later at the first
 * publish. A source that is present but wrong (a revoked key) still fails
 * at the publish, with the SDK's reason.
 *
 * @module
 */

import { errorText, RuntimeError } from "../base/errors.ts";
import type { Imds } from "./identity.ts";

/** Which credential variables are set (`cli/env_facts.ts` reads them). */
export interface CredentialEnv {
  /** `AWS_ACCESS_KEY_ID` and `AWS_SECRET_ACCESS_KEY`. */
  readonly staticKeys: boolean;
  /** `AWS_WEB_IDENTITY_TOKEN_FILE` and `AWS_ROLE_ARN` (IRSA). */
  readonly webIdentity: boolean;
  /** `AWS_CONTAINER_CREDENTIALS_FULL_URI` or `_RELATIVE_URI` (Pod Identity, ECS). */
  readonly container: boolean;
}

/** What the check may look at. */
export interface CredentialInputs {
  /** The variables. */
  readonly env: CredentialEnv;
  /** `--profile` / `AWS_PROFILE`; `undefined`: `default`. */
  readonly profile: string | undefined;
  /** The shared credentials and config files (either may be missing). */
  readonly files: readonly string[];
  /** Reads a file; rejects when it cannot. */
  readonly readFile: (path: string) => Promise<string>;
  /** IMDS; `undefined` when turned off by `AWS_EC2_METADATA_DISABLED`. */
  readonly imds: Imds | undefined;
  /** What they are for, in the message. @default "CloudWatch" */
  readonly purpose?: string;
}

/**
 * Whether an AWS shared file has a section for a profile: `[name]` in the
 * credentials file, `[profile name]` (or `[default]`) in the config file.
 *
 * @param text the file
 * @param profile the profile name
 * @returns true when the section exists
 */
export function hasProfile(text: string, profile: string): boolean {
  for (const raw of text.split(/\r?\n/)) {
    const head = /^\s*\[\s*(?:profile\s+)?([^\]]+?)\s*\]\s*(?:[#;].*)?$/.exec(raw);
    if (head?.[1] === profile) return true;
  }
  return false;
}

/**
 * Finds the first credential source of the SDK's chain that is present.
 *
 * @param inp the variables, files and IMDS to look at
 * @returns the source, e.g. `environment (AWS_ACCESS_KEY_ID)`
 * @throws {RuntimeError} naming every source tried and what to do
 */
export async function findCredentials(inp: CredentialInputs): Promise<string> {
  const tried: string[] = [];
  if (inp.env.staticKeys) return "environment (AWS_ACCESS_KEY_ID)";
  tried.push("AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY not set");
  const profile = inp.profile ?? "default";
  const unread: string[] = [];
  for (const file of inp.files) {
    let text: string;
    try {
      text = await inp.readFile(file);
    } catch (e) {
      if (!(e instanceof Deno.errors.NotFound)) unread.push(`${file}: ${errorText(e)}`);
      continue;
    }
    if (hasProfile(text, profile)) return `profile ${profile} in ${file}`;
  }
  tried.push(
    `no profile ${profile} in ${inp.files.join(" or ") || "the shared files (no HOME)"}` +
      (unread.length > 0 ? ` (${unread.join("; ")})` : ""),
  );
  if (inp.env.webIdentity) return "web identity token (AWS_WEB_IDENTITY_TOKEN_FILE, IRSA)";
  tried.push("AWS_WEB_IDENTITY_TOKEN_FILE/AWS_ROLE_ARN not set (IRSA)");
  if (inp.env.container) return "container endpoint (AWS_CONTAINER_CREDENTIALS_*, Pod Identity)";
  tried.push("AWS_CONTAINER_CREDENTIALS_FULL_URI not set (EKS Pod Identity)");
  if (inp.imds === undefined) {
    tried.push("instance role: IMDS turned off by AWS_EC2_METADATA_DISABLED");
  } else {
    try {
      const role = (await inp.imds.get("iam/security-credentials/"))?.trim().split("\n")[0];
      if (role) return `instance role ${role} (IMDS)`;
      tried.push("instance role: the instance has none (IMDS)");
    } catch (e) {
      tried.push(`instance role: IMDS did not answer (${errorText(e)})`);
    }
  }
  throw new RuntimeError(
    `no AWS credentials for ${inp.purpose ?? "CloudWatch"}: ${tried.join("; ")}. ` +
      "Give the service account an IAM role (IRSA or Pod Identity), set AWS_PROFILE or " +
      "--profile on a laptop, or run with --dry-run or --no-cloudwatch" +
      (inp.purpose?.includes("--subnets") ? " and without --subnets" : ""),
  );
}
