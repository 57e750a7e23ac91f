/**
 * YAML and JSON documents parsed with their positions, so a finding's JSON path can be mapped
 * back to the exact line and column of the offending field.
 */
import { isMap, isScalar, isSeq, LineCounter, parseAllDocuments } from 'yaml';
import type { Document, Node } from 'yaml';
import {
  CORE_SCHEMA,
  defineScalarTag,
  EVENT_ID,
  getScalarValue,
  loadAll,
  mergeTag,
  NOT_RESOLVED,
  parseEvents,
} from 'js-yaml';
import type { Event } from 'js-yaml';
import type { ScalarTag, Tags } from 'yaml';
import { kubeBoolean, kubeFloat, kubeInteger } from './kube-scalars.ts';
import type { PathSegment } from './path.ts';

/** A 1-based line/column span in a source file. */
export interface SourceSpan {
  line: number;
  column: number;
  endLine: number;
  endColumn: number;
}

/** One document of a multi-document YAML source. */
export interface SourceDocument {
  /** 0-based index of the document in its file. */
  readonly index: number;
  /** The document as plain JSON (undefined for an empty document). */
  readonly value: unknown;
  /** Where the whole document starts. */
  readonly span: SourceSpan;
  /** Template named by a preceding `# Source: chart/templates/x.yaml` comment (helm template output). */
  readonly renderedFrom?: string;
  /** Span of the value at a path (falls back to the deepest existing ancestor). */
  locate(path: readonly PathSegment[]): SourceSpan;
}

/** A syntax error in a document. */
export interface SourceError {
  readonly index: number;
  readonly message: string;
  readonly line: number;
  readonly column: number;
}

/** Parsed documents and per-document errors of one source. */
export interface ParsedSource {
  readonly documents: SourceDocument[];
  readonly errors: SourceError[];
}

const sourceComment = /^\s*Source:\s*(\S+)/m;
const sourceCommentLine = /^\s*#\s*Source:\s*(\S+)/m;

/**
 * Parses every document of a YAML (or JSON) text, keeping positions. Never throws on bad input.
 *
 * Fast path: the text is split at document markers (a line starting with `---` is always a
 * marker in YAML 1.2) and each document is loaded with js-yaml (core schema plus merge keys, as the
 * API server's YAML reader accepts them); positions come from the `yaml` library's CST, built only
 * when a finding asks for one. A file with a syntax error, directives or an ambiguous split is
 * parsed whole by the `yaml` library, which reports errors with their lines.
 */
export function parseSource(text: string, options: ParseSourceOptions = {}): ParsedSource {
  return parseFast(text, options) ?? parseWithPositions(text, options);
}

/** How plain scalars are typed. */
export interface ParseSourceOptions {
  /**
   * `yaml-1.2` (default): the YAML 1.2 core schema, for tollgate's own files (bundles: `enforcement: off`
   * stays a string). `kubernetes`: as kubectl, Helm and Argo CD read manifests (go-yaml v2: `yes`/`on`
   * are booleans, `0755` is octal, `1_000` is 1000), so CI judges the values the cluster will see.
   */
  readonly scalars?: 'yaml-1.2' | 'kubernetes';
}

const fastSchema = CORE_SCHEMA.withTags(mergeTag);

const boolTagName = 'tag:yaml.org,2002:bool';
const intTagName = 'tag:yaml.org,2002:int';
const floatTagName = 'tag:yaml.org,2002:float';
const orUnresolved = <T>(value: T | undefined): T | typeof NOT_RESOLVED =>
  value === undefined ? NOT_RESOLVED : value;
const kubeSchema = CORE_SCHEMA.withTags(
  mergeTag,
  defineScalarTag(boolTagName, {
    implicit: true,
    resolve: (source) => orUnresolved(kubeBoolean(source)),
    identify: (data) => typeof data === 'boolean',
  }),
  defineScalarTag(intTagName, {
    implicit: true,
    resolve: (source) => orUnresolved(kubeInteger(source)),
    identify: (data) => Number.isInteger(data),
  }),
  defineScalarTag(floatTagName, {
    implicit: true,
    resolve: (source) => orUnresolved(kubeFloat(source)),
    identify: (data) => typeof data === 'number',
  }),
);

/** A `test` for the `yaml` library's implicit tags that runs a function instead of a pattern. */
function matching(predicate: (source: string) => boolean): RegExp {
  const re = /(?:)/;
  re.test = predicate;
  return re;
}

/** The `yaml` library's core tags with booleans and numbers typed as {@link kubeSchema} types them. */
function kubeTags(tags: Tags): Tags {
  const replaced = new Set([boolTagName, intTagName, floatTagName]);
  const scalar = (tag: string, read: (source: string) => unknown): ScalarTag => ({
    tag,
    default: true,
    test: matching((source) => read(source) !== undefined),
    resolve: (source) => read(source),
  });
  return [
    ...tags.filter((tag) => typeof tag === 'string' || !replaced.has(tag.tag)),
    scalar(boolTagName, kubeBoolean),
    scalar(intTagName, kubeInteger),
    scalar(floatTagName, kubeFloat),
  ];
}
const documentMarker = /^---(?=[ \t\r\n]|$)/gm;

