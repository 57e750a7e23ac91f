/**
 * What the webhook benches share: a loopback registry (Debian's docker-registry, test/support's
 * rig) holding the sample's two images signed with a fresh key, the finance baseline pointed at it
 * (approved registries, signed-images rule and key, plain HTTP), and the sample AdmissionReview in
 * an allowed and a denied variant.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse, stringify } from 'yaml';
import { RegistryClient } from '../io/registry/client.ts';
import { generateTestKey, pushRandomImage, signLegacy, startRegistry } from '../test/support/registry-rig.ts';
import type { TestKey, TestRegistry } from '../test/support/registry-rig.ts';
import { root } from './peers.ts';

/** The images of the sample Deployment, as `repository:tag` under the registry. */
export const sampleImages = { odoo: 'erp/odoo:17.0', shipper: 'platform/fluent-bit:3.1' } as const;

/** A registry with the sample's images signed, and the bundle that trusts it. */
export interface SignedRig {
  readonly registry: TestRegistry;
  readonly key: TestKey;
  /** The finance baseline with `registry.corp.example` replaced by the loopback registry. */
  readonly bundleYaml: string;
  stop(): Promise<void>;
}

/** The finance baseline trusting `registryHost` and `key` (plain HTTP to that host). */
export function baselineFor(registryHost: string, key: TestKey): string {
  const text = readFileSync(join(root, 'bundles/finance-baseline.yaml'), 'utf8').replaceAll(
    'registry.corp.example',
    registryHost,
  );
  const bundle = parse(text) as {
    spec: { policies: Record<string, Record<string, unknown>> };
  };
  const signed = bundle.spec.policies['signed-images'];
  if (!signed) throw new Error('bundles/finance-baseline.yaml has no signed-images policy');
  const rules = signed['rules'] as Array<{ keys: Array<{ publicKey: string }> }>;
  for (const rule of rules) for (const k of rule.keys) k.publicKey = key.publicKeyPem;
  signed['insecureRegistries'] = [registryHost];
  return stringify(bundle);
}

/** Starts the registry, pushes and signs the sample's images. */
export async function startSignedRig(): Promise<SignedRig> {
  const registry = await startRegistry();
  try {
    const client = new RegistryClient();
    const key = generateTestKey('p256');
    for (const image of Object.values(sampleImages)) {
      const [repository = '', tag = ''] = image.split(':');
      const digest = await pushRandomImage(client, registry.host, repository, tag);
      await signLegacy(client, registry.host, repository, digest, key);
    }
    return { registry, key, bundleYaml: baselineFor(registry.host, key), stop: () => registry.stop() };
  } catch (error) {
    await registry.stop();
    throw error;
  }
}

/** The chart's default NODE_OPTIONS for the webhook (`nodeOptions` in charts/tollgate/values.yaml). */
export function chartNodeOptions(): string {
  const values = readFileSync(join(root, 'charts/tollgate/values.yaml'), 'utf8');
  const match = /^nodeOptions:\s*'([^']*)'/m.exec(values);
  if (!match) throw new Error('charts/tollgate/values.yaml has no top-level nodeOptions');
  return match[1] ?? '';
}

/**
 * The environment the chart gives the webhook process besides NODE_OPTIONS: MALLOC_ARENA_MAX
 * (`mallocArenaMax` in charts/tollgate/values.yaml), so the benches measure the chart's settings.
 */
export function chartEnvironment(): Record<string, string> {
  const values = parse(readFileSync(join(root, 'charts/tollgate/values.yaml'), 'utf8')) as {
    mallocArenaMax?: number | null;
  };
  return typeof values.mallocArenaMax === 'number' ? { MALLOC_ARENA_MAX: String(values.mallocArenaMax) } : {};
}

