/**
 * A reader for the plain block YAML almost every manifest is written in, with go-yaml v2's
 * (kubectl's) meaning, in one pass over the characters. It accepts only what it reads exactly:
 * block mappings with simple keys, block sequences (also at the indentation of their key), plain
 * one-line scalars typed as go-yaml types them, one-line quoted scalars with the simple escapes,
 * literal block scalars (`|`, `|-`), empty flow collections and one-line flow sequences of
 * scalars, comments, anchors on values and up to 100 aliases of anchored scalars (an alias of a
 * scalar is that scalar's value). Anything else (aliases of collections, tags, anchors on keys,
 * folded or multi-line scalars, quoted or typed keys, duplicate keys, directives, ...) returns
 * undefined and the document is read by the slower general path. The differential test against
 * kubectl's reader covers both. The same reader records where each node is ({@link plainSpans}) to
 * place findings, as js-yaml's event stream places them (test/robustness/locator-differential.test.ts).
 *
 * Expects a document as kubectl's YAMLReader passes it on: LF line ends, ending with a line
 * break, and only characters the caller has checked to be ordinary (no tabs, CRs, controls or
 * YAML 1.1 line breaks).
 */
import { kubeBoolean, kubeFloat, kubeInteger } from './kube-scalars.ts';

/**
 * What every step returns when the document is not plain: the reader stops and the document goes
 * to the general path (a sentinel, not an exception: throwing costs microseconds per document).
 */
const FAIL: unique symbol = Symbol('not plain');
type Fail = typeof FAIL;

/** go-yaml forgets a possible key after 1024 characters; keys stay well within that. */
const maxKeyLength = 300;
/** Deeper documents go to the general reader (which has its own limits). */
const maxDepth = 200;
/** More aliases in one document go to the general reader (go-yaml and js-yaml limit aliasing). */
const maxAliases = 100;

const LF = 10;
const SPACE = 32;
const HASH = 35;
const DASH = 45;
const COLON = 58;
const DQUOTE = 34;
const SQUOTE = 39;
const BACKSLASH = 92;

/** Characters a simple key may hold (the first may not be `-`). */
function isKeyChar(code: number): boolean {
  return (
    (code >= 97 && code <= 122) || // a-z
    (code >= 65 && code <= 90) || // A-Z
    (code >= 48 && code <= 57) || // 0-9
    code === 95 || // _
    code === 46 || // .
    code === 47 || // /
    code === DASH
  );
}

/** Characters of an anchor name (go-yaml v2: ASCII letters, digits, `_` and `-`). */
function isAnchorChar(code: number): boolean {
  return (
    (code >= 97 && code <= 122) ||
    (code >= 65 && code <= 90) ||
    (code >= 48 && code <= 57) ||
    code === 95 ||
    code === DASH
  );
}

/** Characters a plain scalar inside a flow sequence may hold. */
function isFlowPlainChar(code: number): boolean {
  return isKeyChar(code) || code === SPACE || code === 61 /* = */ || code === 43; /* + */
}

/** How a reader types a plain scalar: its value, or {@link notPlain} to leave the document to the general path. */
export type PlainScalarType = (text: string) => unknown;

/** A scalar type's answer for a scalar the fast reader must not read. */
export const notPlain: unknown = FAIL;

/**
 * A plain scalar typed as go-yaml v2 types it (the same functions as the general path), or
 * {@link notPlain} for infinities and NaN (JSON has none: the general path decides).
 */
export function goYamlScalar(text: string): unknown {
  const first = text.charCodeAt(0);
  if (Number.isNaN(first)) return null;
  if ((first >= 48 && first <= 57) || first === 43 || first === DASH || first === 46) {
    const integer = kubeInteger(text);
    if (integer !== undefined) return integer;
    const float = kubeFloat(text);
    if (float !== undefined) {
      if (!Number.isFinite(float)) return FAIL;
      return float;
    }
    return text;
  }
  if (first === 126 /* ~ */) return text === '~' ? null : text;
  if (text === 'null' || text === 'Null' || text === 'NULL') return null;
  const boolean = kubeBoolean(text);
  return boolean === undefined ? text : boolean;
}

