import { describe, expect, it } from 'vitest';
import { parsePath, formatPath } from './path.ts';
import { parseSource } from './yaml-source.ts';

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
});
