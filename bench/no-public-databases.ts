/**
 * no-public-databases cost: per-object latency of the policy alone next to approved-registries
 * (same run, same objects), and the cost of resolving Service selectors against the related
 * objects of a large CI run (a corpus where no Service can be judged on its own ports, the worst
 * case) next to the same corpus evaluated without related objects (admission-style).
 *
 *   npx node bench/no-public-databases.ts [iterations] [corpus-size]
 */
import { approvedRegistriesPolicy } from '../policies/approved-registries/index.ts';
import { evaluate, loadBundle } from '../policies/index.ts';
import type { EngineContext, KubeObject, Policy } from '../policies/index.ts';
import { noPublicDatabasesPolicy } from '../policies/no-public-databases/index.ts';
import { micros, quantile } from './stats.ts';

const iterations = Number(process.argv[2] ?? 20000);
const corpusSize = Number(process.argv[3] ?? 10000);

function bundleOf(policy: Policy<unknown>, params: Record<string, unknown>) {
  return loadBundle(
    JSON.stringify({
      apiVersion: 'tollgate.dev/v1',
      kind: 'PolicyBundle',
      metadata: { name: 'bench', version: '1.0.0' },
      spec: { policies: { [policy.id]: { enforcement: 'deny', ...params } } },
    }),
    { source: 'bench', policies: [policy] },
  );
}

const npd = bundleOf(noPublicDatabasesPolicy as Policy<unknown>, {});
const registries = bundleOf(approvedRegistriesPolicy as Policy<unknown>, {
  registries: ['registry.corp.example/erp', 'registry.corp.example/platform'],
});

const deployment = (name: string, namespace: string, image: string): KubeObject => ({
  apiVersion: 'apps/v1',
  kind: 'Deployment',
  metadata: { name, namespace },
  spec: {
    selector: { matchLabels: { app: name } },
    template: {
      metadata: { labels: { app: name, tier: 'backend' } },
      spec: {
        containers: [
          { name: 'main', image, ports: [{ name: 'http', containerPort: 8080 }] },
          { name: 'log-shipper', image: 'registry.corp.example/platform/fluent-bit:3.1' },
        ],
      },
    },
  },
});
const service = (name: string, namespace: string, type = 'LoadBalancer'): KubeObject => ({
  apiVersion: 'v1',
  kind: 'Service',
  metadata: { name, namespace },
  spec: { type, selector: { app: name }, ports: [{ name: 'web', port: 80, targetPort: 'http' }] },
});

const now = new Date('2026-11-20T12:00:00Z');
const admission: EngineContext = { now, point: 'admission' };

async function latency(bundle: ReturnType<typeof bundleOf>, object: KubeObject): Promise<number[]> {
  const samples: number[] = [];
  for (let i = 0; i < iterations; i++) {
    const start = process.hrtime.bigint();
    await evaluate({ operation: 'CREATE', object }, bundle, admission);
    samples.push(Number(process.hrtime.bigint() - start));
  }
  return samples;
}

const app = deployment('odoo', 'tenant-acme', 'registry.corp.example/erp/odoo:17.0');
const dbService: KubeObject = {
  ...service('odoo-postgresql', 'tenant-acme', 'ClusterIP'),
  spec: { selector: { app: 'pg' }, ports: [{ name: 'tcp-postgresql', port: 5432 }] },
};
await latency(npd, app); // warm-up
await latency(registries, app);
const rows: Array<[string, number[]]> = [
  ['approved-registries, Deployment (baseline)', await latency(registries, app)],
  ['no-public-databases, Deployment', await latency(npd, app)],
  ['no-public-databases, ClusterIP Service', await latency(npd, dbService)],
];
const baseMedian = quantile(rows[0]![1], 0.5);
console.log(`per-object latency over ${iterations} evaluations`);
for (const [label, samples] of rows) {
  const median = quantile(samples, 0.5);
  console.log(
    `  ${label.padEnd(44)} median ${micros(median)}  p99 ${micros(quantile(samples, 0.99))}  ` +
      `(${(median / baseMedian).toFixed(2)}× baseline)`,
  );
}

// Corpus: half Deployments (1 in 10 runs postgres), half LoadBalancer Services selecting them by
// label through a named targetPort, spread over 100 namespaces.
const corpus: KubeObject[] = [];
for (let i = 0; i < corpusSize / 2; i++) {
  const namespace = `tenant-${i % 100}`;
  const name = `app-${i}`;
  const image = i % 10 === 0 ? 'postgres:16' : 'registry.corp.example/erp/app:1';
  corpus.push(deployment(name, namespace, image), service(name, namespace));
}

async function corpusRun(related: boolean): Promise<{ ms: number; denied: number }> {
  const context: EngineContext = related ? { now, point: 'ci', relatedObjects: [...corpus] } : admission;
  const start = process.hrtime.bigint();
  const reports = await Promise.all(
    corpus.map((object) => evaluate({ operation: 'CREATE', object }, npd, context)),
  );
  const ms = Number(process.hrtime.bigint() - start) / 1e6;
  return { ms, denied: reports.filter((r) => r.decision === 'deny').length };
}

await corpusRun(true); // warm-up
const without = await corpusRun(false);
const withRelated = await corpusRun(true);
console.log(`corpus of ${corpus.length} resources (evaluation only, no YAML parsing)`);
for (const [label, run] of [
  ['no related objects (admission-style, baseline)', without],
  ['related objects (CI: selectors resolved)', withRelated],
] as const) {
  console.log(
    `  ${label.padEnd(48)} ${run.ms.toFixed(1)} ms  ${Math.round((corpus.length / run.ms) * 1000)} resources/s  ` +
      `${run.denied} denied  (${(run.ms / without.ms).toFixed(2)}× baseline)`,
  );
}
