/**
 * Every policy folder documents and tests itself the same way (after gatekeeper-library): a
 * README.md that states the policy's version and documents every parameter, samples under
 * samples/{allowed,denied} judged with samples/bundle.yaml, and a suite.yaml that `tollgate bundle
 * test` runs, asserting each sample's decision, statuses and finding paths. Folders are discovered by listing policies/, so a new policy
 * is held to this without touching the test; each suite runs through the real command.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import semver from 'semver';
import { describe, expect, it } from 'vitest';
import { parse, parseAllDocuments } from 'yaml';
import { main } from '../../cli/main.ts';
import { builtinPolicies } from '../../policies/index.ts';
import { customRulesVersion } from '../../policies/custom-rules/index.ts';

const root = fileURLToPath(new URL('../../', import.meta.url));
const policiesDir = join(root, 'policies');

/** Policy folders: every directory of policies/ except the engine. */
const folders = readdirSync(policiesDir, { withFileTypes: true })
  .filter((entry) => entry.isDirectory() && entry.name !== 'engine')
  .map((entry) => entry.name)
  .sort();

interface SuiteCase {
  name: string;
  manifest?: string;
  document?: number;
  expect: {
    decision?: 'allow' | 'deny';
    policies?: Record<string, string | { status: string; paths?: string[] }>;
  };
}

/** The version a folder's policy reports: the built-in's, or the rule language's for custom-rules. */
function versionOf(folder: string): string | undefined {
  if (folder === 'custom-rules') return customRulesVersion;
  return builtinPolicies.find((policy) => policy.id === folder)?.version;
}

/** `samples/<verdict>/<file>#<document>` for every document of every sample file. */
function sampleDocuments(folder: string, verdict: 'allowed' | 'denied'): string[] {
  const dir = join(policiesDir, folder, 'samples', verdict);
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .filter((file) => /\.ya?ml$/.test(file))
    .sort()
    .flatMap((file) => {
      const count = parseAllDocuments(readFileSync(join(dir, file), 'utf8')).length;
      return Array.from({ length: count }, (_, index) => `samples/${verdict}/${file}#${index}`);
    });
}

async function bundleTest(suite: string): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const code = await main(['bundle', 'test', suite, '--format', 'json'], {
    stdout: (text) => (out += text),
    stderr: (text) => (err += text),
    stdin: async () => '',
    cwd: root,
    env: {},
  });
  return { code, out, err };
}

describe('policy folders', () => {
  it('finds the policy folders, and every built-in policy has one', () => {
    expect(folders.length).toBeGreaterThanOrEqual(7);
    for (const policy of builtinPolicies) expect(folders).toContain(policy.id);
  });

  describe.each(folders)('%s', (folder) => {
    const dir = join(policiesDir, folder);

    it('has a README, a suite and samples of both kinds', () => {
      for (const file of ['index.ts', 'README.md', 'suite.yaml', 'samples/bundle.yaml'])
        expect(existsSync(join(dir, file)), `${folder}/${file}`).toBe(true);
      expect(sampleDocuments(folder, 'allowed').length).toBeGreaterThan(0);
      expect(sampleDocuments(folder, 'denied').length).toBeGreaterThan(0);
    });

    it('has a semver version, stated in its README', () => {
      const version = versionOf(folder);
      expect(version, `${folder} is registered in policies/index.ts with a version`).toBeDefined();
      expect(semver.valid(version ?? ''), `${folder} version ${version}`).toBe(version);
      const readme = readFileSync(join(dir, 'README.md'), 'utf8');
      expect(readme).toContain(`**Version:** ${version}`);
    });

    it('its README documents every parameter of its schema', () => {
      const policy = builtinPolicies.find((p) => p.id === folder);
      const properties = (policy?.paramsSchema as { properties?: Record<string, unknown> } | undefined)
        ?.properties;
      const readme = readFileSync(join(dir, 'README.md'), 'utf8');
      const undocumented = Object.keys(properties ?? {}).filter(
        (key) => !['`', '.', '['].some((after) => readme.includes(`\`${key}${after}`)),
      );
      expect(undocumented).toEqual([]);
    });

    it('its suite covers every sample document with a decision that matches its folder', () => {
      const suite = parse(readFileSync(join(dir, 'suite.yaml'), 'utf8')) as {
        bundle: string;
        cases: SuiteCase[];
      };
      expect(suite.bundle).toBe('samples/bundle.yaml');
      const covered = new Map<string, SuiteCase>();
      for (const testCase of suite.cases)
        if (testCase.manifest) covered.set(`${testCase.manifest}#${testCase.document ?? 0}`, testCase);
      for (const verdict of ['allowed', 'denied'] as const) {
        const documents = sampleDocuments(folder, verdict);
        for (const document of documents) {
          const testCase = covered.get(document);
          expect(testCase, `${folder}/suite.yaml has a case for ${document}`).toBeDefined();
          expect(testCase?.expect.decision, `${document} decision`).toBeDefined();
          expect(Object.keys(testCase?.expect.policies ?? {}).length, document).toBeGreaterThan(0);
          if (verdict === 'allowed') expect(testCase?.expect.decision, document).toBe('allow');
        }
        if (verdict === 'denied') {
          for (const file of new Set(documents.map((d) => d.replace(/#\d+$/, '')))) {
            const denials = documents
              .filter((d) => d.startsWith(`${file}#`))
              .map((d) => covered.get(d))
              .filter((c) => c?.expect.decision === 'deny');
            expect(denials.length, `${file} is denied by its suite`).toBeGreaterThan(0);
            // A denial names where: some failing policy of each denied case lists its finding paths.
            for (const denial of denials) {
              const withPaths = Object.values(denial?.expect.policies ?? {}).some(
                (p) => typeof p === 'object' && p.status === 'fail' && (p.paths ?? []).length > 0,
              );
              expect(withPaths, `${denial?.name} asserts finding paths`).toBe(true);
            }
          }
        }
      }
    });

    it('passes `tollgate bundle test`', async () => {
      const { code, out, err } = await bundleTest(`policies/${folder}/suite.yaml`);
      expect(err).toBe('');
      const result = JSON.parse(out) as {
        cases: Array<{ name: string; passed: boolean; failures: Array<{ message: string }> }>;
      };
      const failures = result.cases
        .filter((c) => !c.passed)
        .map((c) => `${c.name}: ${c.failures.map((f) => f.message).join('; ')}`);
      expect(failures).toEqual([]);
      expect(code).toBe(0);
    });
  });
});
