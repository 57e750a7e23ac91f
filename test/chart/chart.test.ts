/**
 * The Helm chart, rendered by the real `helm` (installed by .ci/tools.sh): lint and template for
 * every supported values file, assertions on lockout safety and TLS wiring, schema rejection of
 * bad values, the dogfood check against tollgate's own finance baseline, and the generated parts
 * (webhook rules, values table) in sync with the code.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { validate as lintDockerfile } from 'dockerfile-utils';
import { parseAllDocuments, parse } from 'yaml';
import { describe, expect, it } from 'vitest';
import { builtinPolicies, loadBundle, namespaceInventory } from '../../policies/index.ts';
import { webhookRulesFor } from '../../policies/engine/admission-rules.ts';
import type { KubeObject } from '../../policies/engine/types.ts';
import { checkManifests } from '../../ci-action/src/gate/check.ts';
import { parseManifests } from '../../ci-action/src/gate/manifests.ts';
import { parseServeArgs } from '../../cli/commands/serve.ts';
import { toolPath } from '../e2e/tools.ts';
import { renderRulesFile, rulesFile } from '../../scripts/chart-rules.ts';
import { chartReadme, renderChartReadme } from '../../scripts/chart-docs.ts';

const root = fileURLToPath(new URL('../..', import.meta.url));
const chart = `${root}charts/tollgate`;
const helm = toolPath('helm');
/** helm built by `go install` defaults to Kubernetes 1.20; render for the version the chart targets. */
const kubeVersion = ['--kube-version', '1.34.0'];
const valuesFiles = readdirSync(`${chart}/ci`).filter((f) => f.endsWith('-values.yaml'));

function template(args: string[]): { text: string; objects: KubeObject[] } {
  const text = execFileSync(
    helm,
    ['template', 'tollgate', chart, '--namespace', 'tollgate-system', ...kubeVersion, ...args],
    { encoding: 'utf8' },
  );
  const objects = parseAllDocuments(text)
    .map((doc) => doc.toJS() as KubeObject | null)
    .filter((o): o is KubeObject => o !== null);
  return { text, objects };
}

function find(objects: KubeObject[], kind: string): KubeObject {
  const found = objects.find((o) => o.kind === kind);
  if (!found) throw new Error(`no ${kind} rendered`);
  return found;
}

/** The fields of the rendered Deployment the assertions read. */
interface DeploymentShape extends KubeObject {
  spec: {
    replicas: number;
    template: {
      spec: {
        topologySpreadConstraints: { topologyKey: string }[];
        securityContext: Record<string, unknown>;
        containers: {
          args: string[];
          env?: { name: string; value?: string; valueFrom?: unknown }[];
          securityContext: Record<string, unknown>;
          readinessProbe: { httpGet: unknown };
          resources: { requests?: unknown };
        }[];
        volumes: { secret: { secretName: string } }[];
      };
    };
  };
}

interface Webhook {
  failurePolicy: string;
  timeoutSeconds: number;
  sideEffects: string;
  admissionReviewVersions: string[];
  namespaceSelector: { matchExpressions: { key: string; operator: string; values: string[] }[] };
  matchConditions: { name: string; expression: string }[];
  clientConfig: { caBundle?: string; service: { name: string; namespace: string; path: string } };
  rules: unknown[];
}

function webhookOf(objects: KubeObject[]): Webhook {
  const vwc = find(objects, 'ValidatingWebhookConfiguration') as KubeObject & { webhooks: Webhook[] };
  const webhook = vwc.webhooks[0];
  if (!webhook) throw new Error('no webhook');
  return webhook;
}

