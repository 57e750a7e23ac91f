/**
 * Which changes a policy governs (freeze-windows, gitops-only, gitops-sources): namespaces (by name
 * or label selector on the namespace object, old labels counting too), kinds and operations; which
 * UPDATEs are no change at all; and which identities are exempt.
 */
import { ConfigError } from './errors/index.ts';
import type { PathSegment } from './path.ts';
import type { KubeObject, NamespaceLookup, Operation, PolicyInput, UserInfo } from './types.ts';
import { isRecord } from './workloads.ts';
import { labelSelectorProblems, labelSelectorSchema, matchesLabelSelector } from './label-selector.ts';

/** A Kubernetes label selector requirement. */
export interface SelectorRequirement {
  readonly key: string;
  readonly operator: 'In' | 'NotIn' | 'Exists' | 'DoesNotExist';
  readonly values: readonly string[];
}

/** A Kubernetes label selector (matchLabels AND matchExpressions). */
export interface LabelSelector {
  readonly matchLabels: Readonly<Record<string, string>>;
  readonly matchExpressions: readonly SelectorRequirement[];
}

/** Which changes a policy governs (a freeze window freezes, gitops-only reserves for the GitOps controllers). */
export interface Scope {
  /** Namespace names; a namespace matching a name OR the selector is in scope. */
  readonly namespaceNames?: readonly string[];
  readonly namespaceSelector?: LabelSelector;
  /** Kinds in scope (undefined = all). */
  readonly kinds?: readonly string[];
  readonly excludeKinds: readonly string[];
  readonly operations: readonly Operation[];
}

/** Identities a policy lets through (freeze-windows: those that keep working during a freeze). */
export interface ExemptIdentities {
  readonly usernames: readonly string[];
  readonly groups: readonly string[];
}

const selectorSchema = labelSelectorSchema;

/** JSON Schema of a scope. */
export const scopeSchema = {
  type: 'object',
  additionalProperties: false,
  properties: {
    namespaces: {
      type: 'object',
      additionalProperties: false,
      properties: {
        names: { type: 'array', items: { type: 'string', minLength: 1 }, minItems: 1 },
        selector: selectorSchema,
      },
      description: 'namespaces by name or by a label selector on the Namespace object (either matches)',
    },
    kinds: { type: 'array', items: { type: 'string', minLength: 1 }, minItems: 1 },
    excludeKinds: { type: 'array', items: { type: 'string', minLength: 1 } },
    operations: {
      type: 'array',
      items: { enum: ['CREATE', 'UPDATE', 'DELETE'] },
      minItems: 1,
      uniqueItems: true,
    },
  },
};

/** JSON Schema of the exempt identities. */
export const exemptSchema = {
  type: 'object',
  additionalProperties: false,
  properties: {
    usernames: { type: 'array', items: { type: 'string', minLength: 1 } },
    groups: { type: 'array', items: { type: 'string', minLength: 1 } },
  },
};

/** Compiles a scope; undefined raw gives "everything, every operation". */
export function compileScope(raw: Record<string, unknown> | undefined, path: string): Scope {
  const scope: { -readonly [K in keyof Scope]: Scope[K] } = {
    excludeKinds: [],
    operations: ['CREATE', 'UPDATE', 'DELETE'],
  };
  if (!raw) return scope;
  const namespaces = raw.namespaces as Record<string, unknown> | undefined;
  if (namespaces?.names) scope.namespaceNames = (namespaces.names as unknown[]).map(String);
  if (namespaces?.selector) {
    const selector = namespaces.selector as Record<string, unknown>;
    const expressions = ((selector.matchExpressions as Record<string, unknown>[] | undefined) ?? []).map(
      (expression): SelectorRequirement => ({
        key: String(expression.key),
        operator: expression.operator as SelectorRequirement['operator'],
        values: Array.isArray(expression.values) ? expression.values.map(String) : [],
      }),
    );
    for (const { index, requirement, needsValues } of labelSelectorProblems({
      matchExpressions: expressions,
    }))
      throw new ConfigError(
        `${path}/namespaces/selector/matchExpressions/${index}/values`,
        needsValues
          ? `operator ${requirement.operator} needs at least one value`
          : `operator ${requirement.operator} takes no values`,
      );
    scope.namespaceSelector = {
      matchLabels: { ...((selector.matchLabels as Record<string, string> | undefined) ?? {}) },
      matchExpressions: expressions,
    };
  }
  if (raw.kinds) scope.kinds = (raw.kinds as unknown[]).map(String);
  if (raw.excludeKinds) scope.excludeKinds = (raw.excludeKinds as unknown[]).map(String);
  if (raw.operations) scope.operations = (raw.operations as Operation[]).slice();
  return scope;
}

