/**
 * Per-review cost of gitops-only and gitops-sources next to approved-registries: median time of
 * evaluate() for each policy alone (the finance baseline's configuration) on the reviews it exists for,
 * as a ratio to approved-registries on a two-container Deployment, so the figures read the same on a
 * noisy machine.
 *
 *   node_modules/.bin/node bench/gitops.ts [iterations]
 */
import { readFileSync } from 'node:fs';
import { parse } from 'yaml';
import { defaultBundlePath } from '../io/default-bundle.ts';
import { builtinPolicies, evaluate, loadBundle } from '../policies/index.ts';
import type { AdmissionInput, EngineContext, KubeObject } from '../policies/index.ts';
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

const production: KubeObject = {
  apiVersion: 'v1',
  kind: 'Namespace',
  metadata: { name: 'erp-prod', labels: { 'tollgate.dev/environment': 'production' } },
};
const context: EngineContext = {
  now: new Date('2026-11-10T12:00:00Z'),
  point: 'admission',
  namespaces: (name) => (name === 'erp-prod' ? production : undefined),
};

const container = (name: string, image: string, replicas = 0) => ({
  name,
  image,
  env: Array.from({ length: 20 }, (_, i) => ({ name: `VAR_${i}`, value: `value-${i}-${replicas}` })),
  resources: { requests: { cpu: '500m', memory: '1Gi' }, limits: { memory: '2Gi' } },
});
const deployment = (replicas: number): KubeObject => ({
  apiVersion: 'apps/v1',
  kind: 'Deployment',
  metadata: {
    name: 'odoo',
    namespace: 'erp-prod',
    resourceVersion: String(100 + replicas),
    annotations: { 'argocd.argoproj.io/tracking-id': 'erp:apps/Deployment:erp-prod/odoo' },
  },
  spec: {
    replicas,
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
});
const application: KubeObject = {
  apiVersion: 'argoproj.io/v1alpha1',
  kind: 'Application',
  metadata: { name: 'erp', namespace: 'argocd' },
  spec: {
    project: 'erp',
    sources: [
      {
        repoURL: 'git@git.corp.example:erp/deploy.git',
        targetRevision: '3f2c1a9b8e7d6c5b4a3f2e1d0c9b8a7f6e5d4c3b',
      },
      { repoURL: 'oci://registry.corp.example/charts', chart: 'odoo', targetRevision: '17.0.4' },
    ],
    destination: { server: 'https://kubernetes.default.svc', namespace: 'erp-prod' },
    syncPolicy: { automated: { prune: true, selfHeal: true } },
  },
};

const person = { username: 'alice@corp.example', groups: ['system:authenticated'] };
const argocd = { username: 'system:serviceaccount:argocd:argocd-application-controller', groups: [] };
const update = (userInfo: AdmissionInput['userInfo']): AdmissionInput => ({
  operation: 'UPDATE',
  object: deployment(3),
  oldObject: deployment(2),
  namespace: 'erp-prod',
  ...(userInfo ? { userInfo } : {}),
});

async function median(id: string, input: AdmissionInput): Promise<number> {
  const bundle = bundleWith(id);
  const run = () => evaluate(input, bundle, context);
  for (let i = 0; i < Math.min(2000, iterations); i++) await run();
  const samples: number[] = [];
  for (let i = 0; i < iterations; i++) {
    const start = process.hrtime.bigint();
    await run();
    samples.push(Number(process.hrtime.bigint() - start));
  }
  return quantile(samples, 0.5);
}

const reference = await median('approved-registries', { operation: 'CREATE', object: deployment(2) });
const rows: Array<[string, string, number]> = [
  ['approved-registries', 'CREATE Deployment (2 containers)', reference],
  [
    'gitops-only',
    'UPDATE Deployment by a person (denied, field diff)',
    await median('gitops-only', update(person)),
  ],
  ['gitops-only', 'UPDATE Deployment by Argo CD (allowed)', await median('gitops-only', update(argocd))],
  [
    'gitops-only',
    'CREATE in CI (no requester: skip)',
    await median('gitops-only', { operation: 'CREATE', object: deployment(2) }),
  ],
  [
    'gitops-sources',
    'CREATE Argo CD Application (2 sources)',
    await median('gitops-sources', { operation: 'CREATE', object: application }),
  ],
  [
    'gitops-sources',
    'CREATE Deployment (annotations only)',
    await median('gitops-sources', { operation: 'CREATE', object: deployment(2) }),
  ],
];
console.log(
  `per-review cost, median of ${iterations} evaluate() calls, finance baseline configuration, one policy per bundle`,
);
for (const [policy, review, ns] of rows)
  console.log(
    `${policy.padEnd(20)} ${review.padEnd(52)} ${micros(ns).padStart(10)}  ×${(ns / reference).toFixed(2)}`,
  );
