/**
 * Parser for the Prometheus text exposition format 0.0.4.
 *
 * Pure: text in, metric families out. Linear in the body's size for every
 * input: lines are found with `indexOf`, every token is read by a hand-written
 * scan (no regular expression runs over text from the network), and values
 * are built from slices, never one character at a time.
 *
 * Given a set of wanted family names, only those families (and their
 * `_sum`/`_count`/`_bucket` samples) are read and validated; any other line
 * is skipped once its name is read, whatever its syntax. A malformed line of
 * a wanted family raises an {@linkcode ExpositionParseError} that carries its
 * 1-based line number and quotes at most {@linkcode QUOTE_MAX} characters of
 * the input. A body that does not end in a newline, or that declares a
 * family and ends before any of its samples, is refused as truncated.
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
   * Builds it.
   *
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

/** Parser options. */
export interface ParseOptions {
  /**
   * Family names to read; every other line is skipped after its name.
   * @default undefined (every family is read and validated)
   */
  readonly wanted?: ReadonlySet<string>;
}

/** Most characters of the input an error message quotes. @default 80 */
export const QUOTE_MAX = 80;

/**
 * Quotes input text for an error message, cut to {@linkcode QUOTE_MAX}
 * characters.
 *
 * @param text the offending input
 * @returns `"text"`, or `"first 80…" (N characters)` when longer
 */
export function quote(text: string): string {
  if (text.length <= QUOTE_MAX) return JSON.stringify(text);
  return `${JSON.stringify(text.slice(0, QUOTE_MAX))}… (${text.length} characters)`;
}

/** A name for a message: as is, or quoted and cut when it is long. */
function nm(name: string): string {
  return name.length <= QUOTE_MAX ? name : quote(name);
}

const TYPES: ReadonlySet<string> = new Set(["counter", "gauge", "summary", "histogram", "untyped"]);
const SUFFIXES = ["_sum", "_count", "_bucket"] as const;

const C_TAB = 9, C_SPACE = 32, C_CR = 13, C_HASH = 35, C_QUOTE = 34, C_BACKSLASH = 92;

interface MutableFamily {
  name: string;
  type: MetricType;
  typeDeclared: boolean;
  help: string;
  helpDeclared: boolean;
  /** line of its first HELP or TYPE, for a family that ends without samples */
  declaredAt: number;
  samples: Sample[];
}

function isDigit(c: number): boolean {
  return c >= 48 && c <= 57;
}

function isNameStart(c: number): boolean {
  return (c >= 97 && c <= 122) || (c >= 65 && c <= 90) || c === 95 || c === 58;
}

function isNameChar(c: number): boolean {
  return isNameStart(c) || isDigit(c);
}

function isBlank(c: number): boolean {
  return c === C_SPACE || c === C_TAB;
}

/** End of the name that starts at `i` (== `i` when none does). */
function nameEnd(s: string, i: number, label = false): number {
  if (i >= s.length || !isNameStart(s.charCodeAt(i)) || (label && s.charCodeAt(i) === 58)) return i;
  let j = i + 1;
  while (j < s.length && isNameChar(s.charCodeAt(j)) && !(label && s.charCodeAt(j) === 58)) j++;
  return j;
}

function skipBlanks(s: string, i: number): number {
  while (i < s.length && isBlank(s.charCodeAt(i))) i++;
  return i;
}

/** End of the token (run of non-blank characters) that starts at `i`. */
function tokenEnd(s: string, i: number): number {
  while (i < s.length && !isBlank(s.charCodeAt(i))) i++;
  return i;
}

function digitsEnd(s: string, i: number): number {
  while (i < s.length && isDigit(s.charCodeAt(i))) i++;
  return i;
}

/**
 * Parses a float the way Prometheus' Go parser accepts it (`NaN`, `+Inf`,
 * `-Inf` in any case, decimal and exponent forms), in one linear scan.
 * A finite form too large for a float64 is refused, as Go's `ParseFloat` does.
 *
 * @param text the token
 * @returns the number, or `undefined` when the token is not a float
 */
