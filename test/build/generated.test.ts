/**
 * The files generated ahead of time (the ajv standalone bundle validator, the holiday calendar
 * codes) must be what `npm run generate` produces from the current policies and dependencies.
 * When this fails, run `npm run generate` and commit the result.
 */
import { readFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { generatedFiles } from '../../scripts/generated.ts';
import { builtinPolicies, loadBundle } from '../../policies/index.ts';
import type { Policy } from '../../policies/index.ts';
import builtinBundleValidator from '../../policies/bundle-validator.generated.js';

const root = new URL('../../', import.meta.url);

describe('generated files', () => {
  for (const file of generatedFiles()) {
    it(`${file.path} is fresh`, async () => {
      const current = await readFile(new URL(file.path, root), 'utf8').catch(() => '');
      expect(current === file.text, `${file.path} is stale: run \`npm run generate\` and commit it`).toBe(
        true,
      );
    });
  }

  it('the generated validator reports what ajv compiling the schema at run time reports', () => {
    const bad =
      'apiVersion: tollgate.dev/v1\nkind: PolicyBundle\nmetadata: {name: X, version: 1.0.0}\n' +
      'spec:\n  policies:\n    nope: {}\n    resource-limits: {enforcement: maybe}\n' +
      '  exemptions: [{policy: signed-images, reason: r, ticket: t, expires: tomorrow}]\n';
    const message = (policies?: readonly Policy<unknown>[]) => {
      try {
        loadBundle(bad, { source: 'bad.yaml', ...(policies ? { policies } : {}) });
      } catch (error) {
        return (error as Error).message;
      }
      return 'loaded';
    };
    // A copy of the list is not the built-in list: its validator is compiled with ajv.
    const compiled = message([...builtinPolicies]);
    expect(compiled).toMatch(/nope/);
    expect(compiled).toMatch(/expires/);
    expect(message()).toBe(compiled);
    expect(builtinBundleValidator({ apiVersion: 'tollgate.dev/v1' })).toBe(false);
  });
});
