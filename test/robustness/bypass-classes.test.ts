/**
 * Bypass classes 4, 5 and 6 of issue 12, as the cluster sends them: every case is an
 * AdmissionReview posted over HTTPS to a running `tollgate serve`, which must deny it with the
 * field path in its message (and allow each control). Class 4: values that mean "unlimited" or
 * "everyone" (address ranges as Go parses them, zero and overflowing limits, principals named
 * several ways). Class 5: references and pod templates the policies must follow. Class 6: a freeze
 * scoped by kind also freezes the same change made through a subresource.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { KubeObject } from '../../policies/engine/types.ts';
import { admissionReview, startTestWebhook } from '../support/webhook.ts';
import type { TestWebhook } from '../support/webhook.ts';

const bundle = `
apiVersion: tollgate.dev/v1
kind: PolicyBundle
metadata: { name: bypass-classes, version: 1.0.0 }
spec:
  policies:
    approved-registries:
      enforcement: deny
      registries: [registry.corp.example/erp]
    namespace-isolation:
      enforcement: deny
      tenantLabel: tollgate.dev/tenant
      sharedNamespaces: [ingress, monitoring]
    no-public-databases:
      enforcement: deny
    resource-limits:
      enforcement: deny
      required: [requests.cpu, requests.memory, limits.memory, limits.cpu]
      max: { limits.memory: 16Gi }
    freeze-windows:
      enforcement: deny
      entities:
        de-gmbh: { zone: Europe/Berlin }
      scope:
        namespaces: { names: [erp-prod] }
        kinds: [Deployment, StatefulSet, Rollout]
      windows:
        - name: always-frozen
          entities: [de-gmbh]
          absolute: { start: '2000-01-01T00:00', end: '2100-01-01T00:00' }
`;

const namespaceObjects = new Map<string, KubeObject>(
  [
    ['tenant-acme', { 'tollgate.dev/tenant': 'acme' }],
    ['tenant-globex', { 'tollgate.dev/tenant': 'globex' }],
    ['erp-prod', { 'tollgate.dev/tenant': 'acme' }],
    ['ingress', {}],
    ['monitoring', {}],
  ].map(([name, labels]) => [
    name as string,
    {
      apiVersion: 'v1',
      kind: 'Namespace',
      metadata: {
        name: name as string,
        labels: { 'kubernetes.io/metadata.name': name as string, ...(labels as object) },
      },
    },
  ]),
);

let hook: TestWebhook;
beforeAll(async () => {
  hook = await startTestWebhook(bundle, {
    now: new Date('2026-11-20T12:00:00Z'),
    namespaceLookup: (name) => namespaceObjects.get(name),
  });
});
afterAll(() => hook?.close());

interface Request {
  readonly resource?: string;
  readonly subResource?: string;
  readonly operation?: 'CREATE' | 'UPDATE';
  readonly oldObject?: KubeObject;
  readonly namespace?: string;
}

/** Posts the object as an AdmissionReview and returns whether it was allowed and the message. */
async function admit(
  object: KubeObject,
  request: Request = {},
): Promise<{ allowed: boolean; message: string }> {
  const kind = String(object.kind ?? '').toLowerCase();
  const review = admissionReview(object, {
    resource: request.resource ?? (kind.endsWith('y') ? `${kind.slice(0, -1)}ies` : `${kind}s`),
    ...(request.subResource ? { subResource: request.subResource } : {}),
    ...(request.operation ? { operation: request.operation } : {}),
    ...(request.oldObject ? { oldObject: request.oldObject } : {}),
    ...(request.namespace ? { namespace: request.namespace } : {}),
  });
  const { status, body } = await hook.post(review);
  expect(status).toBe(200);
  return { allowed: body.response.allowed as boolean, message: String(body.response.status?.message ?? '') };
}

/** Expects a denial by `policy` naming `path`. */
async function expectDenied(
  object: KubeObject,
  policy: string,
  path: string,
  request: Request = {},
): Promise<void> {
  const { allowed, message } = await admit(object, request);
  expect(allowed, message).toBe(false);
  expect(message).toContain(`[${policy}]`);
  expect(message).toContain(path);
}

