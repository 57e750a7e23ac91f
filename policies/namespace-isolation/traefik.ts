/**
 * Traefik references for namespace-isolation. Traefik reaches other namespaces in two ways: an
 * explicit `namespace` field, and a provider-qualified name `<name>@<provider>`, which Traefik
 * uses verbatim and ignores `namespace` for. With the CRD provider the name is
 * `<namespace>-<name>@kubernetescrd` (or `<namespace>_<name>@kubernetescrd` with safeNaming); any
 * other provider (`@file`, `@kubernetes`, `@kubernetesgateway`, `@internal`, ...) names something
 * outside the namespace altogether. Both spellings are followed in every place Traefik takes a
 * reference: IngressRoute(TCP/UDP) services, middlewares, servers transports, TLS options and
 * stores and parentRefs; Middleware chains and error pages; TraefikService weighted and mirroring
 * services; and the annotations of Kubernetes Ingresses and Services.
 */
import type { PathSegment } from '../engine/path.ts';
import { formatPath } from '../engine/path.ts';
import { getIn, isRecord } from '../engine/workloads.ts';
import type { Scope } from './tenancy.ts';
import { checkReference, forEachItem, isKind, mayReference } from './tenancy.ts';
import { hostNamespace } from './istio.ts';

const traefikGroups = ['traefik.io', 'traefik.containo.us'];

/** Traefik's annotations on Kubernetes Ingresses and Services that hold provider-qualified names. */
export const traefikReferenceAnnotations: Readonly<
  Record<string, { kinds: readonly string[]; list: boolean }>
> = {
  'traefik.ingress.kubernetes.io/router.middlewares': { kinds: ['Ingress'], list: true },
  'traefik.ingress.kubernetes.io/router.tls.options': { kinds: ['Ingress'], list: false },
  'traefik.ingress.kubernetes.io/service.serverstransport': { kinds: ['Service'], list: false },
};

/**
 * The name Traefik's CRD provider gives an object `name` of `namespace` and finds a reference by:
 * `<namespace>-<name>` with every run of characters other than letters and digits turned into one
 * `-` (its provider.Normalize(makeID(namespace, name))). The namespace boundary is lost, so
 * `tenant-a` + `b-auth` and `tenant-a-b` + `auth` (or `tenant-a` + `b.auth`) are the same name, and
 * Traefik uses whichever object it read last for both.
 */
export function traefikCrdName(namespace: string, name: string): string {
  return `${namespace}-${name}`
    .split(/[^\p{L}\p{N}]+/u)
    .filter((part) => part !== '')
    .join('-');
}

/**
 * A namespace other than `owner` whose objects the Traefik name `id` may also stand for (a prefix
 * of `id` ending at a separator), which exists and which this tenant may not reference.
 */
function foreignNamespaceOf(scope: Scope, id: string, owner: string | undefined): string | undefined {
  for (const separator of id.matchAll(/[-_]/g)) {
    const candidate = id.slice(0, separator.index);
    if (candidate === owner || candidate === '') continue;
    if (scope.context.namespaces?.(candidate) === undefined || mayReference(scope, candidate)) continue;
    return candidate;
  }
  return undefined;
}

/**
 * Reports a plain-name reference (no `@provider`) whose Traefik name `<namespace>-<name>` is also
 * the name of an object another tenant's namespace may hold: Traefik would resolve the reference to
 * whichever of the two it read last.
 */
