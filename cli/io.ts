/** Where a command reads and writes, so tests can run commands in-process. */

/** Streams and environment a command uses. */
export interface CommandIO {
  stdout(text: string): void;
  /**
   * Resolves once standard output has taken what was written (a pipe's reader caught up), so a
   * command writing a large report in pieces holds one piece, not all of them. Absent: nothing to wait for.
   */
  drained?(): Promise<void>;
  stderr(text: string): void;
  /** Reads all of standard input. */
  stdin(): Promise<string>;
  cwd: string;
  env: Readonly<Record<string, string | undefined>>;
}

export { processIO } from './process-io.ts';
export { UsageError } from '../policies/index.ts';