const image = 'registry.corp.example/erp/odoo:17.0';
const resources = { requests: { cpu: '500m', memory: '1Gi' }, limits: { cpu: '1', memory: '2Gi' } };

function service(spec: Record<string, unknown>, annotations: Record<string, string> = {}): KubeObject {
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name: 'ledger-db', namespace: 'tenant-acme', annotations },
    spec: { selector: { app: 'ledger-db' }, ports: [{ port: 5432 }], ...spec },
  };
}
const internal = { 'service.beta.kubernetes.io/azure-load-balancer-internal': 'true' };

function networkPolicy(cidr: string): KubeObject {
  return {
    apiVersion: 'networking.k8s.io/v1',
    kind: 'NetworkPolicy',
    metadata: { name: 'odoo', namespace: 'tenant-acme' },
    spec: { podSelector: {}, ingress: [{ from: [{ ipBlock: { cidr } }] }] },
  };
}

function deploymentWith(limits: Record<string, unknown>): KubeObject {
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: 'odoo', namespace: 'tenant-acme' },
    spec: {
      selector: { matchLabels: { app: 'odoo' } },
      template: {
        metadata: { labels: { app: 'odoo' } },
        spec: {
          containers: [{ name: 'odoo', image, resources: { requests: { cpu: '0', memory: '0' }, limits } }],
        },
      },
    },
  };
}

describe('class 4: values that mean "unlimited" or "everyone"', () => {
  it.each(['::ffff:0.0.0.0/96', '::ffff:0:0/97', '0.0.0.0/0000', '0000.0.0.0/0', '\u00850.0.0.0/0'])(
    'denies load-balancer source range %j on an internal load balancer, in the field and the annotation',
    async (range) => {
      await expectDenied(
        service({ type: 'LoadBalancer', loadBalancerSourceRanges: ['10.0.0.0/8', range] }, internal),
        'no-public-databases',
        'spec.loadBalancerSourceRanges[1]',
      );
      await expectDenied(
        service(
          { type: 'LoadBalancer' },
          { ...internal, 'service.beta.kubernetes.io/load-balancer-source-ranges': `10.0.0.0/8,${range}` },
        ),
        'no-public-databases',
        'service.beta.kubernetes.io/load-balancer-source-ranges',
      );
    },
  );

  it('denies source ranges of the other IP family only, and allows a narrow range (control)', async () => {
    await expectDenied(
      service({ type: 'LoadBalancer', loadBalancerSourceRanges: ['fd00:acme::/48'] }, internal),
      'no-public-databases',
      'spec.loadBalancerSourceRanges',
    );
    const narrow = await admit(
      service(
        {
          type: 'LoadBalancer',
          allocateLoadBalancerNodePorts: false,
          loadBalancerSourceRanges: ['10.20.0.0/16'],
        },
        internal,
      ),
    );
    expect(narrow.allowed, narrow.message).toBe(true);
  });

  it('denies an internal load balancer whose node ports publish the database on every node', async () => {
    await expectDenied(service({ type: 'LoadBalancer' }, internal), 'no-public-databases', 'spec.type');
    await expectDenied(
      service(
        {
          type: 'LoadBalancer',
          allocateLoadBalancerNodePorts: false,
          ports: [{ port: 5432, nodePort: 30432 }],
        },
        internal,
      ),
      'no-public-databases',
      'spec.ports[0].nodePort',
    );
  });

  it.each(['::ffff:0.0.0.0/96', '0.0.0.0/0000', '64:ff9b::/96'])(
    'denies NetworkPolicy ingress from ipBlock %s',
    async (cidr) => {
      await expectDenied(networkPolicy(cidr), 'namespace-isolation', 'spec.ingress[0].from[0].ipBlock.cidr');
    },
  );

  it.each([
    ['User', 'system:anonymous'],
    ['Group', 'system:anonymous'],
    ['User', 'system:authenticated'],
  ])('denies a RoleBinding to %s %s', async (kind, name) => {
    const binding: KubeObject = {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'RoleBinding',
      metadata: { name: 'odoo-editors', namespace: 'tenant-acme' },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'edit' },
      subjects: [{ apiGroup: 'rbac.authorization.k8s.io', kind, name }],
    };
    await expectDenied(binding, 'namespace-isolation', 'subjects[0].name');
  });

  it.each([
    [{ cpu: '1', memory: '0' }, 'limits.memory'],
    [{ cpu: '1', memory: '-0.0Gi' }, 'limits.memory'],
    [{ cpu: '0m', memory: '1Gi' }, 'limits.cpu'],
    [{ cpu: '10P', memory: '1Gi' }, 'limits.cpu'],
    [{ cpu: '8Ei', memory: '1Gi' }, 'limits.cpu'],
  ])('denies limits %j (the kubelet reads no limit)', async (limits, field) => {
    await expectDenied(
      deploymentWith(limits),
      'resource-limits',
      `spec.template.spec.containers[0].resources.${field}`,
    );
    // Control: positive limits within the maximum are allowed.
    const result = await admit(deploymentWith(resources.limits));
    expect(result.allowed, result.message).toBe(true);
  });
});

