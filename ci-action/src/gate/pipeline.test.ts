/** Path expansion for the action's `paths` input and the CLI: globs, `!` excludes, changed-only filtering. */
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { builtinPolicies, loadBundle } from '../../../policies/index.ts';
import { globMatch, runPipeline } from './pipeline.ts';

const bundle = loadBundle(
  `apiVersion: tollgate.dev/v1
kind: PolicyBundle
metadata: { name: t, version: 1.0.0 }
spec:
  policies:
    approved-registries: { registries: [registry.corp.example/erp] }
`,
  { source: 'test', policies: builtinPolicies },
);

const pod = (name: string, image: string) =>
  `apiVersion: v1\nkind: Pod\nmetadata: { name: ${name}, namespace: t }\nspec:\n  containers:\n    - name: c\n      image: ${image}\n`;

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'tollgate-paths-'));
  const files: Record<string, string> = {
    'k8s/prod/a.yaml': pod('a', 'docker.io/library/a:1'),
    'k8s/prod/b.yml': pod('b', 'registry.corp.example/erp/b:1'),
    'k8s/sandbox/c.yaml': pod('c', 'docker.io/library/c:1'),
    'k8s/sandbox/nested/d.yaml': pod('d', 'docker.io/library/d:1'),
    'k8s/charts/x/Chart.yaml': 'apiVersion: v2\nname: x\nversion: 0.1.0\n',
    'k8s/charts/x/templates/t.yaml': 'kind: {{ .Values.kind }}\n',
    'k8s/kustomization.yaml': 'resources: [prod/a.yaml]\n',
  };
  for (const [path, text] of Object.entries(files)) {
    await mkdir(dirname(join(dir, path)), { recursive: true });
    await writeFile(join(dir, path), text);
  }
});
afterAll(async () => rm(dir, { recursive: true, force: true }));

async function checked(paths: string[], onlyFiles?: Set<string>): Promise<string[]> {
  const result = await runPipeline({
    paths,
    cwd: dir,
    bundle,
    now: new Date('2026-11-22T12:00:00Z'),
    readStdin: async () => '',
    ...(onlyFiles ? { onlyFiles } : {}),
  });
  expect(result.errors).toEqual([]);
  return result.files.sort();
}

describe('paths', () => {
  it('walks directories as kubectl -R does: kustomization files are read, an unrendered Helm chart is an input error', async () => {
    const result = await runPipeline({
      paths: ['k8s'],
      cwd: dir,
      bundle,
      now: new Date('2026-11-22T12:00:00Z'),
      readStdin: async () => '',
    });
    expect(result.files.sort()).toEqual([
      'k8s/prod/a.yaml',
      'k8s/prod/b.yml',
      'k8s/sandbox/c.yaml',
      'k8s/sandbox/nested/d.yaml',
    ]);
    expect(result.errors.map((e) => e.file).sort()).toEqual(['k8s/charts/x', 'k8s/kustomization.yaml']);
    expect(result.errors.find((e) => e.file === 'k8s/charts/x')?.message).toContain(
      '--render helm:k8s/charts/x',
    );
  });

  it('expands globs and applies ! excludes (directory prefixes and patterns)', async () => {
    const skipped = ['!k8s/charts', '!k8s/kustomization.yaml'];
    expect(await checked(['k8s/**/*.yaml', '!k8s/sandbox/**', ...skipped])).toEqual(['k8s/prod/a.yaml']);
    expect(await checked(['k8s', '!k8s/sandbox', ...skipped])).toEqual(['k8s/prod/a.yaml', 'k8s/prod/b.yml']);
  });

  it('reports a glob that matches nothing', async () => {
    const result = await runPipeline({
      paths: ['nope/**/*.yaml'],
      cwd: dir,
      bundle,
      now: new Date(),
      readStdin: async () => '',
    });
    expect(result.errors).toEqual([
      expect.objectContaining({ file: 'nope/**/*.yaml', message: 'the glob pattern matches no file' }),
    ]);
  });

  it('keeps only changed files when asked', async () => {
    expect(await checked(['k8s'], new Set(['k8s/sandbox/c.yaml']))).toEqual(['k8s/sandbox/c.yaml']);
  });

  it('matches exclude globs on path segments', () => {
    expect(globMatch('k8s/sandbox/nested/d.yaml', 'k8s/**/*.yaml')).toBe(true);
    expect(globMatch('k8s/a.yaml', 'k8s/**/*.yaml')).toBe(true);
    expect(globMatch('k8s/a.yaml', 'k8s/*.yml')).toBe(false);
    expect(globMatch('k8sx/a.yaml', 'k8s/*')).toBe(false);
  });
});
