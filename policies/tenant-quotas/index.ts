/**
 * tenant-quotas: every tenant namespace carries a ResourceQuota (CPU, memory, pods; no LoadBalancer
 * or NodePort Services unless the bundle allows them) and a LimitRange that gives containers default
 * requests and limits, all within the maxima the bundle sets. A quota or LimitRange above the maxima
 * is denied wherever it is judged; whether a namespace carries them is a question over several
 * objects, answered where they are known: in CI (the change and the trusted inventory) and by the
 * drift audit (the cluster). The webhook sees one object at a time and a new namespace before its
 * quota, so it skips Namespaces with that reason.
 */
import { skipDelete } from '../engine/adjudicators.ts';
import { skip } from '../engine/evaluate.ts';
import type { PathSegment } from '../engine/path.ts';
import { formatPath } from '../engine/path.ts';
import { compareQuantities, parseQuantity } from '../engine/quantity.ts';
import { classify } from '../engine/tenancy.ts';
import type { EngineContext, FindingDraft, KubeObject, Policy, PolicyInput } from '../engine/types.ts';
import { getIn, isKind, isRecord } from '../engine/workloads.ts';
import type { Maximum, TenantQuotasParams } from './params.ts';
import { canonicalQuotaResource, compileParams, paramsSchema } from './params.ts';

export type { TenantQuotasParams } from './params.ts';

/**
 * Why a Namespace is not judged at admission: its ResourceQuota and LimitRange cannot exist before
 * it, and the webhook sees one object at a time. CI and the drift audit judge it.
 */
export const namespaceContentsUnknown =
  "the namespace's ResourceQuota and LimitRange objects are not known here (admission sees one object, and a new namespace before them); tollgate check and tollgate audit judge whether it carries them";

const core = [''];

/** Where a value of a LimitRange item came from, after the API server's defaulting. */
interface Sourced {
  readonly value: unknown;
  readonly path: readonly PathSegment[];
}

/**
 * A LimitRange item's `default`, `defaultRequest` and `max` as the API server stores them: for a
 * Container item, a missing default limit is the max, and a missing default request is the default
 * limit, else the min (SetDefaults_LimitRangeItem).
 */
function effectiveItem(item: Record<string, unknown>, at: readonly PathSegment[]) {
  const field = (name: string): Map<string, Sourced> => {
    const map = new Map<string, Sourced>();
    const value = item[name];
    if (isRecord(value))
      for (const [resource, amount] of Object.entries(value))
        map.set(resource, { value: amount, path: [...at, name, resource] });
    return map;
  };
  const max = field('max');
  const min = field('min');
  const defaults = field('default');
  const requests = field('defaultRequest');
  if (item.type === 'Container') {
    for (const [resource, source] of max) if (!defaults.has(resource)) defaults.set(resource, source);
    for (const [resource, source] of defaults) if (!requests.has(resource)) requests.set(resource, source);
    for (const [resource, source] of min) if (!requests.has(resource)) requests.set(resource, source);
  }
  return { max, defaults, requests };
}

function overMaximum(
  resource: string,
  source: Sourced,
  maximum: Maximum,
  what: string,
  fix: string,
): FindingDraft | undefined {
  const quantity = parseQuantity(source.value);
  if (!quantity)
    return {
      path: formatPath(source.path),
      message: `${what} ${resource} is ${JSON.stringify(source.value)}, which is not a Kubernetes quantity`,
      fix: `write a quantity of at most ${maximum.text}`,
    };
  if (compareQuantities(quantity, maximum.value) <= 0) return undefined;
  return {
    path: formatPath(source.path),
    message: `${what} ${resource} is ${String(source.value)}, above the bundle's maximum of ${maximum.text} for tenant namespaces`,
    fix,
    details: { resource, value: String(source.value), maximum: maximum.text },
  };
}

