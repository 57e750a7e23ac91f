/**
 * GitHub's limits: code scanning rejects a SARIF run with more than 25,000 results, and a step shows
 * at most 10 annotations per level (the failure message included) and drops the rest silently.
 * Through `tollgate check --format sarif|github` on generated manifests and the pure planners.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { main } from '../../../cli/main.ts';
import { loadBundleFile } from '../../../io/bundle-file.ts';
import { codeScanningErrors, sarifSchemaErrors } from '../../../test/support/sarif-validator.ts';
import { parseCommands, repoRoot } from '../../../test/support/run-action.ts';
import { ANNOTATION_LIMIT, planAnnotations } from './github.ts';
import { fingerprintOf } from './issues.ts';
import type { Issue } from './issues.ts';
import { SARIF_RESULT_LIMIT, buildSarif } from './sarif.ts';
import type { SarifLog } from './sarif.ts';

let dir = '';
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'tollgate-limits-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function check(...args: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const code = await main(['check', '--now', '2026-11-22T12:00:00Z', ...args], {
    stdout: (t) => (out += t),
    stderr: (t) => (err += t),
    stdin: async () => '',
    cwd: dir,
    env: {},
  });
  return { code, out, err };
}

/** `count` Deployments with `containers` containers each, all from an unapproved registry. */
function deployments(count: number, containers: number): string {
  const docs: string[] = [];
  for (let i = 0; i < count; i++) {
    const list = Array.from(
      { length: containers },
      (_, c) => `        - { name: c${c}, image: "docker.io/library/app${c}:latest" }`,
    );
    docs.push(
      [
        'apiVersion: apps/v1',
        'kind: Deployment',
        `metadata: { name: app-${i}, namespace: tenant-acme }`,
        'spec:',
        `  selector: { matchLabels: { app: app-${i} } }`,
        '  template:',
        `    metadata: { labels: { app: app-${i} } }`,
        '    spec:',
        '      containers:',
        ...list,
      ].join('\n'),
    );
  }
  return `${docs.join('\n---\n')}\n`;
}

function issue(action: Issue['action'], n: number): Issue {
  const object = { apiVersion: 'apps/v1', kind: 'Deployment', namespace: 'tenant-acme', name: `app-${n}` };
  const path = 'spec.template.spec.containers[0].image';
  return {
    kind: 'finding',
    policy: 'approved-registries',
    action,
    file: 'k8s/a.yaml',
    line: n + 1,
    column: 1,
    endLine: n + 1,
    endColumn: 10,
    object,
    path,
    message: 'image is not approved',
    fingerprint: fingerprintOf('k8s/a.yaml', object, 'approved-registries', path),
  };
}

