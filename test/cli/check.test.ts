import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('../..', import.meta.url));
const bin = join(root, 'bin', 'tollgate.js');

function tollgate(args: string[], options: { cwd?: string; input?: string } = {}) {
  const result = spawnSync(process.execPath, [bin, ...args], {
    cwd: options.cwd ?? root,
    input: options.input ?? '',
    encoding: 'utf8',
  });
  return { code: result.status, stdout: result.stdout, stderr: result.stderr };
}

/** 1-based line of the first line containing `needle` in a file. */
function lineOf(file: string, needle: string): number {
  return (
    readFileSync(join(root, file), 'utf8')
      .split('\n')
      .findIndex((line) => line.includes(needle)) + 1
  );
}

describe('tollgate check (the README command)', () => {
  it('prints findings with file:line for the denied examples and exits 1', () => {
    const { code, stdout } = tollgate(['check', 'examples/', '--now', '2026-11-10T12:00:00Z']);
    expect(code).toBe(1);
    const file = 'examples/denied/odoo-unapproved-images.yaml';
    expect(stdout).toContain(
      `${file}:${lineOf(file, 'image: odoo:17.0')}:11 deny approved-registries Deployment/odoo-test`,
    );
    expect(stdout).toContain('spec.template.spec.containers[0].image');
    expect(stdout).not.toMatch(/examples\/allowed\/.*deny/);
  });

  it('exits 0 on allowed manifests', () => {
    const { code, stdout } = tollgate(['check', 'examples/allowed', '--now', '2026-11-10T12:00:00Z']);
    expect(stdout).toContain('0 denied');
    expect(code).toBe(0);
  });

  it('reports invalid YAML with file and line, still checks the other files, and exits 2', () => {
    const dir = mkdtempSync(join(tmpdir(), 'tollgate-check-'));
    writeFileSync(join(dir, 'a-broken.yaml'), 'apiVersion: v1\nkind: Pod\nmetadata: {name: x\n');
    writeFileSync(
      join(dir, 'b-pod.yaml'),
      'apiVersion: v1\nkind: Pod\nmetadata: {name: p, namespace: t}\nspec:\n  containers:\n    - name: c\n      image: evil.io/x\n',
    );
    const { code, stdout } = tollgate(['check', dir, '--format', 'json', '--now', '2026-11-10T12:00:00Z']);
    expect(code).toBe(2);
    const report = JSON.parse(stdout) as {
      errors: { file: string; line: number }[];
      resources: { file: string; decision: string }[];
    };
    expect(report.errors[0]?.file).toMatch(/a-broken\.yaml$/);
    expect(report.errors[0]?.line).toBeGreaterThanOrEqual(3);
    expect(report.resources.map((r) => r.decision)).toEqual(['deny']);
  });

  it('reads stdin with -', () => {
    const { code, stdout } = tollgate(['check', '-', '--format', 'json'], {
      input:
        '---\napiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n  containers: [{name: c, image: nginx}]\n',
    });
    expect(code).toBe(1);
    const report = JSON.parse(stdout) as {
      resources: { file: string; results: { findings: { line: number }[] }[] }[];
    };
    expect(report.resources[0]?.file).toBe('-');
    expect(report.resources[0]?.results.flatMap((r) => r.findings).some((f) => f.line === 6)).toBe(true);
  });

  it('exits 2 with a clear message on usage and bundle errors', () => {
    expect(tollgate(['check']).code).toBe(2);
    expect(tollgate(['check', 'examples', '--format', 'xml']).stderr).toContain('--format');
    expect(tollgate(['check', 'examples', '--now', 'yesterday']).stderr).toContain('ISO-8601');
    const dir = mkdtempSync(join(tmpdir(), 'tollgate-bundle-'));
    writeFileSync(
      join(dir, 'bundle.yaml'),
      'apiVersion: tollgate.dev/v1\nkind: PolicyBundle\nmetadata: {name: b, version: 1.0.0}\nspec:\n  policies:\n    nope: {}\n',
    );
    const bad = tollgate(['check', 'examples', '--bundle', join(dir, 'bundle.yaml')]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('bundle.yaml:6 /spec/policies/nope: unknown policy "nope"');
    expect(tollgate(['frobnicate']).code).toBe(2);
  });
});
