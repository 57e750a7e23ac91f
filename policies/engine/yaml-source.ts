/**
 * YAML and JSON documents parsed with their positions, so a finding's JSON path can be mapped
 * back to the exact line and column of the offending field.
 */
import { isMap, isScalar, isSeq, LineCounter, parseAllDocuments } from 'yaml';
import type { Document, Node } from 'yaml';
import { CORE_SCHEMA, EVENT_ID, getScalarValue, loadAll, mergeTag, parseEvents } from 'js-yaml';
import type { Event } from 'js-yaml';
import type { PathSegment } from './path.ts';
import { locateSpan, plainSpans, readPlainYaml, unusualCharacter } from './plain-yaml.ts';
import type { PlainScalarType } from './plain-yaml.ts';

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

// Both patterns stay within one line (`[ \t]`, not `\s`): a `\s*` after `^` in multiline mode
// re-scans every following blank line from every line start, quadratic in the blank lines.
const sourceComment = /^[ \t]*Source:[ \t]*(\S+)/m;
const sourceCommentLine = /^[ \t]*#[ \t]*Source:[ \t]*(\S+)/;

/**
 * Parses every document of a YAML (or JSON) text, keeping positions. Never throws on bad input.
 * This is the YAML 1.2 reader for tollgate's own files (bundles, suites); Kubernetes manifests are
 * read as kubectl reads them by `readAsKubectl` (kubectl-reader.ts).
 *
 * Fast path: the text is split at document markers (a line starting with `---` is always a
 * marker in YAML 1.2) and each document is read by the plain block YAML reader (plain-yaml.ts,
 * with the core schema's scalar types) or else loaded with js-yaml (core schema plus merge keys), which
 * reports a broken document of a large file with its line; positions come from the plain reader's
 * spans or js-yaml's event stream ({@link locatorFor}), built only when a finding asks for one. A file with directives or an ambiguous split, or
 * a small file with a broken document, is parsed whole by the `yaml` library.
 */
export function parseSource(text: string): ParsedSource {
  return parseFast(text) ?? parseWithPositions(text);
}

const fastSchema = CORE_SCHEMA.withTags(mergeTag);

/** A plain scalar typed by the core schema, as js-yaml types it. */
const coreScalar = (text: string): unknown => fastSchema.resolveImplicitScalarTag(text).value;

const documentMarker = /^---(?=[ \t\r\n]|$)/gm;

/** A document's text and where it starts in its file. */
export interface Chunk {
  text: string;
  /** 0-based line of the chunk's first line in the file. */
  lineOffset: number;
}

/** A chunk with its number of lines (line breaks + 1). */
interface SplitChunk extends Chunk {
  lines: number;
}

function splitDocuments(text: string): SplitChunk[] {
  const chunks: SplitChunk[] = [];
  let start = 0;
  let startLine = 0;
  let line = 0;
  const countTo = (offset: number): void => {
    for (let i = text.indexOf('\n', start); i >= 0 && i < offset; i = text.indexOf('\n', i + 1)) line++;
  };
  for (const match of text.matchAll(documentMarker)) {
    const offset = match.index;
    if (offset === 0) continue;
    countTo(offset);
    chunks.push({ text: text.slice(start, offset), lineOffset: startLine, lines: line - startLine + 1 });
    start = offset;
    startLine = line;
  }
  countTo(text.length);
  chunks.push({ text: text.slice(start), lineOffset: startLine, lines: line - startLine + 1 });
  return chunks;
}

/**
 * The index of a chunk's first content line (-1 when it has none) and the template a
 * `# Source: chart/templates/x.yaml` comment before it names.
 */
function leadingLines(text: string): { contentLine: number; rendered: string | undefined } {
  let rendered: string | undefined;
  for (let start = 0, index = 0; ; index++) {
    const newline = text.indexOf('\n', start);
    const end = newline < 0 ? text.length : newline;
    const raw = text.slice(start, end);
    if (!blankOrComment.test(raw.endsWith('\r') ? raw.slice(0, -1) : raw))
      return { contentLine: index, rendered };
    rendered ??= sourceCommentLine.exec(raw)?.[1];
    if (newline < 0) return { contentLine: -1, rendered };
    start = newline + 1;
  }
}

/** Largest text re-read whole by the yaml library when a document does not load. */
const fullParseLimit = 256 * 1024;

