import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { builtinPolicies, loadBundle } from '../index.ts';
import { BundleError } from '../engine/errors/index.ts';
import { evaluate } from '../engine/evaluate.ts';
import type { AdmissionInput, KubeObject, PolicyResult } from '../engine/types.ts';
import { deployment, pod } from '../../test/support/policy.ts';
import { MAX_REGEX_INPUT, MAX_SELECTED_NODES } from './index.ts';

const samples = join(import.meta.dirname, 'samples');
const now = new Date('2026-11-20T12:00:00Z');

function bundleWith(rules: unknown[], extra: Record<string, unknown> = {}) {
  return loadBundle(
    JSON.stringify({
      apiVersion: 'tollgate.dev/v1',
      kind: 'PolicyBundle',
      metadata: { name: 'rules', version: '1.0.0' },
      spec: { policies: {}, rules, ...extra },
    }),
    { source: 'rules.yaml', policies: builtinPolicies },
  );
}

function issuesOf(rules: unknown[]): Array<{ path: string; message: string }> {
  try {
    bundleWith(rules);
  } catch (error) {
    if (error instanceof BundleError) return error.issues.map((i) => ({ path: i.path, message: i.message }));
    throw error;
  }
  throw new Error('bundle loaded');
}

const base = {
  id: 'r',
  description: 'test rule',
  select: '$.spec.template.spec.containers[*].image',
  condition: { matches: '^registry\\.corp\\.example/' },
  message: 'image must come from the corporate registry',
};

async function resultOf(
  rule: Record<string, unknown>,
  object: KubeObject | undefined,
  input: Partial<AdmissionInput> = {},
): Promise<PolicyResult> {
  const bundle = bundleWith([{ ...base, ...rule }]);
  const report = await evaluate({ operation: 'CREATE', ...(object ? { object } : {}), ...input }, bundle, {
    now,
    point: 'admission',
  });
  const result = report.results.find((r) => r.policy === (rule.id ?? base.id));
  if (!result) throw new Error('no result');
  return result;
}

const web = deployment([
  {
    name: 'web',
    image: 'registry.corp.example/erp/odoo:17',
    args: ['--workers', '8'],
    resources: { limits: { memory: '2Gi', cpu: '1500m' } },
  },
  { name: 'sidecar', image: 'docker.io/library/busybox', resources: { limits: { cpu: 2 } } },
]);

describe('custom rules: conditions', () => {
  it.each([
    [
      'matches',
      { condition: { matches: '^registry\\.corp\\.example/' } },
      ['spec.template.spec.containers[1].image'],
    ],
    ['notMatches', { condition: { notMatches: 'busybox' } }, ['spec.template.spec.containers[1].image']],
    [
      'equals',
      { select: '$.spec.template.spec.containers[0].name', condition: { equals: 'odoo' } },
      ['spec.template.spec.containers[0].name'],
    ],
    [
      'notEquals',
      { select: '$.metadata.namespace', condition: { notEquals: 'tenant-a' } },
      ['metadata.namespace'],
    ],
    [
      'in',
      { select: '$..containers[*].name', condition: { in: ['web'] } },
      ['spec.template.spec.containers[1].name'],
    ],
    [
      'notIn',
      { select: '$..containers[*].name', condition: { notIn: ['sidecar'] } },
      ['spec.template.spec.containers[1].name'],
    ],
    [
      'quantity lte with field',
      { select: '$..containers[*]', field: 'resources.limits.memory', condition: { lte: '1Gi' } },
      ['spec.template.spec.containers[0].resources.limits.memory'],
    ],
    [
      'quantity exists with field (absent is a finding)',
      {
        select: '$..containers[*]',
        field: 'resources.limits.memory',
        condition: { exists: true, lte: '2Gi' },
      },
      ['spec.template.spec.containers[1].resources.limits.memory'],
    ],
    [
      'quantity gt on cpu (number and millicores compare exactly)',
      { select: '$..containers[*].resources.limits.cpu', condition: { gt: '1500m' } },
      ['spec.template.spec.containers[0].resources.limits.cpu'],
    ],
    [
      'numeric lte on a string argument',
      { select: '$..containers[0].args[1]', condition: { lte: 4 } },
      ['spec.template.spec.containers[0].args[1]'],
    ],
    ['notExists', { select: '$.spec.template.spec.hostNetwork', condition: { notExists: true } }, []],
    [
      'exists on a missing path reports the deepest existing ancestor',
      { select: '$.spec.template.spec.securityContext.runAsNonRoot', condition: { exists: true } },
      ['spec.template.spec'],
    ],
  ])('%s', async (_name, rule, paths) => {
    const result = await resultOf(rule, web);
    expect(result.findings.map((f) => f.path)).toEqual(paths);
    expect(result.status).toBe(paths.length > 0 ? 'fail' : 'pass');
  });

  it('names the offending value and uses the template', async () => {
    const plain = await resultOf({}, web);
    expect(plain.findings[0]?.message).toBe(
      'image must come from the corporate registry: spec.template.spec.containers[1].image is "docker.io/library/busybox", must match /^registry\\.corp\\.example//',
    );
    const templated = await resultOf({ message: '{path} uses {value}', fix: 'mirror it' }, web);
    expect(templated.findings[0]).toMatchObject({
      message: 'spec.template.spec.containers[1].image uses "docker.io/library/busybox"',
      fix: 'mirror it',
      action: 'deny',
      policy: 'r',
    });
  });

  it('a value that is not a quantity fails a quantity comparison', async () => {
    const object = deployment([{ name: 'a', image: 'x', resources: { limits: { memory: 'lots' } } }]);
    const result = await resultOf({ select: '$..memory', condition: { lte: '1Gi' } }, object);
    expect(result.findings[0]?.message).toContain('must be a Kubernetes quantity');
  });
});

