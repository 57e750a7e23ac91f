import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { loadBuiltinBundle } from '../index.ts';
import { evaluate } from '../engine/evaluate.ts';
import { runPolicy } from '../../test/support/policy.ts';
import type { AdmissionInput, KubeObject, Policy } from '../engine/types.ts';
import { gitopsOnlyPolicy, identityUnknown } from './index.ts';

const policy = gitopsOnlyPolicy as Policy<unknown>;
const production: KubeObject = {
  apiVersion: 'v1',
  kind: 'Namespace',
  metadata: { name: 'erp-prod', labels: { 'tollgate.dev/environment': 'production' } },
};
const namespaces = (name: string) => (name === 'erp-prod' ? production : undefined);
const params = {
  scope: { namespaces: { selector: { matchLabels: { 'tollgate.dev/environment': 'production' } } } },
};
const configMap = (data: Record<string, string>): KubeObject => ({
  apiVersion: 'v1',
  kind: 'ConfigMap',
  metadata: {
    name: 'odoo',
    namespace: 'erp-prod',
    labels: { 'helm.toolkit.fluxcd.io/name': 'odoo', 'helm.toolkit.fluxcd.io/namespace': 'erp' },
  },
  data,
});

async function as(
  username: string | undefined,
  input: Partial<AdmissionInput>,
  extra: Record<string, unknown> = {},
) {
  return runPolicy(policy, { ...params, ...extra }, input.object, {
    input: { ...input, ...(username ? { userInfo: { username, groups: ['system:authenticated'] } } : {}) },
    context: { namespaces },
  });
}

describe('gitops-only', () => {
  it('skips where the requester is unknown (CI), saying so', async () => {
    const result = await as(undefined, { object: configMap({ a: '1' }) });
    expect(result.status).toBe('skip');
    expect(result.reason).toBe(identityUnknown);
  });

  it('denies a person, names the changed field and the Flux owner; the controller passes', async () => {
    const update = {
      operation: 'UPDATE' as const,
      object: configMap({ a: '2' }),
      oldObject: configMap({ a: '1' }),
    };
    const denied = await as('bob@corp.example', update);
    expect(denied.status).toBe('fail');
    expect(denied.findings[0]?.path).toBe('data.a');
    expect(denied.findings[0]?.message).toContain('Flux HelmRelease erp/odoo manages it');
    expect(denied.findings[0]?.fix).toContain('change it in Git');
    expect((await as('system:serviceaccount:flux-system:helm-controller', update)).status).toBe('pass');
  });

  it('takes configured controllers instead of the defaults', async () => {
    const object = configMap({ a: '1' });
    const controllers = { controllers: { usernames: ['system:serviceaccount:tenant-a:flux-reconciler'] } };
    expect((await as('system:serviceaccount:tenant-a:flux-reconciler', { object }, controllers)).status).toBe(
      'pass',
    );
    expect(
      (await as('system:serviceaccount:flux-system:helm-controller', { object }, controllers)).status,
    ).toBe('fail');
  });

  it('refuses an exemption that names no identity or would let it write anything', async () => {
    await expect(
      as('x', { object: configMap({}) }, { exempt: [{ name: 'op', kinds: ['Pod'] }] }),
    ).rejects.toThrow(/names no usernames/);
    await expect(
      as('x', { object: configMap({}) }, { exempt: [{ name: 'op', groups: ['ops'] }] }),
    ).rejects.toThrow(/write anything/);
  });

  it('drops the built-in controllers with builtinExemptions: false', async () => {
    const pod: KubeObject = {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: {
        name: 'p',
        namespace: 'erp-prod',
        ownerReferences: [{ kind: 'ReplicaSet', name: 'rs', controller: true }],
      },
    };
    const rsc = 'system:serviceaccount:kube-system:replicaset-controller';
    expect((await as(rsc, { object: pod })).status).toBe('skip');
    expect((await as(rsc, { object: pod }, { builtinExemptions: false })).status).toBe('fail');
    // ownership must hold before an UPDATE too: adopting a Pod is not the controller's own work
    const orphan = { ...pod, metadata: { name: 'p', namespace: 'erp-prod' } };
    expect((await as(rsc, { operation: 'UPDATE', object: pod, oldObject: orphan })).status).toBe('fail');
  });

  it('records an emergency change with a valid break-glass token as outside Git (sample bundle)', async () => {
    const bundle = loadBuiltinBundle(
      readFileSync(new URL('samples/bundle.yaml', import.meta.url)),
      'samples/bundle.yaml',
    );
    const [, object] = parseAllDocuments(
      readFileSync(new URL('samples/allowed/deployment-break-glass.yaml', import.meta.url), 'utf8'),
    ).map((d) => d.toJS() as KubeObject);
    const report = await evaluate(
      {
        operation: 'CREATE',
        object: object as KubeObject,
        namespace: 'erp-prod',
        userInfo: { username: 'alice@corp.example' },
      },
      bundle,
      { now: new Date('2026-11-30T10:00:00Z'), point: 'admission', namespaces },
    );
    expect(report.decision).toBe('allow');
    expect(report.results[0]?.records).toEqual([
      {
        kind: 'break-glass',
        data: expect.objectContaining({
          ticket: 'INC-2048',
          outsideGit: true,
          bringBackToGit: 'Argo CD Application erp-prod',
          approvers: ['controller-de@corp.example', 'cfo@corp.example'],
        }),
      },
    ]);
    // the same token elsewhere (another name) is out of its scope
    const other = {
      ...object,
      metadata: { ...(object as KubeObject).metadata, name: 'other' },
    } as KubeObject;
    const elsewhere = await evaluate(
      {
        operation: 'CREATE',
        object: other,
        namespace: 'erp-prod',
        userInfo: { username: 'alice@corp.example' },
      },
      bundle,
      { now: new Date('2026-11-30T10:00:00Z'), point: 'admission', namespaces },
    );
    expect(elsewhere.decision).toBe('deny');
  });
});