const blankOrComment = /^(?:[ \t]*(?:#.*)?|---[ \t]*(?:#.*)?|\.\.\.[ \t]*)$/;

function parseFast(text: string): ParsedSource | undefined {
  const schema = fastSchema;
  if (/^%/m.test(text)) return undefined; // directives: let the full parser handle them
  const documents: SourceDocument[] = [];
  const errors: SourceError[] = [];
  let index = 0;
  const chunks = splitDocuments(text);
  const leading = chunks.map((chunk) => leadingLines(chunk.text));
  const preloaded = chunks.map((chunk, i): { value: unknown } | undefined =>
    (leading[i]?.contentLine ?? -1) < 0 || unusualCharacter.test(chunk.text)
      ? undefined
      : readPlainYaml(chunk.text, coreScalar),
  );
  loadInBatches(chunks, leading, preloaded);
  for (const [i, chunk] of chunks.entries()) {
    const { contentLine, rendered } = leading[i] ?? { contentLine: -1, rendered: undefined };
    if (contentLine < 0) {
      // comments only: before the first marker this is not a document of its own
      if (chunk.lineOffset === 0 && !chunk.text.startsWith('---')) continue;
      index++;
      continue;
    }
    let loaded: unknown[];
    try {
      const ready = preloaded[i];
      loaded = ready ? [ready.value] : loadAll(chunk.text, { schema, maxAliases: 100 });
    } catch (error) {
      // A small file is re-read by the yaml library, whose messages are clearer; a large one gets
      // js-yaml's message and position (the yaml library is far slower on large or deep input).
      if (text.length <= fullParseLimit) return undefined;
      const mark = (error as { mark?: { line?: number; column?: number } }).mark;
      const reason = (error as { reason?: string }).reason ?? String(error);
      errors.push({
        index: index++,
        message: reason.split('\n')[0] ?? 'invalid YAML',
        line: chunk.lineOffset + (mark?.line ?? contentLine) + 1,
        column: (mark?.column ?? 0) + 1,
      });
      continue;
    }
    if (loaded.length !== 1) return undefined;
    const value = loaded[0];
    const line = chunk.lineOffset + contentLine + 1;
    let located: ((path: readonly PathSegment[]) => SourceSpan) | undefined;
    documents.push({
      index,
      value,
      span: { line, column: 1, endLine: chunk.lineOffset + chunk.lines, endColumn: 1 },
      ...(rendered ? { renderedFrom: rendered } : {}),
      locate: (path) => {
        located ??= locatorFor(chunk, coreScalar);
        return located(path);
      },
    });
    index++;
  }
  return { documents, errors };
}

/**
 * Loads runs of consecutive documents the plain reader left to js-yaml with one js-yaml call per
 * run (js-yaml starts afresh per document: anchors and alias counts do not cross documents), which
 * costs half as much as a call per document on a flood of tiny ones. A run that fails or yields
 * another number of documents is left to the call per document, which reports the error.
 */
function loadInBatches(
  chunks: readonly Chunk[],
  leading: ReadonlyArray<{ contentLine: number }>,
  preloaded: Array<{ value: unknown } | undefined>,
): void {
  const batch = 64;
  for (let start = 0; start < chunks.length;) {
    let end = start;
    while (
      end < chunks.length &&
      end - start < batch &&
      !preloaded[end] &&
      (leading[end]?.contentLine ?? -1) >= 0
    )
      end++;
    if (end - start >= 2) {
      let loaded: unknown[] | undefined;
      try {
        const joined = chunks
          .slice(start, end)
          .map((chunk) => chunk.text)
          .join('');
        loaded = loadAll(joined, { schema: fastSchema, maxAliases: 100 });
      } catch {
        loaded = undefined;
      }
      if (loaded?.length === end - start) loaded.forEach((value, i) => (preloaded[start + i] = { value }));
    }
    start = Math.max(end, start + 1);
  }
}

/** The template named by a `# Source:` comment among a document's leading comment lines (linear time). */
export function renderedFromComments(text: string): string | undefined {
  return leadingLines(text).rendered;
}

/**
 * Builds the position lookup of one document (offsets into the chunk), shifted to file lines. Built
 * once per document, and only for documents with findings. A document the plain reader reads is
 * located by it (its code is warm: the reading ran it on every document), anything else by js-yaml's
 * event stream; both give the same offsets ({@link eventLocator}). `scalar` is how the document's
 * plain scalars were typed (it decides only whether the plain reader takes the document).
 */
export function locatorFor(
  chunk: Chunk,
  scalar?: PlainScalarType,
): (path: readonly PathSegment[]) => SourceSpan {
  const spans = unusualCharacter.test(chunk.text) ? undefined : plainSpans(chunk.text, scalar);
  if (!spans) return eventLocator(chunk);
  const position = positionIn(chunk);
  return (path) => {
    const found = locateSpan(spans, path);
    const a = position(found.start);
    const b = position(Math.max(found.start, found.end));
    return { line: a.line, column: a.column, endLine: b.line, endColumn: b.column };
  };
}

/** Line and column (1-based, in the file) of an offset into a chunk. */
function positionIn(chunk: Chunk): (offset: number) => { line: number; column: number } {
  const source = chunk.text;
  const lineStarts = [0];
  for (let i = source.indexOf('\n'); i >= 0; i = source.indexOf('\n', i + 1)) lineStarts.push(i + 1);
  return (offset) => {
    let low = 0;
    let high = lineStarts.length - 1;
    while (low < high) {
      const mid = (low + high + 1) >> 1;
      if ((lineStarts[mid] ?? 0) <= offset) low = mid;
      else high = mid - 1;
    }
    return { line: low + 1 + chunk.lineOffset, column: offset - (lineStarts[low] ?? 0) + 1 };
  };
}

/** The position lookup of one document from js-yaml's event stream: any YAML js-yaml parses. */
export function eventLocator(chunk: Chunk): (path: readonly PathSegment[]) => SourceSpan {
  const source = chunk.text;
  const events = parseEvents(source, {});
  const position = positionIn(chunk);
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

const anchorOrAlias = /(?:^|[\s,[\]{}])[&*]/g;
const maxAnchorsAndAliases = 256;
const tooManyAnchors: ParsedSource = {
  documents: [],
  errors: [
    {
      index: 0,
      message: `more than ${maxAnchorsAndAliases} anchors and aliases (or a YAML error among many); not read`,
      line: 1,
      column: 1,
    },
  ],
};

/** Parses with the `yaml` library, building the node tree of every document up front (the reference path). */
export function parseWithPositions(text: string): ParsedSource {
  // The yaml library's parse time grows with the square of the anchors and aliases; refuse a text
  // with more of them than any bundle needs instead of spending minutes on it.
  let anchors = 0;
  for (const _ of text.matchAll(anchorOrAlias)) if (++anchors > maxAnchorsAndAliases) return tooManyAnchors;
  const lineCounter = new LineCounter();
  const docs = parseAllDocuments(text, {
    lineCounter,
    uniqueKeys: true,
    prettyErrors: false,
    merge: true,
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
