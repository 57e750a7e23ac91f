/**
 * docs/errors.md is the one table of error codes: every code the sources raise has a row, and every
 * row names a code that still exists. Codes are the `TOLLGATE_*` string literals of the non-test
 * sources: the `TollgateErrorCode` union in policies/engine/errors/tollgate-error.ts, which the error
 * constructors require, and any literal an edge passes.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('../../', import.meta.url));

/** Non-test TypeScript sources of the folders that raise errors. */
function sources(dir: string): string[] {
  return readdirSync(join(root, dir), { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return entry.name === 'testing' ? [] : sources(path);
    return entry.name.endsWith('.ts') && !entry.name.endsWith('.test.ts') ? [path] : [];
  });
}

const files = ['cli', 'io', 'policies', 'webhook', 'ci-action/src', 'audit'].flatMap(sources);
const text = new Map(files.map((file) => [file, readFileSync(join(root, file), 'utf8')]));

/** `TOLLGATE_*` codes written as string literals in the sources, with a file that raises each. */
const raised = new Map<string, string>();
for (const [file, source] of text)
  for (const match of source.matchAll(/['"](TOLLGATE_[A-Z][A-Z_]*[A-Z])['"]/g))
    if (match[1]) raised.set(match[1], relative(root, join(root, file)));

/** Codes of the table in docs/errors.md (first column). */
const documented = [
  ...readFileSync(join(root, 'docs/errors.md'), 'utf8').matchAll(/^\| `(TOLLGATE_[A-Z_]+)` \|/gm),
].map((match) => match[1] ?? '');

describe('docs/errors.md', () => {
  it('has a row for every code the sources raise', () => {
    expect(raised.size).toBeGreaterThanOrEqual(8);
    const missing = [...raised].filter(([code]) => !documented.includes(code));
    expect(missing).toEqual([]);
  });

  it('lists only codes that exist, once each', () => {
    const stale = documented.filter((code) => !raised.has(code));
    expect(stale).toEqual([]);
    expect(new Set(documented).size).toBe(documented.length);
  });
});
