/**
 * Engine latency: median and p99 time to evaluate a typical two-container Deployment against the
 * finance baseline (target: median <= 50 µs), next to a same-process baseline (structuredClone of
 * the same object) so the figure can be read on a noisy machine.
 *
 *   npx node bench/engine.ts [iterations]
 */
import { readFileSync } from 'node:fs';
import { defaultBundlePath } from '../io/default-bundle.ts';
import { builtinPolicies, evaluate, loadBundle } from '../policies/index.ts';
import type { EngineContext, KubeObject } from '../policies/index.ts';
import { micros, quantile } from './stats.ts';

const iterations = Number(process.argv[2] ?? 20000);
const bundle = loadBundle(readFileSync(defaultBundlePath), {
  source: 'finance-baseline',
  policies: builtinPolicies,
});

const container = (name: string, image: string) => ({
  name,
  image,
  ports: [{ containerPort: 8069, name: 'http' }],
  resources: { requests: { cpu: '500m', memory: '1Gi' }, limits: { memory: '2Gi' } },
  securityContext: { runAsNonRoot: true, allowPrivilegeEscalation: false, capabilities: { drop: ['ALL'] } },
});
const deployment: KubeObject = {
  apiVersion: 'apps/v1',
  kind: 'Deployment',
  metadata: { name: 'odoo', namespace: 'tenant-acme', labels: { 'app.kubernetes.io/name': 'odoo' } },
  spec: {
    replicas: 2,
    selector: { matchLabels: { 'app.kubernetes.io/name': 'odoo' } },
    template: {
      metadata: { labels: { 'app.kubernetes.io/name': 'odoo' } },
      spec: {
        containers: [
          container('odoo', 'registry.corp.example/erp/odoo:17.0'),
          container('log-shipper', 'registry.corp.example/platform/fluent-bit:3.1'),
        ],
      },
    },
  },
};
const namespace: KubeObject = {
  apiVersion: 'v1',
  kind: 'Namespace',
  metadata: {
    name: 'tenant-acme',
    labels: { 'tollgate.dev/tenant': 'acme', 'kubernetes.io/metadata.name': 'tenant-acme' },
  },
};
const context: EngineContext = {
  now: new Date('2026-11-10T12:00:00Z'),
  point: 'admission',
  namespaces: (name) => (name === 'tenant-acme' ? namespace : undefined),
};

async function measure(label: string, fn: () => unknown): Promise<number[]> {
  for (let i = 0; i < Math.min(2000, iterations); i++) await fn();
  const samples: number[] = [];
  for (let i = 0; i < iterations; i++) {
    const start = process.hrtime.bigint();
    await fn();
    samples.push(Number(process.hrtime.bigint() - start));
  }
  console.log(
    `${label.padEnd(34)} median ${micros(quantile(samples, 0.5)).padStart(10)}  p99 ${micros(quantile(samples, 0.99)).padStart(10)}`,
  );
  return samples;
}

const first = await evaluate({ operation: 'CREATE', object: deployment }, bundle, context);
console.log(
  `bundle ${bundle.identity.name} ${bundle.identity.version}: ${bundle.policies.length} policies; decision on the sample: ${first.decision}`,
);
for (const result of first.results)
  console.log(`  ${result.policy}: ${result.status}${result.reason ? ` (${result.reason})` : ''}`);
const baseline = await measure('baseline: structuredClone(object)', () => structuredClone(deployment));
const engine = await measure('evaluate(Deployment, baseline)', () =>
  evaluate({ operation: 'CREATE', object: deployment }, bundle, context),
);
console.log(
  `engine median / baseline median: ${(quantile(engine, 0.5) / quantile(baseline, 0.5)).toFixed(1)}x (target median <= 50 µs)`,
);
