/** `tollgate check --baseline REF`: pre-existing findings do not fail; new ones do and rank first. */
import { execFileSync } from 'node:child_process';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { main } from '../../../cli/main.ts';
import { parseCommands } from '../../../test/support/run-action.ts';

const dir = await mkdtemp(join(tmpdir(), 'tollgate-cli-baseline-'));
afterAll(async () => rm(dir, { recursive: true, force: true }));

const git = (...args: string[]): string =>
  execFileSync(
    'git',
    ['-c', 'user.name=t', '-c', 'user.email=t@example.test', '-c', 'commit.gpgsign=false', ...args],
    {
      cwd: dir,
      encoding: 'utf8',
    },
  ).trim();

async function put(files: Record<string, string>): Promise<void> {
  for (const [path, text] of Object.entries(files)) {
    await mkdir(dirname(join(dir, path)), { recursive: true });
    await writeFile(join(dir, path), text);
  }
  git('add', '.');
  git('commit', '-q', '-m', 'x');
}

const pod = (name: string, image: string) =>
  `apiVersion: v1\nkind: Pod\nmetadata: { name: ${name}, namespace: t }\nspec:\n  containers:\n    - name: c\n      image: ${image}\n`;

async function check(...args: string[]): Promise<{ code: number; out: string }> {
  let out = '';
  const code = await main(['check', '--bundle', 'bundle.yaml', '--offline', ...args], {
    stdout: (t) => (out += t),
    stderr: (t) => (out += t),
    stdin: async () => '',
    cwd: dir,
    env: {},
  });
  return { code, out };
}

describe('tollgate check --baseline', () => {
  it('fails only on new denials and tags them', async () => {
    git('init', '-q', '-b', 'main');
    await put({
      'bundle.yaml': `apiVersion: tollgate.dev/v1\nkind: PolicyBundle\nmetadata: { name: t, version: 1.0.0 }\nspec:\n  policies:\n    approved-registries: { registries: [registry.corp.example/erp] }\n`,
      'k8s/old.yaml': pod('old', 'docker.io/library/old:1'),
    });
    const base = git('rev-parse', 'HEAD');
    await put({ 'k8s/ok.yaml': pod('ok', 'registry.corp.example/erp/ok:1') });
    expect((await check('k8s', '--baseline', base)).code).toBe(0);
    expect((await check('k8s')).code).toBe(1);

    await put({ 'k8s/new.yaml': pod('new', 'quay.io/x/new:1') });
    const { code, out } = await check('k8s', '--baseline', base, '--format', 'github');
    expect(code).toBe(1);
    const titles = parseCommands(out).map((c) => [c.properties.file, c.properties.title]);
    expect(titles).toEqual([
      ['k8s/new.yaml', 'tollgate deny: approved-registries (new, changed line)'],
      ['k8s/old.yaml', 'tollgate deny: approved-registries (pre-existing)'],
    ]);
    expect(out).toContain('(1 new denial(s), 1 pre-existing finding(s))');
  });
});
