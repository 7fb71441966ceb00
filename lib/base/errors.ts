/**
 * The program's error classes and their one-line texts. Two bases decide the
 * exit code, mapped in one place ({@linkcode exitCodeFor}, used by `main.ts`):
 * a {@linkcode UserError} is something the user must fix in a flag, variable
 * or environment (exit 2); a {@linkcode RuntimeError} is a failure at run time
 * (exit 1). Logs get {@linkcode errorText}: one line, never a stack trace.
 *
 * @module
 */

/** A bad flag, variable or value the user must fix: exit code 2. */
export class UserError extends Error {
  /**
   * @param message names the flag or variable and the value
   */
  constructor(message: string) {
    super(message);
    this.name = "UserError";
  }
}

/** A failure at run time (cluster, CloudWatch, a port): exit code 1. */
export class RuntimeError extends Error {
  /**
   * @param message names the thing that failed and why
   */
  constructor(message: string) {
    super(message);
    this.name = "RuntimeError";
  }
}

/** Exit code of a successful run. */
export const EXIT_OK = 0;
/** Exit code of a runtime failure (and of anything unexpected). */
export const EXIT_RUNTIME = 1;
/** Exit code of a bad flag, variable or value. */
export const EXIT_USER = 2;

/**
 * The exit code for an error that ended the program: the one place the
 * error classes become exit codes.
 *
 * @param e the error
 * @returns 2 for a {@linkcode UserError}, else 1
 */
export function exitCodeFor(e: unknown): number {
  return e instanceof UserError ? EXIT_USER : EXIT_RUNTIME;
}

/**
 * The first line of an error's message (and of its cause's), never a stack.
 *
 * @param e anything thrown
 * @returns one line
 */
export function errorText(e: unknown): string {
  if (e instanceof Error) {
    const cause = e.cause instanceof Error ? `: ${e.cause.message}` : "";
    return firstLine(`${e.message}${cause}`);
  }
  return firstLine(String(e));
}

function firstLine(text: string): string {
  const i = text.indexOf("\n");
  return spawnText(permissionText(i < 0 ? text : text.slice(0, i)));
}

/** Node's `spawn X ENOENT` (a kubeconfig exec plugin that is not installed), said plainly. */
function spawnText(text: string): string {
  return text.replace(
    /spawn (\S+) ENOENT/,
    (_, cmd: string) =>
      `the program ${JSON.stringify(cmd)} was not found in PATH (the kubeconfig's exec ` +
      `credential plugin: install it, or fix users[].user.exec.command)`,
  );
}

/**
 * Deno's permission errors advise `run again with the --allow-read flag`,
 * which a user of the compiled binary cannot do: say what this build may
 * read and run instead, and how to widen it when developing.
 */
function permissionText(text: string): string {
  const m =
    /Requires (read|run|write|env|net|sys) access to "?([^",]*)"?,? run again with the --allow-\w+ flag/
      .exec(text);
  if (m === null) return text;
  const [, kind, what] = m;
  const may = kind === "run"
    ? "may run only aws and aws-iam-authenticator (as exec credential plugins)"
    : kind === "read"
    ? "may read only /var/run/secrets, ~/.kube and ~/.aws"
    : `has no ${kind} access there`;
  const fix = kind === "read"
    ? "move the file under ~/.kube or put its content in the kubeconfig (the *-data fields)"
    : kind === "run"
    ? "use one of those"
    : "report it";
  return text.slice(0, m.index) +
    `not allowed to ${kind} ${JSON.stringify(what)}: this build ${may}; ${fix}, or when ` +
    `developing run deno task start with a wider --allow-${kind}` +
    text.slice(m.index + m[0].length);
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
    // "@smithy/node-http-handler - [ERROR] a request has exceeded ..." → "a request has ..."
    firstLine(err?.message ?? String(e)).replace(/^@[\w/.-]+ - \[[A-Z]+\] /, "")
      .replace(/\.$/, ""),
    attempts !== undefined ? `after ${attempts} attempt(s)` : undefined,
  ].filter((p) => p !== undefined && p !== "");
  return parts.join(": ");
}
