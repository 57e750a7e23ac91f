/**
 * The real process streams as a {@link CommandIO}. Apart from ./io.ts so that the command line's
 * entry (main.ts) imports nothing from the policies before a command needs them.
 */
import { once } from 'node:events';
import type { CommandIO } from './io.ts';

/** The real process streams. */
export function processIO(): CommandIO {
  return {
    stdout: (text) => process.stdout.write(text),
    drained: async () => {
      if (process.stdout.writableNeedDrain) await once(process.stdout, 'drain');
    },
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