const podTemplate = (spec: Record<string, unknown>) => ({
  metadata: { labels: { app: 'odoo' } },
  spec: { containers: [{ name: 'odoo', image, resources }], ...spec },
});

function tenantObject(
  apiVersion: string,
  kind: string,
  body: Record<string, unknown>,
  name = 'odoo',
): KubeObject {
  return { apiVersion, kind, metadata: { name, namespace: 'tenant-acme' }, ...body };
}

describe('class 5: references and pod templates the policies follow', () => {
  it.each([
    [
      'an Argo Rollout with a privileged container',
      tenantObject('argoproj.io/v1alpha1', 'Rollout', {
        spec: {
          selector: { matchLabels: { app: 'odoo' } },
          template: {
            ...podTemplate({}),
            spec: { containers: [{ name: 'odoo', image, resources, securityContext: { privileged: true } }] },
          },
        },
      }),
      'rollouts',
      'namespace-isolation',
      'spec.template.spec.containers[0].securityContext.privileged',
    ],
    [
      'a KEDA ScaledJob on the host PID namespace',
      tenantObject('keda.sh/v1alpha1', 'ScaledJob', {
        spec: { jobTargetRef: { template: podTemplate({ hostPID: true, restartPolicy: 'Never' }) } },
      }),
      'scaledjobs',
      'namespace-isolation',
      'spec.jobTargetRef.template.spec.hostPID',
    ],
    [
      'an Argo Workflow whose podSpecPatch rewrites the pod',
      tenantObject('argoproj.io/v1alpha1', 'Workflow', {
        spec: {
          entrypoint: 'main',
          templates: [
            {
              name: 'main',
              container: { image, resources },
              podSpecPatch: '{"containers":[{"name":"main","image":"docker.io/attacker/miner"}]}',
            },
          ],
        },
      }),
      'workflows',
      'approved-registries',
      'spec.templates[0].podSpecPatch',
    ],
    [
      'an Argo CronWorkflow sidecar from an unapproved registry',
      tenantObject('argoproj.io/v1alpha1', 'CronWorkflow', {
        spec: {
          schedule: '0 2 * * *',
          workflowSpec: {
            entrypoint: 'main',
            templates: [
              {
                name: 'main',
                container: { image, resources },
                sidecars: [{ name: 'x', image: 'quay.io/x/y:1', resources }],
              },
            ],
          },
        },
      }),
      'cronworkflows',
      'approved-registries',
      'spec.workflowSpec.templates[0].sidecars[0].image',
    ],
    [
      'a CloudNativePG Cluster running an unapproved PostgreSQL image',
      tenantObject('postgresql.cnpg.io/v1', 'Cluster', {
        spec: { instances: 3, imageName: 'docker.io/library/postgres:17' },
      }),
      'clusters',
      'approved-registries',
      'spec.imageName',
    ],
    [
      'a CloudNativePG Pooler on the host network',
      tenantObject('postgresql.cnpg.io/v1', 'Pooler', {
        spec: { cluster: { name: 'ledger' }, template: { spec: { hostNetwork: true, containers: [] } } },
      }),
      'poolers',
      'no-public-databases',
      'spec.template.spec.hostNetwork',
    ],
    [
      'an IngressRoute publishing the Traefik API (api@internal)',
      tenantObject('traefik.io/v1alpha1', 'IngressRoute', {
        spec: {
          routes: [
            {
              match: 'Host(`acme.erp.example`)',
              kind: 'Rule',
              services: [{ kind: 'TraefikService', name: 'api@internal' }],
            },
          ],
        },
      }),
      'ingressroutes',
      'namespace-isolation',
      'spec.routes[0].services[0].name',
    ],
    [
      "an Ingress borrowing another tenant's middleware by annotation",
      tenantObject('networking.k8s.io/v1', 'Ingress', {
        metadata: {
          name: 'odoo',
          namespace: 'tenant-acme',
          annotations: {
            'traefik.ingress.kubernetes.io/router.middlewares': 'tenant-globex-sso@kubernetescrd',
          },
        },
        spec: { rules: [{ host: 'acme.erp.example' }] },
      }),
      'ingresses',
      'namespace-isolation',
      'traefik.ingress.kubernetes.io/router.middlewares',
    ],
    [
      'a TraefikService weighting traffic onto Elasticsearch',
      tenantObject('traefik.io/v1alpha1', 'TraefikService', {
        spec: { weighted: { services: [{ name: 'search', port: 9200, weight: 1 }] } },
      }),
      'traefikservices',
      'no-public-databases',
      'spec.weighted.services[0].port',
    ],
    [
      "an Istio VirtualService for another tenant's host",
      tenantObject('networking.istio.io/v1', 'VirtualService', {
        spec: {
          hosts: ['odoo.tenant-globex.svc.cluster.local'],
          http: [{ route: [{ destination: { host: 'odoo' } }] }],
        },
      }),
      'virtualservices',
      'namespace-isolation',
      'spec.hosts[0]',
    ],
    [
      'an Istio Gateway server on the PostgreSQL port',
      tenantObject('networking.istio.io/v1', 'Gateway', {
        spec: {
          selector: { istio: 'ingressgateway' },
          servers: [{ port: { number: 5432, name: 'pg', protocol: 'TCP' }, hosts: ['*'] }],
        },
      }),
      'gateways',
      'no-public-databases',
      'spec.servers[0].port.number',
    ],
    [
      'a ClusterRole aggregating the RBAC defaults (cluster-admin)',
      {
        apiVersion: 'rbac.authorization.k8s.io/v1',
        kind: 'ClusterRole',
        metadata: { name: 'acme-operator' },
        aggregationRule: {
          clusterRoleSelectors: [{ matchLabels: { 'kubernetes.io/bootstrapping': 'rbac-defaults' } }],
        },
        rules: [],
      },
      'clusterroles',
      'namespace-isolation',
      'aggregationRule.clusterRoleSelectors[0]',
    ],
    [
      'a liveness probe the kubelet sends to the cloud metadata address',
      {
        apiVersion: 'v1',
        kind: 'Pod',
        metadata: { name: 'odoo', namespace: 'tenant-acme' },
        spec: {
          containers: [
            {
              name: 'odoo',
              image,
              resources,
              livenessProbe: { httpGet: { host: '169.254.169.254', port: 80, path: '/' } },
            },
          ],
        },
      },
      'pods',
      'namespace-isolation',
      'spec.containers[0].livenessProbe.httpGet.host',
    ],
    [
      'a Knative Service mounting the node filesystem',
      tenantObject('serving.knative.dev/v1', 'Service', {
        spec: {
          template: {
            spec: {
              containers: [{ image, resources }],
              volumes: [{ name: 'node', hostPath: { path: '/var/lib/kubelet' } }],
            },
          },
        },
      }),
      'services',
      'namespace-isolation',
      'spec.template.spec.volumes[0].hostPath',
    ],
    [
      'a Knative Revision running an image from another registry',
      tenantObject('serving.knative.dev/v1', 'Revision', {
        spec: { containers: [{ image: 'quay.io/attacker/miner:1', resources }] },
      }),
      'revisions',
      'approved-registries',
      'spec.containers[0].image',
    ],
    [
      'an OpenKruise CloneSet on the host network',
      tenantObject('apps.kruise.io/v1alpha1', 'CloneSet', {
        spec: {
          selector: { matchLabels: { app: 'odoo' } },
          template: {
            ...podTemplate({}),
            spec: { hostNetwork: true, containers: [{ name: 'odoo', image, resources }] },
          },
        },
      }),
      'clonesets',
      'namespace-isolation',
      'spec.template.spec.hostNetwork',
    ],
    [
      'an OpenKruise BroadcastJob (a pod on every node) without limits',
      tenantObject('apps.kruise.io/v1alpha1', 'BroadcastJob', {
        spec: { template: { spec: { restartPolicy: 'Never', containers: [{ name: 'odoo', image }] } } },
      }),
      'broadcastjobs',
      'resource-limits',
      'spec.template.spec.containers[0]',
    ],
    [
      'a Tekton PipelineRun whose task pods share the node PID namespace',
      tenantObject('tekton.dev/v1', 'PipelineRun', {
        spec: { pipelineRef: { name: 'close' }, taskRunTemplate: { podTemplate: { hostPID: true } } },
      }),
      'pipelineruns',
      'namespace-isolation',
      'spec.taskRunTemplate.podTemplate.hostPID',
    ],
    [
      'a PersistentVolume of type hostPath (a tenant claim mounts the node)',
      {
        apiVersion: 'v1',
        kind: 'PersistentVolume',
        metadata: { name: 'scratch' },
        spec: {
          capacity: { storage: '1Gi' },
          accessModes: ['ReadWriteOnce'],
          claimRef: { namespace: 'tenant-acme', name: 'scratch' },
          hostPath: { path: '//var/lib/kubelet/' },
        },
      },
      'persistentvolumes',
      'namespace-isolation',
      'spec.hostPath',
    ],
    [
      'a PersistentVolume of type local',
      {
        apiVersion: 'v1',
        kind: 'PersistentVolume',
        metadata: { name: 'scratch' },
        spec: { capacity: { storage: '1Gi' }, accessModes: ['ReadWriteOnce'], local: { path: '/etc' } },
      },
      'persistentvolumes',
      'namespace-isolation',
      'spec.local',
    ],
    [
      'an inline CSI volume of the host-path driver',
      {
        apiVersion: 'v1',
        kind: 'Pod',
        metadata: { name: 'odoo', namespace: 'tenant-acme' },
        spec: {
          containers: [{ name: 'odoo', image, resources }],
          volumes: [{ name: 'scratch', csi: { driver: 'hostpath.csi.k8s.io' } }],
        },
      },
      'pods',
      'namespace-isolation',
      'spec.volumes[0].csi.driver',
    ],
  ])('denies %s', async (_name, object, resource, policy, path) => {
    await expectDenied(object as KubeObject, policy, path, { resource });
  });
});

