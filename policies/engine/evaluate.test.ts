import { describe, expect, it } from 'vitest';
import { loadBundle } from './bundle.ts';
import { evaluate } from './evaluate.ts';
import type { EngineContext, EnforcementPoint, KubeObject, Policy } from './types.ts';

const throwing: Policy<unknown> = {
  id: 'throws',
  version: '2.1.0',
  description: 'always throws',
  help: '',
  paramsSchema: { type: 'object', properties: {} },
  admissionRules: [],
  compile: () => ({}),
  evaluate: () => {
    throw new Error('boom');
  },
};

const flagging: Policy<unknown> = {
  id: 'flags',
  version: '1.0.0',
  description: 'flags every object',
  help: '',
  paramsSchema: { type: 'object', properties: {} },
  admissionRules: [],
  compile: () => ({}),
  evaluate: (input) => [
    { path: 'metadata.name', message: `flagged ${input.object.metadata?.name ?? ''}`, fix: 'rename' },
  ],
};

function bundleWith(policies: Record<string, unknown>, exemptions: unknown[] = []) {
  return loadBundle(
    JSON.stringify({
      apiVersion: 'tollgate.dev/v1',
      kind: 'PolicyBundle',
      metadata: { name: 't', version: '1.0.0' },
      spec: { policies, exemptions },
    }),
    { source: 't', policies: [throwing, flagging] },
  );
}

const object: KubeObject = {
  apiVersion: 'v1',
  kind: 'ConfigMap',
  metadata: { name: 'cm', namespace: 'legacy' },
};
const ctx = (point: EnforcementPoint, now = '2026-11-20T00:00:00Z'): EngineContext => ({
  point,
  now: new Date(now),
});

describe('evaluate', () => {
  it('reports the version of the policy that decided, on every result and in Lists', async () => {
    const bundle = bundleWith({ throws: {}, flags: {} });
    const single = await evaluate({ operation: 'CREATE', object }, bundle, ctx('admission'));
    expect(single.results.map((r) => [r.policy, r.version])).toEqual([
      ['throws', '2.1.0'],
      ['flags', '1.0.0'],
    ]);
    const list = await evaluate(
      { operation: 'CREATE', object: { apiVersion: 'v1', kind: 'List', items: [object, object] } },
      bundle,
      ctx('ci'),
    );
    expect(list.results.map((r) => r.version)).toEqual(['2.1.0', '1.0.0']);
  });

  it('turns a throwing policy into status error that denies (never a pass, never a crash)', async () => {
    const report = await evaluate(
      { operation: 'CREATE', object },
      bundleWith({ throws: {} }),
      ctx('admission'),
    );
    expect(report.results[0]).toMatchObject({ policy: 'throws', status: 'error', action: 'deny' });
    expect(report.results[0]?.reason).toContain('boom');
    expect(report.decision).toBe('deny');
  });

  it('applies the action of the asking enforcement point', async () => {
    const bundle = bundleWith({ flags: { enforcement: { admission: 'deny', ci: 'warn', audit: 'off' } } });
    const admission = await evaluate({ operation: 'CREATE', object }, bundle, ctx('admission'));
    const ci = await evaluate({ operation: 'CREATE', object }, bundle, ctx('ci'));
    const audit = await evaluate({ operation: 'CREATE', object }, bundle, ctx('audit'));
    expect([admission.decision, admission.results[0]?.status]).toEqual(['deny', 'fail']);
    expect([ci.decision, ci.results[0]?.status, ci.results[0]?.findings[0]?.action]).toEqual([
      'allow',
      'warn',
      'warn',
    ]);
    expect([audit.point, audit.results[0]?.status, audit.results[0]?.reason]).toEqual([
      'audit',
      'skip',
      'enforcement is off at audit',
    ]);
  });

  it('audit records a failure without denying; off skips with a reason', async () => {
    const audit = await evaluate(
      { operation: 'CREATE', object },
      bundleWith({ flags: { enforcement: 'audit' } }),
      ctx('ci'),
    );
    expect([audit.decision, audit.results[0]?.status]).toEqual(['allow', 'fail']);
    const off = await evaluate(
      { operation: 'CREATE', object },
      bundleWith({ flags: { enforcement: 'off' } }),
      ctx('ci'),
    );
    expect(off.results[0]).toMatchObject({ status: 'skip', reason: 'enforcement is off at ci' });
  });

  it('applies an exemption until the end of its expiry day, then reports it as expired', async () => {
    const bundle = bundleWith({ flags: {} }, [
      {
        policy: 'flags',
        namespaces: ['legacy'],
        reason: 'migration',
        ticket: 'CHG-7',
        expires: '2026-11-30',
      },
    ]);
    const during = await evaluate(
      { operation: 'CREATE', object },
      bundle,
      ctx('admission', '2026-11-30T23:59:59Z'),
    );
    expect(during.decision).toBe('allow');
    expect(during.results[0]).toMatchObject({ status: 'skip', exemption: { ticket: 'CHG-7' } });
    const after = await evaluate(
      { operation: 'CREATE', object },
      bundle,
      ctx('admission', '2026-12-01T00:00:00Z'),
    );
    expect(after.decision).toBe('deny');
    expect(after.results[0]?.expiredExemptions).toEqual([
      { ticket: 'CHG-7', reason: 'migration', expires: '2026-11-30' },
    ]);
    const other = await evaluate(
      { operation: 'CREATE', object: { ...object, metadata: { name: 'x', namespace: 'tenant-a' } } },
      bundle,
      ctx('admission'),
    );
    expect(other.decision).toBe('deny');
  });

  it('reviews oldObject on DELETE and reports the object reference', async () => {
    const report = await evaluate(
      { operation: 'DELETE', oldObject: object },
      bundleWith({ flags: {} }),
      ctx('admission'),
    );
    expect(report.object).toEqual({ apiVersion: 'v1', kind: 'ConfigMap', namespace: 'legacy', name: 'cm' });
    expect(report.results[0]?.findings[0]?.message).toBe('flagged cm');
  });

  it('errors (and denies) when a request carries no object', async () => {
    const report = await evaluate({ operation: 'DELETE' }, bundleWith({ flags: {} }), ctx('admission'));
    expect(report.results[0]?.status).toBe('error');
    expect(report.decision).toBe('deny');
  });
});
