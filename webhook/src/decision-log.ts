/**
 * The webhook's structured log: pino writing one JSON line per answered AdmissionReview (built by
 * io/decision-log/line.ts) and its operational events. `tollgate serve` writes it hash-chained
 * ({@link createDecisionLog}) so `tollgate evidence verify` can prove it whole.
 */
import { pino } from 'pino';
import type { DestinationStream, Logger } from 'pino';
import { chainDestination } from '../../io/decision-log/chain.ts';
import type { CheckpointKey } from '../../io/decision-log/checkpoint.ts';

/** Where and how the webhook writes its hash-chained decision log. */
export interface DecisionLogOptions {
  /** pino level (default info). */
  readonly level?: string;
  /** Append to this file instead of standard output. */
  readonly file?: string;
  /** Writer id (default: pod or host name, pid and a random suffix). */
  readonly writer?: string;
  /** Signs checkpoints. */
  readonly key?: CheckpointKey;
  /** Lines between checkpoints. */
  readonly every?: number;
  /** Longest time between checkpoints in ms. */
  readonly intervalMs?: number;
}

/** A chained decision logger and the way to close its chain. */
export interface DecisionLog {
  readonly logger: Logger;
  /** The writer id on every line. */
  readonly writer: string;
  /**
   * Writes one decision line exactly as `logger.info(line, 'decision')` would (pino's level, time
   * and component first, `msg` last), serialised with one JSON.stringify instead of pino's
   * per-key walk: the webhook writes one per answered request.
   */
  decision(line: object): void;
  /** Writes the closing checkpoint; resolves once every line is written (call after the server has drained). */
  close(): Promise<void>;
}

/**
 * Creates the webhook's logger writing a hash-chained log (io/decision-log): every line pino writes,
 * decisions and operational events alike, carries writer, seq and prev, with checkpoints.
 */
export function createDecisionLog(options: DecisionLogOptions = {}): DecisionLog {
  // Written synchronously, as pino writes to standard output by default: each line is with the
  // kernel before the next request is read, and the string dies young. Asynchronous writes gave
  // ~25 % more requests per second at full load (the thread pool writes beside the main thread) but
  // held every line until its write completed, so lines were promoted to the old generation: about
  // 30 MB more RSS after a burst and twice the full collections at 1,000 req/s (bench/webhook.ts).
  const target = options.file
    ? pino.destination({ dest: options.file, sync: true, append: true, mkdir: true })
    : pino.destination({ dest: 1, sync: true });
  const destination = chainDestination(target, {
    component: 'tollgate-webhook',
    ...(options.writer ? { writer: options.writer } : {}),
    ...(options.key ? { key: options.key } : {}),
    ...(options.every !== undefined ? { every: options.every } : {}),
    ...(options.intervalMs !== undefined ? { intervalMs: options.intervalMs } : {}),
  });
  const logger = createLogger({ ...(options.level ? { level: options.level } : {}), destination });
  const infoEnabled = logger.isLevelEnabled('info');
  let closing: Promise<void> | undefined;
  return {
    logger,
    writer: destination.chain.writer,
    decision: (line) => {
      if (!infoEnabled) return;
      const fields = JSON.stringify(line);
      destination.chain.appendJson(
        `${infoHead}${new Date().toISOString()}${bindings}${fields.slice(1, -1)},"msg":"decision"}`,
      );
    },
    close() {
      closing ??= new Promise<void>((resolve) => {
        destination.close();
        // end() writes what is still buffered, in order, then closes the file. Resolves once the
        // last line is written.
        target.once('close', () => resolve());
        target.once('error', () => resolve());
        target.end();
      });
      return closing;
    },
  };
}

/** The `component` of every line the webhook logs. */
const component = 'tollgate-webhook';
/** What pino writes before the time of an info line. */
const infoHead = `{"level":${pino.levels.values['info']},"time":"`;
/** What pino writes between the time and the fields: the logger's base bindings. */
const bindings = `","component":${JSON.stringify(component)},`;

/** Creates the JSON logger (stdout unless a destination is given). */
export function createLogger(options: { level?: string; destination?: DestinationStream } = {}): Logger {
  return pino(
    {
      level: options.level ?? 'info',
      base: { component },
      timestamp: pino.stdTimeFunctions.isoTime,
    },
    options.destination ?? pino.destination({ dest: 1, sync: true }),
  );
}
