/**
 * Bundle parameters of tenant-quotas: which quota a tenant namespace must carry, which LimitRange
 * defaults, and the maxima of both; their JSON Schema and compilation.
 */
import { ConfigError } from '../engine/errors/index.ts';
import type { Quantity } from '../engine/quantity.ts';
import { isNegativeQuantity, parseQuantity } from '../engine/quantity.ts';
import type { TenancySettings } from '../engine/tenancy.ts';
import { compileTenancy, tenancySchemaProperties } from '../engine/tenancy.ts';

/** A compiled maximum: the value and how the bundle wrote it (for messages). */
export interface Maximum {
  readonly value: Quantity;
  readonly text: string;
}

/** Parameters of tenant-quotas. */
export interface TenantQuotasParams extends TenancySettings {
  /** Quota resources (canonical names, see {@link canonicalQuotaResource}) an unscoped ResourceQuota of every tenant namespace must limit. */
  readonly requiredQuota: readonly string[];
  /** Ceilings of ResourceQuota `spec.hard` values in tenant namespaces, by canonical resource name. */
  readonly maxQuota: ReadonlyMap<string, Maximum>;
  /** Resources a Container LimitRange item of every tenant namespace must give a default limit and request. */
  readonly limitRangeDefaults: readonly string[];
  /** Ceilings of LimitRange `default`, `defaultRequest` and `max` values in tenant namespaces. */
  readonly maxLimitRange: ReadonlyMap<string, Maximum>;
}

/** What a quota without `requiredQuota` must limit: CPU, memory and pods, and the two Service types that expose a tenant. */
export const defaultRequiredQuota: readonly string[] = [
  'requests.cpu',
  'requests.memory',
  'pods',
  'services.loadbalancers',
  'services.nodeports',
];

/** Maxima that apply unless the bundle sets them: no LoadBalancer and no NodePort Services. */
export const defaultMaxQuota: Readonly<Record<string, string>> = {
  'services.loadbalancers': '0',
  'services.nodeports': '0',
};

/** Resources a LimitRange must default unless the bundle says otherwise. */
export const defaultLimitRangeDefaults: readonly string[] = ['cpu', 'memory'];

/**
 * The name ResourceQuota gives a resource in `spec.hard`: `cpu`, `memory` and `ephemeral-storage`
 * are the same limits as `requests.cpu`, `requests.memory` and `requests.ephemeral-storage`.
 */
export function canonicalQuotaResource(name: string): string {
  return name === 'cpu' || name === 'memory' || name === 'ephemeral-storage' ? `requests.${name}` : name;
}

const quantitySchema = {
  oneOf: [{ type: 'string', minLength: 1 }, { type: 'number' }],
};

/** JSON Schema of the parameters. */
export const paramsSchema: Record<string, unknown> = {
  type: 'object',
  properties: {
    ...tenancySchemaProperties,
    requiredQuota: {
      type: 'array',
      items: { type: 'string', minLength: 1 },
      uniqueItems: true,
      description: `resources an unscoped ResourceQuota of every tenant namespace must limit (default: ${defaultRequiredQuota.join(', ')}; cpu means requests.cpu)`,
      examples: [[...defaultRequiredQuota, 'limits.memory']],
    },
    maxQuota: {
      type: 'object',
      additionalProperties: quantitySchema,
      description:
        'the highest spec.hard value a ResourceQuota in a tenant namespace may set, per resource (inclusive; services.loadbalancers and services.nodeports default to 0)',
      examples: [{ 'requests.cpu': '32', 'requests.memory': '128Gi', pods: 200 }],
    },
    limitRangeDefaults: {
      type: 'array',
      items: { type: 'string', minLength: 1 },
      uniqueItems: true,
      description: `resources a Container item of a LimitRange in every tenant namespace must give a default limit and request (default: ${defaultLimitRangeDefaults.join(', ')})`,
    },
    maxLimitRange: {
      type: 'object',
      additionalProperties: quantitySchema,
      description:
        'the highest default, defaultRequest and max a LimitRange in a tenant namespace may set, per resource (inclusive)',
      examples: [{ cpu: '4', memory: '8Gi' }],
    },
  },
};

function names(raw: unknown, fallback: readonly string[], field: string): string[] {
  if (!Array.isArray(raw)) return [...fallback];
  return raw.map((value: unknown, index) => {
    if (typeof value !== 'string' || value.trim() !== value || value === '')
      throw new ConfigError(`${field}/${index}`, `${JSON.stringify(value)} is not a resource name`);
    return value;
  });
}

function maxima(raw: unknown, defaults: Readonly<Record<string, string>>, field: string, canonical = false) {
  const out = new Map<string, Maximum>();
  const entries = [
    ...Object.entries(defaults),
    ...(raw !== null && typeof raw === 'object' ? Object.entries(raw as Record<string, unknown>) : []),
  ];
  for (const [key, value] of entries) {
    const quantity = parseQuantity(value);
    if (!quantity || isNegativeQuantity(quantity))
      throw new ConfigError(
        `${field}/${key}`,
        `${JSON.stringify(value)} is not a non-negative Kubernetes quantity (e.g. 8, 500m, 16Gi)`,
      );
    out.set(canonical ? canonicalQuotaResource(key) : key, { value: quantity, text: String(value) });
  }
  return out;
}

/** Validates and compiles raw bundle parameters, filling in the defaults. */
export function compileParams(raw: Record<string, unknown>): TenantQuotasParams {
  return {
    ...compileTenancy(raw),
    requiredQuota: [
      ...new Set(names(raw.requiredQuota, defaultRequiredQuota, 'requiredQuota').map(canonicalQuotaResource)),
    ],
    maxQuota: maxima(raw.maxQuota, defaultMaxQuota, 'maxQuota', true),
    limitRangeDefaults: names(raw.limitRangeDefaults, defaultLimitRangeDefaults, 'limitRangeDefaults'),
    maxLimitRange: maxima(raw.maxLimitRange, {}, 'maxLimitRange'),
  };
}
