/**
 * namespace-isolation: tenants (namespaces carrying an admin-controlled label) stay inside their
 * namespaces. No host access, no references to other tenants' namespaces, no ExternalName or
 * externalIPs Services, no hand-written Endpoints, no RBAC escalation, no NetworkPolicy that opens
 * a tenant to every namespace or selects namespaces by labels a tenant can set, nothing in `default`.
 */
import { skipDelete } from '../engine/adjudicators.ts';
import { ConfigError } from '../engine/errors/index.ts';
import { skip } from '../engine/evaluate.ts';
import type { PathSegment } from '../engine/path.ts';
import { formatPath } from '../engine/path.ts';
import type { EngineContext, FindingDraft, KubeObject, Policy, PolicyInput } from '../engine/types.ts';
import {
  containersOf,
  getIn,
  isRecord,
  malformedWorkloadFields,
  podSpecsOf,
  workloadAdmissionRules,
} from '../engine/workloads.ts';

/** Parameters of namespace-isolation. */
export interface NamespaceIsolationParams {
  /** Admin-controlled namespace label whose presence marks a tenant namespace; its value names the tenant. */
  readonly tenantLabel: string;
  /** Namespaces every tenant may reference (ingress, monitoring). */
  readonly sharedNamespaces: readonly string[];
  /** Namespaces exempt from host-access and default-namespace checks: kube-system, kube-public, kube-node-lease and the configured ones. */
  readonly systemNamespaces: readonly string[];
  /** Linux capabilities containers may add (normalized: upper case, no `CAP_` prefix). */
  readonly allowedCapabilities: readonly string[];
  /** Namespace label keys besides `kubernetes.io/metadata.name` and the tenant label that tenants cannot set. */
  readonly trustedNamespaceLabels: readonly string[];
  /** Control-plane identities whose requests are judged on host access only (they write Endpoints, RBAC, `default`). */
  readonly controlPlaneUsers: readonly string[];
}

/** Namespaces that are always system namespaces. */
export const builtinSystemNamespaces: readonly string[] = ['kube-system', 'kube-public', 'kube-node-lease'];

/** Pod Security Standards "baseline": the capabilities a container may add. */
export const baselineCapabilities: readonly string[] = [
  'AUDIT_WRITE',
  'CHOWN',
  'DAC_OVERRIDE',
  'FOWNER',
  'FSETID',
  'KILL',
  'MKNOD',
  'NET_BIND_SERVICE',
  'SETFCAP',
  'SETGID',
  'SETPCAP',
  'SETUID',
  'SYS_CHROOT',
];

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

