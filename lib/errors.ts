/**
 * One-line error texts for logs: never a stack trace.
 *
 * @module
 */

/** First line of an error's message, never a stack. */
export function errorText(e: unknown): string {
  if (e instanceof Error) {
    const cause = e.cause instanceof Error ? `: ${e.cause.message}` : "";
    return `${e.message}${cause}`.split("\n")[0] as string;
  }
  return String(e).split("\n")[0] as string;
}

/**
 * A readable one-line reason for a failed AWS SDK call: error name (e.g.
 * `Throttling`, `UnauthorizedOperation`), HTTP status, message, attempts.
 *
 * @param e the error
 * @returns the text
 */
export function awsErrorText(e: unknown): string {
  const err = e as {
    name?: string;
    message?: string;
    $metadata?: { httpStatusCode?: number; attempts?: number };
  };
  const status = err?.$metadata?.httpStatusCode;
  const attempts = err?.$metadata?.attempts;
  const parts = [
    err?.name && err.name !== "Error" ? err.name : undefined,
    status !== undefined ? `HTTP ${status}` : undefined,
    (err?.message ?? String(e)).split("\n")[0],
    attempts !== undefined ? `after ${attempts} attempt(s)` : undefined,
  ].filter((p) => p !== undefined && p !== "");
  return parts.join(": ");
}
