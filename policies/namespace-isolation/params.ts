/**
 * Bundle parameters of namespace-isolation: their defaults, JSON Schema and compilation.
 */
import type { Cidr } from '../engine/cidr.ts';
import { compileCidrs, parseCidr } from '../engine/cidr.ts';
import { ConfigError } from '../engine/errors/index.ts';
import {
  compileHostAllowances,
  hostAllowanceSchema,
  type HostAllowances,
} from '../engine/host-allowances.ts';
import { baselineCapabilities } from '../engine/pod-security-standards.ts';
import type { TenancySettings } from '../engine/tenancy.ts';
import { compileTenancy, labelKeyRe, tenancySchemaProperties } from '../engine/tenancy.ts';

export { builtinSystemNamespaces, NAME_LABEL } from '../engine/tenancy.ts';

/** Parameters of namespace-isolation. */
export interface NamespaceIsolationParams extends TenancySettings {
  /** Linux capabilities containers may add, compared exactly as Pod Security Admission compares them. */
  readonly allowedCapabilities: readonly string[];
  /** Host access allowed beyond the baseline: hostPort ranges, hostPath prefixes, exempt images. */
  readonly allow: HostAllowances;
  /** Namespace label keys besides `kubernetes.io/metadata.name` and the tenant label that tenants cannot set. */
  readonly trustedNamespaceLabels: readonly string[];
  /** Control-plane identities whose requests are judged on host access only (they write Endpoints, RBAC, `default`). */
  readonly controlPlaneUsers: readonly string[];
  /** The cluster's pod and service networks (CIDRs): an ingress ipBlock over them admits every tenant's pods. */
  readonly clusterCidrs: readonly string[];
  /** Exact Traefik services of other providers tenants may route to (e.g. `maintenance-page@file`); none by default. */
  readonly traefikProviderReferences: readonly string[];
  /** Networks a Service's `externalIPs` may come from (addresses the platform assigns); none by default. */
  readonly allowedExternalIPs: readonly Cidr[];
  /** CSI drivers that mount node directories (lower case): their volumes count as hostPath. */
  readonly hostPathCsiDrivers: readonly string[];
  /** ClusterRoles a ClusterRoleBinding may grant to any subject (e.g. a read-only namespace lister); none by default. */
  readonly clusterRoleBindingRoles: readonly string[];
}

/** CSI drivers known to serve node directories. */
export const defaultHostPathCsiDrivers: readonly string[] = ['hostpath.csi.k8s.io'];

/** Identities of the API server and the controllers that write Endpoints, EndpointSlices, RBAC and per-namespace defaults. */
export const defaultControlPlaneUsers: readonly string[] = [
  'system:apiserver',
  'system:kube-controller-manager',
  'system:serviceaccount:kube-system:endpoint-controller',
  'system:serviceaccount:kube-system:endpointslice-controller',
  'system:serviceaccount:kube-system:endpointslicemirroring-controller',
  'system:serviceaccount:kube-system:clusterrole-aggregation-controller',
  'system:serviceaccount:kube-system:root-ca-cert-publisher',
  'system:serviceaccount:kube-system:service-account-controller',
];

function stringList(value: unknown): string[] {
  return Array.isArray(value) ? value.map(String) : [];
}

