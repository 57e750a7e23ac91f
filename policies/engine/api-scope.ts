/**
 * Which kinds are cluster-scoped, as the API server serves them: kubectl puts a manifest without
 * `metadata.namespace` into its context's namespace only when the kind is namespaced. CI has no
 * discovery, so it knows the built-in cluster-scoped kinds, those of widely deployed projects, and the
 * CustomResourceDefinitions in the same input; any other kind is taken as namespaced (the CI verdict
 * is then the stricter one).
 */
import type { KubeObject } from './types.ts';
import { getIn, groupOf } from './workloads.ts';

/** Cluster-scoped kinds by API group (`''` for core), Kubernetes' own and common add-ons'. */
const builtinClusterScoped: Readonly<Record<string, readonly string[]>> = {
  '': ['Namespace', 'Node', 'PersistentVolume', 'ComponentStatus'],
  'rbac.authorization.k8s.io': ['ClusterRole', 'ClusterRoleBinding'],
  'apiextensions.k8s.io': ['CustomResourceDefinition'],
  'apiregistration.k8s.io': ['APIService'],
  'admissionregistration.k8s.io': [
    'MutatingWebhookConfiguration',
    'ValidatingWebhookConfiguration',
    'ValidatingAdmissionPolicy',
    'ValidatingAdmissionPolicyBinding',
    'MutatingAdmissionPolicy',
    'MutatingAdmissionPolicyBinding',
  ],
  'storage.k8s.io': ['StorageClass', 'CSIDriver', 'CSINode', 'VolumeAttachment', 'VolumeAttributesClass'],
  'scheduling.k8s.io': ['PriorityClass'],
  'node.k8s.io': ['RuntimeClass'],
  'networking.k8s.io': ['IngressClass', 'IPAddress', 'ServiceCIDR'],
  'certificates.k8s.io': ['CertificateSigningRequest', 'ClusterTrustBundle'],
  'flowcontrol.apiserver.k8s.io': ['FlowSchema', 'PriorityLevelConfiguration'],
  'authentication.k8s.io': ['TokenReview', 'SelfSubjectReview'],
  'authorization.k8s.io': ['SubjectAccessReview', 'SelfSubjectAccessReview', 'SelfSubjectRulesReview'],
  'resource.k8s.io': ['DeviceClass', 'ResourceSlice'],
  'internal.apiserver.k8s.io': ['StorageVersion'],
  'storagemigration.k8s.io': ['StorageVersionMigration'],
  'gateway.networking.k8s.io': ['GatewayClass'],
  'cert-manager.io': ['ClusterIssuer'],
  'kyverno.io': ['ClusterPolicy', 'ClusterCleanupPolicy'],
  'wgpolicyk8s.io': ['ClusterPolicyReport'],
  'external-secrets.io': ['ClusterSecretStore', 'ClusterExternalSecret'],
  'templates.gatekeeper.sh': ['ConstraintTemplate'],
  'postgresql.cnpg.io': ['ClusterImageCatalog'],
  'tekton.dev': ['ClusterTask'],
  'apps.kruise.io': ['SidecarSet', 'NodeImage', 'NodePodProbe', 'ResourceDistribution'],
};

/** `group/Kind` of the cluster-scoped kinds the CustomResourceDefinitions among `objects` declare. */
export function clusterScopedKindsOf(objects: readonly KubeObject[]): Set<string> {
  const kinds = new Set<string>();
  for (const object of objects) {
    if (object.kind !== 'CustomResourceDefinition' || groupOf(object) !== 'apiextensions.k8s.io') continue;
    const group = getIn(object, ['spec', 'group']);
    const kind = getIn(object, ['spec', 'names', 'kind']);
    if (
      getIn(object, ['spec', 'scope']) === 'Cluster' &&
      typeof group === 'string' &&
      typeof kind === 'string'
    )
      kinds.add(`${group}/${kind}`);
  }
  return kinds;
}

/**
 * Whether an object's kind is cluster-scoped: built in, or declared so by a CustomResourceDefinition
 * in `declared` (from {@link clusterScopedKindsOf}). An object without apiVersion matches on kind.
 */
export function isClusterScoped(object: KubeObject, declared: ReadonlySet<string> = new Set()): boolean {
  if (typeof object.kind !== 'string') return false;
  const group = groupOf(object);
  if (group === undefined)
    return Object.values(builtinClusterScoped).some((kinds) => kinds.includes(String(object.kind)));
  return (builtinClusterScoped[group] ?? []).includes(object.kind) || declared.has(`${group}/${object.kind}`);
}
