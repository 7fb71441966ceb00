/**
 * An API server answer as one line, with what to do about it: used by the
 * messages of the pod list, watch and proxy scrapes.
 *
 * @module
 */

/**
 * `HTTP 401: <the Status object's message>` (or the body's first 300
 * characters when it is not a Status), then {@linkcode apiHint}.
 *
 * @param status the HTTP status
 * @param body the answer's body
 * @returns the text
 */
export function apiStatusText(status: number, body: string): string {
  let message = body.trim().slice(0, 300);
  try {
    const st = JSON.parse(body) as { kind?: string; message?: string };
    if (st.kind === "Status" && typeof st.message === "string") message = st.message;
  } catch {
    // not a Status object: keep the text
  }
  return `HTTP ${status}${message ? `: ${message}` : ""}${apiHint(status)}`;
}

/**
 * The fix for a status the user can act on.
 *
 * @param status the API server's HTTP status
 * @returns ` (what to do)`, or `""`
 */
export function apiHint(status: number): string {
  if (status === 401) {
    return " (the API server did not accept the credentials: an expired or invalid token; " +
      "for EKS run `aws eks update-kubeconfig --name <cluster>` or check the AWS profile the " +
      "kubeconfig's exec plugin uses)";
  }
  if (status === 403) {
    return " (the identity above lacks that permission: deploy.yaml's ClusterRole " +
      "cni-metrics-helper has the rules the helper needs)";
  }
  return "";
}
