import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { loadBundle } from '../engine/bundle.ts';
import { evaluate } from '../engine/evaluate.ts';
import { deployment, pod, runPolicy } from '../../test/support/policy.ts';
import type { AdmissionInput, EngineContext, KubeObject, Policy } from '../engine/types.ts';
import { readAsKubectl } from '../engine/kubectl-reader.ts';
import { kubectlYaml } from '../../ci-action/src/gate/kube-yaml.ts';
import { namespaceIsolationPolicy } from './index.ts';

const policy = namespaceIsolationPolicy as Policy<unknown>;
const params = { sharedNamespaces: ['ingress', 'monitoring'], systemNamespaces: ['platform-system'] };

function namespace(name: string, labels: Record<string, string> = {}): KubeObject {
  return {
    apiVersion: 'v1',
    kind: 'Namespace',
    metadata: { name, labels: { 'kubernetes.io/metadata.name': name, ...labels } },
  };
}

const known = new Map<string, KubeObject>(
  [
    namespace('tenant-a', { 'tollgate.dev/tenant': 'acme' }),
    namespace('tenant-a-batch', { 'tollgate.dev/tenant': 'acme' }),
    namespace('tenant-b', { 'tollgate.dev/tenant': 'globex' }),
    namespace('platform-tools', { team: 'platform' }),
    namespace('ingress'),
    namespace('default'),
  ].map((ns) => [String(ns.metadata?.name), ns]),
);
const context: Partial<EngineContext> = { namespaces: (name) => known.get(name) };

interface RunOptions {
  namespace?: string | undefined;
  input?: Partial<AdmissionInput>;
  context?: Partial<EngineContext>;
  params?: Record<string, unknown>;
}

/** Places the object in a namespace (default tenant-a) and evaluates it with the known namespaces. */
async function run(object: KubeObject, options: RunOptions = {}) {
  const ns = 'namespace' in options ? options.namespace : 'tenant-a';
  const placed: KubeObject = { ...object, metadata: { name: 'x', ...object.metadata } };
  if (ns === undefined) delete placed.metadata?.namespace;
  else placed.metadata = { ...placed.metadata, namespace: ns };
  return runPolicy(policy, options.params ?? params, placed, {
    context: options.context ?? context,
    ...(options.input ? { input: options.input } : {}),
  });
}

const app = { name: 'app', image: 'registry.corp.example/erp/odoo:17' };
const rbac = 'rbac.authorization.k8s.io/v1';
const traefik = 'traefik.io/v1alpha1';
const gateway = 'gateway.networking.k8s.io/v1';

function roleBinding(
  subjects: unknown[],
  roleRef: Record<string, unknown> = { kind: 'ClusterRole', name: 'edit' },
): KubeObject {
  return {
    apiVersion: rbac,
    kind: 'RoleBinding',
    metadata: { name: 'rb' },
    roleRef: { apiGroup: 'rbac.authorization.k8s.io', ...roleRef },
    subjects,
  };
}
const sa = (ns?: string) => ({ kind: 'ServiceAccount', name: 'odoo', ...(ns ? { namespace: ns } : {}) });

function ingressRoute(kind: string, spec: Record<string, unknown>, apiVersion = traefik): KubeObject {
  return { apiVersion, kind, metadata: { name: 'r' }, spec };
}
function route(kind: string, spec: Record<string, unknown>): KubeObject {
  return {
    apiVersion: kind === 'HTTPRoute' ? gateway : 'gateway.networking.k8s.io/v1alpha2',
    kind,
    metadata: { name: 'r' },
    spec,
  };
}
function netpol(spec: Record<string, unknown>): KubeObject {
  return {
    apiVersion: 'networking.k8s.io/v1',
    kind: 'NetworkPolicy',
    metadata: { name: 'np' },
    spec: { podSelector: {}, ...spec },
  };
}
const byName = (ns: string) => ({
  namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': ns } },
});
function service(spec: Record<string, unknown>): KubeObject {
  return { apiVersion: 'v1', kind: 'Service', metadata: { name: 's' }, spec };
}
function role(kind: 'Role' | 'ClusterRole', verbs: string[]): KubeObject {
  return {
    apiVersion: rbac,
    kind,
    metadata: { name: 'r' },
    rules: [{ apiGroups: [''], resources: ['pods'], verbs }],
  };
}

type Case = [name: string, object: KubeObject, options?: RunOptions];

const allowed: Case[] = [
  ['a plain Deployment in a tenant namespace', deployment([app])],
  [
    'baseline capabilities, spelt as Pod Security Admission spells them',
    deployment([
      {
        ...app,
        securityContext: { capabilities: { add: ['NET_BIND_SERVICE', 'CHOWN'], drop: ['ALL'] } },
      },
    ]),
  ],
  [
    'privileged: false, hostNetwork: false, hostPort 0',
    deployment(
      [{ ...app, ports: [{ containerPort: 80, hostPort: 0 }], securityContext: { privileged: false } }],
      { hostNetwork: false },
    ),
  ],
  ['hostNetwork in kube-system', deployment([app], { hostNetwork: true }), { namespace: 'kube-system' }],
  [
    'hostPath in a configured system namespace',
    deployment([app], { volumes: [{ name: 'h', hostPath: { path: '/var/log' } }] }),
    { namespace: 'platform-system' },
  ],
  ['a ConfigMap in a tenant namespace', { apiVersion: 'v1', kind: 'ConfigMap', data: { a: 'b' } }],
  [
    'RoleBinding subjects in the same namespace, the same tenant and a shared namespace',
    roleBinding([
      sa(),
      sa('tenant-a'),
      sa('tenant-a-batch'),
      sa('monitoring'),
      { kind: 'User', name: 'alice@corp.example' },
      { kind: 'Group', name: 'system:serviceaccounts:tenant-a' },
      { kind: 'User', name: 'system:serviceaccount:tenant-a:odoo' },
    ]),
  ],
  ['RoleBinding to ClusterRole admin', roleBinding([sa()], { kind: 'ClusterRole', name: 'admin' })],
  [
    'RoleBinding in a platform namespace (not a tenant) naming a tenant',
    roleBinding([sa('tenant-b')]),
    { namespace: 'platform-tools' },
  ],
  ['Role with ordinary verbs', role('Role', ['get', 'list', 'watch', 'create', 'update', 'patch', 'delete'])],
  ['Role with every verb on pods (nothing to escalate, bind or impersonate)', role('Role', ['*'])],
  [
    'IngressRoute to its own services with a shared middleware',
    ingressRoute('IngressRoute', {
      routes: [
        {
          match: 'Host(`a.example`)',
          services: [
            { name: 'odoo', port: 8069 },
            { name: 'odoo-lp', namespace: 'tenant-a', port: 8072 },
          ],
          middlewares: [
            { name: 'auth', namespace: 'ingress' },
            { name: 'tenant-a-headers@kubernetescrd' },
            { name: 'redirect@file' },
          ],
        },
      ],
      tls: { options: { name: 'modern', namespace: 'ingress' } },
    }),
  ],
  [
    'HTTPRoute attached to the shared Gateway',
    route('HTTPRoute', {
      parentRefs: [{ name: 'public', namespace: 'ingress' }],
      rules: [
        {
          backendRefs: [
            { name: 'odoo', port: 8069 },
            { name: 'odoo-batch', namespace: 'tenant-a-batch', port: 80 },
          ],
        },
      ],
    }),
  ],
  [
    'ReferenceGrant from the shared ingress namespace',
    {
      apiVersion: 'gateway.networking.k8s.io/v1beta1',
      kind: 'ReferenceGrant',
      spec: {
        from: [{ group: 'gateway.networking.k8s.io', kind: 'HTTPRoute', namespace: 'ingress' }],
        to: [{ group: '', kind: 'Service' }],
      },
    },
  ],
  [
    'PVC cloning a snapshot in its own namespace',
    {
      apiVersion: 'v1',
      kind: 'PersistentVolumeClaim',
      spec: { dataSourceRef: { kind: 'VolumeSnapshot', name: 'snap', namespace: 'tenant-a' } },
    },
  ],
  ['ClusterIP Service', service({ selector: { app: 'odoo' }, ports: [{ port: 80 }] })],
  [
    'ExternalName Service in a shared namespace',
    service({ type: 'ExternalName', externalName: 'db.example' }),
    { namespace: 'ingress' },
  ],
  [
    'NetworkPolicy admitting the same namespace, the same tenant and shared namespaces',
    netpol({
      ingress: [
        {
          from: [
            { podSelector: { matchLabels: { app: 'odoo' } } },
            byName('ingress'),
            { namespaceSelector: { matchLabels: { 'tollgate.dev/tenant': 'acme' } } },
            {
              namespaceSelector: {
                matchExpressions: [
                  {
                    key: 'kubernetes.io/metadata.name',
                    operator: 'In',
                    values: ['monitoring', 'tenant-a-batch'],
                  },
                ],
              },
              podSelector: { matchLabels: { app: 'prometheus' } },
            },
          ],
        },
      ],
    }),
  ],
  ['NetworkPolicy denying all ingress', netpol({ policyTypes: ['Ingress'] })],
  [
    'NetworkPolicy egress to cluster DNS in any namespace',
    netpol({
      egress: [
        {
          to: [
            { namespaceSelector: {}, podSelector: { matchLabels: { 'k8s-app': 'kube-dns' } } },
            byName('kube-system'),
          ],
        },
        {},
      ],
    }),
  ],
  [
    'EndpointSlice written by the endpointslice controller',
    { apiVersion: 'discovery.k8s.io/v1', kind: 'EndpointSlice', addressType: 'IPv4', endpoints: [] },
    { input: { userInfo: { username: 'system:serviceaccount:kube-system:endpointslice-controller' } } },
  ],
  [
    'the API server writing the kubernetes Service in default',
    service({ ports: [{ port: 443 }] }),
    { namespace: 'default', input: { userInfo: { username: 'system:apiserver' } } },
  ],
  [
    'ClusterRoleBinding of platform service accounts (system, shared, known non-tenant namespaces)',
    {
      apiVersion: rbac,
      kind: 'ClusterRoleBinding',
      roleRef: { kind: 'ClusterRole', name: 'traefik' },
      subjects: [sa('ingress'), sa('kube-system'), sa('platform-tools')],
    },
    { namespace: undefined },
  ],
  [
    'an unknown namespace listed as shared is not a tenant',
    service({ type: 'ExternalName', externalName: 'x' }),
    { namespace: 'monitoring' },
  ],
];