/**
 * Where a node of a plain document is, in offsets as js-yaml's event stream gives them (so both
 * locators place a finding on the same line and column): a scalar from its first character (inside
 * the quotes) to its end, an alias from its name, a block collection from its first entry, a flow
 * one from its bracket, an empty value at -1. `end` is the furthest end of a scalar in the node
 * (-1 when it holds none).
 */
export interface PlainSpan {
  readonly start: number;
  end: number;
  /** A mapping's entries: where each key starts, and its value. */
  readonly entries?: Map<string, { readonly keyStart: number; readonly node: PlainSpan }>;
  readonly items?: PlainSpan[];
}

const emptySpan: PlainSpan = { start: -1, end: -1 };

class Reader {
  /** The text holding the document, which is `s[start, end)` and ends with a line break. */
  private readonly s: string;
  private readonly start: number;
  private readonly end: number;
  private readonly scalar: PlainScalarType;
  /** Whether to record where each node is ({@link plainSpans}); `span` is the last node's. */
  private readonly record: boolean;
  span: PlainSpan = emptySpan;
  /** Anchored values by name: a scalar, or FAIL for a collection. */
  private anchors: Map<string, unknown> | undefined;
  private aliases = 0;
  /** Current position. */
  private i = 0;
  private depth = 0;

  constructor(text: string, scalar: PlainScalarType, record = false, start = 0, end = text.length) {
    this.s = text;
    this.start = start;
    this.end = end;
    this.scalar = scalar;
    this.record = record;
  }

  /** Records a scalar or alias span from `start` to `end`. */
  private scalarSpan(start: number, end: number): void {
    if (this.record) this.span = { start, end };
  }

  read(): unknown {
    const { s } = this;
    let at = this.nextContent(this.start);
    if (at < 0) return null;
    // A document start marker before the content (the stream was split at the others).
    if (at === this.lineStart(at) && s.startsWith('---', at)) {
      const after = s.charCodeAt(at + 3);
      if (after !== LF && after !== SPACE) return FAIL;
      this.i = at + 3;
      if (!this.endOfLine()) return FAIL;
      at = this.nextContent(this.i);
      if (at < 0) return null;
    }
    const first = s.charCodeAt(at);
    // Directives, document end markers and flow or scalar documents: the general path.
    if (at === this.lineStart(at) && (first === 37 /* % */ || s.startsWith('...', at))) return FAIL;
    const value = this.collection(at, at - this.lineStart(at));
    if (value === FAIL || this.nextContent(this.i) >= 0) return FAIL;
    return value;
  }

  /** Start of the line holding `at`. */
  private lineStart(at: number): number {
    return Math.max(this.start, this.s.lastIndexOf('\n', at - 1) + 1);
  }

  /**
   * Position of the first content character at or after the line starting at `from`, skipping
   * blank and comment lines, or -1 at the end. Sets `i` to the start of that line.
   */
  private nextContent(from: number): number {
    const { s } = this;
    const n = this.end;
    let line = from;
    while (line < n) {
      let at = line;
      while (s.charCodeAt(at) === SPACE) at++;
      const code = s.charCodeAt(at);
      if (code === LF) {
        line = at + 1;
        continue;
      }
      if (code === HASH) {
        const end = s.indexOf('\n', at);
        line = end < 0 ? n : end + 1;
        continue;
      }
      if (at >= n) break;
      this.i = line;
      return at;
    }
    this.i = n;
    return -1;
  }

  /** Skips spaces and a comment to the end of the line and past the LF; false when anything else is there. */
  private endOfLine(): boolean {
    const { s } = this;
    let at = this.i;
    while (s.charCodeAt(at) === SPACE) at++;
    let code = s.charCodeAt(at);
    if (code === HASH) {
      if (s.charCodeAt(at - 1) !== SPACE) return false;
      const end = s.indexOf('\n', at);
      at = end < 0 ? this.end : end;
      code = s.charCodeAt(at);
    }
    if (code !== LF) return false;
    this.i = at + 1;
    return true;
  }

