/**
 * Who may write production besides the GitOps controllers, and only what each may touch. An exemption
 * names identities (usernames, groups from the request's userInfo, which the API server sets) AND what
 * they may change: kinds, operations, subresources (the HPA only through `scale`), and objects carrying
 * a controller ownerReference of given kinds (the ReplicaSet controller only on Pods its ReplicaSets own).
 * Never by a label or annotation the workload sets.
 */
import { ConfigError } from '../engine/errors/index.ts';
import { kindsOfChange } from '../engine/scope.ts';
import type { KubeObject, Operation, PolicyInput, UserInfo } from '../engine/types.ts';
import { isRecord } from '../engine/workloads.ts';

/** Identities by username and group. */
export interface Identities {
  readonly usernames: readonly string[];
  readonly groups: readonly string[];
}

/** An identity allowed to write in scope, limited to what it may touch. */
export interface Exemption extends Identities {
  readonly name: string;
  /** Kinds it may write (a subresource counts as its parent's kind too); undefined = any. */
  readonly kinds?: readonly string[];
  readonly operations: readonly Operation[];
  /** Subresources it may write through (`scale`); undefined = the object itself only. */
  readonly subresources?: readonly string[];
  /** Only objects with a controller ownerReference of one of these kinds (`*`: any ownerReference). */
  readonly ownedBy?: readonly string[];
  /** Only objects of these names. */
  readonly names?: readonly string[];
}

/** The GitOps controllers' default identities: Argo CD's application controller, Flux's appliers. */
export const defaultControllers: Identities = {
  usernames: [
    'system:serviceaccount:argocd:argocd-application-controller',
    'system:serviceaccount:flux-system:kustomize-controller',
    'system:serviceaccount:flux-system:helm-controller',
  ],
  groups: [],
};

const sa = (name: string) => [`system:serviceaccount:kube-system:${name}`, 'system:kube-controller-manager'];
const all: Operation[] = ['CREATE', 'UPDATE', 'DELETE'];

/**
 * Kubernetes' own controllers, each only where it works (kube-controller-manager with per-controller
 * service accounts, or as `system:kube-controller-manager` without them; the kubelets as `system:nodes`).
 */
export const builtinExemptions: readonly Exemption[] = [
  {
    name: 'horizontal-pod-autoscaler',
    usernames: sa('horizontal-pod-autoscaler'),
    groups: [],
    operations: ['UPDATE'],
    subresources: ['scale'],
  },
  {
    name: 'replicaset-controller',
    usernames: sa('replicaset-controller'),
    groups: [],
    kinds: ['Pod'],
    operations: all,
    ownedBy: ['ReplicaSet'],
  },
  {
    name: 'deployment-controller',
    usernames: sa('deployment-controller'),
    groups: [],
    kinds: ['ReplicaSet'],
    operations: all,
    ownedBy: ['Deployment'],
  },
  {
    name: 'statefulset-controller',
    usernames: sa('statefulset-controller'),
    groups: [],
    kinds: ['Pod', 'ControllerRevision', 'PersistentVolumeClaim'],
    operations: all,
    ownedBy: ['StatefulSet'],
  },
  {
    name: 'statefulset-volume-claims',
    usernames: sa('statefulset-controller'),
    groups: [],
    kinds: ['PersistentVolumeClaim'],
    operations: ['CREATE'],
  },
  {
    name: 'daemon-set-controller',
    usernames: sa('daemon-set-controller'),
    groups: [],
    kinds: ['Pod', 'ControllerRevision'],
    operations: all,
    ownedBy: ['DaemonSet'],
  },
  {
    name: 'job-controller',
    usernames: sa('job-controller'),
    groups: [],
    kinds: ['Pod'],
    operations: all,
    ownedBy: ['Job'],
  },
  {
    name: 'cronjob-controller',
    usernames: sa('cronjob-controller'),
    groups: [],
    kinds: ['Job'],
    operations: all,
    ownedBy: ['CronJob'],
  },
  {
    name: 'replication-controller',
    usernames: sa('replication-controller'),
    groups: [],
    kinds: ['Pod'],
    operations: all,
    ownedBy: ['ReplicationController'],
  },
  {
    name: 'ttl-after-finished-controller',
    usernames: sa('ttl-after-finished-controller'),
    groups: [],
    kinds: ['Job'],
    operations: ['DELETE'],
  },
  {
    name: 'endpoint-controllers',
    usernames: [
      ...sa('endpoint-controller'),
      ...sa('endpointslice-controller'),
      ...sa('endpointslicemirroring-controller'),
    ],
    groups: [],
    kinds: ['Endpoints', 'EndpointSlice'],
    operations: all,
  },
  {
    name: 'garbage-collector',
    usernames: sa('generic-garbage-collector'),
    groups: [],
    operations: ['DELETE'],
    ownedBy: ['*'],
  },
  { name: 'namespace-controller', usernames: sa('namespace-controller'), groups: [], operations: ['DELETE'] },
  {
    name: 'pvc-protection-controller',
    usernames: sa('pvc-protection-controller'),
    groups: [],
    kinds: ['PersistentVolumeClaim'],
    operations: ['UPDATE'],
  },
  {
    name: 'service-account-controller',
    usernames: sa('service-account-controller'),
    groups: [],
    kinds: ['ServiceAccount'],
    operations: ['CREATE'],
    names: ['default'],
  },
  {
    name: 'root-ca-cert-publisher',
    usernames: sa('root-ca-cert-publisher'),
    groups: [],
    kinds: ['ConfigMap'],
    operations: ['CREATE', 'UPDATE'],
    names: ['kube-root-ca.crt'],
  },
  { name: 'kubelet', usernames: [], groups: ['system:nodes'], kinds: ['Pod'], operations: ['DELETE'] },
];

