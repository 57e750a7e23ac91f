/**
 * freeze-windows cost per object, next to approved-registries (same run, same object), for the
 * finance baseline's calendar (two entities, close windows with overrides):
 * - CI: every manifest of a run shares one `now`, so windows in force are computed once;
 * - admission: every request has its own `now` (1 s apart), so windows are computed per request;
 * - break-glass: a frozen change carrying a valid two-signature token (ES256 + EdDSA verify).
 *
 *   npx node bench/freeze-windows.ts [iterations]
 */
import { readFileSync } from 'node:fs';
import { approvedRegistriesPolicy } from '../policies/approved-registries/index.ts';
import { freezeWindowsPolicy } from '../policies/freeze-windows/index.ts';
import { evaluate, loadBundle } from '../policies/index.ts';
import type { KubeObject, Policy } from '../policies/index.ts';
import { parse } from 'yaml';
import { micros, quantile } from './stats.ts';

const iterations = Number(process.argv[2] ?? 5000);

const baseline = parse(
  readFileSync(new URL('../bundles/finance-baseline.yaml', import.meta.url), 'utf8'),
) as {
  spec: { policies: Record<string, Record<string, unknown>> };
};

function bundleOf(policy: Policy<unknown>, params: Record<string, unknown>) {
  return loadBundle(
    JSON.stringify({
      apiVersion: 'tollgate.dev/v1',
      kind: 'PolicyBundle',
      metadata: { name: 'bench', version: '1.0.0' },
      spec: { policies: { [policy.id]: params } },
    }),
    { source: 'bench', policies: [policy] },
  );
}

const freeze = bundleOf(
  freezeWindowsPolicy as Policy<unknown>,
  baseline.spec.policies['freeze-windows'] ?? {},
);
const registries = bundleOf(approvedRegistriesPolicy as Policy<unknown>, {
  registries: ['registry.corp.example/erp', 'registry.corp.example/platform'],
});

const namespace: KubeObject = {
  apiVersion: 'v1',
  kind: 'Namespace',
  metadata: { name: 'tenant-acme', labels: { 'tollgate.dev/environment': 'production' } },
};
const sample = readFileSync(
  new URL('../policies/freeze-windows/samples/allowed/deployment-break-glass.yaml', import.meta.url),
  'utf8',
);
const token = (parse(sample) as KubeObject).metadata?.annotations?.['tollgate.dev/break-glass'] ?? '';
const app = (annotations?: Record<string, string>): KubeObject => ({
  apiVersion: 'apps/v1',
  kind: 'Deployment',
  metadata: { name: 'odoo-payments', namespace: 'tenant-acme', ...(annotations ? { annotations } : {}) },
  spec: {
    selector: { matchLabels: { app: 'odoo' } },
    template: { spec: { containers: [{ name: 'odoo', image: 'registry.corp.example/erp/odoo:17.0' }] } },
  },
});

async function latency(
  bundle: ReturnType<typeof bundleOf>,
  object: KubeObject,
  nowOf: (i: number) => Date,
): Promise<number[]> {
  const samples: number[] = [];
  for (let i = 0; i < iterations; i++) {
    const now = nowOf(i);
    const start = process.hrtime.bigint();
    await evaluate({ operation: 'CREATE', object }, bundle, {
      now,
      point: 'admission',
      namespaces: () => namespace,
    });
    samples.push(Number(process.hrtime.bigint() - start));
  }
  return samples;
}

const open = Date.parse('2027-01-20T12:00:00Z');
const frozen = Date.parse('2027-03-30T12:00:00Z');
const fixed = (t: number) => () => new Date(t);
const moving = (t: number) => (i: number) => new Date(t + i * 1000);

// The sample bundle's approvers and lifetime accept the sample token; the baseline configures no
// break-glass, so the break-glass row uses the sample bundle.
const samples = loadBundle(
  readFileSync(new URL('../policies/freeze-windows/samples/bundle.yaml', import.meta.url)),
  { source: 'samples', policies: [freezeWindowsPolicy as Policy<unknown>] },
);
const frozenSample: KubeObject = { ...app({ 'tollgate.dev/break-glass': token }) };
frozenSample.metadata = { ...frozenSample.metadata, namespace: 'frozen-sample' };

await latency(freeze, app(), moving(open)); // warm-up (holiday tables, Intl formatters)
await latency(registries, app(), fixed(open));
const rows: Array<[string, number[]]> = [
  ['approved-registries, Deployment (baseline)', await latency(registries, app(), fixed(open))],
  ['freeze-windows, CI (one now per run), open', await latency(freeze, app(), fixed(open))],
  ['freeze-windows, admission (now per request), open', await latency(freeze, app(), moving(open))],
  ['freeze-windows, admission, frozen -> deny', await latency(freeze, app(), moving(frozen))],
  [
    'freeze-windows, admission, frozen + valid break-glass',
    await latency(samples, frozenSample, moving(frozen)),
  ],
];
const base = quantile(rows[0]![1], 0.5);
console.log(
  `freeze-windows bench, ${iterations} evaluations per row (p50 / p99, ratio of p50 to the baseline)`,
);
for (const [name, values] of rows) {
  const p50 = quantile(values, 0.5);
  console.log(
    `${name.padEnd(56)} p50 ${micros(p50).padStart(12)}  p99 ${micros(quantile(values, 0.99)).padStart(12)}  x${(p50 / base).toFixed(1)}`,
  );
}