export function parseFloatToken(text: string): number | undefined {
  const n = text.length;
  let i = 0;
  const sign = text.charCodeAt(0);
  if (sign === 43 || sign === 45) i++;
  const first = text.charCodeAt(i) | 0x20; // lower case of a letter
  if ((first === 105 || first === 110) && n - i <= 8) { // i(nf), n(an)
    const word = text.slice(i).toLowerCase();
    if (word === "inf" || word === "infinity") return sign === 45 ? -Infinity : Infinity;
    if (word === "nan") return NaN;
  }
  const intEnd = digitsEnd(text, i);
  let end = intEnd;
  let fracDigits = 0;
  if (text.charCodeAt(end) === 46) {
    const fracEnd = digitsEnd(text, end + 1);
    fracDigits = fracEnd - end - 1;
    end = fracEnd;
  }
  if (intEnd - i + fracDigits === 0) return undefined;
  const e = text.charCodeAt(end);
  if (e === 101 || e === 69) {
    let k = end + 1;
    const es = text.charCodeAt(k);
    if (es === 43 || es === 45) k++;
    const expEnd = digitsEnd(text, k);
    if (expEnd === k) return undefined;
    end = expEnd;
  }
  if (end !== n) return undefined;
  const v = Number(text);
  return Number.isFinite(v) ? v : undefined;
}

function parseTimestamp(text: string): number | undefined {
  const start = text.charCodeAt(0) === 45 ? 1 : 0;
  const end = digitsEnd(text, start);
  if (end === start || end !== text.length) return undefined;
  const v = Number(text);
  return Number.isSafeInteger(v) ? v : undefined;
}

/**
 * Parses a whole exposition body.
 *
 * @param text the body, LF or CRLF line endings
 * @param opts which families to read
 * @returns families keyed by name, in order of first appearance
 * @throws {ExpositionParseError} on the first malformed line of a family read, or a truncated body
 */
export function parseExposition(
  text: string,
  opts: ParseOptions = {},
): Map<string, MetricFamily> {
  // bytes that are not UTF-8 became U+FFFD when the body was decoded: look
  // for it per line only when the body has one
  const p = new Parser(opts.wanted, text.includes("\uFFFD"));
  const names = opts.wanted === undefined ? undefined : nameTable(opts.wanted);
  let pos = 0;
  let lineNo = 0;
  while (pos < text.length) {
    lineNo++;
    const nl = text.indexOf("\n", pos);
    if (nl === -1) {
      throw new ExpositionParseError(
        lineNo,
        `truncated: the body ends inside a line (no final newline) at ${
          quote(text.slice(pos, pos + QUOTE_MAX + 1))
        }`,
      );
    }
    let end = nl;
    if (end > pos && text.charCodeAt(end - 1) === C_CR) end--;
    // most lines belong to families not read: decide that on the body itself,
    // without cutting the line out of it
    if (names === undefined || !names.skips(text, pos, end)) p.line(text.slice(pos, end), lineNo);
    pos = nl + 1;
  }
  return p.finish(lineNo);
}

/** The wanted names by length, to test a name in place in the body. */
class NameTable {
  /** length → family names */
  readonly #families = new Map<number, string[]>();
  /** length → family names and `_sum`/`_count`/`_bucket` forms */
  readonly #samples = new Map<number, string[]>();