const denied: Array<[name: string, object: KubeObject, path: string, message: string, options?: RunOptions]> =
  [
    // host access (Pod Security baseline), in every container kind
    [
      'hostNetwork',
      deployment([app], { hostNetwork: true }),
      'spec.template.spec.hostNetwork',
      "shares the node's network",
    ],
    ['hostPID', deployment([app], { hostPID: true }), 'spec.template.spec.hostPID', "node's process"],
    ['hostIPC', pod({ containers: [app], hostIPC: true }), 'spec.hostIPC', "node's IPC"],
    [
      'hostPath volume',
      pod({ containers: [app], volumes: [{ name: 'root', hostPath: { path: '/' } }] }),
      'spec.volumes[0].hostPath',
      'hostPath "/"',
    ],
    [
      'hostPort',
      pod({ containers: [{ ...app, ports: [{ containerPort: 80, hostPort: 8080 }] }] }),
      'spec.containers[0].ports[0].hostPort',
      'binds hostPort 8080',
    ],
    [
      'privileged init container',
      pod({ initContainers: [{ ...app, securityContext: { privileged: true } }], containers: [app] }),
      'spec.initContainers[0].securityContext.privileged',
      'init container "app" is privileged',
    ],
    [
      'privileged sidecar',
      pod({
        initContainers: [{ ...app, restartPolicy: 'Always', securityContext: { privileged: true } }],
        containers: [app],
      }),
      'spec.initContainers[0].securityContext.privileged',
      'privileged',
    ],
    [
      'SYS_ADMIN',
      deployment([{ ...app, securityContext: { capabilities: { add: ['SYS_ADMIN'] } } }]),
      'spec.template.spec.containers[0].securityContext.capabilities.add[0]',
      'adds capability "SYS_ADMIN"',
    ],
    [
      'CAP_SYS_ADMIN spelled with prefix',
      deployment([{ ...app, securityContext: { capabilities: { add: ['CHOWN', 'cap_sys_admin'] } } }]),
      'spec.template.spec.containers[0].securityContext.capabilities.add[1]',
      'cap_sys_admin',
    ],
    [
      'ALL capabilities',
      deployment([{ ...app, securityContext: { capabilities: { add: ['ALL'] } } }]),
      'spec.template.spec.containers[0].securityContext.capabilities.add[0]',
      '"ALL"',
    ],
    [
      'NET_RAW (dropped from the baseline defaults)',
      deployment([{ ...app, securityContext: { capabilities: { add: ['NET_RAW'] } } }]),
      'spec.template.spec.containers[0].securityContext.capabilities.add[0]',
      'NET_RAW',
    ],
    [
      'pod-level Windows hostProcess',
      pod({ containers: [app], securityContext: { windowsOptions: { hostProcess: true } } }),
      'spec.securityContext.windowsOptions.hostProcess',
      'Windows host process',
    ],
    [
      'container Windows hostProcess',
      pod({ containers: [{ ...app, securityContext: { windowsOptions: { hostProcess: true } } }] }),
      'spec.containers[0].securityContext.windowsOptions.hostProcess',
      'Windows host process',
    ],
    [
      'CronJob hostNetwork',
      {
        apiVersion: 'batch/v1',
        kind: 'CronJob',
        spec: { jobTemplate: { spec: { template: { spec: { hostNetwork: true, containers: [app] } } } } },
      },
      'spec.jobTemplate.spec.template.spec.hostNetwork',
      'hostNetwork',
    ],
    [
      'host access in a shared namespace',
      deployment([app], { hostPID: true }),
      'spec.template.spec.hostPID',
      'hostPID',
      { namespace: 'ingress' },
    ],
    [
      'host access in a platform namespace',
      deployment([app], { hostIPC: true }),
      'spec.template.spec.hostIPC',
      'hostIPC',
      { namespace: 'platform-tools' },
    ],
    [
      'host access without a namespace (CI)',
      deployment([app], { hostNetwork: true }),
      'spec.template.spec.hostNetwork',
      'hostNetwork',
      { namespace: undefined },
    ],
    [
      'privileged container created by a controller',
      pod({ containers: [{ ...app, securityContext: { privileged: true } }] }),
      'spec.containers[0].securityContext.privileged',
      'privileged',
      { input: { userInfo: { username: 'system:kube-controller-manager' } } },
    ],
    // default namespace
    [
      'a Deployment in default',
      deployment([app]),
      'metadata.namespace',
      'in the "default" namespace',
      { namespace: 'default' },
    ],
    [
      'a ConfigMap in default',
      { apiVersion: 'v1', kind: 'ConfigMap' },
      'metadata.namespace',
      'ConfigMap "x" is in the "default" namespace',
      { namespace: 'default' },
    ],
    // RBAC
    [
      'RoleBinding subject in another tenant',
      roleBinding([sa('tenant-b')]),
      'subjects[0].namespace',
      'references namespace "tenant-b" from tenant "acme" (namespace "tenant-a")',
    ],
    [
      'RoleBinding subject in kube-system',
      roleBinding([sa(), sa('kube-system')]),
      'subjects[1].namespace',
      '"kube-system"',
    ],
    [
      "RoleBinding User naming another namespace's service account",
      roleBinding([{ kind: 'User', name: 'system:serviceaccount:tenant-b:odoo' }]),
      'subjects[0].name',
      'namespace "tenant-b"',
    ],
    [
      "RoleBinding Group of another namespace's service accounts",
      roleBinding([{ kind: 'Group', name: 'system:serviceaccounts:tenant-b' }]),
      'subjects[0].name',
      'namespace "tenant-b"',
    ],
    [
      'RoleBinding to every service account',
      roleBinding([{ kind: 'Group', name: 'system:serviceaccounts' }]),
      'subjects[0].name',
      'every service account in every namespace',
    ],
    [
      'RoleBinding to every authenticated user',
      roleBinding([{ kind: 'Group', name: 'system:authenticated' }]),
      'subjects[0].name',
      'every authenticated user',
    ],
    [
      'RoleBinding to cluster-admin',
      roleBinding([sa()], { kind: 'ClusterRole', name: 'cluster-admin' }),
      'roleRef.name',
      'grants cluster-admin',
    ],
    [
      'RoleBinding to cluster-admin in a shared namespace',
      roleBinding([sa()], { kind: 'ClusterRole', name: 'cluster-admin' }),
      'roleRef.name',
      'cluster-admin',
      { namespace: 'ingress' },
    ],
    [
      'ClusterRoleBinding',
      {
        apiVersion: rbac,
        kind: 'ClusterRoleBinding',
        metadata: { name: 'odoo-view' },
        roleRef: { kind: 'ClusterRole', name: 'view' },
        subjects: [sa('tenant-a')],
      },
      'roleRef',
      'ClusterRoleBinding "odoo-view" grants view across every namespace',
      { namespace: undefined },
    ],
    [
      'ClusterRoleBinding of a tenant service account',
      {
        apiVersion: rbac,
        kind: 'ClusterRoleBinding',
        roleRef: { kind: 'ClusterRole', name: 'view' },
        subjects: [sa('platform-tools'), sa('tenant-b')],
      },
      'roleRef',
      'to subjects other than platform service accounts',
      { namespace: undefined },
    ],
    [
      'ClusterRoleBinding of a service account in an unknown namespace',
      {
        apiVersion: rbac,
        kind: 'ClusterRoleBinding',
        roleRef: { kind: 'ClusterRole', name: 'view' },
        subjects: [sa('somewhere')],
      },
      'roleRef',
      'ClusterRoleBinding',
      { namespace: undefined },
    ],
    [
      'ClusterRoleBinding of a user',
      {
        apiVersion: rbac,
        kind: 'ClusterRoleBinding',
        roleRef: { kind: 'ClusterRole', name: 'view' },
        subjects: [{ kind: 'User', name: 'alice' }],
      },
      'roleRef',
      'ClusterRoleBinding',
      { namespace: undefined },
    ],
    [
      'ClusterRoleBinding without subjects',
      { apiVersion: rbac, kind: 'ClusterRoleBinding', roleRef: { kind: 'ClusterRole', name: 'view' } },
      'roleRef',
      'ClusterRoleBinding',
      { namespace: undefined },
    ],
    ['Role with escalate', role('Role', ['get', 'escalate']), 'rules[0].verbs[1]', 'grants "escalate"'],
    ['Role with bind', role('Role', ['bind']), 'rules[0].verbs[0]', 'grants "bind"'],
    ['Role with impersonate', role('Role', ['impersonate']), 'rules[0].verbs[0]', 'act as other users'],
    [
      'Role with every verb on service accounts',
      { ...role('Role', ['*']), rules: [{ apiGroups: [''], resources: ['serviceaccounts'], verbs: ['*'] }] },
      'rules[0].verbs[0]',
      'every verb ("*") on resources serviceaccounts of API groups core, which includes impersonate on serviceaccounts',
    ],
    [
      'Role with a constrained-impersonation verb',
      role('Role', ['impersonate:user-info']),
      'rules[0].verbs[0]',
      'grants "impersonate:user-info", which lets its holder act as other users',
    ],
    [
      'ClusterRole with impersonate',
      role('ClusterRole', ['impersonate']),
      'rules[0].verbs[0]',
      'ClusterRole grants "impersonate"',
      { namespace: undefined },
    ],
    // Traefik
    [
      'IngressRoute service in another tenant',
      ingressRoute('IngressRoute', {
        routes: [{ match: 'Host(`a`)', services: [{ name: 'odoo', namespace: 'tenant-b', port: 80 }] }],
      }),
      'spec.routes[0].services[0].namespace',
      'IngressRoute service "odoo" references namespace "tenant-b"',
    ],
    [
      'IngressRoute middleware in another tenant',
      ingressRoute('IngressRoute', {
        routes: [
          {
            match: 'Host(`a`)',
            services: [{ name: 'odoo', port: 80 }],
            middlewares: [{ name: 'auth', namespace: 'tenant-b' }],
          },
        ],
      }),
      'spec.routes[0].middlewares[0].namespace',
      'middleware references namespace "tenant-b"',
    ],
    [
      'IngressRoute provider-qualified middleware',
      ingressRoute('IngressRoute', {
        routes: [
          {
            match: 'Host(`a`)',
            services: [{ name: 'odoo', port: 80 }],
            middlewares: [{ name: 'tenant-b-auth@kubernetescrd' }],
          },
        ],
      }),
      'spec.routes[0].middlewares[0].name',
      'provider-qualified',
    ],
    [
      'IngressRoute TLS options in another tenant',
      ingressRoute('IngressRoute', { routes: [], tls: { options: { name: 'weak', namespace: 'tenant-b' } } }),
      'spec.tls.options.namespace',
      'TLS options references namespace "tenant-b"',
    ],
    [
      'IngressRouteTCP service in kube-system (legacy API group)',
      ingressRoute(
        'IngressRouteTCP',
        {
          routes: [
            { match: 'HostSNI(`*`)', services: [{ name: 'etcd', namespace: 'kube-system', port: 2379 }] },
          ],
        },
        'traefik.containo.us/v1alpha1',
      ),
      'spec.routes[0].services[0].namespace',
      'IngressRouteTCP service "etcd"',
    ],
    [
      'IngressRouteUDP service in another tenant',
      ingressRoute('IngressRouteUDP', {
        routes: [{ services: [{ name: 'dns', namespace: 'tenant-b', port: 53 }] }],
      }),
      'spec.routes[0].services[0].namespace',
      'IngressRouteUDP',
    ],
    [
      'IngressRouteTCP TLS options in another tenant',
      ingressRoute('IngressRouteTCP', {
        routes: [],
        tls: { options: { name: 'x', namespace: 'platform-tools' } },
      }),
      'spec.tls.options.namespace',
      '"platform-tools"',
    ],
    // Gateway API
    [
      'HTTPRoute parentRef in another tenant',
      route('HTTPRoute', { parentRefs: [{ name: 'gw', namespace: 'tenant-b' }] }),
      'spec.parentRefs[0].namespace',
      'HTTPRoute parentRef "gw" references namespace "tenant-b"',
    ],
    [
      'HTTPRoute backendRef in another tenant',
      route('HTTPRoute', { rules: [{ backendRefs: [{ name: 'erp', namespace: 'tenant-b', port: 80 }] }] }),
      'spec.rules[0].backendRefs[0].namespace',
      'backendRef "erp"',
    ],
    [
      'HTTPRoute request mirror into another tenant',
      route('HTTPRoute', {
        rules: [
          {
            filters: [
              {
                type: 'RequestMirror',
                requestMirror: { backendRef: { name: 'spy', namespace: 'tenant-b', port: 80 } },
              },
            ],
            backendRefs: [{ name: 'odoo', port: 80 }],
          },
        ],
      }),
      'spec.rules[0].filters[0].requestMirror.backendRef.namespace',
      'requestMirror',
    ],
    [
      'GRPCRoute backendRef in another tenant',
      route('GRPCRoute', { rules: [{ backendRefs: [{ name: 'g', namespace: 'tenant-b' }] }] }),
      'spec.rules[0].backendRefs[0].namespace',
      'GRPCRoute',
    ],
    [
      'TCPRoute backendRef in another tenant',
      route('TCPRoute', { rules: [{ backendRefs: [{ name: 'pg', namespace: 'tenant-b', port: 5432 }] }] }),
      'spec.rules[0].backendRefs[0].namespace',
      'TCPRoute',
    ],
    [
      'TLSRoute parentRef in another tenant',
      route('TLSRoute', { parentRefs: [{ name: 'gw', namespace: 'tenant-b' }] }),
      'spec.parentRefs[0].namespace',
      'TLSRoute',
    ],
    [
      'UDPRoute backendRef in another tenant',
      route('UDPRoute', { rules: [{ backendRefs: [{ name: 'u', namespace: 'tenant-b' }] }] }),
      'spec.rules[0].backendRefs[0].namespace',
      'UDPRoute',
    ],
    [
      'ReferenceGrant from another tenant',
      {
        apiVersion: 'gateway.networking.k8s.io/v1beta1',
        kind: 'ReferenceGrant',
        spec: {
          from: [{ group: 'gateway.networking.k8s.io', kind: 'HTTPRoute', namespace: 'tenant-b' }],
          to: [{ group: '', kind: 'Service' }],
        },
      },
      'spec.from[0].namespace',
      'ReferenceGrant from HTTPRoute references namespace "tenant-b"',
    ],
    [
      'Gateway certificate from another tenant',
      {
        apiVersion: gateway,
        kind: 'Gateway',
        spec: {
          listeners: [
            { name: 'https', tls: { certificateRefs: [{ name: 'wildcard', namespace: 'tenant-b' }] } },
          ],
        },
      },
      'spec.listeners[0].tls.certificateRefs[0].namespace',
      'certificateRef "wildcard"',
    ],
    // PVC
    [
      "PVC cloning another tenant's snapshot",
      {
        apiVersion: 'v1',
        kind: 'PersistentVolumeClaim',
        spec: { dataSourceRef: { kind: 'VolumeSnapshot', name: 'ledger', namespace: 'tenant-b' } },
      },
      'spec.dataSourceRef.namespace',
      'PersistentVolumeClaim dataSourceRef references namespace "tenant-b"',
    ],
    // Services and endpoints (CVE-2021-25740, CVE-2020-8554)
    [
      'ExternalName Service',
      service({ type: 'ExternalName', externalName: 'odoo.tenant-b.svc.cluster.local' }),
      'spec.type',
      'ExternalName Service points at "odoo.tenant-b.svc.cluster.local"',
    ],
    [
      'externalIPs',
      service({ selector: { app: 'x' }, externalIPs: ['10.0.0.10'] }),
      'spec.externalIPs[0]',
      'claims externalIP "10.0.0.10", which can intercept traffic to that address cluster-wide (CVE-2020-8554)',
    ],
    [
      'externalIPs in a shared namespace',
      service({ externalIPs: ['1.2.3.4'] }),
      'spec.externalIPs[0]',
      'externalIP "1.2.3.4"',
      { namespace: 'ingress' },
    ],
    [
      'hand-written Endpoints',
      { apiVersion: 'v1', kind: 'Endpoints', subsets: [{ addresses: [{ ip: '10.1.2.3' }] }] },
      'subsets',
      'hand-written Endpoints "x"',
      { input: { userInfo: { username: 'alice@corp.example' } } },
    ],
    [
      'hand-written EndpointSlice',
      {
        apiVersion: 'discovery.k8s.io/v1',
        kind: 'EndpointSlice',
        addressType: 'IPv4',
        endpoints: [{ addresses: ['10.1.2.3'] }],
        metadata: { labels: { 'endpointslice.kubernetes.io/managed-by': 'endpointslice-controller.k8s.io' } },
      },
      'endpoints',
      'hand-written EndpointSlice',
    ],
    // NetworkPolicy
    [
      'ingress from all namespaces',
      netpol({ ingress: [{ from: [{ namespaceSelector: {} }] }] }),
      'spec.ingress[0].from[0].namespaceSelector',
      'every pod in every namespace',
    ],
    [
      'ingress from all namespaces with an empty podSelector',
      netpol({ ingress: [{ from: [{ namespaceSelector: {}, podSelector: {} }] }] }),
      'spec.ingress[0].from[0].namespaceSelector',
      'every pod in every namespace',
    ],
    [
      'ingress from labelled pods of any namespace',
      netpol({
        ingress: [{ from: [{ namespaceSelector: {}, podSelector: { matchLabels: { app: 'prometheus' } } }] }],
      }),
      'spec.ingress[0].from[0].namespaceSelector',
      'any tenant can label its pods',
    ],
    ['ingress from: []', netpol({ ingress: [{ from: [] }] }), 'spec.ingress[0].from', '"from: []"'],
    ['ingress: [{}]', netpol({ ingress: [{}] }), 'spec.ingress[0]', 'no "from"'],
    [
      'ingress rule with ports but no from',
      netpol({ ingress: [{ ports: [{ port: 8069 }] }] }),
      'spec.ingress[0]',
      'every pod of every namespace',
    ],
    [
      'ingress from 0.0.0.0/0',
      netpol({ ingress: [{ from: [{ ipBlock: { cidr: '0.0.0.0/0' } }] }] }),
      'spec.ingress[0].from[0].ipBlock.cidr',
      'every address',
    ],
    [
      'capsule#200: namespaceSelector on a tenant-settable label',
      netpol({ ingress: [{ from: [{ namespaceSelector: { matchLabels: { team: 'finance' } } }] }] }),
      'spec.ingress[0].from[0].namespaceSelector.matchLabels.team',
      'tenants can set on their own namespaces',
    ],
    [
      'capsule#200: matchExpressions on a tenant-settable label',
      netpol({
        ingress: [
          {
            from: [
              { namespaceSelector: { matchExpressions: [{ key: 'env', operator: 'In', values: ['prod'] }] } },
            ],
          },
        ],
      }),
      'spec.ingress[0].from[0].namespaceSelector.matchExpressions[0].key',
      'label "env"',
    ],
    [
      'capsule#200 on egress too',
      netpol({ egress: [{ to: [{ namespaceSelector: { matchLabels: { team: 'db' } } }] }] }),
      'spec.egress[0].to[0].namespaceSelector.matchLabels.team',
      'capsule#200',
    ],
    [
      'ingress from every tenant (tenant label Exists)',
      netpol({
        ingress: [
          {
            from: [
              {
                namespaceSelector: { matchExpressions: [{ key: 'tollgate.dev/tenant', operator: 'Exists' }] },
              },
            ],
          },
        ],
      }),
      'spec.ingress[0].from[0].namespaceSelector',
      'admits namespaces outside tenant "acme"',
    ],
    [
      'ingress from another tenant by name',
      netpol({ ingress: [{ from: [byName('tenant-b')] }] }),
      'spec.ingress[0].from[0].namespaceSelector',
      'outside tenant "acme"',
    ],
    [
      'ingress from another tenant by tenant label',
      netpol({
        ingress: [{ from: [{ namespaceSelector: { matchLabels: { 'tollgate.dev/tenant': 'globex' } } }] }],
      }),
      'spec.ingress[0].from[0].namespaceSelector',
      'outside',
    ],
    [
      'ingress from every namespace but one',
      netpol({
        ingress: [
          {
            from: [
              {
                namespaceSelector: {
                  matchExpressions: [
                    { key: 'kubernetes.io/metadata.name', operator: 'NotIn', values: ['tenant-b'] },
                  ],
                },
              },
            ],
          },
        ],
      }),
      'spec.ingress[0].from[0].namespaceSelector',
      'outside',
    ],
  ];

