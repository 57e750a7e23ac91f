import { describe, expect, it } from 'vitest';
import { runPolicy } from '../../test/support/policy.ts';
import { namespaceContents, namespaceInventory } from '../engine/review.ts';
import type { EngineContext, KubeObject, Policy } from '../engine/types.ts';
import { namespaceContentsUnknown, tenantQuotasPolicy } from './index.ts';

const policy = tenantQuotasPolicy as Policy<unknown>;
const params = {
  sharedNamespaces: ['ingress'],
  maxQuota: { 'requests.cpu': '16', 'requests.memory': '64Gi', pods: 100 },
  maxLimitRange: { cpu: '2', memory: '4Gi' },
};

const namespace = (name: string, labels: Record<string, string> = {}): KubeObject => ({
  apiVersion: 'v1',
  kind: 'Namespace',
  metadata: { name, labels },
});
const tenant = (name: string) => namespace(name, { 'tollgate.dev/tenant': name });
const quota = (
  ns: string,
  hard: Record<string, unknown>,
  spec: Record<string, unknown> = {},
): KubeObject => ({
  apiVersion: 'v1',
  kind: 'ResourceQuota',
  metadata: { name: 'q', namespace: ns },
  spec: { hard, ...spec },
});
const limitRange = (ns: string, limits: unknown[]): KubeObject => ({
  apiVersion: 'v1',
  kind: 'LimitRange',
  metadata: { name: 'lr', namespace: ns },
  spec: { limits },
});
const fullHard = {
  'requests.cpu': '8',
  'requests.memory': '32Gi',
  pods: '50',
  'services.loadbalancers': '0',
  'services.nodeports': '0',
};
const containerDefaults = { type: 'Container', default: { cpu: '1', memory: '1Gi' } };

/** CI: the change's objects are related objects; the inventory holds Namespaces and what they contain. */
function ci(change: KubeObject[], inventory: KubeObject[] = []): Partial<EngineContext> {
  return {
    point: 'ci',
    relatedObjects: change,
    namespaces: namespaceInventory(inventory),
    namespaceContents: namespaceContents(inventory),
  };
}

async function judge(
  object: KubeObject,
  context: Partial<EngineContext>,
  extra: Record<string, unknown> = {},
) {
  return runPolicy(policy, { ...params, ...extra }, object, { context });
}