describe('custom rules: match', () => {
  const rule = {
    match: {
      kinds: ['Deployment'],
      namespaces: ['tenant-a'],
      labels: {
        matchLabels: { tier: 'erp' },
        matchExpressions: [{ key: 'legacy', operator: 'DoesNotExist' }],
      },
    },
  };
  const labelled = (labels: Record<string, string>, namespace = 'tenant-a'): KubeObject => ({
    ...web,
    metadata: { name: 'app', namespace, labels },
  });

  it('applies when kind, namespace and labels match', async () => {
    expect((await resultOf(rule, labelled({ tier: 'erp' }))).status).toBe('fail');
  });
  it.each([
    [
      'another kind',
      pod({ containers: [{ name: 'a', image: 'busybox' }] }, { labels: { tier: 'erp' } }),
      'does not judge kind Pod',
    ],
    ['another namespace', labelled({ tier: 'erp' }, 'tenant-b'), 'does not judge namespace tenant-b'],
    ['labels not matching', labelled({ tier: 'web' }), 'labels do not match'],
    ['DoesNotExist violated', labelled({ tier: 'erp', legacy: 'yes' }), 'labels do not match'],
  ])('skips %s with the reason', async (_name, object, reason) => {
    const result = await resultOf(rule, object);
    expect(result.status).toBe('skip');
    expect(result.reason).toContain(reason);
  });

  it('judges CREATE and UPDATE by default, DELETE only when asked (on oldObject)', async () => {
    expect((await resultOf({}, undefined, { operation: 'DELETE', oldObject: web })).status).toBe('skip');
    expect((await resultOf({}, web, { operation: 'UPDATE', oldObject: web })).status).toBe('fail');
    const onDelete = await resultOf({ match: { operations: ['DELETE'] } }, undefined, {
      operation: 'DELETE',
      oldObject: web,
    });
    expect(onDelete.status).toBe('fail');
  });

  it('runs after the built-ins, honours exemptions and per-point enforcement', async () => {
    const bundle = bundleWith(
      [{ ...base, enforcement: { admission: 'warn', ci: 'deny' }, controls: ['PCI-DSS-6.4.2'] }],
      {
        policies: { 'approved-registries': { registries: ['registry.corp.example'] } },
        exemptions: [
          {
            policy: 'r',
            namespaces: ['tenant-b'],
            reason: 'migration',
            ticket: 'CHG-9',
            expires: '2027-01-31',
          },
        ],
      },
    );
    expect(bundle.policies.map((p) => p.policy.id)).toEqual(['approved-registries', 'r']);
    const admission = await evaluate({ operation: 'CREATE', object: web }, bundle, {
      now,
      point: 'admission',
    });
    expect(admission.results[1]).toMatchObject({
      status: 'warn',
      action: 'warn',
      controls: ['PCI-DSS-6.4.2'],
    });
    const ci = await evaluate({ operation: 'CREATE', object: web }, bundle, { now, point: 'ci' });
    expect(ci.results[1]).toMatchObject({ status: 'fail', action: 'deny' });
    const exempt = await evaluate(
      { operation: 'CREATE', object: { ...web, metadata: { name: 'x', namespace: 'tenant-b' } } },
      bundle,
      { now, point: 'ci' },
    );
    expect(exempt.results[1]).toMatchObject({ status: 'skip', exemption: { ticket: 'CHG-9' } });
  });
});

