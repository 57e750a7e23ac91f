/**
 * `tollgate check` against a peer on the same 10,000-resource corpus, in one run.
 *
 * The peer is conftest (OPA/Rego; kube-linter's Go module is not reachable through the module proxy
 * here), installed by bench/peer-tools.sh with `go install` and cached. Both get comparable checks:
 * approved registries for every container and init container of every workload kind, required
 * requests/limits, maximum memory, `m`-suffixed memory, and databases behind public Services.
 * tollgate also computes each finding's line and column (conftest reports no positions).
 * Runs alternate between the tools; the figure is the median wall-clock time (and CPU time when
 * /usr/bin/time exists), and the ratio peer / tollgate (> 1: tollgate is faster).
 *
 * Usage: node bench/check-vs-peer.ts [--count 10000] [--runs 3] [--corpus DIR]
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { parseDocument } from 'yaml';
import { generateCorpus } from './corpus.ts';
import { quantile } from './stats.ts';

const root = fileURLToPath(new URL('..', import.meta.url));
const node = existsSync(join(root, 'node_modules/.bin/node'))
  ? join(root, 'node_modules/.bin/node')
  : process.execPath;

/** The peer's policy: the same checks as the bench bundle below, in Rego (OPA v1 syntax). */
const rego = `package main

approved := ["registry.corp.example/erp/", "registry.corp.example/platform/", "ghcr.io/cloudnative-pg/", "docker.io/library/traefik/"]

workload_kinds := {"Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "ReplicationController", "Job"}

pod_spec := input.spec if input.kind == "Pod"
pod_spec := input.spec.template.spec if workload_kinds[input.kind]
pod_spec := input.spec.jobTemplate.spec.template.spec if input.kind == "CronJob"

containers contains c if some c in pod_spec.containers
containers contains c if some c in pod_spec.initContainers

approved_image(image) if {
	some prefix in approved
	startswith(image, prefix)
}

deny contains msg if {
	some c in containers
	not approved_image(c.image)
	msg := sprintf("%s/%s: image %q of container %s is not from an approved registry", [input.kind, input.metadata.name, c.image, c.name])
}

required := [["requests", "cpu"], ["requests", "memory"], ["limits", "memory"]]

deny contains msg if {
	some c in containers
	some r in required
	not c.resources[r[0]][r[1]]
	msg := sprintf("%s/%s: container %s does not set resources.%s.%s", [input.kind, input.metadata.name, c.name, r[0], r[1]])
}

deny contains msg if {
	some c in containers
	some kind in ["requests", "limits"]
	value := c.resources[kind].memory
	regex.match("^[0-9.]+m$", sprintf("%v", [value]))
	msg := sprintf("%s/%s: container %s memory %v uses m (milli-bytes)", [input.kind, input.metadata.name, c.name, value])
}

deny contains msg if {
	some c in containers
	value := c.resources.limits.memory
	units.parse_bytes(sprintf("%v", [value])) > units.parse_bytes("16Gi")
	msg := sprintf("%s/%s: container %s limits.memory %v is above 16Gi", [input.kind, input.metadata.name, c.name, value])
}

db_ports := {5432, 6432, 6379, 26379, 3306, 27017, 1433, 1521, 9042, 9200, 11211}

deny contains msg if {
	input.kind == "Service"
	input.spec.type in {"LoadBalancer", "NodePort"}
	some p in input.spec.ports
	db_ports[p.port]
	msg := sprintf("Service/%s: database port %d exposed by type %s", [input.metadata.name, p.port, input.spec.type])
}
`;

interface Timing {
  wall: number;
  cpu?: number;
  status: number | null;
  stdout: string;
}

const hasTime = existsSync('/usr/bin/time');

function timed(command: string, args: string[]): Timing {
  const start = process.hrtime.bigint();
  const result = hasTime
    ? spawnSync('/usr/bin/time', ['-f', 'TOLLGATE_BENCH_TIME %U %S', command, ...args], {
        encoding: 'utf8',
        maxBuffer: 1024 * 1024 * 1024,
      })
    : spawnSync(command, args, { encoding: 'utf8', maxBuffer: 1024 * 1024 * 1024 });
  const wall = Number(process.hrtime.bigint() - start) / 1e9;
  const cpuMatch = /TOLLGATE_BENCH_TIME ([\d.]+) ([\d.]+)/.exec(result.stderr ?? '');
  if (result.error) throw result.error;
  return {
    wall,
    ...(cpuMatch ? { cpu: Number(cpuMatch[1]) + Number(cpuMatch[2]) } : {}),
    status: result.status,
    stdout: result.stdout,
  };
}

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

