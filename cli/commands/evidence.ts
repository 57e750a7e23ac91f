/**
 * `tollgate evidence verify|report`: flags → evidence/ → print. Verification proves the hash-chained
 * decision log whole; the report turns the log, the drift audit's runs and the bundles into evidence
 * per control id (HTML, JSON or CSV).
 */
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { Readable } from 'node:stream';
import { parseArgs } from 'node:util';
import { verifyLogs } from '../../io/decision-log/verify.ts';
import type { LogSource } from '../../io/decision-log/verify.ts';
import { parseTrustedKeys } from '../../io/signing/bundle-signature.ts';
import type { TrustedKeys } from '../../io/signing/bundle-signature.ts';
import { InputError, parseInstant } from '../../policies/index.ts';
import { nowFlag, parseNow } from '../flags.ts';
import type { CommandIO } from '../io.ts';
import { UsageError } from '../io.ts';

const help = `usage: tollgate evidence verify LOG... [--trusted-keys FILE] [--allow-open] [--format text|json]
       tollgate evidence report --from DATE --to DATE [--logs FILE ... | -] [--audit JSON ...]
                                [--bundles DIR] [--trusted-keys FILE] [--allow-open]
                                [--format html|json|csv] [--out DIR]

verify   checks every writer's hash chain across the files (rotated files in any order, .gz, container
         runtime logs) and every checkpoint signature; names the first broken line of each writer and
         why. Exit 0 verified, 1 broken, 2 unreadable input.
report   the evidence for auditors per control id over [--from, --to]: policies and versions, bundles
         and their signatures, decisions per day, every denial, break-glass use, exemption, freeze
         window and drift finding, and the log verification. Exit 0, or 1 when the log is broken (the
         report is still written and says so).

  LOG, --logs FILE     decision log files (- reads standard input)
  --trusted-keys FILE  JWKS, JWK or PEM public keys that sign checkpoints (and bundles, for --bundles)
  --allow-open         accept writers without a closing checkpoint (a webhook still running)
  --from, --to DATE    YYYY-MM-DD (whole days, UTC; --to inclusive) or ISO-8601 instants (--to exclusive)
  --audit JSON         tollgate audit --format json runs (repeatable): drift and whether Git caught up
  --bundles DIR        bundle files (with .jws signatures beside them); the embedded default is known
  --format F           html (default), json or csv
  --out DIR            write evidence-report.html / evidence-report.json / *.csv into DIR (csv needs it)
`;

const dateOnly = /^\d{4}-\d{2}-\d{2}$/;

/** Parses --from/--to: a day means its start (from) or the start of the next day (to). */
export function periodBound(value: string | undefined, flag: '--from' | '--to'): Date {
  if (value === undefined) throw new UsageError(`${flag} DATE is required (YYYY-MM-DD or ISO-8601)`);
  if (dateOnly.test(value)) {
    const start = new Date(`${value}T00:00:00Z`);
    if (Number.isNaN(start.getTime()) || start.toISOString().slice(0, 10) !== value)
      throw new UsageError(`${flag} "${value}" is not a calendar date`);
    return flag === '--to' ? new Date(start.getTime() + 86_400_000) : start;
  }
  const instant = parseInstant(value);
  if (!instant) throw new UsageError(`${flag} "${value}" is not YYYY-MM-DD or an ISO-8601 instant`);
  return instant;
}

async function trustedKeys(file: string | undefined, cwd: string): Promise<TrustedKeys | undefined> {
  if (file === undefined) return undefined;
  let text: string;
  try {
    text = await readFile(resolve(cwd, file), 'utf8');
  } catch (error) {
    throw new InputError(file, `cannot read trusted keys: ${(error as Error).message}`);
  }
  return parseTrustedKeys(text, file);
}

async function sources(names: readonly string[], io: CommandIO): Promise<LogSource[]> {
  const out: LogSource[] = [];
  for (const name of names) {
    if (name === '-') out.push({ name: '-', stream: Readable.from([await io.stdin()]) });
    else out.push({ name, path: resolve(io.cwd, name) });
  }
  return out;
}

