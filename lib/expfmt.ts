/**
 * Parser for the Prometheus text exposition format 0.0.4.
 *
 * Pure: text in, metric families out. Each line is read by a small state
 * machine (name → labels → value → timestamp); any malformed line raises an
 * {@linkcode ExpositionParseError} that carries its 1-based line number.
 *
 * @module
 */

/** The metric types a `# TYPE` line may declare. */
export type MetricType = "counter" | "gauge" | "summary" | "histogram" | "untyped";

/** One sample line. */
export interface Sample {
  /** The sample's own name (for summaries and histograms it may carry `_sum`, `_count`, `_bucket`). */
  readonly name: string;
  /** Label pairs, escapes already resolved. */
  readonly labels: Readonly<Record<string, string>>;
  /** The value; `NaN`, `+Inf` and `-Inf` are kept as such. */
  readonly value: number;
  /** Optional timestamp in milliseconds since the epoch. */
  readonly timestampMs?: number;
}

/** A metric family: every sample that belongs to one `# TYPE` name. */
export interface MetricFamily {
  /** Family name (without `_sum`/`_count`/`_bucket`). */
  readonly name: string;
  /** Declared type; `untyped` when no `# TYPE` line named it. */
  readonly type: MetricType;
  /** Docstring from `# HELP`, escapes resolved; empty when absent. */
  readonly help: string;
  /** Samples in the order they appeared. */
  readonly samples: readonly Sample[];
}

/** A parse failure, with the 1-based line number where it happened. */
export class ExpositionParseError extends SyntaxError {
  /** 1-based line number of the offending line. */
  readonly line: number;
  /** The reason, without the line prefix. */
  readonly reason: string;
  /**
   * @param line 1-based line number
   * @param reason what is wrong, naming the offending text
   */
  constructor(line: number, reason: string) {
    super(`line ${line}: ${reason}`);
    this.name = "ExpositionParseError";
    this.line = line;
    this.reason = reason;
  }
}

const TYPES: ReadonlySet<string> = new Set(["counter", "gauge", "summary", "histogram", "untyped"]);
const METRIC_NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const FLOAT = /^[+-]?(?:\d+\.?\d*(?:[eE][+-]?\d+)?|\.\d+(?:[eE][+-]?\d+)?)$/;
const SPECIAL = /^[+-]?(?:inf|infinity|nan)$/i;
const TIMESTAMP = /^-?\d+$/;

interface MutableFamily {
  name: string;
  type: MetricType;
  typeDeclared: boolean;
  help: string;
  helpDeclared: boolean;
  samples: Sample[];
}

/**
 * Parses a float the way Prometheus' Go parser accepts it (`NaN`, `+Inf`,
 * `-Inf` in any case, decimal and exponent forms).
 *
 * @param text the token
 * @returns the number, or `undefined` when the token is not a float
 */
export function parseFloatToken(text: string): number | undefined {
  if (FLOAT.test(text)) return Number(text);
  if (SPECIAL.test(text)) {
    const lower = text.toLowerCase();
    if (lower.endsWith("nan")) return NaN;
    return lower.startsWith("-") ? -Infinity : Infinity;
  }
  return undefined;
}

/**
 * Parses a whole exposition body.
 *
 * @param text the body, LF or CRLF line endings
 * @returns families keyed by name, in order of first appearance
 * @throws {ExpositionParseError} on the first malformed line
 */
export function parseExposition(text: string): Map<string, MetricFamily> {
  const families = new Map<string, MutableFamily>();
  const lines = text.split("\n");
  for (let i = 0; i < lines.length; i++) {
    let line = lines[i] as string;
    if (line.endsWith("\r")) line = line.slice(0, -1);
    const lineNo = i + 1;
    const trimmed = line.trim();
    if (trimmed === "") continue;
    if (trimmed.startsWith("#")) {
      parseComment(trimmed, lineNo, families);
      continue;
    }
    const sample = parseSampleLine(line, lineNo);
    familyFor(sample, lineNo, families).samples.push(sample);
  }
  const out = new Map<string, MetricFamily>();
  for (const [name, f] of families) {
    out.set(name, { name: f.name, type: f.type, help: f.help, samples: f.samples });
  }
  return out;
}

function newFamily(name: string): MutableFamily {
  return {
    name,
    type: "untyped",
    typeDeclared: false,
    help: "",
    helpDeclared: false,
    samples: [],
  };
}

