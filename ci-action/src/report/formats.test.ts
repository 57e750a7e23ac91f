/**
 * `tollgate check --format text|json|sarif|junit|github` on the repository examples, in process,
 * plus the pure pieces: workflow-command escaping, annotation ranking and caps, SARIF validity,
 * JUnit structure and the job summary's size cap.
 */
import { readFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { main } from '../../../cli/main.ts';
import { builtinPolicies } from '../../../policies/index.ts';
import { parseDiffHunks } from '../gate/git.ts';
import { codeScanningErrors, sarifSchemaErrors } from '../../../test/support/sarif-validator.ts';
import { parseCommands, repoRoot } from '../../../test/support/run-action.ts';
import { escapeData, escapeProperty, formatWorkflowCommand, planAnnotations, rankIssues } from './github.ts';
import { fingerprintOf } from './issues.ts';
import type { Issue } from './issues.ts';
import { escapeXml } from './junit.ts';
import { buildSummary, cell, lineLink } from './summary.ts';
import { loadBundleFile } from '../../../io/bundle-file.ts';

async function check(...args: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const code = await main(['check', '--now', '2026-11-22T12:00:00Z', ...args], {
    stdout: (t) => (out += t),
    stderr: (t) => (err += t),
    stdin: async () => '',
    cwd: repoRoot,
    env: {},
  });
  return { code, out, err };
}

function issue(overrides: Partial<Issue>): Issue {
  const base: Issue = {
    kind: 'finding',
    policy: 'approved-registries',
    action: 'deny',
    file: 'k8s/a.yaml',
    line: 10,
    column: 11,
    endLine: 10,
    endColumn: 30,
    object: { apiVersion: 'apps/v1', kind: 'Deployment', namespace: 'tenant-acme', name: 'odoo' },
    path: 'spec.template.spec.containers[0].image',
    message: 'image "x" is not approved',
    fix: 'use y',
    fingerprint: '',
  };
  const merged = { ...base, ...overrides };
  merged.fingerprint = fingerprintOf(merged.file, merged.object, merged.policy, merged.path);
  return merged;
}

describe('--format', () => {
  it('rejects an unknown format naming the accepted ones', async () => {
    const { code, err } = await check('examples/', '--format', 'xml');
    expect(code).toBe(2);
    expect(err).toContain('--format must be one of text, json, sarif, junit, github');
  });

  it('sarif: valid against the SARIF 2.1.0 schema and GitHub code scanning requirements', async () => {
    const { code, out } = await check('examples/', '--format', 'sarif');
    expect(code).toBe(1);
    const log = JSON.parse(out) as {
      runs: Array<{
        tool: {
          driver: {
            version: string;
            rules: Array<{ id: string; help: { text: string }; properties: { version?: string } }>;
          };
        };
        automationDetails: { id: string };
        results: Array<{
          ruleId: string;
          level: string;
          partialFingerprints: Record<string, string>;
          locations: Array<{
            physicalLocation: { artifactLocation: { uri: string }; region: Record<string, number> };
          }>;
        }>;
      }>;
    };
    expect(sarifSchemaErrors(log)).toEqual([]);
    expect(codeScanningErrors(log)).toEqual([]);
    const run = log.runs[0]!;
    expect(run.tool.driver.version).toBe('0.1.0');
    expect(run.automationDetails.id).toBe('tollgate/finance-baseline/');
    const rule = run.tool.driver.rules.find((r) => r.id === 'approved-registries');
    expect(rule?.help.text).toMatch(/approved prefixes/);
    expect(rule?.properties.version).toBe(
      builtinPolicies.find((p) => p.id === 'approved-registries')?.version,
    );
    const images = run.results.filter(
      (r) =>
        r.ruleId === 'approved-registries' &&
        r.locations[0]!.physicalLocation.artifactLocation.uri ===
          'examples/denied/odoo-unapproved-images.yaml',
    );
    expect(images.map((r) => [r.ruleId, r.level, r.locations[0]!.physicalLocation.region])).toEqual([
      ['approved-registries', 'error', { startLine: 18, startColumn: 11, endLine: 18, endColumn: 61 }],
      ['approved-registries', 'error', { startLine: 27, startColumn: 11, endLine: 27, endColumn: 27 }],
    ]);
    const fingerprints = run.results.map((r) => r.partialFingerprints['tollgateFinding/v1']);
    expect(new Set(fingerprints).size).toBe(run.results.length);
    expect(
      run.results
        .filter((r) => r.level === 'error')
        .every((r) => !r.locations[0]!.physicalLocation.artifactLocation.uri.includes('allowed/')),
    ).toBe(true);
  });

  it('sarif: a schema violation is caught by the validator (the check can fail)', () => {
    expect(sarifSchemaErrors({ version: '2.1.0', runs: [{ results: [] }] })).not.toEqual([]);
    expect(
      codeScanningErrors({
        version: '2.1.0',
        runs: [{ tool: { driver: { name: 'x', rules: [] } }, results: [{ ruleId: 'nope' }] }],
      }),
    ).toContain('result 0: ruleId not among the rules');
  });

  it('junit: one testsuite per file, one testcase per resource × policy, failures for denials', async () => {
    const policies = (await loadBundleFile(undefined, repoRoot)).policies.length;
    const { code, out } = await check('examples/', '--format', 'junit');
    expect(code).toBe(1);
    expect(out.startsWith('<?xml version="1.0" encoding="UTF-8"?>')).toBe(true);
    const suites = [...out.matchAll(/<testsuite name="([^"]+)" tests="(\d+)" failures="(\d+)"/g)];
    expect(suites.length).toBeGreaterThanOrEqual(2);
    for (const [, file, tests, failures] of suites) {
      // Allowed examples have no failure; every denied example fails at least one test case.
      if (file!.startsWith('examples/allowed/')) expect(failures).toBe('0');
      else expect(Number(failures)).toBeGreaterThan(0);
      expect(Number(tests) % policies).toBe(0);
    }
    expect(suites.map((m) => m[1])).toContain('examples/denied/odoo-unapproved-images.yaml');
    const { out: json } = await check('examples/', '--format', 'json');
    const resources = (JSON.parse(json) as { resources: unknown[] }).resources.length;
    expect(out.match(/<testcase /g)).toHaveLength(resources * policies);
    expect(out).toMatch(
      /<failure message="spec.template.spec.initContainers\[0\].image: image &quot;registry.corp.example.evil.io/,
    );
    expect(escapeXml('a<b & "c"\u0001')).toBe('a&lt;b &amp; &quot;c&quot;');
  });

  it('github: workflow commands on the exact lines, then a closing line', async () => {
    const { code, out } = await check('examples/', '--format', 'github');
    expect(code).toBe(1);
    const commands = parseCommands(out).filter(
      (c) =>
        c.properties.file === 'examples/denied/odoo-unapproved-images.yaml' &&
        c.properties.title === 'tollgate deny: approved-registries',
    );
    expect(
      commands.map((c) => [c.command, c.properties.line, c.properties.col, c.properties.endColumn]),
    ).toEqual([
      ['error', '18', '11', '61'],
      ['error', '27', '11', '27'],
    ]);
    const lines = (await readFile(`${repoRoot}/examples/denied/odoo-unapproved-images.yaml`, 'utf8')).split(
      '\n',
    );
    expect(lines[17]!.slice(10, 60)).toBe('image: registry.corp.example.evil.io/erp/odoo:17.0');
    expect(out.trimEnd().split('\n').at(-1)).toMatch(
      /^tollgate: \d+ file\(s\), \d+ resource\(s\): \d+ denied/,
    );
  });

  it('json keeps the documented shape', async () => {
    const { out } = await check('examples/', '--format', 'json');
    const report = JSON.parse(out) as {
      summary: { denied: number };
      resources: Array<{ file: string; decision: string }>;
    };
    expect(report.summary.denied).toBe(report.resources.filter((r) => r.decision === 'deny').length);
    expect(
      report.resources
        .filter((r) => r.file.startsWith('examples/denied/'))
        .every((r) => r.decision === 'deny'),
    ).toBe(true);
  });
});

describe('workflow-command escaping', () => {
  it('escapes %, CR and LF in messages and also : and , in properties', () => {
    expect(escapeData('100% done\r\nnext')).toBe('100%25 done%0D%0Anext');
    expect(escapeProperty('a:b,c%\n')).toBe('a%3Ab%2Cc%25%0A');
    const text = formatWorkflowCommand({
      level: 'warning',
      file: 'dir,x/a:b.yaml',
      line: 3,
      endLine: 4,
      column: 5,
      endColumn: 6,
      title: 'tollgate warn: p',
      message: 'line1\nline2 50%',
    });
    expect(text).toBe(
      '::warning file=dir%2Cx/a%3Ab.yaml,line=3,endLine=4,col=5,endColumn=6,title=tollgate warn%3A p::line1%0Aline2 50%25',
    );
    const [parsed] = parseCommands(text);
    expect(parsed?.properties.file).toBe('dir,x/a:b.yaml');
    expect(parsed?.message).toBe('line1\nline2 50%');
  });
});

describe('annotation ranking and caps', () => {
  it('ranks deny before warn, new before pre-existing, changed lines before others', () => {
    const ranked = rankIssues(
      [
        issue({ action: 'warn', file: 'a.yaml', line: 1 }),
        issue({ file: 'b.yaml', line: 5, baseline: 'existing' }),
        issue({ file: 'c.yaml', line: 9, baseline: 'new' }),
        issue({ file: 'd.yaml', line: 2, baseline: 'new' }),
      ],
      new Map([['d.yaml', new Set([2])]]),
    );
    expect(ranked.map((i) => i.file)).toEqual(['d.yaml', 'c.yaml', 'b.yaml', 'a.yaml']);
  });

  it('caps each level at 10 and names the rest in the last annotation of that level', () => {
    const issues = [
      ...Array.from({ length: 12 }, (_, i) => issue({ line: i + 1, path: `p${i}` })),
      ...Array.from({ length: 11 }, (_, i) => issue({ action: 'warn', line: i + 1, path: `w${i}` })),
      issue({ action: 'audit' }),
    ];
    const plan = planAnnotations(issues);
    expect(plan.omitted).toEqual({ error: 2, warning: 1, notice: 0 });
    const errors = plan.annotations.filter((a) => a.level === 'error');
    const warnings = plan.annotations.filter((a) => a.level === 'warning');
    expect(errors).toHaveLength(10);
    expect(warnings).toHaveLength(10);
    expect(errors[9]!.message).toContain('… and 2 more errors not shown');
    expect(warnings[9]!.message).toContain('… and 1 more warning not shown');
    expect(plan.annotations.filter((a) => a.level === 'notice')[0]!.message).not.toContain('more');
  });

  it('ends a multi-line span that stops at column 1 on the line before', () => {
    const [annotation] = planAnnotations([issue({ line: 13, endLine: 15, endColumn: 1 })]).annotations;
    expect([annotation?.line, annotation?.endLine]).toEqual([13, 14]);
  });

  it('fingerprints ignore lines but not the path or object', () => {
    expect(issue({ line: 1 }).fingerprint).toBe(issue({ line: 99 }).fingerprint);
    expect(issue({ path: 'x' }).fingerprint).not.toBe(issue({}).fingerprint);
    expect(issue({ object: { apiVersion: 'v1', kind: 'Pod', name: 'odoo' } }).fingerprint).not.toBe(
      issue({}).fingerprint,
    );
  });
});

describe('git diff hunks', () => {
  it('reads the new-side lines of added and changed hunks per file', () => {
    const diff = [
      'diff --git a/k8s/a.yaml b/k8s/a.yaml',
      '--- a/k8s/a.yaml',
      '+++ b/k8s/a.yaml',
      '@@ -3,0 +4,2 @@',
      '+x',
      '+y',
      '@@ -10 +12 @@',
      '-a',
      '+b',
      '@@ -20,3 +21,0 @@',
      'diff --git a/gone.yaml b/gone.yaml',
      '--- a/gone.yaml',
      '+++ /dev/null',
      '@@ -1,2 +0,0 @@',
    ].join('\n');
    const lines = parseDiffHunks(diff);
    expect([...(lines.get('k8s/a.yaml') ?? [])]).toEqual([4, 5, 12]);
    expect(lines.has('gone.yaml')).toBe(false);
  });
});

describe('job summary', () => {
  it('links to the lines and stays under the byte budget, saying how many rows it dropped', async () => {
    const bundle = await loadBundleFile(undefined, repoRoot);
    const issues = Array.from({ length: 3000 }, (_, i) =>
      issue({ file: `k8s/file-${i}.yaml`, line: i + 1, endLine: i + 2, message: 'x'.repeat(300) }),
    );
    const markdown = buildSummary({
      bundle,
      now: new Date('2026-11-22T12:00:00Z'),
      reports: [],
      inputErrors: [],
      issues,
      failed: true,
      failOn: 'deny',
      links: { server: 'https://github.com', repository: 'acme/erp', sha: 'abc', prefix: '' },
      limitBytes: 200_000,
    });
    expect(new TextEncoder().encode(markdown).length).toBeLessThanOrEqual(200_000);
    const shown = markdown.match(/^\| :x: deny/gm)?.length ?? 0;
    expect(shown).toBeGreaterThan(100);
    expect(shown).toBeLessThan(3000);
    expect(markdown).toContain(`${3000 - shown} more finding(s) not shown`);
    expect(markdown).toContain('(https://github.com/acme/erp/blob/abc/k8s/file-0.yaml#L1-L2)');
  });

  it('lists the exemptions and break-glass approvals that were used, and expired exemptions', async () => {
    const bundle = await loadBundleFile(undefined, repoRoot);
    const report = (name: string, result: Record<string, unknown>) => ({
      object: { apiVersion: 'apps/v1', kind: 'Deployment', namespace: 'tenant-acme', name },
      operation: 'CREATE' as const,
      point: 'ci' as const,
      bundle: bundle.identity,
      decision: 'allow' as const,
      file: 'k8s/a.yaml',
      documentIndex: 0,
      line: 1,
      results: [
        {
          policy: 'resource-limits',
          version: '1.0.0',
          status: 'skip' as const,
          action: 'deny' as const,
          findings: [],
          ...result,
        },
      ],
    });
    const markdown = buildSummary({
      bundle,
      now: new Date('2026-11-22T12:00:00Z'),
      reports: [
        report('legacy', {
          exemption: { ticket: 'CHG-1234', reason: 'legacy batch', expires: '2027-01-31' },
        }),
        report('hotfix', {
          status: 'pass',
          records: [
            {
              kind: 'break-glass',
              data: {
                ticket: 'INC-9',
                requester: 'alice',
                approvers: ['bob', 'carol'],
                reason: 'payment outage',
                expires: '2026-11-23T00:00:00.000Z',
              },
            },
          ],
        }),
        report('old', {
          status: 'pass',
          expiredExemptions: [{ ticket: 'CHG-1', reason: 'r', expires: '2026-01-01' }],
        }),
      ],
      inputErrors: [],
      issues: [],
      failed: false,
      failOn: 'deny',
    });
    expect(markdown).toContain('### Exemptions and break-glass approvals used');
    expect(markdown).toContain(
      '| exemption | resource-limits | Deployment/legacy in tenant-acme | CHG-1234 | legacy batch | 2027-01-31 |',
    );
    expect(markdown).toContain(
      '| break-glass | resource-limits | Deployment/hotfix in tenant-acme | INC-9 (requested by alice; approved by bob, carol) | payment outage | 2026-11-23T00:00:00.000Z |',
    );
    expect(markdown).toContain('| resource-limits | Deployment/old in tenant-acme | CHG-1 | 2026-01-01 |');
  });

  it('escapes table cells and does not link stdin or rendered streams', () => {
    expect(cell('a|b\nc<d>')).toBe('a\\|b<br>c&lt;d&gt;');
    const links = { server: 'https://github.com', repository: 'acme/erp', sha: 'abc', prefix: 'infra/' };
    expect(lineLink({ file: '-', line: 3, endLine: 3 }, links)).toBe('-:3');
    expect(lineLink({ file: 'helm:charts/x', line: 3, endLine: 3 }, links)).toBe('helm:charts/x:3');
    expect(lineLink({ file: 'a b.yaml', line: 3, endLine: 3 }, links)).toBe(
      '[a b.yaml:3](https://github.com/acme/erp/blob/abc/infra/a%20b.yaml#L3)',
    );
  });
});
