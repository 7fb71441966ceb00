/**
 * Runtime facts derived from the environment (pure: `main.ts` passes the
 * environment and a file-exists check in).
 *
 * @module
 */

import type { CredentialEnv } from "../aws/credentials.ts";
import { parseBool } from "./options.ts";

/** The service-account token kubelet mounts into a pod. */
export const SERVICE_ACCOUNT_TOKEN = "/var/run/secrets/kubernetes.io/serviceaccount/token";
/** The pod's namespace, mounted next to the token. */
export const SERVICE_ACCOUNT_NAMESPACE = "/var/run/secrets/kubernetes.io/serviceaccount/namespace";

/** Facts read from the environment. */
export interface EnvFacts {
  /** Running in a pod. */
  readonly inCluster: boolean;
  /** `~/.kube/config`, when HOME is set. */
  readonly homeKubeconfig: string | undefined;
  /** The AWS shared config file. */
  readonly awsConfigFile: string | undefined;
  /** The AWS shared credentials file. */
  readonly awsCredentialsFile: string | undefined;
  /** Which AWS credential variables are set. */
  readonly credentialEnv: CredentialEnv;
  /** IMDS turned off by `AWS_EC2_METADATA_DISABLED`. */
  readonly imdsDisabled: boolean;
  /** `POD_NAME` (the downward API), the base of the leader-election identity. */
  readonly podName: string | undefined;
  /** The pod's namespace (from the service account's mount), in a pod. */
  readonly podNamespace: string | undefined;
}

/**
 * @param env the process environment
 * @param exists file-exists check
 * @param read a file's text, or `undefined` when it cannot be read @default none
 * @returns the facts
 * @throws {import("./options.ts").ConfigError} on a bad `AWS_EC2_METADATA_DISABLED`
 */
export function runtimeFromEnv(
  env: Readonly<Record<string, string | undefined>>,
  exists: (path: string) => boolean,
  read: (path: string) => string | undefined = () => undefined,
): EnvFacts {
  const home = env["HOME"] || undefined;
  const disabled = env["AWS_EC2_METADATA_DISABLED"]?.trim();
  const set = (name: string) => (env[name]?.trim() ?? "") !== "";
  const inCluster = (env["KUBERNETES_SERVICE_HOST"] ?? "") !== "" && exists(SERVICE_ACCOUNT_TOKEN);
  return {
    inCluster,
    podName: env["POD_NAME"]?.trim() || undefined,
    podNamespace: inCluster ? read(SERVICE_ACCOUNT_NAMESPACE)?.trim() || undefined : undefined,
    homeKubeconfig: home === undefined ? undefined : `${home}/.kube/config`,
    awsConfigFile: env["AWS_CONFIG_FILE"] ||
      (home === undefined ? undefined : `${home}/.aws/config`),
    awsCredentialsFile: env["AWS_SHARED_CREDENTIALS_FILE"] ||
      (home === undefined ? undefined : `${home}/.aws/credentials`),
    credentialEnv: {
      staticKeys: set("AWS_ACCESS_KEY_ID") && set("AWS_SECRET_ACCESS_KEY"),
      webIdentity: set("AWS_WEB_IDENTITY_TOKEN_FILE") && set("AWS_ROLE_ARN"),
      container: set("AWS_CONTAINER_CREDENTIALS_FULL_URI") ||
        set("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI"),
    },
    imdsDisabled: disabled ? parseBool("AWS_EC2_METADATA_DISABLED", disabled) : false,
  };
}