  constructor(wanted: ReadonlySet<string>) {
    const put = (m: Map<number, string[]>, name: string) => {
      const list = m.get(name.length) ?? [];
      list.push(name);
      m.set(name.length, list);
    };
    for (const name of wanted) {
      put(this.#families, name);
      put(this.#samples, name);
      for (const suffix of SUFFIXES) put(this.#samples, name + suffix);
    }
  }

  /**
   * Whether the line `text[start, end)` can be skipped: a HELP/TYPE line or a
   * sample of a name not wanted, or an ordinary comment. A line it keeps is
   * parsed (and validated) in full.
   */
  skips(text: string, start: number, end: number): boolean {
    let i = start;
    while (i < end && isBlank(text.charCodeAt(i))) i++;
    if (i === end) return true;
    if (text.charCodeAt(i) === C_HASH) {
      i++;
      while (i < end && isBlank(text.charCodeAt(i))) i++;
      const help = text.startsWith("HELP", i);
      if (!help && !text.startsWith("TYPE", i)) return true; // an ordinary comment
      i += 4;
      if (i < end && !isBlank(text.charCodeAt(i))) return true; // e.g. "# HELPER"
      while (i < end && isBlank(text.charCodeAt(i))) i++;
      let j = i;
      while (j < end && !isBlank(text.charCodeAt(j))) j++;
      return !this.#has(this.#families, text, i, j);
    }
    let j = i;
    while (j < end && isNameChar(text.charCodeAt(j))) j++;
    if (j === i || !isNameStart(text.charCodeAt(i))) return true; // no name we read
    return !this.#has(this.#samples, text, i, j);
  }

  #has(m: Map<number, string[]>, text: string, start: number, end: number): boolean {
    for (const name of m.get(end - start) ?? []) if (text.startsWith(name, start)) return true;
    return false;
  }
}

const NAME_TABLES = new WeakMap<ReadonlySet<string>, NameTable>();

function nameTable(wanted: ReadonlySet<string>): NameTable {
  let t = NAME_TABLES.get(wanted);
  if (t === undefined) {
    t = new NameTable(wanted);
    NAME_TABLES.set(wanted, t);
  }
  return t;
}

class Parser {
  readonly #wanted: ReadonlySet<string> | undefined;
  readonly #families = new Map<string, MutableFamily>();

  readonly #mayHaveBadBytes: boolean;

  constructor(wanted: ReadonlySet<string> | undefined, mayHaveBadBytes: boolean) {
    this.#wanted = wanted;
    this.#mayHaveBadBytes = mayHaveBadBytes;
  }

  line(line: string, lineNo: number): void {
    const i = skipBlanks(line, 0);
    if (i === line.length) return;
    if (line.charCodeAt(i) === C_HASH) this.#comment(line, i + 1, lineNo);
    else this.#sample(line, i, lineNo);
  }

  finish(lastLine: number): Map<string, MetricFamily> {
    const out = new Map<string, MetricFamily>();
    for (const [name, f] of this.#families) {
      if (f.samples.length === 0) {
        throw new ExpositionParseError(
          lastLine,
          `truncated: metric ${nm(name)} is declared at line ${f.declaredAt} but the body ends ` +
            `before any of its samples`,
        );
      }
      out.set(name, { name: f.name, type: f.type, help: f.help, samples: f.samples });
    }
    return out;
  }

  #reads(name: string): boolean {
    return this.#wanted === undefined || this.#wanted.has(name);
  }

  #comment(line: string, from: number, lineNo: number): void {
    const k = skipBlanks(line, from);
    const keyword = line.slice(k, k + 4);
    if (keyword !== "HELP" && keyword !== "TYPE") return; // an ordinary comment
    if (k + 4 < line.length && !isBlank(line.charCodeAt(k + 4))) return;
    const nameStart = skipBlanks(line, k + 4);
    const nameStop = tokenEnd(line, nameStart);
    const name = line.slice(nameStart, nameStop);
    if (name === "") throw new ExpositionParseError(lineNo, `# ${keyword} without a metric name`);
    if (nameEnd(name, 0) !== name.length) {
      throw new ExpositionParseError(lineNo, `invalid metric name ${quote(name)}`);
    }
    this.#checkText(line, lineNo);
    const arg = line.slice(skipBlanks(line, nameStop));
    let fam = this.#families.get(name);
    if (keyword === "HELP") {
      if (fam?.helpDeclared) {
        throw new ExpositionParseError(lineNo, `second HELP line for metric ${nm(name)}`);
      }
      fam ??= this.#newFamily(name, lineNo);
      fam.help = unescape(arg, false, lineNo, `HELP text of metric ${nm(name)}`);
      fam.helpDeclared = true;
      return;
    }
    const type = arg.slice(0, tokenEnd(arg, 0));
    if (!TYPES.has(type) || skipBlanks(arg, type.length) !== arg.length) {
      throw new ExpositionParseError(
        lineNo,
        `unknown metric type ${quote(arg.trimEnd())} for metric ${nm(name)}`,
      );
    }
    if (fam?.typeDeclared) {
      throw new ExpositionParseError(lineNo, `second TYPE line for metric ${nm(name)}`);
    }
    if (fam !== undefined && fam.samples.length > 0) {
      throw new ExpositionParseError(lineNo, `TYPE line for metric ${nm(name)} after its samples`);
    }
    fam ??= this.#newFamily(name, lineNo);
    fam.type = type as MetricType;
    fam.typeDeclared = true;
  }

