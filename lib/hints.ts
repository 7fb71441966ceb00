/**
 * What to do about an API server answer, appended to the messages of the
 * pod list, watch and proxy scrapes.
 *
 * @module
 */

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
