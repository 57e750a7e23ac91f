/**
 * `.ci/tools.sh`, the set-up step of `npm test`, on machines it cannot change: a dry run against a
 * Debian package database without some of the packages (the real dpkg-query reading a copy of the
 * machine's database, through dpkg's DPKG_ADMINDIR) and an empty tool cache plans every install and
 * build and changes nothing; against the warm cache `npm test` has just set up, it plans nothing.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { toolsDir } from '../e2e/tools.ts';

const script = new URL('../../.ci/tools.sh', import.meta.url).pathname;
const scratch = mkdtempSync(join(tmpdir(), 'tollgate-tools-test-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

function dryRun(env: Record<string, string>): { status: number | null; lines: string[] } {
  const result = spawnSync('bash', [script, '--dry-run'], {
    encoding: 'utf8',
    env: { ...process.env, ...env },
  });
  return { status: result.status, lines: `${result.stderr}${result.stdout}`.split('\n') };
}

/** A copy of the machine's dpkg database without the given packages. */
function databaseWithout(...packages: string[]): string {
  const admin = mkdtempSync(join(scratch, 'dpkg-'));
  const stanzas = readFileSync('/var/lib/dpkg/status', 'utf8').split(/\n\n+/);
  const kept = stanzas.filter((stanza) => !packages.some((name) => stanza.startsWith(`Package: ${name}\n`)));
  expect(kept.length).toBe(stanzas.length - packages.length);
  writeFileSync(join(admin, 'status'), `${kept.join('\n\n')}\n`);
  return admin;
}

describe('.ci/tools.sh --dry-run', () => {
  it('on a machine without the Debian packages and an empty cache, plans every set-up step and changes nothing', () => {
    const cache = join(scratch, 'empty-cache');
    const { status, lines } = dryRun({
      DPKG_ADMINDIR: databaseWithout('docker-registry', 'skopeo'),
      TOLLGATE_TOOLS_DIR: cache,
    });
    expect(status).toBe(0);
    // the first line says what is set up and how long the first run takes
    expect(lines[0]).toMatch(
      /^\[tools\] setting up the test tools once, into .*empty-cache\/bin: Debian packages skopeo docker-registry \(~1 min\); helm v\S+ built with Go \(~\d+ min\); kube-apiserver v\S+ built with Go \(~\d+ min\); the kubectl reader oracle built with Go \([^)]*\); cosign v\S+ built with Go \(~\d+ min\); pre-commit \S+ installed with pip \(~\d+ min\)\. This first run takes about \d+ min/,
    );
    const planned = lines
      .filter((line) => line.startsWith('[tools] would run: '))
      .map((line) => line.slice(19));
    const update = planned.indexOf('apt-get update');
    const install = planned.indexOf('apt-get install -y --no-install-recommends skopeo docker-registry');
    expect(update).toBeGreaterThanOrEqual(0);
    expect(install).toBeGreaterThan(update);
    expect(
      planned.some((command) => /^env GOBIN=\S+empty-cache\/bin go install .*helm@v/.test(command)),
    ).toBe(true);
    expect(
      planned.some((command) => /^go build .* k8s\.io\/kubernetes\/cmd\/kube-apiserver$/.test(command)),
    ).toBe(true);
    expect(
      planned.some((command) =>
        /^env GOBIN=\S+empty-cache\/bin go install .*github\.com\/sigstore\/cosign\/v2\/cmd\/cosign@v/.test(
          command,
        ),
      ),
    ).toBe(true);
    expect(planned).toContain(`python3 -m venv ${cache}/pre-commit-venv`);
    expect(existsSync(cache)).toBe(false);
  });

  it('with every package installed and the warm cache of npm test, plans nothing', () => {
    const { status, lines } = dryRun({ TOLLGATE_TOOLS_DIR: toolsDir() });
    expect(status).toBe(0);
    expect(lines[0]).toBe(`[tools] test tools ready in ${join(toolsDir(), 'bin')}`);
    expect(lines.filter((line) => /would run: (apt-get|go|env)/.test(line))).toEqual([]);
  });

  it('refuses an unknown argument', () => {
    const result = spawnSync('bash', [script, '--frobnicate'], { encoding: 'utf8' });
    expect(result.status).toBe(2);
    expect(result.stderr).toContain('usage: bash .ci/tools.sh [--dry-run]');
  });
});