describe('namespace-isolation', () => {
  it.each(allowed)('allows %s', async (_name, object, options) => {
    const result = await run(object, options);
    expect(result.findings).toEqual([]);
    expect(result.status).toBe('pass');
  });

  it.each(denied)('denies %s', async (_name, object, path, message, options) => {
    const result = await run(object, options);
    expect(result.status).toBe('fail');
    const finding = result.findings.find((f) => f.path === path && f.message.includes(message));
    expect(finding, JSON.stringify(result.findings, null, 1)).toBeDefined();
    expect(finding?.policy).toBe('namespace-isolation');
    expect(finding?.action).toBe('deny');
    expect(finding?.fix.length).toBeGreaterThan(10);
  });

  it('checks kubectl debug (pods/ephemeralcontainers) for privileged ephemeral containers (deckhouse#22398)', async () => {
    const before = pod({ containers: [app] });
    const after = pod({
      containers: [app],
      ephemeralContainers: [{ name: 'debugger', image: 'busybox', securityContext: { privileged: true } }],
    });
    const result = await runPolicy(policy, params, after, {
      context,
      input: { operation: 'UPDATE', subresource: 'ephemeralcontainers', oldObject: before },
    });
    expect(result.findings.map((f) => [f.path, f.message])).toEqual([
      [
        'spec.ephemeralContainers[0].securityContext.privileged',
        'ephemeral container "debugger" is privileged (full access to the node)',
      ],
    ]);
  });

  it('treats an unknown namespace as a tenant (fail-safe) unless it is shared or system', async () => {
    const ref = roleBinding([sa('tenant-b')]);
    expect((await run(ref, { namespace: 'tenant-new' })).findings.map((f) => f.message)).toEqual([
      expect.stringContaining('references namespace "tenant-b" from namespace "tenant-new"'),
    ]);
    // no namespace look-up at all (a webhook without cluster access, CI without Namespace manifests)
    const blind = await run(ref, { context: {} });
    expect(blind.status).toBe('fail');
    // without the tenant's label the same-tenant sibling cannot be recognised: fail safe
    const sibling = await run(roleBinding([sa('tenant-a-batch')]), { context: {} });
    expect(sibling.findings[0]?.message).toContain('"tenant-a-batch"');
    expect((await run(ref, { namespace: 'kube-system' })).findings).toEqual([]);
  });

  it('asks for metadata.namespace when a tenant object has none (CI)', async () => {
    const result = await run(roleBinding([sa('tenant-a')]), { namespace: undefined });
    expect(result.findings[0]?.message).toContain('from an object without metadata.namespace');
    expect(result.findings[0]?.fix).toContain('set metadata.namespace');
  });

  it('reads the tenant label configured in the bundle', async () => {
    const custom = { ...params, tenantLabel: 'corp.example/tenant' };
    const labelled = new Map([
      ['t1', namespace('t1', { 'corp.example/tenant': 'one' })],
      ['t2', namespace('t2', { 'corp.example/tenant': 'one' })],
      ['p', namespace('p', { 'tollgate.dev/tenant': 'x' })],
    ]);
    const options = { params: custom, context: { namespaces: (name: string) => labelled.get(name) } };
    expect((await run(roleBinding([sa('t2')]), { ...options, namespace: 't1' })).findings).toEqual([]);
    // "p" lacks the configured label: a platform namespace, so its objects are not judged as a tenant's
    expect((await run(roleBinding([sa('t1')]), { ...options, namespace: 'p' })).findings).toEqual([]);
    const np = netpol({
      ingress: [{ from: [{ namespaceSelector: { matchLabels: { 'tollgate.dev/tenant': 'one' } } }] }],
    });
    expect((await run(np, { ...options, namespace: 't1' })).findings[0]?.message).toContain(
      'label "tollgate.dev/tenant", which tenants can set',
    );
  });

  it('accepts configured capabilities and trusted namespace labels', async () => {
    const custom = {
      ...params,
      allowedCapabilities: ['NET_RAW'],
      trustedNamespaceLabels: ['corp.example/zone'],
    };
    const raw = deployment([{ ...app, securityContext: { capabilities: { add: ['NET_RAW'] } } }]);
    expect((await run(raw, { params: custom })).findings).toEqual([]);
    // Names compare exactly (as Pod Security Admission compares them): net_raw is not NET_RAW.
    const lower = deployment([{ ...app, securityContext: { capabilities: { add: ['net_raw'] } } }]);
    expect((await run(lower, { params: custom })).status).toBe('fail');
    expect(
      (
        await run(deployment([{ ...app, securityContext: { capabilities: { add: ['CHOWN'] } } }]), {
          params: custom,
        })
      ).status,
    ).toBe('fail');
    const np = netpol({
      egress: [{ to: [{ namespaceSelector: { matchLabels: { 'corp.example/zone': 'db' } } }] }],
    });
    expect((await run(np, { params: custom })).findings).toEqual([]);
  });

  it('allows the host access its host allowances list (the same parameters as pod-security)', async () => {
    const custom = {
      ...params,
      allowedHostPorts: [{ min: 9100, max: 9100 }],
      allowedHostPaths: [{ pathPrefix: '/var/log', readOnly: true }],
      exemptImages: ['registry.corp.example/platform/agent'],
    };
    const shipper = (hostPort: number, path: string) =>
      deployment(
        [
          {
            ...app,
            ports: [{ containerPort: 80, hostPort }],
            volumeMounts: [{ name: 'l', mountPath: '/l', readOnly: true }],
          },
        ],
        { volumes: [{ name: 'l', hostPath: { path } }] },
      );
    expect((await run(shipper(9100, '/var/log/pods'), { params: custom })).findings).toEqual([]);
    expect((await run(shipper(9101, '/var/logs'), { params: custom })).findings.map((f) => f.path)).toEqual([
      'spec.template.spec.volumes[0].hostPath',
      'spec.template.spec.containers[0].ports[0].hostPort',
    ]);
    const agent = (image: string) =>
      deployment([{ name: 'a', image, securityContext: { privileged: true } }]);
    expect((await run(agent('registry.corp.example/platform/agent:2'), { params: custom })).findings).toEqual(
      [],
    );
    expect((await run(agent('registry.corp.example/platform/agents:2'), { params: custom })).status).toBe(
      'fail',
    );
  });

  it('compares capability names exactly, as Pod Security Admission does', async () => {
    // A baseline capability in another spelling is rejected by a cluster enforcing PSA baseline,
    // so CI must reject it too (it was once normalised to CHOWN and allowed).
    for (const spelling of ['cap_chown', 'CAP_CHOWN', 'chown', ' CHOWN']) {
      const result = await runPolicy(
        policy,
        params,
        deployment([{ ...app, securityContext: { capabilities: { add: [spelling] } } }]),
        { context },
      );
      expect(result.findings.map((f) => [f.path, f.details?.check])).toEqual([
        ['spec.template.spec.containers[0].securityContext.capabilities.add[0]', 'capabilities_baseline'],
      ]);
    }
  });

  it('skips DELETE', async () => {
    const result = await runPolicy(policy, params, undefined, {
      context,
      input: { operation: 'DELETE', oldObject: deployment([app], { hostNetwork: true }) },
    });
    expect(result.status).toBe('skip');
  });

  it('judges the new object of an UPDATE', async () => {
    const before = deployment([app]);
    const after = deployment([app], { hostNetwork: true });
    const result = await runPolicy(policy, params, after, {
      context,
      input: { operation: 'UPDATE', oldObject: before },
    });
    expect(result.findings.map((f) => f.path)).toEqual(['spec.template.spec.hostNetwork']);
  });

  it.each([
    [{ tenantLabel: 'not a label' }, /not a valid label key/],
    [{ tenantLabel: 'kubernetes.io/metadata.name' }, /names every namespace/],
    [{ sharedNamespaces: ['kube-system'] }, /both a shared and a system namespace/],
    [{ sharedNamespaces: ['default'] }, /cannot be shared/],
    [{ sharedNamespaces: ['Ingress'] }, /not a valid namespace name/],
    [{ trustedNamespaceLabels: ['a b'] }, /not a valid label key/],
  ])('rejects bad parameters at bundle load: %j', async (bad, message) => {
    await expect(runPolicy(policy, bad, undefined)).rejects.toThrow(message);
  });
});

