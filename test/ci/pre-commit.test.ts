/**
 * The pre-commit hook (.pre-commit-hooks.yaml) with the real pre-commit framework, as a team meets
 * it: a git repository whose .pre-commit-config.yaml names this repository at its committed HEAD,
 * `pre-commit install`, then `git commit`: a denied manifest stops the commit with tollgate's
 * findings on the file's lines, an allowed one commits. pre-commit comes from `.ci/tools.sh` (the
 * set-up step of `npm test`); its clone of this repository (with its npm install, about 500 MB) lives
 * in the scratch directory and goes with it.
 */
import { spawnSync } from 'node:child_process';
import type { SpawnSyncReturns } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { repoRoot } from '../support/run-action.ts';
import { toolPath } from '../e2e/tools.ts';

const preCommit = toolPath('pre-commit');
const scratch = mkdtempSync(join(tmpdir(), 'tollgate-pre-commit-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

const env = {
  ...process.env,
  PRE_COMMIT_HOME: join(scratch, 'pre-commit-home'),
  GIT_AUTHOR_NAME: 'Test',
  GIT_AUTHOR_EMAIL: 'test@example.com',
  GIT_COMMITTER_NAME: 'Test',
  GIT_COMMITTER_EMAIL: 'test@example.com',
};

function run(cwd: string, command: string, ...args: string[]): SpawnSyncReturns<string> {
  return spawnSync(command, args, { cwd, env, encoding: 'utf8', timeout: 540_000 });
}

function ok(result: SpawnSyncReturns<string>): string {
  expect(result.status, `${result.stdout}\n${result.stderr}`).toBe(0);
  return result.stdout;
}

describe('pre-commit hook tollgate-check', () => {
  it('stops a commit of a denied manifest with the findings and lets an allowed one through', () => {
    const head = ok(run(repoRoot, 'git', 'rev-parse', 'HEAD')).trim();
    const dir = join(scratch, 'team-repo');
    mkdirSync(join(dir, 'deploy'), { recursive: true });
    ok(run(dir, 'git', 'init', '-q', '-b', 'main'));
    writeFileSync(
      join(dir, '.pre-commit-config.yaml'),
      [
        'repos:',
        `  - repo: ${repoRoot}`,
        `    rev: ${head}`,
        '    hooks:',
        '      - id: tollgate-check',
        '        files: ^deploy/',
        '',
      ].join('\n'),
    );
    writeFileSync(join(dir, 'notes.yaml'), 'not: a kubernetes object\n');
    ok(run(dir, 'git', 'add', '.'));
    ok(run(dir, preCommit, 'install'));
    // a commit without manifests: the hook is skipped (notes.yaml is outside `files`)
    const first = run(dir, 'git', 'commit', '-q', '-m', 'config');
    ok(first);
    expect(first.stdout + first.stderr).toMatch(/tollgate check\.+\(no files to check\)Skipped/);

    copyFileSync(
      join(repoRoot, 'examples/denied/odoo-unapproved-images.yaml'),
      join(dir, 'deploy/odoo.yaml'),
    );
    ok(run(dir, 'git', 'add', 'deploy/odoo.yaml'));
    const denied = run(dir, 'git', 'commit', '-q', '-m', 'odoo');
    const output = `${denied.stdout}${denied.stderr}`;
    expect(denied.status, output).not.toBe(0);
    expect(output).toMatch(/tollgate check\.+Failed/);
    expect(output).toMatch(/^deploy\/odoo\.yaml:18:11 deny approved-registries/m);
    expect(
      ok(run(dir, 'git', 'log', '--oneline'))
        .trim()
        .split('\n'),
    ).toHaveLength(1);

    copyFileSync(join(repoRoot, 'examples/allowed/odoo-deployment.yaml'), join(dir, 'deploy/odoo.yaml'));
    ok(run(dir, 'git', 'add', 'deploy/odoo.yaml'));
    const allowed = run(dir, 'git', 'commit', '-q', '-m', 'odoo');
    ok(allowed);
    expect(allowed.stdout + allowed.stderr).toMatch(/tollgate check\.+Passed/);
    expect(
      ok(run(dir, 'git', 'log', '--oneline'))
        .trim()
        .split('\n'),
    ).toHaveLength(2);
  }, 600_000);
});
