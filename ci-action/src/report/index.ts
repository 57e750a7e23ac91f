/** Output formats of `tollgate check --format`, rendered from one run. */
import type { CompiledBundle } from '../../../policies/index.ts';
import type { PipelineResult } from '../gate/pipeline.ts';
import type { ChangedLines } from './github.ts';
import { formatGithub } from './github.ts';
import { buildJsonReport } from './json.ts';
import { formatJunit } from './junit.ts';
import { buildSarif } from './sarif.ts';
import { formatText } from './text.ts';

/** Every `--format` value. */
export const formats = ['text', 'json', 'sarif', 'junit', 'github'] as const;

/** One of {@link formats}. */
export type Format = (typeof formats)[number];

/** Type guard for a `--format` value. */
export function isFormat(value: string): value is Format {
  return (formats as readonly string[]).includes(value);
}

/** Renders a run in a format. */
export function renderReport(
  format: Format,
  result: PipelineResult,
  bundle: CompiledBundle,
  now: Date,
  cwd: string,
  changed?: ChangedLines,
): string {
  const { reports, errors, summary, issues } = result;
  switch (format) {
    case 'json':
      return `${JSON.stringify(buildJsonReport(reports, errors, summary, bundle.identity, now), null, 2)}\n`;
    case 'sarif':
      return `${JSON.stringify(buildSarif(issues, bundle, { cwd, executionSuccessful: errors.length === 0 }), null, 2)}\n`;
    case 'junit':
      return formatJunit(reports, errors);
    case 'github':
      return formatGithub(issues, errors, closingLine(result, bundle), changed);
    case 'text':
      return formatText(reports, errors, summary, bundle.identity);
  }
}

/** One-line verdict shared by the text-like formats. */
export function closingLine(result: PipelineResult, bundle: CompiledBundle): string {
  const { summary } = result;
  const newDenials = result.issues.filter((i) => i.action === 'deny' && i.baseline === 'new').length;
  const existing = result.issues.filter((i) => i.baseline === 'existing').length;
  const baseline = result.issues.some((i) => i.baseline)
    ? ` (${newDenials} new denial(s), ${existing} pre-existing finding(s))`
    : '';
  return (
    `tollgate: ${summary.files} file(s), ${summary.resources} resource(s): ${summary.denied} denied${baseline}, ` +
    `${summary.warned} warned, ${summary.errors} policy error(s), ${summary.inputErrors} input error(s); ` +
    `bundle ${bundle.identity.name} ${bundle.identity.version} (${bundle.identity.digest})`
  );
}
