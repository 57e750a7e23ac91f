/**
 * `tollgate check` throughput on a generated 10,000-resource corpus (mixed kinds, multi-document
 * files): resources per second including YAML parsing with positions and the finance baseline
 * (target >= 10,000/s on one core). Printed next to a same-process baseline — parsing the same
 * files with the yaml library alone — and the wall-clock time of the real CLI process.
 *
 *   npx node bench/check-throughput.ts [--count 10000] [--runs 3]
 */
import { spawnSync } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { parseAllDocuments } from 'yaml';
import { checkManifests, summarize } from '../ci-action/src/gate/check.ts';
import { loadBundleFile } from '../io/bundle-file.ts';
import { discoverFiles, loadManifests } from '../ci-action/src/gate/manifests.ts';
import { generateCorpus } from './corpus.ts';
import { quantile } from './stats.ts';

const { values } = parseArgs({
  options: { count: { type: 'string', default: '10000' }, runs: { type: 'string', default: '3' } },
});
const count = Number(values.count);
const runs = Number(values.runs);
const root = fileURLToPath(new URL('..', import.meta.url));
const dir = await mkdtemp(join(tmpdir(), 'tollgate-corpus-'));
const corpus = await generateCorpus(dir, count);
console.log(
  `corpus: ${corpus.resources} resources in ${corpus.files} files (${Object.entries(corpus.kinds)
    .map(([k, n]) => `${k} ${n}`)
    .join(', ')})`,
);

const bundle = await loadBundleFile(undefined, root);
const now = new Date('2026-11-10T12:00:00Z');
const { files } = await discoverFiles([dir], root);
const texts = await Promise.all(files.map((file) => readFile(resolve(root, file), 'utf8')));

const parseOnly: number[] = [];
const full: number[] = [];
let denied = 0;
for (let run = 0; run < runs; run++) {
  let start = performance.now();
  let documents = 0;
  for (const text of texts) documents += parseAllDocuments(text).length;
  parseOnly.push(performance.now() - start);
  if (documents !== corpus.resources)
    throw new Error(`parsed ${documents} documents, expected ${corpus.resources}`);

  start = performance.now();
  const set = await loadManifests([dir], root, async () => '');
  const reports = await checkManifests(set.manifests, { bundle, now });
  const summary = summarize(reports, set.errors, set.files);
  full.push(performance.now() - start);
  denied = summary.denied;
  if (summary.resources !== corpus.resources) throw new Error(`checked ${summary.resources} resources`);
}
const rate = (ms: number) => Math.round((corpus.resources / ms) * 1000);
const parseMs = quantile(parseOnly, 0.5);
const fullMs = quantile(full, 0.5);
console.log(
  `bundle ${bundle.identity.name} ${bundle.identity.version}, ${bundle.policies.length} policies; ${denied} resources denied`,
);
console.log(`yaml parse only (baseline):      ${parseMs.toFixed(0)} ms  ${rate(parseMs)} resources/s`);
console.log(
  `tollgate check (in process):     ${fullMs.toFixed(0)} ms  ${rate(fullMs)} resources/s (target >= 10000/s)`,
);
console.log(`check time / parse-only time:    ${(fullMs / parseMs).toFixed(2)}x`);

const cliStart = performance.now();
const cli = spawnSync(
  join(root, 'node_modules/.bin/node'),
  [join(root, 'bin/tollgate.js'), 'check', dir, '--format', 'json', '--offline', '--now', now.toISOString()],
  {
    encoding: 'utf8',
    maxBuffer: 1 << 30,
  },
);
const cliMs = performance.now() - cliStart;
console.log(
  `tollgate check CLI process:      ${cliMs.toFixed(0)} ms  ${rate(cliMs)} resources/s (exit ${cli.status}, start-up and JSON output included)`,
);
await rm(dir, { recursive: true, force: true });
