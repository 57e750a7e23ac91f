/**
 * Inputs built to be slow (issue 12, class 7): every manifest or bundle text of about 1 MB must be
 * read in time linear in its size. Each input is read the way `tollgate check` reads a file
 * (kubectl's reading, with positions for a finding) and the way tollgate reads its own YAML files
 * (bundles); the slowest is printed. The bound asserted (CPU time) is ten times the "well under a second"
 * target, so a shared, busy machine does not make it flaky while a quadratic path (the blank-line
 * `# Source:` search took 37 s on 200 KB) still fails it.
 */
import { describe, expect, it } from 'vitest';
import { parseManifests } from '../../ci-action/src/gate/manifests.ts';
import { parseSource } from '../../policies/engine/yaml-source.ts';

const size = 1 << 20;
const boundMs = 10_000;
const head = 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: slow\n';
const fill = (unit: string, bytes = size): string => unit.repeat(Math.ceil(bytes / unit.length));

/** The billion-laughs shape: each level lists the previous one ten times. */
function laughs(levels: number): string {
  let text = `${head}data:\n  l0: &l0 "lol"\n`;
  for (let i = 1; i <= levels; i++)
    text += `  l${i}: &l${i} [${Array(10)
      .fill(`*l${i - 1}`)
      .join(', ')}]\n`;
  return text;
}

const inputs: Array<[string, string]> = [
  ['blank lines before a # Source: comment', `# Source: chart/templates/cm.yaml\n${fill('\n')}${head}`],
  ['blank lines with spaces', `${fill('  \n')}${head}`],
  ['comment lines', `${fill('# comment\n')}${head}`],
  ['# Source: comments', `${fill('# Source: a/b.yaml\n')}${head}`],
  ['many documents', fill(`---\n${head}`)],
  ['many empty documents', fill('---\n')],
  [
    'many keys in one mapping',
    `${head}data:\n${Array.from({ length: size / 16 }, (_, i) => `  k${i}: v\n`).join('')}`,
  ],
  ['one long plain line', `${head}data:\n  a: ${fill('x')}\n`],
  ['one long quoted line', `${head}data:\n  a: "${fill('x\\t')}"\n`],
  ['a long block scalar', `${head}data:\n  a: |\n${fill('    line of text\n')}`],
  ['deep flow nesting', `${head}data: ${'['.repeat(size / 2)}${']'.repeat(size / 2)}\n`],
  [
    'deep block nesting',
    `${head}${Array.from({ length: 1400 }, (_, i) => `${' '.repeat(i)}k${i}:\n`).join('')}`,
  ],
  ['billion laughs (alias expansion)', laughs(9)],
  [
    'many anchors and aliases',
    `${head}data:\n${Array.from({ length: size / 24 }, (_, i) => `  a${i}: &x${i} v\n  b${i}: *x${i}\n`).join('')}`,
  ],
  ['YAML 1.1 line breaks everywhere', `${head}data:\n  a: |\n${fill('    x\u2028\n')}`],
  ['CRLF line ends', fill(`---\r\n${head.replaceAll('\n', '\r\n')}`)],
  [
    'deep JSON nesting',
    `{"apiVersion":"v1","kind":"ConfigMap","data":${'{"a":'.repeat(size / 5)}1${'}'.repeat(size / 5)}}`,
  ],
  [
    'many JSON values',
    fill(`${JSON.stringify({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'a' } })}\n`),
  ],
  ['many tiny documents', fill('---\na: 1\n')],
  ['many tiny documents each with an anchor', fill('---\na: &x 1\n')],
  ['many tiny documents each with an alias of a scalar', fill('---\na: &x 1\nb: *x\n')],
  [
    'many tiny documents each with an alias of a collection (kubectl’s own reader)',
    fill('---\na: &x [1]\nb: *x\n'),
  ],
  ['many tiny documents each with a tag (kubectl’s own reader)', fill('---\na: !!str 1\n')],
  ['many tiny documents each with a tab (kubectl’s own reader)', fill('---\na:\t1\n')],
  [
    'a document at the cap of kubectl’s own reader, then tiny documents',
    `${head}data:\n${Array.from({ length: 7_000 }, (_, i) => `  a${i}: &x${i} v\n`).join('')}  b: &y [1]\n  c: *y\n${fill('---\na: 1\n', size - 128 * 1024)}`,
  ],
  ['a long --- separator comment', `${head}--- #${fill(' ')}\n${head}`],
  ['whitespace before JSON', `${fill(' ')}{"kind":"A"}`],
];

describe('reading is linear in the input size', () => {
  it(`reads ${inputs.length} inputs of ~1 MB built to be slow, each within ${boundMs / 1000} s`, () => {
    const times: Array<[string, number]> = [];
    const manifestTimes: Array<[string, number]> = [];
    const cpuMs = (start: NodeJS.CpuUsage): number => {
      const used = process.cpuUsage(start);
      return (used.user + used.system) / 1000;
    };
    for (const [name, text] of inputs) {
      const bytes = Buffer.from(text);
      // CPU time, not wall time: the machine may be shared.
      const start = process.cpuUsage();
      const { manifests } = parseManifests('slow.yaml', bytes);
      for (const manifest of manifests.slice(0, 3)) manifest.document.locate(['data', 'a']);
      const read = cpuMs(start);
      parseSource(text);
      manifestTimes.push([name, read]);
      times.push([name, cpuMs(start)]);
    }
    const slowestOf = (list: Array<[string, number]>): string => {
      const [name, ms] = [...list].sort((a, b) => b[1] - a[1])[0] ?? ['', 0];
      return `"${name}" ${ms.toFixed(0)} ms of CPU`;
    };
    times.sort((a, b) => b[1] - a[1]);
    process.stdout.write(
      `reader linearity: slowest ~1 MB input read as kubectl does (tollgate check) ${slowestOf(manifestTimes)}; ` +
        `with tollgate's own-file reader too ${slowestOf(times)}; ` +
        `${times.map(([n, t]) => `${n} ${t.toFixed(0)} ms`).join(', ')}\n`,
    );
    for (const [name, time] of times) expect(time, name).toBeLessThan(boundMs);
  }, 1_800_000);
});
