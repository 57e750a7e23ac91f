/**
 * A run of `tollgate check` or of the drift audit recorded in the hash-chained decision log: one
 * writer per run appends the run's decision lines (built by ./line.ts) and its closing run line,
 * then its final checkpoint, so every run is a closed chain of its own that `tollgate evidence
 * verify` checks beside the webhook's writers.
 */
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { InputError } from '../../policies/index.ts';
import type { CheckpointKey } from './checkpoint.ts';
import type { ObjectDecisionLine, RunLine } from './line.ts';

/** Where and how a run is recorded. */
export interface RunLogOptions {
  /** The log file (absolute), appended to; created with its directory when missing. */
  readonly file: string;
  /** How the user named it (in errors). */
  readonly label: string;
  /** What writes, on the writer's start line (`tollgate-check`, `tollgate-audit`). */
  readonly component: string;
  readonly key?: CheckpointKey;
  readonly writer?: string;
}

/** Appends a run: its decision lines, the run line and the closing checkpoint. */
export async function recordRun(
  options: RunLogOptions,
  decisions: Iterable<ObjectDecisionLine>,
  run: RunLine,
): Promise<void> {
  // Loaded only when a run is recorded: the chain writer brings the JWS signer along.
  const { openChainLog } = await import('./chain.ts');
  let log;
  try {
    mkdirSync(dirname(options.file), { recursive: true });
    log = openChainLog(options.file, {
      component: options.component,
      intervalMs: 0,
      ...(options.writer ? { writer: options.writer } : {}),
      ...(options.key ? { key: options.key } : {}),
    });
  } catch (error) {
    throw new InputError(options.label, `cannot open the decision log: ${(error as Error).message}`);
  }
  try {
    for (const line of decisions) log.append({ ...line });
    log.append({ ...run });
  } finally {
    log.close();
  }
}
