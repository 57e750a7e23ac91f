/**
 * Differential test of tollgate's manifest reading against kubectl's own reader (the Go oracle
 * in test/e2e/apiserver/oracle): for every generated file, the objects `tollgate check` judges
 * must be exactly the objects `kubectl apply -f` would send, and a file kubectl refuses (wholly
 * or in part) must be refused by tollgate too. The one deliberate difference: tollgate refuses a
 * top-level object without a version in apiVersion (kubectl would ask the cluster which version
 * it means); those are counted and printed.
 *
 * A fixed seed runs in `npm test`; TOLLGATE_DIFF_CASES=100000 (and TOLLGATE_DIFF_SEED) run more.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isDeepStrictEqual } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { parseManifests } from '../../ci-action/src/gate/manifests.ts';
import { generateCases } from './manifest-generator.ts';
import { runOracle } from './kubectl-oracle.ts';

const cases = Number(process.env['TOLLGATE_DIFF_CASES'] ?? 3000);
const seed = Number(process.env['TOLLGATE_DIFF_SEED'] ?? 20261201);
const batch = 5000;
const dir = mkdtempSync(join(tmpdir(), 'tollgate-reader-diff-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Numbers as doubles, keys unordered: how both sides look once parsed as JSON. */
const normalize = (value: unknown): unknown => JSON.parse(JSON.stringify(value)) as unknown;

interface Disagreement {
  name: string;
  text: string;
  kubectl: unknown;
  tollgate: unknown;
}

function hasVersion(object: unknown): boolean {
  const apiVersion = (object as { apiVersion?: unknown }).apiVersion;
  if (typeof apiVersion !== 'string') return false;
  const parts = apiVersion.split('/');
  return parts.length <= 2 && (parts.at(-1) ?? '') !== '';
}

function isSubsequence(small: readonly unknown[], big: readonly unknown[]): boolean {
  let at = 0;
  for (const item of big) if (at < small.length && isDeepStrictEqual(item, small[at])) at++;
  return at === small.length;
}

describe('tollgate reads manifests exactly as kubectl does', () => {
  it(
    `agrees with kubectl's reader on ${cases} generated files (seed ${seed})`,
    async () => {
      const disagreements: Disagreement[] = [];
      let objects = 0;
      let refusedByKubectl = 0;
      let stricter = 0;
      for (let start = 0; start < cases; start += batch) {
        const generated = generateCases(seed + start, Math.min(batch, cases - start));
        const paths = generated.map((c) => join(dir, c.name));
        generated.forEach((c, i) => writeFileSync(paths[i] as string, c.bytes));
        const results = await runOracle(paths);
        results.forEach((kubectl, i) => {
          const generatedCase = generated[i];
          if (!generatedCase) return;
          const tollgate = parseManifests(generatedCase.name, generatedCase.bytes);
          const ours = tollgate.manifests.map((m) => normalize(m.object));
          const all = kubectl.objects.map((o) => normalize(o.object));
          // The deliberate difference: tollgate refuses objects with no version in apiVersion.
          const theirs = all.filter((o) => hasVersion(o));
          objects += all.length;
          stricter += all.length - theirs.length;
          const versionless = tollgate.errors.filter((e) => e.message.startsWith('object has no apiVersion'));
          let agree: boolean;
          if (kubectl.errors.length > 0) {
            // kubectl stops reading a file at a syntax error; tollgate reads on (and judges more).
            refusedByKubectl++;
            agree = tollgate.errors.length > versionless.length && isSubsequence(theirs, ours);
          } else {
            agree = tollgate.errors.length === all.length - theirs.length && isDeepStrictEqual(ours, theirs);
          }
          if (!agree)
            disagreements.push({
              name: generatedCase.name,
              text: Buffer.from(generatedCase.bytes).toString('utf8'),
              kubectl: { objects: theirs, errors: kubectl.errors },
              tollgate: { objects: ours, errors: tollgate.errors.map((e) => e.message) },
            });
        });
      }
      process.stdout.write(
        `reader differential: ${cases} files (seed ${seed}), ${objects} objects kubectl would send, ` +
          `${refusedByKubectl} files kubectl refuses, ${stricter} version-less objects tollgate refuses, ` +
          `${disagreements.length} disagreements\n`,
      );
      if (process.env['TOLLGATE_DIFF_OUT'])
        writeFileSync(process.env['TOLLGATE_DIFF_OUT'], JSON.stringify(disagreements, null, 1));
      for (const d of disagreements.slice(0, 5))
        process.stdout.write(
          `--- ${d.name}\n${JSON.stringify(d.text)}\nkubectl:  ${JSON.stringify(d.kubectl)}\ntollgate: ${JSON.stringify(d.tollgate)}\n`,
        );
      expect(disagreements.map((d) => d.name)).toEqual([]);
    },
    30 * 60_000,
  );
});
