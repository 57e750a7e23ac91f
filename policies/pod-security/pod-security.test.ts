import { describe, expect, it } from 'vitest';
import { deployment, pod, runPolicy } from '../../test/support/policy.ts';
import { namespaceInventory } from '../engine/review.ts';
import type { KubeObject, Policy } from '../engine/types.ts';
import { podSecurityPolicy } from './index.ts';

const policy = podSecurityPolicy as Policy<unknown>;
const app = { name: 'app', image: 'registry.corp.example/erp/odoo:17.0' };
/** A container that passes the restricted level (with a pod that sets runAsNonRoot and seccomp). */
const restrictedApp = {
  ...app,
  securityContext: { allowPrivilegeEscalation: false, capabilities: { drop: ['ALL'] } },
};
const restrictedPod = { runAsNonRoot: true, seccompProfile: { type: 'RuntimeDefault' } };

function namespace(name: string, labels: Record<string, string> = {}): KubeObject {
  return { apiVersion: 'v1', kind: 'Namespace', metadata: { name, labels } };
}

const namespaces = namespaceInventory([
  namespace('tenant-a', { 'tollgate.dev/tenant': 'a' }),
  namespace('platform'),
  namespace('labelled-baseline', { 'pod-security.kubernetes.io/enforce': 'baseline' }),
  namespace('labelled-privileged', { 'pod-security.kubernetes.io/enforce': 'privileged' }),
  namespace('labelled-old', {
    'pod-security.kubernetes.io/enforce': 'restricted',
    'pod-security.kubernetes.io/enforce-version': 'v1.21',
  }),
  namespace('labelled-typo', { 'pod-security.kubernetes.io/enforce': 'Baseline' }),
]);
const context = { namespaces };

async function run(object: KubeObject, params: Record<string, unknown> = {}, namespaceName = 'platform') {
  return runPolicy(policy, params, object, { context, input: { namespace: namespaceName } });
}

function checksOf(result: { findings: { details?: Record<string, unknown> }[] }): unknown[] {
  return result.findings.map((finding) => finding.details?.check);
}