  /** The length of a simple key at `at` followed by `:` and a space or line end, else -1. */
  private keyLength(at: number): number {
    const { s } = this;
    let end = at;
    if (s.charCodeAt(at) === DASH) return -1;
    while (isKeyChar(s.charCodeAt(end))) end++;
    if (end === at || s.charCodeAt(end) !== COLON) return -1;
    const after = s.charCodeAt(end + 1);
    return after === SPACE || after === LF ? end - at : -1;
  }

  private isEntry(at: number): boolean {
    const s = this.s;
    if (s.charCodeAt(at) !== DASH) return false;
    const after = s.charCodeAt(at + 1);
    return after === SPACE || after === LF;
  }

  /** A block mapping or sequence whose first content character is at `at`, in column `indent`. */
  private collection(at: number, indent: number): unknown {
    if (++this.depth > maxDepth) return FAIL;
    let value: unknown;
    if (this.isEntry(at)) value = this.sequence(at, indent);
    else if (this.keyLength(at) > 0) value = this.mapping(at, indent);
    else return FAIL;
    this.depth--;
    return value;
  }

  /** Indentation of the line whose content starts at `at` (the line starts at `i`). */
  private indentOf(at: number): number {
    return at - this.i;
  }

  /**
   * The value after `key:` or `- ` on the line: `at` is its first character (not a space).
   * `indent` is the column of the collection holding it (a sequence when `inSequence`). Leaves `i`
   * at the next line.
   */
  private value(at: number, indent: number, inSequence: boolean): unknown {
    const s = this.s;
    if (s.charCodeAt(at) !== 38 /* & */) return this.node(at, indent, inSequence);
    // An anchor: a scalar it names is what its aliases stand for; a collection is left to the
    // general path if an alias names it.
    const end = this.nameEnd(at + 1);
    if (end < 0) return FAIL;
    let valueAt = end;
    while (s.charCodeAt(valueAt) === SPACE) valueAt++;
    if (s.charCodeAt(valueAt) === 38) return FAIL;
    const value = this.node(valueAt, indent, inSequence);
    if (value === FAIL) return FAIL;
    (this.anchors ??= new Map()).set(
      s.slice(at + 1, end),
      typeof value === 'object' && value !== null ? FAIL : value,
    );
    return value;
  }

  /** The end of an anchor or alias name starting at `at` (followed by a space or line end), or -1. */
  private nameEnd(at: number): number {
    const { s } = this;
    let end = at;
    while (isAnchorChar(s.charCodeAt(end))) end++;
    const after = s.charCodeAt(end);
    return end === at || (after !== SPACE && after !== LF) ? -1 : end;
  }

  /** An alias of an anchored scalar at `at` (at most {@link maxAliases} per document). */
  private alias(at: number): unknown {
    const end = this.nameEnd(at + 1);
    if (end < 0 || ++this.aliases > maxAliases) return FAIL;
    const value = this.anchors?.get(this.s.slice(at + 1, end));
    if (value === undefined) return FAIL;
    this.i = end;
    this.scalarSpan(at + 1, end);
    return value;
  }

  /** A value without an anchor (see {@link value}). */
  private node(at: number, indent: number, inSequence: boolean): unknown {
    const s = this.s;
    const code = s.charCodeAt(at);
    if (code === LF || code === HASH) {
      // Nothing more on this line: a nested collection on the next lines, or null.
      this.i = at;
      if (!this.endOfLine()) return FAIL;
      const next = this.nextContent(this.i);
      if (next < 0) return null;
      const nextIndent = this.indentOf(next);
      if (nextIndent > indent) return this.collection(next, nextIndent);
      // A sequence may sit at the indentation of its mapping's key.
      if (nextIndent === indent && this.isEntry(next) && !inSequence)
        return this.collection(next, nextIndent);
      if (this.record) this.span = emptySpan;
      return null;
    }
    let value: unknown;
    this.i = at;
    if (code === DQUOTE) value = this.doubleQuoted();
    else if (code === SQUOTE) value = this.singleQuoted();
    else if (code === 124 /* | */) return this.literal(indent);
    else if (code === 91 /* [ */ || code === 123 /* { */) value = this.flow();
    else if (code === 42 /* * */) value = this.alias(at);
    else value = this.plain();
    if (value === FAIL || !this.endOfLine()) return FAIL;
    return value;
  }

