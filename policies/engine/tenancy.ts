/**
 * Which namespaces belong to tenants, read one way for every policy that asks (namespace-isolation,
 * tenant-quotas): a namespace is a tenant's when its Namespace object, as the trusted look-up holds
 * it (the cluster, or the inventory CI reads from the base branch), carries the admin-only tenant
 * label; system and shared namespaces are listed in the bundle; a namespace the look-up does not know
 * is treated as a tenant's (fail-safe). Also the parameters that configure this, their schema and
 * their compilation, so each policy offers the same three settings with the same defaults.
 */
import { ConfigError } from './errors/index.ts';
import type { EngineContext, KubeObject } from './types.ts';
import { getIn } from './workloads.ts';

/** The settings that say which namespaces are tenants', system or shared. */
export interface TenancySettings {
  /** Admin-controlled namespace label whose presence marks a tenant namespace; its value names the tenant. */
  readonly tenantLabel: string;
  /** Namespaces every tenant may reference (ingress, monitoring). */
  readonly sharedNamespaces: readonly string[];
  /** kube-system, kube-public, kube-node-lease and the configured system namespaces. */
  readonly systemNamespaces: readonly string[];
}

/** What a policy knows about the namespace an object lives in. */
export type Tenancy =
  | { readonly kind: 'system' | 'shared' | 'platform'; readonly namespace: string }
  /** `tenant` is the label value, undefined when the namespace object is unknown (fail-safe: treated as a tenant). */
  | { readonly kind: 'tenant'; readonly namespace: string | undefined; readonly tenant: string | undefined };

/** The default tenant label. */
export const defaultTenantLabel = 'tollgate.dev/tenant';

/** Namespaces that are always system namespaces. */
export const builtinSystemNamespaces: readonly string[] = ['kube-system', 'kube-public', 'kube-node-lease'];

/** The namespace label the API server sets to the namespace's own name; tenants cannot change it. */
export const NAME_LABEL = 'kubernetes.io/metadata.name';

/** A label key as the API server validates it (optional DNS-subdomain prefix, name of at most 63). */
export const labelKeyRe =
  /^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*\/)?[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$/;
const namespaceNameRe = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

/** JSON Schema properties of the tenancy settings, for a policy's parameter schema. */
export const tenancySchemaProperties: Readonly<Record<string, unknown>> = {
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
};

function stringList(value: unknown): string[] {
  return Array.isArray(value) ? value.map(String) : [];
}

/** Compiles `tenantLabel`, `sharedNamespaces` and `systemNamespaces`; throws ConfigError naming the bad one. */
export function compileTenancy(raw: Record<string, unknown>): TenancySettings {
  const tenantLabel = typeof raw.tenantLabel === 'string' ? raw.tenantLabel : defaultTenantLabel;
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
    throw new ConfigError('sharedNamespaces', `"${both}" is listed as both a shared and a system namespace`);
  if (sharedNamespaces.includes('default'))
    throw new ConfigError('sharedNamespaces', '"default" cannot be shared: nothing may run in it');
  return { tenantLabel, sharedNamespaces, systemNamespaces };
}

/** The tenant label value of a Namespace object, if set and non-empty. */
export function tenantLabelOf(namespace: KubeObject | undefined, label: string): string | undefined {
  const value = getIn(namespace, ['metadata', 'labels', label]);
  return typeof value === 'string' && value !== '' ? value : undefined;
}

/** Classifies a namespace as system, shared, platform (known, unlabelled) or tenant (labelled or unknown). */
export function classify(namespace: string, settings: TenancySettings, context: EngineContext): Tenancy {
  if (settings.systemNamespaces.includes(namespace)) return { kind: 'system', namespace };
  if (settings.sharedNamespaces.includes(namespace)) return { kind: 'shared', namespace };
  const object = context.namespaces?.(namespace);
  if (!object) return { kind: 'tenant', namespace, tenant: undefined };
  const tenant = tenantLabelOf(object, settings.tenantLabel);
  return tenant ? { kind: 'tenant', namespace, tenant } : { kind: 'platform', namespace };
}
