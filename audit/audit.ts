/**
 * The drift audit: lists every live object of the kinds the bundle's policies judge (discovery, so
 * CRD kinds too; paginated lists), reviews each through the one review path at the `audit`
 * enforcement point with namespace labels from the cluster, and, given what Git declares, compares
 * the cluster with it ({@link compareWithGit}).
 */
import {
  namespaceInventory,
  review,
  webhookRulesFor,
  type BundleIdentity,
  type CompiledBundle,
  type KubeObject,
  type PolicyResult,
  type PolicyServices,
  type WebhookRule,
} from '../policies/index.ts';
import { ClusterError, collectionPath, type ApiResource, type ClusterClient } from './cluster.ts';
import { compareWithGit, liveKey, type DeclaredObject, type DriftReport, type LiveIndex } from './drift.ts';

/** What to audit. */
export interface AuditOptions {
  readonly client: ClusterClient;
  readonly bundle: CompiledBundle;
  readonly now: Date;
  /** Only these namespaces (cluster-scoped kinds are then left out, except these Namespaces). */
  readonly namespaces?: readonly string[];
  readonly services?: PolicyServices;
  /** What Git declares (`--git`, `--render`); absent: no drift comparison. */
  readonly declared?: readonly DeclaredObject[];
  /** Items per list page (default 500). */
  readonly pageSize?: number;
}

/** A live object as reports name it. */
export interface LiveRef {
  readonly apiVersion: string;
  readonly kind: string;
  readonly namespace?: string;
  readonly name: string;
  readonly uid?: string;
}

/** One live object's review: its results per policy, or why it was not evaluated. */
export interface AuditedObject {
  readonly object: LiveRef;
  readonly decision?: 'allow' | 'deny';
  readonly results: readonly PolicyResult[];
  readonly skipped?: string;
}

/** The whole audit: every object's review and, with Git, the drift. */
export interface AuditResult {
  /** The API server audited. */
  readonly cluster: string;
  readonly now: string;
  readonly bundle: BundleIdentity;
  /** `group/version/resource` of every listed resource. */
  readonly resources: readonly string[];
  /** Objects reviewed (including skipped ones). */
  readonly objects: number;
  /** Resources the audit may not list (HTTP 403): not audited; grant `list` to include them. */
  readonly forbidden: readonly string[];
  readonly audited: readonly AuditedObject[];
  readonly drift?: DriftReport;
}

/** Resources a wildcard rule does not pull in: churn and bookkeeping, not configuration. */
const wildcardExcluded = new Set([
  '/events',
  'events.k8s.io/events',
  '/endpoints',
  'discovery.k8s.io/endpointslices',
  'coordination.k8s.io/leases',
  '/componentstatuses',
  // Secret values are never read by the audit unless a policy names Secrets itself.
  '/secrets',
  'wgpolicyk8s.io/policyreports',
  'wgpolicyk8s.io/clusterpolicyreports',
  'authorization.k8s.io/*',
  'authentication.k8s.io/*',
]);

function excludedFromWildcard(resource: ApiResource): boolean {
  return (
    wildcardExcluded.has(`${resource.group}/${resource.resource}`) ||
    wildcardExcluded.has(`${resource.group}/*`)
  );
}

/** Whether a webhook rule covers a discovered resource (wildcards skip churn such as events). */
export function ruleCovers(rule: WebhookRule, resource: ApiResource): boolean {
  if (rule.scope === 'Namespaced' && !resource.namespaced) return false;
  if (rule.scope === 'Cluster' && resource.namespaced) return false;
  const group = rule.apiGroups.includes(resource.group);
  const named = rule.resources.includes(resource.resource);
  if (group && named) return true;
  const wildGroup = group || rule.apiGroups.includes('*');
  const wildResource = named || rule.resources.includes('*');
  return wildGroup && wildResource && !excludedFromWildcard(resource);
}

/** The listable resources the bundle's policies judge, in a stable order. */
export function judgedResources(bundle: CompiledBundle, discovered: readonly ApiResource[]): ApiResource[] {
  const rules = webhookRulesFor(bundle.policies.map((p) => p.policy));
  return discovered
    .filter((r) => r.verbs.includes('list') && rules.some((rule) => ruleCovers(rule, r)))
    .sort((a, b) => `${a.group}/${a.resource}`.localeCompare(`${b.group}/${b.resource}`));
}

