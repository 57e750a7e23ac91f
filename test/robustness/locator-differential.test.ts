/**
 * Differential test of the two ways a finding is placed in its file: a document the plain reader
 * reads is located from the spans that reader records (plain-yaml.ts `plainSpans`), anything else
 * from js-yaml's event stream (yaml-source.ts `eventLocator`). For every document of the reader
 * differential's generated files, of the repository's own YAML files (policy samples, examples,
 * bundles, suites) and of the check bench's corpus that the plain reader reads, both must give the
 * same line, column,
 * end line and end column for every path in the document, for a missing key under every mapping
 * and for an index past the end of every list (both fall back to the deepest existing ancestor).
 *
 * A fixed seed runs in `npm test`; TOLLGATE_LOCATOR_CASES (and TOLLGATE_LOCATOR_SEED) run more.
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { plainSpans, readPlainYaml, unusualCharacter } from '../../policies/engine/plain-yaml.ts';
import type { PathSegment } from '../../policies/engine/path.ts';
import { eventLocator, locatorFor } from '../../policies/engine/yaml-source.ts';
import type { Chunk } from '../../policies/engine/yaml-source.ts';
import { generateCorpus } from '../../bench/corpus.ts';
import { generateCases } from './manifest-generator.ts';

const cases = Number(process.env['TOLLGATE_LOCATOR_CASES'] ?? 3000);
const seed = Number(process.env['TOLLGATE_LOCATOR_SEED'] ?? 20261201);

/** Every path in a value, with a missing key under each mapping and an index past each list. */
function paths(value: unknown, at: PathSegment[] = [], out: PathSegment[][] = []): PathSegment[][] {
  out.push(at);
  if (Array.isArray(value)) {
    value.forEach((item, index) => paths(item, [...at, index], out));
    out.push([...at, value.length], [...at, 'missing']);
  } else if (typeof value === 'object' && value !== null) {
    for (const [key, item] of Object.entries(value)) paths(item, [...at, key], out);
    out.push([...at, 'missing', 'deeper'], [...at, 0]);
  }
  return out;
}

/** The documents of a file as kubectl's reader splits them (at lines starting with `---`). */
function chunks(text: string): Chunk[] {
  const out: Chunk[] = [];
  let lineOffset = 0;
  for (const part of text.split(/^(?=---)/m)) {
    out.push({ text: part, lineOffset });
    lineOffset += part.split('\n').length - 1;
  }
  return out;
}

const hand = [
  'a: 1\n',
  "a:\n  b: \"q\\\"uoted\"  # comment\n  c: 'it''s'\n",
  'list:\n- a\n-   b\n- - c\n  - d\n-\n- k: v\n  l: [x, "y", 3]\nnext: {}\nempty: []\n',
  'text: |\n  one\n\n  two\n\n\nafter: 1\n',
  'text: |-\n    deep\n  # less indented comment\nother: x',
  'anchored: &a value\nalias: *a\nnested: &b\n  k: v\n',
  '--- # start\nkind: Pod\nspec:\n  containers:\n    - name: c\n      image: nginx   \n',
  'a:\n  b:\n  c:\n    d: ~\n',
  'last: |\n  no final newline',
];

/** The repository's own YAML files: policy samples, suites and bundles, examples. */
function repositoryYaml(): string[] {
  const root = new URL('../../', import.meta.url).pathname;
  const out: string[] = [];
  const walk = (dir: string): void => {
    for (const entry of readdirSync(join(root, dir), { withFileTypes: true })) {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) walk(path);
      else if (/\.ya?ml$/.test(entry.name)) out.push(readFileSync(join(root, path), 'utf8'));
    }
  };
  for (const dir of ['policies', 'examples', 'bundles']) walk(dir);
  return out;
}

describe('plain-reader positions equal js-yaml event positions', () => {
  const disagreements: string[] = [];
  /** Compares both locators on every path of a chunk; returns the paths compared (0: not plain). */
  const compare = (chunk: Chunk): number => {
    if (unusualCharacter.test(chunk.text)) return 0;
    const spans = plainSpans(chunk.text);
    const read = readPlainYaml(chunk.text);
    if (!spans || !read) return 0;
    let reference: ReturnType<typeof eventLocator>;
    try {
      reference = eventLocator(chunk);
    } catch {
      return 0; // js-yaml refuses it (YAML 1.2): it was never located that way
    }
    const fast = locatorFor(chunk);
    const all = paths(read.value);
    for (const path of all) {
      const want = reference(path);
      const got = fast(path);
      if (JSON.stringify(want) !== JSON.stringify(got) && disagreements.length < 5)
        disagreements.push(
          `${JSON.stringify(path)} in ${JSON.stringify(chunk.text)}: js-yaml ${JSON.stringify(want)}, plain ${JSON.stringify(got)}`,
        );
    }
    return all.length;
  };
  const run = (texts: Iterable<string>): { documents: number; paths: number } => {
    let documents = 0;
    let compared = 0;
    for (const text of texts)
      for (const chunk of chunks(text)) {
        const n = compare(chunk);
        if (n > 0) documents++;
        compared += n;
      }
    return { documents, paths: compared };
  };

  it('agrees on hand-written documents', () => {
    const { documents } = run(hand.map((text) => `# a comment\n# and another\n${text}`));
    expect(disagreements).toEqual([]);
    expect(documents).toBe(hand.length);
  });

  it("agrees on the repository's YAML and the check bench's corpus", async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tollgate-locator-'));
    try {
      await generateCorpus(dir, 2000);
      const corpus = readdirSync(dir, { recursive: true, withFileTypes: true })
        .filter((entry) => entry.isFile())
        .map((entry) => readFileSync(join(entry.parentPath, entry.name), 'utf8'));
      const { documents } = run([...repositoryYaml(), ...corpus]);
      expect(disagreements).toEqual([]);
      expect(documents).toBeGreaterThan(2000);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it(`agrees on ${cases} generated files (seed ${seed})`, () => {
    const texts = generateCases(seed, cases).map((c) => Buffer.from(c.bytes).toString('utf8'));
    const { documents } = run(texts);
    expect(disagreements).toEqual([]);
    // About one file in twenty holds a document both read (most are built to be unusual).
    expect(documents).toBeGreaterThan(cases / 40);
  });
});
