/**
 * Reads manifest files into the objects `kubectl apply -f` would send, so CI judges exactly what
 * the cluster receives. It follows kubectl's reader step by step (cli-runtime's FileVisitor and
 * StreamVisitor, apimachinery's YAMLOrJSONDecoder and unstructured decoder):
 *
 * 1. bytes → text: a UTF-8 BOM is dropped, a UTF-16 BOM switches to UTF-16, invalid UTF-8
 *    becomes U+FFFD (after a UTF-8 BOM the bytes stay invalid: JSON reads them as U+FFFD, go-yaml
 *    refuses a YAML document holding them);
 * 2. a stream whose first non-space character (within 4 KiB) is `{` is read as concatenated
 *    JSON values, falling back to YAML after the first value as the decoder does;
 * 3. YAML is split at lines starting with `---` (other text after `---` is an error; a `---` line
 *    before any content stays in the document), CRLF line ends become LF, and each document is
 *    converted with go-yaml v2 (YAML 1.1) semantics;
 * 4. `null` documents are skipped; an object with an `items` key is a list whose items are
 *    flattened (kind-less items of a typed list such as `PodList` get their kind from it);
 *    objects without a kind, with a malformed `metadata` or nested lists are refused.
 *
 * Step 3 has three paths. Plain block YAML (what almost every manifest is) is read by
 * plain-yaml.ts in one pass. Other documents made only of ordinary YAML (no anchors, aliases,
 * tags, merge keys, complex keys, directives, tabs, CRs, control or Unicode line-break
 * characters, long lines) are loaded by js-yaml with go-yaml's scalar types, and anything unusual
 * found while loading (duplicate or non-string keys, infinities) sends the document to the last path:
 * `exactYaml`, kubectl's own converter (sigs.k8s.io/yaml compiled to WebAssembly, supplied by
 * the CI edge). Without it such documents are refused, never guessed. A differential test
 * against kubectl's reader keeps the fast paths honest.
 */
import { CORE_SCHEMA, defineMappingTag, defineScalarTag, loadAll, NOT_RESOLVED } from 'js-yaml';
import { kubeBoolean, kubeFloat, kubeInteger } from './kube-scalars.ts';
import { readPlainYaml, readPlainYamlAt, unusualCharacter } from './plain-yaml.ts';
import type { PathSegment } from './path.ts';
import { locatorFor, renderedFromComments } from './yaml-source.ts';
import type { SourceDocument, SourceError, SourceSpan } from './yaml-source.ts';

/** kubectl's YAML-to-JSON conversion of one document: the JSON text, or the reason it refuses it. */
export type ExactYaml = (document: string) => { readonly json: string } | { readonly error: string };

/** One object kubectl would send, with the document it came from. */
export interface KubectlObject {
  /** The document (for a list item: the item, positions relative to it). */
  readonly document: SourceDocument;
  readonly object: Record<string, unknown>;
}

/** What kubectl's reader makes of one file. */
export interface KubectlReading {
  readonly objects: KubectlObject[];
  /** Documents kubectl refuses (and the point where it stops reading the file). */
  readonly errors: SourceError[];
}

/** Options of {@link readAsKubectl}. */
export interface KubectlReaderOptions {
  /** kubectl's own YAML converter, for documents the fast path does not read. */
  readonly exactYaml?: ExactYaml;
  /** How much of one file may go to `exactYaml` (default {@link exactYamlBudget}). */
  readonly exactBudget?: ExactYamlBudget;
}

/** The most one file (or stream) may hand to kubectl's own converter. */
export interface ExactYamlBudget {
  /** Bytes (UTF-16 code units) of documents. */
  readonly bytes: number;
  readonly documents: number;
}

/**
 * kubectl's converter compiled to WebAssembly reads about 0.6 MB/s and costs 45 µs (a tab) to
 * 230 µs (an alias) per document, so without a cap a file built to need it (every document with
 * a tag or an alias of a collection) takes seconds. Within this budget a file reads in well under
 * a second; the documents beyond it are refused with an error naming the cap, never guessed at (a
 * refused document fails the check). Ordinary YAML, anchors and aliases of scalars included,
 * however large, is read by the fast paths and does not count.
 */
export const exactYamlBudget: ExactYamlBudget = { bytes: 128 * 1024, documents: 1000 };

/**
 * Reads one file (bytes) or stream (text) as `kubectl apply -f` does. Never throws on bad
 * input: what kubectl refuses is returned in `errors`.
 */