  private mapping(at: number, indent: number): Record<string, unknown> | Fail {
    const { s } = this;
    const map: Record<string, unknown> = {};
    const span: PlainSpan | undefined = this.record ? { start: at, end: -1, entries: new Map() } : undefined;
    let keyAt = at;
    for (;;) {
      const length = this.keyLength(keyAt);
      if (length < 0 || length > maxKeyLength) return FAIL;
      const key = s.slice(keyAt, keyAt + length);
      if (typeof this.scalar(key) !== 'string' || key === '__proto__' || Object.hasOwn(map, key)) return FAIL;
      let valueAt = keyAt + length + 1;
      while (s.charCodeAt(valueAt) === SPACE) valueAt++;
      const value = this.value(valueAt, indent, false);
      if (value === FAIL) return FAIL;
      map[key] = value;
      if (span) {
        span.entries?.set(key, { keyStart: keyAt, node: this.span });
        span.end = Math.max(span.end, keyAt + length, this.span.end);
      }
      const next = this.nextContent(this.i);
      if (next < 0 || this.indentOf(next) < indent) {
        if (span) this.span = span;
        return map;
      }
      // Not a key there: the loop's first step fails.
      if (this.indentOf(next) > indent) return FAIL;
      keyAt = next;
    }
  }

  private sequence(at: number, indent: number): unknown[] | Fail {
    const { s } = this;
    const list: unknown[] = [];
    const span: PlainSpan | undefined = this.record ? { start: at, end: -1, items: [] } : undefined;
    let entryAt = at;
    for (;;) {
      let valueAt = entryAt + 1;
      while (s.charCodeAt(valueAt) === SPACE) valueAt++;
      const column = indent + (valueAt - entryAt);
      const code = s.charCodeAt(valueAt);
      // A compact collection on the entry's line sits in the column where it starts.
      const compact = code !== LF && code !== HASH && (this.isEntry(valueAt) || this.keyLength(valueAt) > 0);
      const value = compact ? this.collection(valueAt, column) : this.value(valueAt, indent, true);
      if (value === FAIL) return FAIL;
      list.push(value);
      if (span) {
        span.items?.push(this.span);
        span.end = Math.max(span.end, this.span.end);
      }
      const next = this.nextContent(this.i);
      const nextIndent = next < 0 ? -1 : this.indentOf(next);
      if (nextIndent > indent) return FAIL;
      // At the same indentation: another entry, or the next key of the mapping holding this
      // sequence (the caller checks).
      if (nextIndent < indent || !this.isEntry(next)) {
        if (span) this.span = span;
        return list;
      }
      entryAt = next;
    }
  }

  /** A one-line plain scalar at `i` (in block context), typed. */
  private plain(): unknown {
    const { s } = this;
    const start = this.i;
    const first = s.charCodeAt(start);
    // Indicators that cannot start a plain scalar (or start one differently in YAML 1.1).
    if ('-?:,[]{}#&*!|>\'"%@`'.includes(s[start] ?? '')) {
      const after = s.charCodeAt(start + 1);
      if (first !== DASH || after === SPACE || after === LF) return FAIL;
    }
    let end = start;
    let at = start;
    for (;;) {
      const code = s.charCodeAt(at);
      if (code === LF || Number.isNaN(code)) break;
      if (code === HASH && s.charCodeAt(at - 1) === SPACE) break;
      if (code === COLON) {
        const after = s.charCodeAt(at + 1);
        if (after === SPACE || after === LF) return FAIL;
      }
      if (code !== SPACE) end = at + 1;
      at++;
    }
    this.i = end;
    this.scalarSpan(start, end);
    const text = s.slice(start, end);
    // `<<` is a merge key's tag even as a value (go-yaml): the general path decides.
    return text === '<<' ? FAIL : this.scalar(text);
  }

