/**
 * Cross-namespace references for namespace-isolation: Traefik routes, middlewares, services and
 * TLS options, Gateway API routes, Gateways and ReferenceGrants, PVC data sources and RoleBinding
 * subjects.
 */
import type { PathSegment } from '../engine/path.ts';
import { getIn, isRecord } from '../engine/workloads.ts';
import { checkRoleBindingSubjects, rbacGroup } from './rbac.ts';
import type { Scope } from './tenancy.ts';
import { checkReference, forEachItem, isKind } from './tenancy.ts';
import { checkAuthorizationPolicy, checkIstio } from './istio.ts';
import { checkTraefik } from './traefik.ts';

const gatewayGroup = ['gateway.networking.k8s.io'];
const routeKinds = ['HTTPRoute', 'GRPCRoute', 'TCPRoute', 'TLSRoute', 'UDPRoute'];

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
  checkIstio(scope);
  checkAuthorizationPolicy(scope);
  checkGatewayApi(scope);
}