describe('class 6: a freeze scoped by kind freezes its subresources', () => {
  const scale: KubeObject = {
    apiVersion: 'autoscaling/v1',
    kind: 'Scale',
    metadata: { name: 'odoo', namespace: 'erp-prod' },
    spec: { replicas: 12 },
  };
  const before: KubeObject = { ...scale, spec: { replicas: 3 } };

  it.each([
    ['apps', 'deployments'],
    ['apps', 'statefulsets'],
    ['argoproj.io', 'rollouts'],
  ])('denies kubectl scale through %s/%s/scale during the freeze', async (group, resource) => {
    const review = admissionReview(scale, {
      resource,
      subResource: 'scale',
      operation: 'UPDATE',
      oldObject: before,
    }) as { request: { resource: { group: string } } };
    review.request.resource.group = group;
    const { status, body } = await hook.post(review);
    expect(status).toBe(200);
    expect(body.response.allowed).toBe(false);
    expect(String(body.response.status?.message)).toContain('[freeze-windows]');
    // Control: scaling a kind the scope does not freeze is allowed.
    const other = admissionReview(scale, {
      resource: 'replicasets',
      subResource: 'scale',
      operation: 'UPDATE',
      oldObject: before,
    }) as { request: { resource: { group: string } } };
    other.request.resource.group = 'apps';
    expect((await hook.post(other)).body.response.allowed).toBe(true);
  });
});