describe('namespace-isolation samples', () => {
  const samples = fileURLToPath(new URL('./samples/', import.meta.url));
  const bundle = loadBundle(readFileSync(`${samples}bundle.yaml`), {
    source: 'samples/bundle.yaml',
    policies: [policy],
  });
  const cases = (['allowed', 'denied'] as const).flatMap((verdict) =>
    readdirSync(`${samples}${verdict}`)
      .filter((file) => file.endsWith('.yaml'))
      .map((file) => [verdict, file] as const),
  );

  it('has allowed and denied samples', () => {
    expect(cases.filter(([v]) => v === 'allowed').length).toBeGreaterThan(0);
    expect(cases.filter(([v]) => v === 'denied').length).toBeGreaterThan(0);
  });

  it.each(cases)('%s/%s', async (verdict, file) => {
    // The objects kubectl would send for the sample file.
    const source = readAsKubectl(readFileSync(`${samples}${verdict}/${file}`), { exactYaml: kubectlYaml });
    expect(source.errors).toEqual([]);
    const objects = source.objects.map(({ object }) => object as KubeObject);
    // As in `tollgate check`: Namespace manifests of the same input answer namespace look-ups.
    const namespaces = new Map(
      objects.filter((o) => o.kind === 'Namespace').map((o) => [String(o.metadata?.name), o]),
    );
    const decisions = await Promise.all(
      objects.map(async (object) => {
        const report = await evaluate({ operation: 'CREATE', object }, bundle, {
          now: new Date('2026-11-20T12:00:00Z'),
          point: 'admission',
          namespaces: (name) => namespaces.get(name),
        });
        return report.decision;
      }),
    );
    if (verdict === 'allowed') expect(decisions.every((d) => d === 'allow')).toBe(true);
    else expect(decisions).toContain('deny');
  });
});

