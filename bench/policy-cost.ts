/**
 * Per-policy cost: median time of evaluate() on the bench's two-container Deployment with a bundle
 * holding a single built-in policy, as a ratio to a bundle holding only approved-registries (the
 * reference policy), so the figures read the same on a noisy machine.
 *
 *   npx node bench/policy-cost.ts [iterations]
 */
import { readFileSync } from 'node:fs';
import { parse } from 'yaml';
import { defaultBundlePath } from '../io/default-bundle.ts';
import { builtinPolicies, evaluate, loadBundle } from '../policies/index.ts';
import type { EngineContext, KubeObject } from '../policies/index.ts';
import { micros, quantile } from './stats.ts';

const iterations = Number(process.argv[2] ?? 20000);
const baseline = parse(readFileSync(defaultBundlePath, 'utf8')) as {
  spec: { policies: Record<string, unknown> };
};

function bundleWith(id: string) {
  const document = {
    ...baseline,
    spec: { ...baseline.spec, policies: { [id]: baseline.spec.policies[id] } },
  };
  return loadBundle(JSON.stringify(document), {
    source: `finance-baseline[${id}]`,
    policies: builtinPolicies,
  });
}

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
  metadata: { name: 'odoo', namespace: 'tenant-acme' },
  spec: {
    selector: { matchLabels: { app: 'odoo' } },
    template: {
      metadata: { labels: { app: 'odoo' } },
      spec: {
        containers: [
          container('odoo', 'registry.corp.example/erp/odoo:17.0'),
          container('log-shipper', 'registry.corp.example/platform/fluent-bit:3.1'),
        ],
      },
    },
  },
};
const tenant: KubeObject = {
  apiVersion: 'v1',
  kind: 'Namespace',
  metadata: { name: 'tenant-acme', labels: { 'tollgate.dev/tenant': 'acme' } },
};
const context: EngineContext = {
  now: new Date('2026-11-10T12:00:00Z'),
  point: 'admission',
  namespaces: (name) => (name === 'tenant-acme' ? tenant : undefined),
};

async function median(id: string): Promise<number> {
  const bundle = bundleWith(id);
  const run = () => evaluate({ operation: 'CREATE', object: deployment }, bundle, context);
  for (let i = 0; i < Math.min(2000, iterations); i++) await run();
  const samples: number[] = [];
  for (let i = 0; i < iterations; i++) {
    const start = process.hrtime.bigint();
    await run();
    samples.push(Number(process.hrtime.bigint() - start));
  }
  return quantile(samples, 0.5);
}

const reference = await median('approved-registries');
console.log(
  `${'approved-registries (reference)'.padEnd(32)} median ${micros(reference).padStart(10)}  1.00x`,
);
for (const id of ['resource-limits', 'namespace-isolation', 'pod-security']) {
  const value = await median(id);
  console.log(`${id.padEnd(32)} median ${micros(value).padStart(10)}  ${(value / reference).toFixed(2)}x`);
}
