/**
 * The top-level fields of one decision log line, found without building the object: a single scan
 * records where each top-level key's value lies in the text, so the verifier reads only writer, seq,
 * prev, event and time, and the report parses only the fields it uses (and caches by their text the
 * values that repeat from line to line, such as a decision's policies). A million lines of a month
 * cost one pass over their characters instead of a million object trees.
 *
 * The scan accepts one JSON object with any whitespace between tokens; strings are stepped over from
 * quote to unescaped quote, arrays and objects by their brackets (matched), and top-level scalars
 * must be a JSON number, true, false or null. It does not check escape sequences or control
 * characters inside strings, nor scalars nested in arrays and objects: a line changed that way still
 * breaks the hash chain, and a field that is read is parsed by JSON.parse. Text the scan refuses is
 * handed to JSON.parse by the caller ({@link parseLineFields}), so an odd but valid line is read all
 * the same and an invalid one is reported with JSON.parse's verdict.
 */

const QUOTE = 0x22;
const BACKSLASH = 0x5c;

/** The top-level fields of one line: the key names and where their values lie in the text. */
export class LineFields {
  /** The line's text. */
  readonly text: string;
  readonly #keys: string[];
  readonly #bounds: number[];
  readonly #parsed: Record<string, unknown> | undefined;
  /** Texts of nested values as {@link NestedValues} keeps them, by key index. */
  readonly #known: string[] | undefined;

  private constructor(
    text: string,
    keys: string[],
    bounds: number[],
    parsed?: Record<string, unknown>,
    known?: string[],
  ) {
    this.text = text;
    this.#keys = keys;
    this.#bounds = bounds;
    this.#parsed = parsed;
    this.#known = known;
  }

  /**
   * Scans a line; undefined when it is not one JSON object the scan can step through. With a
   * {@link NestedValues} cache, an array or object value equal to one met before is stepped over in
   * one comparison instead of character by character.
   */
  static scan(text: string, nested?: NestedValues): LineFields | undefined {
    const keys: string[] = [];
    const bounds: number[] = [];
    let known: string[] | undefined;
    let i = skipSpace(text, 0);
    if (text.charCodeAt(i) !== 0x7b) return undefined;
    i = skipSpace(text, i + 1);
    if (text.charCodeAt(i) === 0x7d)
      return endsAt(text, i + 1) ? new LineFields(text, keys, bounds, undefined, known) : undefined;
    for (;;) {
      if (text.charCodeAt(i) !== QUOTE) return undefined;
      const keyEnd = stringEnd(text, i);
      if (keyEnd < 0) return undefined;
      let key = text.slice(i + 1, keyEnd);
      if (key.includes('\\')) {
        try {
          key = JSON.parse(text.slice(i, keyEnd + 1)) as string;
        } catch {
          return undefined;
        }
      }
      i = skipSpace(text, keyEnd + 1);
      if (text.charCodeAt(i) !== 0x3a) return undefined;
      const start = skipSpace(text, i + 1);
      const first = text.charCodeAt(start);
      let end: number;
      if (nested && (first === 0x5b || first === 0x7b)) {
        let value = nested.match(key, text, start);
        if (value === undefined) {
          end = valueEnd(text, start);
          if (end < 0) return undefined;
          value = nested.add(key, text.slice(start, end));
        } else end = start + value.length;
        (known ??= [])[keys.length] = value;
      } else {
        end = valueEnd(text, start);
        if (end < 0) return undefined;
      }
      keys.push(key);
      bounds.push(start, end);
      i = skipSpace(text, end);
      const next = text.charCodeAt(i);
      if (next === 0x2c) {
        i = skipSpace(text, i + 1);
        continue;
      }
      if (next === 0x7d && endsAt(text, i + 1)) return new LineFields(text, keys, bounds, undefined, known);
      return undefined;
    }
  }

  /** Fields of a line JSON.parse read (the scan refused its text). */
  static fromObject(text: string, parsed: Record<string, unknown>): LineFields {
    return new LineFields(text, [], [], parsed);
  }

