/**
 * Conformance with Pod Security Admission: every fixture PSA ships in k8s.io/pod-security-admission's
 * test/testdata (vendored in test/fixtures/psa, every level and version, pass and fail) goes through
 * the review path with pod-security at the fixture's level and version and must get PSA's verdict;
 * a fail fixture must be denied by a finding of the check its file name names. Prints the count per
 * level and version.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { builtinPolicies, loadBundle, review } from '../index.ts';
import type { KubeObject } from '../index.ts';

const tarball = fileURLToPath(new URL('../../test/fixtures/psa/testdata.tar.gz', import.meta.url));
const scratch = mkdtempSync(join(tmpdir(), 'tollgate-psa-'));
execFileSync('tar', ['-xzf', tarball, '-C', scratch]);
const root = join(scratch, 'testdata');
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

interface Fixture {
  readonly file: string;
  readonly expect: 'pass' | 'fail';
  /** The check a fail fixture exercises, from its name (`capabilities_restricted1.yaml`). */
  readonly check: string;
}

/** Every level and version directory the module ships, sorted by minor. */
const cells = readdirSync(root, { withFileTypes: true })
  .filter((entry) => entry.isDirectory())
  .flatMap((level) =>
    readdirSync(join(root, level.name))
      .map((version) => ({ level: level.name, version, minor: Number(version.replace(/^v1\./, '')) }))
      .sort((a, b) => a.minor - b.minor),
  );

function fixturesOf(level: string, version: string): Fixture[] {
  return (['pass', 'fail'] as const).flatMap((expect) => {
    const dir = join(root, level, version, expect);
    let files: string[];
    try {
      files = readdirSync(dir);
    } catch {
      return [];
    }
    return files
      .filter((file) => file.endsWith('.yaml'))
      .map((file) => ({ file: join(dir, file), expect, check: file.replace(/[0-9]*\.yaml$/, '') }));
  });
}

function bundleFor(level: string, version: string) {
  return loadBundle(
    JSON.stringify({
      apiVersion: 'tollgate.dev/v1',
      kind: 'PolicyBundle',
      metadata: { name: 'psa-conformance', version: '1.0.0' },
      spec: { policies: { 'pod-security': { enforcement: 'deny', level, version } } },
    }),
    { source: 'psa-conformance', policies: builtinPolicies },
  );
}

/**
 * PSA's restricted checks that replace a baseline check (their OverrideCheckIDs): at restricted, a
 * fixture of the baseline check fails by the restricted one, from the version that introduced it.
 */
const overriddenBy: Readonly<Record<string, { readonly check: string; readonly from: number }>> = {
  hostpathvolumes: { check: 'restrictedvolumes', from: 0 },
  capabilities_baseline: { check: 'capabilities_restricted', from: 22 },
  seccompprofile_baseline: { check: 'seccompprofile_restricted', from: 19 },
};

function expectedCheck(check: string, level: string, minor: number): string {
  const override = overriddenBy[check];
  return level === 'restricted' && override && minor >= override.from ? override.check : check;
}

/**
 * A fixture as the Pod PSA judges and inside the templates of the workload kinds (PSA judges those
 * too, for warnings and audit): each must get the fixture's verdict.
 */
function asEveryKind(pod: KubeObject): KubeObject[] {
  const template = { metadata: pod.metadata, spec: pod.spec };
  const meta = { name: pod.metadata?.name ?? 'fixture' };
  return [
    pod,
    { apiVersion: 'apps/v1', kind: 'Deployment', metadata: meta, spec: { template } },
    {
      apiVersion: 'batch/v1',
      kind: 'CronJob',
      metadata: meta,
      spec: { schedule: '@daily', jobTemplate: { spec: { template } } },
    },
    { apiVersion: 'v1', kind: 'PodTemplate', metadata: meta, template },
  ];
}

const counts: string[] = [];
const totals = { passed: 0, total: 0 };
afterAll(() => {
  console.log(
    `PSA fixtures (k8s.io/pod-security-admission test/testdata; each as a Pod and in Deployment, CronJob and PodTemplate templates), passed/total:\n${counts.join('\n')}\nall: ${totals.passed}/${totals.total}`,
  );
});

describe('Pod Security Admission fixtures', () => {
  it('ships both levels and every version from v1.0', () => {
    expect(new Set(cells.map((cell) => cell.level))).toEqual(new Set(['baseline', 'restricted']));
    for (const level of ['baseline', 'restricted'])
      expect(cells.filter((cell) => cell.level === level).map((cell) => cell.minor)).toEqual([
        ...Array(35).keys(),
      ]);
  });

  it.each(cells)('$level $version: every fixture gets PSA verdict', async ({ level, version, minor }) => {
    const bundle = bundleFor(level, version);
    const fixtures = fixturesOf(level, version);
    const wrong: string[] = [];
    for (const fixture of fixtures)
      for (const manifest of asEveryKind(parse(readFileSync(fixture.file, 'utf8')) as KubeObject)) {
        const outcome = await review({ manifest }, bundle, {
          now: new Date('2026-12-01T12:00:00Z'),
          point: 'admission',
        });
        const result = outcome.report?.results.find((entry) => entry.policy === 'pod-security');
        const checks = new Set(
          (result?.findings ?? []).map((finding) => String(finding.details?.check ?? '').toLowerCase()),
        );
        const ok =
          fixture.expect === 'pass'
            ? outcome.report?.decision === 'allow' && result?.status === 'pass'
            : outcome.report?.decision === 'deny' && checks.has(expectedCheck(fixture.check, level, minor));
        if (!ok)
          wrong.push(
            `${fixture.expect}/${fixture.file.split('/').pop() ?? ''} as ${String(manifest.kind)}: ${result?.status ?? 'no result'} ${[...checks].join(',')}`,
          );
      }
    const pass = fixtures.filter((fixture) => fixture.expect === 'pass').length;
    const failed = new Set(wrong.map((line) => line.split(' as ')[0]));
    counts.push(
      `${level} ${version}: ${fixtures.length - failed.size}/${fixtures.length} (pass ${pass}, fail ${fixtures.length - pass})`,
    );
    totals.passed += fixtures.length - failed.size;
    totals.total += fixtures.length;
    expect(fixtures.length).toBeGreaterThan(0);
    expect(wrong).toEqual([]);
  });
});
