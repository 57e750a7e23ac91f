/**
 * JUnit XML for CI systems that render test reports (GitLab, Jenkins, Azure Pipelines, CircleCI):
 * one `<testsuite>` per file, one `<testcase>` per resource × policy, a `<failure>` for denials
 * (and policy errors at deny), `<skipped>` for skipped policies; warnings and audits go to
 * `<system-out>` of a passing test case.
 */
import type { ResourceReport } from '../gate/check.ts';
import type { ManifestError } from '../gate/manifests.ts';
import { objectLabel } from './issues.ts';

/** Escapes text for XML content and attribute values; drops characters XML 1.0 cannot carry. */
export function escapeXml(value: string): string {
  return (
    value
      // eslint-disable-next-line no-control-regex -- XML 1.0 forbids these characters; they are removed
      .replace(/[\u0000-\u0008\u000B\u000C\u000E-\u001F\uFFFE\uFFFF]/g, '')
      .replace(/&/g, '&amp;')
      .replace(/</g, '&lt;')
      .replace(/>/g, '&gt;')
      .replace(/"/g, '&quot;')
      .replace(/'/g, '&apos;')
  );
}

interface Case {
  name: string;
  classname: string;
  file: string;
  line: number;
  body: string;
  failed: boolean;
  errored: boolean;
  skipped: boolean;
}

/** Renders the JUnit XML report. */
export function formatJunit(
  reports: readonly ResourceReport[],
  inputErrors: readonly ManifestError[],
  suiteName = 'tollgate',
): string {
  const byFile = new Map<string, Case[]>();
  const add = (file: string, testCase: Case): void => {
    const list = byFile.get(file) ?? [];
    list.push(testCase);
    byFile.set(file, list);
  };
  for (const error of inputErrors) {
    add(error.file, {
      name: `read ${error.file}`,
      classname: 'input',
      file: error.file,
      line: error.line,
      body: `<error message="${escapeXml(error.message)}" type="input-error">${escapeXml(`${error.file}:${error.line}:${error.column}: ${error.message}`)}</error>`,
      failed: false,
      errored: true,
      skipped: false,
    });
  }
  for (const report of reports) {
    const label = objectLabel(report.object);
    for (const result of report.results) {
      const name = `${label} ${result.policy}`;
      const classname = `${report.file}#${report.documentIndex}`;
      const denials = result.findings.filter((f) => f.action === 'deny');
      const others = result.findings.filter((f) => f.action === 'warn' || f.action === 'audit');
      const lines = result.findings.map(
        (f) => `${f.file}:${f.line}:${f.column} ${f.action} ${f.path}: ${f.message}\nfix: ${f.fix}`,
      );
      let body = '';
      let failed = false;
      let errored = false;
      let skipped = false;
      if (result.status === 'error') {
        const message = `could not evaluate: ${result.reason ?? 'unknown error'}`;
        if (result.action === 'deny') {
          errored = true;
          body = `<error message="${escapeXml(message)}" type="policy-error">${escapeXml(message)}</error>`;
        } else body = `<system-out>${escapeXml(`${result.action}: ${message}`)}</system-out>`;
      } else if (denials.length > 0) {
        failed = true;
        const first = denials[0]!;
        body = `<failure message="${escapeXml(`${first.path}: ${first.message}`)}" type="deny">${escapeXml(lines.join('\n\n'))}</failure>`;
      } else if (result.status === 'skip') {
        skipped = true;
        body = `<skipped message="${escapeXml(result.reason ?? 'skipped')}"/>`;
      } else if (others.length > 0) {
        body = `<system-out>${escapeXml(lines.join('\n\n'))}</system-out>`;
      }
      add(report.file, {
        name,
        classname,
        file: report.file,
        line: report.line,
        body,
        failed,
        errored,
        skipped,
      });
    }
  }
  const suites: string[] = [];
  let total = 0;
  let failures = 0;
  let errors = 0;
  let skippedTotal = 0;
  for (const [file, cases] of byFile) {
    const f = cases.filter((c) => c.failed).length;
    const e = cases.filter((c) => c.errored).length;
    const s = cases.filter((c) => c.skipped).length;
    total += cases.length;
    failures += f;
    errors += e;
    skippedTotal += s;
    const body = cases
      .map(
        (c) =>
          `    <testcase name="${escapeXml(c.name)}" classname="${escapeXml(c.classname)}" file="${escapeXml(c.file)}" line="${c.line}" time="0">${c.body ? `\n      ${c.body}\n    ` : ''}</testcase>`,
      )
      .join('\n');
    suites.push(
      `  <testsuite name="${escapeXml(file)}" tests="${cases.length}" failures="${f}" errors="${e}" skipped="${s}" time="0">\n${body}\n  </testsuite>`,
    );
  }
  return `<?xml version="1.0" encoding="UTF-8"?>\n<testsuites name="${escapeXml(suiteName)}" tests="${total}" failures="${failures}" errors="${errors}" skipped="${skippedTotal}" time="0">\n${suites.join('\n')}\n</testsuites>\n`;
}
