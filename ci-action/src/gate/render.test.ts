/**
 * Rendered sources with the real tools (no mocks): kustomize through `kubectl kustomize` (or
 * kustomize), Helm through `helm template` — both with --render and piped to `tollgate check -`.
 * Findings must point at the file a person edits, on the offending line.
 */
import { execFileSync } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { homedir, tmpdir } from 'node:os';
import { delimiter, dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { main } from '../../../cli/main.ts';
import { parseRenderSpec, takeKustomizeOrigin } from './render.ts';
import { parseCommands } from '../../../test/support/run-action.ts';

const toolsBin = join(process.env.TOLLGATE_TOOLS_DIR ?? join(homedir(), '.cache/tollgate-tools'), 'bin');

function has(command: string, args: string[]): boolean {
  try {
    execFileSync(command, args, {
      stdio: 'ignore',
      env: { ...process.env, PATH: `${toolsBin}${delimiter}${process.env.PATH ?? ''}` },
    });
    return true;
  } catch {
    return false;
  }
}

const hasHelm = has('helm', ['version', '--short']);
const hasKustomize = has('kubectl', ['version', '--client']) || has('kustomize', ['version']);

let dir: string;
const originalPath = process.env.PATH;
beforeAll(async () => {
  process.env.PATH = `${toolsBin}${delimiter}${originalPath ?? ''}`;
  dir = await mkdtemp(join(tmpdir(), 'tollgate-render-'));
  const files: Record<string, string> = {
    'charts/odoo/Chart.yaml': 'apiVersion: v2\nname: odoo-erp\nversion: 0.1.0\n',
    'charts/odoo/values.yaml':
      'image: docker.io/library/odoo:17\nsidecar: registry.corp.example/platform/fluent-bit:3\n',
    'charts/odoo/templates/deployment.yaml': `apiVersion: apps/v1
kind: Deployment
metadata:
  name: {{ .Release.Name }}-odoo
  namespace: tenant-acme
spec:
  selector:
    matchLabels: { app: odoo }
  template:
    metadata:
      labels: { app: odoo }
    spec:
      containers:
        - name: sidecar
          image: {{ .Values.sidecar | quote }}
        - name: odoo
          image: {{ .Values.image | quote }}
`,
    'deploy/base/kustomization.yaml':
      'resources: [deployment.yaml]\nnamePrefix: acme-\nnamespace: tenant-acme\n',
    'deploy/base/deployment.yaml': `apiVersion: apps/v1
kind: Deployment
metadata:
  name: odoo
spec:
  selector:
    matchLabels: { app: odoo }
  template:
    metadata:
      labels: { app: odoo }
    spec:
      containers:
        - name: odoo
          image: quay.io/someone/odoo:17
`,
    'bundle.yaml': `apiVersion: tollgate.dev/v1
kind: PolicyBundle
metadata: { name: render-test, version: 1.0.0 }
spec:
  policies:
    approved-registries: { enforcement: deny, registries: [registry.corp.example/erp, registry.corp.example/platform] }
`,
  };
  for (const [path, text] of Object.entries(files)) {
    await mkdir(dirname(join(dir, path)), { recursive: true });
    await writeFile(join(dir, path), text);
  }
});
afterAll(async () => {
  process.env.PATH = originalPath;
  await rm(dir, { recursive: true, force: true });
});

async function check(args: string[], stdin = ''): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const code = await main(['check', '--bundle', 'bundle.yaml', '--format', 'github', ...args], {
    stdout: (t) => (out += t),
    stderr: (t) => (err += t),
    stdin: async () => stdin,
    cwd: dir,
    env: process.env,
  });
  return { code, out, err };
}

async function lineOf(file: string, line: string | undefined): Promise<string> {
  return (await readFile(join(dir, file), 'utf8')).split('\n')[Number(line) - 1] ?? '';
}