describe('tenant-quotas: a tenant namespace carries its quota and LimitRange', () => {
  it('passes a new tenant namespace that arrives with both', async () => {
    const ns = tenant('tenant-a');
    const change = [ns, quota('tenant-a', fullHard), limitRange('tenant-a', [containerDefaults])];
    const result = await judge(ns, ci(change));
    expect(result.findings).toEqual([]);
    expect(result.status).toBe('pass');
  });

  it('passes a namespace whose quota and LimitRange are in the trusted inventory', async () => {
    const ns = tenant('tenant-a');
    const inventory = [ns, quota('tenant-a', fullHard), limitRange('tenant-a', [containerDefaults])];
    expect((await judge(ns, ci([ns], inventory))).status).toBe('pass');
  });

  it('denies a new tenant namespace with neither, naming what is missing', async () => {
    const ns = tenant('tenant-a');
    const result = await judge(ns, ci([ns]));
    expect(result.status).toBe('fail');
    expect(result.findings.map((f) => f.message)).toEqual([
      'tenant namespace "tenant-a" has no ResourceQuota (in this change or in the trusted namespace inventory); it must limit requests.cpu, requests.memory, pods, services.loadbalancers, services.nodeports',
      'tenant namespace "tenant-a" has no LimitRange (in this change or in the trusted namespace inventory); containers need default requests and limits for cpu, memory',
    ]);
    expect(result.findings.map((f) => f.path)).toEqual(['metadata.name', 'metadata.name']);
  });

  it('does not take a ResourceQuota of the same name in another namespace, nor a namespace-less one', async () => {
    const ns = tenant('tenant-a');
    const change = [ns, quota('tenant-b', fullHard), { ...quota('x', fullHard), metadata: { name: 'q' } }];
    const result = await judge(ns, ci([...change, limitRange('tenant-a', [containerDefaults])]));
    expect(result.findings.map((f) => f.message)).toEqual([expect.stringContaining('has no ResourceQuota')]);
  });

  it('takes the union of unscoped quotas, reads cpu as requests.cpu, and ignores scoped ones', async () => {
    const ns = tenant('tenant-a');
    const lr = limitRange('tenant-a', [containerDefaults]);
    const split = [
      quota('tenant-a', { cpu: '4', memory: '8Gi' }),
      quota('tenant-a', { pods: '10', 'services.loadbalancers': '0', 'services.nodeports': '0' }),
    ];
    expect((await judge(ns, ci([ns, ...split, lr]))).findings).toEqual([]);
    const scoped = [
      quota('tenant-a', { cpu: '4' }, { scopes: ['BestEffort'] }),
      quota('tenant-a', {
        memory: '8Gi',
        pods: '10',
        'services.loadbalancers': '0',
        'services.nodeports': '0',
      }),
    ];
    const result = await judge(ns, ci([ns, ...scoped, lr]));
    expect(result.findings.map((f) => f.message)).toEqual([
      'tenant namespace "tenant-a" has no unscoped ResourceQuota limiting requests.cpu (in this change or in the trusted namespace inventory)',
    ]);
  });

  it.each([
    [
      'a default limit only (the request defaults to it)',
      { type: 'Container', default: { cpu: '1', memory: '1Gi' } },
      [],
    ],
    [
      'a max only (the default limit and request default to it)',
      { type: 'Container', max: { cpu: '1', memory: '1Gi' } },
      [],
    ],
    [
      'a default request only (no default limit)',
      { type: 'Container', defaultRequest: { cpu: '1', memory: '1Gi' } },
      ['cpu', 'memory'],
    ],
    [
      'a Pod item (containers get no defaults)',
      { type: 'Pod', max: { cpu: '1', memory: '1Gi' } },
      ['cpu', 'memory'],
    ],
    ['CPU defaults only', { type: 'Container', default: { cpu: '1' } }, ['memory']],
  ])('reads LimitRange defaults as the API server fills them in: %s', async (_name, item, undefaulted) => {
    const ns = tenant('tenant-a');
    const result = await judge(ns, ci([ns, quota('tenant-a', fullHard), limitRange('tenant-a', [item])]));
    expect(result.findings.map((f) => f.details?.undefaulted).filter(Boolean)).toEqual(
      undefaulted.length > 0 ? [undefaulted] : [],
    );
  });

  it('asks only what requiredQuota and limitRangeDefaults name', async () => {
    const ns = tenant('tenant-a');
    const change = [
      ns,
      quota('tenant-a', { 'limits.memory': '8Gi' }),
      limitRange('tenant-a', [{ type: 'Container', default: { memory: '1Gi' } }]),
    ];
    const extra = { requiredQuota: ['limits.memory'], limitRangeDefaults: ['memory'] };
    expect((await judge(ns, ci(change), extra)).findings).toEqual([]);
  });

  it('judges a namespace unknown to the inventory as a tenant (fail-safe), and skips system, shared and platform ones', async () => {
    const unlabelled = namespace('newcomer');
    expect((await judge(unlabelled, ci([unlabelled]))).status).toBe('fail');
    for (const name of ['kube-system', 'ingress']) {
      const result = await judge(namespace(name), ci([namespace(name)]));
      expect(result.status).toBe('skip');
    }
    const platform = namespace('observability');
    const result = await judge(platform, ci([platform], [platform]));
    expect(result.status).toBe('skip');
    expect(result.reason).toBe('namespace "observability" is not a tenant\'s');
  });

  it('reads tenancy from the trusted inventory, not from the Namespace in the change', async () => {
    // The change drops the tenant label from an existing tenant namespace: still a tenant.
    const unlabelled = namespace('tenant-a');
    expect((await judge(unlabelled, ci([unlabelled], [tenant('tenant-a')]))).status).toBe('fail');
  });

  it('skips a Namespace where what it holds is unknown (admission), with the reason', async () => {
    const result = await judge(tenant('tenant-a'), { point: 'admission' });
    expect(result.status).toBe('skip');
    expect(result.reason).toBe(namespaceContentsUnknown);
  });

  it('names the cluster at the audit point', async () => {
    const ns = tenant('tenant-a');
    const result = await judge(ns, { ...ci([]), point: 'audit' });
    expect(result.findings[0]?.message).toContain('(in the cluster)');
  });

  it('skips DELETE (the namespace controller removes quotas with their namespace)', async () => {
    const result = await runPolicy(policy, params, undefined, {
      input: { operation: 'DELETE', oldObject: quota('tenant-a', fullHard) },
    });
    expect(result.status).toBe('skip');
  });
});

