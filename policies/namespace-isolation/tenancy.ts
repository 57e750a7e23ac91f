/**
 * Where an object lives for namespace-isolation (system, shared, platform or tenant namespace) and
 * whether a tenant may reference another namespace; shared by every check of the policy.
 */
import type { PathSegment } from '../engine/path.ts';
import { formatPath } from '../engine/path.ts';
import type { EngineContext, FindingDraft, KubeObject } from '../engine/types.ts';
import { isRecord } from '../engine/workloads.ts';
import type { Tenancy } from '../engine/tenancy.ts';
import { tenantLabelOf } from '../engine/tenancy.ts';
import type { NamespaceIsolationParams } from './params.ts';

/** Everything a check needs. */
export interface Scope {
  readonly params: NamespaceIsolationParams;
  readonly context: EngineContext;
  readonly object: KubeObject;
  readonly tenancy: Tenancy | undefined;
  readonly findings: FindingDraft[];
}

export { classify, tenantLabelOf } from '../engine/tenancy.ts';
export type { Tenancy } from '../engine/tenancy.ts';

export { groupOf, isKind } from '../engine/workloads.ts';

/** Whether the object lives in a tenant namespace (or names none: fail-safe). */
export function isTenant(scope: Scope): boolean {
  return scope.tenancy === undefined || scope.tenancy.kind === 'tenant';
}

/** Whether the object lives in a system namespace. */
export function isSystem(scope: Scope): boolean {
  return scope.tenancy?.kind === 'system';
}

/** The shared namespaces, for messages. */
export function sharedList(params: NamespaceIsolationParams): string {
  return params.sharedNamespaces.length > 0 ? params.sharedNamespaces.join(', ') : 'none configured';
}

/** Whether a tenant object in `scope` may reference `target`. */
export function mayReference(scope: Scope, target: string): boolean {
  const own = scope.tenancy;
  if (own?.kind === 'tenant' && own.namespace === target) return true;
  if (scope.params.sharedNamespaces.includes(target)) return true;
  if (own?.kind !== 'tenant' || own.tenant === undefined) return false;
  if (scope.params.systemNamespaces.includes(target)) return false;
  return tenantLabelOf(scope.context.namespaces?.(target), scope.params.tenantLabel) === own.tenant;
}

/** How messages name the object's own tenant or namespace. */
export function ownDescription(scope: Scope): string {
  const own = scope.tenancy;
  if (own?.kind === 'tenant' && own.namespace)
    return own.tenant
      ? `tenant "${own.tenant}" (namespace "${own.namespace}")`
      : `namespace "${own.namespace}"`;
  return 'an object without metadata.namespace';
}

/** Reports a reference to another namespace unless it stays within the tenant or a shared namespace. */
export function checkReference(
  scope: Scope,
  value: unknown,
  path: readonly PathSegment[],
  what: string,
): void {
  if (value === undefined || value === null || value === '') return;
  if (typeof value !== 'string') {
    scope.findings.push({
      path: formatPath(path),
      message: `${what} namespace must be a string, got ${JSON.stringify(value)}`,
      fix: 'write the namespace as a string, or omit it to stay in the same namespace',
    });
    return;
  }
  if (mayReference(scope, value)) return;
  const ownNamespace = scope.tenancy?.kind === 'tenant' ? scope.tenancy.namespace : undefined;
  scope.findings.push({
    path: formatPath(path),
    message: `${what} references namespace "${value}" from ${ownDescription(scope)}; tenants may reference only their own namespaces and shared namespaces (${sharedList(scope.params)})`,
    fix:
      ownNamespace === undefined
        ? `set metadata.namespace so the reference can be checked, and reference only the tenant's own namespace or a shared one`
        : `remove the namespace (stay in "${ownNamespace}") or use a shared namespace (${sharedList(scope.params)})`,
    details: { namespace: value },
  });
}

/** Visits each map item of a list value with its JSON path; non-lists and non-map items are ignored. */
export function forEachItem(
  value: unknown,
  path: readonly PathSegment[],
  visit: (item: Record<string, unknown>, path: readonly PathSegment[]) => void,
): void {
  if (!Array.isArray(value)) return;
  value.forEach((item: unknown, index) => {
    if (isRecord(item)) visit(item, [...path, index]);
  });
}
