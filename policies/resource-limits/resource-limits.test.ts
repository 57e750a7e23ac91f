import { describe, expect, it } from 'vitest';
import { loadSamples } from '../../test/support/samples.ts';
import { evaluate } from '../engine/evaluate.ts';
import { deployment, pod, runPolicy } from '../../test/support/policy.ts';
import type { KubeObject, Policy } from '../engine/types.ts';
import { resourceLimitsPolicy } from './index.ts';

const policy = resourceLimitsPolicy as Policy<unknown>;
const params = { max: { 'limits.memory': '8Gi', 'requests.cpu': '4', 'limits.cpu': 8 } };

const ok = { requests: { cpu: '250m', memory: '256Mi' }, limits: { memory: '512Mi' } };

function withResources(resources: unknown): KubeObject {
  return deployment([{ name: 'app', image: 'registry.corp.example/erp/app:1', resources }]);
}

async function findingsFor(resources: unknown, extra: Record<string, unknown> = params) {
  return (await runPolicy(policy, extra, withResources(resources))).findings;
}

const base = 'spec.template.spec.containers[0].resources';

describe('resource-limits', () => {
  it.each([
    ['the defaults', ok],
    // gatekeeper-library#154: valid quantities that naive regexes reject
    ['.5 cpu', { requests: { cpu: '.5', memory: '1Gi' }, limits: { memory: '1Gi' } }],
    ['+1 cpu', { requests: { cpu: '+1', memory: '1Gi' }, limits: { memory: '1Gi' } }],
    ['exponent memory', { requests: { cpu: '1', memory: '1e9' }, limits: { memory: '2E9' } }],
    ['numbers', { requests: { cpu: 2, memory: 1073741824 }, limits: { memory: 2147483648 } }],
    ['fractional binary', { requests: { cpu: '100m', memory: '1.5Gi' }, limits: { memory: '2.5Gi' } }],
    ['nano cpu', { requests: { cpu: '500000000n', memory: '1Gi' }, limits: { memory: '1Gi' } }],
    ['decimal memory', { requests: { cpu: '1', memory: '500M' }, limits: { memory: '1G' } }],
    // inclusive maxima: equal to the maximum is allowed, in any spelling
    ['limits.memory equal to the max', { requests: { cpu: '4', memory: '8Gi' }, limits: { memory: '8Gi' } }],
    [
      'limits.memory 8192Mi == 8Gi',
      { requests: { cpu: '4000m', memory: '1Gi' }, limits: { memory: '8192Mi' } },
    ],
    [
      'limits.memory 8589934592 == 8Gi',
      { requests: { cpu: '1', memory: '1Gi' }, limits: { memory: 8589934592 } },
    ],
    [
      'requests.cpu 4e0 == 4',
      { requests: { cpu: '4e0', memory: '1Gi' }, limits: { memory: '1Gi', cpu: '8' } },
    ],
    // a missing request defaults to the limit (API server defaulting)
    ['requests defaulted from limits', { limits: { cpu: '1', memory: '1Gi' } }],
    [
      'request equal to limit',
      { requests: { cpu: '1', memory: '1Gi' }, limits: { cpu: '1', memory: '1Gi' } },
    ],
    [
      'extended resources',
      {
        requests: { cpu: '1', memory: '1Gi', 'nvidia.com/gpu': 1 },
        limits: { memory: '1Gi', 'nvidia.com/gpu': 1 },
      },
    ],
  ])('allows %s', async (_name, resources) => {
    expect(await findingsFor(resources)).toEqual([]);
  });

  it.each([
    ['no resources at all', undefined, `${base}.requests.cpu`, 'does not set resources.requests.cpu'],
    [
      'missing limits.memory',
      { requests: { cpu: '1', memory: '1Gi' } },
      `${base}.limits.memory`,
      'limits.memory',
    ],
    [
      'missing requests.cpu',
      { requests: { memory: '1Gi' }, limits: { memory: '1Gi' } },
      `${base}.requests.cpu`,
      'requests.cpu',
    ],
    // boundary: one unit above the inclusive maximum
    [
      'limits.memory 8Gi + 1 byte',
      { requests: { cpu: '1', memory: '1Gi' }, limits: { memory: '8589934593' } },
      `${base}.limits.memory`,
      'exceeds the maximum 8Gi',
    ],
    [
      'limits.memory 8Gi + 1 milli',
      { requests: { cpu: '1', memory: '1Gi' }, limits: { memory: '8589934592001m' } },
      `${base}.limits.memory`,
      'exceeds the maximum 8Gi',
    ],
    [
      'limits.memory 9Gi',
      { requests: { cpu: '1', memory: '1Gi' }, limits: { memory: '9Gi' } },
      `${base}.limits.memory`,
      '"9Gi" exceeds the maximum 8Gi',
    ],
    [
      'limits.memory 0.01Ei',
      { requests: { cpu: '1', memory: '1Gi' }, limits: { memory: '0.01Ei' } },
      `${base}.limits.memory`,
      'exceeds',
    ],
    [
      'requests.cpu 4001m',
      { requests: { cpu: '4001m', memory: '1Gi' }, limits: { memory: '1Gi', cpu: 8 } },
      `${base}.requests.cpu`,
      'requests.cpu "4001m" exceeds the maximum 4',
    ],
    [
      'requests.cpu 4.000000001',
      { requests: { cpu: '4.000000001', memory: '1Gi' }, limits: { memory: '1Gi', cpu: 8 } },
      `${base}.requests.cpu`,
      'exceeds the maximum 4',
    ],
    [
      'limits.cpu 8.5 (number max)',
      { requests: { cpu: '1', memory: '1Gi' }, limits: { memory: '1Gi', cpu: 8.5 } },
      `${base}.limits.cpu`,
      'exceeds the maximum 8',
    ],
    [
      'request defaulted from a limit above the request max',
      { requests: { memory: '1Gi' }, limits: { cpu: '6', memory: '1Gi' } },
      `${base}.limits.cpu`,
      'defaults to limits.cpu "6", which exceeds the maximum requests.cpu 4',
    ],
    // milli-bytes
    [
      'memory in milli-bytes',
      { requests: { cpu: '1', memory: '512m' }, limits: { memory: '1Gi' } },
      `${base}.requests.memory`,
      'almost certainly a typo for "512Mi"',
    ],
    [
      'ephemeral-storage in milli-bytes',
      { requests: { cpu: '1', memory: '1Gi', 'ephemeral-storage': '100m' }, limits: { memory: '1Gi' } },
      `${base}.requests.ephemeral-storage`,
      'milli-bytes',
    ],
    // requests above limits
    [
      'requests.memory > limits.memory',
      { requests: { cpu: '1', memory: '2Gi' }, limits: { memory: '1Gi' } },
      `${base}.requests.memory`,
      'requests.memory "2Gi" is greater than limits.memory "1Gi"',
    ],
    [
      'requests.cpu > limits.cpu',
      { requests: { cpu: '1001m', memory: '1Gi' }, limits: { cpu: '1', memory: '1Gi' } },
      `${base}.requests.cpu`,
      'greater than limits.cpu',
    ],
    // invalid quantities, each with its reason
    [
      'unknown suffix',
      { requests: { cpu: '1', memory: '1GB' }, limits: { memory: '2Gi' } },
      `${base}.requests.memory`,
      'not a valid Kubernetes quantity: unknown suffix "GB" (did you mean G or Gi?)',
    ],
    [
      'upper-case K',
      { requests: { cpu: '1', memory: '1Gi' }, limits: { memory: '100K' } },
      `${base}.limits.memory`,
      'did you mean k (10^3) or Ki',
    ],
    [
      'whitespace',
      { requests: { cpu: '1 ', memory: '1Gi' }, limits: { memory: '1Gi' } },
      `${base}.requests.cpu`,
      'contains whitespace',
    ],
    [
      'two dots',
      { requests: { cpu: '1.1.1', memory: '1Gi' }, limits: { memory: '1Gi' } },
      `${base}.requests.cpu`,
      'unexpected "."',
    ],
    [
      'a boolean',
      { requests: { cpu: true, memory: '1Gi' }, limits: { memory: '1Gi' } },
      `${base}.requests.cpu`,
      'expected a string or number',
    ],
    [
      'empty',
      { requests: { cpu: '', memory: '1Gi' }, limits: { memory: '1Gi' } },
      `${base}.requests.cpu`,
      'empty quantity',
    ],
    [
      'negative',
      { requests: { cpu: '-1', memory: '1Gi' }, limits: { memory: '1Gi' } },
      `${base}.requests.cpu`,
      'is negative',
    ],
    [
      'requests not a map',
      { requests: ['cpu'], limits: { memory: '1Gi' } },
      `${base}.requests`,
      'must be a map',
    ],
    ['resources not a map', 'lots', base, 'resources must be a map'],
  ])('denies %s', async (_name, resources, path, message) => {
    const findings = await findingsFor(resources);
    expect(findings.length).toBeGreaterThan(0);
    const finding = findings.find((f) => f.path === path && f.message.includes(message));
    expect(finding, JSON.stringify(findings)).toBeDefined();
    expect(finding?.policy).toBe('resource-limits');
    expect(finding?.fix).not.toBe('');
  });

  it('reports each problem once with its own path', async () => {
    const findings = await findingsFor({ requests: { cpu: 'x' }, limits: {} });
    expect(findings.map((f) => f.path)).toEqual([
      `${base}.requests.cpu`,
      `${base}.requests.memory`,
      `${base}.limits.memory`,
    ]);
    expect(findings[0]?.message).toContain('not a valid Kubernetes quantity');
    expect(findings[1]?.message).toContain('does not set resources.requests.memory');
  });

  it('uses the configured required fields', async () => {
    const required = { required: ['limits.cpu', 'limits.memory'] };
    expect(await findingsFor({ limits: { cpu: '1', memory: '1Gi' } }, required)).toEqual([]);
    const findings = await findingsFor({ requests: { cpu: '1', memory: '1Gi' } }, required);
    expect(findings.map((f) => f.path)).toEqual([`${base}.limits.cpu`, `${base}.limits.memory`]);
    expect(await findingsFor(undefined, { required: [] })).toEqual([]);
  });

  it('checks init containers and native sidecars, and skips ephemeral containers (kyverno/policies#1335)', async () => {
    const object = pod({
      initContainers: [
        { name: 'migrate', image: 'x', resources: { requests: { cpu: '1', memory: '1Gi' } } },
        { name: 'proxy', image: 'x', restartPolicy: 'Always', resources: { limits: { memory: '16Gi' } } },
      ],
      containers: [{ name: 'app', image: 'x', resources: ok }],
      ephemeralContainers: [{ name: 'debugger', image: 'busybox' }],
    });
    const result = await runPolicy(policy, params, object);
    expect(result.status).toBe('fail');
    expect(result.findings.map((f) => [f.path, f.message.split(':')[0]])).toEqual([
      [
        'spec.initContainers[0].resources.limits.memory',
        'init container "migrate" does not set resources.limits.memory, which the bundle requires',
      ],
      [
        'spec.initContainers[1].resources.requests.cpu',
        'sidecar container "proxy" does not set resources.requests.cpu, which the bundle requires',
      ],
      ['spec.initContainers[1].resources.limits.memory', 'sidecar container "proxy"'],
    ]);
    expect(result.findings[2]?.message).toContain('limits.memory "16Gi" exceeds the maximum 8Gi');
  });

  it('allows kubectl debug (pods/ephemeralcontainers) on a pod', async () => {
    const object = pod({
      containers: [{ name: 'app', image: 'x', resources: ok }],
      ephemeralContainers: [{ name: 'debugger-abc', image: 'busybox', targetContainerName: 'app' }],
    });
    const result = await runPolicy(policy, params, object, {
      input: { operation: 'UPDATE', subresource: 'ephemeralcontainers', oldObject: object },
    });
    expect(result.status).toBe('skip');
    expect(result.reason).toContain('ephemeral');
    expect((await runPolicy(policy, params, object)).status).toBe('pass');
  });

  it('judges an in-place resize (pods/resize) like any pod (kyverno#17060)', async () => {
    const before = pod({ containers: [{ name: 'app', image: 'x', resources: ok }] });
    const after = pod({
      containers: [
        {
          name: 'app',
          image: 'x',
          resources: { requests: { cpu: '250m', memory: '256Mi' }, limits: { memory: '64Gi' } },
        },
      ],
    });
    const result = await runPolicy(policy, params, after, {
      input: { operation: 'UPDATE', subresource: 'resize', oldObject: before },
    });
    expect(result.status).toBe('fail');
    expect(result.findings.map((f) => f.path)).toEqual(['spec.containers[0].resources.limits.memory']);
    expect(result.findings[0]?.message).toContain('"64Gi" exceeds the maximum 8Gi');
    const within = await runPolicy(policy, params, before, {
      input: { operation: 'UPDATE', subresource: 'resize', oldObject: before },
    });
    expect(within.status).toBe('pass');
  });

  it('checks pod-level resources, which also satisfy required fields', async () => {
    const podLevel = pod({
      resources: { requests: { cpu: '1', memory: '1Gi' }, limits: { memory: '2Gi' } },
      containers: [{ name: 'app', image: 'x' }],
    });
    expect((await runPolicy(policy, params, podLevel)).findings).toEqual([]);
    const tooBig = pod({
      resources: { requests: { cpu: '1', memory: '1Gi' }, limits: { memory: '20Gi' } },
      containers: [{ name: 'app', image: 'x' }],
    });
    const findings = (await runPolicy(policy, params, tooBig)).findings;
    expect(findings.map((f) => f.path)).toEqual(['spec.resources.limits.memory']);
    expect(findings[0]?.message).toContain('the pod: limits.memory "20Gi" exceeds the maximum 8Gi');
  });

  it('reports containers of every workload kind on the object as written', async () => {
    const cronJob = {
      apiVersion: 'batch/v1',
      kind: 'CronJob',
      metadata: { name: 'close', namespace: 'tenant-a' },
      spec: { jobTemplate: { spec: { template: { spec: { containers: [{ name: 'c', image: 'x' }] } } } } },
    };
    const result = await runPolicy(policy, params, cronJob);
    expect(result.findings[0]?.path).toBe(
      'spec.jobTemplate.spec.template.spec.containers[0].resources.requests.cpu',
    );
  });

  it('skips DELETE and objects without pod specs', async () => {
    const del = await runPolicy(policy, params, undefined, {
      input: { operation: 'DELETE', oldObject: withResources(undefined) },
    });
    expect(del.status).toBe('skip');
    const cm = await runPolicy(policy, params, {
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: 'x' },
    });
    expect(cm.status).toBe('skip');
  });

  it.each([
    [{ max: { 'limits.memory': '8GB' } }, /max\/limits.memory.*unknown suffix "GB"/s],
    [{ max: { 'limits.memory': '512m' } }, /milli-bytes; did you mean 512Mi/],
    [{ max: { 'limits.cpu': '-1' } }, /negative/],
    [{ max: { memory: '1Gi' } }, /must match pattern/],
    [{ required: ['cpu'] }, /must match pattern/],
  ])('rejects bad parameters at bundle load: %j', async (bad, message) => {
    await expect(runPolicy(policy, bad, undefined)).rejects.toThrow(message);
  });
});

