/**
 * Cold start: what one call of the command costs, the way a pre-commit hook, an editor or a CI job
 * with many small steps calls it, against gator (Gatekeeper's CLI) and conftest, both built with
 * `go install` by bench/peer-tools.sh and cached, and against bare `node -e 0` (the floor of any
 * Node CLI). Each call is a fresh process; figures are whole-process CPU (user + system, children
 * included), wall time and peak memory, the median of --runs runs taken in turn (A B C … A B C …)
 * after one warm-up each, so a change in the machine's load hits every tool alike. Prints figures
 * and ratios, never asserts.
 *
 * - check: one small manifest (examples/allowed/odoo-deployment.yaml). tollgate runs the embedded
 *   finance baseline, offline; gator and conftest run the peer checks of bench/peers.ts.
 * - version: `--version` of each.
 *
 * Usage: node bench/cold-start.ts [--runs 9] [--manifest FILE]
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { cleanUp, measure, node, peerTools, root, writePeerPolicies } from './peers.ts';
import type { Run } from './peers.ts';
import { quantile } from './stats.ts';

const { values } = parseArgs({
  options: {
    runs: { type: 'string', default: '9' },
    manifest: { type: 'string', default: join(root, 'examples/allowed/odoo-deployment.yaml') },
  },
});
const runs = Number(values.runs);
const manifest = values.manifest;
const { gator, conftest } = peerTools('gator', 'conftest');
const work = mkdtempSync(join(tmpdir(), 'tollgate-cold-start-'));
const { conftestPolicy, gatorPolicy } = writePeerPolicies(work);
const tollgate = join(root, 'bin/tollgate.js');

interface Case {
  readonly name: string;
  readonly command: string;
  readonly args: readonly string[];
}

const checkCases: Case[] = [
  { name: 'tollgate check --offline', command: node, args: [tollgate, 'check', '--offline', manifest] },
  { name: 'gator test', command: gator, args: ['test', '-o', 'json', '-f', gatorPolicy, '-f', manifest] },
  {
    name: 'conftest test',
    command: conftest,
    args: ['test', '--no-color', '-o', 'json', '--policy', conftestPolicy, manifest],
  },
];
const versionCases: Case[] = [
  { name: 'tollgate --version', command: node, args: [tollgate, '--version'] },
  { name: 'node -e 0', command: node, args: ['-e', '0'] },
  { name: 'gator --version', command: gator, args: ['--version'] },
  { name: 'conftest --version', command: conftest, args: ['--version'] },
];

/** Runs the cases in turn, `runs` rounds after a warm-up; returns each case's runs. */
function rounds(cases: readonly Case[]): Run[][] {
  for (const c of cases) measure(c.command, c.args);
  const results: Run[][] = cases.map(() => []);
  for (let round = 0; round < runs; round++)
    cases.forEach((c, i) => results[i]!.push(measure(c.command, c.args)));
  return results;
}

const median = (list: readonly Run[], key: 'wall' | 'cpu' | 'peakMiB'): number =>
  quantile(
    list.map((run) => run[key] ?? Number.NaN),
    0.5,
  );

function table(title: string, cases: readonly Case[], results: Run[][], base: number): string[] {
  const baseCpu = median(results[base]!, 'cpu');
  const width = Math.max(...cases.map((c) => c.name.length));
  return [
    title,
    ...cases.map((c, i) => {
      const list = results[i]!;
      const cpu = median(list, 'cpu');
      const peak = median(list, 'peakMiB');
      return `  ${c.name.padEnd(width)}  cpu ${(cpu * 1000).toFixed(0).padStart(5)} ms  wall ${(median(list, 'wall') * 1000).toFixed(0).padStart(5)} ms${Number.isNaN(peak) ? '' : `  peak ${peak.toFixed(0).padStart(4)} MiB`}  exit ${list.at(-1)?.status}  ${i === base ? '(base)' : `base/this cpu ${(baseCpu / cpu).toFixed(2)}x`}`;
    }),
  ];
}

try {
  const check = rounds(checkCases);
  const version = rounds(versionCases);
  const tCheck = median(check[0]!, 'cpu');
  const lines = [
    `cold-start: median of ${runs} alternating runs after one warm-up each; cpu = user + system of the process`,
    ...table(`one small manifest (${manifest.replace(root, '')}):`, checkCases, check, 0),
    `  ratio tollgate/gator cpu ${(tCheck / median(check[1]!, 'cpu')).toFixed(2)}x, tollgate/conftest cpu ${(tCheck / median(check[2]!, 'cpu')).toFixed(2)}x (< 1 means tollgate is cheaper)`,
    ...table('--version:', versionCases, version, 1),
    `  ratio tollgate --version / node -e 0 cpu ${(median(version[0]!, 'cpu') / median(version[1]!, 'cpu')).toFixed(2)}x`,
  ];
  process.stdout.write(`${lines.join('\n')}\n`);
} finally {
  rmSync(work, { recursive: true, force: true });
  cleanUp();
}