describe('tenant-quotas: quota and LimitRange maxima (admission and CI alike)', () => {
  it.each([
    ['requests.cpu above the maximum', { 'requests.cpu': '17' }, ['spec.hard["requests.cpu"]']],
    ['cpu (an alias of requests.cpu) above it', { cpu: '16001m' }, ['spec.hard.cpu']],
    ['memory in another unit above it', { memory: '65Gi' }, ['spec.hard.memory']],
    ['pods above it', { pods: 101 }, ['spec.hard.pods']],
    [
      'one LoadBalancer (default maximum 0)',
      { 'services.loadbalancers': '1' },
      ['spec.hard["services.loadbalancers"]'],
    ],
    ['one NodePort (default maximum 0)', { 'services.nodeports': '1' }, ['spec.hard["services.nodeports"]']],
    ['a value that is not a quantity', { 'requests.cpu': 'lots' }, ['spec.hard["requests.cpu"]']],
  ])('denies a ResourceQuota with %s', async (_name, hard, paths) => {
    const result = await judge(quota('tenant-a', hard), { point: 'admission' });
    expect(result.findings.map((f) => f.path)).toEqual(paths);
  });

  it('allows values at the maxima (inclusive) and resources without one', async () => {
    const hard = {
      'requests.cpu': '16',
      memory: '64Gi',
      pods: '100',
      'count/configmaps': '1000',
      'services.loadbalancers': '0',
    };
    expect((await judge(quota('tenant-a', hard), { point: 'admission' })).findings).toEqual([]);
  });

  it('lets the bundle allow LoadBalancers', async () => {
    const result = await judge(
      quota('tenant-a', { 'services.loadbalancers': '2' }),
      { point: 'admission' },
      {
        maxQuota: { 'services.loadbalancers': 2 },
      },
    );
    expect(result.findings).toEqual([]);
  });

  it('does not apply tenant maxima outside tenant namespaces', async () => {
    const result = await judge(quota('monitoring', { 'requests.cpu': '64' }), {
      point: 'admission',
      namespaces: namespaceInventory([namespace('monitoring')]),
    });
    expect(result.status).toBe('skip');
  });

  it('denies LimitRange values above the maxima, reporting a default copied from max at max', async () => {
    const result = await judge(
      limitRange('tenant-a', [
        { type: 'Container', max: { cpu: '3' }, defaultRequest: { memory: '5Gi' } },
        { type: 'Pod', max: { memory: '8Gi' } },
        { type: 'PersistentVolumeClaim', max: { storage: '1Ti' } },
      ]),
      { point: 'admission' },
    );
    expect(result.findings.map((f) => f.path)).toEqual([
      'spec.limits[0].max.cpu',
      'spec.limits[0].defaultRequest.memory',
      'spec.limits[1].max.memory',
    ]);
    expect(result.findings[0]?.message).toBe(
      "LimitRange Container max of cpu is 3, above the bundle's maximum of 2 for tenant namespaces",
    );
  });

  it('reports a default request copied from min when min is above the maximum', async () => {
    const result = await judge(limitRange('tenant-a', [{ type: 'Container', min: { cpu: '2500m' } }]), {
      point: 'admission',
    });
    expect(result.findings.map((f) => f.path)).toEqual(['spec.limits[0].min.cpu']);
    expect(result.findings[0]?.message).toContain('default request of cpu is 2500m');
  });
});

describe('tenant-quotas: parameters', () => {
  it('rejects a maximum that is not a non-negative quantity, naming it', async () => {
    await expect(runPolicy(policy, { maxQuota: { pods: '-1' } }, undefined)).rejects.toThrow(
      /maxQuota\/pods/,
    );
    await expect(runPolicy(policy, { maxLimitRange: { cpu: 'two' } }, undefined)).rejects.toThrow(
      /maxLimitRange\/cpu/,
    );
  });

  it('rejects a required resource with surrounding space', async () => {
    await expect(runPolicy(policy, { requiredQuota: ['pods '] }, undefined)).rejects.toThrow(
      /requiredQuota\/0/,
    );
  });

  it('reads the tenant label as namespace-isolation does', async () => {
    const ns = namespace('tenant-a', { 'corp.example/tenant': 'a' });
    const context = ci([ns], [ns]);
    expect((await judge(ns, context)).status).toBe('skip');
    expect((await judge(ns, context, { tenantLabel: 'corp.example/tenant' })).status).toBe('fail');
  });
});