describe('custom rules: safety', () => {
  it.each([
    ['a backreference', { condition: { matches: '(a)\\1' } }, '/spec/rules/0/condition/matches', 'RE2'],
    [
      'lookahead',
      { condition: { matches: '(?=admin)' } },
      '/spec/rules/0/condition/matches',
      'no lookaround',
    ],
    [
      'a filter expression',
      { select: '$..containers[?(@.image)]' },
      '/spec/rules/0/select',
      'filter and script',
    ],
    [
      'a script expression',
      { select: '$..containers[(@.length-1)]' },
      '/spec/rules/0/select',
      'filter and script',
    ],
    [
      'a JSONPath not at the root',
      { select: 'spec.containers' },
      '/spec/rules/0/select',
      'must match pattern',
    ],
    [
      'a bound that is no quantity',
      { condition: { lte: 'lots' } },
      '/spec/rules/0/condition/lte',
      'neither a number',
    ],
    [
      'exists with notExists',
      { condition: { exists: true, notExists: true } },
      '/spec/rules/0/condition',
      'contradict',
    ],
    [
      'In without values',
      { match: { labels: { matchExpressions: [{ key: 'a', operator: 'In' }] } } },
      '/spec/rules/0/match/labels',
      'needs values',
    ],
    ['a built-in id', { id: 'approved-registries' }, '/spec/rules/0/id', 'already used by a built-in policy'],
    [
      'an unknown condition',
      { condition: { startsWith: 'x' } },
      '/spec/rules/0/condition/startsWith',
      'unknown field',
    ],
    [
      'an empty condition',
      { condition: {} },
      '/spec/rules/0/condition',
      'must NOT have fewer than 1 properties',
    ],
  ])('rejects %s at bundle load', (_name, rule, path, message) => {
    const issues = issuesOf([{ ...base, ...rule }]);
    expect(issues.find((i) => i.path === path)?.message).toContain(message);
  });

  it('rejects duplicate rule ids', () => {
    expect(issuesOf([base, base])).toEqual([
      { path: '/spec/rules/1/id', message: 'rule id "r" is already used by another rule' },
    ]);
  });

  it('patterns that backtrack catastrophically elsewhere run in linear time on RE2', async () => {
    const object = {
      ...web,
      metadata: { name: 'x', namespace: 'n', annotations: { a: `${'a'.repeat(MAX_REGEX_INPUT - 1)}!` } },
    };
    const result = await resultOf(
      { select: '$.metadata.annotations.a', condition: { matches: '^(a+)+$' } },
      object,
    );
    expect(result.status).toBe('fail');
  });

  it('an over-long string is an evaluation error, not a pass', async () => {
    const object = {
      ...web,
      metadata: { name: 'x', namespace: 'n', annotations: { a: 'a'.repeat(MAX_REGEX_INPUT + 1) } },
    };
    const result = await resultOf(
      { select: '$.metadata.annotations.a', condition: { matches: '^a+$' } },
      object,
    );
    expect(result.status).toBe('error');
    expect(result.reason).toContain('limit');
  });

  it('a selection above the node cap is an evaluation error (and denies under deny)', async () => {
    const object = {
      ...web,
      data: Object.fromEntries(Array.from({ length: MAX_SELECTED_NODES + 1 }, (_, i) => [`k${i}`, 'v'])),
    };
    const bundle = bundleWith([{ ...base, select: '$.data.*', condition: { equals: 'v' } }]);
    const report = await evaluate({ operation: 'CREATE', object }, bundle, { now, point: 'admission' });
    expect(report.results[0]?.status).toBe('error');
    expect(report.results[0]?.reason).toContain(`more than the limit of ${MAX_SELECTED_NODES}`);
    expect(report.decision).toBe('deny');
  });
});

describe('custom rules: samples', () => {
  const bundle = loadBundle(readFileSync(join(samples, 'bundle.yaml')), {
    source: 'samples/bundle.yaml',
    policies: builtinPolicies,
  });
  for (const verdict of ['allowed', 'denied'] as const) {
    for (const file of readdirSync(join(samples, verdict))) {
      it(`${verdict}/${file} is ${verdict === 'allowed' ? 'allowed' : 'denied'} by the sample rules`, async () => {
        const object = parse(readFileSync(join(samples, verdict, file), 'utf8')) as KubeObject;
        const report = await evaluate({ operation: 'CREATE', object }, bundle, { now, point: 'admission' });
        expect(report.decision).toBe(verdict === 'allowed' ? 'allow' : 'deny');
        if (verdict === 'denied') expect(report.results.some((r) => r.status === 'fail')).toBe(true);
      });
    }
  }
});