describe('pod-security', () => {
  it('reports each offending field with the PSA check id, level and version', async () => {
    const result = await run(
      deployment([{ ...app, securityContext: { privileged: true, capabilities: { add: ['NET_ADMIN'] } } }], {
        hostPID: true,
      }),
    );
    expect(result.findings.map((f) => [f.path, f.details])).toEqual([
      [
        'spec.template.spec.containers[0].securityContext.capabilities.add[0]',
        { check: 'capabilities_baseline', level: 'baseline', version: 'latest' },
      ],
      ['spec.template.spec.hostPID', { check: 'hostNamespaces', level: 'baseline', version: 'latest' }],
      [
        'spec.template.spec.containers[0].securityContext.privileged',
        { check: 'privileged', level: 'baseline', version: 'latest' },
      ],
    ]);
    expect(result.findings[0]?.message).toMatch(
      /^capabilities_baseline: container "app" adds capability "NET_ADMIN"/,
    );
  });

  it('judges the restricted level, and versions as PSA does', async () => {
    const plain = deployment([app]);
    expect(checksOf(await run(plain, { level: 'restricted' }))).toEqual([
      'allowPrivilegeEscalation',
      'capabilities_restricted',
      'runAsNonRoot',
      'seccompProfile_restricted',
    ]);
    // Before 1.8 there is no allowPrivilegeEscalation, before 1.19 no seccomp requirement, before
    // 1.22 capabilities need not be dropped.
    expect(checksOf(await run(plain, { level: 'restricted', version: 'v1.7' }))).toEqual(['runAsNonRoot']);
    expect(
      checksOf(
        await run(deployment([restrictedApp], { securityContext: restrictedPod }), { level: 'restricted' }),
      ),
    ).toEqual([]);
    // runAsUser: 0 from v1.23 only.
    const root = deployment([restrictedApp], { securityContext: { ...restrictedPod, runAsUser: 0 } });
    expect(checksOf(await run(root, { level: 'restricted', version: 'v1.22' }))).toEqual([]);
    expect(checksOf(await run(root, { level: 'restricted', version: 'v1.23' }))).toEqual(['runAsUser']);
  });

  it('applies the probe host check from v1.34 and the newer sysctls from their versions', async () => {
    const probe = pod({
      containers: [{ ...app, readinessProbe: { tcpSocket: { host: '10.0.0.1', port: 80 } } }],
    });
    expect(checksOf(await run(probe, { version: 'v1.33' }))).toEqual([]);
    expect(checksOf(await run(probe, { version: 'v1.34' }))).toEqual(['hostProbesAndHostLifecycle']);
    expect(checksOf(await run(probe, { version: 'v1.40' }))).toEqual(['hostProbesAndHostLifecycle']);
    const sysctl = pod({
      containers: [app],
      securityContext: { sysctls: [{ name: 'net.ipv4.tcp_rmem', value: '1' }] },
    });
    expect(checksOf(await run(sysctl, { version: 'v1.31' }))).toEqual(['sysctls']);
    expect(checksOf(await run(sysctl, { version: 'v1.32' }))).toEqual([]);
  });

  it('sets stricter levels per namespace, lowering only what they add when asked', async () => {
    const params = {
      namespaceLevels: [
        {
          namespaces: {
            selector: { matchExpressions: [{ key: 'tollgate.dev/tenant', operator: 'Exists' }] },
          },
          level: 'restricted',
          action: 'warn',
        },
      ],
    };
    const object = deployment([{ ...app, securityContext: { privileged: true } }]);
    const tenant = await run(object, params, 'tenant-a');
    const actions = Object.fromEntries(tenant.findings.map((f) => [f.details?.check, f.action]));
    expect(actions).toEqual({
      privileged: 'deny',
      allowPrivilegeEscalation: 'warn',
      capabilities_restricted: 'warn',
      runAsNonRoot: 'warn',
      seccompProfile_restricted: 'warn',
    });
    expect(tenant.status).toBe('fail');
    const platform = await run(object, params, 'platform');
    expect(checksOf(platform)).toEqual(['privileged']);
    // A baseline field the restricted check reports under its own id keeps deny.
    const capability = await run(
      deployment([{ ...app, securityContext: { capabilities: { add: ['SYS_ADMIN'] } } }]),
      params,
      'tenant-a',
    );
    expect(
      capability.findings.filter((f) => f.path.endsWith('add[0]')).map((f) => [f.details?.check, f.action]),
    ).toEqual([['capabilities_restricted', 'deny']]);
    // Only warnings: the policy warns.
    expect((await run(deployment([app]), params, 'tenant-a')).status).toBe('warn');
  });

  it("honours PSA's namespace labels when asked, as PSA parses them", async () => {
    const object = deployment([app]);
    const params = { level: 'restricted', namespaceLabels: true };
    expect((await run(object, params, 'labelled-baseline')).status).toBe('pass');
    expect((await run(object, params, 'labelled-privileged')).status).toBe('skip');
    // restricted at v1.21: no capabilities_restricted yet.
    expect(checksOf(await run(object, params, 'labelled-old'))).toEqual([
      'allowPrivilegeEscalation',
      'runAsNonRoot',
      'seccompProfile_restricted',
    ]);
    // An unknown level means restricted.
    expect(checksOf(await run(object, { namespaceLabels: true }, 'labelled-typo'))).toContain('runAsNonRoot');
    // Off by default: the bundle's level decides.
    expect((await run(object, { level: 'restricted' }, 'labelled-baseline')).status).toBe('fail');
  });

  it("exempts as PSA's exemptions do: namespaces, usernames, runtime classes", async () => {
    const object = pod({ containers: [app], hostNetwork: true, runtimeClassName: 'kata' });
    const exempt = {
      exempt: {
        namespaces: ['platform'],
        usernames: ['system:serviceaccount:ops:agent'],
        runtimeClasses: ['kata'],
      },
    };
    expect((await run(object, { exempt: { namespaces: ['platform'] } })).status).toBe('skip');
    const byUser = await runPolicy(policy, exempt, object, {
      context,
      input: { namespace: 'tenant-a', userInfo: { username: 'system:serviceaccount:ops:agent' } },
    });
    expect(byUser.status).toBe('skip');
    expect((await run(object, { exempt: { runtimeClasses: ['kata'] } })).status).toBe('pass');
    expect((await run(object, { exempt: { runtimeClasses: ['gvisor'] } })).status).toBe('fail');
  });

  it('judges ephemeral containers added through the subresource, and not a Pod UPDATE that changes no image', async () => {
    const before = pod({ containers: [app], hostNetwork: true });
    const relabelled = pod({ containers: [app], hostNetwork: true }, { labels: { team: 'x' } });
    const update = (object: KubeObject, extra = {}) =>
      runPolicy(policy, {}, object, { context, input: { operation: 'UPDATE', oldObject: before, ...extra } });
    expect((await update(relabelled)).status).toBe('skip');
    const debugged = pod({
      containers: [app],
      hostNetwork: true,
      ephemeralContainers: [{ name: 'debugger', image: 'busybox', securityContext: { privileged: true } }],
    });
    const result = await update(debugged, { subresource: 'ephemeralcontainers' });
    expect(result.findings.map((f) => f.path)).toEqual([
      'spec.hostNetwork',
      'spec.ephemeralContainers[0].securityContext.privileged',
    ]);
    const newImage = pod({
      containers: [{ ...app, image: 'registry.corp.example/erp/odoo:18.0' }],
      hostNetwork: true,
    });
    expect((await update(newImage)).status).toBe('fail');
  });

  it('judges every Argo template, inheriting the workflow securityContext', async () => {
    const workflow: KubeObject = {
      apiVersion: 'argoproj.io/v1alpha1',
      kind: 'Workflow',
      metadata: { name: 'close' },
      spec: {
        securityContext: restrictedPod,
        templates: [
          { name: 'a', container: restrictedApp },
          {
            name: 'b',
            container: {
              ...restrictedApp,
              securityContext: { ...restrictedApp.securityContext, privileged: true },
            },
          },
        ],
      },
    };
    expect((await run(workflow, { level: 'restricted' })).findings.map((f) => f.path)).toEqual([
      'spec.templates[1].container.securityContext.privileged',
    ]);
  });

  it('allows host access the bundle allows, and nothing more', async () => {
    const params = {
      allowedHostPorts: [{ min: 9100, max: 9102 }],
      allowedHostPaths: [{ pathPrefix: '/var/log', readOnly: true }, { pathPrefix: '/data/cache/' }],
      exemptImages: ['registry.corp.example/platform/node-exporter'],
    };
    const daemon = (path: string, readOnly: boolean, hostPort = 9101) =>
      deployment(
        [
          {
            ...app,
            ports: [{ containerPort: 80, hostPort }],
            volumeMounts: [{ name: 'h', mountPath: '/h', readOnly }],
          },
          { ...app, name: 'reader', volumeMounts: [{ name: 'h', mountPath: '/h', readOnly: true }] },
        ],
        { volumes: [{ name: 'h', hostPath: { path } }] },
      );
    expect((await run(daemon('/var/log/pods', true), params)).findings).toEqual([]);
    expect((await run(daemon('/data/cache', false), params)).findings).toEqual([]);
    for (const path of ['/var/logs', '/var/log/../../etc', 'var/log', '/etc'])
      expect(checksOf(await run(daemon(path, true), params)), path).toEqual(['hostPathVolumes']);
    // One writable mount of several is enough to deny a read-only prefix.
    const writable = await run(daemon('/var/log', false), params);
    expect(writable.findings.map((f) => f.message)).toEqual([
      expect.stringContaining('allows read-only, but container "app" mounts it writable'),
    ]);
    expect(checksOf(await run(daemon('/var/log', true, 9103), params))).toEqual(['hostPorts']);
    // At restricted, an allowed hostPath volume passes restrictedVolumes too.
    expect(checksOf(await run(daemon('/var/log', true), { ...params, level: 'restricted' }))).not.toContain(
      'restrictedVolumes',
    );
    // Exempt images skip container checks, compared on parsed references.
    const exporter = (image: string) =>
      pod({ containers: [{ name: 'x', image, securityContext: { privileged: true } }] });
    expect(
      (await run(exporter('registry.corp.example/platform/node-exporter:1.8'), params)).findings,
    ).toEqual([]);
    expect(
      (
        await run(
          exporter('REGISTRY.corp.example/platform/node-exporter/sub@sha256:' + 'a'.repeat(64)),
          params,
        )
      ).findings,
    ).toEqual([]);
    expect(
      checksOf(await run(exporter('registry.corp.example/platform/node-exporter-evil:1'), params)),
    ).toEqual(['privileged']);
    expect(
      checksOf(await run(exporter('registry.corp.example.evil.io/platform/node-exporter:1'), params)),
    ).toEqual(['privileged']);
    // ... but not pod-level fields.
    const hostNet = pod({
      containers: [{ name: 'x', image: 'registry.corp.example/platform/node-exporter:1.8' }],
      hostNetwork: true,
    });
    expect(checksOf(await run(hostNet, params))).toEqual(['hostNamespaces']);
  });

  it('rejects parameters that mean nothing, naming them', async () => {
    const attempt = (params: Record<string, unknown>) => run(pod({ containers: [app] }), params);
    await expect(attempt({ allowedHostPorts: [{ min: 9200, max: 9100 }] })).rejects.toThrow(
      /allowedHostPorts\/0.*min 9200 is above max 9100/s,
    );
    await expect(attempt({ allowedHostPaths: [{ pathPrefix: '/var/../etc' }] })).rejects.toThrow(
      /allowedHostPaths\/0\/pathPrefix/,
    );
    await expect(attempt({ exemptImages: ['registry.corp.example/*'] })).rejects.toThrow(
      /exemptImages\/0.*wildcards/s,
    );
    await expect(attempt({ version: 'v2.1' })).rejects.toThrow(/version/);
    await expect(attempt({ namespaceLevels: [{ namespaces: {}, level: 'restricted' }] })).rejects.toThrow(
      /namespaceLevels\/0\/namespaces/,
    );
  });

  it('skips objects without a pod spec and DELETEs, and reports malformed pod specs', async () => {
    expect((await run({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'c' } })).status).toBe('skip');
    const deleted = await runPolicy(policy, {}, undefined, {
      context,
      input: { operation: 'DELETE', oldObject: pod({ containers: [app], hostPID: true }) },
    });
    expect(deleted.status).toBe('skip');
    const malformed = await run(pod({ containers: { name: 'x' } }));
    expect(malformed.findings.map((f) => f.path)).toEqual(['spec.containers']);
  });
});
