import { describe, expect, it } from 'vitest';
import { readPlainYaml } from './plain-yaml.ts';

// Expected values are go-yaml v2's (sigs.k8s.io/yaml, as kubectl reads manifests).
describe('plain block YAML read in one pass', () => {
  it('reads mappings, sequences (also at their key’s indentation) and compact entries', () => {
    const text = [
      '# a comment',
      'apiVersion: apps/v1',
      'kind: Deployment',
      'metadata:',
      '  name: web   # trailing comment',
      '  labels: {}',
      'spec:',
      '  replicas: 3',
      '  template:',
      '    spec:',
      '      containers:',
      '      - name: app',
      '        image: registry.example/app:1.0',
      '        args: ["--port", \'80\', -v, 1.5, yes]',
      '        ports:',
      '          -   containerPort: 8080',
      '              protocol: TCP',
      '      volumes: []',
      '      nodeSelector:',
      '      tolerations:',
      '      -',
      '        key: a',
      '      - - nested',
      '        - 0x10',
      '',
    ].join('\n');
    expect(readPlainYaml(text)).toEqual({
      value: {
        apiVersion: 'apps/v1',
        kind: 'Deployment',
        metadata: { name: 'web', labels: {} },
        spec: {
          replicas: 3,
          template: {
            spec: {
              containers: [
                {
                  name: 'app',
                  image: 'registry.example/app:1.0',
                  args: ['--port', '80', '-v', 1.5, true],
                  ports: [{ containerPort: 8080, protocol: 'TCP' }],
                },
              ],
              volumes: [],
              nodeSelector: null,
              tolerations: [{ key: 'a' }, ['nested', 16]],
            },
          },
        },
      },
    });
  });

  it('types plain scalars as go-yaml v2 does and keeps quoted ones strings', () => {
    const text = [
      'a: on',
      'b: 0755',
      'c: ~',
      'd: "on"',
      "e: 'it''s'",
      'f: "tab\\tand \\"quote\\" and \\\\"',
      'g: 1_000',
      'h: 2001-12-14',
      'i: a#b',
      'j: x # comment',
      'k: -1',
      'l:',
      'm: "0 3 * * *"',
      'n: *unknown',
      '',
    ].join('\n');
    // An alias of no anchor is left to the general reader; the rest without it is read.
    expect(readPlainYaml(text)).toBeUndefined();
    expect(readPlainYaml(text.replace('n: *unknown\n', ''))).toEqual({
      value: {
        a: true,
        b: 493,
        c: null,
        d: 'on',
        e: "it's",
        f: 'tab\tand "quote" and \\',
        g: 1000,
        h: '2001-12-14',
        i: 'a#b',
        j: 'x',
        k: -1,
        l: null,
        m: '0 3 * * *',
      },
    });
  });

  it('reads literal block scalars with their blank and more indented lines', () => {
    const text = [
      'data:',
      '  a: |',
      '    one',
      '',
      '      two  ',
      '    three',
      '',
      '  b: |-',
      '    x',
      'c: 1',
      '',
    ];
    expect(readPlainYaml(text.join('\n'))).toEqual({
      value: { data: { a: 'one\n\n  two  \nthree\n', b: 'x' }, c: 1 },
    });
  });

  it('reads anchors that no alias refers to (they change nothing)', () => {
    const text = ['a: &x 1', 'b: &y-2', '  c: [d]', 'e:', '- &z "v"', '- &w', '  f: |', '    g', ''].join(
      '\n',
    );
    expect(readPlainYaml(text)).toEqual({ value: { a: 1, b: { c: ['d'] }, e: ['v', { f: 'g\n' }] } });
  });

  it('reads aliases of anchored scalars as their values, the latest anchor of a name winning', () => {
    const text = ['a: &x 0755', 'b: *x', 'c: &n', 'd: *n', 'e:', '- &x "s"', '- *x', 'f: *x # note', ''];
    expect(readPlainYaml(text.join('\n'))).toEqual({
      value: { a: 493, b: 493, c: null, d: null, e: ['s', 's'], f: 's' },
    });
  });

  it.each([
    ['an alias of a collection', 'a: &x\n  b: 1\nc: *x\n'],
    ['an alias of a flow collection', 'a: &x [1]\nc: *x\n'],
    ['an alias before its anchor', 'a: *x\nb: &x 1\n'],
    ['more than 100 aliases', `a: &x 1\n${Array.from({ length: 101 }, (_, i) => `b${i}: *x\n`).join('')}`],
    ['an alias followed by more', 'a: &x 1\nb: *x y\n'],
    ['an anchor on a key', '&x a: 1\n'],
    ['an anchor on a compact mapping', '- &x a: 1\n'],
    ['an anchor not followed by a space', 'a: &x[1]\n'],
    ['two anchors', 'a: &x &y 1\n'],
    ['a tag', 'a: !!str 1\n'],
    ['a merge key', 'a:\n  <<: {b: 1}\n'],
    ['a merge-key value', 'a: <<\n'],
    ['a duplicate key', 'a: 1\na: 2\n'],
    ['a key go-yaml types as a boolean', 'yes: 1\n'],
    ['a numeric key', '8080: http\n'],
    ['a quoted key', '"a": 1\n'],
    ['a multi-line plain scalar', 'a: one\n  two\n'],
    ['a multi-line quoted scalar', 'a: "one\n  two"\n'],
    ['a folded block scalar', 'a: >\n  text\n'],
    ['a kept block scalar', 'a: |+\n  text\n'],
    ['an indentation indicator', 'a: |2\n   text\n'],
    ['a block scalar with a leading blank line', 'a: |\n\n  text\n'],
    ['an escape other than \\\\ \\" \\n \\t', 'a: "\\x41"\n'],
    ['a flow mapping with entries', 'a: {b: 1}\n'],
    ['a nested flow sequence', 'a: [[1]]\n'],
    ['a flow sequence over lines', 'a: [1,\n  2]\n'],
    ['a trailing comma', 'a: [1, ]\n'],
    ['a colon in a plain value', 'a: b: c\n'],
    ['a value after a sequence entry indicator', 'a: - b\n'],
    ['infinity', 'a: .inf\n'],
    ['a directive', '%YAML 1.1\n---\na: 1\n'],
    ['a document end marker', 'a: 1\n...\n'],
    ['a scalar document', 'just text\n'],
    ['bad indentation', 'a:\n    b: 1\n  c: 2\n'],
    ['a complex key', '? a\n: 1\n'],
    ['an over-long key', `${'k'.repeat(301)}: 1\n`],
    ['__proto__', '__proto__: 1\n'],
  ])('leaves %s to the general reader', (_name, text) => {
    expect(readPlainYaml(text)).toBeUndefined();
  });

  it('reads an empty or comment-only document as null', () => {
    expect(readPlainYaml('# only a comment\n\n')).toEqual({ value: null });
    expect(readPlainYaml('---\n')).toEqual({ value: null });
    expect(readPlainYaml('--- # start\na: 1\n')).toEqual({ value: { a: 1 } });
  });
});