export function readAsKubectl(
  input: Uint8Array | string,
  options: KubectlReaderOptions = {},
): KubectlReading {
  const text = typeof input === 'string' ? input.replace(/^\uFEFF/, '') : decodeAsKubectl(input);
  const reading: KubectlReading = { objects: [], errors: [] };
  const budget = options.exactBudget ?? exactYamlBudget;
  const context: ReadContext = {
    options,
    reading,
    index: 0,
    lineStarts: undefined,
    text,
    exactLeft: { bytes: budget.bytes, documents: budget.documents },
    invalidUtf8AfterBom: typeof input !== 'string' && invalidAfterUtf8Bom(input),
  };
  const jsonEnd = looksLikeJson(text) ? readJsonStream(context) : 0;
  if (jsonEnd >= 0) readYamlStream(context, jsonEnd);
  return reading;
}

interface ReadContext {
  readonly options: KubectlReaderOptions;
  readonly reading: KubectlReading;
  readonly text: string;
  /** Next document index. */
  index: number;
  lineStarts: number[] | undefined;
  /**
   * The file starts with a UTF-8 byte order mark and holds invalid UTF-8: the JSON decoder reads such
   * bytes as U+FFFD, go-yaml refuses a document holding them.
   */
  readonly invalidUtf8AfterBom: boolean;
  /** What is left of the file's budget for kubectl's own converter. */
  readonly exactLeft: { bytes: number; documents: number };
  /** The refusal of documents beyond that budget, once it is spent. */
  refused?: { readonly refused: string };
}

// ---------------------------------------------------------------------------------------------
// 1. Bytes to text (golang.org/x/text unicode.BOMOverride over a UTF-8 decoder)

const utf8 = new TextDecoder('utf-8', { ignoreBOM: true });

const strictUtf8 = new TextDecoder('utf-8', { ignoreBOM: true, fatal: true });

/**
 * Whether the bytes start with a UTF-8 byte order mark and hold invalid UTF-8: BOMOverride then
 * strips the mark and passes the rest on unchanged (no U+FFFD). A YAML document holding U+FFFD is
 * then refused (stricter than kubectl only for a genuine U+FFFD in such a file).
 */
function invalidAfterUtf8Bom(bytes: Uint8Array): boolean {
  if (!(bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf)) return false;
  try {
    strictUtf8.decode(bytes.subarray(3));
    return false;
  } catch {
    return true;
  }
}

/** Decodes file bytes as kubectl's FileVisitor does (unicode.BOMOverride over UTF-8). */
export function decodeAsKubectl(bytes: Uint8Array): string {
  if (bytes[0] === 0xfe && bytes[1] === 0xff) return new TextDecoder('utf-16be').decode(bytes.subarray(2));
  if (bytes[0] === 0xff && bytes[1] === 0xfe) return new TextDecoder('utf-16le').decode(bytes.subarray(2));
  const body = bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf ? bytes.subarray(3) : bytes;
  // Invalid sequences become U+FFFD per maximal subpart, as x/text's decoder does.
  return utf8.decode(body);
}

// ---------------------------------------------------------------------------------------------
// 2. JSON or YAML (apimachinery's YAMLOrJSONDecoder)

/** Go's unicode.IsSpace. */
function isGoSpace(code: number): boolean {
  return (
    (code >= 0x09 && code <= 0x0d) ||
    code === 0x20 ||
    code === 0x85 ||
    code === 0xa0 ||
    code === 0x1680 ||
    (code >= 0x2000 && code <= 0x200a) ||
    code === 0x2028 ||
    code === 0x2029 ||
    code === 0x202f ||
    code === 0x205f ||
    code === 0x3000
  );
}

/** UTF-8 length of the UTF-16 code unit at `i` (a surrogate pair counts 2 + 2). */
function utf8Length(code: number): number {
  if (code < 0x80) return 1;
  if (code < 0x800) return 2;
  if (code >= 0xd800 && code <= 0xdfff) return 2;
  return 3;
}

/** GuessJSONStream: the first 4096 bytes, spaces trimmed, start with `{`. */
function looksLikeJson(text: string): boolean {
  let bytes = 0;
  for (let i = 0; i < text.length && bytes < 4096; i++) {
    const code = text.charCodeAt(i);
    if (code === 0x7b) return true;
    if (!isGoSpace(code)) return false;
    bytes += utf8Length(code);
  }
  return false;
}

const isJsonSpace = (code: number): boolean =>
  code === 0x20 || code === 0x09 || code === 0x0a || code === 0x0d;

