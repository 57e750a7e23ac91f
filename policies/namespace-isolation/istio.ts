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
import { getIn, isRecord } from '../engine/workloads.ts';
import type { Scope } from './tenancy.ts';
import { checkReference, forEachItem, isKind } from './tenancy.ts';

const istioGroups = ['networking.istio.io'];

/** The namespace a cluster-local host names (`name.ns.svc[.cluster.local]`), `*` for a wildcard over services. */
export function hostNamespace(host: string): string | undefined {
  const lower = host.toLowerCase().replace(/\.$/, '');
  if (lower === '*' || /^\*\.(svc\.)?cluster\.local$/.test(lower) || lower === '*.svc' || lower === '*.local')
    return '*';
  const match = /^([^.]+)\.([^.]+)\.svc(\.cluster\.local)?$/.exec(lower);
  if (!match) return undefined;
  return match[2];
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