const NAME_LABEL = 'kubernetes.io/metadata.name';
const dangerousVerbs = new Set(['escalate', 'bind', 'impersonate', '*']);
const labelKeyRe =
  /^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*\/)?[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$/;
const namespaceNameRe = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

/** Normalizes a capability the way container runtimes do: upper case, without the `CAP_` prefix. */
export function normalizeCapability(value: string): string {
  const upper = value.trim().toUpperCase();
  return upper.startsWith('CAP_') ? upper.slice(4) : upper;
}

/** What the policy knows about the namespace an object lives in. */
type Tenancy =
  | { readonly kind: 'system' | 'shared' | 'platform'; readonly namespace: string }
  /** `tenant` is the label value, undefined when the namespace object is unknown (fail-safe: treated as a tenant). */
  | { readonly kind: 'tenant'; readonly namespace: string | undefined; readonly tenant: string | undefined };

/** Everything a check needs. */
interface Scope {
  readonly params: NamespaceIsolationParams;
  readonly context: EngineContext;
  readonly object: KubeObject;
  readonly tenancy: Tenancy | undefined;
  readonly findings: FindingDraft[];
}

function tenantLabelOf(namespace: KubeObject | undefined, label: string): string | undefined {
  const value = getIn(namespace, ['metadata', 'labels', label]);
  return typeof value === 'string' && value !== '' ? value : undefined;
}

function classify(namespace: string, params: NamespaceIsolationParams, context: EngineContext): Tenancy {
  if (params.systemNamespaces.includes(namespace)) return { kind: 'system', namespace };
  if (params.sharedNamespaces.includes(namespace)) return { kind: 'shared', namespace };
  const object = context.namespaces?.(namespace);
  if (!object) return { kind: 'tenant', namespace, tenant: undefined };
  const tenant = tenantLabelOf(object, params.tenantLabel);
  return tenant ? { kind: 'tenant', namespace, tenant } : { kind: 'platform', namespace };
}

function groupOf(object: KubeObject): string | undefined {
  if (typeof object.apiVersion !== 'string') return undefined;
  const slash = object.apiVersion.indexOf('/');
  return slash < 0 ? '' : object.apiVersion.slice(0, slash);
}

/** Whether the object is `kind` in one of `groups` (an object without apiVersion matches on kind alone). */
function isKind(object: KubeObject, kinds: readonly string[], groups: readonly string[]): boolean {
  if (typeof object.kind !== 'string' || !kinds.includes(object.kind)) return false;
  const group = groupOf(object);
  return group === undefined || groups.includes(group);
}

function isTenant(scope: Scope): boolean {
  return scope.tenancy === undefined || scope.tenancy.kind === 'tenant';
}

function isSystem(scope: Scope): boolean {
  return scope.tenancy?.kind === 'system';
}

function sharedList(params: NamespaceIsolationParams): string {
  return params.sharedNamespaces.length > 0 ? params.sharedNamespaces.join(', ') : 'none configured';
}

/** Whether a tenant object in `scope` may reference `target`. */
function mayReference(scope: Scope, target: string): boolean {
  const own = scope.tenancy;
  if (own?.kind === 'tenant' && own.namespace === target) return true;
  if (scope.params.sharedNamespaces.includes(target)) return true;
  if (own?.kind !== 'tenant' || own.tenant === undefined) return false;
  if (scope.params.systemNamespaces.includes(target)) return false;
  return tenantLabelOf(scope.context.namespaces?.(target), scope.params.tenantLabel) === own.tenant;
}

function ownDescription(scope: Scope): string {
  const own = scope.tenancy;
  if (own?.kind === 'tenant' && own.namespace)
    return own.tenant
      ? `tenant "${own.tenant}" (namespace "${own.namespace}")`
      : `namespace "${own.namespace}"`;
  return 'an object without metadata.namespace';
}

/** Reports a reference to another namespace unless it stays within the tenant or a shared namespace. */
function checkReference(scope: Scope, value: unknown, path: readonly PathSegment[], what: string): void {
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

function forEachItem(
  value: unknown,
  path: readonly PathSegment[],
  visit: (item: Record<string, unknown>, path: readonly PathSegment[]) => void,
): void {
  if (!Array.isArray(value)) return;
  value.forEach((item: unknown, index) => {
    if (isRecord(item)) visit(item, [...path, index]);
  });
}

// ---------------------------------------------------------------- host access

function checkHostAccess(scope: Scope): void {
  const { findings, params } = scope;
  for (const { path, message } of malformedWorkloadFields(scope.object))
    findings.push({
      path,
      message: `${message}, so host access (privileged, hostPath, hostPort, capabilities) cannot be checked`,
      fix: 'write the field as Kubernetes expects it (a pod spec map with lists of container and volume maps)',
    });
  for (const pod of podSpecsOf(scope.object)) {
    for (const field of ['hostNetwork', 'hostPID', 'hostIPC'] as const) {
      if (pod.spec[field] === true)
        findings.push({
          path: formatPath([...pod.path, field]),
          message: `${field}: true shares the node's ${field === 'hostNetwork' ? 'network' : field === 'hostPID' ? 'process' : 'IPC'} namespace with the pod`,
          fix: `remove ${field} (or set it to false)`,
        });
    }
    if (getIn(pod.spec, ['securityContext', 'windowsOptions', 'hostProcess']) === true)
      findings.push({
        path: formatPath([...pod.path, 'securityContext', 'windowsOptions', 'hostProcess']),
        message: 'windowsOptions.hostProcess: true runs the pod as a Windows host process',
        fix: 'remove securityContext.windowsOptions.hostProcess',
      });
    forEachItem(pod.spec.volumes, [...pod.path, 'volumes'], (volume, path) => {
      if (volume.hostPath === undefined) return;
      const hostPath = getIn(volume, ['hostPath', 'path']);
      findings.push({
        path: formatPath([...path, 'hostPath']),
        message: `volume "${String(volume.name ?? '?')}" mounts the node's filesystem (hostPath ${JSON.stringify(hostPath ?? '')})`,
        fix: 'use a PersistentVolumeClaim, emptyDir, configMap or secret volume instead of hostPath',
      });
    });
  }
  for (const location of containersOf(scope.object)) {
    const { container } = location;
    const name = typeof container.name === 'string' ? container.name : '?';
    const label = `${location.kind === 'container' ? 'container' : location.kind === 'initContainer' ? 'init container' : 'ephemeral container'} "${name}"`;
    forEachItem(container.ports, [...location.path, 'ports'], (port, path) => {
      if (port.hostPort === undefined || port.hostPort === null || port.hostPort === 0) return;
      findings.push({
        path: formatPath([...path, 'hostPort']),
        message: `${label} binds hostPort ${JSON.stringify(port.hostPort)} on the node`,
        fix: 'remove hostPort and expose the port through a Service',
      });
    });
    const securityContext = [...location.path, 'securityContext'];
    if (getIn(container, ['securityContext', 'privileged']) === true)
      findings.push({
        path: formatPath([...securityContext, 'privileged']),
        message: `${label} is privileged (full access to the node)`,
        fix: 'remove securityContext.privileged (or set it to false)',
      });
    if (getIn(container, ['securityContext', 'windowsOptions', 'hostProcess']) === true)
      findings.push({
        path: formatPath([...securityContext, 'windowsOptions', 'hostProcess']),
        message: `${label} runs as a Windows host process`,
        fix: 'remove securityContext.windowsOptions.hostProcess',
      });
    const added = getIn(container, ['securityContext', 'capabilities', 'add']);
    if (Array.isArray(added)) {
      added.forEach((capability: unknown, index) => {
        const normalized = typeof capability === 'string' ? normalizeCapability(capability) : '';
        if (params.allowedCapabilities.includes(normalized)) return;
        findings.push({
          path: formatPath([...securityContext, 'capabilities', 'add', index]),
          message: `${label} adds capability ${JSON.stringify(capability)}, which is not in the allowed list`,
          fix: `drop it; containers may add only: ${params.allowedCapabilities.join(', ') || 'nothing'}`,
        });
      });
    }
  }
}

// ------------------------------------------------------- cross-namespace references

const rbacGroup = ['rbac.authorization.k8s.io'];
const traefikGroups = ['traefik.io', 'traefik.containo.us'];
const gatewayGroup = ['gateway.networking.k8s.io'];
const routeKinds = ['HTTPRoute', 'GRPCRoute', 'TCPRoute', 'TLSRoute', 'UDPRoute'];

function checkRoleBindingSubjects(scope: Scope): void {
  forEachItem(scope.object.subjects, ['subjects'], (subject, path) => {
    const name = typeof subject.name === 'string' ? subject.name : '';
    if (subject.kind === 'ServiceAccount') {
      checkReference(
        scope,
        subject.namespace,
        [...path, 'namespace'],
        `RoleBinding subject ServiceAccount "${name}"`,
      );
    } else if (subject.kind === 'User' && name.startsWith('system:serviceaccount:')) {
      const namespace = name.split(':')[2] ?? '';
      checkReference(scope, namespace, [...path, 'name'], `RoleBinding subject User "${name}"`);
    } else if (subject.kind === 'Group') {
      if (name.startsWith('system:serviceaccounts:')) {
        checkReference(
          scope,
          name.slice('system:serviceaccounts:'.length),
          [...path, 'name'],
          `RoleBinding subject Group "${name}"`,
        );
      } else if (
        ['system:serviceaccounts', 'system:authenticated', 'system:unauthenticated'].includes(name)
      ) {
        scope.findings.push({
          path: formatPath([...path, 'name']),
          message: `RoleBinding subject Group "${name}" grants the role to every ${name === 'system:serviceaccounts' ? 'service account in every namespace' : name === 'system:authenticated' ? 'authenticated user of the cluster' : 'anonymous user'}`,
          fix: "bind the tenant's own service accounts or users by name instead",
        });
      }
    }
  });
}

function checkTraefik(scope: Scope): void {
  const { object } = scope;
  const checkMiddlewareRef = (ref: Record<string, unknown>, path: readonly PathSegment[], what: string) => {
    checkReference(scope, ref.namespace, [...path, 'namespace'], what);
    // `<namespace>-<name>@kubernetescrd` names a middleware in any namespace and ignores `namespace`.
    if (typeof ref.name === 'string' && ref.name.endsWith('@kubernetescrd')) {
      const qualified = ref.name.slice(0, -'@kubernetescrd'.length);
      const own = scope.tenancy?.kind === 'tenant' ? scope.tenancy.namespace : undefined;
      const allowedPrefixes = [own, ...scope.params.sharedNamespaces].filter((ns): ns is string => !!ns);
      // `ingress-evil-auth` starts with the shared `ingress-` but may name middleware "auth" of
      // namespace `ingress-evil`: every existing namespace the name could start with must be allowed.
      const longer = [...qualified.matchAll(/-/g)]
        .map((dash) => qualified.slice(0, dash.index))
        .find(
          (candidate) =>
            !allowedPrefixes.includes(candidate) &&
            allowedPrefixes.some((ns) => candidate.startsWith(`${ns}-`)) &&
            scope.context.namespaces?.(candidate) !== undefined &&
            !mayReference(scope, candidate),
        );
      if (!allowedPrefixes.some((ns) => qualified.startsWith(`${ns}-`)) || longer !== undefined)
        scope.findings.push({
          path: formatPath([...path, 'name']),
          message:
            longer === undefined
              ? `${what} "${ref.name}" is a provider-qualified reference that may point into another namespace`
              : `${what} "${ref.name}" may name a middleware of namespace "${longer}", which this tenant may not reference`,
          fix: 'reference the middleware by plain name in the same namespace (or a shared namespace)',
        });
    }
  };
  if (isKind(object, ['IngressRoute', 'IngressRouteTCP', 'IngressRouteUDP'], traefikGroups)) {
    const kind = String(object.kind);
    forEachItem(getIn(object, ['spec', 'routes']), ['spec', 'routes'], (route, routePath) => {
      forEachItem(route.services, [...routePath, 'services'], (service, path) =>
        checkReference(
          scope,
          service.namespace,
          [...path, 'namespace'],
          `${kind} service "${String(service.name ?? '?')}"`,
        ),
      );
      forEachItem(route.middlewares, [...routePath, 'middlewares'], (middleware, path) =>
        checkMiddlewareRef(middleware, path, `${kind} middleware`),
      );
    });
    checkReference(
      scope,
      getIn(object, ['spec', 'tls', 'options', 'namespace']),
      ['spec', 'tls', 'options', 'namespace'],
      `${kind} TLS options`,
    );
    checkReference(
      scope,
      getIn(object, ['spec', 'tls', 'store', 'namespace']),
      ['spec', 'tls', 'store', 'namespace'],
      `${kind} TLS store`,
    );
  } else if (isKind(object, ['Middleware', 'MiddlewareTCP'], traefikGroups)) {
    forEachItem(
      getIn(object, ['spec', 'chain', 'middlewares']),
      ['spec', 'chain', 'middlewares'],
      (middleware, path) => checkMiddlewareRef(middleware, path, 'Middleware chain entry'),
    );
  } else if (isKind(object, ['TraefikService'], traefikGroups)) {
    forEachItem(
      getIn(object, ['spec', 'weighted', 'services']),
      ['spec', 'weighted', 'services'],
      (service, path) =>
        checkReference(scope, service.namespace, [...path, 'namespace'], 'TraefikService weighted service'),
    );
    checkReference(
      scope,
      getIn(object, ['spec', 'mirroring', 'namespace']),
      ['spec', 'mirroring', 'namespace'],
      'TraefikService mirroring service',
    );
    forEachItem(
      getIn(object, ['spec', 'mirroring', 'mirrors']),
      ['spec', 'mirroring', 'mirrors'],
      (mirror, path) =>
        checkReference(scope, mirror.namespace, [...path, 'namespace'], 'TraefikService mirror'),
    );
  }
}

function checkGatewayApi(scope: Scope): void {
  const { object } = scope;
  const kind = String(object.kind);
  if (isKind(object, routeKinds, gatewayGroup)) {
    forEachItem(getIn(object, ['spec', 'parentRefs']), ['spec', 'parentRefs'], (ref, path) =>
      checkReference(
        scope,
        ref.namespace,
        [...path, 'namespace'],
        `${kind} parentRef "${String(ref.name ?? '?')}"`,
      ),
    );
    const checkFilters = (filters: unknown, path: readonly PathSegment[]) =>
      forEachItem(filters, path, (filter, filterPath) => {
        const mirror = getIn(filter, ['requestMirror', 'backendRef']);
        if (isRecord(mirror))
          checkReference(
            scope,
            mirror.namespace,
            [...filterPath, 'requestMirror', 'backendRef', 'namespace'],
            `${kind} requestMirror backendRef`,
          );
      });
    forEachItem(getIn(object, ['spec', 'rules']), ['spec', 'rules'], (rule, rulePath) => {
      forEachItem(rule.backendRefs, [...rulePath, 'backendRefs'], (ref, path) => {
        checkReference(
          scope,
          ref.namespace,
          [...path, 'namespace'],
          `${kind} backendRef "${String(ref.name ?? '?')}"`,
        );
        checkFilters(ref.filters, [...path, 'filters']);
      });
      checkFilters(rule.filters, [...rulePath, 'filters']);
    });
  } else if (isKind(object, ['Gateway'], gatewayGroup)) {
    forEachItem(getIn(object, ['spec', 'listeners']), ['spec', 'listeners'], (listener, listenerPath) =>
      forEachItem(
        getIn(listener, ['tls', 'certificateRefs']),
        [...listenerPath, 'tls', 'certificateRefs'],
        (ref, path) =>
          checkReference(
            scope,
            ref.namespace,
            [...path, 'namespace'],
            `Gateway certificateRef "${String(ref.name ?? '?')}"`,
          ),
      ),
    );
  } else if (isKind(object, ['ReferenceGrant'], gatewayGroup)) {
    forEachItem(getIn(object, ['spec', 'from']), ['spec', 'from'], (from, path) =>
      checkReference(
        scope,
        from.namespace,
        [...path, 'namespace'],
        `ReferenceGrant from ${String(from.kind ?? '?')}`,
      ),
    );
  }
}

function checkCrossNamespace(scope: Scope): void {
  const { object } = scope;
  if (isKind(object, ['RoleBinding'], rbacGroup)) checkRoleBindingSubjects(scope);
  if (isKind(object, ['PersistentVolumeClaim'], [''])) {
    checkReference(
      scope,
      getIn(object, ['spec', 'dataSourceRef', 'namespace']),
      ['spec', 'dataSourceRef', 'namespace'],
      'PersistentVolumeClaim dataSourceRef',
    );
  }
  checkTraefik(scope);
  checkGatewayApi(scope);
}

// ------------------------------------------------------------------ services

function checkService(scope: Scope): void {
  const { object, findings } = scope;
  if (!isKind(object, ['Service'], [''])) return;
  if (isTenant(scope) && getIn(object, ['spec', 'type']) === 'ExternalName')
    findings.push({
      path: 'spec.type',
      message: `ExternalName Service points at ${JSON.stringify(getIn(object, ['spec', 'externalName']) ?? '')}; it can alias another tenant's or the control plane's services (CVE-2021-25740)`,
      fix: 'use a ClusterIP Service with a selector, or ask the platform team for an egress route',
    });
  const externalIPs = getIn(object, ['spec', 'externalIPs']);
  if (Array.isArray(externalIPs) && externalIPs.length > 0)
    findings.push({
      path: 'spec.externalIPs',
      message: `Service claims externalIPs ${JSON.stringify(externalIPs)}, which can intercept traffic to those addresses cluster-wide (CVE-2020-8554)`,
      fix: 'remove spec.externalIPs; expose the Service through the shared ingress instead',
    });
}

function checkEndpoints(scope: Scope): void {
  const { object } = scope;
  const isEndpoints = isKind(object, ['Endpoints'], ['']);
  if (!isEndpoints && !isKind(object, ['EndpointSlice'], ['discovery.k8s.io'])) return;
  scope.findings.push({
    path: isEndpoints
      ? object.subsets !== undefined
        ? 'subsets'
        : 'kind'
      : object.endpoints !== undefined
        ? 'endpoints'
        : 'kind',
    message: `hand-written ${String(object.kind)} "${String(object.metadata?.name ?? '?')}" can steer a Service to arbitrary addresses, including other tenants' pods (CVE-2021-25740)`,
    fix: 'give the Service a selector and let the control plane manage its endpoints',
  });
}

// --------------------------------------------------------------------- RBAC

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

function checkRbac(scope: Scope): void {
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

// ----------------------------------------------------------- network policies

interface SelectorRequirement {
  readonly key: string;
  readonly operator: string;
  readonly values: readonly string[];
  readonly path: readonly PathSegment[];
}

function requirementsOf(
  selector: Record<string, unknown>,
  path: readonly PathSegment[],
): SelectorRequirement[] {
  const out: SelectorRequirement[] = [];
  if (isRecord(selector.matchLabels))
    for (const [key, value] of Object.entries(selector.matchLabels))
      out.push({ key, operator: 'In', values: [String(value)], path: [...path, 'matchLabels', key] });
  forEachItem(selector.matchExpressions, [...path, 'matchExpressions'], (expression, expressionPath) => {
    out.push({
      key: String(expression.key ?? ''),
      operator: String(expression.operator ?? ''),
      values: Array.isArray(expression.values) ? expression.values.map(String) : [],
      path: [...expressionPath, 'key'],
    });
  });
  return out;
}

/**
 * The prefix length of an ipBlock CIDR that spans the internet however it is written, else
 * undefined: the API server accepts `0.0.0.0/00`, `::0/0` and `0:0:0:0:0:0:0:0/0` for `/0`, and
 * `0.0.0.0/1` + `128.0.0.0/1` cover everything too. Anything wider than /8 (IPv4) or /7 (IPv6)
 * counts, as for no-public-databases' load-balancer source ranges.
 */
export function internetWideCidr(cidr: string): { bits: number } | undefined {
  const match = /^\s*([^/\s]+)\/(\d{1,3})\s*$/.exec(cidr);
  if (!match) return undefined;
  const [, address = '', prefix = ''] = match;
  const bits = Number(prefix);
  const wide = address.includes(':') ? bits < 7 : /^\d{1,3}(?:\.\d{1,3}){3}$/.test(address) && bits < 8;
  return wide ? { bits } : undefined;
}

function isEmptySelector(selector: unknown): boolean {
  if (!isRecord(selector)) return true;
  return requirementsOf(selector, []).length === 0;
}

/** Checks one NetworkPolicy peer; `ingress` peers must stay within the tenant and shared namespaces. */
function checkPeer(
  scope: Scope,
  peer: Record<string, unknown>,
  path: readonly PathSegment[],
  ingress: boolean,
): void {
  const { findings, params } = scope;
  const cidr = getIn(peer, ['ipBlock', 'cidr']);
  const wide = ingress && typeof cidr === 'string' ? internetWideCidr(cidr) : undefined;
  if (wide)
    findings.push({
      path: formatPath([...path, 'ipBlock', 'cidr']),
      message: `ingress from ipBlock ${String(cidr)} admits ${wide.bits === 0 ? 'every address' : `a /${wide.bits} range (wider than /8 for IPv4, /7 for IPv6)`}, including pods of every namespace`,
      fix: 'admit traffic from the shared ingress namespace with a namespaceSelector on kubernetes.io/metadata.name, or list the client networks (at most /8)',
    });
  if (!('namespaceSelector' in peer)) return;
  const selector = isRecord(peer.namespaceSelector) ? peer.namespaceSelector : {};
  const selectorPath = [...path, 'namespaceSelector'];
  if (isEmptySelector(selector)) {
    if (!ingress) return;
    const podSelectorEmpty = isEmptySelector(peer.podSelector);
    findings.push({
      path: formatPath(selectorPath),
      message: podSelectorEmpty
        ? 'namespaceSelector: {} without a podSelector admits every pod in every namespace'
        : 'namespaceSelector: {} admits pods carrying these labels in every namespace, and any tenant can label its pods to match',
      fix: `select the allowed namespaces by name: namespaceSelector: {matchLabels: {kubernetes.io/metadata.name: <namespace>}}`,
    });
    return;
  }
  const trusted = new Set([NAME_LABEL, params.tenantLabel, ...params.trustedNamespaceLabels]);
  const requirements = requirementsOf(selector, selectorPath);
  const untrusted = requirements.filter((requirement) => !trusted.has(requirement.key));
  for (const requirement of untrusted)
    findings.push({
      path: formatPath(requirement.path),
      message: `namespaceSelector is keyed on label "${requirement.key}", which tenants can set on their own namespaces to match it (capsule#200)`,
      fix: `select namespaces by ${NAME_LABEL} (set by the API server) or the admin label ${params.tenantLabel}`,
    });
  if (!ingress || untrusted.length > 0) return;
  // Every trusted requirement must pin the selection to the tenant's own or shared namespaces.
  const own = scope.tenancy?.kind === 'tenant' ? scope.tenancy.tenant : undefined;
  const pinned = requirements.some(
    (requirement) =>
      requirement.operator === 'In' &&
      requirement.values.length > 0 &&
      (requirement.key === NAME_LABEL
        ? requirement.values.every((value) => mayReference(scope, value))
        : requirement.key === params.tenantLabel
          ? own !== undefined && requirement.values.every((value) => value === own)
          : false),
  );
  if (!pinned)
    findings.push({
      path: formatPath(selectorPath),
      message: `namespaceSelector admits namespaces outside ${ownDescription(scope)} and the shared namespaces (${sharedList(params)})`,
      fix: `admit only the tenant's own namespaces and shared namespaces, e.g. matchLabels: {${NAME_LABEL}: <shared namespace>}`,
    });
}

function checkNetworkPolicy(scope: Scope): void {
  const { object, findings } = scope;
  if (!isKind(object, ['NetworkPolicy'], ['networking.k8s.io'])) return;
  forEachItem(getIn(object, ['spec', 'ingress']), ['spec', 'ingress'], (rule, path) => {
    if (!Array.isArray(rule.from) || rule.from.length === 0) {
      findings.push({
        path: formatPath(rule.from === undefined ? path : [...path, 'from']),
        message: `ingress rule without sources (${rule.from === undefined ? 'no "from"' : '"from: []"'}) admits traffic from every pod of every namespace and from outside the cluster`,
        fix: 'list the allowed sources in "from": pods of this namespace (podSelector) or shared namespaces by kubernetes.io/metadata.name',
      });
      return;
    }
    forEachItem(rule.from, [...path, 'from'], (peer, peerPath) => checkPeer(scope, peer, peerPath, true));
  });
  const ingress = getIn(object, ['spec', 'ingress']);
  if (Array.isArray(ingress))
    ingress.forEach((rule: unknown, index) => {
      if (!isRecord(rule))
        findings.push({
          path: formatPath(['spec', 'ingress', index]),
          message: 'ingress rule is not a map',
          fix: 'write each ingress rule as {from: [...], ports: [...]}',
        });
    });
  forEachItem(getIn(object, ['spec', 'egress']), ['spec', 'egress'], (rule, path) =>
    forEachItem(rule.to, [...path, 'to'], (peer, peerPath) => checkPeer(scope, peer, peerPath, false)),
  );
}

// ------------------------------------------------------------------- policy

function stringList(value: unknown): string[] {
  return Array.isArray(value) ? value.map(String) : [];
}

export const namespaceIsolationPolicy: Policy<NamespaceIsolationParams> = {
  id: 'namespace-isolation',
  description:
    'Tenants stay in their namespaces: no host access, cross-namespace references, RBAC escalation or open NetworkPolicies.',
  help:
    'Tenant namespaces carry the admin label `tenantLabel` (default `tollgate.dev/tenant`; its value names the tenant), ' +
    'read from the Namespace object (CI: Namespace manifests in the same input). A namespace whose object is unknown is ' +
    'treated as a tenant namespace unless it is listed in `sharedNamespaces` or `systemNamespaces` (fail-safe). ' +
    'Everywhere except system namespaces: no hostNetwork/hostPID/hostIPC, hostPath volumes, hostPort, privileged ' +
    'containers, capabilities beyond `allowedCapabilities`, or Windows hostProcess (every container, init and ephemeral ' +
    'included); nothing in `default`; no Service externalIPs; no RoleBinding to cluster-admin; no Role or ClusterRole ' +
    'granting escalate, bind, impersonate or `*`; no ClusterRoleBinding unless every subject is a ServiceAccount of a ' +
    'system, shared or known non-tenant namespace (platform components). In tenant namespaces: references to ' +
    'other namespaces (RoleBinding subjects, Traefik routes, middlewares and TLS options, Gateway API parentRefs and ' +
    'backendRefs, ReferenceGrant from, PVC dataSourceRef) only to the same tenant or shared namespaces; no ExternalName ' +
    'Services; no hand-written Endpoints or EndpointSlices; NetworkPolicy ingress never open to every source or every ' +
    'namespace, and namespaceSelectors keyed only on `kubernetes.io/metadata.name`, the tenant label or ' +
    '`trustedNamespaceLabels`. Requests by `controlPlaneUsers` are judged on host access only.',
  paramsSchema: {
    type: 'object',
    properties: {
      tenantLabel: {
        type: 'string',
        minLength: 1,
        description: 'admin-controlled namespace label marking tenants',
      },
      sharedNamespaces: {
        type: 'array',
        items: { type: 'string', minLength: 1 },
        uniqueItems: true,
        description: 'namespaces every tenant may reference (ingress, monitoring)',
      },
      systemNamespaces: {
        type: 'array',
        items: { type: 'string', minLength: 1 },
        uniqueItems: true,
        description: `system namespaces in addition to ${builtinSystemNamespaces.join(', ')}`,
      },
      allowedCapabilities: {
        type: 'array',
        items: { type: 'string', minLength: 1 },
        uniqueItems: true,
        description: 'capabilities containers may add (default: the Pod Security baseline list)',
      },
      trustedNamespaceLabels: {
        type: 'array',
        items: { type: 'string', minLength: 1 },
        uniqueItems: true,
        description: 'further admin-only namespace label keys NetworkPolicy namespaceSelectors may use',
      },
      controlPlaneUsers: {
        type: 'array',
        items: { type: 'string', minLength: 1 },
        uniqueItems: true,
        description:
          'identities judged on host access only (default: the API server and its endpoint, RBAC and namespace controllers)',
      },
    },
  },
  admissionRules: [
    ...workloadAdmissionRules([
      'pods/ephemeralcontainers',
      'services',
      'endpoints',
      'persistentvolumeclaims',
      'configmaps',
      'serviceaccounts',
    ]),
    { apiGroups: ['discovery.k8s.io'], resources: ['endpointslices'], operations: ['CREATE', 'UPDATE'] },
    {
      apiGroups: ['networking.k8s.io'],
      resources: ['networkpolicies', 'ingresses'],
      operations: ['CREATE', 'UPDATE'],
    },
    {
      apiGroups: ['rbac.authorization.k8s.io'],
      resources: ['roles', 'rolebindings', 'clusterroles', 'clusterrolebindings'],
      operations: ['CREATE', 'UPDATE'],
    },
    {
      apiGroups: ['traefik.io', 'traefik.containo.us'],
      resources: [
        'ingressroutes',
        'ingressroutetcps',
        'ingressrouteudps',
        'middlewares',
        'middlewaretcps',
        'traefikservices',
      ],
      operations: ['CREATE', 'UPDATE'],
    },
    {
      apiGroups: ['gateway.networking.k8s.io'],
      resources: [
        'httproutes',
        'grpcroutes',
        'tcproutes',
        'tlsroutes',
        'udproutes',
        'gateways',
        'referencegrants',
      ],
      operations: ['CREATE', 'UPDATE'],
    },
  ],
  compile(raw) {
    const tenantLabel = typeof raw.tenantLabel === 'string' ? raw.tenantLabel : 'tollgate.dev/tenant';
    if (!labelKeyRe.test(tenantLabel))
      throw new ConfigError('tenantLabel', `"${tenantLabel}" is not a valid label key`);
    if (tenantLabel === NAME_LABEL)
      throw new ConfigError(
        'tenantLabel',
        `${NAME_LABEL} names every namespace; use a label that only admins set on tenant namespaces`,
      );
    const namespaces = (field: string): string[] => {
      const list = stringList(raw[field]);
      list.forEach((name, index) => {
        if (!namespaceNameRe.test(name) || name.length > 63)
          throw new ConfigError(`${field}/${index}`, `"${name}" is not a valid namespace name`);
      });
      return list;
    };
    const sharedNamespaces = namespaces('sharedNamespaces');
    const systemNamespaces = [...new Set([...builtinSystemNamespaces, ...namespaces('systemNamespaces')])];
    const both = sharedNamespaces.find((name) => systemNamespaces.includes(name));
    if (both)
      throw new ConfigError(
        'sharedNamespaces',
        `"${both}" is listed as both a shared and a system namespace`,
      );
    if (sharedNamespaces.includes('default'))
      throw new ConfigError('sharedNamespaces', '"default" cannot be shared: nothing may run in it');
    const trustedNamespaceLabels = stringList(raw.trustedNamespaceLabels);
    trustedNamespaceLabels.forEach((key, index) => {
      if (!labelKeyRe.test(key))
        throw new ConfigError(`trustedNamespaceLabels/${index}`, `"${key}" is not a valid label key`);
    });
    return {
      tenantLabel,
      sharedNamespaces,
      systemNamespaces,
      allowedCapabilities: (Array.isArray(raw.allowedCapabilities)
        ? stringList(raw.allowedCapabilities)
        : [...baselineCapabilities]
      ).map(normalizeCapability),
      trustedNamespaceLabels,
      controlPlaneUsers: Array.isArray(raw.controlPlaneUsers)
        ? stringList(raw.controlPlaneUsers)
        : [...defaultControlPlaneUsers],
    };
  },
  evaluate(input: PolicyInput, params, context) {
    const reason = skipDelete(input);
    if (reason) return skip(reason);
    const namespace = input.namespace || undefined;
    const scope: Scope = {
      params,
      context,
      object: input.object,
      tenancy: namespace === undefined ? undefined : classify(namespace, params, context),
      findings: [],
    };
    const controlPlane =
      input.userInfo?.username !== undefined && params.controlPlaneUsers.includes(input.userInfo.username);
    if (!isSystem(scope)) checkHostAccess(scope);
    if (!controlPlane) {
      if (namespace === 'default')
        scope.findings.push({
          path: 'metadata.namespace',
          message: `${String(input.object.kind ?? 'object')} "${String(input.object.metadata?.name ?? '?')}" is in the "default" namespace, which belongs to no tenant`,
          fix: "deploy it into the tenant's own namespace (set metadata.namespace)",
        });
      if (!isSystem(scope)) {
        checkRbac(scope);
        checkService(scope);
      }
      if (isTenant(scope)) {
        checkEndpoints(scope);
        checkCrossNamespace(scope);
        checkNetworkPolicy(scope);
      }
    }
    return scope.findings;
  },
};
