/**
 * Prometheus metrics of the webhook on their own registry: requests by decision and by policy,
 * latency, the active bundle, bundle reload failures, TLS reloads, and cache hit ratios (with a
 * hook other components, such as the image signature verifier, report into).
 */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { BundleIdentity, Report } from '../../policies/index.ts';

/** Outcome of one cache look-up. */
export type CacheOutcome = 'hit' | 'miss';

/**
 * Hook for caches (namespace informer, image signature verifier, registry client) to count
 * look-ups: `reportCache('signatures', 'hit')`. Exposed as `tollgate_cache_requests_total` and
 * `tollgate_cache_hit_ratio`.
 */
export type CacheReporter = (cache: string, outcome: CacheOutcome) => void;

/** The webhook's metrics. */
export interface WebhookMetrics {
  readonly registry: Registry;
  /** Counts one answered request and its latency. */
  observeRequest(fields: {
    operation: string;
    decision: 'allow' | 'deny' | 'skipped' | 'failure-allow' | 'failure-deny';
    dryRun: boolean;
    seconds: number;
    report?: Report;
  }): void;
  /** Counts a request rejected with 400. */
  badRequest(): void;
  /** Counts a request answered by the failure action (`deadline` or `internal-error`). */
  failure(cause: 'deadline' | 'internal-error'): void;
  /** Sets the active bundle. */
  bundleActive(identity: BundleIdentity): void;
  /** Counts a refused bundle reload. */
  bundleReloadFailed(): void;
  /** Counts a successful bundle reload. */
  bundleReloaded(): void;
  /** Counts a certificate reload (`ok` or `failed`). */
  tlsReload(result: 'ok' | 'failed'): void;
  /** Sets whether the namespace cache has synced once. */
  namespaceCacheSynced(synced: boolean): void;
  /** Counts a namespace informer error (the stale cache keeps serving). */
  namespaceCacheError(): void;
  readonly reportCache: CacheReporter;
  /**
   * Registers a cache that keeps its own counters (e.g. the image verifier's `stats()`); read at
   * scrape time into `tollgate_cache_hit_ratio` and `tollgate_cache_lookups`.
   */
  registerCacheSource(cache: string, read: () => { hits: number; misses: number }): void;
}