function checkPlainName(
  scope: Scope,
  ref: Record<string, unknown>,
  path: readonly PathSegment[],
  what: string,
  key: 'name' | 'serversTransport' = 'name',
): void {
  const name = ref[key];
  if (typeof name !== 'string' || name === '' || name.includes('@')) return;
  const own = scope.tenancy?.kind === 'tenant' ? scope.tenancy.namespace : undefined;
  const namespace =
    key === 'name' && typeof ref.namespace === 'string' && ref.namespace !== '' ? ref.namespace : own;
  if (namespace === undefined) return;
  const port = key === 'name' && ref.kind !== 'TraefikService' ? ref.port : undefined;
  const id = traefikCrdName(
    namespace,
    port === undefined || port === null || port === '' || port === 0 ? name : `${name}-${String(port)}`,
  );
  const foreign = foreignNamespaceOf(scope, id, namespace);
  if (foreign === undefined) return;
  scope.findings.push({
    path: formatPath([...path, key]),
    message: `${what} "${name}" is "${id}" to Traefik, which is also the name of an object of namespace "${foreign}" (Traefik joins namespace and name with "-"): Traefik may resolve it to that tenant's object`,
    fix: `rename the referenced object so that "${namespace}-<name>" cannot be read as "${foreign}-<another name>" (its name must not start with "${id.slice(namespace.length + 1, foreign.length + 1).replace(/^-/, '')}-")`,
    details: { namespace: foreign },
  });
}

/** Traefik CRDs whose objects other resources reference by Traefik name. */
const referencedKinds = [
  'Middleware',
  'MiddlewareTCP',
  'TraefikService',
  'TLSOption',
  'TLSStore',
  'ServersTransport',
  'ServersTransportTCP',
];

/**
 * Reports a referenced Traefik object (Middleware, TraefikService, TLSOption, ...) whose Traefik
 * name `<namespace>-<name>` another tenant's namespace could also produce: it would stand in for
 * that tenant's object of the same Traefik name in every reference to it.
 */
function checkDefinedName(scope: Scope): void {
  const { object } = scope;
  if (!isKind(object, referencedKinds, traefikGroups)) return;
  const own = scope.tenancy?.kind === 'tenant' ? scope.tenancy.namespace : undefined;
  const name = object.metadata?.name;
  if (own === undefined || typeof name !== 'string') return;
  const id = traefikCrdName(own, name);
  const foreign = foreignNamespaceOf(scope, id, own);
  if (foreign === undefined) return;
  scope.findings.push({
    path: 'metadata.name',
    message: `${String(object.kind)} "${name}" is "${id}" to Traefik, which is also the Traefik name of an object of namespace "${foreign}" (Traefik joins namespace and name with "-"): references to that tenant's object may resolve to this one`,
    fix: `choose a name such that "${own}-<name>" does not begin with "${foreign}-"`,
    details: { namespace: foreign },
  });
}

/** Traefik providers whose object names start with the Kubernetes namespace (`<namespace>-<name>`). */
const namespacedProviders = new Set(['kubernetescrd', 'kubernetes', 'kubernetesgateway']);

/**
 * Reports a provider-qualified Traefik name that may leave the tenant. A name of a namespaced
 * provider (`@kubernetescrd`, `@kubernetes`, `@kubernetesgateway`) must start with the tenant's
 * own or a shared namespace. A service of any other provider (`api@internal`, `backend@file`)
 * routes traffic to something no tenant owns and is reported unless the bundle lists that exact
 * name in `traefikProviderReferences`; middlewares, TLS options and transports the platform
 * defines in other providers (`redirect-https@file`) are configuration, not a way out.
 */
