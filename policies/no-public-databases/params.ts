/**
 * Bundle parameters of no-public-databases: their JSON Schema and their compilation into the
 * frozen lookup structures the policy reads.
 */
import type { Cidr } from '../engine/cidr.ts';
import { compileCidrs } from '../engine/cidr.ts';
import { ConfigError } from '../engine/errors/index.ts';
import {
  isImageReferenceError,
  normalizeRegistryPrefix,
  parseImageReference,
} from '../engine/image-reference.ts';
import { defaultImages, defaultNames, defaultPorts } from './catalog.ts';
import { loadBalancerProviderIds } from './load-balancers.ts';
import type { LoadBalancerProvider } from './load-balancers.ts';

/** Zalando `postgresql` fields that request a LoadBalancer Service. */
export const zalandoLoadBalancerFields = [
  'enableMasterLoadBalancer',
  'enableReplicaLoadBalancer',
  'enableMasterPoolerLoadBalancer',
  'enableReplicaPoolerLoadBalancer',
] as const;

/** One of {@link zalandoLoadBalancerFields}. */
export type ZalandoLoadBalancerField = (typeof zalandoLoadBalancerFields)[number];

/** Compiled parameters of no-public-databases. */
export interface NoPublicDatabasesParams {
  /** Database ports and the product named in messages. */
  readonly ports: ReadonlyMap<number, string>;
  /** Normalized repository prefixes of database images, as `domain/path` (`domain/` for a whole host). */
  readonly images: ReadonlySet<string>;
  /** Lower-case database product names (labels, port names, image base names). */
  readonly names: ReadonlySet<string>;
  /** Providers whose internal load-balancer annotations count. */
  readonly loadBalancerProviders: ReadonlySet<LoadBalancerProvider>;
  /** Ingress classes served only on internal networks. */
  readonly internalIngressClasses: ReadonlySet<string>;
  /** Traefik entry points reachable only from internal networks. */
  readonly internalEntryPoints: ReadonlySet<string>;
  /** Gateways (`namespace/name`, or `name` in the route's namespace) listening only internally. */
  readonly internalGateways: ReadonlySet<string>;
  /** Zalando fields the operator turns on when a manifest leaves them out. */
  readonly zalandoLoadBalancerDefaults: ReadonlySet<ZalandoLoadBalancerField>;
  /** Networks of Service externalIPs reachable only internally (as an internal load balancer is). */
  readonly internalExternalIPs: readonly Cidr[];
}

const portItem = {
  oneOf: [
    { type: 'integer', minimum: 1, maximum: 65535 },
    { type: 'string', pattern: '^[0-9]{1,5}-[0-9]{1,5}$' },
  ],
};
const stringList = (description: string) => ({
  type: 'array',
  items: { type: 'string', minLength: 1 },
  description,
});

/** JSON Schema of the bundle parameters. */
export const paramsSchema: Record<string, unknown> = {
  type: 'object',
  properties: {
    useDefaults: {
      type: 'boolean',
      description:
        'keep the built-in ports, images and names (default true); false makes the lists below replace them',
    },
    ports: {
      type: 'array',
      items: portItem,
      description: 'extra database ports: numbers or ranges "27017-27019"',
    },
    excludePorts: {
      type: 'array',
      items: portItem,
      description: 'ports removed from the list (e.g. 9000 when MinIO, not ClickHouse, listens there)',
    },
    images: stringList('extra database image repository prefixes, e.g. registry.corp.example/erp/postgres'),
    names: stringList(
      'extra database names for app.kubernetes.io/name labels, port names and image base names',
    ),
    loadBalancerProviders: {
      type: 'array',
      items: { enum: [...loadBalancerProviderIds] },
      uniqueItems: true,
      description: 'providers whose internal load-balancer annotations count (default all: azure, gke, aws)',
    },
    internalIngressClasses: stringList('ingress classes whose controllers listen only on internal networks'),
    internalEntryPoints: stringList('Traefik entry points reachable only from internal networks'),
    internalGateways: stringList('Gateway API gateways (namespace/name or name) listening only internally'),
    internalExternalIPs: {
      ...stringList(
        'networks (CIDRs) of Service externalIPs reachable only from internal networks; a database Service may claim those (default: none)',
      ),
      examples: [['10.20.0.0/24']],
    },
    zalandoLoadBalancerDefaults: {
      type: 'array',
      items: { enum: [...zalandoLoadBalancerFields] },
      uniqueItems: true,
      description:
        'Zalando postgresql fields the operator enables when absent (its enable_*_load_balancer settings)',
    },
  },
};