/** Creates the metrics on a fresh registry (one per server, so tests do not share state). */
export function createMetrics(options: { defaultMetrics?: boolean } = {}): WebhookMetrics {
  const registry = new Registry();
  if (options.defaultMetrics !== false) collectDefaultMetrics({ register: registry, prefix: 'tollgate_' });
  // Per-request counts are plain numbers in a tally, written into their counters when scraped:
  // prom-client hashes and validates the label object on every inc(), bound children included.
  const requestTally = tally();
  new Counter({
    name: 'tollgate_admission_requests_total',
    help: 'Admission requests answered, by operation, decision and dry run',
    labelNames: ['operation', 'decision', 'dry_run'] as const,
    registers: [registry],
    collect() {
      this.reset();
      for (const [[operation = '', decision = '', dryRun = ''], count] of requestTally.entries())
        this.inc({ operation, decision, dry_run: dryRun }, count);
    },
  });
  const policyTally = tally();
  new Counter({
    name: 'tollgate_admission_policy_results_total',
    help: 'Policy results of evaluated admission requests, by policy, status and enforcement action',
    labelNames: ['policy', 'status', 'action'] as const,
    registers: [registry],
    collect() {
      this.reset();
      for (const [[policy = '', status = '', action = ''], count] of policyTally.entries())
        this.inc({ policy, status, action }, count);
    },
  });
  const latency = new Histogram({
    name: 'tollgate_admission_request_duration_seconds',
    help: 'Time from receiving a parsed AdmissionReview to answering it',
    labelNames: ['operation'] as const,
    buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [registry],
  });
  const badRequests = new Counter({
    name: 'tollgate_admission_bad_requests_total',
    help: 'Requests rejected with HTTP 400 (malformed JSON, wrong kind or apiVersion, missing uid)',
    registers: [registry],
  });
  const failures = new Counter({
    name: 'tollgate_admission_failure_action_total',
    help: 'Requests answered with the configured failure action, by cause',
    labelNames: ['cause'] as const,
    registers: [registry],
  });
  const bundleInfo = new Gauge({
    name: 'tollgate_bundle_info',
    help: 'The active policy bundle (value 1), by name, version and digest',
    labelNames: ['name', 'version', 'digest'] as const,
    registers: [registry],
  });
  const reloadFailures = new Counter({
    name: 'tollgate_bundle_reload_failures_total',
    help: 'Bundle reloads refused because the new bundle was invalid (the last good one keeps serving)',
    registers: [registry],
  });
  const reloads = new Counter({
    name: 'tollgate_bundle_reloads_total',
    help: 'Bundles activated after a change of the bundle file',
    registers: [registry],
  });
  const lastReloadOk = new Gauge({
    name: 'tollgate_bundle_last_reload_success',
    help: '1 when the latest bundle file content loaded, 0 when it was refused',
    registers: [registry],
  });
  const tlsReloads = new Counter({
    name: 'tollgate_tls_reloads_total',
    help: 'Serving certificate reloads, by result',
    labelNames: ['result'] as const,
    registers: [registry],
  });
  const nsSynced = new Gauge({
    name: 'tollgate_namespace_cache_synced',
    help: '1 once the namespace informer has listed namespaces',
    registers: [registry],
  });
  const nsErrors = new Counter({
    name: 'tollgate_namespace_cache_errors_total',
    help: 'Namespace informer list/watch errors (the last synced cache keeps serving)',
    registers: [registry],
  });
  const cacheCounts = new Map<string, { hit: number; miss: number }>();
  new Counter({
    name: 'tollgate_cache_requests_total',
    help: 'Cache look-ups by cache and outcome (hit or miss)',
    labelNames: ['cache', 'outcome'] as const,
    registers: [registry],
    collect() {
      this.reset();
      for (const [cache, counts] of cacheCounts)
        for (const outcome of ['hit', 'miss'] as const)
          if (counts[outcome] > 0) this.inc({ cache, outcome }, counts[outcome]);
    },
  });
  const cacheSources = new Map<string, () => { hits: number; misses: number }>();
  new Gauge({
    name: 'tollgate_cache_hit_ratio',
    help: 'Hits divided by look-ups since start, by cache',
    labelNames: ['cache'] as const,
    registers: [registry],
    collect() {
      this.reset();
      for (const [cache, counts] of cacheCounts) {
        const total = counts.hit + counts.miss;
        if (total > 0) this.set({ cache }, counts.hit / total);
      }
      for (const [cache, read] of cacheSources) {
        const { hits, misses } = read();
        if (hits + misses > 0) this.set({ cache }, hits / (hits + misses));
      }
    },
  });
  new Gauge({
    name: 'tollgate_cache_lookups',
    help: 'Look-ups since start of caches that keep their own counters, by cache and outcome',
    labelNames: ['cache', 'outcome'] as const,
    registers: [registry],
    collect() {
      this.reset();
      for (const [cache, read] of cacheSources) {
        const { hits, misses } = read();
        this.set({ cache, outcome: 'hit' }, hits);
        this.set({ cache, outcome: 'miss' }, misses);
      }
    },
  });
  lastReloadOk.set(1);
  const reportCache: CacheReporter = (cache, outcome) => {
    let counts = cacheCounts.get(cache);
    if (!counts) {
      counts = { hit: 0, miss: 0 };
      cacheCounts.set(cache, counts);
    }
    counts[outcome]++;
  };
  const latencyBy = new Map<string, (seconds: number) => void>();
  return {
    registry,
    observeRequest({ operation, decision, dryRun, seconds, report }) {
      requestTally.add(operation, decision, dryRun ? 'true' : 'false');
      let observe = latencyBy.get(operation);
      if (!observe) {
        observe = latency.labels({ operation }).observe;
        latencyBy.set(operation, observe);
      }
      observe(seconds);
      if (report)
        for (const result of report.results) policyTally.add(result.policy, result.status, result.action);
    },
    badRequest: () => badRequests.inc(),
    failure: (cause) => failures.inc({ cause }),
    bundleActive(identity) {
      bundleInfo.reset();
      bundleInfo.set({ name: identity.name, version: identity.version, digest: identity.digest }, 1);
    },
    bundleReloadFailed() {
      reloadFailures.inc();
      lastReloadOk.set(0);
    },
    bundleReloaded() {
      reloads.inc();
      lastReloadOk.set(1);
    },
    tlsReload: (result) => tlsReloads.inc({ result }),
    namespaceCacheSynced: (synced) => nsSynced.set(synced ? 1 : 0),
    namespaceCacheError: () => nsErrors.inc(),
    reportCache,
    registerCacheSource: (cache, read) => {
      cacheSources.set(cache, read);
    },
  };
}

/** Counts by three label values, kept in nested maps (no key string or array built per count). */
export interface Tally {
  /** Adds one to the count of these label values. */
  add(a: string, b: string, c: string): void;
  /** Every label-value triple counted so far and its count. */
  entries(): Generator<[[string, string, string], number]>;
}

/** Creates an empty {@link Tally}. */
export function tally(): Tally {
  const root = new Map<string, Map<string, Map<string, number>>>();
  return {
    add(a, b, c) {
      let byB = root.get(a);
      if (!byB) root.set(a, (byB = new Map()));
      let byC = byB.get(b);
      if (!byC) byB.set(b, (byC = new Map()));
      byC.set(c, (byC.get(c) ?? 0) + 1);
    },
    *entries() {
      for (const [a, byB] of root)
        for (const [b, byC] of byB) for (const [c, count] of byC) yield [[a, b, c], count];
    },
  };
}
