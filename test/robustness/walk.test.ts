/**
 * Silent skips (issue 12, class 3): `tollgate check DIR` reads every file `kubectl apply -R -f DIR`
 * would apply (hidden files and directories, kustomization files, node_modules, symlinks with a
 * manifest name), compared with kubectl's own directory walk (the Go oracle), and a Helm chart
 * directory it was not asked to render is a counted input error naming `--render helm:`, never a
 * clean exit.
 */
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { discoverFiles } from '../../ci-action/src/gate/manifests.ts';
import { runPipeline } from '../../ci-action/src/gate/pipeline.ts';
import { loadBuiltinBundle } from '../../policies/index.ts';
import { runOracle } from './kubectl-oracle.ts';

const root = mkdtempSync(join(tmpdir(), 'tollgate-walk-'));
const dir = join(root, 'manifests');
const pod = (name: string): string =>
  `apiVersion: v1\nkind: Pod\nmetadata:\n  name: ${name}\n  namespace: default\nspec:\n  hostNetwork: true\n  containers: [{name: c, image: evil.io/x}]\n`;
const tree: Record<string, string> = {
  'pod.yaml': pod('plain'),
  '.hidden.yaml': pod('hidden-file'),
  '.config/in-hidden-dir.yml': pod('hidden-dir'),
  'node_modules/pkg/deploy.json': JSON.stringify({ apiVersion: 'v1', kind: 'Pod', metadata: { name: 'nm' } }),
  'kustomization.yaml': pod('kustomization-file'),
  '.yaml': pod('only-an-extension'),
  'UPPER.YAML': pod('kubectl-ignores-upper-case'),
  'notes.txt': pod('kubectl-ignores-txt'),
  'chart/Chart.yaml': 'apiVersion: v2\nname: chart\nversion: 0.1.0\n',
  'chart/templates/static.yaml': pod('static-template'),
};

beforeAll(() => {
  for (const [path, text] of Object.entries(tree)) {
    mkdirSync(join(dir, path, '..'), { recursive: true });
    writeFileSync(join(dir, path), text);
  }
  mkdirSync(join(root, 'elsewhere'));
  writeFileSync(join(root, 'elsewhere', 'target.txt'), pod('through-a-symlink'));
  symlinkSync(join(root, 'elsewhere', 'target.txt'), join(dir, 'link.yaml'));
});
afterAll(() => rmSync(root, { recursive: true, force: true }));

describe('tollgate check DIR walks what kubectl apply -R -f DIR reads', () => {
  it('reads the same files as kubectl outside charts, and reports the chart kubectl would half-apply', async () => {
    const [kubectl] = await runOracle([dir], { recursive: true });
    const kubectlFiles = new Set((kubectl?.objects ?? []).map((o) => relative(dir, o.source)));
    const ours = await discoverFiles([dir], root);
    const tollgateFiles = ours.files.map((file) => relative('manifests', file)).sort();
    expect(tollgateFiles).toEqual([...kubectlFiles].filter((file) => !file.startsWith('chart/')).sort());
    expect(tollgateFiles).toEqual(
      expect.arrayContaining([
        '.hidden.yaml',
        '.config/in-hidden-dir.yml',
        'kustomization.yaml',
        'link.yaml',
        '.yaml',
      ]),
    );
    expect(kubectlFiles.has('chart/templates/static.yaml')).toBe(true);
    expect(ours.charts).toEqual(['manifests/chart']);
  });

  it('a chart that is not rendered is a counted input error naming --render helm:, so the run cannot pass', async () => {
    const result = await runPipeline({
      paths: ['manifests'],
      cwd: root,
      bundle: loadBuiltinBundle(
        Buffer.from(
          'apiVersion: tollgate.dev/v1\nkind: PolicyBundle\nmetadata: {name: empty, version: 1.0.0}\nspec: {policies: {}}\n',
        ),
        'empty.yaml',
      ),
      now: new Date('2026-11-22T12:00:00Z'),
      readStdin: async () => '',
    });
    const chart = result.errors.find((error) => error.file === 'manifests/chart');
    expect(chart?.message).toContain('--render helm:manifests/chart');
    expect(result.summary.inputErrors).toBeGreaterThanOrEqual(1);
    expect(result.files).toContain('manifests/.hidden.yaml');
  });
});
