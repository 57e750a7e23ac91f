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
const dangerousVerbs = new Set(['escalate', 'bind', 'impersonate']);

/** Whether the escalation-verb check reports `verb` on `rule` (so other checks need not repeat it). */
function escalationVerb(verb: string, rule: Record<string, unknown>): boolean {
  if (verb === '*') return wildcardGrants(rule).length > 0;
  const lower = verb.toLowerCase();
  return dangerousVerbs.has(lower) || lower.startsWith('impersonate:');
}

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

/** Whether a ClusterRoleBinding grants a ClusterRole listed in `clusterRoleBindingRoles`. */
function grantsAllowedClusterRole(scope: Scope): boolean {
  const roleRef = getIn(scope.object, ['roleRef']);
  if (!isRecord(roleRef) || roleRef.kind !== 'ClusterRole') return false;
  if (roleRef.apiGroup !== undefined && roleRef.apiGroup !== 'rbac.authorization.k8s.io') return false;
  return typeof roleRef.name === 'string' && scope.params.clusterRoleBindingRoles.includes(roleRef.name);
}

/** Reports ClusterRoleBindings to non-platform subjects, cluster-admin RoleBindings and escalation verbs. */
export function checkRbac(scope: Scope): void {
  const { object, findings } = scope;
  if (
    isKind(object, ['ClusterRoleBinding'], rbacGroup) &&
    !grantsAllowedClusterRole(scope) &&
    !bindsOnlyPlatformServiceAccounts(scope)
  ) {
    findings.push({
      path: 'roleRef',
      message: `ClusterRoleBinding "${String(object.metadata?.name ?? '?')}" grants ${String(getIn(object, ['roleRef', 'name']) ?? 'a role')} across every namespace to subjects other than platform service accounts`,
      fix: `use a RoleBinding in the tenant namespace; cluster-wide bindings are only for service accounts of system, shared or platform namespaces${scope.params.clusterRoleBindingRoles.length > 0 ? `, or grant one of the ClusterRoles of clusterRoleBindingRoles (${scope.params.clusterRoleBindingRoles.join(', ')})` : ''}`,
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
  if (isClusterRole) {
    checkAggregationRule(scope);
    checkAggregatedInto(scope);
  }
  if (isClusterRole || (isKind(object, ['Role'], rbacGroup) && !isSystem(scope))) {
    forEachItem(object.rules, ['rules'], (rule, path) => {
      if (!Array.isArray(rule.verbs)) return;
      rule.verbs.forEach((verb: unknown, index) => {
        if (typeof verb !== 'string') return;
        const lower = verb.toLowerCase();
        const at = formatPath([...path, 'verbs', index]);
        if (verb === '*') {
          const grants = wildcardGrants(rule);
          if (grants.length > 0)
            findings.push({
              path: at,
              message: `${String(object.kind)} grants every verb ("*") ${describeRuleResources(rule)}, which includes ${grants.map(({ verb: v, resources }) => `${v} on ${resources.join(', ')}`).join('; ')}`,
              fix: 'list only the verbs needed (get, list, watch, create, update, patch, delete)',
              details: { grants },
            });
          return;
        }
        if (!escalationVerb(verb, rule)) return;
        findings.push({
          path: at,
          message: `${String(object.kind)} grants "${verb}", which lets its holder ${lower.startsWith('impersonate') ? 'act as other users, groups or service accounts' : 'grant permissions it does not hold'}`,
          fix: 'list only the verbs needed (get, list, watch, create, update, patch, delete)',
        });
      });
    });
  }
}

/** A verb that `*` implies on a rule, and the resources (`group/resource`) that make it meaningful there. */
export interface WildcardGrant {
  readonly verb: 'escalate' | 'bind' | 'impersonate';
  readonly resources: readonly string[];
}

/**
 * Where `escalate`, `bind` and `impersonate` mean something, as the API server checks them: escalate
 * and bind on roles and clusterroles of rbac.authorization.k8s.io; impersonate on users, groups and
 * serviceaccounts of the core group and on uids and userextras/<key> of authentication.k8s.io (and,
 * with constrained impersonation, users, groups, serviceaccounts and nodes there too). Keyed by API
 * group; `*` in a rule's apiGroups or resources matches them all, `*\/<sub>` a subresource.
 */
const meaningful: ReadonlyArray<{ verbs: WildcardGrant['verb'][]; group: string; resources: string[] }> = [
  { verbs: ['escalate', 'bind'], group: 'rbac.authorization.k8s.io', resources: ['roles', 'clusterroles'] },
  { verbs: ['impersonate'], group: '', resources: ['users', 'groups', 'serviceaccounts'] },
  {
    verbs: ['impersonate'],
    group: 'authentication.k8s.io',
    resources: ['users', 'groups', 'serviceaccounts', 'uids', 'userextras', 'nodes'],
  },
];

function strings(value: unknown): string[] {
  return Array.isArray(value) ? value.filter((v): v is string => typeof v === 'string') : [];
}

/**
 * The escalation verbs that `verbs: ["*"]` grants on a rule, each with the resources the rule names
 * that make it meaningful; empty when the rule's resources (a monitoring CRD, pods, non-resource
 * URLs) cannot be escalated, bound or impersonated. Resource names compare exactly, as the RBAC
 * authorizer compares them. A rule without apiGroups is read as every group (fail-safe).
 */
export function wildcardGrants(rule: Record<string, unknown>): WildcardGrant[] {
  const groups = Array.isArray(rule.apiGroups) ? strings(rule.apiGroups) : ['*'];
  const resources = strings(rule.resources);
  const found = new Map<WildcardGrant['verb'], Set<string>>();
  for (const entry of meaningful) {
    if (!groups.includes('*') && !groups.includes(entry.group)) continue;
    const qualify = (resource: string): string =>
      entry.group === '' ? resource : `${resource}.${entry.group}`;
    const hits: string[] = [];
    for (const resource of resources) {
      if (resource === '*') hits.push(...entry.resources.map(qualify));
      else if (entry.resources.includes(resource)) hits.push(qualify(resource));
      else if (entry.group === 'authentication.k8s.io' && /^(\*|userextras)\/./.test(resource))
        hits.push(qualify(`userextras/${resource.slice(resource.indexOf('/') + 1)}`));
    }
    if (hits.length === 0) continue;
    for (const verb of entry.verbs) {
      const set = found.get(verb) ?? new Set<string>();
      hits.forEach((hit) => set.add(hit));
      found.set(verb, set);
    }
  }
  return (['escalate', 'bind', 'impersonate'] as const)
    .filter((verb) => found.has(verb))
    .map((verb) => ({ verb, resources: [...(found.get(verb) ?? [])] }));
}

function describeRuleResources(rule: Record<string, unknown>): string {
  const resources = strings(rule.resources);
  const groups = Array.isArray(rule.apiGroups) ? strings(rule.apiGroups) : ['*'];
  const groupText = groups.map((g) => (g === '' ? 'core' : g)).join(', ');
  return `on resources ${resources.join(', ')} of API groups ${groupText}`;
}

/** Label keys that mark a ClusterRole for aggregation (`rbac.authorization.k8s.io/aggregate-to-admin`, `example.com/aggregate-to-billing`). */
const aggregationKeyRe = /(^|\/)aggregate-to-[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$/;

/**
 * A ClusterRole with an `aggregationRule` holds no rules of its own: the controller copies in the
 * rules of every ClusterRole its selectors match. A selector that is empty, or not pinned to an
 * aggregation label (`*\/aggregate-to-<name>: "true"`), can match cluster-admin
 * (`kubernetes.io/bootstrapping: rbac-defaults`) and inherit every verb on every resource, which
 * neither the verb check nor the cluster-admin binding check would see.
 */
function checkAggregationRule(scope: Scope): void {
  const rule = getIn(scope.object, ['aggregationRule']);
  if (rule === undefined || rule === null) return;
  const selectors = getIn(rule, ['clusterRoleSelectors']);
  if (!Array.isArray(selectors)) return;
  selectors.forEach((selector: unknown, index) => {
    const path = ['aggregationRule', 'clusterRoleSelectors', index];
    const matchLabels = getIn(selector, ['matchLabels']);
    const expressions = getIn(selector, ['matchExpressions']);
    const pinned =
      (isRecord(matchLabels) &&
        Object.entries(matchLabels).some(([key, value]) => aggregationKeyRe.test(key) && value !== '')) ||
      (Array.isArray(expressions) &&
        expressions.some(
          (expression: unknown) =>
            isRecord(expression) &&
            expression.operator === 'In' &&
            typeof expression.key === 'string' &&
            aggregationKeyRe.test(expression.key) &&
            Array.isArray(expression.values) &&
            expression.values.length > 0,
        ));
    if (pinned) return;
    const empty =
      !isRecord(selector) ||
      ((!isRecord(matchLabels) || Object.keys(matchLabels).length === 0) &&
        (!Array.isArray(expressions) || expressions.length === 0));
    scope.findings.push({
      path: formatPath(path),
      message: empty
        ? `ClusterRole "${String(scope.object.metadata?.name ?? '?')}" aggregates every ClusterRole of the cluster (an empty selector), cluster-admin included: it inherits every verb on every resource without listing a rule`
        : `ClusterRole "${String(scope.object.metadata?.name ?? '?')}" aggregates ClusterRoles by labels other than an aggregate-to-<name> label, which can select cluster-admin and the other built-in roles (kubernetes.io/bootstrapping: rbac-defaults) and inherit their rules without listing them`,
      fix: 'select only roles written for aggregation, e.g. matchLabels: {example.com/aggregate-to-<this role>: "true"}, or list the rules',
    });
  });
}

/** The built-in roles that tenants are bound to, and the label that injects rules into each. */
const builtinAggregationLabels: Readonly<Record<string, string>> = {
  'rbac.authorization.k8s.io/aggregate-to-admin': 'admin',
  'rbac.authorization.k8s.io/aggregate-to-edit': 'edit',
  'rbac.authorization.k8s.io/aggregate-to-view': 'view',
};
const readVerbs = new Set(['get', 'list', 'watch']);

/**
 * A ClusterRole labelled `rbac.authorization.k8s.io/aggregate-to-{admin,edit,view}: "true"` adds
 * its rules to that built-in role, and so to everyone bound to it in any namespace. Such a role
 * must not grant wildcards (every resource or API group, which admin, edit and view never do), and
 * a role aggregated into view must stay read-only and away from Secrets (view deliberately cannot
 * read them).
 */
function checkAggregatedInto(scope: Scope): void {
  const labels = getIn(scope.object, ['metadata', 'labels']);
  if (!isRecord(labels)) return;
  const targets = Object.entries(builtinAggregationLabels)
    .filter(([key]) => labels[key] === 'true')
    .map(([, role]) => role);
  if (targets.length === 0) return;
  const into = targets.join(', ');
  forEachItem(scope.object.rules, ['rules'], (rule, path) => {
    for (const field of ['apiGroups', 'resources'] as const) {
      const values = rule[field];
      if (!Array.isArray(values)) continue;
      values.forEach((value: unknown, index) => {
        if (value !== '*') return;
        scope.findings.push({
          path: formatPath([...path, field, index]),
          message: `ClusterRole aggregated into ${into} grants "*" ${field === 'apiGroups' ? 'API groups' : 'resources'}, which every subject bound to ${into} in any namespace would gain`,
          fix: `list the API groups and resources this role is for, or remove the aggregate-to-${targets[0] ?? 'view'} label`,
        });
      });
    }
    if (!targets.includes('view')) return;
    if (Array.isArray(rule.verbs))
      rule.verbs.forEach((verb: unknown, index) => {
        if (typeof verb === 'string' && !readVerbs.has(verb) && !escalationVerb(verb, rule))
          scope.findings.push({
            path: formatPath([...path, 'verbs', index]),
            message: `ClusterRole aggregated into view grants "${verb}", but view is read-only for everyone bound to it`,
            fix: 'grant only get, list and watch, or aggregate into edit instead of view',
          });
      });
    if (Array.isArray(rule.resources))
      rule.resources.forEach((resource: unknown, index) => {
        if (resource === 'secrets')
          scope.findings.push({
            path: formatPath([...path, 'resources', index]),
            message:
              'ClusterRole aggregated into view grants access to Secrets, which view deliberately cannot read',
            fix: 'remove secrets from this role, or aggregate it into admin or edit',
          });
      });
  });
}