describe('charts/tollgate', () => {
  it.each(valuesFiles)('helm lint passes with ci/%s', (file) => {
    const result = spawnSync(helm, ['lint', chart, '--strict', ...kubeVersion, '-f', `${chart}/ci/${file}`], {
      encoding: 'utf8',
    });
    expect(result.stdout + result.stderr).toContain('0 chart(s) failed');
    expect(result.status).toBe(0);
  });

  it.each(valuesFiles)('helm template renders ci/%s', (file) => {
    const { objects } = template(['-f', `${chart}/ci/${file}`]);
    expect(objects.map((o) => o.kind)).toEqual(
      expect.arrayContaining(['Deployment', 'Service', 'ValidatingWebhookConfiguration']),
    );
  });

  it('defaults are highly available and lockout-safe', () => {
    const { objects } = template([]);
    const deployment = find(objects, 'Deployment') as DeploymentShape;
    expect(deployment.spec.replicas).toBe(3);
    const pod = deployment.spec.template.spec;
    expect(pod.topologySpreadConstraints.map((c) => c.topologyKey)).toEqual([
      'kubernetes.io/hostname',
      'topology.kubernetes.io/zone',
    ]);
    expect(pod.securityContext).toMatchObject({
      runAsNonRoot: true,
      seccompProfile: { type: 'RuntimeDefault' },
    });
    const container = pod.containers[0];
    if (!container) throw new Error('no container');
    expect(container.securityContext).toMatchObject({
      readOnlyRootFilesystem: true,
      allowPrivilegeEscalation: false,
      capabilities: { drop: ['ALL'] },
    });
    expect(container.readinessProbe.httpGet).toEqual({ path: '/readyz', port: 'ops' });
    expect(container.resources.requests).toBeDefined();
    expect(find(objects, 'PodDisruptionBudget')).toMatchObject({ spec: { maxUnavailable: 1 } });

    const webhook = webhookOf(objects);
    expect(webhook.failurePolicy).toBe('Fail');
    expect(webhook.sideEffects).toBe('None');
    expect(webhook.admissionReviewVersions).toEqual(['v1']);
    expect(webhook.timeoutSeconds).toBe(10);
    expect(container.args).toContain('--timeout-seconds=10');
    expect(container.env).toEqual([
      { name: 'POD_NAME', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } },
      { name: 'NODE_OPTIONS', value: '--max-old-space-size=128 --max-semi-space-size=4' },
      { name: 'MALLOC_ARENA_MAX', value: '1' },
    ]);
    expect(webhook.namespaceSelector.matchExpressions).toEqual([
      {
        key: 'kubernetes.io/metadata.name',
        operator: 'NotIn',
        values: ['kube-system', 'kube-node-lease', 'tollgate-system'],
      },
    ]);
    const conditions = webhook.matchConditions.map((c) => c.expression).join('\n');
    expect(conditions).toContain("request.resource.resource == 'leases'");
    expect(conditions).toContain("request.resource.resource == 'events'");
    expect(conditions).toContain("'system:apiserver'");
    // a wildcard must not reach cluster-scoped objects (nodes, CRDs, ClusterRoles): the
    // namespaceSelector cannot exclude them, so the webhook being down would block them all
    const wildcard = (webhook.rules as { resources: string[]; scope: string }[]).filter((r) =>
      r.resources.includes('*'),
    );
    expect(wildcard.length).toBeGreaterThan(0);
    expect(wildcard.every((r) => r.scope === 'Namespaced')).toBe(true);
  });

  it('generates TLS whose CA signs the serving certificate and is the caBundle', async () => {
    const { objects } = template([]);
    const secret = find(objects, 'Secret') as KubeObject & { data: Record<string, string>; type: string };
    expect(secret.type).toBe('kubernetes.io/tls');
    const webhook = webhookOf(objects);
    const ca = Buffer.from(secret.data['ca.crt'] ?? '', 'base64').toString();
    expect(Buffer.from(webhook.clientConfig.caBundle ?? '', 'base64').toString()).toBe(ca);
    const { X509Certificate } = await import('node:crypto');
    const caCert = new X509Certificate(ca);
    const serving = new X509Certificate(Buffer.from(secret.data['tls.crt'] ?? '', 'base64'));
    expect(serving.verify(caCert.publicKey)).toBe(true);
    expect(serving.subjectAltName).toContain('DNS:tollgate.tollgate-system.svc');
    const deployment = find(objects, 'Deployment') as DeploymentShape;
    expect(deployment.spec.template.spec.volumes[0]?.secret.secretName).toBe(secret.metadata?.name);
  });

  it('wires cert-manager CA injection and a bring-your-own Secret', () => {
    const certManager = template(['-f', `${chart}/ci/cert-manager-values.yaml`]).objects;
    const vwc = find(certManager, 'ValidatingWebhookConfiguration');
    expect(vwc.metadata?.annotations?.['cert-manager.io/inject-ca-from']).toBe(
      'tollgate-system/tollgate-serving',
    );
    expect(certManager.filter((o) => o.kind === 'Certificate').map((o) => o.metadata?.name)).toEqual([
      'tollgate-ca',
      'tollgate-serving',
    ]);
    expect(certManager.some((o) => o.kind === 'Secret')).toBe(false);
    const own = template(['-f', `${chart}/ci/existing-secret-values.yaml`]).objects;
    const webhook = webhookOf(own);
    expect(Buffer.from(webhook.clientConfig.caBundle ?? '', 'base64').toString()).toContain(
      'BEGIN CERTIFICATE',
    );
    expect(webhook.failurePolicy).toBe('Ignore');
    expect(own.find((o) => o.kind === 'Role')).toBeDefined();
  });

  it('requires a signed bundle when bundle.signature.enabled: flags the CLI accepts, files mounted where they point', () => {
    const signed = find(
      template(['-f', `${chart}/ci/signed-bundle-values.yaml`]).objects,
      'Deployment',
    ) as KubeObject & {
      spec: {
        template: {
          spec: {
            containers: { args: string[]; volumeMounts: { name: string; mountPath: string }[] }[];
            volumes: { name: string; configMap?: { name: string } }[];
          };
        };
      };
    };
    const pod = signed.spec.template.spec;
    const container = pod.containers[0];
    if (!container) throw new Error('no container');
    expect(container.args).toEqual(
      expect.arrayContaining([
        '--bundle=/etc/tollgate/bundle/bundle.yaml',
        '--require-signed-bundle',
        '--trusted-keys=/etc/tollgate/trusted-keys/trusted.jwks',
        '--bundle-signature=/etc/tollgate/bundle/bundle.yaml.jws',
      ]),
    );
    // the real `tollgate serve` parser reads these args as a signature requirement
    const parsed = parseServeArgs(container.args.slice(1), { cwd: '/', env: {} });
    expect(parsed.options.bundleSignature).toMatchObject({
      signaturePath: '/etc/tollgate/bundle/bundle.yaml.jws',
      trustedKeysPath: '/etc/tollgate/trusted-keys/trusted.jwks',
    });
    const mountOf = (name: string): string | undefined =>
      container.volumeMounts.find((m) => m.name === name)?.mountPath;
    expect(mountOf('bundle')).toBe('/etc/tollgate/bundle');
    expect(mountOf('trusted-keys')).toBe('/etc/tollgate/trusted-keys');
    expect(pod.volumes.find((v) => v.name === 'bundle')?.configMap?.name).toBe('tollgate-bundle');
    expect(pod.volumes.find((v) => v.name === 'trusted-keys')?.configMap?.name).toBe('tollgate-trusted-keys');

    const unsigned = (find(template([]).objects, 'Deployment') as DeploymentShape).spec.template.spec;
    expect(unsigned.containers[0]?.args.some((a) => /signed|trusted-keys|bundle-signature/.test(a))).toBe(
      false,
    );

    for (const [args, field] of [
      [
        ['--set', 'bundle.signature.enabled=true', '--set', 'bundle.signature.trustedKeysConfigMap=k'],
        'existingConfigMap',
      ],
      [
        ['--set', 'bundle.signature.enabled=true', '--set', 'bundle.existingConfigMap=b'],
        'trustedKeysConfigMap',
      ],
      [['--set', 'bundle.signature.sigKey=x'], 'sigKey'],
    ] as const) {
      const result = spawnSync(helm, ['template', 'tollgate', chart, ...kubeVersion, ...args], {
        encoding: 'utf8',
      });
      expect(result.status, field).not.toBe(0);
      expect(result.stderr).toContain("values don't meet the specifications of the schema");
      expect(result.stderr).toContain(field);
    }
  });

  it('signs the decision log’s checkpoints with a key from a Secret when one is named', () => {
    interface KeyedPod {
      containers: {
        args: string[];
        env: { name: string; valueFrom?: { fieldRef: { fieldPath: string } } }[];
        volumeMounts: { name: string; mountPath: string }[];
      }[];
      volumes: { name: string; secret?: { secretName: string; defaultMode: number } }[];
    }
    const podOf = (args: string[]): KeyedPod =>
      (find(template(args).objects, 'Deployment') as KubeObject & { spec: { template: { spec: KeyedPod } } })
        .spec.template.spec;
    const keyed = podOf([
      ...['--set', 'decisionLog.checkpointKey.secretName=tollgate-checkpoint'],
      ...['--set', 'decisionLog.checkpointEvery=500', '--set', 'decisionLog.checkpointIntervalSeconds=30'],
    ]);
    const container = keyed.containers[0];
    if (!container) throw new Error('no container');
    // the real `tollgate serve` parser reads the args: key file where the Secret is mounted
    const parsed = parseServeArgs(container.args.slice(1), { cwd: '/', env: {} });
    expect(parsed.decisionLog).toEqual({
      keyFile: '/etc/tollgate/checkpoint-key/checkpoint.pem',
      every: 500,
      intervalMs: 30_000,
    });
    expect(container.volumeMounts).toContainEqual({
      name: 'checkpoint-key',
      mountPath: '/etc/tollgate/checkpoint-key',
      readOnly: true,
    });
    expect(keyed.volumes.find((v) => v.name === 'checkpoint-key')?.secret).toEqual({
      secretName: 'tollgate-checkpoint',
      defaultMode: 0o440, // group-readable for the pod's fsGroup only
    });
    expect(container.env).toContainEqual({
      name: 'POD_NAME',
      valueFrom: { fieldRef: { fieldPath: 'metadata.name' } },
    });

    const unsigned = podOf([]);
    expect(unsigned.containers[0]?.args.some((a) => a.startsWith('--checkpoint-key'))).toBe(false);
    expect(
      parseServeArgs(unsigned.containers[0]?.args.slice(1) ?? [], { cwd: '/', env: {} }).decisionLog,
    ).toEqual({
      every: 1000,
      intervalMs: 60_000,
    });
    expect(unsigned.volumes.some((v) => v.name === 'checkpoint-key')).toBe(false);

    for (const [args, field] of [
      [['--set', 'decisionLog.checkpointKey.key=../etc/passwd'], 'key'],
      [['--set', 'decisionLog.checkpointEvery=0'], 'checkpointEvery'],
      [['--set', 'decisionLog.signed=true'], 'signed'],
    ] as const) {
      const result = spawnSync(helm, ['template', 'tollgate', chart, ...kubeVersion, ...args], {
        encoding: 'utf8',
      });
      expect(result.status, field).not.toBe(0);
      expect(result.stderr).toContain("values don't meet the specifications of the schema");
      expect(result.stderr).toContain(field);
    }
  });

  it('grants Secrets only when pull credentials are configured', () => {
    const { objects } = template([]);
    const rules = objects
      .filter((o) => o.kind === 'ClusterRole' || o.kind === 'Role')
      .flatMap((o) => (o as KubeObject & { rules: { resources: string[] }[] }).rules);
    expect(rules.flatMap((r) => r.resources)).toEqual(['namespaces']);
  });

  it.each([
    [['--set', 'webhook.failurePolicy=Sometimes'], 'failurePolicy'],
    [['--set', 'webhook.timeoutSeconds=31'], 'timeoutSeconds'],
    [['--set', 'webhook.excludedNamespaces={tenant-a}'], 'excludedNamespaces'],
    [['--set', 'replicas=3'], 'replicas'],
    [['--set', 'tls.mode=secret'], 'existingSecret'],
    [['--set', 'registryCredentials.enabled=true'], 'secretNames'],
    [['--set', 'audit.interval=15 minutes'], 'interval'],
    [['--set', 'audit.git.paths={../etc}'], 'paths'],
  ])('rejects bad values %j with a clear message', (args, field) => {
    const result = spawnSync(helm, ['template', 'tollgate', chart, ...kubeVersion, ...args], {
      encoding: 'utf8',
    });
    expect(result.status).not.toBe(0);
    expect(result.stderr).toContain("values don't meet the specifications of the schema");
    expect(result.stderr).toContain(field);
  });

  it('dogfood: every supported rendering passes the finance baseline (registries configured for the test)', async () => {
    const baseline = parse(readFileSync(`${root}bundles/finance-baseline.yaml`, 'utf8')) as {
      spec: { policies: Record<string, Record<string, unknown>> };
    };
    const registries = baseline.spec.policies['approved-registries'];
    if (registries) registries['registries'] = ['registry.corp.example/platform'];
    const bundle = loadBundle(JSON.stringify(baseline), {
      source: 'finance-baseline (dogfood)',
      policies: builtinPolicies,
    });
    // The cluster's namespace (no tenant label: a platform namespace), as the trusted inventory.
    const namespaces = namespaceInventory([
      {
        apiVersion: 'v1',
        kind: 'Namespace',
        metadata: { name: 'tollgate-system', labels: { 'kubernetes.io/metadata.name': 'tollgate-system' } },
      },
    ]);
    for (const file of valuesFiles) {
      const { text } = template(['-f', `${chart}/ci/${file}`]);
      const { manifests, errors } = parseManifests(`helm template (${file})`, text);
      expect(errors).toEqual([]);
      const reports = await checkManifests(manifests, {
        bundle,
        now: new Date('2026-11-10T12:00:00Z'),
        namespaces,
      });
      const denied = reports.flatMap((r) =>
        r.results.flatMap((res) =>
          res.findings
            .filter((f) => f.action === 'deny')
            .map((f) => `${r.object.kind}/${r.object.name ?? ''} ${f.policy} ${f.path}: ${f.message}`),
        ),
      );
      const errored = reports.flatMap((r) =>
        r.results
          .filter((res) => res.status === 'error' && res.action === 'deny')
          .map((res) => `${r.object.kind} ${res.policy}: ${res.reason ?? ''}`),
      );
      expect({ file, denied, errored }).toEqual({ file, denied: [], errored: [] });
    }
  });

  it('the audit component: read-only on what the policies judge, writes PolicyReports only, serves gauges', () => {
    expect(template([]).objects.filter((o) => o.metadata?.name?.includes('audit'))).toEqual([]);
    const { objects } = template(['-f', `${chart}/ci/audit-values.yaml`]);
    const role = (name: string) =>
      objects.find((o) => o.kind === 'ClusterRole' && o.metadata?.name === name) as
        (KubeObject & { rules: { apiGroups: string[]; resources: string[]; verbs: string[] }[] }) | undefined;
    const read = role('tollgate-audit-read');
    const reports = role('tollgate-audit-reports');
    expect(read?.rules.flatMap((r) => r.verbs)).toEqual(expect.arrayContaining(['get', 'list']));
    expect(new Set(read?.rules.flatMap((r) => r.verbs))).toEqual(new Set(['get', 'list']));
    const readable = read?.rules.flatMap((r) =>
      r.apiGroups.flatMap((g) => r.resources.map((res) => `${g}/${res}`)),
    );
    expect(readable).toEqual(
      expect.arrayContaining(['/pods', 'apps/deployments', 'argoproj.io/rollouts', '/namespaces']),
    );
    expect(
      readable?.filter((r) => r.includes('*') || r.includes('secrets') || r.split('/').length > 2),
    ).toEqual([]);
    expect(reports?.rules).toEqual([
      {
        apiGroups: ['wgpolicyk8s.io'],
        resources: ['policyreports', 'clusterpolicyreports'],
        verbs: ['get', 'list', 'create', 'patch', 'delete'],
      },
    ]);
    const deployment = objects.find(
      (o) => o.kind === 'Deployment' && o.metadata?.name === 'tollgate-audit',
    ) as DeploymentShape | undefined;
    const container = deployment?.spec.template.spec.containers[0];
    expect(container?.args).toEqual([
      'audit',
      '--interval=15m',
      '--metrics-port=9090',
      '--write-reports',
      '--namespace=payments',
      '--namespace=ledger',
      '--git=/var/lib/tollgate/git/clusters/prod/payments',
      '--git=/var/lib/tollgate/git/clusters/prod/ledger',
    ]);
    // The webhook's Service and PodDisruptionBudget never select the audit Pod.
    const webhook = objects.find((o) => o.kind === 'Deployment' && o.metadata?.name === 'tollgate') as
      (KubeObject & { spec: { selector: { matchLabels: Record<string, string> } } }) | undefined;
    const auditLabels =
      (deployment?.spec.template as { metadata?: { labels?: Record<string, string> } }).metadata?.labels ??
      {};
    expect(
      Object.entries(webhook?.spec.selector.matchLabels ?? {}).every(([k, v]) => auditLabels[k] === v),
    ).toBe(false);
    expect(objects.filter((o) => o.kind === 'ServiceMonitor').map((o) => o.metadata?.name)).toContain(
      'tollgate-audit',
    );
    const crds = objects.filter((o) => o.kind === 'CustomResourceDefinition') as (KubeObject & {
      spec: { versions: { name: string; served: boolean }[] };
    })[];
    expect(crds.map((c) => c.metadata?.name)).toEqual([
      'policyreports.wgpolicyk8s.io',
      'clusterpolicyreports.wgpolicyk8s.io',
    ]);
    expect(crds.every((c) => c.spec.versions.some((v) => v.name === 'v1alpha2' && v.served))).toBe(true);
    for (const file of readdirSync(`${chart}/files/crds`))
      expect(readFileSync(`${chart}/files/crds/${file}`, 'utf8')).toMatch(
        /^# Vendored from github.com\/kubernetes-sigs\/wg-policy-prototypes at commit [0-9a-f]{40},[\s\S]*Apache License, Version 2\.0/,
      );
    const noCrds = template([
      '-f',
      `${chart}/ci/audit-values.yaml`,
      '--set',
      'audit.installCRDs=false',
    ]).objects;
    expect(noCrds.filter((o) => o.kind === 'CustomResourceDefinition')).toEqual([]);
  });

  it('the audit component as a CronJob: one-shot audits on a schedule, no gauges, the same Pod and RBAC', () => {
    const { objects } = template([
      '-f',
      `${chart}/ci/audit-values.yaml`,
      '--set',
      'audit.mode=cronjob',
      '--set',
      'audit.schedule=0 * * * *',
      '--set',
      'networkPolicy.enabled=true',
    ]);
    const audit = objects.filter((o) => o.metadata?.name === 'tollgate-audit');
    expect(audit.map((o) => o.kind).sort()).toEqual(['CronJob', 'NetworkPolicy', 'ServiceAccount']);
    const cron = audit.find((o) => o.kind === 'CronJob') as
      | (KubeObject & {
          spec: {
            schedule: string;
            concurrencyPolicy: string;
            jobTemplate: { spec: { template: DeploymentShape['spec']['template'] } };
          };
        })
      | undefined;
    expect([cron?.spec.schedule, cron?.spec.concurrencyPolicy]).toEqual(['0 * * * *', 'Forbid']);
    const pod = cron?.spec.jobTemplate.spec.template;
    expect((pod?.spec as { restartPolicy?: string } | undefined)?.restartPolicy).toBe('Never');
    expect(pod?.spec.containers[0]?.args).toEqual([
      'audit',
      '--exit-zero',
      '--write-reports',
      '--namespace=payments',
      '--namespace=ledger',
      '--git=/var/lib/tollgate/git/clusters/prod/payments',
      '--git=/var/lib/tollgate/git/clusters/prod/ledger',
    ]);
    expect(
      (audit.find((o) => o.kind === 'NetworkPolicy') as { spec?: { ingress?: unknown } }).spec?.ingress,
    ).toEqual([]);
    expect(objects.filter((o) => o.kind === 'ServiceMonitor').map((o) => o.metadata?.name)).not.toContain(
      'tollgate-audit',
    );
    expect(objects.some((o) => o.kind === 'ClusterRole' && o.metadata?.name === 'tollgate-audit-read')).toBe(
      true,
    );
  });

  it('webhook rules are generated from the policies and in sync with the chart', () => {
    expect(readFileSync(rulesFile, 'utf8')).toBe(renderRulesFile());
    expect(webhookOf(template([]).objects).rules).toEqual(webhookRulesFor(builtinPolicies));
  });

  it('the chart README values table is generated from values.yaml', () => {
    expect(readFileSync(chartReadme, 'utf8')).toBe(renderChartReadme());
  });

  it('the Dockerfile lints clean and runs as non-root on Node 24', () => {
    const text = readFileSync(`${root}webhook/Dockerfile`, 'utf8');
    expect(lintDockerfile(text)).toEqual([]);
    expect(text).toMatch(/FROM node:24/);
    expect(text).toMatch(/^USER 65532/m);
  });
});