  /** A one-line double-quoted scalar with only `\\`, `\"`, `\n` and `\t` escapes. */
  private doubleQuoted(): string | Fail {
    const { s } = this;
    const start = this.i + 1;
    let at = start;
    let out = '';
    let from = at;
    for (;;) {
      const code = s.charCodeAt(at);
      if (code === DQUOTE) break;
      if (code === LF || Number.isNaN(code)) return FAIL;
      if (code === BACKSLASH) {
        const escaped = s.charCodeAt(at + 1);
        let replacement: string;
        if (escaped === BACKSLASH) replacement = '\\';
        else if (escaped === DQUOTE) replacement = '"';
        else if (escaped === 110 /* n */) replacement = '\n';
        else if (escaped === 116 /* t */) replacement = '\t';
        else return FAIL;
        out += s.slice(from, at) + replacement;
        at += 2;
        from = at;
        continue;
      }
      at++;
    }
    this.i = at + 1;
    this.scalarSpan(start, at);
    return out + s.slice(from, at);
  }

  /** A one-line single-quoted scalar (`''` is a quote). */
  private singleQuoted(): string | Fail {
    const { s } = this;
    const start = this.i + 1;
    let at = start;
    let out = '';
    let from = at;
    for (;;) {
      const code = s.charCodeAt(at);
      if (code === LF || Number.isNaN(code)) return FAIL;
      if (code === SQUOTE) {
        if (s.charCodeAt(at + 1) !== SQUOTE) break;
        out += s.slice(from, at + 1);
        at += 2;
        from = at;
        continue;
      }
      at++;
    }
    this.i = at + 1;
    this.scalarSpan(start, at);
    return out + s.slice(from, at);
  }

  /** `{}`, `[]`, or a one-line flow sequence of scalars. */
  private flow(): unknown {
    const { s } = this;
    const open = s.charCodeAt(this.i);
    const span: PlainSpan | undefined = this.record ? { start: this.i, end: -1, items: [] } : undefined;
    let at = this.i + 1;
    while (s.charCodeAt(at) === SPACE) at++;
    if (open === 123 /* { */) {
      if (s.charCodeAt(at) !== 125) return FAIL;
      this.i = at + 1;
      if (span) this.span = { start: span.start, end: span.end, entries: new Map() };
      return {};
    }
    const list: unknown[] = [];
    for (;;) {
      if (list.length === 0 && s.charCodeAt(at) === 93 /* ] */) break;
      const code = s.charCodeAt(at);
      if (code === DQUOTE || code === SQUOTE) {
        this.i = at;
        const quoted = code === DQUOTE ? this.doubleQuoted() : this.singleQuoted();
        if (quoted === FAIL) return FAIL;
        list.push(quoted);
        at = this.i;
      } else {
        if (!isFlowPlainChar(code) || code === 61 /* = */) return FAIL;
        if (code === DASH && !isKeyChar(s.charCodeAt(at + 1))) return FAIL;
        const start = at;
        let end = at;
        while (isFlowPlainChar(s.charCodeAt(at))) {
          if (s.charCodeAt(at) !== SPACE) end = at + 1;
          at++;
        }
        const scalar = this.scalar(s.slice(start, end));
        if (scalar === FAIL) return FAIL;
        list.push(scalar);
        this.scalarSpan(start, end);
      }
      if (span) {
        span.items?.push(this.span);
        span.end = Math.max(span.end, this.span.end);
      }
      while (s.charCodeAt(at) === SPACE) at++;
      const separator = s.charCodeAt(at);
      if (separator === 93 /* ] */) break;
      if (separator !== 44 /* , */) return FAIL;
      at++;
      while (s.charCodeAt(at) === SPACE) at++;
    }
    this.i = at + 1;
    if (span) this.span = span;
    return list;
  }

