/**
 * The reader of the hash-chained decision log (see {@link ./chain.ts}). It reads any number of files
 * (rotated, compressed with gzip, or container runtime logs with their `<time> stdout F ` prefix),
 * groups lines by writer, checks each writer's chain within a file line by line and then across files
 * (ordered by sequence number, so rotated files may be given in any order), verifies checkpoint
 * signatures against trusted keys, and names the first broken line of each writer and why. A log
 * with any broken line is never reported as verified.
 */
import { hash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import type { Readable } from 'node:stream';
import { createGunzip } from 'node:zlib';
import { InputError } from '../../policies/index.ts';
import type { TrustedKeys } from '../signing/bundle-signature.ts';
import { lineHash } from './chain.ts';
import { verifyCheckpoint } from './checkpoint.ts';
import { NestedValues, parseLineFields } from './fields.ts';
import type { LineFields } from './fields.ts';

/** A broken place in the log: the file and line, and why. */
export interface ChainBreak {
  readonly file: string;
  /** 1-based line number in the file. */
  readonly line: number;
  readonly writer?: string;
  readonly seq?: number;
  readonly reason: string;
}

/** What the verification found for one writer. */
export interface WriterSummary {
  readonly writer: string;
  readonly files: string[];
  /** Lines of this writer read (start, decisions and checkpoints). */
  lines: number;
  firstSeq: number;
  lastSeq: number;
  firstTime?: string;
  lastTime?: string;
  checkpoints: number;
  /** Checkpoints whose signature was verified against the trusted keys. */
  signedCheckpoints: number;
  /** Key ids that signed verified checkpoints. */
  keyIds: string[];
  /** Ends with its closing checkpoint. */
  closed: boolean;
  /** First broken line in chain order, if any. */
  broken?: ChainBreak;
}

/** The outcome of verifying a set of log files. */
export interface VerifyResult {
  /** True only when every line of every writer chains and every checked signature holds. */
  readonly ok: boolean;
  readonly files: string[];
  readonly lines: number;
  readonly writers: WriterSummary[];
  /** Every break found (at most one per writer, plus lines that belong to no writer), in file order. */
  readonly breaks: ChainBreak[];
  /** Whether checkpoint signatures were checked (trusted keys were given). */
  readonly signaturesChecked: boolean;
  /** Open writers were accepted (`--allow-open`). */
  readonly allowOpen: boolean;
}

/** Options of {@link ChainVerifier}. */
export interface VerifyOptions {
  /** Public keys that may sign checkpoints; without them signatures are not checked (and said so). */
  readonly trusted?: TrustedKeys;
  /** Accept writers whose chain has no closing checkpoint (still running). */
  readonly allowOpen?: boolean;
}

/**
 * A chained line as read: the chain fields, and the line's other top-level fields read on demand
 * ({@link LineFields}); valid during the `onLine` call that hands it over.
 */
export interface ChainLine {
  readonly writer: string;
  readonly seq: number;
  readonly prev: string | null;
  readonly event?: unknown;
  readonly time?: unknown;
  /** The line's top-level fields. */
  readonly fields: LineFields;
}

interface Position {
  readonly file: string;
  readonly fileIndex: number;
  readonly line: number;
}

interface Seen extends Position {
  readonly seq: number;
  readonly hash: string;
  readonly prev: string | null;
  readonly event: unknown;
  readonly final: boolean;
}

/** A writer's contiguous run of lines in one file. */
interface Segment {
  readonly writer: string;
  readonly first: Seen;
  /** The line after `first` (tells, at a join across files, whether `first` is intact). */
  second?: Seen;
  last: Seen;
  /** The line before `last` (for the one-line look-ahead). */
  before?: Seen;
  pending?: { kind: 'mismatch' | 'gap'; at: Seen; previous: Seen } | undefined;
  broken?: ChainBreak & { order: number };
}

/** Whether a text is 64 lowercase hex digits (a SHA-256 as the chain writes it). */
function isSha256Hex(text: string): boolean {
  if (text.length !== 64) return false;
  for (let i = 0; i < 64; i++) {
    const c = text.charCodeAt(i);
    if (!((c >= 0x30 && c <= 0x39) || (c >= 0x61 && c <= 0x66))) return false;
  }
  return true;
}

const criLine = /^\S+ (?:stdout|stderr) ([FP]) (.*)$/;

/** One line of a log file: its text, and its bytes as written when they are the line itself. */
export type LogLineHandler = (text: string, line: number, bytes: Uint8Array | undefined) => void;

/**
 * Reads a log file's lines in chunks and hands each to `onLine` synchronously (no promise per line).
 * Lines of container runtime logs (`<time> stdout F <text>`, `P` for a partial line) are joined back
 * into the line the writer wrote; their bytes are then not handed over. A trailing carriage return
 * is dropped. Returns the last line number and whether the last line was whole (a partial runtime
 * line at the end was not).
 */
export async function forEachLogLine(
  input: Readable,
  onLine: LogLineHandler,
): Promise<{ lines: number; complete: boolean }> {
  let number = 0;
  let partial = '';
  let rest: Buffer | undefined;
  const one = (bytes: Buffer): void => {
    number++;
    let end = bytes.length;
    if (end > 0 && bytes[end - 1] === 0x0d) end--;
    const view = end === bytes.length ? bytes : bytes.subarray(0, end);
    if (view[0] === 0x7b) {
      onLine(view.toString('utf8'), number, view);
      return;
    }
    const raw = view.toString('utf8');
    if (raw.trim() === '') {
      onLine(raw, number, undefined);
      return;
    }
    const cri = criLine.exec(raw);
    if (cri) {
      partial += cri[2] ?? '';
      if (cri[1] === 'F') {
        onLine(partial, number, undefined);
        partial = '';
      }
      return;
    }
    onLine(raw, number, view);
  };
  for await (const chunk of input) {
    const buffer: Buffer = rest ? Buffer.concat([rest, chunk as Buffer]) : (chunk as Buffer);
    let start = 0;
    for (let newline = buffer.indexOf(0x0a, start); newline !== -1; newline = buffer.indexOf(0x0a, start)) {
      one(buffer.subarray(start, newline));
      start = newline + 1;
    }
    rest = start < buffer.length ? buffer.subarray(start) : undefined;
  }
  if (rest) one(rest);
  if (partial) {
    onLine(partial, number, undefined);
    return { lines: number, complete: false };
  }
  return { lines: number, complete: true };
}

/** Opens a log file for {@link forEachLogLine}: gunzips names ending in `.gz`. */
export function openLogFile(path: string): Readable {
  const stream = createReadStream(path, { highWaterMark: 1 << 20 });
  return path.endsWith('.gz') ? stream.pipe(createGunzip()) : stream;
}

/** Whether a file ends with a newline (a cut last line does not). */
async function endsWithNewline(path: string): Promise<boolean> {
  const { open } = await import('node:fs/promises');
  if (path.endsWith('.gz')) return true;
  const handle = await open(path, 'r');
  try {
    const { size } = await handle.stat();
    if (size === 0) return true;
    const buffer = Buffer.alloc(1);
    await handle.read(buffer, 0, 1, size - 1);
    return buffer[0] === 0x0a;
  } finally {
    await handle.close();
  }
}

/**
 * Checks chains line by line. Feed each file's lines in order ({@link beginFile}, {@link line},
 * {@link endFile}), then {@link finish}. `line` returns the parsed chained line (or undefined for a
 * line that is not one), so a report can read the log in the same pass.
 */
export class ChainVerifier {
  readonly #options: VerifyOptions;
  readonly #files: string[] = [];
  readonly #segments = new Map<string, Segment[]>();
  /** The open segment of each writer in the current file. */
  #current = new Map<string, Segment>();
  readonly #fileBreaks: Array<ChainBreak & { order: number }> = [];
  readonly #signatures: Array<{ at: Seen; writer: string; promise: Promise<string | undefined> }> = [];
  readonly #stats = new Map<
    string,
    { lines: number; checkpoints: number; firstTime?: string; lastTime?: string }
  >();
  #lines = 0;
  /** The writer of the line before and its stats (lines of one writer come in runs). */
  #lastWriter: string | undefined;
  #lastStats: { lines: number; checkpoints: number; firstTime?: string; lastTime?: string } | undefined;
  readonly #nested = new NestedValues();

  constructor(options: VerifyOptions = {}) {
    this.#options = options;
  }

  /** Starts a file (its name as it should appear in messages). */
  beginFile(name: string): void {
    this.#files.push(name);
    this.#current = new Map();
  }

  /**
   * Reads one physical line; returns it when it is a chained line. `bytes` are the line as written
   * (hashed as they are); without them the text is hashed as UTF-8.
   */
  line(text: string, lineNumber: number, bytes?: Uint8Array): ChainLine | undefined {
    if (bytes === undefined ? text.trim() === '' : bytes.length === 0) return undefined;
    this.#lines++;
    const file = this.#file();
    const fileIndex = this.#files.length - 1;
    const fields = parseLineFields(text, this.#nested);
    if (typeof fields === 'string') {
      this.#fileBreak({ file, fileIndex, line: lineNumber }, fields);
      return undefined;
    }
    const writer = fields.value('writer');
    const seq = fields.value('seq');
    const prev = fields.value('prev');
    if (
      typeof writer !== 'string' ||
      typeof seq !== 'number' ||
      !Number.isSafeInteger(seq) ||
      seq < 1 ||
      !(
        prev === null ||
        // A prev equal to the hash of the writer's line before is hex by construction.
        (typeof prev === 'string' && (prev === this.#current.get(writer)?.last.hash || isSha256Hex(prev)))
      )
    ) {
      this.#fileBreak(
        { file, fileIndex, line: lineNumber },
        'not a chained line (no writer, seq and prev): a line was inserted, or a log without a chain was given',
      );
      return undefined;
    }
    const event = fields.value('event');
    const time = fields.value('time');
    const final = event === 'checkpoint' && fields.raw('final') === 'true';
    const seen: Seen = {
      file,
      fileIndex,
      line: lineNumber,
      seq,
      prev,
      hash: bytes ? hash('sha256', bytes, 'hex') : lineHash(text),
      event,
      final,
    };
    this.#count(writer, event, time);
    this.#extend(writer, seen);
    if (event === 'checkpoint') this.#checkpoint(writer, seen, time, fields.value('jws'));
    return { writer, seq, prev, event, time, fields };
  }

  /** Ends the current file; `complete` false when its last line has no newline (it was cut). */
  endFile(complete = true, lastLine = 0): void {
    for (const segment of this.#current.values()) this.#settle(segment);
    if (!complete)
      this.#fileBreak(
        { file: this.#file(), fileIndex: this.#files.length - 1, line: lastLine },
        'the last line has no newline: the file was cut',
      );
  }

  /** Joins each writer's segments across files, awaits signature checks and returns the result. */
  async finish(): Promise<VerifyResult> {
    const breaks: Array<ChainBreak & { order: number }> = [...this.#fileBreaks];
    const signatureFailures = new Map<string, ChainBreak & { order: number }>();
    const verifiedKeys = new Map<string, { count: number; kids: Set<string> }>();
    for (const check of this.#signatures) {
      const outcome = await check.promise.catch((error: Error) => ({ error: error.message }));
      if (typeof outcome === 'object' && outcome !== null) {
        const failure = {
          ...this.#at(check.at, check.writer),
          reason: `checkpoint signature does not verify: ${outcome.error}`,
          order: check.at.seq,
        };
        const known = signatureFailures.get(check.writer);
        if (!known || known.order > failure.order) signatureFailures.set(check.writer, failure);
        continue;
      }
      const keys = verifiedKeys.get(check.writer) ?? { count: 0, kids: new Set<string>() };
      keys.count++;
      if (outcome) keys.kids.add(outcome);
      verifiedKeys.set(check.writer, keys);
    }
    const writers: WriterSummary[] = [];
    for (const [writer, segments] of this.#segments) {
      segments.sort((a, b) => a.first.seq - b.first.seq || a.first.fileIndex - b.first.fileIndex);
      const found: Array<ChainBreak & { order: number }> = [];
      for (const segment of segments) if (segment.broken) found.push(segment.broken);
      const first = segments[0] as Segment;
      if (first.first.seq !== 1)
        found.push({
          ...this.#at(first.first, writer),
          reason: `writer ${writer} begins at seq ${first.first.seq}: its first ${first.first.seq - 1} line(s) are missing (give the earlier rotated files too, or lines were deleted)`,
          order: first.first.seq,
        });
      else if (first.first.prev !== null || first.first.event !== 'log-start')
        found.push({
          ...this.#at(first.first, writer),
          reason: 'seq 1 must be the writer’s log-start line with prev null: the line was changed',
          order: 1,
        });
      for (let i = 1; i < segments.length; i++) {
        const a = segments[i - 1] as Segment;
        const b = segments[i] as Segment;
        const join = this.#join(writer, a, b);
        if (join) found.push(join);
      }
      const last = segments[segments.length - 1] as Segment;
      const closed = last.last.final;
      const cutAfter = this.#fileBreaks.some(
        (item) => item.file === last.last.file && item.line > last.last.line,
      );
      if (!closed && !this.#options.allowOpen && !cutAfter)
        found.push({
          ...this.#at(last.last, writer),
          reason: `writer ${writer} ends here (seq ${last.last.seq}) without its closing checkpoint: the log was cut after this line, or the writer is still running or crashed (--allow-open accepts writers still running)`,
          order: last.last.seq + 0.5,
        });
      const signature = signatureFailures.get(writer);
      if (signature) found.push(signature);
      found.sort((x, y) => x.order - y.order);
      const stats = this.#stats.get(writer);
      const keys = verifiedKeys.get(writer);
      const summary: WriterSummary = {
        writer,
        files: [...new Set(segments.map((segment) => segment.first.file))],
        lines: stats?.lines ?? 0,
        firstSeq: first.first.seq,
        lastSeq: last.last.seq,
        ...(stats?.firstTime ? { firstTime: stats.firstTime } : {}),
        ...(stats?.lastTime ? { lastTime: stats.lastTime } : {}),
        checkpoints: stats?.checkpoints ?? 0,
        signedCheckpoints: keys?.count ?? 0,
        keyIds: [...(keys?.kids ?? [])].sort(),
        closed,
      };
      const firstBreak = found[0];
      if (firstBreak) {
        const { order: _order, ...rest } = firstBreak;
        summary.broken = rest;
        breaks.push(firstBreak);
      }
      writers.push(summary);
    }
    writers.sort(
      (a, b) => (a.firstTime ?? '').localeCompare(b.firstTime ?? '') || a.writer.localeCompare(b.writer),
    );
    const fileOrder = (item: ChainBreak): number => this.#files.indexOf(item.file);
    breaks.sort((a, b) => fileOrder(a) - fileOrder(b) || a.line - b.line);
    return {
      ok: breaks.length === 0 && writers.length > 0,
      files: [...this.#files],
      lines: this.#lines,
      writers,
      breaks: breaks.map(({ order: _order, ...rest }) => rest),
      signaturesChecked: this.#options.trusted !== undefined,
      allowOpen: this.#options.allowOpen === true,
    };
  }

  #file(): string {
    return this.#files[this.#files.length - 1] ?? '-';
  }

  #at(seen: Seen, writer: string): ChainBreak {
    return { file: seen.file, line: seen.line, writer, seq: seen.seq, reason: '' };
  }

  #fileBreak(position: Position, reason: string): void {
    this.#fileBreaks.push({ file: position.file, line: position.line, reason, order: 0 });
  }

  #count(writer: string, event: unknown, time: unknown): void {
    let stats = writer === this.#lastWriter ? this.#lastStats : this.#stats.get(writer);
    if (!stats) {
      stats = { lines: 0, checkpoints: 0 };
      this.#stats.set(writer, stats);
    }
    this.#lastWriter = writer;
    this.#lastStats = stats;
    stats.lines++;
    if (event === 'checkpoint') stats.checkpoints++;
    if (typeof time === 'string') {
      if (!stats.firstTime || time < stats.firstTime) stats.firstTime = time;
      if (!stats.lastTime || time > stats.lastTime) stats.lastTime = time;
    }
  }

  #checkpoint(writer: string, seen: Seen, time: unknown, jws: unknown): void {
    const trusted = this.#options.trusted;
    if (!trusted) return;
    if (typeof jws !== 'string') {
      this.#signatures.push({
        at: seen,
        writer,
        promise: Promise.reject(new Error('the checkpoint is not signed, and trusted keys were given')),
      });
      return;
    }
    const promise = verifyCheckpoint(
      {
        writer,
        seq: seen.seq,
        prev: seen.prev ?? '',
        time: typeof time === 'string' ? time : '',
        final: seen.final,
      },
      jws,
      trusted,
    ).then((verified) => verified.kid);
    promise.catch(() => undefined);
    this.#signatures.push({ at: seen, writer, promise });
  }

  #extend(writer: string, seen: Seen): void {
    const segment = this.#current.get(writer);
    if (!segment) {
      const created: Segment = { writer, first: seen, last: seen };
      this.#current.set(writer, created);
      const list = this.#segments.get(writer);
      if (list) list.push(created);
      else this.#segments.set(writer, [created]);
      return;
    }
    const previous = segment.last;
    if (previous === segment.first) segment.second = seen;
    segment.before = previous;
    segment.last = seen;
    if (segment.broken) return;
    const pending = segment.pending;
    if (pending) {
      segment.pending = undefined;
      if (pending.kind === 'mismatch') {
        // pending.at's prev did not match pending.previous; this line tells which of the two changed.
        if (seen.prev === pending.at.hash && seen.seq === pending.at.seq + 1) {
          this.#break(
            segment,
            pending.previous,
            `line changed after it was written: its SHA-256 no longer matches the prev recorded by the next line (${pending.at.file}:${pending.at.line}, seq ${pending.at.seq})`,
          );
        } else {
          this.#break(
            segment,
            pending.at,
            `line changed after it was written: its prev does not match the line before (seq ${pending.previous.seq}) and the next line's prev does not match it`,
          );
        }
        return;
      }
      if (seen.seq > pending.previous.seq && seen.seq < pending.at.seq) {
        this.#break(
          segment,
          pending.at,
          `lines reordered: seq ${pending.at.seq} comes before seq ${seen.seq} (${seen.file}:${seen.line})`,
        );
      } else {
        this.#break(segment, pending.at, this.#gapReason(pending.previous, pending.at));
      }
      return;
    }
    if (seen.final === false && previous.final) {
      this.#break(segment, seen, `line after writer ${writer}'s closing checkpoint (seq ${previous.seq})`);
      return;
    }
    const links = seen.prev === previous.hash;
    if (links && seen.seq === previous.seq + 1) return;
    if (links) {
      this.#break(
        segment,
        seen,
        `line changed after it was written: its seq is ${seen.seq} but it follows seq ${previous.seq} and its prev matches that line`,
      );
      return;
    }
    if (seen.seq === previous.seq + 1) segment.pending = { kind: 'mismatch', at: seen, previous };
    else if (seen.seq <= previous.seq)
      this.#break(
        segment,
        seen,
        `lines reordered or repeated: seq ${seen.seq} comes after seq ${previous.seq} (${previous.file}:${previous.line})`,
      );
    else segment.pending = { kind: 'gap', at: seen, previous };
  }

  /** Resolves a look-ahead left open at the end of a file segment. */
  #settle(segment: Segment): void {
    const pending = segment.pending;
    if (!pending || segment.broken) return;
    segment.pending = undefined;
    if (pending.kind === 'gap') {
      this.#break(segment, pending.at, this.#gapReason(pending.previous, pending.at));
      return;
    }
    // No next line tells which of the two changed. A prev that differs from the hash of the line
    // before in a few hex digits was edited in place; otherwise the line before was changed.
    const prev = pending.at.prev ?? '';
    let differing = 0;
    for (let i = 0; i < 64; i++) if (prev[i] !== pending.previous.hash[i]) differing++;
    if (differing < 16)
      this.#break(
        segment,
        pending.at,
        `line changed after it was written: its prev differs in ${differing} hex digit(s) from the SHA-256 of the line before (seq ${pending.previous.seq})`,
      );
    else
      this.#break(
        segment,
        pending.previous,
        `line changed after it was written: its SHA-256 no longer matches the prev recorded by the next line (${pending.at.file}:${pending.at.line}, seq ${pending.at.seq})`,
      );
  }

  #gapReason(previous: Seen, at: Seen): string {
    const missing =
      at.seq === previous.seq + 2
        ? `seq ${previous.seq + 1} is`
        : `seq ${previous.seq + 1} to ${at.seq - 1} are`;
    return `${missing} missing after seq ${previous.seq} (${previous.file}:${previous.line}): lines were deleted`;
  }

  #break(segment: Segment, seen: Seen, reason: string): void {
    segment.broken = { ...this.#at(seen, segment.writer), reason, order: seen.seq };
  }

  #join(writer: string, a: Segment, b: Segment): (ChainBreak & { order: number }) | undefined {
    const where = `${a.last.file}:${a.last.line}`;
    if (b.first.seq <= a.last.seq)
      return {
        ...this.#at(b.first, writer),
        reason: `seq ${b.first.seq} is also in ${a.first.file === b.first.file ? 'an earlier part of this file' : a.first.file} (up to seq ${a.last.seq} at ${where}): lines repeated, reordered, or a file given twice`,
        order: b.first.seq,
      };
    if (b.first.seq > a.last.seq + 1)
      return { ...this.#at(b.first, writer), reason: this.#gapReason(a.last, b.first), order: b.first.seq };
    if (b.first.prev !== a.last.hash) {
      const second = b.second;
      // The line after b's first still links to it, so that line is intact: the earlier file's last line changed.
      if (second && second.prev === b.first.hash && second.seq === b.first.seq + 1)
        return {
          ...this.#at(a.last, writer),
          reason: `line changed after it was written: its SHA-256 no longer matches the prev recorded by the next line (${b.first.file}:${b.first.line}, seq ${b.first.seq})`,
          order: a.last.seq,
        };
      return {
        ...this.#at(b.first, writer),
        reason: `its prev does not match the SHA-256 of the writer's line before (seq ${a.last.seq}, ${where}): one of the two lines was changed`,
        order: b.first.seq,
      };
    }
    if (a.last.final)
      return {
        ...this.#at(b.first, writer),
        reason: `line after writer ${writer}'s closing checkpoint (seq ${a.last.seq}, ${where})`,
        order: b.first.seq,
      };
    return undefined;
  }
}