function parseComment(line: string, lineNo: number, families: Map<string, MutableFamily>): void {
  const body = line.slice(1).replace(/^[ \t]+/, "");
  const m = /^(HELP|TYPE)(?:[ \t]+|$)(.*)$/.exec(body);
  if (m === null) return; // an ordinary comment
  const keyword = m[1] as "HELP" | "TYPE";
  const rest = m[2] as string;
  const sp = rest.search(/[ \t]/);
  const name = sp === -1 ? rest : rest.slice(0, sp);
  const arg = sp === -1 ? "" : rest.slice(sp).replace(/^[ \t]+/, "");
  if (name === "") throw new ExpositionParseError(lineNo, `# ${keyword} without a metric name`);
  if (!METRIC_NAME.test(name)) {
    throw new ExpositionParseError(lineNo, `invalid metric name ${JSON.stringify(name)}`);
  }
  let fam = families.get(name);
  if (keyword === "HELP") {
    if (fam?.helpDeclared) {
      throw new ExpositionParseError(lineNo, `second HELP line for metric ${name}`);
    }
    fam ??= newFamily(name);
    fam.help = unescapeHelp(arg, lineNo);
    fam.helpDeclared = true;
    families.set(name, fam);
    return;
  }
  const type = arg.trim();
  if (!TYPES.has(type)) {
    throw new ExpositionParseError(
      lineNo,
      `unknown metric type ${JSON.stringify(type)} for metric ${name}`,
    );
  }
  if (fam?.typeDeclared) {
    throw new ExpositionParseError(lineNo, `second TYPE line for metric ${name}`);
  }
  if (fam !== undefined && fam.samples.length > 0) {
    throw new ExpositionParseError(lineNo, `TYPE line for metric ${name} after its samples`);
  }
  fam ??= newFamily(name);
  fam.type = type as MetricType;
  fam.typeDeclared = true;
  families.set(name, fam);
}

function unescapeHelp(text: string, lineNo: number): string {
  if (!text.includes("\\")) return text;
  let out = "";
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (c !== "\\") {
      out += c;
      continue;
    }
    const n = text[++i];
    if (n === "\\") out += "\\";
    else if (n === "n") out += "\n";
    else {
      throw new ExpositionParseError(
        lineNo,
        `invalid escape sequence "\\${n ?? ""}" in HELP text`,
      );
    }
  }
  return out;
}

function familyFor(
  sample: Sample,
  lineNo: number,
  families: Map<string, MutableFamily>,
): MutableFamily {
  const own = families.get(sample.name);
  if (own !== undefined && own.typeDeclared) {
    checkComplexSample(own, sample, "", lineNo);
    return own;
  }
  for (const suffix of ["_sum", "_count", "_bucket"] as const) {
    if (!sample.name.endsWith(suffix)) continue;
    const base = families.get(sample.name.slice(0, -suffix.length));
    if (base === undefined) continue;
    if (base.type === "histogram" || (base.type === "summary" && suffix !== "_bucket")) {
      checkComplexSample(base, sample, suffix, lineNo);
      return base;
    }
  }
  if (own !== undefined) return own;
  const fam = newFamily(sample.name);
  families.set(sample.name, fam);
  return fam;
}

function checkComplexSample(
  fam: MutableFamily,
  sample: Sample,
  suffix: string,
  lineNo: number,
): void {
  if (fam.type === "summary" && suffix === "") {
    const q = sample.labels["quantile"];
    if (q === undefined) {
      throw new ExpositionParseError(
        lineNo,
        `summary ${fam.name}: sample without a "quantile" label`,
      );
    }
    if (parseFloatToken(q) === undefined) {
      throw new ExpositionParseError(
        lineNo,
        `summary ${fam.name}: invalid quantile ${JSON.stringify(q)}`,
      );
    }
  }
  if (fam.type === "histogram") {
    if (suffix === "") {
      throw new ExpositionParseError(
        lineNo,
        `histogram ${fam.name}: sample ${sample.name} must end in _bucket, _sum or _count`,
      );
    }
    if (suffix === "_bucket") {
      const le = sample.labels["le"];
      if (le === undefined) {
        throw new ExpositionParseError(
          lineNo,
          `histogram ${fam.name}: bucket without an "le" label`,
        );
      }
      if (parseFloatToken(le) === undefined) {
        throw new ExpositionParseError(
          lineNo,
          `histogram ${fam.name}: invalid le ${JSON.stringify(le)}`,
        );
      }
    }
  }
}

function isNameStart(c: string): boolean {
  return (c >= "a" && c <= "z") || (c >= "A" && c <= "Z") || c === "_" || c === ":";
}

function isNameChar(c: string): boolean {
  return isNameStart(c) || (c >= "0" && c <= "9");
}

function isBlank(c: string | undefined): boolean {
  return c === " " || c === "\t";
}

/** States of the sample-line machine. */
const enum St {
  LabelStart,
  LabelName,
  Equals,
  ValueOpen,
  LabelValue,
  AfterValue,
}