function portRange(value: unknown, path: string): [number, number] {
  if (typeof value === 'number') return [value, value];
  const [from, to] = String(value).split('-').map(Number) as [number, number];
  if (!(from >= 1 && to <= 65535 && from <= to))
    throw new ConfigError(path, `"${String(value)}" is not a port range between 1 and 65535`);
  return [from, to];
}

function strings(value: unknown): string[] {
  return Array.isArray(value) ? value.map(String) : [];
}

/** Validates and freezes raw parameters; throws ConfigError naming the bad entry. */
export function compileParams(raw: Record<string, unknown>): NoPublicDatabasesParams {
  const useDefaults = raw.useDefaults !== false;
  const ports = new Map<number, string>();
  if (useDefaults) for (const { port, product } of defaultPorts) ports.set(port, product);
  (Array.isArray(raw.ports) ? raw.ports : []).forEach((item: unknown, index) => {
    const [from, to] = portRange(item, `ports/${index}`);
    for (let port = from; port <= to; port++) if (!ports.has(port)) ports.set(port, 'database');
  });
  (Array.isArray(raw.excludePorts) ? raw.excludePorts : []).forEach((item: unknown, index) => {
    const [from, to] = portRange(item, `excludePorts/${index}`);
    for (let port = from; port <= to; port++) ports.delete(port);
  });

  const images = [...(useDefaults ? defaultImages : []), ...strings(raw.images)].map((prefix, index) => {
    const where = `images/${index - (useDefaults ? defaultImages.length : 0)}`;
    if (/[\s*]/.test(prefix))
      throw new ConfigError(where, `"${prefix}": whitespace and wildcards are not allowed in image prefixes`);
    const normalized = normalizeRegistryPrefix(prefix);
    const probe = parseImageReference(
      normalized.path ? `${normalized.domain}/${normalized.path}` : `${normalized.domain}/x`,
    );
    if (isImageReferenceError(probe))
      throw new ConfigError(where, `"${prefix}" is not a valid image repository prefix: ${probe.error}`);
    return `${normalized.domain}/${normalized.path}`;
  });

  const names = new Set([...(useDefaults ? defaultNames : []), ...strings(raw.names)].map(lower));
  if (ports.size === 0 && images.length === 0 && names.size === 0)
    throw new ConfigError('useDefaults', 'with useDefaults: false, list at least one port, image or name');

  const providers =
    raw.loadBalancerProviders === undefined ? [...loadBalancerProviderIds] : raw.loadBalancerProviders;
  return Object.freeze({
    ports,
    images: new Set(images),
    names,
    loadBalancerProviders: new Set(strings(providers) as LoadBalancerProvider[]),
    internalIngressClasses: new Set(strings(raw.internalIngressClasses)),
    internalEntryPoints: new Set(strings(raw.internalEntryPoints)),
    internalGateways: new Set(strings(raw.internalGateways)),
    zalandoLoadBalancerDefaults: new Set(
      strings(raw.zalandoLoadBalancerDefaults) as ZalandoLoadBalancerField[],
    ),
    internalExternalIPs: compileCidrs(raw.internalExternalIPs, 'internalExternalIPs'),
  });
}

function lower(value: string): string {
  return value.toLowerCase();
}