interface Chunk {
  text: string;
  /** 0-based line of the chunk's first line in the file. */
  lineOffset: number;
}

function splitDocuments(text: string): Chunk[] {
  const chunks: Chunk[] = [];
  let start = 0;
  let startLine = 0;
  let scanned = 0;
  let line = 0;
  for (const match of text.matchAll(documentMarker)) {
    const offset = match.index;
    if (offset === 0) continue;
    for (let i = scanned; i < offset; i++) if (text.charCodeAt(i) === 10) line++;
    scanned = offset;
    chunks.push({ text: text.slice(start, offset), lineOffset: startLine });
    start = offset;
    startLine = line;
  }
  chunks.push({ text: text.slice(start), lineOffset: startLine });
  return chunks;
}

const blankOrComment = /^(?:[ \t]*(?:#.*)?|---[ \t]*(?:#.*)?|\.\.\.[ \t]*)$/;

function parseFast(text: string, options: ParseSourceOptions): ParsedSource | undefined {
  const schema = options.scalars === 'kubernetes' ? kubeSchema : fastSchema;
  if (/^%/m.test(text)) return undefined; // directives: let the full parser handle them
  const documents: SourceDocument[] = [];
  let index = 0;
  for (const chunk of splitDocuments(text)) {
    const lines = chunk.text.split('\n');
    const contentLine = lines.findIndex((line) => !blankOrComment.test(line.replace(/\r$/, '')));
    if (contentLine < 0) {
      // comments only: before the first marker this is not a document of its own
      if (chunk.lineOffset === 0 && !chunk.text.startsWith('---')) continue;
      index++;
      continue;
    }
    let loaded: unknown[];
    try {
      loaded = loadAll(chunk.text, { schema, maxAliases: 100 });
    } catch {
      return undefined;
    }
    if (loaded.length !== 1) return undefined;
    const value = loaded[0];
    const rendered = sourceCommentLine.exec(lines.slice(0, contentLine).join('\n'))?.[1];
    const line = chunk.lineOffset + contentLine + 1;
    let located: ((path: readonly PathSegment[]) => SourceSpan) | undefined;
    documents.push({
      index,
      value,
      span: { line, column: 1, endLine: chunk.lineOffset + lines.length, endColumn: 1 },
      ...(rendered ? { renderedFrom: rendered } : {}),
      locate: (path) => {
        located ??= locatorFor(chunk);
        return located(path);
      },
    });
    index++;
  }
  return { documents, errors: [] };
}

/**
 * Builds the position lookup of one document from js-yaml's event stream (offsets into the chunk),
 * shifted to file lines. Built once per document, and only for documents with findings.
 */
function locatorFor(chunk: Chunk): (path: readonly PathSegment[]) => SourceSpan {
  const source = chunk.text;
  const events = parseEvents(source, {});
  const lineStarts = [0];
  for (let i = 0; i < source.length; i++) if (source.charCodeAt(i) === 10) lineStarts.push(i + 1);
  const position = (offset: number): { line: number; column: number } => {
    let low = 0;
    let high = lineStarts.length - 1;
    while (low < high) {
      const mid = (low + high + 1) >> 1;
      if ((lineStarts[mid] ?? 0) <= offset) low = mid;
      else high = mid - 1;
    }
    return { line: low + 1 + chunk.lineOffset, column: offset - (lineStarts[low] ?? 0) + 1 };
  };
  const root = events.findIndex((event) => event.type !== EVENT_ID.DOCUMENT);
  return (path) => {
    const found = locateEvent(source, events, Math.max(root, 0), path);
    const a = position(found.start);
    const b = position(Math.max(found.start, found.end));
    return { line: a.line, column: a.column, endLine: b.line, endColumn: b.column };
  };
}

/** Index just past the node that starts at `index`. */
function skipNode(events: readonly Event[], index: number): number {
  const event = events[index];
  if (!event || (event.type !== EVENT_ID.MAPPING && event.type !== EVENT_ID.SEQUENCE)) return index + 1;
  let depth = 0;
  for (let i = index; i < events.length; i++) {
    const type = events[i]?.type;
    if (type === EVENT_ID.MAPPING || type === EVENT_ID.SEQUENCE) depth++;
    else if (type === EVENT_ID.POP && --depth === 0) return i + 1;
  }
  return events.length;
}

function startOf(event: Event | undefined): number {
  if (!event) return 0;
  if (event.type === EVENT_ID.SCALAR) return event.valueStart;
  if (event.type === EVENT_ID.MAPPING || event.type === EVENT_ID.SEQUENCE) return event.start;
  if (event.type === EVENT_ID.ALIAS) return event.anchorStart;
  return 0;
}

/** Last source offset covered by the node starting at `index`. */
function endOf(events: readonly Event[], index: number): number {
  let end = startOf(events[index]);
  const stop = skipNode(events, index);
  for (let i = index; i < stop; i++) {
    const event = events[i];
    if (event?.type === EVENT_ID.SCALAR) end = Math.max(end, event.valueEnd);
    else if (event?.type === EVENT_ID.ALIAS) end = Math.max(end, event.anchorEnd);
  }
  return end;
}

/** Finds the node at a path (or its deepest existing ancestor); a map entry's span starts at its key. */
function locateEvent(
  source: string,
  events: readonly Event[],
  rootIndex: number,
  path: readonly PathSegment[],
): { start: number; end: number } {
  let index = rootIndex;
  let start = startOf(events[index]);
  for (const segment of path) {
    const node = events[index];
    let next = -1;
    let keyStart = -1;
    if (node?.type === EVENT_ID.MAPPING) {
      let i = index + 1;
      while (i < events.length && events[i]?.type !== EVENT_ID.POP) {
        const key = events[i];
        const valueIndex = skipNode(events, i);
        if (key?.type === EVENT_ID.SCALAR && getScalarValue(source, key) === String(segment)) {
          next = valueIndex;
          keyStart = key.valueStart;
          break;
        }
        i = skipNode(events, valueIndex);
      }
    } else if (node?.type === EVENT_ID.SEQUENCE && typeof segment === 'number') {
      let i = index + 1;
      for (let item = 0; i < events.length && events[i]?.type !== EVENT_ID.POP; item++) {
        if (item === segment) {
          next = i;
          break;
        }
        i = skipNode(events, i);
      }
    }
    if (next < 0) break;
    index = next;
    start = keyStart >= 0 ? keyStart : startOf(events[index]);
  }
  return { start, end: endOf(events, index) };
}

/** Parses with the `yaml` library, building the node tree of every document up front (the reference path). */
export function parseWithPositions(text: string, options: ParseSourceOptions = {}): ParsedSource {
  const lineCounter = new LineCounter();
  const docs = parseAllDocuments(text, {
    lineCounter,
    uniqueKeys: true,
    prettyErrors: false,
    merge: true,
    ...(options.scalars === 'kubernetes' ? { customTags: kubeTags } : {}),
  });
  const documents: SourceDocument[] = [];
  const errors: SourceError[] = [];
  const list = Array.isArray(docs) ? docs : [];
  const spanOf = (range: readonly [number, number, number] | null | undefined): SourceSpan => {
    const [start, end] = range ?? [0, 0, 0];
    const a = lineCounter.linePos(start);
    const b = lineCounter.linePos(Math.max(start, end));
    return { line: a.line, column: a.col, endLine: b.line, endColumn: b.col };
  };
  list.forEach((doc, index) => {
    if (doc.errors.length > 0) {
      const first = doc.errors[0];
      const pos = first?.linePos?.[0] ?? lineCounter.linePos(first?.pos[0] ?? 0);
      errors.push({
        index,
        message: first?.message.split('\n')[0] ?? 'invalid YAML',
        line: pos.line,
        column: pos.col,
      });
      return;
    }
    let value: unknown;
    try {
      value = doc.toJS({ maxAliasCount: 100 });
    } catch (error) {
      const pos = lineCounter.linePos(doc.contents?.range?.[0] ?? 0);
      errors.push({
        index,
        message: error instanceof Error ? error.message : String(error),
        line: pos.line,
        column: pos.col,
      });
      return;
    }
    const comment = [doc.commentBefore, doc.contents?.commentBefore, firstKeyComment(doc)]
      .filter(Boolean)
      .join('\n');
    const rendered = sourceComment.exec(comment)?.[1];
    const docSpan = spanOf(doc.contents?.range ?? doc.range);
    documents.push({
      index,
      value,
      span: docSpan,
      ...(rendered ? { renderedFrom: rendered } : {}),
      locate: (path) => spanOf(locateNode(doc, path)?.range ?? doc.contents?.range),
    });
  });
  return { documents, errors };
}

/** Finds the node for a path, or the deepest ancestor that exists; for a map entry, the key's node starts the span. */
function locateNode(doc: Document, path: readonly PathSegment[]): Node | undefined {
  let node: unknown = doc.contents;
  let best: { range?: [number, number, number] | null } | undefined = isNodeLike(node) ? node : undefined;
  for (const segment of path) {
    if (isMap(node)) {
      const pair = node.items.find(
        (item) => isScalar(item.key) && String(item.key.value) === String(segment),
      );
      if (!pair) break;
      const value = pair.value;
      if (isNodeLike(value) && isScalar(pair.key) && pair.key.range && value.range) {
        best = { range: [pair.key.range[0], value.range[1], value.range[2]] };
      } else if (isNodeLike(value)) best = value;
      node = value;
    } else if (isSeq(node) && typeof segment === 'number') {
      const item = node.items[segment];
      if (!isNodeLike(item)) break;
      best = item;
      node = item;
    } else break;
  }
  return best as Node | undefined;
}

function firstKeyComment(doc: Document): string | undefined {
  const contents = doc.contents;
  if (!isMap(contents)) return undefined;
  const key = contents.items[0]?.key;
  return isScalar(key) ? (key.commentBefore ?? undefined) : undefined;
}

function isNodeLike(value: unknown): value is { range?: [number, number, number] | null } {
  return typeof value === 'object' && value !== null && 'range' in value;
}
