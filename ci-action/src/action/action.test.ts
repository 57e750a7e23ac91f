/**
 * The built action, run as the runner runs it (node ci-action/dist/index.js with INPUT_* variables
 * and real GITHUB_STEP_SUMMARY / GITHUB_OUTPUT files): annotations on the right lines (checked
 * against the files), summary, outputs, SARIF validity and exit codes, with and without a baseline.
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parsePath } from '../../../policies/index.ts';
import { codeScanningErrors, sarifSchemaErrors } from '../../../test/support/sarif-validator.ts';
import { repoRoot, runAction } from '../../../test/support/run-action.ts';
import type { ActionRun, WorkflowCommand } from '../../../test/support/run-action.ts';

const NOW = '2026-11-22T12:00:00Z';
const temps: string[] = [];
afterAll(async () => {
  await Promise.all(temps.map((dir) => rm(dir, { recursive: true, force: true })));
});

async function tempDir(prefix: string): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), prefix));
  temps.push(dir);
  return dir;
}

async function put(root: string, files: Record<string, string>): Promise<void> {
  for (const [path, text] of Object.entries(files)) {
    await mkdir(dirname(join(root, path)), { recursive: true });
    await writeFile(join(root, path), text);
  }
}

function git(cwd: string, ...args: string[]): string {
  return execFileSync(
    'git',
    ['-c', 'user.name=t', '-c', 'user.email=t@example.test', '-c', 'commit.gpgsign=false', ...args],
    {
      cwd,
      encoding: 'utf8',
    },
  ).trim();
}

async function repo(files: Record<string, string>): Promise<{ dir: string; base: string }> {
  const dir = await tempDir('tollgate-repo-');
  git(dir, 'init', '-q', '-b', 'main');
  await put(dir, files);
  git(dir, 'add', '.');
  git(dir, 'commit', '-q', '-m', 'base');
  return { dir, base: git(dir, 'rev-parse', 'HEAD') };
}

async function commit(dir: string, files: Record<string, string>): Promise<void> {
  await put(dir, files);
  git(dir, 'add', '.');
  git(dir, 'commit', '-q', '-m', 'change');
}

/** A pull-request event payload file, as the runner provides it. */
async function prEvent(dir: string, base: string): Promise<Record<string, string>> {
  const head = git(dir, 'rev-parse', 'HEAD');
  const file = join(await tempDir('tollgate-event-'), 'event.json');
  await writeFile(
    file,
    JSON.stringify({ pull_request: { number: 7, base: { sha: base }, head: { sha: head } } }),
  );
  return { GITHUB_EVENT_PATH: file, GITHUB_EVENT_NAME: 'pull_request' };
}

const bundle = (action = 'deny'): string => `apiVersion: tollgate.dev/v1
kind: PolicyBundle
metadata: { name: test-gate, version: 2.3.4 }
spec:
  policies:
    approved-registries:
      enforcement: ${action}
      registries: [registry.corp.example/erp]
`;

function deployment(name: string, images: string[]): string {
  return `apiVersion: apps/v1
kind: Deployment
metadata:
  name: ${name}
  namespace: tenant-acme
spec:
  selector:
    matchLabels: { app: ${name} }
  template:
    metadata:
      labels: { app: ${name} }
    spec:
      containers:
${images.map((image, i) => `        - name: c${i}\n          image: ${image}\n`).join('')}`;
}

/** Checks an annotation against the file: its line holds the `image:` field at its column, naming the value. */
async function expectOnImageField(root: string, annotation: WorkflowCommand): Promise<string> {
  const { file, line, col, endLine, endColumn } = annotation.properties;
  expect(file).toBeDefined();
  const lines = (await readFile(join(root, file!), 'utf8')).split('\n');
  const text = lines[Number(line) - 1] ?? '';
  expect(endLine).toBe(line);
  expect(text.slice(Number(col) - 1)).toMatch(/^image: /);
  const value = text.slice(Number(col) - 1 + 'image: '.length, Number(endColumn) - 1);
  expect(value.length).toBeGreaterThan(0);
  expect(annotation.message).toContain(`"${value}"`);
  return value;
}

function errorsOf(run: ActionRun): WorkflowCommand[] {
  return run.annotations.filter((a) => a.command === 'error');
}