describe('SARIF: at most 25,000 results per run', () => {
  it('keeps denials, then warnings, then notes, and says in a notification how many were left out', async () => {
    const bundle = await loadBundleFile(undefined, repoRoot);
    // notes first in report order, then warnings, then denials: the cap must reorder them
    const issues = [
      ...Array.from({ length: SARIF_RESULT_LIMIT - 3 }, (_, n) => issue('audit', n)),
      ...Array.from({ length: 4 }, (_, n) => issue('warn', n)),
      ...Array.from({ length: 2 }, (_, n) => issue('deny', n)),
    ];
    const log = buildSarif(issues, bundle, { cwd: dir, executionSuccessful: true });
    const run = log.runs[0]!;
    expect(run.results).toHaveLength(SARIF_RESULT_LIMIT);
    expect(run.results.slice(0, 7).map((r) => r.level)).toEqual([
      'error',
      'error',
      'warning',
      'warning',
      'warning',
      'warning',
      'note',
    ]);
    expect(run.results.filter((r) => r.level === 'note')).toHaveLength(SARIF_RESULT_LIMIT - 6);
    expect(run.invocations[0]!.toolExecutionNotifications).toEqual([
      {
        descriptor: { id: 'results-left-out' },
        level: 'warning',
        message: {
          text: expect.stringMatching(
            /^SARIF: 3 of 25,003 results left out \(0 error\(s\), 0 warning\(s\), 3 note\(s\)\)/,
          ),
        },
      },
    ]);
    expect(run.properties?.resultsLeftOut).toEqual({ deny: 0, warn: 0, audit: 3 });
    expect(sarifSchemaErrors(log)).toEqual([]);
    expect(codeScanningErrors(log)).toEqual([]);
  });

  it('leaves a run at the limit whole, without a notification', async () => {
    const bundle = await loadBundleFile(undefined, repoRoot);
    const issues = Array.from({ length: SARIF_RESULT_LIMIT }, (_, n) => issue('warn', n));
    const run = buildSarif(issues, bundle, { cwd: dir, executionSuccessful: true }).runs[0]!;
    expect(run.results).toHaveLength(SARIF_RESULT_LIMIT);
    expect(run.invocations[0]!.toolExecutionNotifications).toBeUndefined();
    expect(run.properties?.resultsLeftOut).toBeUndefined();
  });

  it('tollgate check --format sarif on 1,000 Deployments of 10 containers: 25,000 denials and a summary line', async () => {
    await writeFile(join(dir, 'many.yaml'), deployments(1000, 10));
    const { code, out, err } = await check('many.yaml', '--format', 'sarif');
    expect(code).toBe(1);
    const log = JSON.parse(out) as SarifLog;
    const run = log.runs[0]!;
    expect(run.results).toHaveLength(SARIF_RESULT_LIMIT);
    expect(run.results.every((r) => r.level === 'error')).toBe(true);
    const leftOut = run.properties?.resultsLeftOut as { deny: number; warn: number; audit: number };
    expect(leftOut.deny).toBeGreaterThan(0);
    const total = SARIF_RESULT_LIMIT + leftOut.deny + leftOut.warn + leftOut.audit;
    const line = run.invocations[0]!.toolExecutionNotifications![0]!.message.text;
    expect(line).toContain(
      `${(total - SARIF_RESULT_LIMIT).toLocaleString('en-US')} of ${total.toLocaleString('en-US')} results left out`,
    );
    expect(err).toBe(`tollgate: ${line}\n`);
    expect(codeScanningErrors(log)).toEqual([]);
  }, 180_000);
});

describe('annotations: at most 10 per level per step, the failure message included', () => {
  const inputErrors = Array.from({ length: 12 }, (_, n) => ({
    file: `bad-${n}.yaml`,
    line: 1,
    column: 1,
    message: 'not YAML',
  }));

  it('a failing step plans 9 errors, input errors first, and names the rest in the last one', () => {
    const plan = planAnnotations([issue('deny', 1), issue('warn', 2)], { inputErrors, failing: true });
    const errors = plan.annotations.filter((a) => a.level === 'error');
    expect(errors).toHaveLength(ANNOTATION_LIMIT - 1);
    expect(errors.map((a) => a.file)).toEqual(inputErrors.slice(0, 9).map((e) => e.file));
    expect(errors[8]!.message).toContain('… and 4 more errors not shown as annotations');
    expect(plan.omitted).toEqual({ error: 4, warning: 0, notice: 0 });
    expect(plan.annotations.filter((a) => a.level === 'warning')).toHaveLength(1);
  });

  it('a passing step plans all 10', () => {
    const issues = Array.from({ length: 12 }, (_, n) => issue('deny', n));
    const plan = planAnnotations(issues);
    expect(plan.annotations).toHaveLength(ANNOTATION_LIMIT);
    expect(plan.omitted.error).toBe(2);
  });

  it('tollgate check --format github with 12 unreadable files: 9 error commands, room for the exit code', async () => {
    const files = await Promise.all(
      Array.from({ length: 12 }, async (_, n) => {
        const file = `broken-${String(n).padStart(2, '0')}.yaml`;
        await writeFile(join(dir, file), 'apiVersion: v1\nkind: ConfigMap\nmetadata: [unclosed\n');
        return file;
      }),
    );
    const { code, out } = await check(...files, '--format', 'github');
    expect(code).toBe(2);
    const errors = parseCommands(out).filter((c) => c.command === 'error');
    expect(errors).toHaveLength(ANNOTATION_LIMIT - 1);
    expect(errors.every((e) => e.properties.title === 'tollgate: input error')).toBe(true);
    expect(errors[8]!.message).toContain('… and 3 more errors not shown as annotations');
  });
});
