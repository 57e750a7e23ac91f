import { describe, expect, it } from 'vitest';
import { loadSamples } from '../../test/support/samples.ts';
import { evaluate } from '../engine/evaluate.ts';
import { runPolicy, deployment, pod } from '../../test/support/policy.ts';
import type { Policy } from '../engine/types.ts';
import { approvedRegistriesPolicy } from './index.ts';

const policy = approvedRegistriesPolicy as Policy<unknown>;
const params = {
  registries: [
    'registry.corp.example/erp',
    'localhost:5000',
    'docker.io/openpolicyagent',
    '123.dkr.ecr.eu-west-1.amazonaws.com/app',
  ],
};

async function findingsFor(image: string, extra: Record<string, unknown> = params) {
  const result = await runPolicy(policy, extra, deployment([{ name: 'c', image }]));
  return result.findings;
}

describe('approved-registries', () => {
  it.each([
    ['registry.corp.example/erp/odoo:17.0'],
    ['REGISTRY.CORP.EXAMPLE/erp/odoo:17.0'],
    ['registry.corp.example/erp/sub/odoo@sha256:' + 'a'.repeat(64)],
    ['localhost:5000/anything:1'],
    ['openpolicyagent/opa:0.60'],
    ['index.docker.io/openpolicyagent/opa'],
    ['123.dkr.ecr.eu-west-1.amazonaws.com/app/api:1'],
  ])('allows %s', async (image) => {
    expect(await findingsFor(image)).toEqual([]);
  });

  it.each([
    // gatekeeper-library#80: raw prefix matching
    ['openpolicyagentnotreally/opa:1', 'not from an approved registry'],
    ['docker.io/openpolicyagentnotreally/opa:1', 'not from an approved registry'],
    // docker.io admitting docker.io.evil.com
    ['registry.corp.example.evil.com/erp/odoo', 'not from an approved registry'],
    ['registry.corp.example/erpx/odoo', 'not from an approved registry'],
    // port is part of the host
    ['localhost:5001/x', 'not from an approved registry'],
    ['registry.corp.example:443/erp/odoo', 'not from an approved registry'],
    // a single-component name is docker.io/library/...
    ['nginx', 'docker.io/library/nginx'],
    // wildcard confusion (cel-admission-library): host must be exact
    ['123.dkr.ecr.attacker.io/x.amazonaws.com/app', 'not from an approved registry'],
    // bare image IDs (kyverno#6521)
    ['sha256:' + 'b'.repeat(64), 'bare image ID'],
    ['c'.repeat(64), 'bare image ID'],
    // whitespace
    [' registry.corp.example/erp/odoo', 'whitespace'],
    ['registry.corp.example/erp/odoo ', 'whitespace'],
    // unparsable
    ['registry.corp.example/erp/Odoo', 'invalid repository path'],
    ['registry.corp.example/erp/odoo:', 'invalid tag'],
    ['registry.corp.example/erp/odoo@sha256:xyz', 'invalid digest'],
    ['', 'empty'],
  ])('denies %j', async (image, reason) => {
    const findings = await findingsFor(image);
    expect(findings).toHaveLength(1);
    expect(findings[0]?.message).toContain(reason);
    expect(findings[0]?.path).toBe('spec.template.spec.containers[0].image');
    expect(findings[0]?.policy).toBe('approved-registries');
    expect(findings[0]?.fix).toContain('registry.corp.example/erp');
  });

  it('checks init, sidecar and ephemeral containers and image volumes, reporting each path', async () => {
    const object = pod({
      initContainers: [
        { name: 'init', image: 'evil.io/a' },
        { name: 'sidecar', image: 'evil.io/b', restartPolicy: 'Always' },
      ],
      containers: [{ name: 'ok', image: 'registry.corp.example/erp/odoo:1' }],
      ephemeralContainers: [{ name: 'debug', image: 'busybox' }],
      volumes: [{ name: 'data', image: { reference: 'evil.io/data:1' } }],
    });
    const result = await runPolicy(policy, params, object);
    expect(result.status).toBe('fail');
    expect(result.findings.map((f) => f.path)).toEqual([
      'spec.initContainers[0].image',
      'spec.initContainers[1].image',
      'spec.ephemeralContainers[0].image',
      'spec.volumes[0].image.reference',
    ]);
  });

  it.each([
    [
      'CronJob',
      {
        apiVersion: 'batch/v1',
        kind: 'CronJob',
        spec: {
          jobTemplate: { spec: { template: { spec: { containers: [{ name: 'c', image: 'evil.io/x' }] } } } },
        },
      },
      'spec.jobTemplate.spec.template.spec.containers[0].image',
    ],
    [
      'PodTemplate',
      {
        apiVersion: 'v1',
        kind: 'PodTemplate',
        template: { spec: { containers: [{ name: 'c', image: 'evil.io/x' }] } },
      },
      'template.spec.containers[0].image',
    ],
    [
      'Job',
      {
        apiVersion: 'batch/v1',
        kind: 'Job',
        spec: { template: { spec: { containers: [{ name: 'c', image: 'evil.io/x' }] } } },
      },
      'spec.template.spec.containers[0].image',
    ],
    [
      'ReplicationController',
      {
        apiVersion: 'v1',
        kind: 'ReplicationController',
        spec: { template: { spec: { containers: [{ name: 'c', image: 'evil.io/x' }] } } },
      },
      'spec.template.spec.containers[0].image',
    ],
  ])('finds pod specs in %s', async (_kind, object, path) => {
    const result = await runPolicy(policy, params, object);
    expect(result.findings.map((f) => f.path)).toEqual([path]);
  });

  it('checks List items one by one with item paths', async () => {
    const list = {
      apiVersion: 'v1',
      kind: 'List',
      items: [
        deployment([{ name: 'a', image: 'registry.corp.example/erp/a' }]),
        deployment([{ name: 'b', image: 'evil.io/b' }]),
      ],
    };
    const result = await runPolicy(policy, params, list);
    expect(result.findings.map((f) => f.path)).toEqual(['items[1].spec.template.spec.containers[0].image']);
  });

  it('requires digests when configured', async () => {
    const findings = await findingsFor('registry.corp.example/erp/odoo:17', {
      ...params,
      requireDigest: true,
    });
    expect(findings[0]?.message).toContain('not pinned by digest');
    expect(
      await findingsFor('registry.corp.example/erp/odoo@sha256:' + 'd'.repeat(64), {
        ...params,
        requireDigest: true,
      }),
    ).toEqual([]);
  });

  it('skips DELETE and objects without pod specs', async () => {
    expect(
      (await runPolicy(policy, params, { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'x' } }))
        .status,
    ).toBe('skip');
    const result = await runPolicy(policy, params, undefined, {
      input: { operation: 'DELETE', oldObject: deployment([{ name: 'c', image: 'evil.io/x' }]) },
    });
    expect(result.status).toBe('skip');
    expect(result.reason).toContain('DELETE');
  });

  it('rejects wildcard and malformed prefixes at bundle load', async () => {
    await expect(
      runPolicy(policy, { registries: ['123.dkr.ecr.*.amazonaws.com'] }, undefined),
    ).rejects.toThrow(/wildcards are not supported/);
  });
});

describe('approved-registries samples', () => {
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
        expect(report.results.flatMap((r) => r.findings.map((f) => f.policy))).toContain(
          'approved-registries',
        );
    }
  });
});

describe('approved-registries: Tekton', () => {
  const task = (steps: unknown[]) => ({
    apiVersion: 'tekton.dev/v1',
    kind: 'Task',
    metadata: { name: 't', namespace: 'tenant-a' },
    spec: { steps },
  });

  it('denies a step image written as a Tekton substitution, naming it', async () => {
    const result = await runPolicy(policy, params, task([{ name: 's', image: '$(params.builder)' }]));
    expect(result.findings.map((f) => f.path)).toEqual(['spec.steps[0].image']);
    expect(result.findings[0]?.message).toContain('Tekton substitution');
  });

  it('leaves a step that refers to a StepAction to the StepAction', async () => {
    const result = await runPolicy(policy, params, task([{ name: 'clone', ref: { name: 'git-clone' } }]));
    expect(result.findings).toEqual([]);
  });
});
