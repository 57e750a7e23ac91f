/**
 * The npm package as a user installs it: `npm pack`, then `npm install -g ./tollgate-*.tgz` into an
 * empty prefix, then `tollgate check`, `tollgate serve --help` and `tollgate bundle schema` from a
 * directory outside the repository, with a PATH that has only the system's tools (so the command
 * starts on the system Node, and hands over to the Node 24 it installed when that one is older).
 * The package carries the compiled dist/, the default bundle and the JSON Schema, and no sources.
 */
import { spawnSync } from 'node:child_process';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('../..', import.meta.url));
const work = mkdtempSync(join(tmpdir(), 'tollgate-pack-'));
const prefix = join(work, 'prefix');
const elsewhere = join(work, 'elsewhere');
/** The system's PATH without the project's node_modules/.bin (what a user's shell has). */
const systemPath = (process.env.PATH ?? '')
  .split(':')
  .filter((dir) => dir !== '' && !dir.includes('node_modules'))
  .join(':');

function npm(args: string[], cwd: string) {
  const result = spawnSync('npm', args, {
    cwd,
    encoding: 'utf8',
    env: { ...process.env, npm_config_loglevel: 'error', npm_config_update_notifier: 'false' },
    timeout: 240_000,
  });
  if (result.status !== 0)
    throw new Error(`npm ${args.join(' ')} exited ${result.status}:\n${result.stdout}\n${result.stderr}`);
  return result.stdout;
}

function tollgate(args: string[]) {
  const result = spawnSync(join(prefix, 'bin', 'tollgate'), args, {
    cwd: elsewhere,
    encoding: 'utf8',
    env: { PATH: systemPath, HOME: work, NO_COLOR: '1' },
    timeout: 60_000,
  });
  return { code: result.status, stdout: result.stdout, stderr: result.stderr };
}

describe('npm pack and npm install -g', () => {
  let tarball = '';

  beforeAll(() => {
    mkdirSync(prefix);
    mkdirSync(elsewhere);
    // dist/ is fresh (the global set-up rebuilt it when stale), so pack it as it is; a user's
    // `npm pack` runs the `prepare` script (the build) first.
    npm(['pack', '--ignore-scripts', '--pack-destination', work], root);
    tarball = join(work, readdirSync(work).find((name) => name.endsWith('.tgz')) ?? 'missing.tgz');
    npm(['install', '-g', '--prefix', prefix, '--prefer-offline', '--no-audit', '--no-fund', tarball], work);
  }, 300_000);

  afterAll(() => rmSync(work, { recursive: true, force: true }));

  it('installs the command, the compiled dist/, the default bundle and the schema, no sources', () => {
    const pkg = join(prefix, 'lib', 'node_modules', 'tollgate');
    expect(existsSync(join(prefix, 'bin', 'tollgate'))).toBe(true);
    expect(existsSync(join(pkg, 'dist', 'tollgate.js'))).toBe(true);
    expect(existsSync(join(pkg, 'bundles', 'finance-baseline.yaml'))).toBe(true);
    expect(existsSync(join(pkg, 'bundles', 'policy-bundle.schema.json'))).toBe(true);
    expect(existsSync(join(pkg, 'cli'))).toBe(false);
    expect(existsSync(join(pkg, 'policies'))).toBe(false);
    const manifest = JSON.parse(readFileSync(join(pkg, 'package.json'), 'utf8')) as { private?: boolean };
    expect(manifest.private).toBeUndefined();
  });

  it('runs tollgate check on the embedded default bundle from any directory', () => {
    writeFileSync(
      join(elsewhere, 'pod.yaml'),
      'apiVersion: v1\nkind: Pod\nmetadata: {name: p, namespace: t}\nspec:\n  containers:\n    - name: c\n      image: evil.example/x:1\n',
    );
    const { code, stdout, stderr } = tollgate(['check', '--offline', 'pod.yaml']);
    expect(stderr).toBe('');
    expect(stdout).toMatch(/pod\.yaml:7:\d+ deny approved-registries Pod\/p in t/);
    expect(stdout).toContain('bundle finance-baseline');
    expect(code).toBe(1);
  });

  it('runs tollgate serve --help', () => {
    const { code, stdout } = tollgate(['serve', '--help']);
    expect(stdout).toContain('usage: tollgate serve');
    expect(code).toBe(0);
  });

  it('prints the bundle JSON Schema, the same as the one shipped in bundles/', () => {
    const { code, stdout } = tollgate(['bundle', 'schema']);
    expect(code).toBe(0);
    const shipped = readFileSync(
      join(prefix, 'lib', 'node_modules', 'tollgate', 'bundles', 'policy-bundle.schema.json'),
      'utf8',
    );
    expect(JSON.parse(stdout)).toEqual(JSON.parse(shipped));
  });
});