const container = (name: string, image: string, port: number, memoryLimit: string) => ({
  name,
  image,
  imagePullPolicy: 'IfNotPresent',
  ports: [{ containerPort: port, name: 'http', protocol: 'TCP' }],
  env: [
    { name: 'DB_HOST', value: 'postgres-rw.tenant-acme.svc' },
    { name: 'DB_PORT', value: '5432' },
    { name: 'DB_USER', valueFrom: { secretKeyRef: { name: 'odoo-db', key: 'username' } } },
    { name: 'DB_PASSWORD', valueFrom: { secretKeyRef: { name: 'odoo-db', key: 'password' } } },
    { name: 'ODOO_WORKERS', value: '4' },
  ],
  resources: { requests: { cpu: '500m', memory: '1Gi' }, limits: { memory: memoryLimit } },
  readinessProbe: { httpGet: { path: '/web/health', port }, periodSeconds: 10 },
  livenessProbe: { httpGet: { path: '/web/health', port }, periodSeconds: 20, failureThreshold: 6 },
  securityContext: {
    runAsNonRoot: true,
    runAsUser: 101,
    allowPrivilegeEscalation: false,
    readOnlyRootFilesystem: true,
    capabilities: { drop: ['ALL'] },
    seccompProfile: { type: 'RuntimeDefault' },
  },
  volumeMounts: [
    { name: 'data', mountPath: '/var/lib/odoo' },
    { name: 'config', mountPath: '/etc/odoo', readOnly: true },
  ],
});

/**
 * A realistic AdmissionReview: CREATE of a two-container Odoo Deployment, about 5 KB, its images in
 * `registry`. The denied variant asks for a 32Gi memory limit (the baseline's maximum is 16Gi).
 */
export function sampleReview(
  registry = 'registry.corp.example',
  variant: 'allowed' | 'denied' = 'allowed',
): Record<string, unknown> {
  const memoryLimit = variant === 'allowed' ? '2Gi' : '32Gi';
  const labels = { 'app.kubernetes.io/name': 'odoo', 'app.kubernetes.io/instance': 'acme', tier: 'erp' };
  const object = {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: {
      name: 'odoo',
      namespace: 'tenant-acme',
      labels: { ...labels, 'app.kubernetes.io/version': '17.0', 'app.kubernetes.io/managed-by': 'Helm' },
      annotations: { 'meta.helm.sh/release-name': 'acme', 'meta.helm.sh/release-namespace': 'tenant-acme' },
    },
    spec: {
      replicas: 2,
      revisionHistoryLimit: 5,
      strategy: { type: 'RollingUpdate', rollingUpdate: { maxSurge: 1, maxUnavailable: 0 } },
      selector: { matchLabels: labels },
      template: {
        metadata: { labels, annotations: { 'checksum/config': 'a'.repeat(64) } },
        spec: {
          serviceAccountName: 'odoo',
          automountServiceAccountToken: false,
          securityContext: { fsGroup: 101, runAsNonRoot: true },
          containers: [
            container('odoo', `${registry}/${sampleImages.odoo}`, 8069, memoryLimit),
            container('log-shipper', `${registry}/${sampleImages.shipper}`, 2020, '2Gi'),
          ],
          volumes: [
            { name: 'data', persistentVolumeClaim: { claimName: 'odoo-data' } },
            { name: 'config', configMap: { name: 'odoo-config' } },
          ],
          affinity: {
            podAntiAffinity: {
              preferredDuringSchedulingIgnoredDuringExecution: [
                {
                  weight: 100,
                  podAffinityTerm: {
                    topologyKey: 'kubernetes.io/hostname',
                    labelSelector: { matchLabels: labels },
                  },
                },
              ],
            },
          },
          topologySpreadConstraints: [
            {
              maxSkew: 1,
              topologyKey: 'topology.kubernetes.io/zone',
              whenUnsatisfiable: 'ScheduleAnyway',
              labelSelector: { matchLabels: labels },
            },
          ],
        },
      },
    },
  };
  return {
    apiVersion: 'admission.k8s.io/v1',
    kind: 'AdmissionReview',
    request: {
      uid: '0df28fbd-5f5f-4a23-9c2a-5b4f2d1c2e11',
      kind: { group: 'apps', version: 'v1', kind: 'Deployment' },
      resource: { group: 'apps', version: 'v1', resource: 'deployments' },
      requestKind: { group: 'apps', version: 'v1', kind: 'Deployment' },
      requestResource: { group: 'apps', version: 'v1', resource: 'deployments' },
      name: 'odoo',
      namespace: 'tenant-acme',
      operation: 'CREATE',
      userInfo: {
        username: 'system:serviceaccount:argocd:argocd-application-controller',
        uid: '7b1c8f0e-2f4e-4f55-8a51-0f6c1b9f3c77',
        groups: ['system:serviceaccounts', 'system:serviceaccounts:argocd', 'system:authenticated'],
      },
      object,
      oldObject: null,
      dryRun: false,
      options: { apiVersion: 'meta.k8s.io/v1', kind: 'CreateOptions', fieldManager: 'argocd-controller' },
    },
  };
}
