import { describe, expect, it } from 'vitest';
import { parsePath, formatPath } from './path.ts';
import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parseSource, parseWithPositions } from './yaml-source.ts';
import { getIn } from './workloads.ts';

const text = `# Source: chart/templates/deploy.yaml
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  annotations:
    "tollgate.dev/break-glass": "x"
spec:
  template:
    spec:
      containers:
        - name: a
          image: one
        - name: b
          image: two
---
apiVersion: v1
kind: List
items: [{kind: Pod, apiVersion: v1, spec: {containers: [{name: c, image: "three"}]}}]
`;

describe('parseSource', () => {
  it('maps JSON paths to the line and column of the field', () => {
    const { documents, errors } = parseSource(text);
    expect(errors).toEqual([]);
    expect(documents).toHaveLength(2);
    const [first, second] = documents;
    expect(first?.renderedFrom).toBe('chart/templates/deploy.yaml');
    expect(first?.locate(parsePath('spec.template.spec.containers[1].image'))).toEqual({
      line: 15,
      column: 11,
      endLine: 15,
      endColumn: 21,
    });
    expect(first?.locate(parsePath('metadata.annotations["tollgate.dev/break-glass"]')).line).toBe(7);
    // a missing field falls back to its deepest existing ancestor
    expect(first?.locate(parsePath('spec.template.spec.containers[0].resources.limits')).line).toBe(12);
    expect(second?.locate(parsePath('items[0].spec.containers[0].image'))).toMatchObject({
      line: 19,
      column: 67,
    });
  });

  it('reports a broken document with its line and keeps the others', () => {
    const { documents, errors } = parseSource('kind: A\n---\nkind: a: b\n---\nkind: C\n');
    expect(documents.map((d) => (d.value as { kind: string }).kind)).toEqual(['A', 'C']);
    expect(errors).toHaveLength(1);
    expect(errors[0]?.line).toBe(3);
  });

  it('round-trips formatted paths', () => {
    const segments = ['metadata', 'annotations', 'a.b/c', 'x', 0, 'y'];
    expect(parsePath(formatPath(segments))).toEqual(segments);
    expect(formatPath(segments)).toBe('metadata.annotations["a.b/c"].x[0].y');
  });

  it.each([
    ['a leading comment-only chunk and a trailing marker', '# header\n---\nkind: A\n---\n', ['A'], [3]],
    ['inline content on the marker line', '--- {kind: A}\n--- \nkind: B\n', ['A', 'B'], [1, 3]],
    ['CRLF line endings', 'kind: A\r\n---\r\nkind: B\r\n', ['A', 'B'], [1, 3]],
    ['merge keys', 'base: &b {kind: A}\nobj:\n  <<: *b\n', [undefined], [1]],
    [
      'a block scalar containing a dashes line that is not a marker',
      'kind: A\ndata: |\n  ---\n  x\n',
      ['A'],
      [1],
    ],
  ])('splits documents correctly: %s', (_name, text, kinds, lines) => {
    const { documents, errors } = parseSource(text);
    expect(errors).toEqual([]);
    expect(documents.map((d) => (d.value as { kind?: string }).kind)).toEqual(kinds);
    expect(documents.map((d) => d.span.line)).toEqual(lines);
  });

  it('falls back to the full parser for duplicate keys and directives, with lines', () => {
    const duplicate = parseSource('kind: A\n---\nkind: B\nkind: C\n');
    expect(duplicate.documents.map((d) => (d.value as { kind: string }).kind)).toEqual(['A']);
    expect(duplicate.errors[0]).toMatchObject({ index: 1, line: 4 });
    const directive = parseSource('%YAML 1.2\n---\nkind: A\n');
    expect(directive.documents.map((d) => (d.value as { kind: string }).kind)).toEqual(['A']);
  });

  it('gives the same values and positions as the reference parser on every YAML file in the repository', () => {
    const root = fileURLToPath(new URL('../..', import.meta.url));
    const files: string[] = [];
    const walk = (dir: string) => {
      for (const entry of readdirSync(dir, { withFileTypes: true })) {
        if (entry.name === 'node_modules' || entry.name.startsWith('.') || entry.name === 'templates')
          continue;
        const path = `${dir}/${entry.name}`;
        if (entry.isDirectory()) walk(path);
        else if (/\.ya?ml$/.test(entry.name)) files.push(path);
      }
    };
    for (const dir of ['examples', 'policies', 'bundles', 'charts']) walk(`${root}${dir}`);
    expect(files.length).toBeGreaterThan(20);
    for (const file of files) {
      const text = readFileSync(file, 'utf8');
      const fast = parseSource(text);
      const reference = parseWithPositions(text);
      expect({ file, values: fast.documents.map((d) => d.value) }).toEqual({
        file,
        values: reference.documents.map((d) => d.value),
      });
      expect({ file, errors: fast.errors.length }).toEqual({ file, errors: reference.errors.length });
      fast.documents.forEach((doc, i) => {
        const other = reference.documents[i];
        expect(doc.index).toBe(other?.index);
        expect(doc.renderedFrom).toBe(other?.renderedFrom);
        // scalars: the whole span; collections: where they start (the reference parser ends a block
        // collection at the start of the next line, ours at its last character)
        for (const path of [['metadata', 'name'], ['kind'], ['spec'], ['spec', 'template']]) {
          const ours = doc.locate(path);
          const theirs = other?.locate(path);
          const scalar = typeof getIn(doc.value, path) === 'string';
          if (scalar) expect({ file, path, span: ours }).toEqual({ file, path, span: theirs });
          else
            expect({ file, path, line: ours.line, column: ours.column }).toEqual({
              file,
              path,
              line: theirs?.line,
              column: theirs?.column,
            });
        }
      });
    }
  });
});