/** `apiVersion` of a resource. */
export function apiVersionOf(resource: { group: string; version: string }): string {
  return resource.group === '' ? resource.version : `${resource.group}/${resource.version}`;
}

/** Runs the audit. */
export async function runAudit(options: AuditOptions): Promise<AuditResult> {
  const { client, bundle, now } = options;
  const discovered = await client.discover();
  const resources = judgedResources(bundle, discovered);
  const only = options.namespaces && options.namespaces.length > 0 ? new Set(options.namespaces) : undefined;
  // Namespace labels come from the cluster, as the webhook's informer reads them.
  const namespaceObjects: KubeObject[] = [];
  for await (const page of client.list('/api/v1/namespaces', options.pageSize))
    for (const item of page) namespaceObjects.push({ apiVersion: 'v1', kind: 'Namespace', ...item });
  const context = {
    now,
    point: 'audit' as const,
    namespaces: namespaceInventory(namespaceObjects, 'the cluster'),
    ...(options.services ? { services: options.services } : {}),
  };
  const live = options.declared ? newLiveIndex() : undefined;
  const audited: AuditedObject[] = [];
  const forbidden: string[] = [];
  let objects = 0;
  for (const resource of resources) {
    const paths =
      only && resource.namespaced
        ? [...only].map((ns) => collectionPath(resource, ns))
        : [collectionPath(resource)];
    if (only && !resource.namespaced && resource.resource !== 'namespaces') continue;
    for (const path of paths) {
      try {
        for await (const page of client.list(path, options.pageSize)) {
          const items = page
            .map((item) => ({ ...item, apiVersion: apiVersionOf(resource), kind: resource.kind }))
            .filter((item) => !only || resource.namespaced || only.has(item.metadata?.name ?? ''));
          objects += items.length;
          const reviewed = await Promise.all(items.map((item) => review({ live: item }, bundle, context)));
          items.forEach((item, index) => {
            const outcome = reviewed[index];
            const ref = refOf(item);
            if (!outcome) return;
            audited.push(
              outcome.skipped !== undefined
                ? { object: ref, results: [], skipped: outcome.skipped }
                : { object: ref, decision: outcome.report.decision, results: outcome.report.results },
            );
            live?.add(resource, item);
          });
        }
      } catch (error) {
        if (!(error instanceof ClusterError) || error.status !== 403) throw error;
        forbidden.push(path);
      }
    }
  }
  const result: AuditResult = {
    cluster: client.server,
    now: now.toISOString(),
    bundle: bundle.identity,
    resources: resources.map((r) => `${apiVersionOf(r)}/${r.resource}`),
    objects,
    forbidden,
    audited,
  };
  if (!options.declared || !live) return result;
  const hpaTargets = new Set<string>();
  const hpa = discovered.find((r) => r.group === 'autoscaling' && r.resource === 'horizontalpodautoscalers');
  if (hpa)
    for await (const page of client.list(collectionPath(hpa), options.pageSize))
      for (const item of page) {
        const target = (item.spec as { scaleTargetRef?: { kind?: string; name?: string } } | undefined)
          ?.scaleTargetRef;
        if (target?.kind && target.name)
          hpaTargets.add(`${item.metadata?.namespace ?? ''}/${target.kind}/${target.name}`);
      }
  return {
    ...result,
    drift: compareWithGit({
      declared: options.declared,
      live,
      resources: discovered,
      audited: resources,
      hpaTargets,
      ...(only ? { namespaces: only } : {}),
    }),
  };
}

function refOf(item: KubeObject): LiveRef {
  const ref: { -readonly [K in keyof LiveRef]: LiveRef[K] } = {
    apiVersion: item.apiVersion ?? '',
    kind: item.kind ?? '',
    name: item.metadata?.name ?? '',
  };
  if (item.metadata?.namespace) ref.namespace = item.metadata.namespace;
  if (typeof item.metadata?.uid === 'string') ref.uid = item.metadata.uid;
  return ref;
}

function newLiveIndex(): LiveIndex & { add(resource: ApiResource, item: KubeObject): void } {
  const objects = new Map<string, KubeObject>();
  const pods: KubeObject[] = [];
  return {
    objects,
    pods,
    add(resource, item) {
      objects.set(
        liveKey(resource.group, resource.kind, item.metadata?.namespace, item.metadata?.name),
        item,
      );
      if (resource.group === '' && resource.kind === 'Pod') pods.push(item);
    },
  };
}
