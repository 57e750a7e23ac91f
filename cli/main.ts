/**
 * The `tollgate` command line. Each subcommand lives in its own module under ./commands and is
 * loaded on demand, so `tollgate check` never pays for the webhook's dependencies, and
 * `--version` and `--help` load nothing but this module (the compiled command has the version
 * embedded; the policies load only for a command or to classify an error).
 */
import type { CommandIO } from './io.ts';
import { processIO } from './process-io.ts';

/** Set only in the compiled command (scripts/build.ts): the version, so `--version` loads no policy. */
declare const TOLLGATE_EMBEDDED_VERSION: string | undefined;

async function version(): Promise<string> {
  if (typeof TOLLGATE_EMBEDDED_VERSION === 'string') return TOLLGATE_EMBEDDED_VERSION;
  return (await import('../policies/index.ts')).TOLLGATE_VERSION;
}

/** A subcommand: its one-line summary and its runner returning the exit code. */
interface CommandEntry {
  summary: string;
  load: () => Promise<{ run: (args: string[], io: CommandIO) => Promise<number> }>;
}

const commands: Record<string, CommandEntry> = {
  check: {
    summary: 'check manifests against a policy bundle (CI gate)',
    load: () => import('./commands/check.ts'),
  },
  bundle: {
    summary: 'validate, test, sign, verify and diff policy bundles; print the bundle schema',
    load: () => import('./commands/bundle.ts'),
  },
  freeze: {
    summary: 'show freeze status and the freeze calendar (text or iCalendar)',
    load: () => import('./commands/freeze.ts'),
  },
  'break-glass': {
    summary: 'request, approve (co-sign) and inspect break-glass approvals for frozen changes',
    load: () => import('./commands/break-glass.ts'),
  },
  audit: {
    summary: 'judge the live cluster with the policies and against Git; write PolicyReports',
    load: () => import('./commands/audit.ts'),
  },
  serve: {
    summary: 'run the validating admission webhook',
    load: () => import('./commands/serve.ts'),
  },
  evidence: {
    summary: 'verify the hash-chained decision log; build the evidence report for auditors',
    load: () => import('./commands/evidence.ts'),
  },
};

function usage(version: string): string {
  const width = Math.max(...Object.keys(commands).map((name) => name.length));
  const lines = Object.entries(commands).map(([name, entry]) => `  ${name.padEnd(width)}  ${entry.summary}`);
  return `tollgate ${version}: policy-as-code gate for Kubernetes\n\nusage: tollgate <command> [options]\n\ncommands:\n${lines.join('\n')}\n\nRun tollgate <command> --help for a command's options.\n`;
}

/** Runs the CLI with arguments (without node and script) and returns the exit code. */
export async function main(argv: string[], io: CommandIO = processIO()): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    io.stdout(usage(await version()));
    return name === undefined ? 2 : 0;
  }
  if (name === '--version' || name === 'version') {
    io.stdout(`${await version()}\n`);
    return 0;
  }
  const entry = commands[name];
  if (!entry) {
    io.stderr(`tollgate: unknown command "${name}"\n\n${usage(await version())}`);
    return 2;
  }
  try {
    const command = await entry.load();
    return await command.run(rest, io);
  } catch (error) {
    // Usage, bundle and input errors (UsageError among them) are the user's: exit 2.
    const { TollgateError } = await import('../policies/index.ts');
    if (error instanceof TollgateError) {
      io.stderr(`tollgate ${name}: ${error.message}\n`);
      return 2;
    }
    io.stderr(
      `tollgate ${name}: internal error: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
    );
    return 3;
  }
}
