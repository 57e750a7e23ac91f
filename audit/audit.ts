/**
 * The drift audit: lists every live object of the kinds the bundle's policies judge (discovery, so
 * CRD kinds too; paginated lists), reviews each through the one review path at the `audit`
 * enforcement point with namespace labels from the cluster, and, given what Git declares, compares
 * the cluster with it ({@link compareWithGit}).
 */
import {
  inventoryContentKinds,
  namespaceContents,
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
import { DriftCollector, type DeclaredObject, type DriftReport } from './drift.ts';

/** What to audit. */
export interface AuditOptions {
  readonly client: ClusterClient;
  readonly bundle: CompiledBundle;
  readonly now: Date;
  /** Only these namespaces (cluster-scoped kinds are then left out and named as not audited, except these Namespaces). */
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
  /**
   * Cluster-scoped resources the policies judge that `--namespace` left out (`group/version/resource`):
   * not audited. Absent when the whole cluster was audited.
   */
  readonly clusterScopedNotAudited?: readonly string[];
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

/** Resources listed at once: the API server serializes one list while the audit reviews another's page. */
const listConcurrency = 3;

/** Runs the audit: lists page by page, reviews each page and keeps only compact results. */
export async function runAudit(options: AuditOptions): Promise<AuditResult> {
  const { client, bundle, now } = options;
  const discovered = await client.discover();
  const resources = judgedResources(bundle, discovered);
  const only = options.namespaces && options.namespaces.length > 0 ? new Set(options.namespaces) : undefined;
  // Namespace labels come from the cluster, as the webhook's informer reads them.
  const namespaceObjects: KubeObject[] = [];
  for await (const page of client.list('/api/v1/namespaces', options.pageSize))
    for (const item of page) namespaceObjects.push({ apiVersion: 'v1', kind: 'Namespace', ...item });
  const contents = await listNamespaceContents(client, options.pageSize);
  const context = {
    now,
    point: 'audit' as const,
    namespaces: namespaceInventory(namespaceObjects, 'the cluster'),
    ...(contents ? { namespaceContents: namespaceContents(contents) } : {}),
    ...(options.services ? { services: options.services } : {}),
  };
  namespaceObjects.length = 0;
  const drift = options.declared
    ? new DriftCollector({
        declared: options.declared,
        resources: discovered,
        audited: resources,
        hpaTargets: await scaledByHpa(client, discovered, options.pageSize),
        ...(only ? { namespaces: only } : {}),
      })
    : undefined;
  const compact = resultInterner();
  const forbidden: string[] = [];
  let objects = 0;
  const jobs = resources.flatMap((resource) => {
    if (only && !resource.namespaced && resource.resource !== 'namespaces') return [];
    const paths =
      only && resource.namespaced
        ? [...only].map((ns) => collectionPath(resource, ns))
        : [collectionPath(resource)];
    return paths.map((path) => ({ resource, path, audited: [] as AuditedObject[], forbidden: false }));
  });
  const listOne = async (job: (typeof jobs)[number]): Promise<void> => {
    const { resource, path } = job;
    try {
      for await (const page of client.list(path, options.pageSize)) {
        const items = page
          .map((item) => ({ ...item, apiVersion: apiVersionOf(resource), kind: resource.kind }))
          .filter((item) => !only || resource.namespaced || only.has(item.metadata?.name ?? ''));
        objects += items.length;
        const reviewed = await Promise.all(items.map((item) => review({ live: item }, bundle, context)));
        items.forEach((item, index) => {
          const outcome = reviewed[index];
          if (!outcome) return;
          const ref = refOf(item);
          job.audited.push(
            outcome.skipped !== undefined
              ? { object: ref, results: [], skipped: outcome.skipped }
              : {
                  object: ref,
                  decision: outcome.report.decision,
                  results: outcome.report.results.map(compact),
                },
          );
          drift?.add(item);
        });
      }
    } catch (error) {
      if (!(error instanceof ClusterError) || error.status !== 403) throw error;
      job.forbidden = true;
    }
  };
  const queue = [...jobs];
  await Promise.all(
    Array.from({ length: Math.min(listConcurrency, queue.length) }, async () => {
      for (let job = queue.shift(); job; job = queue.shift()) await listOne(job);
    }),
  );
  for (const job of jobs) if (job.forbidden) forbidden.push(job.path);
  const result: AuditResult = {
    cluster: client.server,
    now: now.toISOString(),
    bundle: bundle.identity,
    resources: resources.map((r) => `${apiVersionOf(r)}/${r.resource}`),
    objects,
    forbidden,
    audited: jobs.flatMap((job) => job.audited),
    ...(only
      ? {
          clusterScopedNotAudited: resources
            .filter((r) => !r.namespaced && r.resource !== 'namespaces')
            .map((r) => `${apiVersionOf(r)}/${r.resource}`),
        }
      : {}),
  };
  return drift ? { ...result, drift: drift.finish() } : result;
}

/** `namespace/Kind/name` of what HorizontalPodAutoscalers scale (their replicas are not drift). */
async function scaledByHpa(
  client: ClusterClient,
  discovered: readonly ApiResource[],
  pageSize: number | undefined,
): Promise<Set<string>> {
  const targets = new Set<string>();
  const hpa = discovered.find((r) => r.group === 'autoscaling' && r.resource === 'horizontalpodautoscalers');
  if (!hpa) return targets;
  try {
    for await (const page of client.list(collectionPath(hpa), pageSize))
      for (const item of page) {
        const target = (item.spec as { scaleTargetRef?: { kind?: string; name?: string } } | undefined)
          ?.scaleTargetRef;
        if (target?.kind && target.name)
          targets.add(`${item.metadata?.namespace ?? ''}/${target.kind}/${target.name}`);
      }
  } catch (error) {
    if (!(error instanceof ClusterError) || error.status !== 403) throw error;
  }
  return targets;
}

/**
 * Shares one frozen copy of each plain result (no findings, records or exemptions: most passes and
 * skips), so 10,000 objects × the bundle's policies do not hold 10,000 × copies of the same result.
 */
function resultInterner(): (result: PolicyResult) => PolicyResult {
  const shared = new Map<string, PolicyResult>();
  return (result) => {
    if (
      result.findings.length > 0 ||
      result.records?.length ||
      result.exemption ||
      result.expiredExemptions?.length
    )
      return result;
    const key = `${result.policy}\u0000${result.version}\u0000${result.status}\u0000${result.action}\u0000${result.reason ?? ''}\u0000${result.controls?.join(',') ?? ''}`;
    let known = shared.get(key);
    if (!known) shared.set(key, (known = Object.freeze(result)));
    return known;
  };
}

/**
 * The ResourceQuotas and LimitRanges of the whole cluster (what a tenant namespace must carry,
 * judged over the live inventory by tenant-quotas); undefined when the audit may not list them
 * (HTTP 403), so the policy skips rather than report every namespace.
 */
async function listNamespaceContents(
  client: ClusterClient,
  pageSize: number | undefined,
): Promise<KubeObject[] | undefined> {
  const objects: KubeObject[] = [];
  for (const kind of inventoryContentKinds) {
    const path = `/api/v1/${kind.toLowerCase()}s`;
    try {
      for await (const page of client.list(path, pageSize))
        for (const item of page) objects.push({ ...item, apiVersion: 'v1', kind });
    } catch (error) {
      if (error instanceof ClusterError && error.status === 403) return undefined;
      throw error;
    }
  }
  return objects;
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