const peerTools = spawnSync('bash', [join(root, 'bench/peer-tools.sh')], {
  encoding: 'utf8',
  stdio: ['ignore', 'pipe', 'inherit'],
});
const conftest = peerTools.stdout.trim().split('\n').at(-1);
if (peerTools.status !== 0 || !conftest || !existsSync(conftest)) {
  process.stderr.write('check-vs-peer: conftest could not be installed (bench/peer-tools.sh); no ratio.\n');
  process.exit(1);
}

const work = await mkdtemp(join(tmpdir(), 'tollgate-check-vs-peer-'));
try {
  const corpusDir = values.corpus ?? join(work, 'corpus');
  const corpus = await generateCorpus(corpusDir, count);
  const bundle = await benchBundle(work);
  const policyDir = join(work, 'policy');
  await mkdir(policyDir);
  await writeFile(join(policyDir, 'tollgate_peer.rego'), rego);

  const tollgateArgs = [
    join(root, 'bin/tollgate.js'),
    'check',
    corpusDir,
    '--bundle',
    bundle,
    '--format',
    'json',
    '--now',
    '2026-11-22T12:00:00Z',
  ];
  const conftestArgs = ['test', '--no-color', '--output', 'json', '--policy', policyDir, corpusDir];
  const tollgateTimes: Timing[] = [];
  const peerTimes: Timing[] = [];
  // Warm-up (file cache, JIT of nothing persistent) then alternate so load changes hit both.
  timed(node, tollgateArgs);
  timed(conftest, conftestArgs);
  for (let i = 0; i < runs; i++) {
    tollgateTimes.push(timed(node, tollgateArgs));
    peerTimes.push(timed(conftest, conftestArgs));
  }
  const last = tollgateTimes.at(-1)!;
  const report = JSON.parse(last.stdout) as {
    summary: { resources: number; denied: number; findings: Record<string, number> };
    resources: Array<{ results: Array<{ findings: Array<{ line: number }> }> }>;
  };
  const positioned = report.resources
    .flatMap((r) => r.results.flatMap((x) => x.findings))
    .filter((f) => f.line > 0).length;
  const peer = JSON.parse(peerTimes.at(-1)!.stdout) as Array<{ failures?: unknown[]; successes?: number }>;
  const peerFailures = peer.reduce((sum, file) => sum + (file.failures?.length ?? 0), 0);

  const median = (list: Timing[], key: 'wall' | 'cpu'): number =>
    quantile(
      list.map((t) => t[key] ?? Number.NaN),
      0.5,
    );
  const tWall = median(tollgateTimes, 'wall');
  const pWall = median(peerTimes, 'wall');
  const tCpu = median(tollgateTimes, 'cpu');
  const pCpu = median(peerTimes, 'cpu');
  const lines = [
    `check-vs-peer: ${corpus.resources} resources (${Object.entries(corpus.kinds)
      .map(([k, n]) => `${k} ${n}`)
      .join(', ')}) in ${corpus.files} multi-document files; ${corpus.violating} written to violate`,
    `  tollgate ${report.summary.resources} resources, ${report.summary.denied} denied, findings ${JSON.stringify(report.summary.findings)}, ${positioned} with line:column  (exit ${last.status})`,
    `  conftest ${peerFailures} failures (no positions)  (exit ${peerTimes.at(-1)!.status})`,
    `  median of ${runs} runs (alternating, after one warm-up each), process start-up included:`,
    `    tollgate check  wall ${tWall.toFixed(2)} s${Number.isNaN(tCpu) ? '' : `  cpu ${tCpu.toFixed(2)} s`}`,
    `    conftest test   wall ${pWall.toFixed(2)} s${Number.isNaN(pCpu) ? '' : `  cpu ${pCpu.toFixed(2)} s`}`,
    `  ratio conftest/tollgate: wall ${(pWall / tWall).toFixed(2)}x${Number.isNaN(tCpu) ? '' : `, cpu ${(pCpu / tCpu).toFixed(2)}x`} (> 1 means tollgate is faster)`,
  ];
  process.stdout.write(`${lines.join('\n')}\n`);
} finally {
  await rm(work, { recursive: true, force: true });
}
