/**
 * `tollgate check` against its peers on the same 10,000-resource corpus, in one run.
 *
 * The peers are conftest (OPA/Rego) and gator (Gatekeeper's CLI, `gator test`), installed by
 * bench/peer-tools.sh with `go install` and cached (kube-linter's Go module is not reachable
 * through the module proxy here). All get comparable checks (bench/peers.ts): approved registries
 * for every container and init container of every workload kind, required requests/limits,
 * maximum memory, `m`-suffixed memory, and databases behind public Services. tollgate also
 * computes each finding's line and column (the peers report no positions). Runs alternate between
 * the tools; the figures are the median wall-clock and CPU time (user + system) and tollgate's
 * resources per second, and the ratios peer / tollgate (> 1: tollgate is faster).
 *
 * Usage: node bench/check-vs-peer.ts [--count 10000] [--runs 3] [--corpus DIR]
 */
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { parseDocument } from 'yaml';
import { generateCorpus } from './corpus.ts';
import { cleanUp, measure, node, peerTools, root, writePeerPolicies } from './peers.ts';
import type { Run } from './peers.ts';
import { quantile } from './stats.ts';

/** The bench bundle: the finance baseline's registry, resource and database policies only (no network). */
async function benchBundle(dir: string): Promise<string> {
  const doc = parseDocument(await readFile(join(root, 'bundles/finance-baseline.yaml'), 'utf8'));
  const keep = ['approved-registries', 'resource-limits', 'no-public-databases'];
  const policies = doc.getIn(['spec', 'policies']) as { items: Array<{ key: { value: string } }> };
  policies.items = policies.items.filter((item) => keep.includes(String(item.key.value)));
  doc.deleteIn(['spec', 'exemptions']);
  const file = join(dir, 'bench-bundle.yaml');
  await writeFile(file, doc.toString());
  return file;
}

const { values } = parseArgs({
  options: {
    count: { type: 'string', default: '10000' },
    runs: { type: 'string', default: '3' },
    corpus: { type: 'string' },
  },
});
const count = Number(values.count);
const runs = Number(values.runs);
const { conftest, gator } = peerTools('conftest', 'gator');

const work = await mkdtemp(join(tmpdir(), 'tollgate-check-vs-peer-'));
try {
  const corpusDir = values.corpus ?? join(work, 'corpus');
  const corpus = await generateCorpus(corpusDir, count);
  const bundle = await benchBundle(work);
  const { conftestPolicy, gatorPolicy } = writePeerPolicies(work);

  const tools = [
    {
      name: 'tollgate check',
      command: node,
      args: [
        join(root, 'bin/tollgate.js'),
        'check',
        corpusDir,
        '--bundle',
        bundle,
        '--format',
        'json',
        '--now',
        '2026-11-22T12:00:00Z',
      ],
    },
    {
      name: 'conftest test',
      command: conftest,
      args: ['test', '--no-color', '--output', 'json', '--policy', conftestPolicy, corpusDir],
    },
    {
      name: 'gator test',
      command: gator,
      args: ['test', '--output', 'json', '-f', gatorPolicy, '-f', corpusDir],
    },
  ];
  const times: Run[][] = tools.map(() => []);
  // Warm-up (file cache, compile cache) then alternate so load changes hit every tool.
  for (const tool of tools) measure(tool.command, tool.args);
  for (let i = 0; i < runs; i++) tools.forEach((tool, t) => times[t]!.push(measure(tool.command, tool.args)));

  const last = times[0]!.at(-1)!;
  const report = JSON.parse(last.stdout) as {
    summary: { resources: number; denied: number; findings: Record<string, number> };
    resources: Array<{ results: Array<{ findings: Array<{ line: number }> }> }>;
  };
  const positioned = report.resources
    .flatMap((r) => r.results.flatMap((x) => x.findings))
    .filter((f) => f.line > 0).length;
  const conftestReport = JSON.parse(times[1]!.at(-1)!.stdout) as Array<{ failures?: unknown[] }>;
  const conftestFailures = conftestReport.reduce((sum, file) => sum + (file.failures?.length ?? 0), 0);
  const gatorOut = times[2]!.at(-1)!.stdout.trim();
  const gatorFailures = gatorOut ? (JSON.parse(gatorOut) as unknown[]).length : 0;

  const median = (list: Run[], key: 'wall' | 'cpu'): number =>
    quantile(
      list.map((t) => t[key]),
      0.5,
    );
  const [tWall, cWall, gWall] = times.map((list) => median(list, 'wall')) as [number, number, number];
  const [tCpu, cCpu, gCpu] = times.map((list) => median(list, 'cpu')) as [number, number, number];
  const lines = [
    `check-vs-peer: ${corpus.resources} resources (${Object.entries(corpus.kinds)
      .map(([k, n]) => `${k} ${n}`)
      .join(', ')}) in ${corpus.files} multi-document files; ${corpus.violating} written to violate`,
    `  tollgate ${report.summary.resources} resources, ${report.summary.denied} denied, findings ${JSON.stringify(report.summary.findings)}, ${positioned} with line:column  (exit ${last.status})`,
    `  conftest ${conftestFailures} failures (no positions)  (exit ${times[1]!.at(-1)!.status})`,
    `  gator    ${gatorFailures} violations (no positions)  (exit ${times[2]!.at(-1)!.status})`,
    `  median of ${runs} runs (alternating, after one warm-up each), process start-up included:`,
    ...tools.map(
      (tool, t) =>
        `    ${tool.name.padEnd(15)} wall ${median(times[t]!, 'wall').toFixed(2)} s  cpu ${median(times[t]!, 'cpu').toFixed(2)} s`,
    ),
    `  tollgate: ${Math.round(report.summary.resources / tWall)} resources/s end to end (wall)`,
    `  ratio conftest/tollgate: wall ${(cWall / tWall).toFixed(2)}x, cpu ${(cCpu / tCpu).toFixed(2)}x (> 1 means tollgate is faster)`,
    `  ratio gator/tollgate:    wall ${(gWall / tWall).toFixed(2)}x, cpu ${(gCpu / tCpu).toFixed(2)}x`,
  ];
  process.stdout.write(`${lines.join('\n')}\n`);
} finally {
  await rm(work, { recursive: true, force: true });
  cleanUp();
}
