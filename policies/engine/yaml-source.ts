/**
 * YAML and JSON documents parsed with their positions, so a finding's JSON path can be mapped
 * back to the exact line and column of the offending field.
 */
import { isMap, isScalar, isSeq, LineCounter, parseAllDocuments } from 'yaml';
import type { Document, Node } from 'yaml';
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

/** Parses every document of a YAML (or JSON) text, keeping positions. Never throws on bad input. */
export function parseSource(text: string): ParsedSource {
  const lineCounter = new LineCounter();
  const docs = parseAllDocuments(text, { lineCounter, uniqueKeys: true, prettyErrors: false, merge: true });
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