describe('the built action on the repository examples', () => {
  it('annotates the exact lines, writes summary, SARIF and outputs, and fails on the denial', async () => {
    const out = await tempDir('tollgate-out-');
    const sarifFile = join(out, 'tollgate.sarif');
    const run = await runAction(repoRoot, {
      paths: 'examples/',
      now: NOW,
      'sarif-file': sarifFile,
      token: '',
    });
    expect(run.stderr).toBe('');
    expect(run.status).toBe(1);
    const report = JSON.parse(await readFile(run.outputs.report!, 'utf8')) as {
      summary: { denied: number };
      issues: Array<{ file: string; line: number; column: number; path: string; action: string }>;
    };
    const denies = report.issues.filter((i) => i.action === 'deny');
    const errors = errorsOf(run);
    expect(errors).toHaveLength(Math.min(10, denies.length));
    // Every annotation sits on the offending field: the key its path ends with (or the list item).
    for (const annotation of run.annotations) {
      const { file, line, col } = annotation.properties;
      const issue = report.issues.find(
        (i) => i.file === file && String(i.line) === line && String(i.column) === col,
      );
      expect(issue, `annotation ${file}:${line}:${col} has no finding`).toBeDefined();
      const text = (await readFile(join(repoRoot, file!), 'utf8')).split('\n')[Number(line) - 1] ?? '';
      const last = parsePath(issue!.path).at(-1);
      const at = text.slice(Number(col) - 1);
      if (typeof last === 'string')
        expect(at.startsWith(`${last}:`) || at.startsWith(`"${last}":`)).toBe(true);
      else expect(at.length).toBeGreaterThan(0);
    }
    expect(errors.every((e) => e.properties.file!.startsWith('examples/denied/'))).toBe(true);
    const images = errors.filter((e) => e.properties.title === 'tollgate deny: approved-registries');
    expect(images.map((e) => [e.properties.file, e.properties.line])).toEqual([
      ['examples/denied/odoo-unapproved-images.yaml', '18'],
      ['examples/denied/odoo-unapproved-images.yaml', '27'],
    ]);
    const values = [];
    for (const error of images) values.push(await expectOnImageField(repoRoot, error));
    expect(values).toEqual(['registry.corp.example.evil.io/erp/odoo:17.0', 'odoo:17.0']);
    expect(
      run.commands.some(
        (c) => c.command === 'error' && !c.properties.file && /tollgate denied: \d+ finding/.test(c.message),
      ),
    ).toBe(true);

    const bundleBytes = await readFile(join(repoRoot, 'bundles/finance-baseline.yaml'));
    const digest = `sha256:${createHash('sha256').update(bundleBytes).digest('hex')}`;
    expect(run.summary).toContain(`Bundle **finance-baseline** 1.0.0 \`${digest}\``);
    expect(run.summary).toContain(`:x: **tollgate denied this change** (${denies.length} denials)`);
    expect(run.summary).toMatch(/\| approved-registries \| deny \| \d+ \| \d+ \| \d+ \| \d+ \|/);
    expect(run.summary).toContain(
      '(https://github.com/acme/erp-platform/blob/0123456789abcdef0123456789abcdef01234567/examples/denied/odoo-unapproved-images.yaml#L18)',
    );

    expect(run.outputs).toMatchObject({
      deny: String(denies.length),
      denied: String(report.summary.denied),
      'new-denials': String(denies.length),
      failed: 'true',
    });
    expect(run.outputs['sarif-file']).toBe(sarifFile);
    const sarif = JSON.parse(await readFile(sarifFile, 'utf8')) as unknown;
    expect(sarifSchemaErrors(sarif)).toEqual([]);
    expect(codeScanningErrors(sarif)).toEqual([]);
  });

  it('passes with exit 0 and no error annotations on the allowed examples', async () => {
    const run = await runAction(repoRoot, { paths: 'examples/allowed', now: NOW, token: '' });
    expect(run.status).toBe(0);
    expect(errorsOf(run)).toEqual([]);
    expect(run.outputs).toMatchObject({ deny: '0', denied: '0', 'new-denials': '0', failed: 'false' });
    expect(run.summary).toContain(':white_check_mark: **tollgate passed**');
  });

  it('rejects a bad input with a message naming the input and the accepted values', async () => {
    const run = await runAction(repoRoot, { paths: 'examples/', 'fail-on': 'block', token: '' });
    expect(run.status).toBe(1);
    expect(run.commands).toContainEqual(
      expect.objectContaining({ command: 'error', message: 'input "fail-on": "block" is not deny or warn' }),
    );
  });
});