/** Whether labels satisfy a selector (Kubernetes semantics; NotIn and DoesNotExist match a missing key). */
export function matchesSelector(labels: Readonly<Record<string, string>>, selector: LabelSelector): boolean {
  return matchesLabelSelector(selector, labels);
}

function labelsOf(object: KubeObject | undefined): Record<string, string> {
  const labels = object?.metadata?.labels;
  return isRecord(labels) ? (labels as Record<string, string>) : {};
}

/** Kinds of the built-in resources whose subresources change what runs, by `group/resource`. */
const builtinParentKinds: Readonly<Record<string, string>> = {
  'apps/deployments': 'Deployment',
  'apps/statefulsets': 'StatefulSet',
  'apps/replicasets': 'ReplicaSet',
  '/replicationcontrollers': 'ReplicationController',
  '/pods': 'Pod',
};

/** The plural resource name a custom resource's kind conventionally has (`Rollout` → `rollouts`). */
function conventionalPlural(kind: string): string {
  const lower = kind.toLowerCase();
  if (/(s|x|z|ch|sh)$/.test(lower)) return `${lower}es`;
  if (/[^aeiou]y$/.test(lower)) return `${lower.slice(0, -1)}ies`;
  return `${lower}s`;
}

/**
 * The kinds a change is made to: the object's own kind and, for a subresource, the kind of the
 * resource it belongs to. `kubectl scale deployment` arrives as a `Scale` (group autoscaling) on
 * `apps/deployments`, subresource `scale`; a scope that freezes `Deployment` must catch it. The
 * parent of a built-in resource comes from a table; a custom resource's parent is any of `named`
 * (the scope's kinds) whose conventional plural is the request's resource.
 */
export function kindsOfChange(input: PolicyInput, named: readonly string[]): string[] {
  const kind = typeof input.object.kind === 'string' ? input.object.kind : '';
  if (!input.subresource || !input.resource) return [kind];
  const { group, resource } = input.resource;
  const parents = [
    builtinParentKinds[`${group}/${resource}`],
    ...named.filter((candidate) => conventionalPlural(candidate) === resource),
  ].filter((parent): parent is string => parent !== undefined && parent !== kind);
  return [kind, ...new Set(parents)];
}

/** The outcome of matching a change against a scope: in scope, or why not. */
export type ScopeMatch = { readonly inScope: true } | { readonly inScope: false; readonly why: string };

/**
 * Whether a change falls in a scope (`notInScope` words the reasons: "not frozen"). The namespace's labels come from the context's namespace
 * lookup; a namespace the context does not know carries only `kubernetes.io/metadata.name`
 * (which the API server sets). A Namespace object is judged by its own labels, old and new, so
 * removing the selecting label is itself frozen.
 */
export function matchScope(
  scope: Scope,
  input: PolicyInput,
  namespaces: NamespaceLookup | undefined,
  notInScope = 'not frozen',
): ScopeMatch {
  if (!scope.operations.includes(input.operation))
    return { inScope: false, why: `operation ${input.operation} is ${notInScope}` };
  const kind = typeof input.object.kind === 'string' ? input.object.kind : '';
  const kinds = kindsOfChange(input, [...(scope.kinds ?? []), ...scope.excludeKinds]);
  const what = kinds.length > 1 ? `kinds ${kinds.join(', ')}` : `kind ${kind}`;
  if (scope.kinds && !kinds.some((candidate) => scope.kinds?.includes(candidate)))
    return { inScope: false, why: `${what} ${kinds.length > 1 ? 'are' : 'is'} ${notInScope}` };
  const excluded = kinds.find((candidate) => scope.excludeKinds.includes(candidate));
  if (excluded !== undefined) return { inScope: false, why: `kind ${excluded} is excluded` };
  if (!scope.namespaceNames && !scope.namespaceSelector) return { inScope: true };
  let name: string | undefined;
  let candidates: Record<string, string>[];
  if (kind === 'Namespace' && (input.object.apiVersion ?? 'v1') === 'v1') {
    name = input.object.metadata?.name;
    candidates = [labelsOf(input.object)];
    if (input.oldObject) candidates.push(labelsOf(input.oldObject));
  } else {
    name = input.namespace;
    if (!name)
      return { inScope: false, why: 'the object is cluster-scoped and the scope selects namespaces' };
    candidates = [labelsOf(namespaces?.(name))];
  }
  if (!name) return { inScope: false, why: 'the namespace has no name' };
  if (scope.namespaceNames?.includes(name)) return { inScope: true };
  if (scope.namespaceSelector) {
    const selector = scope.namespaceSelector;
    if (
      candidates.some((labels) =>
        matchesSelector({ ...labels, 'kubernetes.io/metadata.name': name }, selector),
      )
    )
      return { inScope: true };
  }
  return { inScope: false, why: `namespace ${name} is ${notInScope}` };
}