function checkQualifiedName(
  scope: Scope,
  value: unknown,
  path: readonly PathSegment[],
  what: string,
  target: 'service' | 'configuration' = 'configuration',
): void {
  if (typeof value !== 'string') return;
  const at = value.indexOf('@');
  if (at < 0) return;
  const name = value.slice(0, at);
  const provider = value.slice(at + 1);
  if (!namespacedProviders.has(provider)) {
    if (target === 'configuration' || scope.params.traefikProviderReferences.includes(value)) return;
    scope.findings.push({
      path: formatPath(path),
      message: `${what} "${value}" routes to a service of Traefik's "${provider}" provider, which no tenant namespace owns (Traefik ignores any namespace field for it)`,
      fix: 'route to a Service or TraefikService of the same namespace by plain name, or ask the platform team to list this exact name in traefikProviderReferences',
      details: { provider },
    });
    return;
  }
  const own = scope.tenancy?.kind === 'tenant' ? scope.tenancy.namespace : undefined;
  const allowed = [own, ...scope.params.sharedNamespaces].filter((ns): ns is string => !!ns);
  const startsWithin = (candidate: string) =>
    allowed.some((ns) => candidate.startsWith(`${ns}-`) || candidate.startsWith(`${ns}_`));
  // `ingress-evil-auth` starts with the shared `ingress-` but may name "auth" of namespace
  // `ingress-evil` (and `tenant-a-x` "a-x" of namespace `tenant`): every existing namespace the
  // name could start with must be allowed too.
  const longer = foreignNamespaceOf(scope, name, undefined);
  if (startsWithin(name) && longer === undefined) return;
  scope.findings.push({
    path: formatPath(path),
    message:
      longer === undefined
        ? `${what} "${value}" is a provider-qualified reference that may point into another namespace`
        : `${what} "${value}" is a provider-qualified reference that may name an object of namespace "${longer}", which this tenant may not reference`,
    fix: 'reference the object by plain name in the same namespace (or name a shared namespace)',
  });
}

/** A middleware reference: `namespace` and a possibly provider-qualified `name`. */
function checkMiddlewareRef(
  scope: Scope,
  ref: Record<string, unknown>,
  path: readonly PathSegment[],
  what: string,
) {
  checkReference(scope, ref.namespace, [...path, 'namespace'], what);
  checkQualifiedName(scope, ref.name, [...path, 'name'], what);
  checkPlainName(scope, ref, path, what);
}

/** A Traefik load-balancer spec (route service, weighted service, mirror, error-page service). */
function checkService(
  scope: Scope,
  service: Record<string, unknown>,
  path: readonly PathSegment[],
  what: string,
) {
  const label = `${what} "${String(service.name ?? '?')}"`;
  checkReference(scope, service.namespace, [...path, 'namespace'], label);
  checkQualifiedName(scope, service.name, [...path, 'name'], label, 'service');
  checkQualifiedName(
    scope,
    service.serversTransport,
    [...path, 'serversTransport'],
    `${label} serversTransport`,
  );
  checkPlainName(scope, service, path, `${what}`);
  // A servers transport is always looked up in the referencing object's namespace.
  checkPlainName(scope, service, path, `${label} serversTransport`, 'serversTransport');
}

/** An `{name, namespace}` reference to a TLSOption or TLSStore. */
function checkObjectRef(scope: Scope, value: unknown, path: readonly PathSegment[], what: string) {
  if (!isRecord(value)) return;
  checkReference(scope, value.namespace, [...path, 'namespace'], what);
  checkQualifiedName(scope, value.name, [...path, 'name'], what);
  checkPlainName(scope, value, path, what);
}