describe('baseline: only new denials fail', () => {
  it('classifies by fingerprint (not line), fails on the new denial only, and ranks it first', async () => {
    const { dir, base } = await repo({
      'tollgate.yaml': bundle(),
      'k8s/legacy.yaml': deployment('legacy', ['docker.io/library/odoo:15']),
    });
    git(dir, 'checkout', '-q', '-b', 'feature');
    // Lines move in the legacy file (a comment on top) but its denial stays the same finding.
    await commit(dir, {
      'k8s/legacy.yaml': `# moved down by a comment\n${deployment('legacy', ['docker.io/library/odoo:15'])}`,
      'k8s/new.yaml': deployment('fresh', ['registry.corp.example/erp/odoo:17', 'quay.io/evil/odoo:17']),
    });
    const run = await runAction(dir, {
      paths: 'k8s',
      bundle: 'tollgate.yaml',
      baseline: base,
      now: NOW,
      token: '',
    });
    expect(run.status).toBe(1);
    const errors = errorsOf(run);
    expect(errors.map((e) => [e.properties.file, e.properties.line])).toEqual([
      ['k8s/new.yaml', '17'],
      ['k8s/legacy.yaml', '16'],
    ]);
    expect(errors[0]!.properties.title).toBe('tollgate deny: approved-registries (new, changed line)');
    expect(errors[1]!.properties.title).toBe('tollgate deny: approved-registries (pre-existing)');
    for (const error of errors) await expectOnImageField(dir, error);
    expect(run.outputs).toMatchObject({ deny: '2', denied: '2', 'new-denials': '1', failed: 'true' });
    expect(run.summary).toContain('1 new, 1 pre-existing finding(s)');
    expect(run.commands.find((c) => c.command === 'error' && !c.properties.file)?.message).toMatch(
      /1 new finding\(s\) at deny/,
    );
  });

  it('passes a pull request that only keeps pre-existing denials', async () => {
    const { dir, base } = await repo({
      'tollgate.yaml': bundle(),
      'k8s/legacy.yaml': deployment('legacy', ['docker.io/library/odoo:15']),
    });
    await commit(dir, { 'k8s/ok.yaml': deployment('ok', ['registry.corp.example/erp/odoo:17']) });
    const run = await runAction(dir, {
      paths: 'k8s',
      bundle: 'tollgate.yaml',
      baseline: base,
      now: NOW,
      token: '',
    });
    expect(run.status).toBe(0);
    expect(run.outputs).toMatchObject({ denied: '1', 'new-denials': '0', failed: 'false' });
    // Without the baseline the same tree fails.
    const strict = await runAction(dir, { paths: 'k8s', bundle: 'tollgate.yaml', now: NOW, token: '' });
    expect(strict.status).toBe(1);
  });

  it('says actionably when the baseline ref is missing', async () => {
    const { dir } = await repo({
      'tollgate.yaml': bundle(),
      'k8s/a.yaml': deployment('a', ['registry.corp.example/erp/a:1']),
    });
    const run = await runAction(dir, {
      paths: 'k8s',
      bundle: 'tollgate.yaml',
      baseline: 'deadbeef',
      token: '',
    });
    expect(run.status).toBe(1);
    expect(run.stdout).toContain('fetch-depth: 0');
  });
});