describe('namespace-isolation: ipBlock CIDRs read as Kubernetes reads them (bypass class 4)', () => {
  it.each([
    ['::ffff:0.0.0.0/96', '0.0.0.0/0'],
    ['::ffff:0:0/97', '0.0.0.0/1'],
    ['0.0.0.0/0000', '0.0.0.0/0'],
    ['0000.0.0.0/0', '0.0.0.0/0'],
    ['64:ff9b::/96', '64:ff9b::/96'],
  ])('denies ingress from ipBlock %s (%s)', async (cidr, normalised) => {
    const result = await run(netpol({ ingress: [{ from: [{ ipBlock: { cidr } }] }] }));
    expect(result.findings.map((f) => f.path)).toEqual(['spec.ingress[0].from[0].ipBlock.cidr']);
    expect(result.findings[0]?.message).toContain(normalised);
    const narrow = cidr.replace(/\/\d+$/, cidr.includes(':') ? '/120' : '/24');
    expect((await run(netpol({ ingress: [{ from: [{ ipBlock: { cidr: narrow } }] }] }))).findings).toEqual(
      [],
    );
  });
});

describe('namespace-isolation: principals meaning "anyone" however they are named (bypass class 4)', () => {
  it.each([
    ['User', 'system:anonymous', 'anonymous'],
    ['Group', 'system:anonymous', 'anonymous'],
    ['User', 'system:unauthenticated', 'anonymous'],
    ['User', 'system:authenticated', 'every authenticated user'],
    ['User', 'system:serviceaccounts', 'every service account'],
  ])('denies a RoleBinding subject %s "%s"', async (kind, name, whom) => {
    const result = await run(
      roleBinding([{ kind, apiGroup: 'rbac.authorization.k8s.io', name }, sa('tenant-a')]),
    );
    expect(result.findings.map((f) => f.path)).toEqual(['subjects[0].name']);
    expect(result.findings[0]?.message).toContain(whom);
    // A user or group with an ordinary name is fine.
    const named = roleBinding([{ kind, apiGroup: 'rbac.authorization.k8s.io', name: 'erp-admins' }]);
    expect((await run(named)).findings).toEqual([]);
  });
});

describe('namespace-isolation: every Traefik reference and spelling (bypass class 5)', () => {
  const ingress = (annotations: Record<string, string>): KubeObject => ({
    apiVersion: 'networking.k8s.io/v1',
    kind: 'Ingress',
    metadata: { name: 'odoo', annotations },
    spec: { rules: [{ host: 'acme.erp.example' }] },
  });
  const routeTo = (service: Record<string, unknown>, extra: Record<string, unknown> = {}) =>
    ingressRoute('IngressRoute', { routes: [{ match: 'Host(`a`)', services: [service] }], ...extra });
  it.each([
    [
      'a TraefikService of the internal provider (the Traefik API)',
      routeTo({ kind: 'TraefikService', name: 'api@internal' }),
      'spec.routes[0].services[0].name',
    ],
    [
      'a TraefikService of another tenant through the Ingress provider',
      routeTo({ kind: 'TraefikService', name: 'tenant-b-odoo-8069@kubernetes' }),
      'spec.routes[0].services[0].name',
    ],
    [
      "another tenant's ServersTransport (its client certificate)",
      routeTo({ name: 'odoo', port: 8069, serversTransport: 'tenant-b-mtls@kubernetescrd' }),
      'spec.routes[0].services[0].serversTransport',
    ],
    [
      "another tenant's TLSOption by qualified name",
      routeTo({ name: 'odoo', port: 8069 }, { tls: { options: { name: 'tenant-b-strict@kubernetescrd' } } }),
      'spec.tls.options.name',
    ],
    [
      'a parentRef in another namespace',
      routeTo({ name: 'odoo', port: 8069 }, { parentRefs: [{ name: 'gw', namespace: 'tenant-b' }] }),
      'spec.parentRefs[0].namespace',
    ],
    [
      "an IngressRouteTCP service with another tenant's ServersTransportTCP",
      ingressRoute('IngressRouteTCP', {
        routes: [
          {
            match: 'HostSNI(`*`)',
            services: [{ name: 'pg', port: 5432, serversTransport: 'tenant-b-tcp@kubernetescrd' }],
          },
        ],
      }),
      'spec.routes[0].services[0].serversTransport',
    ],
    [
      'a Middleware error page served by another tenant',
      ingressRoute('Middleware', {
        errors: {
          status: ['500-599'],
          query: '/{status}.html',
          service: { name: 'pages', namespace: 'tenant-b', port: 80 },
        },
      }),
      'spec.errors.service.namespace',
    ],
    [
      'a TraefikService weighting the Traefik API in',
      ingressRoute('TraefikService', {
        weighted: {
          services: [
            { name: 'odoo', port: 8069, weight: 1 },
            { kind: 'TraefikService', name: 'api@internal', weight: 1 },
          ],
        },
      }),
      'spec.weighted.services[1].name',
    ],
    [
      "a TraefikService mirroring to another tenant's service",
      ingressRoute('TraefikService', {
        mirroring: {
          name: 'odoo',
          port: 8069,
          mirrors: [{ kind: 'TraefikService', name: 'tenant-b-collector@kubernetescrd', percent: 100 }],
        },
      }),
      'spec.mirroring.mirrors[0].name',
    ],
    [
      "an Ingress router.middlewares annotation naming another tenant's middleware",
      ingress({
        'traefik.ingress.kubernetes.io/router.middlewares':
          'tenant-a-headers@kubernetescrd, tenant-b-auth@kubernetescrd',
      }),
      'metadata.annotations["traefik.ingress.kubernetes.io/router.middlewares"]',
    ],
    [
      "an Ingress router.tls.options annotation naming another tenant's TLSOption",
      ingress({ 'traefik.ingress.kubernetes.io/router.tls.options': 'tenant-b_strict@kubernetescrd' }),
      'metadata.annotations["traefik.ingress.kubernetes.io/router.tls.options"]',
    ],
    [
      "a Service serverstransport annotation naming another tenant's transport",
      {
        ...service({ ports: [{ port: 80 }] }),
        metadata: {
          name: 's',
          annotations: {
            'traefik.ingress.kubernetes.io/service.serverstransport': 'tenant-b-mtls@kubernetescrd',
          },
        },
      },
      'metadata.annotations["traefik.ingress.kubernetes.io/service.serverstransport"]',
    ],
  ])('denies %s', async (_name, object, path) => {
    const result = await run(object as KubeObject);
    expect(result.findings.map((f) => f.path)).toEqual([path]);
  });

  it("allows the tenant's own objects in both CRD spellings and platform configuration of other providers", async () => {
    const own = routeTo(
      { name: 'odoo', port: 8069, serversTransport: 'tenant-a_internal-ca@kubernetescrd' },
      { tls: { options: { name: 'ingress-modern@kubernetescrd' } } },
    );
    (own.spec as { routes: Array<Record<string, unknown>> }).routes[0]!.middlewares = [
      { name: 'redirect-https@file' },
      { name: 'tenant-a_headers@kubernetescrd' },
    ];
    expect((await run(own)).findings).toEqual([]);
    const annotated = ingress({
      'traefik.ingress.kubernetes.io/router.middlewares':
        'redirect-https@file,tenant-a-headers@kubernetescrd',
    });
    expect((await run(annotated)).findings).toEqual([]);
    // a cross-provider service the bundle allows by exact name
    const allowed = routeTo({ kind: 'TraefikService', name: 'maintenance@file' });
    expect(
      (await run(allowed, { params: { ...params, traefikProviderReferences: ['maintenance@file'] } }))
        .findings,
    ).toEqual([]);
    expect((await run(allowed)).findings.map((f) => f.path)).toEqual(['spec.routes[0].services[0].name']);
  });
});