function withoutBookkeeping(object: KubeObject): unknown {
  const { status: _status, metadata, ...rest } = object;
  if (!isRecord(metadata)) return rest;
  const {
    managedFields: _managedFields,
    resourceVersion: _resourceVersion,
    generation: _generation,
    ...meta
  } = metadata;
  return { ...rest, metadata: meta };
}

/** Most value pairs one comparison visits; beyond it the UPDATE counts as a change (fail-safe). */
const maxComparedPairs = 1_000_000;

/**
 * Structural equality without recursion: the API server accepts JSON nested 10 000 deep, and a
 * recursive comparison overflowed the stack there, which denied every UPDATE of such an object.
 * Each pair of objects is compared once, so values shared many times (YAML aliases) stay linear.
 */
function deepEqual(left: unknown, right: unknown): boolean {
  const pending: Array<[unknown, unknown]> = [[left, right]];
  const compared = new WeakMap<object, WeakSet<object>>();
  let budget = maxComparedPairs;
  for (let pair = pending.pop(); pair !== undefined; pair = pending.pop()) {
    const [a, b] = pair;
    if (a === b) continue;
    if (--budget < 0) return false;
    if (typeof a === 'object' && a !== null && typeof b === 'object' && b !== null) {
      const seen = compared.get(a) ?? new WeakSet<object>();
      if (seen.has(b)) continue;
      seen.add(b);
      compared.set(a, seen);
    }
    if (Array.isArray(a)) {
      if (!Array.isArray(b) || a.length !== b.length) return false;
      a.forEach((v: unknown, i) => pending.push([v, b[i]]));
    } else if (isRecord(a) && isRecord(b)) {
      const keys = Object.keys(a).filter((k) => a[k] !== undefined);
      const otherKeys = Object.keys(b).filter((k) => b[k] !== undefined);
      if (keys.length !== otherKeys.length) return false;
      for (const k of keys) pending.push([a[k], b[k]]);
    } else return false;
  }
  return true;
}

/**
 * An UPDATE that changes only `status`, `metadata.managedFields`, `metadata.resourceVersion` or
 * `metadata.generation` changes nothing a policy protects (the API server and controllers write those).
 */
export function isBookkeepingOnlyUpdate(input: PolicyInput): boolean {
  if (input.operation !== 'UPDATE' || !input.oldObject) return false;
  return deepEqual(withoutBookkeeping(input.object), withoutBookkeeping(input.oldObject));
}

/**
 * The first fields (at most `limit`, breadth first) an UPDATE changes, bookkeeping aside, as paths
 * (`spec.replicas`, `spec.template.spec.containers[0].image`), so a finding can name what was changed.
 */
export function changedFields(input: PolicyInput, limit = 3): PathSegment[][] {
  if (!input.oldObject) return [];
  const out: PathSegment[][] = [];
  const queue: Array<[unknown, unknown, PathSegment[]]> = [
    [withoutBookkeeping(input.oldObject), withoutBookkeeping(input.object), []],
  ];
  let budget = maxComparedPairs;
  for (let item = queue.shift(); item !== undefined && out.length < limit; item = queue.shift()) {
    const [before, after, path] = item;
    if (before === after || --budget < 0) continue;
    if (Array.isArray(before) && Array.isArray(after)) {
      for (let i = 0; i < Math.max(before.length, after.length); i++)
        queue.push([before[i], after[i], [...path, i]]);
    } else if (isRecord(before) && isRecord(after)) {
      for (const key of new Set([...Object.keys(before), ...Object.keys(after)]))
        queue.push([before[key], after[key], [...path, key]]);
    } else if (!deepEqual(before, after)) out.push(path);
  }
  return out;
}

/** Why the requesting identity is exempt, or undefined. CI requests carry no identity. */
export function exemptIdentity(exempt: ExemptIdentities, user: UserInfo | undefined): string | undefined {
  if (!user) return undefined;
  if (user.username && exempt.usernames.includes(user.username)) return `user ${user.username} is exempt`;
  const group = (user.groups ?? []).find((g) => exempt.groups.includes(g));
  return group ? `group ${group} is exempt` : undefined;
}
