/**
 * The hash-chained decision log writer. Every line a writer emits carries `writer` (the pod or
 * process that wrote it), `seq` (1, 2, 3 … per writer) and `prev` (the SHA-256 of that writer's
 * previous line, exactly as written, `null` on its first line). Every `every` lines or `intervalMs`
 * (whichever comes first, and only when lines were written since) and when the writer closes, it
 * writes a checkpoint line, signed with a detached JWS when a key is configured. Editing, removing,
 * reordering or cutting lines therefore breaks the chain, and a signed checkpoint cannot be forged
 * without the key. The reader is {@link ./verify.ts}.
 *
 * The webhook's pino logger writes through {@link chainDestination}; the drift audit and CI runs call
 * {@link openChainLog} or {@link ChainWriter.append} directly.
 */
import { hash, randomBytes } from 'node:crypto';
import { closeSync, openSync, writeSync } from 'node:fs';
import { hostname } from 'node:os';
import { checkpointPayload, signCheckpoint } from './checkpoint.ts';
import type { CheckpointKey } from './checkpoint.ts';

/** Lines between checkpoints by default. */
export const defaultCheckpointEvery = 1000;
/** Longest time between checkpoints by default (when lines were written). */
export const defaultCheckpointIntervalMs = 60_000;

/** Options of {@link ChainWriter}. */
export interface ChainWriterOptions {
  /** Receives each complete line, newline included. */
  readonly sink: (line: string) => void;
  /** The writer's id; default {@link defaultWriterId}. */
  readonly writer?: string;
  /** Private key that signs checkpoints (Ed25519, P-256/384/521 or RSA); unsigned checkpoints without it. */
  readonly key?: CheckpointKey;
  /** Lines between checkpoints (default 1000). */
  readonly every?: number;
  /** Longest time between checkpoints in ms (default 60 000; 0 turns the timer off). */
  readonly intervalMs?: number;
  /** What produced the lines, written on the start line (e.g. `tollgate-webhook`). */
  readonly component?: string;
  /** Clock (tests). */
  readonly clock?: () => Date;
  /** Called once after the closing checkpoint is written (release a file). */
  readonly onClose?: () => void;
}

/**
 * A writer id unique per process start: the pod (POD_NAME, else the host name), the pid and a random
 * suffix, so a restarted container (same pod, same pid 1) starts a new chain instead of a duplicate.
 */
export function defaultWriterId(env: NodeJS.ProcessEnv = process.env): string {
  const host = env['POD_NAME'] || hostname();
  return `${host}:${process.pid}:${randomBytes(3).toString('hex')}`;
}

/** The SHA-256 (hex) of a line as written, without its newline. */
export function lineHash(line: string): string {
  return hash('sha256', line, 'hex');
}

/** Appends chained lines for one writer; see the module comment. Not safe across processes. */
export class ChainWriter {
  /** This writer's id, written on every line. */
  readonly writer: string;
  readonly #sink: (line: string) => void;
  readonly #key: CheckpointKey | undefined;
  readonly #every: number;
  readonly #clock: () => Date;
  readonly #suffix: string;
  readonly #onClose: (() => void) | undefined;
  #seq = 0;
  #prev: string | null = null;
  #sinceCheckpoint = 0;
  #timer: NodeJS.Timeout | undefined;
  #closed = false;