/** JSON Schema of the parameters. */
export const paramsSchema: Record<string, unknown> = {
  type: 'object',
  properties: {
    ...tenancySchemaProperties,
    allowedCapabilities: {
      type: 'array',
      items: { type: 'string', minLength: 1 },
      uniqueItems: true,
      description:
        'capabilities containers may add, compared exactly as Pod Security Admission does (default: the Pod Security baseline list)',
    },
    trustedNamespaceLabels: {
      type: 'array',
      items: { type: 'string', minLength: 1 },
      uniqueItems: true,
      description: 'further admin-only namespace label keys NetworkPolicy namespaceSelectors may use',
    },
    clusterCidrs: {
      type: 'array',
      items: { type: 'string', minLength: 1 },
      uniqueItems: true,
      description:
        'pod and service networks of the cluster, e.g. 10.244.0.0/16: a NetworkPolicy ingress ipBlock over them admits every tenant (default: none)',
    },
    traefikProviderReferences: {
      type: 'array',
      items: { type: 'string', pattern: '^[^@\\s]+@[a-z0-9-]+$' },
      uniqueItems: true,
      description:
        'exact Traefik services of other providers (not kubernetescrd) tenants may route to, e.g. maintenance-page@file (default: none)',
    },
    allowedExternalIPs: {
      type: 'array',
      items: { type: 'string', minLength: 1 },
      uniqueItems: true,
      description:
        'networks (CIDRs) Service externalIPs may lie in, e.g. 192.0.2.0/28 assigned by the platform; any other externalIP is denied (default: none)',
      examples: [['192.0.2.0/28', '2001:db8:0:1::/64']],
    },
    hostPathCsiDrivers: {
      type: 'array',
      items: { type: 'string', minLength: 1 },
      uniqueItems: true,
      description:
        'CSI drivers that mount directories of the node: their inline volumes and PersistentVolumes are denied like hostPath (default: hostpath.csi.k8s.io)',
    },
    clusterRoleBindingRoles: {
      type: 'array',
      items: { type: 'string', minLength: 1 },
      uniqueItems: true,
      description:
        'ClusterRoles a ClusterRoleBinding may grant to any subject, e.g. a read-only namespace lister (default: none; cluster-admin is refused)',
      examples: [['tenant-namespace-lister', 'system:basic-user']],
    },
    controlPlaneUsers: {
      type: 'array',
      items: { type: 'string', minLength: 1 },
      uniqueItems: true,
      description:
        'identities judged on host access only (default: the API server and its endpoint, RBAC and namespace controllers)',
    },
    ...hostAllowanceSchema,
  },
};

/** `clusterRoleBindingRoles`: never cluster-admin, which no tenant-facing binding may grant cluster-wide. */
function clusterRoleBindingRoles(raw: unknown): string[] {
  const roles = stringList(raw);
  const index = roles.indexOf('cluster-admin');
  if (index >= 0)
    throw new ConfigError(
      `clusterRoleBindingRoles/${index}`,
      'cluster-admin grants every verb on every resource; bind it only to service accounts of system or platform namespaces, which need no entry here',
    );
  return roles;
}

/** Validates and compiles raw bundle parameters, filling in the defaults. */
export function compileParams(raw: Record<string, unknown>): NamespaceIsolationParams {
  const tenancy = compileTenancy(raw);
  const clusterCidrs = stringList(raw.clusterCidrs);
  clusterCidrs.forEach((cidr, index) => {
    if (!parseCidr(cidr))
      throw new ConfigError(`clusterCidrs/${index}`, `"${cidr}" is not a CIDR such as 10.244.0.0/16`);
  });
  const trustedNamespaceLabels = stringList(raw.trustedNamespaceLabels);
  trustedNamespaceLabels.forEach((key, index) => {
    if (!labelKeyRe.test(key))
      throw new ConfigError(`trustedNamespaceLabels/${index}`, `"${key}" is not a valid label key`);
  });
  return {
    ...tenancy,
    allowedCapabilities: Array.isArray(raw.allowedCapabilities)
      ? stringList(raw.allowedCapabilities)
      : [...baselineCapabilities],
    allow: compileHostAllowances(raw),
    trustedNamespaceLabels,
    clusterCidrs,
    traefikProviderReferences: stringList(raw.traefikProviderReferences),
    allowedExternalIPs: compileCidrs(raw.allowedExternalIPs, 'allowedExternalIPs'),
    clusterRoleBindingRoles: clusterRoleBindingRoles(raw.clusterRoleBindingRoles),
    hostPathCsiDrivers: (Array.isArray(raw.hostPathCsiDrivers)
      ? stringList(raw.hostPathCsiDrivers)
      : [...defaultHostPathCsiDrivers]
    ).map((driver) => driver.toLowerCase()),
    controlPlaneUsers: Array.isArray(raw.controlPlaneUsers)
      ? stringList(raw.controlPlaneUsers)
      : [...defaultControlPlaneUsers],
  };
}