  /**
   * The JSON text of a top-level field, the last one when a key repeats (as JSON.parse reads it);
   * undefined when absent. Equal texts mean equal values, so callers cache parsed values by it.
   */
  raw(name: string): string | undefined {
    if (this.#parsed) {
      const value = this.#parsed[name];
      return value === undefined || !Object.hasOwn(this.#parsed, name) ? undefined : JSON.stringify(value);
    }
    for (let k = this.#keys.length - 1; k >= 0; k--)
      if (this.#keys[k] === name)
        return this.#known?.[k] ?? this.text.slice(this.#bounds[2 * k], this.#bounds[2 * k + 1]);
    return undefined;
  }

  /** A top-level field's value (JSON.parse of its text); undefined when absent or unreadable. */
  value(name: string): unknown {
    if (this.#parsed) return Object.hasOwn(this.#parsed, name) ? this.#parsed[name] : undefined;
    const raw = this.raw(name);
    if (raw === undefined) return undefined;
    if (raw.charCodeAt(0) === QUOTE && !raw.includes('\\')) return raw.slice(1, -1);
    try {
      return JSON.parse(raw) as unknown;
    } catch {
      return undefined;
    }
  }

  /** A top-level string field; undefined when absent or not a string. */
  string(name: string): string | undefined {
    const value = this.value(name);
    return typeof value === 'string' ? value : undefined;
  }
}

/**
 * Reads a line's top-level fields: the scan, else JSON.parse. Returns a string naming what is wrong
 * when the line is not one JSON object.
 */
export function parseLineFields(text: string, nested?: NestedValues): LineFields | string {
  const fields = LineFields.scan(text, nested);
  if (fields) return fields;
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return 'not a JSON object: the line was changed or cut';
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed))
    return 'not a JSON object: the line was changed';
  return LineFields.fromObject(text, parsed as Record<string, unknown>);
}

/**
 * The nested values (arrays, objects) of each top-level key met most recently: a value that repeats
 * from line to line (a decision's policies, its bundle) is recognised by comparing the text in place
 * with the few values last seen for its key, instead of stepping through it character by character.
 * A text found here was stepped through completely before, so the scan would end exactly where it
 * ends. The value's text is handed out as the one string kept here, so a caller's Map keyed by it
 * finds its entry without hashing the text again.
 */
export class NestedValues {
  readonly #byKey = new Map<string, string[]>();
  readonly #keep: number;

  /** `keep`: values remembered per key (most recently used first). */
  constructor(keep = 8) {
    this.#keep = keep;
  }

  /** The known value of `key` that `text` holds at `start`, or undefined. */
  match(key: string, text: string, start: number): string | undefined {
    const recent = this.#byKey.get(key);
    if (!recent) return undefined;
    for (let k = 0; k < recent.length; k++) {
      const value = recent[k] as string;
      const end = start + value.length;
      if (end > text.length || text.charCodeAt(end - 1) !== value.charCodeAt(value.length - 1)) continue;
      if (text.slice(start, end) !== value) continue;
      if (k > 0) {
        recent.copyWithin(1, 0, k);
        recent[0] = value;
      }
      return value;
    }
    return undefined;
  }

  /** Remembers a value that was stepped through completely; returns the string kept. */
  add(key: string, text: string): string {
    // A copy of its own: a slice would keep the whole line alive, and compares slower.
    const value = Buffer.from(text, 'utf8').toString('utf8');
    let recent = this.#byKey.get(key);
    if (!recent) {
      recent = [];
      this.#byKey.set(key, recent);
    }
    recent.unshift(value);
    if (recent.length > this.#keep) recent.pop();
    return value;
  }
}

function skipSpace(text: string, i: number): number {
  if (text.charCodeAt(i) > 0x20) return i;
  for (;;) {
    const c = text.charCodeAt(i);
    if (c === 0x20 || c === 0x09 || c === 0x0a || c === 0x0d) i++;
    else return i;
  }
}

function endsAt(text: string, i: number): boolean {
  return skipSpace(text, i) === text.length;
}

/** The index of the quote that closes the string opening at `i`, or -1. */
function stringEnd(text: string, i: number): number {
  let j = text.indexOf('"', i + 1);
  while (j > 0) {
    let backslashes = 0;
    for (let k = j - 1; text.charCodeAt(k) === BACKSLASH; k--) backslashes++;
    if ((backslashes & 1) === 0) return j;
    j = text.indexOf('"', j + 1);
  }
  return -1;
}

/** The index just after the value starting at `i`, or -1. */
function valueEnd(text: string, i: number): number {
  const first = text.charCodeAt(i);
  if (first === QUOTE) {
    const end = stringEnd(text, i);
    return end < 0 ? -1 : end + 1;
  }
  if (first === 0x7b || first === 0x5b) {
    const closers: number[] = [first === 0x7b ? 0x7d : 0x5d];
    for (let j = i + 1; j < text.length; j++) {
      const c = text.charCodeAt(j);
      if (c === QUOTE) {
        j = stringEnd(text, j);
        if (j < 0) return -1;
      } else if (c === 0x7b) closers.push(0x7d);
      else if (c === 0x5b) closers.push(0x5d);
      else if (c === 0x7d || c === 0x5d) {
        if (closers.pop() !== c) return -1;
        if (closers.length === 0) return j + 1;
      }
    }
    return -1;
  }
  // A scalar: a number, true, false or null.
  if (first === 0x74) return text.startsWith('true', i) ? i + 4 : -1;
  if (first === 0x66) return text.startsWith('false', i) ? i + 5 : -1;
  if (first === 0x6e) return text.startsWith('null', i) ? i + 4 : -1;
  return numberEnd(text, i);
}

const isDigit = (c: number): boolean => c >= 0x30 && c <= 0x39;

/** The index just after the JSON number starting at `i`, or -1. */
function numberEnd(text: string, i: number): number {
  let j = i;
  if (text.charCodeAt(j) === 0x2d) j++;
  if (text.charCodeAt(j) === 0x30) j++;
  else if (isDigit(text.charCodeAt(j))) while (isDigit(text.charCodeAt(j))) j++;
  else return -1;
  if (text.charCodeAt(j) === 0x2e) {
    j++;
    if (!isDigit(text.charCodeAt(j))) return -1;
    while (isDigit(text.charCodeAt(j))) j++;
  }
  const e = text.charCodeAt(j);
  if (e === 0x65 || e === 0x45) {
    j++;
    const sign = text.charCodeAt(j);
    if (sign === 0x2b || sign === 0x2d) j++;
    if (!isDigit(text.charCodeAt(j))) return -1;
    while (isDigit(text.charCodeAt(j))) j++;
  }
  return j;
}
