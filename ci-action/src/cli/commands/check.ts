/** `tollgate check [PATH...|-] [--bundle FILE] [--format text|json] [--now ISO-8601]` */
import { parseArgs } from 'node:util';
import { checkManifests, loadBundleFile, summarize } from '../../check.ts';
import { loadManifests } from '../../manifests.ts';
import { buildJsonReport } from '../../report/json.ts';
import { formatText } from '../../report/text.ts';
import type { CommandIO } from '../io.ts';
import { UsageError } from '../io.ts';

const help = `usage: tollgate check [PATH...|-] [--bundle FILE] [--format text|json] [--now ISO-8601]

Checks Kubernetes manifests (files, directories walked for .yaml/.yml/.json, or - for stdin)
against a policy bundle (default: the embedded finance baseline).
Exit codes: 0 nothing denied, 1 something denied, 2 usage, bundle or input errors.
`;

/** Parses an ISO-8601 instant given on the command line. */
export function parseNow(value: string | undefined): Date {
  if (value === undefined) return new Date();
  const date = new Date(value);
  if (!/^\d{4}-\d{2}-\d{2}/.test(value) || Number.isNaN(date.getTime())) {
    throw new UsageError(`--now "${value}" is not an ISO-8601 date-time (e.g. 2026-12-30T18:00:00+01:00)`);
  }
  return date;
}

/** Runs the check command. */
export async function run(args: string[], io: CommandIO): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      args,
      allowPositionals: true,
      options: {
        bundle: { type: 'string', short: 'b' },
        format: { type: 'string', short: 'f', default: 'text' },
        now: { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
    });
  } catch (error) {
    throw new UsageError(`${(error as Error).message}\n\n${help}`);
  }
  const { values, positionals } = parsed;
  if (values.help) {
    io.stdout(help);
    return 0;
  }
  const format = values.format ?? 'text';
  if (format !== 'text' && format !== 'json')
    throw new UsageError(`--format must be text or json, not "${format}"`);
  if (positionals.length === 0) throw new UsageError(`no paths given\n\n${help}`);
  const now = parseNow(values.now);
  const bundle = await loadBundleFile(values.bundle, io.cwd);
  const set = await loadManifests(positionals, io.cwd, io.stdin);
  const reports = await checkManifests(set.manifests, { bundle, now });
  const summary = summarize(reports, set.errors, set.files);
  if (format === 'json')
    io.stdout(
      `${JSON.stringify(buildJsonReport(reports, set.errors, summary, bundle.identity, now), null, 2)}\n`,
    );
  else io.stdout(formatText(reports, set.errors, summary, bundle.identity));
  if (set.errors.length > 0) return 2;
  return summary.denied > 0 ? 1 : 0;
}
