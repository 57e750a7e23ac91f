import { describe, expect, it } from 'vitest';
import { loadBundle } from '../policies/index.ts';
import { judgedResources } from './audit.ts';
import type { ApiResource } from './cluster.ts';

const resource = (group: string, name: string, kind: string, namespaced = true): ApiResource => ({
  group,
  version: 'v1',
  resource: name,
  kind,
  namespaced,
  verbs: ['get', 'list', 'watch'],
});

const discovered = [
  resource('', 'pods', 'Pod'),
  resource('', 'secrets', 'Secret'),
  resource('', 'events', 'Event'),
  resource('', 'nodes', 'Node', false),
  resource('apps', 'deployments', 'Deployment'),
  resource('argoproj.io', 'rollouts', 'Rollout'),
  resource('example.com', 'widgets', 'Widget'),
  resource('coordination.k8s.io', 'leases', 'Lease'),
  { ...resource('', 'bindings', 'Binding'), verbs: ['create'] },
];

function bundle(policies: string): Parameters<typeof judgedResources>[0] {
  return loadBundle(
    `apiVersion: tollgate.dev/v1
kind: PolicyBundle
metadata: {name: t, version: 1.0.0}
spec:
  policies:
${policies}`,
    { source: 'test' },
  );
}

describe('judgedResources', () => {
  it('lists what the policies judge, custom resources included, through discovery', () => {
    const names = judgedResources(bundle('    resource-limits: {}'), discovered).map(
      (r) => `${r.group}/${r.resource}`,
    );
    expect(names).toEqual(expect.arrayContaining(['/pods', 'apps/deployments', 'argoproj.io/rollouts']));
    expect(names).not.toContain('example.com/widgets');
    expect(names).not.toContain('/secrets');
  });

  it('a namespaced wildcard (freeze windows) takes every listable namespaced kind but churn and Secrets', () => {
    const freeze = `    freeze-windows:
      entities: { de: { zone: Europe/Berlin } }
      windows: [{ name: w, absolute: { start: '2000-01-01T00:00', end: '2000-01-02T00:00' } }]`;
    const names = judgedResources(bundle(freeze), discovered).map((r) => `${r.group}/${r.resource}`);
    expect(names).toEqual(
      expect.arrayContaining(['/pods', 'apps/deployments', 'argoproj.io/rollouts', 'example.com/widgets']),
    );
    for (const left of ['/secrets', '/events', 'coordination.k8s.io/leases', '/nodes', '/bindings'])
      expect(names).not.toContain(left);
  });
});