/** spec.hard values of a ResourceQuota above `maxQuota`. */
function checkQuota(object: KubeObject, params: TenantQuotasParams): FindingDraft[] {
  const hard = getIn(object, ['spec', 'hard']);
  if (!isRecord(hard)) return [];
  const findings: FindingDraft[] = [];
  for (const [resource, value] of Object.entries(hard)) {
    const maximum = params.maxQuota.get(canonicalQuotaResource(resource));
    if (!maximum) continue;
    const finding = overMaximum(
      resource,
      { value, path: ['spec', 'hard', resource] },
      maximum,
      'ResourceQuota limit',
      `lower spec.hard["${resource}"] to at most ${maximum.text}, or ask the platform team to raise maxQuota in the bundle`,
    );
    if (finding) findings.push(finding);
  }
  return findings;
}

/** default, defaultRequest and max values of a LimitRange above `maxLimitRange`. */
function checkLimitRange(object: KubeObject, params: TenantQuotasParams): FindingDraft[] {
  const limits = getIn(object, ['spec', 'limits']);
  if (!Array.isArray(limits)) return [];
  const findings = new Map<string, FindingDraft>();
  limits.forEach((item: unknown, index) => {
    if (!isRecord(item) || (item.type !== 'Container' && item.type !== 'Pod')) return;
    const effective = effectiveItem(item, ['spec', 'limits', index]);
    // max first: a default limit or request the API server copies from it is reported as the max.
    for (const [label, values] of [
      ['max', effective.max],
      ['default limit', effective.defaults],
      ['default request', effective.requests],
    ] as const)
      for (const [resource, source] of values) {
        const maximum = params.maxLimitRange.get(resource);
        if (!maximum) continue;
        const finding = overMaximum(
          resource,
          source,
          maximum,
          `LimitRange ${String(item.type)} ${label} of`,
          `lower it to at most ${maximum.text}, or ask the platform team to raise maxLimitRange in the bundle`,
        );
        if (finding && !findings.has(finding.path)) findings.set(finding.path, finding);
      }
  });
  return [...findings.values()];
}

/** The ResourceQuotas and LimitRanges of a namespace: in the change, and already there (trusted). */
function objectsIn(namespace: string, context: EngineContext, kind: string): KubeObject[] {
  const fromChange = (context.relatedObjects ?? []).filter(
    (object) => isKind(object, [kind], core) && object.metadata?.namespace === namespace,
  );
  const existing = (context.namespaceContents?.(namespace) ?? []).filter((object) => object.kind === kind);
  return [...fromChange, ...existing];
}

/** Whether a ResourceQuota applies to everything in its namespace (no scopes, no scopeSelector). */
function unscoped(quota: KubeObject): boolean {
  const scopes = getIn(quota, ['spec', 'scopes']);
  const selector = getIn(quota, ['spec', 'scopeSelector']);
  return (!Array.isArray(scopes) || scopes.length === 0) && (selector === undefined || selector === null);
}

