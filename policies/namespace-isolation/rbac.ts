/**
 * RBAC for namespace-isolation: ClusterRoleBindings, cluster-admin bindings, escalation verbs and
 * RoleBinding subjects from other namespaces or meaning "everyone".
 */
import { formatPath } from '../engine/path.ts';
import { getIn, isRecord } from '../engine/workloads.ts';
import type { Scope } from './tenancy.ts';
import { checkReference, classify, forEachItem, isKind, isSystem } from './tenancy.ts';

/** The RBAC API group. */
export const rbacGroup = ['rbac.authorization.k8s.io'];
const dangerousVerbs = new Set(['escalate', 'bind', 'impersonate', '*']);

/** Principal names that mean "anyone" to the API server's authenticators, and whom they cover. */
const everyone: ReadonlyMap<string, string> = new Map([
  ['system:anonymous', 'every anonymous (unauthenticated) request'],
  ['system:unauthenticated', 'every anonymous (unauthenticated) request'],
  ['system:authenticated', 'every authenticated user of the cluster'],
  ['system:serviceaccounts', 'every service account in every namespace'],
]);

/** Reports RoleBinding subjects in other namespaces and groups that mean "everyone". */
export function checkRoleBindingSubjects(scope: Scope): void {
  forEachItem(scope.object.subjects, ['subjects'], (subject, path) => {
    const name = typeof subject.name === 'string' ? subject.name : '';
    if (subject.kind === 'ServiceAccount') {
      checkReference(
        scope,
        subject.namespace,
        [...path, 'namespace'],
        `RoleBinding subject ServiceAccount "${name}"`,
      );
    } else if ((subject.kind === 'User' || subject.kind === 'Group') && everyone.has(name)) {
      // The authenticator names "anyone" several ways; RBAC matches User and Group names exactly,
      // so each spelling is reported whichever kind carries it (fail-safe for a User that no
      // authenticator issues).
      scope.findings.push({
        path: formatPath([...path, 'name']),
        message: `RoleBinding subject ${String(subject.kind)} "${name}" grants the role to ${everyone.get(name) ?? 'everyone'}`,
        fix: "bind the tenant's own service accounts or users by name instead",
      });
    } else if (subject.kind === 'User' && name.startsWith('system:serviceaccount:')) {
      const namespace = name.split(':')[2] ?? '';
      checkReference(scope, namespace, [...path, 'name'], `RoleBinding subject User "${name}"`);
    } else if (subject.kind === 'Group' && name.startsWith('system:serviceaccounts:')) {
      checkReference(
        scope,
        name.slice('system:serviceaccounts:'.length),
        [...path, 'name'],
        `RoleBinding subject Group "${name}"`,
      );
    }
  });
}

/**
 * A ClusterRoleBinding whose every subject is a ServiceAccount of a known non-tenant namespace
 * (system, shared, or an existing namespace without the tenant label) belongs to a platform
 * component such as an ingress controller or tollgate itself; it grants nothing to a tenant.
 */
function bindsOnlyPlatformServiceAccounts(scope: Scope): boolean {
  const subjects = scope.object.subjects;
  if (!Array.isArray(subjects) || subjects.length === 0) return false;
  return subjects.every(
    (subject: unknown) =>
      isRecord(subject) &&
      subject.kind === 'ServiceAccount' &&
      typeof subject.namespace === 'string' &&
      subject.namespace !== '' &&
      subject.namespace !== 'default' &&
      classify(subject.namespace, scope.params, scope.context).kind !== 'tenant',
  );
}

/** Reports ClusterRoleBindings to non-platform subjects, cluster-admin RoleBindings and escalation verbs. */
export function checkRbac(scope: Scope): void {
  const { object, findings } = scope;
  if (isKind(object, ['ClusterRoleBinding'], rbacGroup) && !bindsOnlyPlatformServiceAccounts(scope)) {
    findings.push({
      path: 'roleRef',
      message: `ClusterRoleBinding "${String(object.metadata?.name ?? '?')}" grants ${String(getIn(object, ['roleRef', 'name']) ?? 'a role')} across every namespace to subjects other than platform service accounts`,
      fix: 'use a RoleBinding in the tenant namespace; cluster-wide bindings are only for service accounts of system, shared or platform namespaces',
    });
  }
  if (isKind(object, ['RoleBinding'], rbacGroup) && !isSystem(scope)) {
    if (
      getIn(object, ['roleRef', 'kind']) === 'ClusterRole' &&
      getIn(object, ['roleRef', 'name']) === 'cluster-admin'
    )
      findings.push({
        path: 'roleRef.name',
        message:
          'RoleBinding grants cluster-admin (every verb on every resource of the namespace, including RBAC)',
        fix: 'bind the ClusterRole "admin" or "edit", or a Role with just the verbs needed',
      });
  }
  const isClusterRole = isKind(object, ['ClusterRole'], rbacGroup);
  if (isClusterRole || (isKind(object, ['Role'], rbacGroup) && !isSystem(scope))) {
    forEachItem(object.rules, ['rules'], (rule, path) => {
      if (!Array.isArray(rule.verbs)) return;
      rule.verbs.forEach((verb: unknown, index) => {
        if (typeof verb !== 'string' || !dangerousVerbs.has(verb.toLowerCase())) return;
        findings.push({
          path: formatPath([...path, 'verbs', index]),
          message:
            verb === '*'
              ? `${String(object.kind)} grants every verb ("*"), which includes escalate, bind and impersonate`
              : `${String(object.kind)} grants "${verb}", which lets its holder ${verb.toLowerCase() === 'impersonate' ? 'act as other users, groups or service accounts' : 'grant permissions it does not hold'}`,
          fix: 'list only the verbs needed (get, list, watch, create, update, patch, delete)',
        });
      });
    });
  }
}