/** A log source: a file path, or `-` with a stream (stdin). */
export interface LogSource {
  /** The name messages use (as the user gave it). */
  readonly name: string;
  /** Where to read it (default: `name`). */
  readonly path?: string;
  readonly stream?: Readable;
}

/**
 * Verifies log files end to end. `onLine` sees every chained line (the report reads the log in the
 * same pass). Throws InputError when a file cannot be read (naming it).
 */
export async function verifyLogs(
  sources: readonly LogSource[],
  options: VerifyOptions & { onLine?: (line: ChainLine) => void } = {},
): Promise<VerifyResult> {
  const verifier = new ChainVerifier(options);
  const onLine = options.onLine;
  for (const source of sources) {
    verifier.beginFile(source.name);
    let read: { lines: number; complete: boolean };
    try {
      read = await forEachLogLine(
        source.stream ?? openLogFile(source.path ?? source.name),
        (text, n, bytes) => {
          const parsed = verifier.line(text, n, bytes);
          if (parsed && onLine) onLine(parsed);
        },
      );
    } catch (error) {
      throw new InputError(source.name, `cannot read the decision log: ${(error as Error).message}`);
    }
    let complete = read.complete;
    if (complete && !source.stream) complete = await endsWithNewline(source.path ?? source.name);
    verifier.endFile(complete, read.lines);
  }
  return verifier.finish();
}
