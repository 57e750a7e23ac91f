/**
 * Istio networking resources for namespace-isolation. A VirtualService, DestinationRule or
 * ServiceEntry names services by host, and Istio applies it to every workload that calls that host
 * in every namespace it is exported to (by default, all): a tenant's resource for another
 * namespace's host (`odoo.tenant-b.svc.cluster.local`) or for a wildcard host (`*`,
 * `*.svc.cluster.local`) reroutes other tenants' traffic. Route destinations and mirrors in another
 * namespace, gateways of another namespace (`ns/name`), exports to named namespaces, and
 * ServiceEntry addresses spanning the internet (which capture every outbound connection) leave the
 * tenant too.
 */
import { describeWideRange, internetWideCidr } from '../engine/cidr.ts';
import type { PathSegment } from '../engine/path.ts';
import { formatPath } from '../engine/path.ts';
import { isServiceWildcard, meshServiceOf } from '../engine/mesh-hosts.ts';
import { getIn, isRecord } from '../engine/workloads.ts';
import type { Scope } from './tenancy.ts';
import { checkReference, forEachItem, isKind } from './tenancy.ts';

const istioGroups = ['networking.istio.io'];
const istioSecurityGroups = ['security.istio.io'];

/** The namespace a cluster-local host names (`name.ns.svc[.cluster.local]`), `*` for a wildcard over services. */
export function hostNamespace(host: string): string | undefined {
  if (isServiceWildcard(host)) return '*';
  // A short name is the resource's own namespace: nothing to check.
  return host.includes('.') ? meshServiceOf(host, undefined)?.namespace : undefined;
}

function checkHost(scope: Scope, value: unknown, path: readonly PathSegment[], what: string): void {
  if (typeof value !== 'string') return;
  const namespace = hostNamespace(value);
  if (namespace === undefined) return;
  if (namespace === '*' || namespace.includes('*')) {
    scope.findings.push({
      path: formatPath(path),
      message: `${what} "${value}" matches the services of every namespace, so this configuration applies to other tenants' traffic`,
      fix: "name the tenant's own services (<service>.<own namespace>.svc.cluster.local) or an external host",
    });
    return;
  }
  checkReference(scope, namespace, path, `${what} "${value}"`);
}

function checkRoutes(scope: Scope, routes: unknown, path: readonly PathSegment[], what: string): void {
  forEachItem(routes, path, (route, routePath) => {
    forEachItem(route.route, [...routePath, 'route'], (destination, destinationPath) =>
      checkHost(
        scope,
        getIn(destination, ['destination', 'host']),
        [...destinationPath, 'destination', 'host'],
        `${what} destination`,
      ),
    );
    checkHost(scope, getIn(route, ['mirror', 'host']), [...routePath, 'mirror', 'host'], `${what} mirror`);
    forEachItem(route.mirrors, [...routePath, 'mirrors'], (mirror, mirrorPath) =>
      checkHost(
        scope,
        getIn(mirror, ['destination', 'host']),
        [...mirrorPath, 'destination', 'host'],
        `${what} mirror`,
      ),
    );
  });
}

/** Reports Istio hosts, destinations, gateways, exports and addresses that leave the tenant. */
export function checkIstio(scope: Scope): void {
  const { object } = scope;
  if (!isKind(object, ['VirtualService', 'DestinationRule', 'ServiceEntry'], istioGroups)) return;
  const kind = String(object.kind);
  const spec = isRecord(object.spec) ? object.spec : {};
  if (Array.isArray(spec.exportTo))
    spec.exportTo.forEach((value: unknown, index) => {
      if (typeof value === 'string' && value !== '*' && value !== '.' && value !== '~')
        checkReference(scope, value, ['spec', 'exportTo', index], `${kind} exportTo`);
    });
  if (kind === 'DestinationRule') {
    checkHost(scope, spec.host, ['spec', 'host'], 'DestinationRule host');
    return;
  }
  if (Array.isArray(spec.hosts))
    spec.hosts.forEach((host: unknown, index) =>
      checkHost(scope, host, ['spec', 'hosts', index], `${kind} host`),
    );
  if (kind === 'VirtualService') {
    if (Array.isArray(spec.gateways))
      spec.gateways.forEach((gateway: unknown, index) => {
        if (typeof gateway !== 'string' || !gateway.includes('/')) return;
        checkReference(
          scope,
          gateway.slice(0, gateway.indexOf('/')),
          ['spec', 'gateways', index],
          `VirtualService gateway "${gateway}"`,
        );
      });
    for (const protocol of ['http', 'tcp', 'tls'] as const)
      checkRoutes(scope, spec[protocol], ['spec', protocol], `VirtualService ${protocol} route`);
  }
  if (kind === 'ServiceEntry' && Array.isArray(spec.addresses))
    spec.addresses.forEach((address: unknown, index) => {
      if (typeof address !== 'string') return;
      const wide = internetWideCidr(address.includes('/') ? address : `${address}/32`);
      if (wide)
        scope.findings.push({
          path: formatPath(['spec', 'addresses', index]),
          message: `ServiceEntry address ${JSON.stringify(address)} covers ${describeWideRange(wide)}: the mesh would send every workload's connections to those addresses to this entry's endpoints`,
          fix: 'list only the addresses of the external service (at most a /8)',
        });
    });
}