describe('namespace-isolation: roles that inherit rules they do not list (bypass class 5)', () => {
  const clusterRole = (extra: Record<string, unknown>, labels: Record<string, string> = {}): KubeObject => ({
    apiVersion: rbac,
    kind: 'ClusterRole',
    metadata: { name: 'odoo-operator', labels },
    ...extra,
  });
  it.each([
    ['an empty selector (every ClusterRole)', [{}], 'every ClusterRole'],
    [
      'the bootstrap label cluster-admin carries',
      [{ matchLabels: { 'kubernetes.io/bootstrapping': 'rbac-defaults' } }],
      'other than an aggregate-to',
    ],
    [
      'an Exists expression',
      [{ matchExpressions: [{ key: 'kubernetes.io/bootstrapping', operator: 'Exists' }] }],
      'other than an aggregate-to',
    ],
    [
      'a NotIn on an aggregation label',
      [
        {
          matchExpressions: [
            { key: 'rbac.authorization.k8s.io/aggregate-to-view', operator: 'NotIn', values: ['true'] },
          ],
        },
      ],
      'other than an aggregate-to',
    ],
  ])('denies an aggregationRule with %s', async (_name, clusterRoleSelectors, message) => {
    const result = await run(clusterRole({ aggregationRule: { clusterRoleSelectors }, rules: [] }), {
      namespace: undefined,
    });
    expect(result.findings.map((f) => f.path)).toEqual(['aggregationRule.clusterRoleSelectors[0]']);
    expect(result.findings[0]?.message).toContain(message);
    // Selecting roles written for aggregation is fine.
    const pinned = clusterRole({
      aggregationRule: {
        clusterRoleSelectors: [{ matchLabels: { 'erp.example/aggregate-to-odoo-operator': 'true' } }],
      },
    });
    expect((await run(pinned, { namespace: undefined })).findings).toEqual([]);
  });

  it.each([
    ['view', { apiGroups: [''], resources: ['secrets'], verbs: ['get'] }, 'rules[0].resources[0]'],
    ['view', { apiGroups: [''], resources: ['configmaps'], verbs: ['get', 'update'] }, 'rules[0].verbs[1]'],
    ['edit', { apiGroups: ['*'], resources: ['pods'], verbs: ['get'] }, 'rules[0].apiGroups[0]'],
    [
      'admin',
      { apiGroups: ['postgresql.cnpg.io'], resources: ['*'], verbs: ['get'] },
      'rules[0].resources[0]',
    ],
  ])('denies a ClusterRole that injects a broad rule into %s', async (role, rule, path) => {
    const labels = { [`rbac.authorization.k8s.io/aggregate-to-${role}`]: 'true' };
    const result = await run(clusterRole({ rules: [rule] }, labels), { namespace: undefined });
    expect(result.findings.map((f) => f.path)).toEqual([path]);
    // The operator's own, narrow rules aggregated into the same role are fine.
    const narrow = {
      apiGroups: ['postgresql.cnpg.io'],
      resources: ['clusters'],
      verbs: ['get', 'list', 'watch'],
    };
    expect((await run(clusterRole({ rules: [narrow] }, labels), { namespace: undefined })).findings).toEqual(
      [],
    );
  });
});

describe('namespace-isolation: Istio hosts, routes and gateways (bypass class 5)', () => {
  const istio = (kind: string, spec: Record<string, unknown>): KubeObject => ({
    apiVersion: 'networking.istio.io/v1',
    kind,
    metadata: { name: 'odoo' },
    spec,
  });
  it.each([
    [
      "a VirtualService for another tenant's host",
      istio('VirtualService', {
        hosts: ['odoo.tenant-b.svc.cluster.local'],
        http: [{ route: [{ destination: { host: 'odoo' } }] }],
      }),
      'spec.hosts[0]',
    ],
    [
      'a VirtualService for every host',
      istio('VirtualService', { hosts: ['*'], http: [{ route: [{ destination: { host: 'odoo' } }] }] }),
      'spec.hosts[0]',
    ],
    [
      "a route to another tenant's service",
      istio('VirtualService', {
        hosts: ['acme.erp.example'],
        gateways: ['ingress/public'],
        http: [{ route: [{ destination: { host: 'odoo.tenant-b.svc.cluster.local' } }] }],
      }),
      'spec.http[0].route[0].destination.host',
    ],
    [
      'a mirror into another tenant',
      istio('VirtualService', {
        hosts: ['odoo'],
        http: [{ route: [{ destination: { host: 'odoo' } }], mirror: { host: 'sink.tenant-b.svc' } }],
      }),
      'spec.http[0].mirror.host',
    ],
    [
      'a gateway of another tenant',
      istio('VirtualService', {
        hosts: ['acme.erp.example'],
        gateways: ['tenant-b/public'],
        tcp: [{ route: [{ destination: { host: 'odoo' } }] }],
      }),
      'spec.gateways[0]',
    ],
    [
      "a DestinationRule for another tenant's host (it can turn off mTLS to it)",
      istio('DestinationRule', {
        host: 'odoo.tenant-b.svc.cluster.local',
        trafficPolicy: { tls: { mode: 'DISABLE' } },
      }),
      'spec.host',
    ],
    [
      "a ServiceEntry claiming another tenant's host",
      istio('ServiceEntry', {
        hosts: ['odoo.tenant-b.svc.cluster.local'],
        location: 'MESH_INTERNAL',
        endpoints: [{ address: '10.9.9.9' }],
      }),
      'spec.hosts[0]',
    ],
    [
      'a ServiceEntry capturing every address',
      istio('ServiceEntry', {
        hosts: ['sink.example'],
        addresses: ['::ffff:0:0/96'],
        ports: [{ number: 443, name: 'tls', protocol: 'TLS' }],
      }),
      'spec.addresses[0]',
    ],
    [
      'an export to another tenant',
      istio('ServiceEntry', { hosts: ['api.bank.example'], exportTo: ['.', 'tenant-b'] }),
      'spec.exportTo[1]',
    ],
  ])('denies %s', async (_name, object, path) => {
    expect((await run(object)).findings.map((f) => f.path)).toEqual([path]);
  });

  it("allows routing the tenant's own and external hosts through the shared gateway", async () => {
    const own = istio('VirtualService', {
      hosts: ['acme.erp.example', 'odoo.tenant-a.svc.cluster.local'],
      gateways: ['ingress/public', 'mesh'],
      http: [
        {
          route: [
            { destination: { host: 'odoo' } },
            { destination: { host: 'odoo.tenant-a-batch.svc.cluster.local' } },
          ],
        },
      ],
    });
    expect((await run(own)).findings).toEqual([]);
    expect(
      (await run(istio('ServiceEntry', { hosts: ['api.bank.example'], addresses: ['203.0.113.0/24'] })))
        .findings,
    ).toEqual([]);
    // but a ServiceEntry over 0.0.0.0/0 is not
    expect(
      (await run(istio('ServiceEntry', { hosts: ['x.example'], addresses: ['0.0.0.0/0'] }))).findings,
    ).toHaveLength(1);
  });
});

describe('namespace-isolation: hosts the kubelet dials for a pod (attacker pass)', () => {
  it.each([
    [['livenessProbe'], 'httpGet'],
    [['readinessProbe'], 'tcpSocket'],
    [['startupProbe'], 'httpGet'],
    [['lifecycle', 'postStart'], 'httpGet'],
    [['lifecycle', 'preStop'], 'tcpSocket'],
  ])('denies %j %s.host (node-network SSRF, e.g. to the cloud metadata address)', async (handler, action) => {
    const probe: Record<string, unknown> = { [action]: { host: '169.254.169.254', port: 80, path: '/' } };
    const container: Record<string, unknown> = { ...app };
    if (handler.length === 1) container[handler[0] as string] = probe;
    else container.lifecycle = { [handler[1] as string]: probe };
    const result = await run(pod({ containers: [container] }));
    expect(result.findings.map((f) => f.path)).toEqual([
      `spec.containers[0].${handler.join('.')}.${action}.host`,
    ]);
    // Without a host the kubelet probes the pod itself.
    const own: Record<string, unknown> = {
      ...app,
      livenessProbe: { httpGet: { port: 8069, path: '/web/health' } },
    };
    expect((await run(pod({ containers: [own] }))).findings).toEqual([]);
  });
});

describe('namespace-isolation: Traefik calls a tenant can aim at another tenant (attacker pass)', () => {
  const forwardAuth = (address: string) => ingressRoute('Middleware', { forwardAuth: { address } });
  it.each([
    'http://odoo.tenant-b.svc.cluster.local:8069/web/session',
    'http://odoo.tenant-b.svc:8069/',
    'https://user:pw@odoo.tenant-b:8069/auth',
  ])('denies a forwardAuth address at another tenant: %s', async (address) => {
    expect((await run(forwardAuth(address))).findings.map((f) => f.path)).toEqual([
      'spec.forwardAuth.address',
    ]);
    // its own Service, a shared one and an external identity provider are fine
    for (const fine of [
      'http://auth.tenant-a.svc:8080/',
      'http://oauth2-proxy.ingress:4180/',
      'https://sso.corp.example/verify',
    ])
      expect((await run(forwardAuth(fine))).findings).toEqual([]);
  });
});

describe('namespace-isolation: an ipBlock over the cluster network admits every tenant (bypass class 4)', () => {
  const clusterParams = { ...params, clusterCidrs: ['10.244.0.0/16', 'fd00:10:244::/56'] };
  const block = (ipBlock: Record<string, unknown>) => netpol({ ingress: [{ from: [{ ipBlock }] }] });
  it.each([
    [{ cidr: '10.0.0.0/8' }, '10.244.0.0/16'],
    [{ cidr: '10.244.7.0/24' }, '10.244.0.0/16'],
    [{ cidr: '::ffff:10.244.0.0/112' }, '10.244.0.0/16'],
    [{ cidr: '10.0.0.0/8', except: ['10.244.0.0/17'] }, '10.244.0.0/16'],
    [{ cidr: 'fd00::/8' }, 'fd00:10:244::/56'],
  ])('denies ingress from %j (covers %s)', async (ipBlock, network) => {
    const result = await run(block(ipBlock), { params: clusterParams });
    expect(result.findings.map((f) => f.path)).toEqual(['spec.ingress[0].from[0].ipBlock.cidr']);
    expect(result.findings[0]?.message).toContain(network);
    // excluding the whole cluster network with except, or a range outside it, is fine
    const excluded = await run(block({ cidr: '10.0.0.0/8', except: ['10.244.0.0/16'] }), {
      params: clusterParams,
    });
    expect(excluded.findings).toEqual([]);
    expect((await run(block({ cidr: '10.10.0.0/16' }), { params: clusterParams })).findings).toEqual([]);
  });

  it('rejects a cluster CIDR that is not one', async () => {
    await expect(runPolicy(policy, { clusterCidrs: ['10.244.0.0'] }, undefined)).rejects.toThrow(
      /not a CIDR/,
    );
  });
});