/**
 * Reads concatenated JSON values as encoding/json's Decoder does. Returns where YAML takes over
 * (the decoder falls back to YAML when the first or second value is not JSON), or -1 when the
 * stream ended or was refused.
 */
function readJsonStream(context: ReadContext): number {
  const { text } = context;
  let consumed = 0;
  let count = 0;
  for (;;) {
    let start = consumed;
    while (start < text.length && isJsonSpace(text.charCodeAt(start))) start++;
    if (start >= text.length) return -1;
    const end = jsonValueEnd(text, start);
    if (end >= 0) {
      const raw = text.slice(start, end);
      count++;
      consumed = end;
      acceptDocument(context, parseGoJson(raw), start, raw);
      continue;
    }
    const error = `invalid JSON at offset ${start}`;
    if (count > 1) return fail(context, start, error);
    // Rewind to what was consumed, skip spaces up to and including the first newline, then YAML.
    let at = consumed;
    for (;;) {
      if (at >= text.length) return fail(context, start, error);
      const code = text.codePointAt(at) ?? 0;
      if (code === 0xfffd) return fail(context, start, `${error}: invalid UTF-8`);
      if (!isGoSpace(code)) break;
      at += code > 0xffff ? 2 : 1;
      if (code === 0x0a) break;
    }
    return at;
  }
}

/** JSON.parse, with escaped lone surrogates as U+FFFD (Go's decoder cannot represent them). */
function parseGoJson(raw: string): unknown {
  const value = JSON.parse(raw) as unknown;
  return /\\u[dD][89a-fA-F]/.test(raw) ? wellFormed(value) : value;
}

/** Lone surrogates replaced by U+FFFD (String.prototype.toWellFormed, not in the configured lib). */
const toWellFormed = (text: string): string =>
  text.replace(/[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g, '\ufffd');

function wellFormed(value: unknown): unknown {
  if (typeof value === 'string') return toWellFormed(value);
  if (Array.isArray(value)) return value.map(wellFormed);
  if (isObject(value)) {
    const out: Record<string, unknown> = {};
    for (const [key, item] of Object.entries(value))
      Object.defineProperty(out, toWellFormed(key), {
        value: wellFormed(item),
        enumerable: true,
        writable: true,
        configurable: true,
      });
    return out;
  }
  return value;
}

function fail(context: ReadContext, offset: number, message: string): -1 {
  context.reading.errors.push({ index: context.index, message, ...position(context, offset) });
  return -1;
}

/**
 * End of the JSON value starting at `start` as encoding/json's Decoder reads it, or -1 when it
 * is not valid JSON. A number, string or literal must be followed by a space or the end.
 */
function jsonValueEnd(text: string, start: number): number {
  let i = start;
  const stack: number[] = [];
  const skipSpace = (): void => {
    while (i < text.length && isJsonSpace(text.charCodeAt(i))) i++;
  };
  const scalarEnd = (): number => {
    const code = text.charCodeAt(i);
    if (code === 0x22) {
      for (i++; i < text.length; i++) {
        const c = text.charCodeAt(i);
        if (c === 0x22) return ++i;
        if (c < 0x20) return -1;
        if (c === 0x5c) {
          const e = text[i + 1] ?? '';
          if (e === 'u') {
            if (!/^[0-9a-fA-F]{4}$/.test(text.slice(i + 2, i + 6))) return -1;
            i += 5;
          } else if ('"\\/bfnrt'.includes(e) && e !== '') i++;
          else return -1;
        }
      }
      return -1;
    }
    const literal = /-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][-+]?[0-9]+)?|true|false|null/y;
    literal.lastIndex = i;
    const match = literal.exec(text);
    if (!match) return -1;
    i += match[0].length;
    return i;
  };
  for (;;) {
    skipSpace();
    const code = text.charCodeAt(i);
    if (code === 0x7b || code === 0x5b) {
      if (stack.length >= 10000) return -1;
      stack.push(code);
      i++;
      skipSpace();
      const close = code === 0x7b ? 0x7d : 0x5d;
      if (text.charCodeAt(i) === close) {
        stack.pop();
        i++;
      } else {
        if (code === 0x7b && !objectKey()) return -1;
        continue;
      }
    } else if (scalarEnd() < 0) return -1;
    // After a value: close containers or expect a separator.
    for (;;) {
      const open = stack.at(-1);
      if (open === undefined) {
        const next = text.charCodeAt(i);
        const scalar = code !== 0x7b && code !== 0x5b;
        if (scalar && i < text.length && !isJsonSpace(next)) return -1;
        return i;
      }
      skipSpace();
      const next = text.charCodeAt(i);
      if (next === 0x2c) {
        i++;
        if (open === 0x7b && !objectKey()) return -1;
        break;
      }
      if ((open === 0x7b && next === 0x7d) || (open === 0x5b && next === 0x5d)) {
        stack.pop();
        i++;
        if (stack.length === 0) return i;
        continue;
      }
      return -1;
    }
  }
  function objectKey(): boolean {
    skipSpace();
    if (text.charCodeAt(i) !== 0x22 || scalarEnd() < 0) return false;
    skipSpace();
    if (text.charCodeAt(i) !== 0x3a) return false;
    i++;
    return true;
  }
}