describe('resource-limits samples', () => {
  const samples = loadSamples(new URL('./samples/', import.meta.url), [policy]);

  it('has allowed and denied samples', () => {
    expect(samples.cases.filter(([v]) => v === 'allowed').length).toBeGreaterThan(0);
    expect(samples.cases.filter(([v]) => v === 'denied').length).toBeGreaterThan(0);
  });

  it.each(samples.cases)('%s/%s', async (verdict, file) => {
    for (const object of samples.objects(verdict, file)) {
      const report = await evaluate({ operation: 'CREATE', object }, samples.bundle, {
        now: new Date('2026-11-20T12:00:00Z'),
        point: 'admission',
      });
      expect(report.decision).toBe(verdict === 'allowed' ? 'allow' : 'deny');
      if (verdict === 'denied')
        expect(report.results.flatMap((r) => r.findings.map((f) => f.policy))).toContain('resource-limits');
    }
  });
});

describe('resource-limits: limits the kubelet reads as "no limit" (bypass class 4)', () => {
  const required = { required: ['requests.cpu', 'limits.memory', 'limits.cpu', 'limits.ephemeral-storage'] };
  const set = { cpu: '1', memory: '1Gi', 'ephemeral-storage': '1Gi' };
  it.each([
    ['memory', '0'],
    ['memory', 0],
    ['memory', '0Gi'],
    ['memory', '-0'],
    ['memory', '+0.000'],
    ['memory', '0e12'],
    ['cpu', '0m'],
    ['cpu', '.0'],
    ['ephemeral-storage', '0Ki'],
  ])('denies a required limits.%s of %j (zero is unlimited)', async (resource, value) => {
    const findings = await findingsFor(
      { requests: { cpu: resource === 'cpu' ? '0' : '100m' }, limits: { ...set, [resource]: value } },
      required,
    );
    expect(findings.map((f) => f.path)).toEqual([`${base}.limits.${resource}`]);
    expect(findings[0]?.message).toContain('no limit');
  });

  it.each([
    ['memory', '10E'],
    ['memory', '9223372036854775808'],
    ['memory', '1e19'],
    ['cpu', '10P'],
    ['cpu', '9223372036854776'],
    ['ephemeral-storage', '10E'],
    ['cpu', '8Ei'],
  ])('denies limits.%s %j, beyond the kubelet int64 reading (read as 0)', async (resource, value) => {
    const findings = await findingsFor(
      { requests: { cpu: '100m' }, limits: { ...set, [resource]: value } },
      required,
    );
    expect(findings.map((f) => f.path)).toEqual([`${base}.limits.${resource}`]);
    expect(findings[0]?.message).toContain('64-bit');
    // The largest value that still fits is a (huge) limit, not an overflow.
    const fits = resource === 'cpu' ? '9223372036854775m' : '9223372036854775807';
    expect(
      await findingsFor({ requests: { cpu: '100m' }, limits: { ...set, [resource]: fits } }, required),
    ).toEqual([]);
  });

  it('denies a zero pod-level limit that stands in for the containers limits', async () => {
    const object = pod({
      resources: { limits: { memory: '0' } },
      containers: [
        { name: 'app', image: 'registry.corp.example/erp/app:1', resources: { requests: { cpu: '1' } } },
      ],
    });
    const result = await runPolicy(policy, { required: ['requests.cpu', 'limits.memory'] }, object);
    expect(result.findings.map((f) => f.path)).toEqual(['spec.resources.limits.memory']);
    // A zero limit that the bundle does not require is the same as no limit, which it allows.
    const optional = await findingsFor(
      { requests: { memory: '1Gi' }, limits: { memory: '1Gi', cpu: '0' } },
      {},
    );
    expect(optional).toEqual([]);
  });
});
