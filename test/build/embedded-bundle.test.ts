/**
 * The compiled command embeds the default bundle already parsed and skips its schema validation
 * (`prevalidated`), so the build is where that document is validated: it must refuse a default
 * bundle that loading would refuse, with loading's own message, and embed exactly what loading reads.
 */
import { readFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { embeddedDocument } from '../../scripts/build.ts';
import { loadBundle } from '../../policies/index.ts';

const baseline = await readFile(new URL('../../bundles/finance-baseline.yaml', import.meta.url), 'utf8');

describe('the embedded default bundle', () => {
  it('embeds the document loading reads, and loading it prevalidated gives the same bundle', () => {
    const document = embeddedDocument(baseline);
    const fromText = loadBundle(baseline, { source: 'b' });
    const prevalidated = loadBundle(baseline, { source: 'b', document, prevalidated: true });
    expect(prevalidated).toEqual(fromText);
  });

  it('refuses to build a default bundle the schema refuses', () => {
    const unknownField = baseline.replace('kind: PolicyBundle', 'kind: PolicyBundle\nunknownField: 1');
    expect(unknownField).not.toBe(baseline);
    expect(() => embeddedDocument(unknownField)).toThrow(/unknownField/);
    const badEnforcement = baseline.replace(/enforcement: deny/, 'enforcement: maybe');
    expect(badEnforcement).not.toBe(baseline);
    expect(() => embeddedDocument(badEnforcement)).toThrow(/enforcement/);
  });
});