function parseSampleLine(line: string, lineNo: number): Sample {
  let i = 0;
  const n = line.length;
  while (isBlank(line[i])) i++;
  const nameStart = i;
  if (i >= n || !isNameStart(line[i] as string)) {
    throw new ExpositionParseError(
      lineNo,
      `invalid metric name at ${JSON.stringify(line.slice(i, i + 20))}`,
    );
  }
  while (i < n && isNameChar(line[i] as string)) i++;
  const name = line.slice(nameStart, i);
  const labels: Record<string, string> = {};
  while (isBlank(line[i])) i++;
  if (line[i] === "{") {
    i++;
    let st = St.LabelStart;
    let labelName = "";
    let value = "";
    let closed = false;
    while (!closed) {
      const c = line[i];
      if (c === undefined) {
        throw new ExpositionParseError(lineNo, `unterminated label set of metric ${name}`);
      }
      switch (st) {
        case St.LabelStart:
          if (isBlank(c)) i++;
          else if (c === "}") {
            i++;
            closed = true;
          } else if (isNameStart(c) && c !== ":") {
            const s = i;
            while (i < n && isNameChar(line[i] as string) && line[i] !== ":") i++;
            labelName = line.slice(s, i);
            st = St.Equals;
          } else {
            throw new ExpositionParseError(
              lineNo,
              `invalid label name at ${JSON.stringify(line.slice(i, i + 20))} in metric ${name}`,
            );
          }
          break;
        case St.Equals:
          if (isBlank(c)) i++;
          else if (c === "=") {
            i++;
            st = St.ValueOpen;
          } else {
            throw new ExpositionParseError(
              lineNo,
              `expected "=" after label name ${labelName} in metric ${name}, got ${
                JSON.stringify(c)
              }`,
            );
          }
          break;
        case St.ValueOpen:
          if (isBlank(c)) i++;
          else if (c === '"') {
            i++;
            value = "";
            st = St.LabelValue;
          } else {
            throw new ExpositionParseError(
              lineNo,
              `expected '"' to open the value of label ${labelName} in metric ${name}`,
            );
          }
          break;
        case St.LabelValue:
          if (c === "\\") {
            const e = line[i + 1];
            if (e === "\\") value += "\\";
            else if (e === '"') value += '"';
            else if (e === "n") value += "\n";
            else {
              throw new ExpositionParseError(
                lineNo,
                `invalid escape sequence "\\${e ?? ""}" in label ${labelName} of metric ${name}`,
              );
            }
            i += 2;
          } else if (c === '"') {
            i++;
            if (Object.hasOwn(labels, labelName)) {
              throw new ExpositionParseError(
                lineNo,
                `duplicate label ${labelName} in metric ${name}`,
              );
            }
            labels[labelName] = value;
            st = St.AfterValue;
          } else {
            value += c;
            i++;
          }
          break;
        case St.AfterValue:
          if (isBlank(c)) i++;
          else if (c === ",") {
            i++;
            st = St.LabelStart;
          } else if (c === "}") {
            i++;
            closed = true;
          } else {
            throw new ExpositionParseError(
              lineNo,
              `expected "," or "}" after the value of label ${labelName} in metric ${name}`,
            );
          }
          break;
      }
    }
  }
  const rest = line.slice(i).trim().split(/[ \t]+/).filter((t) => t !== "");
  if (rest.length === 0) {
    throw new ExpositionParseError(lineNo, `metric ${name} has no value`);
  }
  const valueText = rest[0] as string;
  const value = parseFloatToken(valueText);
  if (value === undefined) {
    throw new ExpositionParseError(
      lineNo,
      `invalid value ${JSON.stringify(valueText)} for metric ${name}`,
    );
  }
  if (rest.length > 2) {
    throw new ExpositionParseError(
      lineNo,
      `unexpected text ${JSON.stringify(rest.slice(2).join(" "))} after the value of ${name}`,
    );
  }
  const tsText = rest[1];
  if (tsText === undefined) return { name, labels, value };
  if (!TIMESTAMP.test(tsText) || !Number.isSafeInteger(Number(tsText))) {
    throw new ExpositionParseError(
      lineNo,
      `invalid timestamp ${JSON.stringify(tsText)} for metric ${name}`,
    );
  }
  return { name, labels, value, timestampMs: Number(tsText) };
}

/**
 * A stable key for a label set: `name="value"` pairs sorted by name,
 * optionally leaving some labels out (e.g. `quantile`).
 *
 * @param labels the label set
 * @param omit label names to leave out
 * @returns the key; `""` for an empty set
 */
export function seriesKey(
  labels: Readonly<Record<string, string>>,
  omit: ReadonlySet<string> = new Set(),
): string {
  const names = Object.keys(labels).filter((k) => !omit.has(k)).sort();
  return names.map((k) => `${k}=${JSON.stringify(labels[k])}`).join(",");
}