describe('namespace-isolation: verbs ["*"] only where escalate, bind or impersonate mean something', () => {
  const clusterRole = (rules: unknown[]): KubeObject => ({
    apiVersion: rbac,
    kind: 'ClusterRole',
    metadata: { name: 'monitoring' },
    rules,
  });
  it.each([
    ['a monitoring CRD', [{ apiGroups: ['monitoring.coreos.com'], resources: ['*'], verbs: ['*'] }]],
    ['pods and services', [{ apiGroups: [''], resources: ['pods', 'services'], verbs: ['*'] }]],
    [
      'roles named in the core group (no such resource)',
      [{ apiGroups: [''], resources: ['roles'], verbs: ['*'] }],
    ],
    [
      'role bindings',
      [{ apiGroups: ['rbac.authorization.k8s.io'], resources: ['rolebindings'], verbs: ['*'] }],
    ],
    ['non-resource URLs', [{ nonResourceURLs: ['/metrics'], verbs: ['*'] }]],
    ['uids in the core group', [{ apiGroups: [''], resources: ['uids'], verbs: ['*'] }]],
  ])('allows every verb on %s', async (_name, rules) => {
    const result = await run(clusterRole(rules), { namespace: undefined });
    expect(result.findings).toEqual([]);
  });

  it.each([
    [
      'roles and clusterroles',
      { apiGroups: ['rbac.authorization.k8s.io'], resources: ['clusterroles', 'pods'], verbs: ['get', '*'] },
      'rules[0].verbs[1]',
      'escalate on clusterroles.rbac.authorization.k8s.io; bind on clusterroles.rbac.authorization.k8s.io',
    ],
    [
      'every resource of every group',
      { apiGroups: ['*'], resources: ['*'], verbs: ['*'] },
      'rules[0].verbs[0]',
      'escalate on roles.rbac.authorization.k8s.io, clusterroles.rbac.authorization.k8s.io; bind on roles.rbac.authorization.k8s.io, clusterroles.rbac.authorization.k8s.io; impersonate on users, groups, serviceaccounts, users.authentication.k8s.io',
    ],
    [
      'every resource of the RBAC group',
      { apiGroups: ['rbac.authorization.k8s.io'], resources: ['*'], verbs: ['*'] },
      'rules[0].verbs[0]',
      'which includes escalate on roles.rbac.authorization.k8s.io, clusterroles.rbac.authorization.k8s.io; bind on',
    ],
    [
      'users and groups',
      { apiGroups: [''], resources: ['users', 'groups'], verbs: ['*'] },
      'rules[0].verbs[0]',
      'which includes impersonate on users, groups',
    ],
    [
      'uids and user extras',
      { apiGroups: ['authentication.k8s.io'], resources: ['uids', 'userextras/scopes'], verbs: ['*'] },
      'rules[0].verbs[0]',
      'impersonate on uids.authentication.k8s.io, userextras/scopes.authentication.k8s.io',
    ],
    [
      'any subresource of authentication.k8s.io (user extras)',
      { apiGroups: ['authentication.k8s.io'], resources: ['*/scopes'], verbs: ['*'] },
      'rules[0].verbs[0]',
      'impersonate on userextras/scopes.authentication.k8s.io',
    ],
    [
      'nodes of authentication.k8s.io (constrained impersonation)',
      { apiGroups: ['authentication.k8s.io'], resources: ['nodes'], verbs: ['*'] },
      'rules[0].verbs[0]',
      'impersonate on nodes.authentication.k8s.io',
    ],
    [
      'roles in a rule without apiGroups (read as every group)',
      { resources: ['roles'], verbs: ['*'] },
      'rules[0].verbs[0]',
      'escalate on roles.rbac.authorization.k8s.io; bind on roles.rbac.authorization.k8s.io',
    ],
  ])('denies every verb on %s, naming the verb and the resource', async (_name, rule, path, message) => {
    const result = await run(clusterRole([rule]), { namespace: undefined });
    expect(result.findings.map((f) => f.path)).toEqual([path]);
    expect(result.findings[0]?.message).toContain(message);
  });

  it('keeps reporting a role aggregated into view that grants every verb on ConfigMaps', async () => {
    const object: KubeObject = {
      ...clusterRole([{ apiGroups: [''], resources: ['configmaps'], verbs: ['*'] }]),
      metadata: { name: 'cm', labels: { 'rbac.authorization.k8s.io/aggregate-to-view': 'true' } },
    };
    const result = await run(object, { namespace: undefined });
    expect(result.findings.map((f) => f.path)).toEqual(['rules[0].verbs[0]']);
    expect(result.findings[0]?.message).toContain('view is read-only');
  });
});

describe('namespace-isolation: externalIPs from the allowed networks (allowedExternalIPs)', () => {
  const allowedParams = { ...params, allowedExternalIPs: ['192.0.2.0/28', '2001:db8:0:1::/64'] };
  it.each([
    ['an IPv4 address inside', ['192.0.2.5']],
    ['the last address of the network', ['192.0.2.15']],
    ['an IPv6 address inside', ['2001:db8:0:1::10']],
    ['an IPv4-mapped IPv6 address of an allowed IPv4 network', ['::ffff:192.0.2.1']],
  ])('allows %s', async (_name, externalIPs) => {
    const result = await run(service({ selector: { app: 'x' }, externalIPs }), { params: allowedParams });
    expect(result.findings).toEqual([]);
  });

  it.each([
    ['the next network', ['192.0.2.5', '192.0.2.16'], ['spec.externalIPs[1]']],
    ['another IPv6 network', ['2001:db8:0:2::1'], ['spec.externalIPs[0]']],
    ['a CIDR instead of an address', ['192.0.2.0/28'], ['spec.externalIPs[0]']],
    ['a number', [3221225985], ['spec.externalIPs[0]']],
  ])('denies %s', async (_name, externalIPs, paths) => {
    const result = await run(service({ selector: { app: 'x' }, externalIPs }), { params: allowedParams });
    expect(result.findings.map((f) => f.path)).toEqual(paths);
    expect(result.findings[0]?.message).toContain(
      'outside the allowed networks (192.0.2.0/28, 2001:db8:0:1::/64)',
    );
  });

  it('denies every externalIP without the parameter', async () => {
    const result = await run(service({ externalIPs: ['192.0.2.5'] }));
    expect(result.findings.map((f) => f.path)).toEqual(['spec.externalIPs[0]']);
  });

  it('rejects an allowed network that is not a CIDR, naming the entry', async () => {
    await expect(
      runPolicy(policy, { allowedExternalIPs: ['192.0.2.0/28', '192.0.2.1'] }, undefined),
    ).rejects.toThrow(/allowedExternalIPs\/1.*not a CIDR/);
  });
});

describe('namespace-isolation: ClusterRoleBindings granting the roles of clusterRoleBindingRoles', () => {
  const roleParams = { ...params, clusterRoleBindingRoles: ['tenant-namespace-lister'] };
  const binding = (roleRef: Record<string, unknown>): KubeObject => ({
    apiVersion: rbac,
    kind: 'ClusterRoleBinding',
    metadata: { name: 'b' },
    roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', ...roleRef },
    subjects: [{ kind: 'Group', apiGroup: 'rbac.authorization.k8s.io', name: 'acme-developers' }],
  });

  it('allows a listed ClusterRole for any subject', async () => {
    const result = await run(binding({ name: 'tenant-namespace-lister' }), {
      namespace: undefined,
      params: roleParams,
    });
    expect(result.findings).toEqual([]);
  });

  it.each([
    ['an unlisted ClusterRole', { name: 'view' }],
    ['a listed name in another API group', { name: 'tenant-namespace-lister', apiGroup: 'example.com' }],
    ['a Role of the listed name', { name: 'tenant-namespace-lister', kind: 'Role' }],
  ])('denies %s', async (_name, roleRef) => {
    const result = await run(binding(roleRef), { namespace: undefined, params: roleParams });
    expect(result.findings.map((f) => f.path)).toEqual(['roleRef']);
    expect(result.findings[0]?.fix).toContain('clusterRoleBindingRoles (tenant-namespace-lister)');
  });

  it('denies the listed ClusterRole without the parameter', async () => {
    const result = await run(binding({ name: 'tenant-namespace-lister' }), { namespace: undefined });
    expect(result.findings.map((f) => f.path)).toEqual(['roleRef']);
  });

  it('refuses cluster-admin in the list', async () => {
    await expect(
      runPolicy(policy, { clusterRoleBindingRoles: ['view', 'cluster-admin'] }, undefined),
    ).rejects.toThrow(/clusterRoleBindingRoles\/1.*cluster-admin/);
  });
});

