/**
 * Regression cases for the places where a JavaScript YAML reader and kubectl's disagree (issue 12,
 * class 1). Each case states the objects kubectl sends (or that it refuses the file); the same
 * expectation is checked against kubectl's own reader (the Go oracle), so the cases cannot drift
 * from kubectl, and against `tollgate check`'s reading.
 */
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { kubectlYaml } from '../../ci-action/src/gate/kube-yaml.ts';
import { parseManifests } from '../../ci-action/src/gate/manifests.ts';
import { readAsKubectl } from '../../policies/index.ts';
import { runOracle } from './kubectl-oracle.ts';
import type { OracleResult } from './kubectl-oracle.ts';

interface Case {
  readonly name: string;
  readonly text: string | Uint8Array;
  /** The objects kubectl sends, or `'refused'` when it refuses (part of) the file. */
  readonly kubectl: Array<Record<string, unknown>> | 'refused';
  /** tollgate's message for a refused file. */
  readonly message?: string;
}

const pod = (
  spec: Record<string, unknown>,
  extra: Record<string, unknown> = {},
): Record<string, unknown> => ({
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: { name: 'p' },
  spec,
  ...extra,
});
const head = 'apiVersion: v1\nkind: Pod\nmetadata:\n  name: p\n';

const cases: Case[] = [
  {
    name: 'a merge key after an explicit key overrides it (go-yaml v2 order)',
    text: `${head}spec:\n  hostNetwork: false\n  <<: {hostNetwork: true}\n`,
    kubectl: [pod({ hostNetwork: true })],
  },
  {
    name: 'an explicit key after a merge key overrides the merged one',
    text: `${head}spec:\n  <<: {hostNetwork: true}\n  hostNetwork: false\n`,
    kubectl: [pod({ hostNetwork: false })],
  },
  {
    name: 'in a merged sequence the first map wins',
    text: `${head}x: &a {hostPID: true}\nz: &b {hostPID: false}\nspec:\n  <<: [*a, *b]\n`,
    kubectl: [pod({ hostPID: true }, { x: { hostPID: true }, z: { hostPID: false } })],
  },
  {
    name: 'a value of thousands of characters on one line is read alike (the fast path)',
    text: `${head}spec:\n  hostname: ${'h'.repeat(3000)}\n  subdomain: "${'a: b, '.repeat(500)}"\n`,
    kubectl: [pod({ hostname: 'h'.repeat(3000), subdomain: 'a: b, '.repeat(500) })],
  },
  {
    name: 'a key of 400 characters is a key',
    text: `${head}spec:\n  ${'k'.repeat(400)}: true\n`,
    kubectl: [pod({ ['k'.repeat(400)]: true })],
  },
  {
    name: 'a key longer than 1024 characters is refused (go-yaml’s simple-key limit)',
    text: `${head}spec:\n  ${'k'.repeat(1030)}: true\n`,
    kubectl: 'refused',
  },
  {
    name: 'a short key 1100 spaces before its colon is refused',
    text: `${head}spec:\n  hostNetwork${' '.repeat(1100)}: true\n`,
    kubectl: 'refused',
  },
  {
    name: 'U+2028 ends a comment: the text after it is a field',
    text: `${head}spec:\n  # note\u2028  hostPID: true\n  containers: []\n`,
    kubectl: [pod({ hostPID: true, containers: [] })],
  },
  {
    name: 'U+2029 ends a comment too',
    text: `${head}spec:\n  containers: [] # note\u2029  hostIPC: true\n`,
    kubectl: [pod({ containers: [], hostIPC: true })],
  },
  {
    name: 'U+0085 inside a block scalar is a line break that can end it',
    text: `${head}  annotations:\n    note: |\n      text\u0085spec: {hostNetwork: true}\n`,
    kubectl: [{ ...pod({ hostNetwork: true }), metadata: { name: 'p', annotations: { note: 'text\n' } } }],
  },
  {
    name: '!!binary is the string it encodes',
    text: `${head}spec:\n  containers:\n  - name: c\n    image: !!binary ${Buffer.from('evil.io/x').toString('base64')}\n`,
    kubectl: [pod({ containers: [{ name: 'c', image: 'evil.io/x' }] })],
  },
  {
    name: 'unknown and !!str tags leave plain strings',
    text: `${head}spec:\n  a: !custom yes\n  b: !!str 0644\n  c: !<tag:yaml.org,2002:str> on\n`,
    kubectl: [pod({ a: 'yes', b: '0644', c: 'on' })],
  },
  {
    name: 'YAML 1.1 scalars: yes/on/y are booleans, 0644 is octal, keys are typed then printed',
    text: `${head}spec:\n  hostNetwork: on\n  a: y\n  mode: 0644\n  yes: 1\n  1.0: x\n`,
    kubectl: [pod({ hostNetwork: true, a: true, mode: 420, true: 1, '1': 'x' })],
  },
  {
    name: 'a later duplicate key wins',
    text: `${head}spec:\n  hostNetwork: false\n  hostNetwork: true\n`,
    kubectl: [pod({ hostNetwork: true })],
  },
  {
    name: 'a BOM inside the text stays in the key (`\\uFEFFspec` is not `spec`)',
    text: `${head}\uFEFFspec:\n  hostNetwork: true\n`,
    kubectl: [
      { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p' }, '\uFEFFspec': { hostNetwork: true } },
    ],
  },
  {
    name: 'a typed list gives kind-less items its kind (PodList → Pod)',
    text: 'apiVersion: v1\nkind: PodList\nitems:\n- metadata: {name: p}\n  spec: {hostNetwork: true}\n',
    kubectl: [pod({ hostNetwork: true })],
  },
  {
    name: 'any object with an items list is a list',
    text: `apiVersion: v1\nkind: ConfigMap\nitems:\n- ${JSON.stringify(pod({ hostPID: true }))}\n`,
    kubectl: [pod({ hostPID: true })],
  },
  {
    name: 'items: null is an empty list (nothing is sent)',
    text: `${head}items: null\nspec: {hostNetwork: true}\n`,
    kubectl: [],
  },
  {
    name: 'a list inside a list is refused',
    text: 'apiVersion: v1\nkind: List\nitems:\n- {kind: List, apiVersion: v1, items: []}\n',
    kubectl: 'refused',
  },
  { name: 'text after --- is refused', text: `${head}---x\n${head}`, kubectl: 'refused' },
  {
    name: 'a document end marker hides what follows it in the document',
    text: `${head}spec: {}\n...\nspec: {hostNetwork: true}\n`,
    kubectl: [pod({})],
  },
  {
    name: 'CRLF line ends',
    text: `${head}spec:\r\n  hostNetwork: true\r\n`.replaceAll(/(?<!\r)\n/g, '\r\n'),
    kubectl: [pod({ hostNetwork: true })],
  },
  {
    name: 'UTF-16 with a BOM',
    text: Buffer.concat([
      Buffer.from([0xff, 0xfe]),
      Buffer.from(`${head}spec: {hostNetwork: true}\n`, 'utf16le'),
    ]),
    kubectl: [pod({ hostNetwork: true })],
  },
  {
    name: 'concatenated JSON, then YAML after the first value',
    text: `${JSON.stringify(pod({ a: 1 }))}\n${head}spec: {hostNetwork: yes}\n`,
    kubectl: [pod({ a: 1 }), pod({ hostNetwork: true })],
  },
  {
    name: 'a label that is not a string is refused',
    text: 'apiVersion: v1\nkind: Pod\nmetadata:\n  name: p\n  labels: {tier: 1}\n',
    kubectl: 'refused',
  },
  { name: 'an infinity is refused (JSON has none)', text: `${head}spec: {a: .inf}\n`, kubectl: 'refused' },
  { name: 'a null key is refused', text: `${head}spec: {~: 1}\n`, kubectl: 'refused' },
  {
    // js-yaml takes an indented `---` before the first content as the document start; go-yaml reads it
    // as content, and then the mapping below it is an error (found by the long differential run).
    name: 'an indented --- before the first content is content, not a document start',
    text: ` ---\n\n${head}spec: {hostNetwork: true}\n`,
    kubectl: 'refused',
  },
  {
    name: 'the same after comment lines, with a flow mapping that only the general path reads',
    text: `# rendered\n   --- \n${head}spec: {hostPID: true, ports: [{a: 1}]}\n`,
    kubectl: 'refused',
  },
  {
    name: 'invalid UTF-8 becomes U+FFFD without a byte order mark',
    text: Buffer.concat([
      Buffer.from(`${head}spec: {hostname: "h`),
      Buffer.from([0xc0, 0x80]),
      Buffer.from('o"}\n'),
    ]),
    kubectl: [pod({ hostname: 'h\ufffd\ufffdo' })],
  },
  {
    // x/text's BOMOverride strips a UTF-8 mark and passes the bytes on unchanged; go-yaml refuses them.
    name: 'invalid UTF-8 after a UTF-8 byte order mark is refused',
    text: Buffer.concat([
      Buffer.from([0xef, 0xbb, 0xbf]),
      Buffer.from(`${head}spec: {hostNetwork: true, hostname: "h`),
      Buffer.from([0xc3, 0x28]),
      Buffer.from('o"}\n'),
    ]),
    kubectl: 'refused',
  },
  {
    name: 'metadata whose labels do not map strings to strings is refused',
    text: `${head}  labels:\n    tier: 1\nspec: {}\n`,
    kubectl: 'refused',
    message: 'metadata.labels must map strings to strings',
  },
  {
    name: 'of two malformed metadata fields, the one ObjectMeta decodes first is named, whatever the order written',
    text: 'apiVersion: v1\nkind: Pod\nmetadata:\n  finalizers: [1]\n  labels: {a: [b]}\n  namespace: {x: y}\nspec: {}\n',
    kubectl: 'refused',
    message: 'metadata.namespace must be a string',
  },
  {
    name: 'metadata with a timestamp that is not RFC 3339 is refused',
    text: `${head}  creationTimestamp: yesterday\nspec: {}\n`,
    kubectl: 'refused',
    message: 'metadata.creationTimestamp must be an RFC 3339 time',
  },
  {
    name: 'metadata with owner references whose controller is not a boolean is refused',
    text: `${head}  ownerReferences:\n    - {apiVersion: v1, kind: Node, name: node1, uid: u, controller: "yes"}\nspec: {}\n`,
    kubectl: 'refused',
    message: 'metadata.ownerReferences is malformed',
  },
  {
    name: 'well-formed metadata of every kind is read',
    text:
      `${head}  namespace: ns\n  generation: 3\n  labels: {a: b, c: null}\n  annotations: {x: z}\n` +
      '  finalizers: [f, null]\n  creationTimestamp: 2026-01-02T03:04:05Z\n' +
      '  ownerReferences:\n    - {apiVersion: v1, kind: Node, name: node1, uid: u, controller: true}\nspec: {}\n',
    kubectl: [
      {
        apiVersion: 'v1',
        kind: 'Pod',
        metadata: {
          name: 'p',
          namespace: 'ns',
          generation: 3,
          labels: { a: 'b', c: null },
          annotations: { x: 'z' },
          finalizers: ['f', null],
          creationTimestamp: '2026-01-02T03:04:05Z',
          ownerReferences: [{ apiVersion: 'v1', kind: 'Node', name: 'node1', uid: 'u', controller: true }],
        },
        spec: {},
      },
    ],
  },
  {
    name: 'an indented --- inside a block scalar is text',
    text: `${head}spec: {hostNetwork: false}\ndata:\n  x: |\n    ---\n    y: {a: 1}\n`,
    kubectl: [pod({ hostNetwork: false }, { data: { x: '---\ny: {a: 1}\n' } })],
  },
];

const dir = mkdtempSync(join(tmpdir(), 'tollgate-reader-'));
let oracle: OracleResult[] = [];
beforeAll(async () => {
  const paths = cases.map((c, i) => join(dir, `case-${i}.yaml`));
  cases.forEach((c, i) => writeFileSync(paths[i] as string, c.text));
  oracle = await runOracle(paths);
}, 20 * 60_000);
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const bytes = (text: string | Uint8Array): Uint8Array =>
  typeof text === 'string' ? Buffer.from(text) : text;

describe('tollgate reads what kubectl sends', () => {
  it.each(cases.map((c, i) => [c.name, i] as const))('%s', (_name, i) => {
    const c = cases[i] as Case;
    const kubectl = oracle[i] as OracleResult;
    const tollgate = parseManifests(`case-${i}.yaml`, bytes(c.text));
    if (c.kubectl === 'refused') {
      expect(kubectl.errors, 'kubectl refuses it').not.toEqual([]);
      expect(tollgate.errors, 'tollgate refuses it').not.toEqual([]);
      if (c.message) expect(tollgate.errors.map((e) => e.message)).toContain(c.message);
      return;
    }
    expect(kubectl.errors).toEqual([]);
    expect(kubectl.objects.map((o) => o.object)).toEqual(c.kubectl);
    expect(tollgate.errors).toEqual([]);
    expect(tollgate.manifests.map((m) => JSON.parse(JSON.stringify(m.object)) as unknown)).toEqual(c.kubectl);
  });

  it('refuses, never guesses, a document only kubectl’s own reader reads exactly when that reader is absent', () => {
    const reading = readAsKubectl(`${head}spec:\n  hostNetwork: false\n  <<: {hostNetwork: true}\n`);
    expect(reading.objects).toEqual([]);
    expect(reading.errors[0]?.message).toMatch(/only kubectl’s own reader reads exactly/);
  });

  it('caps what one file hands to kubectl’s own reader: documents beyond the cap are refused, naming it', () => {
    // A tab after a colon: only kubectl's own reader reads it exactly.
    const anchored = (name: string): string => `${head.replace('name: p', `name:\t${name}`)}spec: {}\n`;
    const text = ['a', 'b', 'c'].map(anchored).join('---\n') + '---\n' + head.replace('name: p', 'name: d');
    const reading = readAsKubectl(text, {
      exactYaml: kubectlYaml,
      exactBudget: { bytes: 1 << 20, documents: 2 },
    });
    // Plain documents after the cap are still read by the fast path.
    expect(reading.objects.map((o) => (o.object.metadata as { name: string }).name)).toEqual(['a', 'b', 'd']);
    expect(reading.errors).toHaveLength(1);
    expect(reading.errors[0]).toMatchObject({ index: 2, line: 13 });
    expect(reading.errors[0]?.message).toMatch(/kubectl’s own reader .* more than 2 documents or 1024 KiB/);
    const bytes = readAsKubectl(text, { exactYaml: kubectlYaml, exactBudget: { bytes: 40, documents: 10 } });
    expect(bytes.objects).toHaveLength(1);
    expect(bytes.errors.map((e) => e.index)).toEqual([0, 1, 2]);
    // The default cap: a megabyte of tiny documents with an alias of a collection each is mostly
    // refused, not read slowly.
    const flood = readAsKubectl('---\na: &x [1]\nb: *x\n'.repeat(90_000), { exactYaml: kubectlYaml });
    expect(flood.errors.filter((e) => e.message.includes('more than 1000 documents'))).toHaveLength(89_000);
  });

  it('points findings in list items and merged documents at their lines', () => {
    const text =
      'apiVersion: v1\nkind: PodList\nitems:\n- metadata: {name: a}\n  spec:\n    hostNetwork: true\n';
    const [item] = parseManifests('x.yaml', Buffer.from(text)).manifests;
    expect(item?.document.locate(['spec', 'hostNetwork']).line).toBe(6);
  });

  it('the committed WebAssembly reader is built from the committed sources (ci-action/kube-yaml/build.sh)', () => {
    const source = new URL('../../ci-action/kube-yaml/', import.meta.url);
    const hash = createHash('sha256');
    for (const file of ['go.mod', 'go.sum', 'main.go']) hash.update(readFileSync(new URL(file, source)));
    expect(readFileSync(new URL('SOURCES.sha256', source), 'utf8').trim()).toBe(hash.digest('hex'));
  });

  it('pins the same sigs.k8s.io/yaml as the Kubernetes module the oracle and e2e use', () => {
    const pin = (file: string, module: string): string | undefined =>
      new RegExp(`${module.replaceAll('.', '\\.')} (v\\S+)`).exec(
        readFileSync(new URL(file, import.meta.url), 'utf8'),
      )?.[1];
    for (const module of ['sigs.k8s.io/yaml', 'go.yaml.in/yaml/v2'])
      expect(pin('../../ci-action/kube-yaml/go.mod', module), module).toBe(
        pin('../e2e/apiserver/go.mod', module),
      );
  });
});