  constructor(options: ChainWriterOptions) {
    this.writer = options.writer ?? defaultWriterId();
    if (!/^[\x21-\x7e]{1,253}$/.test(this.writer))
      throw new Error(`decision log writer id "${this.writer}" must be 1 to 253 printable ASCII characters`);
    this.#sink = options.sink;
    this.#key = options.key;
    this.#every = options.every ?? defaultCheckpointEvery;
    if (!Number.isInteger(this.#every) || this.#every < 1)
      throw new Error(`checkpoint every ${this.#every} lines: must be a positive integer`);
    this.#clock = options.clock ?? (() => new Date());
    this.#onClose = options.onClose;
    this.#suffix = `,"writer":${JSON.stringify(this.writer)},"seq":`;
    this.#writeObject({
      time: this.#clock().toISOString(),
      event: 'log-start',
      ...(options.component ? { component: options.component } : {}),
      checkpoints: {
        every: this.#every,
        intervalMs: options.intervalMs ?? defaultCheckpointIntervalMs,
        signed: this.#key !== undefined,
      },
    });
    const intervalMs = options.intervalMs ?? defaultCheckpointIntervalMs;
    if (intervalMs > 0) {
      this.#timer = setInterval(() => {
        if (this.#sinceCheckpoint > 0) this.checkpoint();
      }, intervalMs);
      this.#timer.unref();
    }
  }

  /** Lines written so far (start and checkpoint lines included). */
  get seq(): number {
    return this.#seq;
  }

  /**
   * Appends a record (a JSON object without `writer`, `seq`, `prev`); `time` is added when missing.
   * Returns the line written.
   */
  append(record: Readonly<Record<string, unknown>>): string {
    const line = this.#writeObject(
      'time' in record ? record : { time: this.#clock().toISOString(), ...record },
    );
    this.#counted();
    return line;
  }

  /** Appends a line that is already one JSON object's text (pino's output), without its newline. */
  appendJson(json: string): string {
    const text = json.trimEnd();
    if (!text.startsWith('{') || !text.endsWith('}'))
      throw new Error('a decision log line must be one JSON object');
    const line = this.#chain(text);
    this.#counted();
    return line;
  }

  /** Writes a checkpoint line now (signed when a key is configured). */
  checkpoint(final = false): string {
    const seq = this.#seq + 1;
    const time = this.#clock().toISOString();
    const prev = this.#prev ?? '';
    const jws = this.#key
      ? signCheckpoint(checkpointPayload({ writer: this.writer, seq, prev, time, final }), this.#key)
      : undefined;
    this.#sinceCheckpoint = 0;
    return this.#writeObject({
      time,
      event: 'checkpoint',
      ...(final ? { final: true } : {}),
      ...(jws ? { jws } : {}),
    });
  }

  /** Writes the closing checkpoint and stops the timer; later appends throw. */
  close(): void {
    if (this.#closed) return;
    this.checkpoint(true);
    this.#closed = true;
    if (this.#timer) clearInterval(this.#timer);
    this.#onClose?.();
  }

  #counted(): void {
    this.#sinceCheckpoint++;
    if (this.#sinceCheckpoint >= this.#every) this.checkpoint();
  }

  #writeObject(record: Readonly<Record<string, unknown>>): string {
    return this.#chain(JSON.stringify(record));
  }

  #chain(objectText: string): string {
    if (this.#closed) throw new Error(`decision log writer ${this.writer} is closed`);
    this.#seq++;
    const body = objectText.slice(0, -1);
    const suffix = body.endsWith('{') ? this.#suffix.slice(1) : this.#suffix;
    const line = `${body}${suffix}${this.#seq},"prev":${this.#prev === null ? 'null' : `"${this.#prev}"`}}`;
    this.#prev = lineHash(line);
    this.#sink(`${line}\n`);
    return line;
  }
}

/** A pino destination stream that chains every line pino writes and passes it on. */
export interface ChainDestination {
  write(chunk: string): boolean;
  flush(callback?: (error?: Error | null) => void): void;
  /** Writes the closing checkpoint and flushes. */
  close(): void;
  readonly chain: ChainWriter;
}

/**
 * Wraps a destination (pino's stdout stream, a file) so that every line pino writes is chained. Use
 * it as the second argument of `pino()`.
 */
export function chainDestination(
  target: { write(chunk: string): unknown; flush?: (callback?: (error?: Error | null) => void) => void },
  options: Omit<ChainWriterOptions, 'sink'>,
): ChainDestination {
  const chain = new ChainWriter({ ...options, sink: (line) => void target.write(line) });
  return {
    chain,
    write(chunk) {
      for (const line of chunk.split('\n')) if (line.trim()) chain.appendJson(line);
      return true;
    },
    flush(callback) {
      if (target.flush) target.flush(callback);
      else callback?.();
    },
    close() {
      chain.close();
      target.flush?.();
    },
  };
}

/**
 * Opens a chained log appending to a file (synchronous writes: every line is on disk when `append`
 * returns; `close` writes the closing checkpoint and closes the file). For `tollgate audit` runs and
 * CI runs that record their decisions.
 */
export function openChainLog(
  file: string,
  options: Omit<ChainWriterOptions, 'sink' | 'onClose'> = {},
): ChainWriter {
  const fd = openSync(file, 'a');
  return new ChainWriter({
    ...options,
    sink: (line) => void writeSync(fd, line),
    onClose: () => closeSync(fd),
  });
}
