import { describe, expect, it } from 'vitest';
import type { KubeObject } from './types.ts';
import {
  checksAt,
  effectiveMinor,
  hostCheckIds,
  latestPssMinor,
  parsePssVersion,
  podSecurityViolations,
} from './pod-security-standards.ts';

function pod(spec: Record<string, unknown>, annotations: Record<string, string> = {}): KubeObject {
  return { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p', annotations }, spec };
}

const ids = (level: 'baseline' | 'restricted', version: number | 'latest') =>
  checksAt(level, version).map((entry) => entry.id);

const checks = (
  object: KubeObject,
  level: 'baseline' | 'restricted',
  version: number | 'latest' = 'latest',
) => podSecurityViolations(object, level, version).map((v) => [v.check, v.path.join('.')]);

describe('Pod Security Standards registry', () => {
  it('orders baseline checks then restricted ones, each by id, as PSA does', () => {
    expect(ids('baseline', 'latest')).toEqual([
      'appArmorProfile',
      'capabilities_baseline',
      'hostNamespaces',
      'hostPathVolumes',
      'hostPorts',
      'hostProbesAndHostLifecycle',
      'privileged',
      'procMount',
      'seLinuxOptions',
      'seccompProfile_baseline',
      'sysctls',
      'windowsHostProcess',
    ]);
    expect(ids('restricted', 'latest')).toEqual([
      'appArmorProfile',
      'hostNamespaces',
      'hostPorts',
      'hostProbesAndHostLifecycle',
      'privileged',
      'procMount',
      'seLinuxOptions',
      'sysctls',
      'windowsHostProcess',
      'allowPrivilegeEscalation',
      'capabilities_restricted',
      'restrictedVolumes',
      'runAsNonRoot',
      'runAsUser',
      'seccompProfile_restricted',
    ]);
  });

  it('replaces a baseline check only from the version its restricted override appears', () => {
    expect(ids('restricted', 21)).toContain('capabilities_baseline');
    expect(ids('restricted', 21)).not.toContain('capabilities_restricted');
    expect(ids('restricted', 22)).not.toContain('capabilities_baseline');
    expect(ids('restricted', 18)).toContain('seccompProfile_baseline');
    expect(ids('restricted', 19)).toContain('seccompProfile_restricted');
    expect(ids('baseline', 33)).not.toContain('hostProbesAndHostLifecycle');
  });

  it('reads versions as PSA does', () => {
    expect(parsePssVersion('latest')).toBe('latest');
    expect(parsePssVersion('v1.0')).toBe(0);
    expect(parsePssVersion('v1.34')).toBe(34);
    for (const bad of ['v1.01', 'v2.0', '1.2', 'v1.', 'Latest', ' v1.2'])
      expect(parsePssVersion(bad), bad).toBe(undefined);
    expect(effectiveMinor('latest')).toBe(latestPssMinor);
    expect(effectiveMinor(99)).toBe(latestPssMinor);
    expect(effectiveMinor(3)).toBe(3);
  });

  it('shares only baseline checks with namespace-isolation', () => {
    const baseline = new Set(ids('baseline', 'latest'));
    for (const id of hostCheckIds) expect(baseline.has(id), id).toBe(true);
  });
});

describe('Pod Security Standards checks', () => {
  const container = { name: 'c', image: 'x' };

  it('reads fields as Go decodes them: null is unset, a volume without a source is an emptyDir', () => {
    expect(
      checks(pod({ containers: [container], volumes: [{ name: 'h', hostPath: null }] }), 'baseline'),
    ).toEqual([]);
    const restricted = pod({
      securityContext: { runAsNonRoot: true, seccompProfile: { type: 'RuntimeDefault' } },
      containers: [
        {
          ...container,
          securityContext: { allowPrivilegeEscalation: false, capabilities: { drop: ['ALL'] } },
        },
      ],
      volumes: [{ name: 'plain' }, { name: 'n', nfs: { server: 's', path: '/' } }],
    });
    expect(checks(restricted, 'restricted')).toEqual([['restrictedVolumes', 'spec.volumes.1.nfs']]);
  });

  it('exempts Windows pods from the Linux-only restricted checks from v1.25', () => {
    const windows = pod({
      os: { name: 'windows' },
      securityContext: { runAsNonRoot: true },
      containers: [container],
    });
    expect(checks(windows, 'restricted', 24).map(([id]) => id)).toEqual([
      'allowPrivilegeEscalation',
      'capabilities_restricted',
      'seccompProfile_restricted',
    ]);
    expect(checks(windows, 'restricted', 25)).toEqual([]);
  });

  it('judges the seccomp annotations before v1.19 and the fields from v1.19', () => {
    const annotated = pod(
      { containers: [container] },
      {
        'seccomp.security.alpha.kubernetes.io/pod': 'unconfined',
        'container.seccomp.security.alpha.kubernetes.io/c': 'localhost/profile.json',
      },
    );
    expect(checks(annotated, 'baseline', 18)).toEqual([
      ['seccompProfile_baseline', 'metadata.annotations.seccomp.security.alpha.kubernetes.io/pod'],
    ]);
    expect(checks(annotated, 'baseline', 19)).toEqual([]);
  });

  it('judges AppArmor annotations and fields at every version', () => {
    const object = pod(
      {
        securityContext: { appArmorProfile: {} },
        containers: [{ ...container, securityContext: { appArmorProfile: { type: 'Localhost' } } }],
      },
      {
        'container.apparmor.security.beta.kubernetes.io/c': 'unconfined',
        'container.apparmor.security.beta.kubernetes.io/d': 'localhost/x',
      },
    );
    expect(checks(object, 'baseline', 0)).toEqual([
      ['appArmorProfile', 'spec.securityContext.appArmorProfile.type'],
      ['appArmorProfile', 'metadata.annotations.container.apparmor.security.beta.kubernetes.io/c'],
    ]);
  });

  it('reports SELinux types by version, and user and role always', () => {
    const object = pod({
      containers: [
        { ...container, securityContext: { seLinuxOptions: { type: 'container_engine_t', user: 'u' } } },
      ],
    });
    expect(checks(object, 'baseline', 30)).toEqual([
      ['seLinuxOptions', 'spec.containers.0.securityContext.seLinuxOptions.type'],
      ['seLinuxOptions', 'spec.containers.0.securityContext.seLinuxOptions.user'],
    ]);
    expect(checks(object, 'baseline', 31)).toEqual([
      ['seLinuxOptions', 'spec.containers.0.securityContext.seLinuxOptions.user'],
    ]);
  });

  it('narrows to some checks and leaves out pods on request', () => {
    const object = pod({
      hostIPC: true,
      containers: [{ ...container, securityContext: { procMount: 'Unmasked' } }],
    });
    expect(
      podSecurityViolations(object, 'baseline', 'latest', { only: hostCheckIds }).map((v) => v.check),
    ).toEqual(['hostNamespaces']);
    expect(podSecurityViolations(object, 'baseline', 'latest', { skipPod: () => true })).toEqual([]);
  });
});

describe('Tekton steps (stepTemplate merged under each step, as Tekton merges it)', () => {
  const restricted = {
    runAsNonRoot: true,
    allowPrivilegeEscalation: false,
    capabilities: { drop: ['ALL'] },
    seccompProfile: { type: 'RuntimeDefault' },
  };
  const task = (spec: Record<string, unknown>): KubeObject => ({
    apiVersion: 'tekton.dev/v1',
    kind: 'Task',
    metadata: { name: 't' },
    spec,
  });
  const image = 'registry.corp.example/erp/builder:1';

  it('takes restricted settings a stepTemplate gives every step', () => {
    const object = task({
      stepTemplate: { securityContext: restricted },
      steps: [
        { name: 'a', image },
        { name: 'b', image, securityContext: { capabilities: { add: ['NET_BIND_SERVICE'] } } },
      ],
    });
    expect(checks(object, 'restricted')).toEqual([]);
  });

  it('judges a step that overrides the template, and the sidecars the template does not reach', () => {
    const object = task({
      stepTemplate: { securityContext: restricted },
      steps: [{ name: 'a', image, securityContext: { allowPrivilegeEscalation: true } }],
      sidecars: [{ name: 's', image }],
    });
    expect(checks(object, 'restricted')).toEqual([
      ['allowPrivilegeEscalation', 'spec.steps.0.securityContext.allowPrivilegeEscalation'],
      ['allowPrivilegeEscalation', 'spec.sidecars.0.securityContext.allowPrivilegeEscalation'],
      ['capabilities_restricted', 'spec.sidecars.0.securityContext.capabilities.drop'],
      ['runAsNonRoot', 'spec.sidecars.0.securityContext.runAsNonRoot'],
      ['seccompProfile_restricted', 'spec.sidecars.0.securityContext.seccompProfile'],
    ]);
  });

  it('reports a stepTemplate value once, where the template writes it', () => {
    const object = task({
      stepTemplate: { securityContext: { privileged: true } },
      steps: [
        { name: 'a', image },
        { name: 'b', image },
      ],
    });
    expect(checks(object, 'baseline')).toEqual([
      ['privileged', 'spec.stepTemplate.securityContext.privileged'],
    ]);
  });
});