describe('render specs', () => {
  it('parses helm and kustomize forms and rejects others with the accepted forms', () => {
    expect(parseRenderSpec('helm:charts/odoo:values-prod.yaml,extra.yaml')).toEqual({
      kind: 'helm',
      chart: 'charts/odoo',
      values: ['values-prod.yaml', 'extra.yaml'],
      spec: 'helm:charts/odoo:values-prod.yaml,extra.yaml',
    });
    expect(parseRenderSpec('kustomize:deploy/prod')).toMatchObject({ kind: 'kustomize', dir: 'deploy/prod' });
    expect(() => parseRenderSpec('jsonnet:x')).toThrow(/helm:CHART_DIR\[:values.yaml/);
  });

  it('takes the origin annotation kustomize added off the object before policies see it', () => {
    const object = {
      kind: 'Deployment',
      metadata: { name: 'a', annotations: { 'config.kubernetes.io/origin': 'path: base/deployment.yaml\n' } },
    };
    expect(takeKustomizeOrigin(object)).toBe('base/deployment.yaml');
    expect(object.metadata).toEqual({ name: 'a' });
    const kept = {
      metadata: { annotations: { team: 'erp', 'config.kubernetes.io/origin': 'path: x.yaml' } },
    };
    expect(takeKustomizeOrigin(kept)).toBe('x.yaml');
    expect(kept.metadata.annotations).toEqual({ team: 'erp' });
  });
});

describe.skipIf(!hasKustomize)('kustomize (kubectl kustomize or kustomize on PATH)', () => {
  it('attributes findings to the resource file and field, through namePrefix and namespace', async () => {
    const { code, out } = await check(['--render', 'kustomize:deploy/base']);
    expect(code).toBe(1);
    const [error] = parseCommands(out).filter((c) => c.command === 'error');
    expect(error?.properties).toMatchObject({ file: 'deploy/base/deployment.yaml', line: '14', col: '11' });
    expect(await lineOf('deploy/base/deployment.yaml', error?.properties.line)).toBe(
      '          image: quay.io/someone/odoo:17',
    );
    expect(error?.message).toContain('Deployment/acme-odoo in tenant-acme');
  });
});

describe.skipIf(!hasHelm)('helm (helm on PATH or in the tools cache)', () => {
  it('--render attributes findings to the template line of the offending field', async () => {
    const { code, out } = await check(['--render', 'helm:charts/odoo']);
    expect(code).toBe(1);
    const errors = parseCommands(out).filter((c) => c.command === 'error');
    expect(errors).toHaveLength(1);
    expect(errors[0]?.properties).toMatchObject({
      file: 'charts/odoo/templates/deployment.yaml',
      line: '17',
      col: '11',
    });
    expect(await lineOf('charts/odoo/templates/deployment.yaml', errors[0]?.properties.line)).toContain(
      'image: {{ .Values.image | quote }}',
    );
    expect(errors[0]?.message).toContain('rendered from odoo-erp/templates/deployment.yaml');
  });

  it('piped `helm template | tollgate check -` finds the chart by its name', async () => {
    const rendered = execFileSync('helm', ['template', 'prod', 'charts/odoo'], {
      cwd: dir,
      encoding: 'utf8',
    });
    const { code, out } = await check(['-'], rendered);
    expect(code).toBe(1);
    const [error] = parseCommands(out).filter((c) => c.command === 'error');
    expect(error?.properties).toMatchObject({ file: 'charts/odoo/templates/deployment.yaml', line: '17' });
    expect(error?.message).toContain('Deployment/prod-odoo');
  });

  it('keeps the rendered line when the template is not in the repository', async () => {
    const rendered = execFileSync('helm', ['template', 'prod', 'charts/odoo'], {
      cwd: dir,
      encoding: 'utf8',
    }).replace(/odoo-erp\/templates/g, 'elsewhere/templates');
    const { out } = await check(['-'], rendered);
    const [error] = parseCommands(out).filter((c) => c.command === 'error');
    expect(error?.properties.file).toBe('-');
    const renderedLine = rendered.split('\n')[Number(error?.properties.line) - 1];
    expect(renderedLine).toContain('image: "docker.io/library/odoo:17"');
  });

  it('reports a chart helm cannot render as an error naming the spec', async () => {
    const { code, err } = await check(['--render', 'helm:charts/missing']);
    expect(code).toBe(3);
    expect(err).toContain('render helm:charts/missing');
  });
});

describe('without the tools', () => {
  it('explains that helm is missing when PATH has no helm', async () => {
    const saved = process.env.PATH;
    process.env.PATH = '/nonexistent';
    try {
      const { err } = await check(['--render', 'helm:charts/odoo']);
      expect(err).toContain('helm is not on PATH');
    } finally {
      process.env.PATH = saved;
    }
  });
});