/** A tenant Namespace without the quota and LimitRange defaults the bundle requires. */
function checkNamespace(name: string, params: TenantQuotasParams, context: EngineContext): FindingDraft[] {
  const findings: FindingDraft[] = [];
  const where =
    context.point === 'audit' ? 'in the cluster' : 'in this change or in the trusted namespace inventory';
  const quotas = objectsIn(name, context, 'ResourceQuota').filter(unscoped);
  const limited = new Set(
    quotas.flatMap((quota) => {
      const hard = getIn(quota, ['spec', 'hard']);
      return isRecord(hard) ? Object.keys(hard).map(canonicalQuotaResource) : [];
    }),
  );
  const missing = params.requiredQuota.filter((resource) => !limited.has(resource));
  if (missing.length > 0)
    findings.push({
      path: 'metadata.name',
      message:
        quotas.length === 0
          ? `tenant namespace "${name}" has no ResourceQuota (${where}); it must limit ${params.requiredQuota.join(', ')}`
          : `tenant namespace "${name}" has no unscoped ResourceQuota limiting ${missing.join(', ')} (${where})`,
      fix: `add a ResourceQuota in namespace ${name} with spec.hard ${missing.map((r) => `${r}${params.maxQuota.has(r) ? ` (at most ${params.maxQuota.get(r)?.text ?? ''})` : ''}`).join(', ')}`,
      details: { missing },
    });
  const ranges = objectsIn(name, context, 'LimitRange');
  const defaulted = { limit: new Set<string>(), request: new Set<string>() };
  for (const range of ranges) {
    const limits = getIn(range, ['spec', 'limits']);
    if (!Array.isArray(limits)) continue;
    for (const item of limits) {
      if (!isRecord(item) || item.type !== 'Container') continue;
      const effective = effectiveItem(item, []);
      for (const resource of effective.defaults.keys()) defaulted.limit.add(resource);
      for (const resource of effective.requests.keys()) defaulted.request.add(resource);
    }
  }
  const undefaulted = params.limitRangeDefaults.filter(
    (resource) => !defaulted.limit.has(resource) || !defaulted.request.has(resource),
  );
  if (undefaulted.length > 0)
    findings.push({
      path: 'metadata.name',
      message:
        ranges.length === 0
          ? `tenant namespace "${name}" has no LimitRange (${where}); containers need default requests and limits for ${params.limitRangeDefaults.join(', ')}`
          : `tenant namespace "${name}" has no LimitRange giving containers a default request and limit for ${undefaulted.join(', ')} (${where})`,
      fix: `add a LimitRange in namespace ${name} with an item of type Container setting default and defaultRequest for ${undefaulted.join(', ')}`,
      details: { undefaulted },
    });
  return findings;
}

/** The tenant-quotas policy. */
export const tenantQuotasPolicy: Policy<TenantQuotasParams> = {
  id: 'tenant-quotas',
  version: '1.0.0',
  description:
    'Every tenant namespace carries a ResourceQuota and a LimitRange with default requests and limits, within the bundle maxima.',
  help:
    'Tenant namespaces are read as namespace-isolation reads them (`tenantLabel`, `sharedNamespaces`, `systemNamespaces`; an ' +
    'unknown namespace counts as a tenant). A tenant Namespace must have an unscoped ResourceQuota limiting every resource ' +
    'of `requiredQuota` (default requests.cpu, requests.memory, pods, services.loadbalancers, services.nodeports; `cpu` ' +
    'is `requests.cpu`) and a LimitRange whose Container item gives a default limit and request for each of ' +
    '`limitRangeDefaults` (default cpu, memory; a missing default is the max, a missing request the default, as the API ' +
    'server fills them in), in the same change or already in the trusted namespace inventory (CI) or the cluster (audit); ' +
    'the webhook skips Namespaces (their quota arrives after them). A ResourceQuota `spec.hard` value above `maxQuota` ' +
    '(services.loadbalancers and services.nodeports default to 0) and a LimitRange default, defaultRequest or max above ' +
    '`maxLimitRange` are denied in tenant namespaces at every point.',
  paramsSchema,
  admissionRules: [
    {
      apiGroups: [''],
      resources: ['namespaces', 'resourcequotas', 'limitranges'],
      operations: ['CREATE', 'UPDATE'],
    },
  ],
  compile: compileParams,
  evaluate(input: PolicyInput, params, context) {
    const reason = skipDelete(input);
    if (reason) return skip(reason);
    const { object } = input;
    if (isKind(object, ['Namespace'], core)) {
      const name = object.metadata?.name;
      if (typeof name !== 'string' || name === '') return skip('the Namespace has no name');
      if (classify(name, params, context).kind !== 'tenant')
        return skip(`namespace "${name}" is not a tenant's`);
      if (!context.namespaceContents) return skip(namespaceContentsUnknown);
      return checkNamespace(name, params, context);
    }
    const quota = isKind(object, ['ResourceQuota'], core);
    if (!quota && !isKind(object, ['LimitRange'], core)) return skip(`${String(object.kind)} is not judged`);
    const namespace = input.namespace;
    if (namespace && classify(namespace, params, context).kind !== 'tenant')
      return skip(`namespace "${namespace}" is not a tenant's`);
    return quota ? checkQuota(object, params) : checkLimitRange(object, params);
  },
};