  #newFamily(name: string, lineNo: number): MutableFamily {
    const fam: MutableFamily = {
      name,
      type: "untyped",
      typeDeclared: false,
      help: "",
      helpDeclared: false,
      declaredAt: lineNo,
      samples: [],
    };
    this.#families.set(name, fam);
    return fam;
  }

  /** U+FFFD is what the body's decoding made of bytes that are not UTF-8. */
  #checkText(line: string, lineNo: number): void {
    if (!this.#mayHaveBadBytes) return;
    const bad = line.indexOf("\uFFFD");
    if (bad !== -1) {
      throw new ExpositionParseError(
        lineNo,
        `invalid UTF-8 at column ${bad + 1} in ${quote(line)}`,
      );
    }
  }

  /** The family a sample name belongs to, or `undefined` when it is not read. */
  #familyOf(name: string, lineNo: number): { fam: MutableFamily; suffix: string } | undefined {
    const own = this.#families.get(name);
    if (own !== undefined && own.typeDeclared) return { fam: own, suffix: "" };
    for (const suffix of SUFFIXES) {
      if (!name.endsWith(suffix)) continue;
      const base = this.#families.get(name.slice(0, -suffix.length));
      if (base === undefined) continue;
      if (base.type === "histogram" || (base.type === "summary" && suffix !== "_bucket")) {
        return { fam: base, suffix };
      }
    }
    if (own !== undefined) return { fam: own, suffix: "" };
    if (!this.#reads(name)) return undefined;
    return { fam: this.#newFamily(name, lineNo), suffix: "" };
  }

  #sample(line: string, start: number, lineNo: number): void {
    const stop = nameEnd(line, start);
    const name = line.slice(start, stop);
    if (name === "") {
      // (with wanted names, NameTable.skips has already passed over such lines)
      throw new ExpositionParseError(
        lineNo,
        `invalid metric name at ${quote(line.slice(start, start + QUOTE_MAX + 1))}`,
      );
    }
    const target = this.#familyOf(name, lineNo);
    if (target === undefined) return;
    this.#checkText(line, lineNo);
    const sample = readSample(line, name, stop, lineNo);
    checkComplexSample(target.fam, sample, target.suffix, lineNo);
    target.fam.samples.push(sample);
  }
}

/** Resolves `\\`, `\n` (and `\"` in label values) from a slice, in one pass. */
function unescape(text: string, quoted: boolean, lineNo: number, what: string): string {
  let b = text.indexOf("\\");
  if (b === -1) return text;
  const parts: string[] = [];
  let from = 0;
  while (b !== -1) {
    parts.push(text.slice(from, b));
    const e = text.charCodeAt(b + 1);
    if (e === C_BACKSLASH) parts.push("\\");
    else if (e === 110) parts.push("\n");
    else if (quoted && e === C_QUOTE) parts.push('"');
    else {
      throw new ExpositionParseError(
        lineNo,
        `invalid escape sequence "\\${text[b + 1] ?? ""}" in ${what}`,
      );
    }
    from = b + 2;
    b = text.indexOf("\\", from);
  }
  parts.push(text.slice(from));
  return parts.join("");
}

/** End of a label value that starts after its opening quote at `i`: the closing quote's index. */
function valueEnd(line: string, i: number): number {
  for (;;) {
    const q = line.indexOf('"', i);
    if (q === -1) return -1;
    // the quote closes unless an odd run of backslashes precedes it
    let k = q - 1;
    while (k >= i && line.charCodeAt(k) === C_BACKSLASH) k--;
    if ((q - 1 - k) % 2 === 0) return q;
    i = q + 1;
  }
}

function readSample(line: string, name: string, from: number, lineNo: number): Sample {
  const labels: Record<string, string> = {};
  let i = skipBlanks(line, from);
  if (line.charCodeAt(i) === 123) {
    i = readLabels(line, i + 1, name, labels, lineNo);
  }
  i = skipBlanks(line, i);
  const valueStop = tokenEnd(line, i);
  if (valueStop === i) throw new ExpositionParseError(lineNo, `metric ${nm(name)} has no value`);
  const valueText = line.slice(i, valueStop);
  const value = parseFloatToken(valueText);
  if (value === undefined) {
    throw new ExpositionParseError(
      lineNo,
      `invalid value ${quote(valueText)} for metric ${nm(name)}`,
    );
  }
  i = skipBlanks(line, valueStop);
  if (i === line.length) return { name, labels, value };
  const tsStop = tokenEnd(line, i);
  const tsText = line.slice(i, tsStop);
  const rest = skipBlanks(line, tsStop);
  if (rest !== line.length) {
    throw new ExpositionParseError(
      lineNo,
      `unexpected text ${quote(line.slice(rest))} after the value of ${nm(name)}`,
    );
  }
  const ts = parseTimestamp(tsText);
  if (ts === undefined) {
    throw new ExpositionParseError(
      lineNo,
      `invalid timestamp ${quote(tsText)} for metric ${nm(name)}`,
    );
  }
  return { name, labels, value, timestampMs: ts };
}

