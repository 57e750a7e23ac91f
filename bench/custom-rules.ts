/**
 * Cost of custom bundle rules, and why their patterns run on RE2.
 *
 * 1. Median evaluate() time of the two sample rules (policies/custom-rules/samples/bundle.yaml) on a
 *    two-container Deployment, as a ratio to a bundle holding only approved-registries.
 * 2. The pattern `^(a+)+$` on "aaa…a!" of growing length: JavaScript's backtracking RegExp (what a
 *    rule would get without RE2) against re2js (what rules use). The backtracking times double with
 *    each added character; RE2 stays linear up to the 16384-character input cap.
 *
 *   npx node bench/custom-rules.ts [iterations]
 */
import { readFileSync } from 'node:fs';
import { RE2JS } from 're2js';
import { builtinPolicies, evaluate, loadBundle } from '../policies/index.ts';
import type { EngineContext, KubeObject } from '../policies/index.ts';
import { MAX_REGEX_INPUT } from '../policies/custom-rules/index.ts';
import { micros, quantile } from './stats.ts';

const iterations = Number(process.argv[2] ?? 20000);
const sample = readFileSync(new URL('../policies/custom-rules/samples/bundle.yaml', import.meta.url), 'utf8');
const rules = loadBundle(sample, { source: 'custom-rules sample', policies: builtinPolicies });
const reference = loadBundle(
  JSON.stringify({
    apiVersion: 'tollgate.dev/v1',
    kind: 'PolicyBundle',
    metadata: { name: 'reference', version: '1.0.0' },
    spec: { policies: { 'approved-registries': { registries: ['registry.corp.example'] } } },
  }),
  { source: 'reference', policies: builtinPolicies },
);

const container = (name: string, image: string) => ({
  name,
  image,
  resources: { requests: { cpu: '500m', memory: '1Gi' }, limits: { memory: '2Gi' } },
});
const deployment: KubeObject = {
  apiVersion: 'apps/v1',
  kind: 'Deployment',
  metadata: {
    name: 'odoo',
    namespace: 'tenant-acme',
    labels: { 'app.kubernetes.io/part-of': 'erp', 'finance.corp.example/cost-center': 'cc-4711' },
  },
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
const context: EngineContext = { now: new Date('2026-11-20T12:00:00Z'), point: 'admission' };

async function median(bundle: typeof rules): Promise<number> {
  for (let i = 0; i < 1000; i++) await evaluate({ operation: 'CREATE', object: deployment }, bundle, context);
  const samples: number[] = [];
  for (let i = 0; i < iterations; i++) {
    const start = process.hrtime.bigint();
    await evaluate({ operation: 'CREATE', object: deployment }, bundle, context);
    samples.push(Number(process.hrtime.bigint() - start));
  }
  return quantile(samples, 0.5);
}

const ruleTime = await median(rules);
const referenceTime = await median(reference);
console.log(`evaluate() median over ${iterations} runs (two-container Deployment)`);
console.log(`  approved-registries only (reference): ${micros(referenceTime)}`);
console.log(
  `  the two sample custom rules:          ${micros(ruleTime)}  (${(ruleTime / referenceTime).toFixed(2)}x reference)`,
);

function time(fn: () => boolean): number {
  const start = process.hrtime.bigint();
  fn();
  return Number(process.hrtime.bigint() - start);
}

const pattern = '^(a+)+$';
const backtracking = new RegExp(pattern);
const re2 = RE2JS.compile(pattern);
for (let i = 0; i < 200; i++) re2.test(`${'a'.repeat(64)}!`);
console.log(`\n${pattern} on "a"*n + "!" (no match): backtracking RegExp vs RE2 (re2js)`);
for (const n of [16, 18, 20, 22, 24]) {
  const input = `${'a'.repeat(n)}!`;
  const js = time(() => backtracking.test(input));
  const linear = time(() => re2.test(input));
  console.log(
    `  n=${String(n).padStart(5)}  RegExp ${micros(js).padStart(14)}  RE2 ${micros(linear).padStart(12)}  (${(js / linear).toFixed(0)}x)`,
  );
}
for (const n of [1024, MAX_REGEX_INPUT - 1]) {
  const input = `${'a'.repeat(n)}!`;
  console.log(
    `  n=${String(n).padStart(5)}  RegExp (not run: exponential)  RE2 ${micros(time(() => re2.test(input))).padStart(12)}`,
  );
}