  /**
   * A literal block scalar (`|` or `|-`) for a value in the collection at column `indent`: its
   * lines are those indented more than the collection, at the first line's indentation.
   */
  private literal(indent: number): string | Fail {
    const { s } = this;
    let at = this.i + 1;
    const strip = s.charCodeAt(at) === DASH;
    if (strip) at++;
    this.i = at;
    if (!this.endOfLine()) return FAIL;
    // The first line sets the indentation; a leading blank line or a less indented line is unusual.
    let line = this.i;
    let contentIndent = 0;
    while (s.charCodeAt(line + contentIndent) === SPACE) contentIndent++;
    const firstCode = s.charCodeAt(line + contentIndent);
    if (line >= this.end || contentIndent <= indent || firstCode === LF || Number.isNaN(firstCode))
      return FAIL;
    const lines: string[] = [];
    let trailing = 0;
    while (line < this.end) {
      let spaces = 0;
      while (spaces < contentIndent && s.charCodeAt(line + spaces) === SPACE) spaces++;
      const code = s.charCodeAt(line + spaces);
      const end = s.indexOf('\n', line);
      const lineEnd = end < 0 ? this.end : end;
      if (code === LF) {
        trailing++;
      } else if (spaces < contentIndent) {
        break;
      } else {
        for (; trailing > 0; trailing--) lines.push('');
        lines.push(s.slice(line + contentIndent, lineEnd));
      }
      line = lineEnd + 1;
    }
    if (this.record) this.span = { start: this.i, end: Math.min(line, this.end) };
    this.i = Math.min(line, this.end);
    const text = lines.join('\n');
    return strip ? text : `${text}\n`;
  }
}

/**
 * Reads one document of plain block YAML as go-yaml v2 (kubectl) does, or returns undefined when
 * the document uses anything this reader does not read exactly. `scalar` types plain scalars
 * (default go-yaml v2's types; tollgate's own files use the YAML 1.2 core schema's).
 */
export function readPlainYaml(
  document: string,
  scalar: PlainScalarType = goYamlScalar,
): { value: unknown } | undefined {
  const text = document.endsWith('\n') ? document : `${document}\n`;
  const value = new Reader(text, scalar).read();
  return value === FAIL ? undefined : { value };
}

/**
 * {@link readPlainYaml} of the document `text[start, end)`, which must end with a line break, read
 * in place: a document sliced out of its file is a view of the file's text, and every character
 * read through a view costs more than one read from the file's own text.
 */
export function readPlainYamlAt(
  text: string,
  start: number,
  end: number,
  scalar: PlainScalarType = goYamlScalar,
): { value: unknown } | undefined {
  if (end <= start || text.charCodeAt(end - 1) !== LF) return readPlainYaml(text.slice(start, end), scalar);
  const value = new Reader(text, scalar, false, start, end).read();
  return value === FAIL ? undefined : { value };
}

/**
 * Where each node of a document the plain reader reads is (see {@link PlainSpan}), or undefined
 * when it does not read the document. Offsets beyond the document (the line break the reader
 * adds to a last line without one) are clamped to its end.
 */
export function plainSpans(document: string, scalar: PlainScalarType = goYamlScalar): PlainSpan | undefined {
  const text = document.endsWith('\n') ? document : `${document}\n`;
  const reader = new Reader(text, scalar, true);
  // A document without a collection is never an object to locate in.
  if (reader.read() === FAIL || reader.span.start < 0) return undefined;
  const clamp = (span: PlainSpan): void => {
    if (span.end > document.length) span.end = document.length;
    span.entries?.forEach((entry) => clamp(entry.node));
    span.items?.forEach(clamp);
  };
  clamp(reader.span);
  return reader.span;
}

/**
 * The offsets of the node at a path in a plain document's spans, as js-yaml's event locator finds
 * them: a mapping entry from its key, the deepest existing ancestor when the path goes further.
 */
export function locateSpan(
  root: PlainSpan,
  path: readonly (string | number)[],
): { start: number; end: number } {
  let node = root;
  let start = root.start;
  for (const segment of path) {
    if (node.entries) {
      const entry = node.entries.get(String(segment));
      if (!entry) break;
      node = entry.node;
      start = entry.keyStart;
    } else if (node.items && typeof segment === 'number') {
      const item = node.items[segment];
      if (!item) break;
      node = item;
      start = item.start;
    } else break;
  }
  return { start, end: Math.max(node.start, node.end) };
}

/**
 * Characters the fast readers leave to the general ones: anything outside printable ASCII, LF and
 * ordinary Unicode text (tabs, CRs, controls, NEL, LS, PS, BOM, surrogates).
 */
export const unusualCharacter = /[^\n\x20-\x7e\u00a0-\u2027\u202a-\ud7ff\ue000-\ufefe\uff00-\ufffd]/;