/** Reads `name="value",...}` from `i` (just after `{`); returns the index after `}`. */
function readLabels(
  line: string,
  i: number,
  name: string,
  labels: Record<string, string>,
  lineNo: number,
): number {
  const unterminated = () =>
    new ExpositionParseError(lineNo, `unterminated label set of metric ${nm(name)}`);
  for (;;) {
    i = skipBlanks(line, i);
    if (i >= line.length) throw unterminated();
    if (line.charCodeAt(i) === 125) return i + 1;
    const labelStop = nameEnd(line, i, true);
    if (labelStop === i) {
      throw new ExpositionParseError(
        lineNo,
        `invalid label name at ${quote(line.slice(i, i + 20))} in metric ${nm(name)}`,
      );
    }
    const labelName = line.slice(i, labelStop);
    i = skipBlanks(line, labelStop);
    if (i >= line.length) throw unterminated();
    if (line.charCodeAt(i) !== 61) {
      throw new ExpositionParseError(
        lineNo,
        `expected "=" after label name ${labelName} in metric ${nm(name)}, got ${
          quote(line[i] ?? "")
        }`,
      );
    }
    i = skipBlanks(line, i + 1);
    if (i >= line.length) throw unterminated();
    if (line.charCodeAt(i) !== C_QUOTE) {
      throw new ExpositionParseError(
        lineNo,
        `expected '"' to open the value of label ${labelName} in metric ${nm(name)}`,
      );
    }
    const close = valueEnd(line, i + 1);
    if (close === -1) throw unterminated();
    const value = unescape(
      line.slice(i + 1, close),
      true,
      lineNo,
      `label ${labelName} of metric ${nm(name)}`,
    );
    // `labels[x]` first: Object.hasOwn on a many-shaped object is slow, and
    // only a name the prototype also has ("constructor") needs it
    if (labels[labelName] !== undefined && Object.hasOwn(labels, labelName)) {
      throw new ExpositionParseError(lineNo, `duplicate label ${labelName} in metric ${nm(name)}`);
    }
    labels[labelName] = value;
    i = skipBlanks(line, close + 1);
    if (i >= line.length) throw unterminated();
    const c = line.charCodeAt(i);
    if (c === 44) i++;
    else if (c === 125) return i + 1;
    else {
      throw new ExpositionParseError(
        lineNo,
        `expected "," or "}" after the value of label ${labelName} in metric ${nm(name)}`,
      );
    }
  }
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
        `summary ${nm(fam.name)}: sample without a "quantile" label`,
      );
    }
    if (parseFloatToken(q) === undefined) {
      throw new ExpositionParseError(
        lineNo,
        `summary ${nm(fam.name)}: invalid quantile ${quote(q)}`,
      );
    }
  }
  if (fam.type === "histogram") {
    if (suffix === "") {
      throw new ExpositionParseError(
        lineNo,
        `histogram ${nm(fam.name)}: sample ${nm(sample.name)} must end in _bucket, _sum or _count`,
      );
    }
    if (suffix === "_bucket") {
      const le = sample.labels["le"];
      if (le === undefined) {
        throw new ExpositionParseError(
          lineNo,
          `histogram ${nm(fam.name)}: bucket without an "le" label`,
        );
      }
      if (parseFloatToken(le) === undefined) {
        throw new ExpositionParseError(
          lineNo,
          `histogram ${nm(fam.name)}: invalid le ${quote(le)}`,
        );
      }
    }
  }
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
  omit?: ReadonlySet<string>,
): string {
  const names = Object.keys(labels);
  if (names.length > 1) names.sort();
  let out = "";
  for (const k of names) {
    if (omit?.has(k)) continue;
    out += `${out === "" ? "" : ","}${k}=${JSON.stringify(labels[k])}`;
  }
  return out;
}
