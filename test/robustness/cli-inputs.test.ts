/**
 * `tollgate check` on hostile inputs, through the real CLI process: every input ends within a
 * bounded time with exit 0/1 (a verdict) or 2 (input error) and a message naming the file, never a
 * crash, a stack trace or a hang.
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('../../', import.meta.url));
const node = join(root, 'node_modules', '.bin', 'node');
const cli = join(root, 'bin', 'tollgate.js');
/** Generous: the machine is shared; a hang is what this catches, not slowness. */
const limitMs = 60_000;

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
  timedOut: boolean;
}

function tollgate(args: string[], cwd: string): Promise<Run> {
  return new Promise((resolve) => {
    const child = spawn(node, [cli, ...args], { cwd, env: { ...process.env, NO_COLOR: '1' } });
    let stdout = '';
    let stderr = '';
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, limitMs);
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr, timedOut });
    });
  });
}

/** A stack frame as node prints it: `    at fn (file:line:col)`. */
const stackFrame = /^\s+at .+:\d+:\d+\)?$/m;

function expectCleanEnd(run: Run): void {
  expect(run.timedOut, 'the CLI hung').toBe(false);
  expect([0, 1, 2]).toContain(run.code);
  expect(run.stdout + run.stderr).not.toMatch(stackFrame);
  expect(run.stderr).not.toMatch(/TypeError|RangeError|ReferenceError|internal error/i);
}

let dir: string;

const pod = (hostNetwork: string, eol = '\n') =>
  [
    'apiVersion: v1',
    'kind: Pod',
    'metadata: {name: p, namespace: tenant-a}',
    'spec:',
    `  hostNetwork: ${hostNetwork}`,
    '  containers: []',
    '',
  ].join(eol);

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'tollgate-hostile-'));
  // ~5 MB: 2 500 ConfigMaps of 2 KB each.
  const doc = (i: number) =>
    `apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c${i}, namespace: tenant-a}\ndata: {blob: "${'x'.repeat(2000)}"}\n`;
  writeFileSync(join(dir, 'big.yaml'), Array.from({ length: 2500 }, (_, i) => doc(i)).join('---\n'));
  const levels = ['a', 'b', 'c', 'd', 'e', 'f', 'g', 'h', 'i'];
  writeFileSync(
    join(dir, 'bomb.yaml'),
    [
      'apiVersion: v1',
      'kind: ConfigMap',
      'metadata: {name: lol, namespace: tenant-a}',
      'lol: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]',
      ...levels.slice(1).map((name, i) => `${name}: &${name} [${Array(9).fill(`*${levels[i]}`).join(',')}]`),
      '',
    ].join('\n'),
  );
  writeFileSync(join(dir, 'garbage.yaml'), randomBytes(256 * 1024));
  writeFileSync(join(dir, 'nul.yaml'), 'apiVersion: v1\nkind: Pod\u0000\nmetadata: {name: p}\n');
  writeFileSync(join(dir, 'dashes.yaml'), '---\n');
  writeFileSync(join(dir, 'empty.yaml'), '');
  writeFileSync(
    join(dir, 'bom.json'),
    '\ufeff' +
      JSON.stringify({
        apiVersion: 'v1',
        kind: 'Pod',
        metadata: { name: 'p', namespace: 'tenant-a' },
        spec: { hostNetwork: true, containers: [] },
      }),
  );
  writeFileSync(join(dir, 'crlf.yaml'), pod('true', '\r\n'));
  writeFileSync(join(dir, 'tabs.yaml'), 'apiVersion: v1\nkind: Pod\nmetadata:\n\tname: p\n');
  writeFileSync(
    join(dir, 'deep.yaml'),
    `apiVersion: v1\nkind: ConfigMap\ndata: ${'['.repeat(100_000)}${']'.repeat(100_000)}\n`,
  );
  writeFileSync(
    join(dir, 'long-line.yaml'),
    `apiVersion: v1\nkind: ConfigMap\nmetadata: {name: ${'n'.repeat(3_000_000)}}\n`,
  );
  writeFileSync(
    join(dir, 'tags.yaml'),
    // In a namespace: without one it is judged in "default" (as kubectl would create it), where
    // namespace-isolation denies everything.
    'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: !!js/function "() => 1", namespace: tenant-a}\n',
  );
  writeFileSync(
    join(dir, 'duplicate-keys.yaml'),
    'apiVersion: v1\nkind: Pod\nkind: Deployment\nmetadata: {name: p}\n',
  );
  writeFileSync(join(dir, 'yes.yaml'), pod('yes'));
  // A directory whose entries loop back on themselves through symlinks.
  mkdirSync(join(dir, 'loop', 'sub'), { recursive: true });
  symlinkSync('..', join(dir, 'loop', 'sub', 'up'));
  symlinkSync(join(dir, 'loop'), join(dir, 'loop', 'self'));
  writeFileSync(join(dir, 'loop', 'sub', 'ok.yaml'), pod('false'));
  symlinkSync(join(dir, 'selfloop.yaml'), join(dir, 'selfloop.yaml'));
  symlinkSync('/dev/zero', join(dir, 'zero.yaml'));
});

afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

describe('tollgate check on hostile inputs', () => {
  it('reads a 5 MB YAML file and gives a verdict', async () => {
    const run = await tollgate(['check', 'big.yaml', '--offline'], dir);
    expectCleanEnd(run);
    expect(run.code).toBe(0);
    expect(run.stdout).toContain('2500 resource(s)');
  });

  it('gives a verdict on a billion-laughs alias bomb without expanding it', async () => {
    const run = await tollgate(['check', 'bomb.yaml', '--offline', '--format', 'json'], dir);
    expectCleanEnd(run);
    expect(run.stdout.length).toBeLessThan(1_000_000);
  });

  it.each([
    // Over 128 KiB of garbage or nesting is refused unread (kubectl's own reader's cap, exactYamlBudget).
    [
      'binary garbage',
      'garbage.yaml',
      /garbage\.yaml.*(?:invalid YAML|not a Kubernetes object|needs kubectl’s own reader .* 128 KiB)/,
    ],
    ['tabs as indentation', 'tabs.yaml', /tabs\.yaml:4:\d+ error invalid YAML/],
    [
      'nesting 100 000 levels deep',
      'deep.yaml',
      /deep\.yaml:\d+:\d+ error (?:invalid YAML|this file needs kubectl’s own reader .* 128 KiB)/,
    ],
    ['a symlink to itself', 'selfloop.yaml', /selfloop\.yaml.*cannot read: ELOOP/],
    ['a symlink to /dev/zero', 'zero.yaml', /zero\.yaml.*cannot read: not a regular file/],
  ])('exits 2 naming the file on %s', async (_what, file, message) => {
    const run = await tollgate(['check', file, '--offline'], dir);
    expectCleanEnd(run);
    expect(run.code).toBe(2);
    expect(run.stdout + run.stderr).toMatch(message);
    expect(run.stdout).toContain('FAILED (input errors)');
  });

  it('reads duplicate keys as kubectl does: the later one wins', async () => {
    const run = await tollgate(['check', 'duplicate-keys.yaml', '--offline', '--format', 'json'], dir);
    expectCleanEnd(run);
    expect(run.code).not.toBe(2);
    expect(run.stdout).toContain('"Deployment"');
    expect(run.stdout).not.toContain('"Pod"');
  });

  it.each([
    ['only a document marker', 'dashes.yaml'],
    ['an empty file', 'empty.yaml'],
  ])('passes %s with zero resources', async (_what, file) => {
    const run = await tollgate(['check', file, '--offline'], dir);
    expectCleanEnd(run);
    expect(run.code).toBe(0);
    expect(run.stdout).toContain('0 resource(s)');
  });

  it.each([
    ['JSON with a byte-order mark', 'bom.json', /bom\.json:1:\d+ deny namespace-isolation Pod\/p/],
    ['CRLF line endings', 'crlf.yaml', /crlf\.yaml:5:3 deny namespace-isolation Pod\/p/],
    ['hostNetwork: yes (true for kubectl)', 'yes.yaml', /yes\.yaml:5:3 deny namespace-isolation Pod\/p/],
  ])('judges %s like any manifest', async (_what, file, finding) => {
    const run = await tollgate(['check', file, '--offline'], dir);
    expectCleanEnd(run);
    expect(run.code).toBe(1);
    expect(run.stdout).toMatch(finding);
  });

  it.each([
    ['a NUL byte in a value', 'nul.yaml'],
    ['a !!js/function tag (read as text, never run)', 'tags.yaml'],
  ])('gives a verdict or an input error on %s', async (_what, file) => {
    const run = await tollgate(['check', file, '--offline'], dir);
    expectCleanEnd(run);
    expect(run.code).not.toBe(1);
    expect(run.stdout).toMatch(/1 file\(s\)/);
  });

  it('reads a 3 MB line', async () => {
    const run = await tollgate(['check', 'long-line.yaml', '--offline'], dir);
    expectCleanEnd(run);
  });

  it('walks a directory with symlink loops once, without following them', async () => {
    const run = await tollgate(['check', 'loop', '--offline'], dir);
    expectCleanEnd(run);
    expect(run.code).toBe(0);
    expect(run.stdout).toContain('1 file(s), 1 resource(s)');
  });

  it.runIf(process.platform !== 'win32')('refuses a FIFO instead of blocking on it', async () => {
    const fifo = join(dir, 'fifo.yaml');
    const made = await new Promise<number | null>((resolve) =>
      spawn('mkfifo', [fifo]).on('close', (code) => resolve(code)),
    );
    expect(made).toBe(0);
    const run = await tollgate(['check', 'fifo.yaml', '--offline'], dir);
    expectCleanEnd(run);
    expect(run.code).toBe(2);
    expect(run.stdout).toMatch(/fifo\.yaml.*not a regular file/);
  });
});