/** Whether a source principal pattern matches principals of any namespace (`*`, `cluster.local/*`, `*\/sa/x`). */
function anyPrincipal(value: string): boolean {
  if (!value.includes('*')) return false;
  // A SPIFFE principal is <trust domain>/ns/<namespace>/sa/<account>: a pattern that fixes the
  // namespace stays in it.
  const fixed = /(^|\/)ns\/([^/*]+)\//.exec(value);
  return fixed === null;
}

/** Why one `from[].source` admits anyone, or undefined when one of its fields narrows it. */
function openSource(source: unknown): string | undefined {
  if (!isRecord(source)) return 'it names no source';
  const positive: [string, (value: string) => boolean][] = [
    ['principals', anyPrincipal],
    ['requestPrincipals', (value) => value === '*'],
    ['namespaces', (value) => value.includes('*')],
    ['ipBlocks', (value) => internetWideCidr(value.includes('/') ? value : `${value}/32`) !== undefined],
    [
      'remoteIpBlocks',
      (value) => internetWideCidr(value.includes('/') ? value : `${value}/32`) !== undefined,
    ],
  ];
  const reasons: string[] = [];
  for (const [field, any] of positive) {
    const values = source[field];
    if (values === undefined || values === null) continue;
    if (!Array.isArray(values) || values.length === 0) continue;
    const wide = values.find((value: unknown) => typeof value === 'string' && any(value));
    if (wide === undefined) return undefined;
    reasons.push(`${field} ${JSON.stringify(wide)}`);
  }
  return reasons.length > 0
    ? `its source matches anyone (${reasons.join(', ')})`
    : 'its source sets only exclusions (not…) or nothing';
}

/**
 * Whether a rule's `to` narrows what callers may do below a whole port (paths, methods, hosts): a
 * TCP service such as a database has nothing but ports, so `ports` alone narrows nothing.
 */
function narrowedByOperations(to: unknown): boolean {
  if (!Array.isArray(to) || to.length === 0) return false;
  return to.every((entry: unknown) => {
    const operation = isRecord(entry) ? entry.operation : undefined;
    if (!isRecord(operation)) return false;
    return Object.keys(operation).some(
      (key) =>
        key !== 'ports' && key !== 'notPorts' && Array.isArray(operation[key]) && operation[key].length > 0,
    );
  });
}

/** Whether a rule's `when` conditions narrow who may call (a condition on anything but a wide address range). */
function narrowedByConditions(conditions: unknown): boolean {
  if (!Array.isArray(conditions)) return false;
  return conditions.some((condition: unknown) => {
    if (!isRecord(condition) || !Array.isArray(condition.values) || condition.values.length === 0)
      return false;
    if (condition.key !== 'source.ip' && condition.key !== 'remote.ip') return true;
    return !condition.values.some(
      (value: unknown) =>
        typeof value === 'string' &&
        internetWideCidr(value.includes('/') ? value : `${value}/32`) !== undefined,
    );
  });
}

/**
 * An Istio AuthorizationPolicy with action ALLOW (the default) whose rule admits any source to every
 * operation of the workloads it selects opens them to every workload of every namespace in the mesh
 * (and to whoever reaches them through a gateway), as a NetworkPolicy `from: []` would. Istio's
 * semantics: no rules (`spec: {}`) allows nothing; a rule without `from` matches any source; the
 * entries of `from` are ORed and the fields of one source ANDed; `not…` fields only exclude.
 */
export function checkAuthorizationPolicy(scope: Scope): void {
  const { object } = scope;
  if (!isKind(object, ['AuthorizationPolicy'], istioSecurityGroups)) return;
  const spec = isRecord(object.spec) ? object.spec : {};
  const action = spec.action ?? 'ALLOW';
  if (action !== 'ALLOW') return;
  const selects = isRecord(spec.selector) || spec.targetRef !== undefined || spec.targetRefs !== undefined;
  const target = selects
    ? 'the workloads it selects'
    : `every workload of namespace ${String(object.metadata?.namespace ?? '?')}`;
  forEachItem(spec.rules, ['spec', 'rules'], (rule, rulePath) => {
    if (narrowedByOperations(rule.to)) return;
    if (narrowedByConditions(rule.when)) return;
    let why: string | undefined;
    let at: readonly PathSegment[] = rulePath;
    if (!Array.isArray(rule.from) || rule.from.length === 0) why = 'it has no from';
    else
      rule.from.forEach((from: unknown, index) => {
        if (why !== undefined) return;
        const open = openSource(isRecord(from) ? from.source : undefined);
        if (open !== undefined) {
          why = open;
          at = [...rulePath, 'from', index];
        }
      });
    if (why === undefined) return;
    scope.findings.push({
      path: formatPath(at),
      message: `AuthorizationPolicy rule allows any caller (${why}) to whole ports of ${target}: every workload of every tenant in the mesh, and whoever reaches it through a gateway, may call it`,
      fix: 'name the callers in from[].source: principals of your own namespace (cluster.local/ns/<own namespace>/sa/<account>) or namespaces: [<own namespace>]',
    });
  });
}