// ---------------------------------------------------------------------------------------------
// 3. YAML documents (apimachinery's YAMLReader, then sigs.k8s.io/yaml)

/**
 * Reads the YAML part of a stream from `offset`, document by document. Only lines starting with
 * `---` matter to the split, so the scan jumps between them and slices documents out whole.
 */
function readYamlStream(context: ReadContext, offset: number): void {
  const { text } = context;
  let chunkStart = offset;
  const separator = /^---/gm;
  separator.lastIndex = offset;
  for (let match = separator.exec(text); match; match = separator.exec(text)) {
    const at = match.index;
    if (at < offset) continue;
    const newline = text.indexOf('\n', at);
    const lineEnd = newline < 0 ? text.length : newline;
    const rest = goTrimSpace(
      text.slice(at + 3, newline >= 0 && text[lineEnd - 1] === '\r' ? lineEnd - 1 : lineEnd),
    );
    if (rest !== '' && !rest.startsWith('#')) {
      if (at > chunkStart) readYamlDocument(context, yamlLines(text.slice(chunkStart, at)), chunkStart);
      fail(context, at, `invalid Yaml document separator: ${rest}`);
      return;
    }
    // The separator ends a document; before any content it stays in the next one (go-yaml
    // then reads it as an explicit document start).
    if (at > chunkStart) {
      readYamlDocument(context, yamlLines(text.slice(chunkStart, at)), chunkStart);
      chunkStart = newline < 0 ? text.length : newline + 1;
    }
    separator.lastIndex = newline < 0 ? text.length : newline + 1;
  }
  if (chunkStart < text.length) readYamlDocument(context, yamlLines(text.slice(chunkStart)), chunkStart);
}

/** A document's lines as YAMLReader passes them on: CRLF as LF, the last line ended by LF. */
function yamlLines(chunk: string): string {
  const lines = chunk.includes('\r') ? chunk.replaceAll('\r\n', '\n') : chunk;
  return lines.endsWith('\n') ? lines : `${lines}\n`;
}

function goTrimSpace(value: string): string {
  let start = 0;
  let end = value.length;
  while (start < end && isGoSpace(value.charCodeAt(start))) start++;
  while (end > start && isGoSpace(value.charCodeAt(end - 1))) end--;
  return value.slice(start, end);
}

/**
 * Constructs that send a document to kubectl's own converter (besides the characters of
 * `unusualCharacter`): anchors/aliases/tags (and a `:`) at a token start, merge keys, complex keys, directives,
 * document end markers, a long run of spaces before a `:` (see {@link longKey}), and where plain
 * scalars end differently in flow collections: go-yaml (YAML 1.1) ends one at `?` and keeps a
 * `:` followed by `,[]{}`, js-yaml (YAML 1.2) the other way round.
 */
