/**
 * The compiled command keeps the libraries some bundles need (custom rules' RE2 and JSONPath, cron
 * windows, the generated bundle validator) out of the chunks every command loads: each is its own
 * file in dist/on-demand/ that a chunk requires on first use (scripts/build.ts). These run the
 * compiled command (bin/tollgate.js rebuilds a stale dist/) on bundles that need each of them, and
 * check that a plain `check` on the embedded default bundle loads none of them.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, readdir, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { beforeAll, describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('../../', import.meta.url));
const run = promisify(execFile);

async function tollgate(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run(process.execPath, [join(root, 'bin/tollgate.js'), ...args], {
      cwd: root,
    });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const failed = error as { code: number; stdout: string; stderr: string };
    return { code: failed.code, stdout: failed.stdout, stderr: failed.stderr };
  }
}

describe('libraries loaded on demand by the compiled command', () => {
  beforeAll(async () => {
    await tollgate('--version'); // rebuilds dist/ when it is stale
  }, 120_000);

  it('builds each into dist/on-demand/', async () => {
    const files = (await readdir(join(root, 'dist/on-demand'))).filter((f) => f.endsWith('.cjs')).sort();
    expect(files).toEqual(
      expect.arrayContaining([
        'bundle-validator.generated.cjs',
        'cron-parser.cjs',
        'jsonpath-plus.cjs',
        're2js.cjs',
        'schema-compiler.cjs',
      ]),
    );
  });

  it('judges with custom rules (RE2, JSONPath) and validates a bundle file with the generated validator', async () => {
    const denied = await tollgate(
      'check',
      '--offline',
      '--bundle',
      'policies/custom-rules/samples/bundle.yaml',
      'policies/custom-rules/samples/denied',
    );
    expect(denied.stderr).toBe('');
    expect(denied.code).toBe(1);
    expect(denied.stdout).toMatch(/2 resource\(s\): 2 denied/);
    const invalid = join(await mkdtemp(join(tmpdir(), 'tollgate-on-demand-')), 'bundle.yaml');
    const baseline = await readFile(join(root, 'bundles/finance-baseline.yaml'), 'utf8');
    await writeFile(invalid, baseline.replace('kind: PolicyBundle', 'kind: PolicyBundle\nunknownField: 1'));
    const refused = await tollgate('check', '--offline', '--bundle', invalid, 'examples/allowed');
    expect(refused.code).not.toBe(0);
    expect(`${refused.stdout}${refused.stderr}`).toMatch(/unknownField/);
  });

  it('computes cron freeze windows', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'tollgate-on-demand-'));
    const baseline = await readFile(join(root, 'bundles/finance-baseline.yaml'), 'utf8');
    const bundle = baseline.replace(
      '      windows:\n',
      "      windows:\n        - name: payroll-run\n          cron: '0 18 * * 4'\n          duration: 4h\n",
    );
    expect(bundle).not.toBe(baseline);
    await writeFile(join(dir, 'bundle.yaml'), bundle);
    const calendar = await tollgate(
      'freeze',
      'calendar',
      '--from',
      '2026-12',
      '--to',
      '2026-12',
      '--bundle',
      join(dir, 'bundle.yaml'),
    );
    expect(calendar.stderr).toBe('');
    expect(calendar.stdout).toMatch(/payroll-run\s+Thu 2026-12-03 18:00\s+Thu 2026-12-03 22:00/);
  });

  it('loads none of them for a check on the embedded default bundle', async () => {
    const script = `
      const { main } = await import(${JSON.stringify(join(root, 'dist/tollgate.js'))});
      const code = await main(['check', '--offline', 'examples/allowed/odoo-deployment.yaml']);
      const { createRequire } = await import('node:module');
      const loaded = Object.keys(createRequire(import.meta.url).cache).filter((f) => f.includes('on-demand'));
      process.stderr.write(JSON.stringify({ code, loaded }));
    `;
    const { stderr } = await run(process.execPath, ['--input-type=module', '-e', script], { cwd: root });
    expect(JSON.parse(stderr)).toEqual({ code: 0, loaded: [] });
  });
});
