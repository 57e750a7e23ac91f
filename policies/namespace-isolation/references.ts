/**
 * Cross-namespace references for namespace-isolation: Traefik routes, middlewares, services and
 * TLS options, Gateway API routes, Gateways and ReferenceGrants, PVC data sources and RoleBinding
 * subjects.
 */
import type { PathSegment } from '../engine/path.ts';
import { formatPath } from '../engine/path.ts';
import { getIn, isRecord } from '../engine/workloads.ts';
import { checkRoleBindingSubjects, rbacGroup } from './rbac.ts';
import type { Scope } from './tenancy.ts';
import { checkReference, forEachItem, isKind, mayReference } from './tenancy.ts';

const traefikGroups = ['traefik.io', 'traefik.containo.us'];
const gatewayGroup = ['gateway.networking.k8s.io'];
const routeKinds = ['HTTPRoute', 'GRPCRoute', 'TCPRoute', 'TLSRoute', 'UDPRoute'];

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

/** Reports references from a tenant object to namespaces outside its tenant and the shared ones. */
export function checkCrossNamespace(scope: Scope): void {
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