describe('storage that serves the node filesystem (PersistentVolumes, CSI drivers)', () => {
  const pv = (spec: Record<string, unknown>): KubeObject => ({
    apiVersion: 'v1',
    kind: 'PersistentVolume',
    metadata: { name: 'scratch' },
    spec: { capacity: { storage: '1Gi' }, accessModes: ['ReadWriteOnce'], ...spec },
  });
  const pvParams = {
    ...params,
    allowedHostPaths: [{ pathPrefix: '/mnt/local-disks/' }, { pathPrefix: '/var/log', readOnly: true }],
  };

  it.each([
    ['hostPath /', { hostPath: { path: '/' } }, 'spec.hostPath'],
    ['a hostPath under a read-only prefix', { hostPath: { path: '/var/log/pods' } }, 'spec.hostPath'],
    [
      'hostPath of the kubelet',
      { hostPath: { path: '/var/lib/kubelet', type: 'Directory' } },
      'spec.hostPath',
    ],
    ['hostPath without a path', { hostPath: {} }, 'spec.hostPath'],
    ['local /etc', { local: { path: '/etc' }, nodeAffinity: {} }, 'spec.local'],
    [
      'a path climbing out of the allowed one',
      { local: { path: '/mnt/local-disks/../../etc' } },
      'spec.local',
    ],
    [
      'a path only starting like the allowed one',
      { hostPath: { path: '/mnt/local-disks-evil' } },
      'spec.hostPath',
    ],
    ['the allowed directory relative', { hostPath: { path: 'mnt/local-disks/a' } }, 'spec.hostPath'],
    [
      'a host-path CSI driver',
      { csi: { driver: 'hostpath.csi.k8s.io', volumeHandle: 'v' } },
      'spec.csi.driver',
    ],
  ])('denies a PersistentVolume with %s', async (_name, spec, path) => {
    const result = await run(pv(spec), { namespace: undefined, params: pvParams });
    expect(result.findings.map((f) => f.path)).toEqual([path]);
  });

  it.each([
    ['under the allowed directory', { local: { path: '/mnt/local-disks/ssd0' } }],
    ['the allowed directory itself, spelled with // and .', { hostPath: { path: '//mnt/./local-disks' } }],
    ['of another CSI driver', { csi: { driver: 'ebs.csi.aws.com', volumeHandle: 'vol-1' } }],
    ['of NFS', { nfs: { server: 'nfs.corp.example', path: '/exports/a' } }],
  ])('allows a PersistentVolume %s', async (_name, spec) => {
    const result = await run(pv(spec), { namespace: undefined, params: pvParams });
    expect(result.findings).toEqual([]);
  });

  it('denies every hostPath PersistentVolume by default', async () => {
    const result = await run(pv({ local: { path: '/mnt/local-disks/ssd0' } }), { namespace: undefined });
    expect(result.findings.map((f) => f.path)).toEqual(['spec.local']);
  });

  it('denies an inline CSI volume of a host-path driver in any pod spec, in any case', async () => {
    const volumes = [
      { name: 'ok', csi: { driver: 'secrets-store.csi.k8s.io' } },
      { name: 'node', csi: { driver: 'HostPath.CSI.K8s.io ' } },
    ];
    const result = await run(deployment([app], { volumes }));
    expect(result.findings.map((f) => f.path)).toEqual(['spec.template.spec.volumes[1].csi.driver']);
  });

  it('takes the list of host-path drivers as a parameter', async () => {
    const volumes = [{ name: 'node', csi: { driver: 'rawfile.csi.openebs.io' } }];
    const custom = { ...params, hostPathCsiDrivers: ['hostpath.csi.k8s.io', 'rawfile.csi.openebs.io'] };
    expect((await run(pod({ containers: [app], volumes }))).findings).toEqual([]);
    expect(
      (await run(pod({ containers: [app], volumes }), { params: custom })).findings.map((f) => f.path),
    ).toEqual(['spec.volumes[0].csi.driver']);
  });
});

describe('namespace-isolation: Istio AuthorizationPolicies that allow any caller (bypass class 5)', () => {
  const policy = (spec: Record<string, unknown>): KubeObject => ({
    apiVersion: 'security.istio.io/v1',
    kind: 'AuthorizationPolicy',
    metadata: { name: 'postgres' },
    spec,
  });
  const selector = { matchLabels: { app: 'postgres' } };
  it.each([
    ['a rule without from (rules: [{}])', { selector, rules: [{}] }, 'spec.rules[0]'],
    [
      'principals ["*"]',
      { selector, action: 'ALLOW', rules: [{ from: [{ source: { principals: ['*'] } }] }] },
      'spec.rules[0].from[0]',
    ],
    [
      'a trust-domain wildcard principal',
      { selector, rules: [{ from: [{ source: { principals: ['cluster.local/*'] } }] }] },
      'spec.rules[0].from[0]',
    ],
    [
      'only exclusions (notPrincipals)',
      {
        selector,
        rules: [{ from: [{ source: { notPrincipals: ['cluster.local/ns/tenant-b/sa/default'] } }] }],
      },
      'spec.rules[0].from[0]',
    ],
    [
      'namespaces ["*"] beside a narrow source',
      {
        selector,
        rules: [
          {
            from: [{ source: { namespaces: ['tenant-a'] } }, { source: { namespaces: ['*'] } }],
          },
        ],
      },
      'spec.rules[0].from[1]',
    ],
    [
      'an internet-wide ipBlock',
      { selector, rules: [{ from: [{ source: { remoteIpBlocks: ['0.0.0.0/0'] } }] }] },
      'spec.rules[0].from[0]',
    ],
    [
      'the database port only (to.operation.ports narrows nothing on a TCP service)',
      { selector, rules: [{ to: [{ operation: { ports: ['5432'] } }] }] },
      'spec.rules[0]',
    ],
    [
      'a when on an internet-wide source.ip',
      { rules: [{ when: [{ key: 'source.ip', values: ['0.0.0.0/0'] }] }] },
      'spec.rules[0]',
    ],
  ])('denies an ALLOW rule open to anyone: %s', async (_name, spec, path) => {
    expect((await run(policy(spec))).findings.map((f) => f.path)).toEqual([path]);
  });

  it.each([
    ['spec: {} (no rules: allows nothing)', {}],
    ['a DENY rule for everyone', { action: 'DENY', rules: [{}] }],
    [
      'callers of the own namespace',
      { selector, rules: [{ from: [{ source: { principals: ['cluster.local/ns/tenant-a/sa/odoo'] } }] }] },
    ],
    [
      'a wildcard principal fixed to the own namespace',
      { selector, rules: [{ from: [{ source: { principals: ['cluster.local/ns/tenant-a/*'] } }] }] },
    ],
    [
      'principals ["*"] and a narrow namespace (fields of one source are ANDed)',
      { selector, rules: [{ from: [{ source: { principals: ['*'], namespaces: ['tenant-a'] } }] }] },
    ],
    ['an HTTP path open to anyone', { selector, rules: [{ to: [{ operation: { paths: ['/healthz'] } }] }] }],
    [
      'a condition on a JWT claim',
      { selector, rules: [{ when: [{ key: 'request.auth.claims[groups]', values: ['finance'] }] }] },
    ],
  ])('allows %s', async (_name, spec) => {
    expect((await run(policy(spec))).findings).toEqual([]);
  });
});

describe('namespace-isolation: Traefik names that join namespace and name (bypass class 5)', () => {
  // Traefik names a CRD object "<namespace>-<name>": tenant-a's "x-auth" and tenant-a-x's "auth"
  // are both "tenant-a-x-auth", and Traefik uses whichever it read last.
  const withSibling = new Map(known);
  withSibling.set('tenant-a-x', namespace('tenant-a-x', { 'tollgate.dev/tenant': 'globex' }));
  const siblingContext: Partial<EngineContext> = { namespaces: (name) => withSibling.get(name) };
  const route = (service: Record<string, unknown>, middleware?: Record<string, unknown>) =>
    ingressRoute('IngressRoute', {
      routes: [
        {
          match: 'Host(`erp.example`)',
          services: [service],
          ...(middleware ? { middlewares: [middleware] } : {}),
        },
      ],
    });

  it.each([
    [
      'a plain middleware name',
      route({ name: 'odoo', port: 80 }, { name: 'x-auth' }),
      'spec.routes[0].middlewares[0].name',
    ],
    [
      'a name with a dot (normalized to "-")',
      route({ name: 'odoo', port: 80 }, { name: 'x.auth' }),
      'spec.routes[0].middlewares[0].name',
    ],
    ['a Service and port', route({ name: 'x-db', port: 5432 }), 'spec.routes[0].services[0].name'],
    ['a TraefikService', route({ name: 'x-web', kind: 'TraefikService' }), 'spec.routes[0].services[0].name'],
    [
      'a servers transport',
      route({ name: 'odoo', port: 80, serversTransport: 'x-mtls' }),
      'spec.routes[0].services[0].serversTransport',
    ],
  ])('denies a reference whose Traefik name another tenant can hold: %s', async (_name, object, path) => {
    const result = await run(object, { context: siblingContext });
    expect(result.findings.map((f) => f.path)).toEqual([path]);
    expect(result.findings[0]?.message).toContain('namespace "tenant-a-x"');
  });

  it("denies defining an object whose Traefik name is another tenant's", async () => {
    const middleware: KubeObject = {
      apiVersion: traefik,
      kind: 'Middleware',
      metadata: { name: 'auth' },
      spec: { basicAuth: { secret: 'users' } },
    };
    // in tenant-a-x, "auth" is "tenant-a-x-auth": tenant-a's "x-auth"
    const result = await run(middleware, { namespace: 'tenant-a-x', context: siblingContext });
    expect(result.findings.map((f) => [f.path, f.details?.namespace])).toEqual([
      ['metadata.name', 'tenant-a'],
    ]);
    // and in tenant-a, "x-auth" is tenant-a-x's "auth"
    const own = await run({ ...middleware, metadata: { name: 'x-auth' } }, { context: siblingContext });
    expect(own.findings.map((f) => f.path)).toEqual(['metadata.name']);
  });

  it('allows names that only the same tenant or no existing namespace can produce', async () => {
    // tenant-a-batch belongs to the same tenant as tenant-a
    expect(
      (await run(route({ name: 'odoo', port: 80 }, { name: 'batch-auth' }), { context: siblingContext }))
        .findings,
    ).toEqual([]);
    // without the sibling namespace, "x-auth" is only tenant-a's
    expect((await run(route({ name: 'odoo', port: 80 }, { name: 'x-auth' }))).findings).toEqual([]);
    expect(
      (await run({ apiVersion: traefik, kind: 'Middleware', metadata: { name: 'auth' }, spec: {} })).findings,
    ).toEqual([]);
  });
});