const unusualSyntax = /(?:^|[\s,[\]{}])[&*!?%@`:]|<<|^%|^\.\.\.|\\[^nt"\\]|:[,[\]{}]/m;
/**
 * go-yaml forgets a possible key 1024 characters after its start, so a longer implicit key (its
 * text, quotes, escapes and the spaces before `:`) reads differently there. Long lines are
 * otherwise ordinary (a long value is read alike): a key longer than this (at most 2 × 300 + 2
 * characters of source, with fewer than 400 spaces after it) sends the document to kubectl's
 * reader.
 */
const longKey = 300;

/**
 * An indented `---` on the first line with content (after blank and comment lines): js-yaml takes
 * it as the document start, go-yaml as content (and then usually fails on the mapping below).
 */
const indentedFirstMarker = /^(?: *(?:#[^\n]*)?\n)* +---(?:[ \n]|$)/;

/** Whether a document of ordinary characters is plain enough for js-yaml (one linear pass or two). */
function isOrdinarySyntax(chunk: string): boolean {
  if (unusualSyntax.test(chunk) || indentedFirstMarker.test(chunk)) return false;
  return !(chunk.includes('?') && flowStart.test(chunk)) && !spacesBeforeColon(chunk);
}

/**
 * Whether 400 spaces come right before a `:`. A scan from each colon back (the runs before
 * different colons do not overlap, so this is linear; a regex would backtrack at every space).
 */
function spacesBeforeColon(chunk: string): boolean {
  for (let colon = chunk.indexOf(':'); colon >= 0; colon = chunk.indexOf(':', colon + 1)) {
    let at = colon - 1;
    while (at >= 0 && colon - at <= 400 && chunk.charCodeAt(at) === 0x20) at--;
    if (colon - at > 400) return true;
  }
  return false;
}

const flowStart = /[[{]/;

function readYamlDocument(context: ReadContext, chunk: string, offset: number): void {
  const converted =
    context.invalidUtf8AfterBom && chunk.includes('\uFFFD')
      ? { error: 'invalid UTF-8 (after a UTF-8 byte order mark kubectl passes the bytes on unchanged)' }
      : convertYaml(chunk, context, offset);
  if ('refused' in converted) {
    context.reading.errors.push({
      index: context.index++,
      message: converted.refused,
      ...position(context, offset),
    });
    return;
  }
  if ('error' in converted) {
    // go-yaml names the line within the document: `yaml: line 4: found a tab character ...`.
    const [, line, message] = /^(?:yaml: )?(?:line (\d+): )?(.*)$/s.exec(converted.error) ?? [];
    const start = position(context, offset);
    context.reading.errors.push({
      index: context.index++,
      message: `invalid YAML: ${message ?? converted.error}`,
      line: start.line + (line ? Number(line) - 1 : 0),
      column: line ? 1 : start.column,
    });
    return;
  }
  acceptDocument(context, converted.value, offset, chunk);
}

/** A document of blank and comment lines only (of ordinary characters): go-yaml reads null. */
const onlyComments = /^(?: *(?:#[^\n]*)?\n)*$/;

/** One YAML document as sigs.k8s.io/yaml converts it. */
function convertYaml(
  chunk: string,
  context: ReadContext,
  offset: number,
): { value: unknown } | { error: string } | { refused: string } {
  const ordinaryCharacters = !unusualCharacter.test(chunk);
  if (ordinaryCharacters) {
    // Without CRs the chunk is the file's text from `offset` as it stands, unless it is the last
    // one and a line break was added: then read in the file's text itself.
    const inPlace = offset + chunk.length <= context.text.length;
    const plain = inPlace
      ? readPlainYamlAt(context.text, offset, offset + chunk.length)
      : readPlainYaml(chunk);
    if (plain) return plain;
  }
  if (ordinaryCharacters && isOrdinarySyntax(chunk)) {
    if (onlyComments.test(chunk)) return { value: null };
    const fast = loadOrdinary(chunk);
    if (fast) return fast;
  }
  const { exactYaml } = context.options;
  if (!exactYaml)
    return {
      error:
        'this document uses YAML that only kubectl’s own reader reads exactly (aliases, tags, merge keys, ' +
        'unusual characters or keys), and that reader is not available here',
    };
  const left = context.exactLeft;
  if (left.documents < 1 || left.bytes < chunk.length) {
    left.documents = 0;
    // One message for every refused document of the file (a flood of them must stay cheap).
    context.refused ??= { refused: refusedMessage(context.options.exactBudget ?? exactYamlBudget) };
    return context.refused;
  }
  left.documents--;
  left.bytes -= chunk.length;
  const result = exactYaml(chunk);
  if ('error' in result) return { error: result.error };
  return { value: JSON.parse(result.json) as unknown };
}

function refusedMessage(budget: ExactYamlBudget): string {
  return (
    `this file needs kubectl’s own reader (aliases, tags, merge keys, tabs, unusual characters, escapes ` +
    `or long lines) for more than ${budget.documents} documents or ${budget.bytes / 1024} KiB, ` +
    'the most tollgate reads that way per file; this document and the rest of that kind are not judged. ' +
    'Split the file or write these documents in plain YAML'
  );
}

/** Thrown inside js-yaml to leave the fast path. */
class Unusual extends Error {}

const ordinaryMap = defineMappingTag('tag:yaml.org,2002:map', {
  create: (): Record<string, unknown> => ({}),
  addPair: (carrier, key, value) => {
    // go-yaml lets later duplicates win and types keys (`yes:` is "true"): leave that to kubectl's reader.
    if (typeof key !== 'string' || key === '__proto__' || key.length > longKey || Object.hasOwn(carrier, key))
      return 'unusual key';
    carrier[key] = value;
    return '';
  },
  has: (carrier, key) => typeof key === 'string' && Object.hasOwn(carrier, key),
  keys: (result) => Object.keys(result),
  get: (result, key) => (typeof key === 'string' ? result[key] : undefined),
  identify: () => false,
});

const orUnresolved = <T>(value: T | undefined): T | typeof NOT_RESOLVED =>
  value === undefined ? NOT_RESOLVED : value;

/** go-yaml v2's implicit scalar types; infinities and NaN (JSON has none) leave the fast path. */
const ordinarySchema = CORE_SCHEMA.withTags(
  ordinaryMap,
  defineScalarTag('tag:yaml.org,2002:bool', {
    implicit: true,
    resolve: (source) => orUnresolved(kubeBoolean(source)),
    identify: (data) => typeof data === 'boolean',
  }),
  defineScalarTag('tag:yaml.org,2002:int', {
    implicit: true,
    resolve: (source) => orUnresolved(kubeInteger(source)),
    identify: (data) => Number.isInteger(data),
  }),
  defineScalarTag('tag:yaml.org,2002:float', {
    implicit: true,
    resolve: (source) => {
      const value = kubeFloat(source);
      if (value !== undefined && !Number.isFinite(value)) throw new Unusual(source);
      return orUnresolved(value);
    },
    identify: (data) => typeof data === 'number',
  }),
);

/** js-yaml with go-yaml's scalar types, or undefined when the document is not ordinary. */
function loadOrdinary(chunk: string): { value: unknown } | undefined {
  try {
    const documents = loadAll(chunk, { schema: ordinarySchema, maxAliases: 0 });
    if (documents.length > 1) return undefined;
    return { value: documents[0] ?? null };
  } catch {
    return undefined;
  }
}

// ---------------------------------------------------------------------------------------------
// 4. Objects (StreamVisitor, the unstructured decoder, FlattenListVisitor)

function acceptDocument(context: ReadContext, value: unknown, offset: number, source: string): void {
  const index = context.index++;
  if (value === null) return;
  const where = position(context, offset);
  const refuse = (message: string): void => {
    context.reading.errors.push({ index, message, ...where });
  };
  if (!isObject(value)) {
    refuse(`document is not an object (kubectl cannot decode a ${jsonType(value)})`);
    return;
  }
  const span: SourceSpan = { line: where.line, column: where.column, endLine: where.line, endColumn: 1 };
  let located: ((path: readonly PathSegment[]) => SourceSpan) | undefined;
  const locate = (path: readonly PathSegment[]): SourceSpan => {
    try {
      located ??= locatorFor({ text: source, lineOffset: where.line - 1 });
      return located(path);
    } catch {
      return span;
    }
  };
  const renderedFrom = renderedFromComments(source);
  const documentFor = (item: unknown, prefix: readonly PathSegment[]): SourceDocument => ({
    index,
    value: item,
    span: prefix.length === 0 ? span : locate(prefix),
    ...(renderedFrom ? { renderedFrom } : {}),
    locate: prefix.length === 0 ? locate : (path) => locate([...prefix, ...path]),
  });
  const problem = decodeProblem(value);
  if (problem) {
    refuse(problem);
    return;
  }
  if (!Object.hasOwn(value, 'items')) {
    const missing = missingApiVersion(value);
    if (missing) refuse(missing);
    else context.reading.objects.push({ document: documentFor(value, []), object: value });
    return;
  }
  const items = listItems(value);
  if (typeof items === 'string') {
    refuse(items);
    return;
  }
  items.forEach((item, i) => {
    const kind = typeof item.kind === 'string' ? item.kind : '';
    const version = groupVersion(item.apiVersion)?.version ?? '';
    if (kind === '') refuse(`list item ${i}: object has no kind field`);
    else if (version === '') refuse(`list item ${i}: object has no apiVersion field`);
    else context.reading.objects.push({ document: documentFor(item, ['items', i]), object: item });
  });
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function jsonType(value: unknown): string {
  if (Array.isArray(value)) return 'list';
  return typeof value === 'string' ? 'string' : typeof value === 'number' ? 'number' : 'boolean';
}

/** schema.ParseGroupVersion: at most one `/`. */
function groupVersion(apiVersion: unknown): { group: string; version: string } | undefined {
  const value = typeof apiVersion === 'string' ? apiVersion : '';
  if (value === '' || value === '/') return { group: '', version: '' };
  const parts = value.split('/');
  if (parts.length === 1) return { group: '', version: value };
  if (parts.length === 2) return { group: parts[0] ?? '', version: parts[1] ?? '' };
  return undefined;
}

/** Why the unstructured decoder (with cli-runtime's metadata check) refuses an object, if it does. */
function decodeProblem(value: Record<string, unknown>): string | undefined {
  if (Object.hasOwn(value, 'items') && !(value.items === null || Array.isArray(value.items)))
    return `items: cannot decode a ${jsonType(value.items)} as a list`;
  const gv = groupVersion(value.apiVersion);
  if (!gv || typeof value.kind !== 'string' || value.kind === '') return 'object has no kind field';
  return metadataProblem(value);
}

/** tollgate refuses what kubectl would resolve against the cluster: an object without a version. */
function missingApiVersion(value: Record<string, unknown>): string | undefined {
  if (groupVersion(value.apiVersion)?.version) return undefined;
  return 'object has no apiVersion (kubectl would ask the cluster which version it means); add apiVersion';
}

/** The list's items as decodeToList builds them, or why it refuses them. */
function listItems(list: Record<string, unknown>): Record<string, unknown>[] | string {
  const raw = list.items;
  if (!Array.isArray(raw)) return [];
  const listKind = typeof list.kind === 'string' ? list.kind : '';
  const listVersion = typeof list.apiVersion === 'string' ? list.apiVersion : '';
  const items: Record<string, unknown>[] = [];
  for (const [i, item] of raw.entries()) {
    if (item !== null && !isObject(item))
      return `list item ${i}: cannot decode a ${jsonType(item)} as an object`;
    const object: Record<string, unknown> = item ?? {};
    const kind = typeof object.kind === 'string' ? object.kind : '';
    const apiVersion = typeof object.apiVersion === 'string' ? object.apiVersion : '';
    if (kind === '' && apiVersion === '') {
      object.kind = listKind.endsWith('List') ? listKind.slice(0, -4) : listKind;
      object.apiVersion = listVersion;
    }
    items.push(object);
  }
  // A list inside a list is not flattened: kubectl refuses the whole document.
  const nested = items.findIndex((item) => Array.isArray(item.items));
  if (nested >= 0) return `list item ${nested} is itself a list; kubectl does not flatten nested lists`;
  return items;
}

const stringFields = ['name', 'generateName', 'namespace', 'selfLink', 'uid', 'resourceVersion'];
const intFields = ['generation', 'deletionGracePeriodSeconds'];
const timeFields = ['creationTimestamp', 'deletionTimestamp'];
const rfc3339 = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.\d+)?(?:Z|[+-](\d{2}):(\d{2}))$/;

/** Whether a value decodes as a metav1.Time (null, or an RFC 3339 string Go's time.Parse accepts). */
function isTime(value: unknown): boolean {
  if (value === null) return true;
  if (typeof value !== 'string') return false;
  const match = rfc3339.exec(value);
  if (!match) return false;
  const [year, month, day, hour, minute, second, zoneHour, zoneMinute] = match.slice(1).map(Number);
  const days = new Date(Date.UTC(year ?? 0, month ?? 0, 0)).getUTCDate();
  return (
    (month ?? 0) >= 1 &&
    (month ?? 0) <= 12 &&
    (day ?? 0) >= 1 &&
    (day ?? 0) <= days &&
    (hour ?? 0) < 24 &&
    (minute ?? 0) < 60 &&
    (second ?? 0) < 60 &&
    (zoneHour === undefined || Number.isNaN(zoneHour) || zoneHour < 24) &&
    (zoneMinute === undefined || Number.isNaN(zoneMinute) || zoneMinute < 60)
  );
}

const isInt64 = (value: unknown): boolean =>
  value === null || (Number.isInteger(value) && Math.abs(value as number) < 2 ** 63);
const isStringOrNull = (value: unknown): boolean => value === null || typeof value === 'string';
const isBoolOrNull = (value: unknown): boolean => value === null || typeof value === 'boolean';

/**
 * What cli-runtime's metadataValidatingDecoder rejects: `kind`/`apiVersion` that are not strings,
 * and a `metadata` that does not decode as an ObjectMeta (labels and annotations must map strings
 * to strings, names are strings, timestamps RFC 3339, ...).
 */
function metadataProblem(value: Record<string, unknown>): string | undefined {
  for (const field of typeFields)
    if (Object.hasOwn(value, field) && !isStringOrNull(value[field])) return `${field} must be a string`;
  if (!Object.hasOwn(value, 'metadata') || value.metadata === null) return undefined;
  const metadata = value.metadata;
  if (!isObject(metadata)) return 'metadata must be an object';
  // Most metadata holds a few fields, all well formed: look at those it holds, and only when one is
  // wrong go through the fields in order for the problem to report.
  let wrong = false;
  for (const field in metadata) {
    const check = Object.hasOwn(metadata, field) ? metadataChecks.get(field) : undefined;
    if (check && !check(metadata[field])) {
      wrong = true;
      break;
    }
  }
  if (!wrong) return undefined;
  const has = (field: string): boolean => Object.hasOwn(metadata, field);
  for (const field of stringFields)
    if (has(field) && !isStringOrNull(metadata[field])) return `metadata.${field} must be a string`;
  for (const field of intFields)
    if (has(field) && !isInt64(metadata[field])) return `metadata.${field} must be an integer`;
  for (const field of timeFields)
    if (has(field) && !isTime(metadata[field])) return `metadata.${field} must be an RFC 3339 time`;
  for (const field of ['labels', 'annotations']) {
    const map = metadata[field];
    if (!has(field) || map === null) continue;
    if (!isObject(map) || !Object.values(map).every(isStringOrNull))
      return `metadata.${field} must map strings to strings`;
  }
  for (const [field, item] of listFields) {
    const entries = metadata[field];
    if (!has(field) || entries === null) continue;
    if (!Array.isArray(entries) || !entries.every((entry) => entry === null || item(entry)))
      return `metadata.${field} is malformed`;
  }
  return undefined;
}

const typeFields = ['kind', 'apiVersion'];

/** A list entry that is a map whose `strings` are strings (or null) and whose other fields pass their checks. */
const entryWith =
  (strings: string[], checks: Record<string, (v: unknown) => boolean> = {}) =>
  (entry: unknown): boolean =>
    isObject(entry) &&
    strings.every((f) => !Object.hasOwn(entry, f) || isStringOrNull(entry[f])) &&
    Object.entries(checks).every(([f, check]) => !Object.hasOwn(entry, f) || check(entry[f]));

/** The list fields of ObjectMeta and what each entry must be, in the order they are checked. */
const listFields: ReadonlyArray<readonly [string, (entry: unknown) => boolean]> = [
  ['finalizers', (entry) => typeof entry === 'string'],
  [
    'ownerReferences',
    entryWith(['apiVersion', 'kind', 'name', 'uid'], {
      controller: isBoolOrNull,
      blockOwnerDeletion: isBoolOrNull,
    }),
  ],
  [
    'managedFields',
    entryWith(['manager', 'operation', 'apiVersion', 'fieldsType', 'subresource'], { time: isTime }),
  ],
];

/** Whether a metadata field's value decodes, by field (the checks of {@link metadataProblem}). */
const metadataChecks = new Map<string, (value: unknown) => boolean>([
  ...stringFields.map((field) => [field, isStringOrNull] as const),
  ...intFields.map((field) => [field, isInt64] as const),
  ...timeFields.map((field) => [field, isTime] as const),
  ...['labels', 'annotations'].map(
    (field) =>
      [
        field,
        (map: unknown) => map === null || (isObject(map) && Object.values(map).every(isStringOrNull)),
      ] as const,
  ),
  ...listFields.map(
    ([field, item]) =>
      [
        field,
        (entries: unknown) =>
          entries === null ||
          (Array.isArray(entries) && entries.every((entry) => entry === null || item(entry))),
      ] as const,
  ),
]);

// ---------------------------------------------------------------------------------------------

function position(context: ReadContext, offset: number): { line: number; column: number } {
  if (!context.lineStarts) {
    const starts = [0];
    const { text } = context;
    for (let i = text.indexOf('\n'); i >= 0; i = text.indexOf('\n', i + 1)) starts.push(i + 1);
    context.lineStarts = starts;
  }
  const starts = context.lineStarts;
  let low = 0;
  let high = starts.length - 1;
  while (low < high) {
    const mid = (low + high + 1) >> 1;
    if ((starts[mid] ?? 0) <= offset) low = mid;
    else high = mid - 1;
  }
  return { line: low + 1, column: offset - (starts[low] ?? 0) + 1 };
}