describe('annotation caps and ranking', () => {
  it('emits 10 errors, denials on changed lines first, and says how many more in the last one', async () => {
    const { dir, base } = await repo({
      'tollgate.yaml': bundle(),
      'k8s/a-old.yaml': deployment(
        'old',
        Array.from({ length: 12 }, (_, i) => `docker.io/library/old${i}:1`),
      ),
    });
    await commit(dir, { 'k8s/z-new.yaml': deployment('new', ['docker.io/library/brand-new:1']) });
    const run = await runAction(
      dir,
      { paths: 'k8s', bundle: 'tollgate.yaml', now: NOW, token: '' },
      await prEvent(dir, base),
    );
    // 9 on the lines, and the final failure message (an error annotation too) makes 10
    const errors = errorsOf(run);
    expect(errors).toHaveLength(9);
    expect(run.commands.filter((c) => c.command === 'error')).toHaveLength(10);
    expect(run.commands.filter((c) => c.command === 'error').at(-1)!.message).toMatch(/^tollgate denied: /);
    expect(errors[0]!.properties.file).toBe('k8s/z-new.yaml');
    expect(errors[0]!.properties.title).toContain('changed line');
    expect(errors[8]!.message).toMatch(/… and 4 more errors not shown as annotations/);
    expect(errors.slice(0, 8).every((e) => !e.message.includes('more errors'))).toBe(true);
    expect(run.summary).toContain(
      '4 error(s), 0 warning(s) and 0 notice(s) more are listed below but not annotated',
    );
    expect(run.summary.match(/^\| :x: deny/gm)).toHaveLength(13);
    expect(run.status).toBe(1);
  });

  it('with 12 unreadable files, emits 10 error annotations, the final failure message the last', async () => {
    const files: Record<string, string> = { 'tollgate.yaml': bundle() };
    for (let n = 0; n < 12; n++) files[`k8s/broken-${n}.yaml`] = 'kind: ConfigMap\nmetadata: [unclosed\n';
    const { dir } = await repo(files);
    const run = await runAction(dir, { paths: 'k8s', bundle: 'tollgate.yaml', now: NOW });
    expect(run.status).toBe(1);
    const errors = run.commands.filter((c) => c.command === 'error');
    expect(errors).toHaveLength(10);
    expect(errors.slice(0, 9).every((e) => e.properties.title === 'tollgate: input error')).toBe(true);
    expect(errors[8]!.message).toContain('… and 3 more errors not shown as annotations');
    expect(errors[9]!.properties.file).toBeUndefined();
    expect(errors[9]!.message).toBe(
      'tollgate denied: 12 input error(s) (see the annotations and the job summary)',
    );
  });

  it('writes at most 25,000 SARIF results and says in the job summary how many were left out', async () => {
    const images = Array.from({ length: 10 }, (_, i) => `docker.io/library/app${i}:1`);
    const many = Array.from({ length: 2501 }, (_, n) => deployment(`app-${n}`, images)).join('---\n');
    const { dir } = await repo({ 'tollgate.yaml': bundle(), 'k8s/many.yaml': many });
    const run = await runAction(dir, {
      paths: 'k8s',
      bundle: 'tollgate.yaml',
      now: NOW,
      'sarif-file': 'out/tollgate.sarif',
    });
    expect(run.outputs.deny).toBe('25010');
    const log = JSON.parse(await readFile(join(dir, 'out/tollgate.sarif'), 'utf8')) as {
      runs: Array<{ results: unknown[]; invocations: Array<{ toolExecutionNotifications?: unknown[] }> }>;
    };
    expect(log.runs[0]!.results).toHaveLength(25_000);
    expect(codeScanningErrors(log)).toEqual([]);
    expect(log.runs[0]!.invocations[0]!.toolExecutionNotifications).toHaveLength(1);
    expect(run.summary).toContain(
      'SARIF: 10 of 25,010 results left out (10 error(s), 0 warning(s), 0 note(s))',
    );
    expect(run.commands.filter((c) => c.command === 'error')).toHaveLength(10);
  }, 300_000);

  it('uses warnings for warn, passes at fail-on deny and fails at fail-on warn', async () => {
    const { dir } = await repo({
      'tollgate.yaml': bundle('warn'),
      'k8s/a.yaml': deployment('a', ['docker.io/library/a:1']),
    });
    const lenient = await runAction(dir, { paths: 'k8s', bundle: 'tollgate.yaml', now: NOW, token: '' });
    expect(lenient.status).toBe(0);
    expect(lenient.annotations.map((a) => a.command)).toEqual(['warning']);
    await expectOnImageField(dir, lenient.annotations[0]!);
    const strict = await runAction(dir, {
      paths: 'k8s',
      bundle: 'tollgate.yaml',
      now: NOW,
      token: '',
      'fail-on': 'warn',
    });
    expect(strict.status).toBe(1);
  });
});

describe('changed-only', () => {
  it('checks only the files the pull request changed (git diff without a token)', async () => {
    const { dir, base } = await repo({
      'tollgate.yaml': bundle(),
      'k8s/legacy.yaml': deployment('legacy', ['docker.io/library/odoo:15']),
    });
    await commit(dir, { 'k8s/ok.yaml': deployment('ok', ['registry.corp.example/erp/odoo:17']) });
    const run = await runAction(
      dir,
      { paths: 'k8s', bundle: 'tollgate.yaml', 'changed-only': 'true', now: NOW, token: '' },
      await prEvent(dir, base),
    );
    expect(run.status).toBe(0);
    expect(run.summary).toContain('1 resource checked, 0 denied');
  });
});

const hasKubectl = (() => {
  try {
    execFileSync('kubectl', ['version', '--client'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
})();

describe.skipIf(!hasKubectl)('render input (kubectl kustomize on PATH)', () => {
  it('annotates the kustomize resource file, not the rendered stream', async () => {
    const { dir } = await repo({
      'tollgate.yaml': bundle(),
      'deploy/prod/kustomization.yaml': 'resources: [app.yaml]\nnamePrefix: prod-\n',
      'deploy/prod/app.yaml': deployment('odoo', [
        'registry.corp.example/erp/odoo:17',
        'docker.io/library/odoo:17',
      ]),
    });
    const run = await runAction(dir, {
      paths: '',
      render: 'kustomize:deploy/prod',
      bundle: 'tollgate.yaml',
      now: NOW,
      token: '',
    });
    expect(run.status).toBe(1);
    const errors = errorsOf(run);
    expect(errors.map((e) => [e.properties.file, e.properties.line])).toEqual([
      ['deploy/prod/app.yaml', '17'],
    ]);
    await expectOnImageField(dir, errors[0]!);
  });
});