/** Flags of `evidence verify`. */
const verifyFlags = {
  'trusted-keys': { type: 'string' },
  'allow-open': { type: 'boolean' },
  format: { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const;

/** Flags of `evidence report`. */
const reportFlags = {
  from: { type: 'string' },
  to: { type: 'string' },
  logs: { type: 'string', multiple: true },
  audit: { type: 'string', multiple: true },
  bundles: { type: 'string' },
  'trusted-keys': { type: 'string' },
  'allow-open': { type: 'boolean' },
  format: { type: 'string' },
  out: { type: 'string' },
  help: { type: 'boolean', short: 'h' },
  ...nowFlag,
} as const;

function usage<T>(parse: () => T): T {
  try {
    return parse();
  } catch (error) {
    throw new UsageError(`${(error as Error).message}\n\n${help}`);
  }
}

async function verify(args: string[], io: CommandIO): Promise<number> {
  const { values, positionals } = usage(() =>
    parseArgs({ args, allowPositionals: true, options: verifyFlags }),
  );
  if (values.help) {
    io.stdout(help);
    return 0;
  }
  const format = values.format ?? 'text';
  if (format !== 'text' && format !== 'json')
    throw new UsageError(`--format must be text or json, not "${format}"`);
  if (positionals.length === 0) throw new UsageError(`give the decision log files to verify\n\n${help}`);
  const trusted = await trustedKeys(values['trusted-keys'], io.cwd);
  const result = await verifyLogs(await sources(positionals, io), {
    ...(trusted ? { trusted } : {}),
    ...(values['allow-open'] ? { allowOpen: true } : {}),
  });
  if (format === 'json') io.stdout(`${JSON.stringify(result, null, 2)}\n`);
  else {
    const { formatVerification } = await import('../../evidence/verify-text.ts');
    io.stdout(formatVerification(result));
  }
  return result.ok ? 0 : 1;
}

async function report(args: string[], io: CommandIO): Promise<number> {
  const { values, positionals } = usage(() =>
    parseArgs({ args, allowPositionals: true, options: reportFlags }),
  );

  if (values.help) {
    io.stdout(help);
    return 0;
  }
  const from = periodBound(values.from, '--from');
  const to = periodBound(values.to, '--to');
  if (to <= from)
    throw new UsageError(`--to must be after --from (${from.toISOString()} .. ${to.toISOString()})`);
  const format = values.format ?? 'html';
  if (format !== 'html' && format !== 'json' && format !== 'csv')
    throw new UsageError(`--format must be html, json or csv, not "${format}"`);
  const out = values.out;
  if (format === 'csv' && !out) throw new UsageError('--format csv writes several files: give --out DIR');
  const logs = [...(values.logs ?? []), ...positionals];
  const trusted = await trustedKeys(values['trusted-keys'], io.cwd);
  const [{ buildReport }, { loadEvidenceBundles }, { readAuditRun }] = await Promise.all([
    import('../../evidence/report.ts'),
    import('../../evidence/bundles.ts'),
    import('../../evidence/audit-runs.ts'),
  ]);
  const audits = await Promise.all((values.audit ?? []).map((file) => readAuditRun(resolve(io.cwd, file))));
  const bundlesDir = values.bundles;
  const evidence = await buildReport({
    from,
    to,
    logs: await sources(logs, io),
    audits,
    bundles: await loadEvidenceBundles(bundlesDir ? resolve(io.cwd, bundlesDir) : undefined, trusted),
    ...(trusted ? { trusted } : {}),
    ...(values['allow-open'] ? { allowOpen: true } : {}),
    now: parseNow(values.now),
  });
  let files: Record<string, string>;
  if (format === 'csv') files = (await import('../../evidence/csv.ts')).renderCsv(evidence);
  else if (format === 'json') files = { 'evidence-report.json': `${JSON.stringify(evidence, null, 2)}\n` };
  else files = { 'evidence-report.html': (await import('../../evidence/html.ts')).renderHtml(evidence) };
  if (out) {
    const dir = resolve(io.cwd, out);
    await mkdir(dir, { recursive: true });
    for (const [name, content] of Object.entries(files)) {
      await writeFile(join(dir, name), content);
      io.stderr(`tollgate evidence report: wrote ${join(out, name)}\n`);
    }
  } else io.stdout(Object.values(files).join(''));
  const v = evidence.verification;
  const first = v.breaks[0];
  io.stderr(
    `tollgate evidence report: ${evidence.summary.decisions} decisions, ${evidence.controls.length} controls; log ${v.status}${first ? `: first broken line ${first.file}:${first.line}: ${first.reason}` : ''}\n`,
  );
  return v.status === 'broken' ? 1 : 0;
}

/** Runs `tollgate evidence`; returns the exit code. */
export async function run(args: string[], io: CommandIO): Promise<number> {
  const [sub, ...rest] = args;
  if (sub === 'verify') return verify(rest, io);
  if (sub === 'report') return report(rest, io);
  if (sub === undefined || sub === '--help' || sub === '-h' || sub === 'help') {
    io.stdout(help);
    return sub === undefined ? 2 : 0;
  }
  throw new UsageError(`unknown subcommand "${sub}" (verify or report)\n\n${help}`);
}
