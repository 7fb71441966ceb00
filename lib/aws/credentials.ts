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
  /** The other ways out for this command, ending the message. @default "run with --dry-run" */
  readonly alternatives?: string;
}

/** The sections of an AWS shared file: section header (as written, trimmed) → key → value. */
export type SharedSections = Map<string, Map<string, string>>;

/**
 * Reads the sections of an AWS shared file (INI: `[name]`, `key = value`,
 * `#` and `;` comments; indented lines continue a nested block and are kept
 * under their parent key's name joined with a dot).
 *
 * @param text the file
 * @returns the sections
 */
export function sharedSections(text: string): SharedSections {
  const out: SharedSections = new Map();
  let current: Map<string, string> | undefined;
  let parent: string | undefined;
  for (const raw of text.split(/\r?\n/)) {
    const line = raw.replace(/\s[#;].*$/, "").replace(/^[#;].*$/, "");
    if (line.trim() === "") continue;
    const head = /^\s*\[\s*([^\]]+?)\s*\]\s*$/.exec(line);
    if (head) {
      const name = (head[1] as string).replace(/\s+/g, " ");
      current = out.get(name) ?? new Map();
      out.set(name, current);
      parent = undefined;
      continue;
    }
    const kv = /^(\s*)([^=\s]+)\s*=\s*(.*?)\s*$/.exec(line);
    if (kv === null || current === undefined) continue;
    const indent = kv[1] ?? "";
    const key = kv[2] ?? "";
    const value = kv[3] ?? "";
    if (indent !== "" && parent !== undefined) current.set(`${parent}.${key}`, value);
    else {
      current.set(key.toLowerCase(), value);
      parent = value === "" ? key.toLowerCase() : undefined;
    }
  }
  return out;
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
  return profileKeys([sharedSections(text)], profile) !== undefined;
}

/** A profile's keys over the files (`[name]` or `[profile name]`), the first file first. */
function profileKeys(
  files: readonly SharedSections[],
  profile: string,
): Map<string, string> | undefined {
  let keys: Map<string, string> | undefined;
  for (const f of files) {
    for (const name of [profile, `profile ${profile}`]) {
      const section = f.get(name);
      if (section === undefined) continue;
      keys ??= new Map();
      for (const [k, v] of section) if (!keys.has(k)) keys.set(k, v);
    }
  }
  return keys;
}

const CREDENTIAL_SOURCES = new Set(["environment", "ec2instancemetadata", "ecscontainer"]);

/**
 * How a profile of the shared files yields credentials, as the SDK's chain
 * would: static keys, SSO, `credential_process`, a web identity token, or a
 * role assumed from a source profile or a credential source. A profile
 * that only sets a region (or other settings) yields none.
 *
 * @param files the parsed shared files, credentials file first
 * @param profile the profile name
 * @returns the way (for the debug log), or `undefined` with the reason
 */
export function profileCredentials(
  files: readonly SharedSections[],
  profile: string,
): { way: string } | { none: string } {
  const seen = new Set<string>();
  const walk = (name: string): { way: string } | { none: string } => {
    if (seen.has(name)) return { none: `profile ${name} is its own source_profile (a loop)` };
    seen.add(name);
    const keys = profileKeys(files, name);
    if (keys === undefined) return { none: `no profile ${name}` };
    if (keys.has("aws_access_key_id") && keys.has("aws_secret_access_key")) {
      return { way: "static keys" };
    }
    if (keys.has("sso_session") || keys.has("sso_start_url")) return { way: "SSO" };
    if (keys.has("credential_process")) return { way: "credential_process" };
    if (keys.has("role_arn") && keys.has("web_identity_token_file")) {
      return { way: "web identity token" };
    }
    if (keys.has("role_arn")) {
      const source = keys.get("source_profile");
      if (source !== undefined) {
        const inner = walk(source);
        return "way" in inner
          ? { way: `role ${keys.get("role_arn")} from profile ${source}` }
          : { none: `its role's source_profile ${source} has no credentials (${inner.none})` };
      }
      const cs = keys.get("credential_source");
      if (cs !== undefined && CREDENTIAL_SOURCES.has(cs.toLowerCase())) {
        return { way: `role ${keys.get("role_arn")} from credential_source ${cs}` };
      }
      return { none: `role_arn without source_profile or credential_source` };
    }
    const set = [...keys.keys()];
    return {
      none: `it sets no credentials (only ${set.length > 0 ? set.join(", ") : "nothing"})`,
    };
  };
  return walk(profile);
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
  const parsed: SharedSections[] = [];
  const found: string[] = [];
  for (const file of inp.files) {
    let text: string;
    try {
      text = await inp.readFile(file);
    } catch (e) {
      if (!(e instanceof Deno.errors.NotFound)) unread.push(`${file}: ${errorText(e)}`);
      continue;
    }
    const sections = sharedSections(text);
    parsed.push(sections);
    if (profileKeys([sections], profile) !== undefined) found.push(file);
  }
  const fromProfile = profileCredentials(parsed, profile);
  if ("way" in fromProfile) {
    return `profile ${profile} in ${found.join(" and ")} (${fromProfile.way})`;
  }
  tried.push(
    (found.length > 0
      ? `profile ${profile} in ${found.join(" and ")}: ${fromProfile.none}`
      : `no profile ${profile} in ${inp.files.join(" or ") || "the shared files (no HOME)"}`) +
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
      "--profile to a profile with credentials on a laptop, or " +
      (inp.alternatives ?? "run with --dry-run"),
  );
}