/** Reports Traefik references (fields and annotations) that leave the tenant's namespaces. */
export function checkTraefik(scope: Scope): void {
  const { object } = scope;
  checkAnnotations(scope);
  checkDefinedName(scope);
  if (isKind(object, ['IngressRoute', 'IngressRouteTCP', 'IngressRouteUDP'], traefikGroups)) {
    const kind = String(object.kind);
    forEachItem(getIn(object, ['spec', 'routes']), ['spec', 'routes'], (route, routePath) => {
      forEachItem(route.services, [...routePath, 'services'], (service, path) =>
        checkService(scope, service, path, `${kind} service`),
      );
      forEachItem(route.middlewares, [...routePath, 'middlewares'], (middleware, path) =>
        checkMiddlewareRef(scope, middleware, path, `${kind} middleware`),
      );
    });
    checkObjectRef(
      scope,
      getIn(object, ['spec', 'tls', 'options']),
      ['spec', 'tls', 'options'],
      `${kind} TLS options`,
    );
    checkObjectRef(
      scope,
      getIn(object, ['spec', 'tls', 'store']),
      ['spec', 'tls', 'store'],
      `${kind} TLS store`,
    );
    forEachItem(getIn(object, ['spec', 'parentRefs']), ['spec', 'parentRefs'], (ref, path) =>
      checkReference(
        scope,
        ref.namespace,
        [...path, 'namespace'],
        `${kind} parentRef "${String(ref.name ?? '?')}"`,
      ),
    );
  } else if (isKind(object, ['Middleware', 'MiddlewareTCP'], traefikGroups)) {
    forEachItem(
      getIn(object, ['spec', 'chain', 'middlewares']),
      ['spec', 'chain', 'middlewares'],
      (ref, path) => checkMiddlewareRef(scope, ref, path, 'Middleware chain entry'),
    );
    checkForwardAuth(scope, getIn(object, ['spec', 'forwardAuth', 'address']));
    const errors = getIn(object, ['spec', 'errors', 'service']);
    if (isRecord(errors))
      checkService(scope, errors, ['spec', 'errors', 'service'], 'Middleware error-page service');
  } else if (isKind(object, ['TraefikService'], traefikGroups)) {
    forEachItem(
      getIn(object, ['spec', 'weighted', 'services']),
      ['spec', 'weighted', 'services'],
      (service, path) => checkService(scope, service, path, 'TraefikService weighted service'),
    );
    const mirroring = getIn(object, ['spec', 'mirroring']);
    if (isRecord(mirroring)) {
      checkService(scope, mirroring, ['spec', 'mirroring'], 'TraefikService mirroring service');
      forEachItem(mirroring.mirrors, ['spec', 'mirroring', 'mirrors'], (mirror, path) =>
        checkService(scope, mirror, path, 'TraefikService mirror'),
      );
    }
  }
}

/** Traefik's provider-qualified annotations on Ingresses and Services (comma-separated lists for middlewares). */
function checkAnnotations(scope: Scope): void {
  const { object } = scope;
  const annotations = getIn(object, ['metadata', 'annotations']);
  if (!isRecord(annotations)) return;
  const kind = typeof object.kind === 'string' ? object.kind : '';
  const core =
    isKind(object, ['Service'], ['']) || isKind(object, ['Ingress'], ['networking.k8s.io', 'extensions']);
  if (!core) return;
  for (const [key, { kinds, list }] of Object.entries(traefikReferenceAnnotations)) {
    const value = annotations[key];
    if (typeof value !== 'string' || !kinds.includes(kind)) continue;
    const path = ['metadata', 'annotations', key];
    const names = list ? value.split(',') : [value];
    for (const name of names) {
      const trimmed = name.trim();
      if (trimmed === '') continue;
      if (!trimmed.includes('@')) {
        // Traefik's Ingress provider requires the provider suffix; without it the reference is broken, not dangerous.
        continue;
      }
      checkQualifiedName(scope, trimmed, path, `annotation ${key} entry`);
    }
  }
}

/**
 * A forwardAuth middleware makes Traefik (in the shared ingress namespace, which tenants'
 * NetworkPolicies admit) call its address with each request's headers: an address at another
 * tenant's Service (`http://odoo.tenant-b.svc:8069`, or `odoo.tenant-b` through the resolver's
 * search path) reaches past that tenant's network isolation.
 */
function checkForwardAuth(scope: Scope, address: unknown): void {
  if (typeof address !== 'string') return;
  const host = /^[a-z][a-z0-9+.-]*:\/\/(?:[^@/]*@)?(\[[^\]]*\]|[^:/?#]*)/i.exec(address.trim())?.[1];
  if (!host) return;
  const path = ['spec', 'forwardAuth', 'address'];
  const namespace = hostNamespace(host);
  const labels = host.toLowerCase().split('.');
  const short =
    labels.length === 2 && scope.context.namespaces?.(labels[1] ?? '') !== undefined ? labels[1] : undefined;
  const target = namespace ?? short;
  if (target === undefined || target === '*') return;
  checkReference(scope, target, path, `Middleware forwardAuth address "${address}"`);
}
