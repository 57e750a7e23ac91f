/** Where a command reads and writes, so tests can run commands in-process. */

/** Streams and environment a command uses. */
export interface CommandIO {
  stdout(text: string): void;
  stderr(text: string): void;
  /** Reads all of standard input. */
  stdin(): Promise<string>;
  cwd: string;
  env: Readonly<Record<string, string | undefined>>;
}

/** The real process streams. */
export function processIO(): CommandIO {
  return {
    stdout: (text) => process.stdout.write(text),
    stderr: (text) => process.stderr.write(text),
    stdin: async () => {
      const chunks: Buffer[] = [];
      for await (const chunk of process.stdin) chunks.push(Buffer.from(chunk as Uint8Array));
      return Buffer.concat(chunks).toString('utf8');
    },
    cwd: process.cwd(),
    env: process.env,
  };
}

export { UsageError } from '../policies/index.ts';
