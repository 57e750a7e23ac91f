/**
 * Adversarial manifest files from a seed, for the reader differential test: YAML 1.1 scalars,
 * tags, anchors and merge keys (before and after explicit keys), YAML 1.1 line breaks (NEL, LS,
 * PS) in comments and scalars, CR line ends, tabs, BOMs, duplicate and typed keys, lists (typed,
 * kind-less items, nested, `items: null`), multi-document tricks (`---x`, `...`, empty and
 * comment-only documents), concatenated JSON with YAML after it, UTF-16 and invalid UTF-8, long
 * lines (values of thousands of characters; keys and runs of spaces around go-yaml's 1024-character
 * simple-key limit).
 * About a third of the files are plain block YAML of ordinary characters (no anchors, tags or
 * merge keys) laid out in every way plain-yaml.ts must follow: compact and indentless sequences,
 * extra spaces after `-`, comments and blank lines at any indentation, scalars continued or
 * placed on the next line, literal and folded block scalars, flow sequences.
 * Most files are valid YAML so the semantics are exercised, not only the error paths.
 */

/** One generated file. */
export interface GeneratedCase {
  readonly name: string;
  readonly bytes: Uint8Array;
}

/** A small fast PRNG (mulberry32), so a seed gives the same cases everywhere. */
export function random(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Scalars kubectl refuses in a value (JSON has no infinities). */
const refusedScalars = [
  '"a\\/b"',
  '+.inf',
  '-.inf',
  '.inf',
  '.nan',
  '.NaN',
  '!!int abc',
  '!!binary !!!',
  '!!float .inf',
  '!!int 1.5',
  '!!bool 1',
  '"\\uD800"',
];
const plainScalars = [
  'yes',
  'no',
  'on',
  'off',
  'y',
  'n',
  'Y',
  'N',
  'true',
  'True',
  'TRUE',
  'false',
  'FALSE',
  'Off',
  '~',
  'null',
  'Null',
  'NULL',
  '0644',
  '0o644',
  '0x1F',
  '0b101',
  '-0b11',
  '1_000',
  '1:30',
  '12:30:45',
  '1.5',
  '.5',
  '+1',
  '-1',
  '-0',
  '1e3',
  '1E3',
  '1e400',
  '-1e400',
  '1e-400',
  '9223372036854775807',
  '9223372036854775808',
  '18446744073709551616',
  '-9223372036854775809',
  '2001-12-14',
  '2001-12-14t21:59:43.10-05:00',
  '012470',
  '08',
  '09.5',
  '0.0',
  '1__0',
  '_1',
  '0x_1F',
  '1.5e',
  'e5',
  '0.',
  '=',
  '1,000',
  '+.5',
  '-',
  'nginx:1.25',
  'registry.evil.com/x',
  'a b',
  'a #b',
  'a#b',
  'é',
  '日本',
  '0',
  '5432',
  '6379',
  'Infinity',
  'NaN',
  '0x',
  '0b',
  '0o',
  '+0x10',
  '-0x10',
  '+0o7',
  '1e+3',
  '.1e1',
  '1.e1',
  '0b1_0',
  '1_0.5',
  '-.5',
  '.',
  '..',
  '0_',
  '3.',
  '-a',
  ':a',
  'a:',
  '?a',
];
const quotedScalars = [
  `"${'long: value, '.repeat(150)}"`,
  `'${'x'.repeat(2000)}'`,
  `[${Array(400).fill('item').join(', ')}]`,
  `${'plain '.repeat(300)}end`,
  '"yes"',
  "'no'",
  '"0644"',
  '"\\x41\\u00e9\\N\\L\\P\\_\\0\\e\\a"',
  "'it''s'",
  '""',
  "''",
  '"tab\\there"',
  '"\\U0001F600"',
  '"line1\\nline2"',
  "'multi\n  line'",
  '"multi\n  line"',
  '"esc\\\n  aped"',
  '"\\uD800"',
  "'#not a comment'",
  '"\\x85"',
  "'\u2028'",
  '"\u0085"',
];
const taggedScalars = [
  '!!str 123',
  '!!int "12"',
  '!!int 0x10',
  '!!float 1',
  '!!float "2.5"',
  '!!bool yes',
  '!!bool "no"',
  '!!null ""',
  '!!null null',
  '!!binary aGVsbG8=',
  '!!binary "aGVs bG8="',
  '!!binary /w==',
  '!custom value',
  '!<tag:yaml.org,2002:str> 5',
  '!<tag:yaml.org,2002:int> "7"',
  '!!timestamp 2001-12-14',
  '! 12',
  '!!str',
  '!!str yes',
  '!!seq [a]',
  '!!map {a: 1}',
  '!!set {a, b}',
  '!!omap [{a: 1}]',
  '!local {x: 1}',
  '!!str ~',
];
const keys = [
  'name',
  'image',
  'hostNetwork',
  'hostPID',
  'privileged',
  'namespace',
  'port',
  'containerPort',
  'type',
  'replicas',
  'command',
  'value',
  'enabled',
  'mode',
  'path',
  'data',
  'spec',
  'labels',
  'nodePort',
];
const trickyKeys = [
  'yes',
  'on',
  'y',
  'n',
  'Y',
  '1',
  '1.5',
  '0x10',
  '0.1',
  '1e20',
  '123456789.0',
  '"quoted key"',
  "'single'",
  'true',
  'False',
  '-1',
  '0644',
  '.inf',
  '.nan',
  '"yes"',
  '1e-7',
  '__proto__',
  'constructor',
  'x y',
  '? complex',
  '<<',
  '"<<"',
  'é',
  'kind',
  'apiVersion',
  'items',
  'ITEMS',
  'Items',
  '18446744073709551616',
  'k'.repeat(300),
  'k'.repeat(301),
  `"${'q'.repeat(299)}"`,
  'k'.repeat(1030),
  `k${' '.repeat(399)}`,
  `k${' '.repeat(700)}`,
  `k${' '.repeat(1100)}`,
];
/** Keys kubectl refuses (no JSON form). */
const refusedKeys = ['~', 'null', '? [a, b]', '? {a: 1}', '9223372036854775808'];
const kinds = [
  'Pod',
  'Deployment',
  'ConfigMap',
  'Service',
  'List',
  'PodList',
  'DeploymentList',
  'Namespace',
  'Secret',
];
const apiVersions = ['v1', 'apps/v1', 'v1', 'v1', 'batch/v1', '/v1', 'networking.k8s.io/v1', 'v1', 'apps/v1'];
const oddApiVersions = ['a/b/c', '', 'apps/', '5', 'yes'];

type Tree =
  { map: Array<[string, Tree]> } | { seq: Tree[] } | { scalar: string } | { block: string[]; header: string };

/** Lines of block scalars in plain files (ordinary characters only). */
const plainBlockLines = ['line', '  indented', '', 'x: y', '# not a comment', 'end  ', '   ', '- item'];

class Builder {
  private anchors: string[] = [];
  private nextAnchor = 0;
  /** Plain block YAML of ordinary characters (see the file comment). */
  plain = false;
  readonly next: () => number;
  constructor(next: () => number) {
    this.next = next;
  }

  chance(p: number): boolean {
    return this.next() < p;
  }
  pick<T>(values: readonly T[]): T {
    return values[Math.floor(this.next() * values.length)] as T;
  }
  int(max: number): number {
    return Math.floor(this.next() * max);
  }

  scalar(): Tree {
    if (this.plain) return this.plainScalar();
    const r = this.next();
    if (r < 0.002) return { scalar: this.pick(refusedScalars) };
    if (r < 0.45) return { scalar: this.pick(plainScalars) };
    if (r < 0.6) return { scalar: this.pick(quotedScalars) };
    if (r < 0.72) return { scalar: this.pick(taggedScalars) };
    if (r < 0.8 && this.anchors.length > 0) return { scalar: `*${this.pick(this.anchors)}` };
    if (r < 0.9)
      return {
        header: this.pick(['|', '>', '|-', '>+', '|2', '>-', '|+', '|1-']),
        block: Array.from({ length: 1 + this.int(3) }, () =>
          this.pick([
            'line',
            '  indented',
            '',
            'x: y',
            '# not a comment',
            'tab\there',
            'a\u2028b',
            'nel\u0085',
            'end  ',
            'a\u2029',
            '\u0085',
          ]),
        ),
      };
    return { scalar: this.pick(keys) };
  }

  plainScalar(): Tree {
    const r = this.next();
    if (r < 0.55) return { scalar: this.pick(plainScalars) };
    if (r < 0.75) return { scalar: this.pick(quotedScalars.filter((q) => !/[\u0085\u2028]/.test(q))) };
    if (r < 0.88)
      return {
        header: this.pick(['|', '|-', '|', '>', '|+', '>-']),
        block: Array.from({ length: 1 + this.int(4) }, () => this.pick(plainBlockLines)),
      };
    return { scalar: this.pick(keys) };
  }

  key(): string {
    if (this.chance(0.005)) return this.pick(refusedKeys);
    return this.chance(0.12) ? this.pick(trickyKeys) : this.pick(keys);
  }

  tree(depth: number): Tree {
    if (depth <= 0 || this.chance(0.35)) return this.scalar();
    if (this.chance(0.35))
      return {
        seq: Array.from({ length: this.int(3) + (this.chance(0.9) ? 1 : 0) }, () => this.tree(depth - 1)),
      };
    return this.mapping(depth);
  }

  mapping(depth: number, fixed: Array<[string, Tree]> = []): Tree {
    const entries: Array<[string, Tree]> = [...fixed];
    const count = this.int(4) + (fixed.length > 0 ? 0 : 1);
    for (let i = 0; i < count; i++) entries.push([this.key(), this.tree(depth - 1)]);
    // Duplicate a key (go-yaml: the later one wins).
    if (entries.length > 0 && this.chance(0.08)) entries.push([this.pick(entries)[0], this.tree(depth - 1)]);
    // Merge keys before, between or after explicit keys.
    if (!this.plain && this.chance(0.18)) {
      const value: Tree =
        this.anchors.length > 0 && this.chance(0.6)
          ? this.chance(0.7)
            ? { scalar: `*${this.pick(this.anchors)}` }
            : {
                scalar: `[${Array.from({ length: 1 + this.int(3) }, () => `*${this.pick(this.anchors)}`).join(', ')}]`,
              }
          : this.mapping(2, [[this.pick(['hostNetwork', 'privileged', 'image', 'name']), this.scalar()]]);
      entries.splice(this.int(entries.length + 1), 0, ['<<', value]);
    }
    // Two NaN keys are two entries of a Go map (NaN is not equal to itself) that JSON names alike,
    // so which value kubectl keeps depends on Go's random map order: keep the first only.
    const isNaNKey = ([key]: [string, Tree]): boolean => /^\.nan$/i.test(key);
    const firstNaN = entries.findIndex(isNaNKey);
    return { map: entries.filter((entry, i) => i <= firstNaN || !isNaNKey(entry)) };
  }

  /** Renders block YAML; anchors are attached to nodes on the way. */
  render(tree: Tree, indent: number, out: string[], prefix: string): void {
    let anchor = '';
    if (!this.plain && !('scalar' in tree && tree.scalar.startsWith('*')) && this.chance(0.1)) {
      const name = `a${this.nextAnchor++}`;
      anchor = `&${name} `;
      this.anchors.push(name);
    }
    if ('scalar' in tree) {
      if (this.plain && prefix.endsWith(': ') && this.chance(0.04)) {
        // The value on the next line, indented or not.
        out.push(prefix.trimEnd(), `${' '.repeat(indent + this.int(3) - 1)}${tree.scalar}`);
        return;
      }
      out.push(`${prefix}${anchor}${tree.scalar}${this.comment()}`);
      // A continuation line (more indented: one scalar; else the next key or an error).
      if (this.plain && this.chance(0.03)) out.push(`${' '.repeat(this.int(indent + 3))}more`);
      return;
    }
    if ('block' in tree) {
      out.push(`${prefix}${anchor}${tree.header}`);
      const inner = ' '.repeat(indent + (tree.header.includes('1') ? 1 : 2));
      for (const line of tree.block) out.push(line === '' ? '' : `${inner}${line}`);
      return;
    }
    if ('seq' in tree) {
      if (tree.seq.length === 0 || this.chance(0.15)) {
        out.push(`${prefix}${anchor}[${tree.seq.map((item) => this.flow(item)).join(', ')}]`);
        return;
      }
      out.push(`${prefix}${anchor}`.trimEnd());
      // Plain files: an indentless sequence under a key, and more spaces after the dash.
      const itemIndent = this.plain && prefix.endsWith(': ') && this.chance(0.3) ? indent - 2 : indent;
      for (const item of tree.seq) {
        const dash = this.plain && this.chance(0.15) ? this.pick(['-  ', '-   ']) : '- ';
        const itemPad = ' '.repeat(itemIndent);
        if (this.plain && 'map' in item && item.map.length > 0 && this.chance(0.6)) {
          // A compact mapping: its first entry on the dash's line.
          this.renderMap(item, itemIndent + dash.length, out, `${itemPad}${dash}`);
        } else this.render(item, itemIndent + 2, out, `${itemPad}${dash}`);
      }
      return;
    }
    if (tree.map.length === 0 || this.chance(0.12)) {
      out.push(`${prefix}${anchor}{${tree.map.map(([k, v]) => `${k}: ${this.flow(v)}`).join(', ')}}`);
      return;
    }
    out.push(`${prefix}${anchor}`.trimEnd());
    this.renderMap(tree, indent, out);
  }

  /** A block mapping's entries at `indent`; with `first`, the first entry goes on that line. */
  renderMap(tree: { map: Array<[string, Tree]> }, indent: number, out: string[], first?: string): void {
    const pad = ' '.repeat(indent);
    for (const [index, [key, value]] of tree.map.entries()) {
      if (this.plain && this.chance(0.05))
        out.push(this.pick(['', `${' '.repeat(this.int(indent + 5))}# note`, ' '.repeat(this.int(6))]));
      if (this.chance(0.06))
        out.push(
          `${pad}# comment${this.plain ? '\n' : this.pick(['', '\u2028', '\u0085', '\u2029', '\r'])}${pad}${this.pick(['hostNetwork: true', 'x: 1', 'kind: Secret', 'privileged: yes'])}`,
        );
      const separator = !this.plain && this.chance(0.04) ? ':\t' : ': ';
      const start = index === 0 && first !== undefined ? first : pad;
      this.render(value, indent + 2, out, `${start}${key}${separator}`);
    }
  }

  flow(tree: Tree): string {
    // Scalars that end or break a flow collection (comments, indicators) mostly stay out of it.
    if ('scalar' in tree)
      return tree.scalar.includes('\n') || (/#|^[-?:]|:$/.test(tree.scalar) && this.chance(0.9))
        ? '"x"'
        : tree.scalar;
    if ('block' in tree) return '"block"';
    if ('seq' in tree) return `[${tree.seq.map((item) => this.flow(item)).join(', ')}]`;
    return `{${tree.map.map(([k, v]) => `${k}: ${this.flow(v)}`).join(', ')}}`;
  }

  comment(): string {
    if (this.plain) return this.chance(0.05) ? this.pick([' # c', '  # Source: x', ' #']) : '';
    return this.chance(0.05)
      ? this.pick([' # c', ' #\u2028hostPID: true', ' # \u0085', '  # Source: x'])
      : '';
  }

  /** A top-level object: a workload-like object or a list. */
  object(): Tree {
    const kind = this.chance(0.02) ? this.pick(['', '5', '[Pod]', 'null']) : this.pick(kinds);
    const fixed: Array<[string, Tree]> = [];
    if (!this.chance(0.02))
      fixed.push([
        'apiVersion',
        { scalar: (this.chance(0.03) ? this.pick(oddApiVersions) : this.pick(apiVersions)) || '""' },
      ]);
    if (kind !== '' || this.chance(0.5)) fixed.push(['kind', { scalar: kind || '""' }]);
    if (this.chance(0.8)) fixed.push(['metadata', this.metadata()]);
    if (kind.endsWith('List') || this.chance(0.06)) {
      const r = this.next();
      const items: Tree =
        r < 0.08
          ? { scalar: this.pick(['null', '5', '{}', '"x"']) }
          : {
              seq: Array.from({ length: this.int(3) + 1 }, () =>
                this.chance(0.15) ? { scalar: this.pick(['null', '5', '"x"']) } : this.item(),
              ),
            };
      fixed.push([this.pick(['items', 'items', 'items', 'Items']), items]);
    } else fixed.push(['spec', this.mapping(3)]);
    const tree = this.mapping(1, fixed);
    if ('map' in tree && this.chance(0.5)) tree.map.splice(fixed.length); // usually only the fixed keys
    return tree;
  }

  item(): Tree {
    const entries: Array<[string, Tree]> = [];
    if (this.chance(0.5)) entries.push(['kind', { scalar: this.pick(kinds) }]);
    if (this.chance(0.5)) entries.push(['apiVersion', { scalar: this.pick(apiVersions) || '""' }]);
    if (this.chance(0.1)) entries.push(['items', { seq: [this.mapping(1)] }]);
    entries.push(['metadata', this.metadata()]);
    entries.push(['spec', this.mapping(2)]);
    return { map: entries };
  }

  metadata(): Tree {
    const oddName = this.chance(0.05);
    const entries: Array<[string, Tree]> = [
      ['name', { scalar: this.pick(oddName ? ['5', 'yes', '~', '[a]'] : ['web', 'db', '"x"']) }],
    ];
    if (this.chance(0.5))
      entries.push([
        'namespace',
        { scalar: this.pick(this.chance(0.05) ? ['~', '1', 'on'] : ['default', 'tenant-a']) },
      ]);
    if (this.chance(0.4))
      entries.push([
        'labels',
        {
          map: [
            [
              this.pick(['app', 'tier', 'yes']),
              this.chance(0.8) ? { scalar: this.pick(['web', '"1"', 'a-b']) } : this.scalar(),
            ],
          ],
        },
      ]);
    if (this.chance(0.05))
      entries.push([
        'creationTimestamp',
        {
          scalar: this.pick([
            '2024-01-01T00:00:00Z',
            '2024-13-01T00:00:00Z',
            'null',
            '"x"',
            '2024-02-30T00:00:00Z',
            '2024-01-01T00:00:00.5+01:00',
            '2024-01-01 00:00:00',
          ]),
        },
      ]);
    if (this.chance(0.05))
      entries.push(['generation', { scalar: this.pick(['1', '1.5', '"2"', '3.0', '1e20', '0x10', '1e3']) }]);
    if (this.chance(0.06))
      entries.push(['finalizers', { seq: [{ scalar: this.pick(['a', '1', 'null', '{}']) }] }]);
    if (this.chance(0.05))
      entries.push([
        'ownerReferences',
        { seq: [{ map: [['controller', { scalar: this.pick(['true', 'yes', '"true"', '1']) }]] }] },
      ]);
    return { map: entries };
  }

  document(): string {
    this.anchors = [];
    const out: string[] = [];
    this.render(this.object(), 0, out, '');
    return out.join('\n');
  }
}

function jsonDocument(b: Builder): string {
  const object: Record<string, unknown> = {
    apiVersion: b.pick(apiVersions),
    kind: b.pick(kinds),
    metadata: { name: b.pick(['a', 'b']), labels: b.chance(0.2) ? { a: 1 } : { a: 'b' } },
  };
  if (b.chance(0.3)) object['items'] = b.chance(0.8) ? [{ metadata: { name: 'i' } }, null] : 'x';
  else
    object['spec'] = { hostNetwork: b.pick([true, 'yes', 1]), containers: [{ name: 'c', image: 'nginx' }] };
  let text = JSON.stringify(object, null, b.pick([0, 2, '\t']));
  if (b.chance(0.2)) text = text.replace('{', '{"kind": "Secret", '); // duplicate key: the later one wins
  if (b.chance(0.1)) text = text.replace('"a"', '"\\ud800"');
  return text;
}

const separators = [
  '---',
  '--- # c',
  '---  ',
  '---\t',
  '--- x',
  '---x',
  '...\n---',
  '---\r',
  '--- |',
  '----',
  ' ---',
];

/** The file text before encoding tricks. */
function fileText(b: Builder): string {
  if (b.chance(0.12)) {
    const values = Array.from({ length: 1 + b.int(3) }, () => jsonDocument(b));
    let text =
      b.pick(['', ' ', '\n', '\u00a0', '\u2028', '\t\n']) +
      values.join(b.pick(['\n', '', ' ', '\n\n', '\n---\n']));
    if (b.chance(0.3))
      text += b.pick([
        '\nkind: Pod\napiVersion: v1\n',
        ' x: 1',
        '\n---\napiVersion: v1\nkind: Secret\n',
        ' garbage',
        '\u00a0',
      ]);
    return text;
  }
  const documents = Array.from({ length: 1 + b.int(3) }, () =>
    b.chance(0.04) ? b.pick(['', '# only a comment', '~', 'null', '- a', '"str"', '5']) : b.document(),
  );
  let text = b.chance(0.2)
    ? `${b.pick(['---', '--- # Source: chart/templates/x.yaml', '---', '# Source: c/t.yaml', '---', '%YAML 1.1\n---'])}\n`
    : '';
  documents.forEach((document, i) => {
    if (i > 0) text += `\n${b.chance(0.92) ? '---' : b.pick(separators)}\n`;
    text += document;
  });
  if (b.chance(0.1))
    text += b.pick(['\n...\n', '\n...\nkind: Secret\napiVersion: v1\n', '\n---\n', '\n---\n...\n']);
  return b.chance(0.9) ? `${text}\n` : text;
}

/** Character-level mutations: line-break kinds, BOMs, tabs, trailing spaces. */
function mutate(b: Builder, text: string): string {
  if (!b.chance(0.25)) return text;
  const lines = text.split('\n');
  if (b.plain) {
    // Keep the characters ordinary: trailing spaces, a duplicated line, one space more or less.
    const at = b.int(lines.length);
    const line = lines[at] ?? '';
    const mutation = b.int(3);
    if (mutation === 0) lines[at] = `${line}  `;
    else if (mutation === 1) lines.splice(at, 0, line);
    else lines[at] = b.chance(0.5) ? ` ${line}` : line.replace(/^ /, '');
    return lines.join('\n');
  }
  const count = 1 + b.int(3);
  for (let i = 0; i < count; i++) {
    const at = b.int(lines.length);
    const line = lines[at] ?? '';
    const mutation = b.int(7);
    if (mutation === 0) lines[at] = `\uFEFF${line}`;
    else if (mutation === 1) lines[at] = `${line}${b.pick(['\r', '\u0085', '\u2028', '\u2029'])}`;
    else if (mutation === 2) lines[at] = line.replace(/^( +)/, (spaces) => `${spaces.slice(1)}\t`);
    else if (mutation === 3) lines[at] = `${line}  `;
    else if (mutation === 4)
      lines[at] = line.replace(': ', b.pick([':\u0085', ':\u2028 ', ': \uFEFF', ':\u00a0']));
    else if (mutation === 5)
      lines.splice(at, 0, line); // a duplicated line: duplicate keys, repeated items
    else if (b.chance(0.3))
      lines[at] = line.replace(/[a-z]/, (c) =>
        b.pick([`${c}\u0000`, `${c}\u0007`, `${c}\u007f`, `${c}\u200b`]),
      );
  }
  return lines.join(b.chance(0.1) ? '\r\n' : '\n');
}

function encode(b: Builder, text: string): Uint8Array {
  const r = b.next();
  if (r < 0.03) return Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(text, 'utf16le')]);
  if (r < 0.05) {
    const le = Buffer.from(text, 'utf16le');
    for (let i = 0; i + 1 < le.length; i += 2) [le[i], le[i + 1]] = [le[i + 1] as number, le[i] as number];
    return Buffer.concat([Buffer.from([0xfe, 0xff]), le]);
  }
  if (r < 0.09) return Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(text)]);
  if (r < 0.12) {
    const bytes = Buffer.from(text);
    const at = b.int(bytes.length + 1);
    return Buffer.concat([
      bytes.subarray(0, at),
      Buffer.from(b.pick([[0xff], [0xe2, 0x82], [0xc0, 0xaf], [0xed, 0xa0, 0x80]])),
      bytes.subarray(at),
    ]);
  }
  return Buffer.from(text);
}

/** `count` cases from `seed`. */
export function generateCases(seed: number, count: number): GeneratedCase[] {
  const next = random(seed);
  const builder = new Builder(next);
  return Array.from({ length: count }, (_, i) => {
    builder.plain = builder.chance(0.35);
    const text = mutate(builder, fileText(builder));
    return { name: `case-${i}.${builder.chance(0.9) ? 'yaml' : 'json'}`, bytes: encode(builder, text) };
  });
}