const identitiesSchema = {
  usernames: { type: 'array', items: { type: 'string', minLength: 1 } },
  groups: { type: 'array', items: { type: 'string', minLength: 1 } },
};

/** JSON Schema of the controllers. */
export const controllersSchema = {
  type: 'object',
  additionalProperties: false,
  properties: identitiesSchema,
  description: "the GitOps controllers' identities (replaces the Argo CD and Flux defaults)",
};

/** JSON Schema of one exemption. */
export const exemptionSchema = {
  type: 'object',
  required: ['name'],
  additionalProperties: false,
  properties: {
    name: { type: 'string', minLength: 1 },
    ...identitiesSchema,
    kinds: { type: 'array', items: { type: 'string', minLength: 1 }, minItems: 1 },
    operations: {
      type: 'array',
      items: { enum: ['CREATE', 'UPDATE', 'DELETE'] },
      minItems: 1,
      uniqueItems: true,
    },
    subresources: { type: 'array', items: { type: 'string', minLength: 1 }, minItems: 1 },
    ownedBy: { type: 'array', items: { type: 'string', minLength: 1 }, minItems: 1 },
    names: { type: 'array', items: { type: 'string', minLength: 1 }, minItems: 1 },
  },
};

const strings = (value: unknown): string[] => (Array.isArray(value) ? value.map(String) : []);

/** Compiles the controllers (defaults when absent). */
export function compileControllers(raw: Record<string, unknown> | undefined): Identities {
  if (!raw) return defaultControllers;
  return { usernames: strings(raw.usernames), groups: strings(raw.groups) };
}

/** Compiles one exemption; an exemption must name identities and limit what they touch. */
export function compileExemption(raw: Record<string, unknown>, path: string): Exemption {
  const exemption: { -readonly [K in keyof Exemption]: Exemption[K] } = {
    name: String(raw.name),
    usernames: strings(raw.usernames),
    groups: strings(raw.groups),
    operations: raw.operations ? (strings(raw.operations) as Operation[]) : all,
  };
  if (exemption.usernames.length + exemption.groups.length === 0)
    throw new ConfigError(path, `exemption "${exemption.name}" names no usernames or groups`);
  for (const key of ['kinds', 'subresources', 'ownedBy', 'names'] as const)
    if (raw[key]) exemption[key] = strings(raw[key]);
  if (!exemption.kinds && !exemption.subresources && !exemption.ownedBy && !exemption.names)
    throw new ConfigError(
      path,
      `exemption "${exemption.name}" would let its identities write anything in scope: limit it by kinds, subresources, ownedBy or names (or list them as controllers)`,
    );
  return exemption;
}

/** Whether a user is one of the identities. */
export function isOneOf(identities: Identities, user: UserInfo): boolean {
  if (user.username && identities.usernames.includes(user.username)) return true;
  return (user.groups ?? []).some((group) => identities.groups.includes(group));
}

function ownerKinds(object: KubeObject | undefined): string[] {
  const refs = isRecord(object?.metadata) ? object.metadata.ownerReferences : undefined;
  if (!Array.isArray(refs)) return [];
  return refs
    .filter(isRecord)
    .map((ref) => (ref.controller === true ? String(ref.kind) : `~${String(ref.kind)}`));
}

function owned(object: KubeObject | undefined, kinds: readonly string[]): boolean {
  const owners = ownerKinds(object);
  if (kinds.includes('*')) return owners.length > 0;
  return owners.some((owner) => kinds.includes(owner));
}

/** The exemption that lets this user make this change, or undefined. */
export function matchingExemption(
  exemptions: readonly Exemption[],
  input: PolicyInput,
  user: UserInfo,
): Exemption | undefined {
  return exemptions.find((exemption) => {
    if (!isOneOf(exemption, user)) return false;
    if (!exemption.operations.includes(input.operation)) return false;
    if (input.subresource ? !exemption.subresources?.includes(input.subresource) : exemption.subresources)
      return false;
    if (exemption.kinds) {
      const kinds = kindsOfChange(input, exemption.kinds);
      if (!kinds.some((kind) => exemption.kinds?.includes(kind))) return false;
    }
    if (exemption.names) {
      const name = input.object.metadata?.name;
      if (!(typeof name === 'string' && exemption.names.includes(name))) return false;
    }
    if (exemption.ownedBy) {
      // DELETE judges the existing object; an UPDATE must stay on an object the controller owned before.
      if (!owned(input.object, exemption.ownedBy)) return false;
      if (input.operation === 'UPDATE' && !owned(input.oldObject, exemption.ownedBy)) return false;
    }
    return true;
  });
}
