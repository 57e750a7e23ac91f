/**
 * The image verifier both edges inject into the engine (`context.services.imageVerifier`):
 * cosign verification over the registry client, with an overall deadline per look-up, a result
 * cache keyed by (digest, trust configuration hash), a short tag→digest cache, a negative cache
 * for failures, and one shared in-flight promise per image so a burst of admissions asks the
 * registry once.
 */
import { createHash } from 'node:crypto';
import { LRUCache } from 'lru-cache';
import { RegistryError } from '../registry/registry-error.ts';
import type { ImageVerifier, TrustPolicy, VerificationResult, VerifyRequest } from '../../policies/index.ts';
import { RegistryClient, deadlineSignal } from '../registry/client.ts';
import type { RegistryRequestEvent, RegistryTarget } from '../registry/client.ts';
import type { CredentialStore } from '../registry/credentials.ts';
import { findSignatures, signatureTag } from './cosign.ts';

/** Options of {@link createImageVerifier}; every field has a default. */
export interface ImageVerifierOptions {
  /** Registry credentials (docker config.json, dockerconfigjson Secrets). */
  readonly credentials?: CredentialStore;
  /** Overall budget of one verification, all requests and retries included (default 5000 ms; keep it below the webhook timeout). */
  readonly deadlineMs?: number;
  /** Timeout of each HTTP request inside the deadline (default 2000 ms). */
  readonly requestTimeoutMs?: number;
  /** Attempts per request on 429, 5xx and network errors (default 3). */
  readonly maxAttempts?: number;
  /** First retry backoff (default 50 ms, doubled per attempt). */
  readonly backoffMs?: number;
  /** How long a verified result stays cached (default 300 000 ms). */
  readonly cacheTtlMs?: number;
  /** Bound on cached results and tags (default 5000 each). */
  readonly cacheMaxEntries?: number;
  /** How long a tag→digest resolution is reused (default 30 000 ms). */
  readonly tagTtlMs?: number;
  /** How long failures (unreachable, unsigned, invalid, not found) are reused (default 10 000 ms). */
  readonly negativeTtlMs?: number;
  /** Called for every HTTP exchange (metrics). */
  readonly onRequest?: (event: RegistryRequestEvent) => void;
  /** A client to use instead of building one from the options above. */
  readonly client?: RegistryClient;
}

/** Counters of a verifier, for metrics and benchmarks. */
export interface ImageVerifierStats {
  /** Answers from the result or failure cache. */
  cacheHits: number;
  /** Callers that joined a verification already in flight. */
  inflightJoins: number;
  /** Verifications that went to the registry. */
  verifications: number;
}

/** An {@link ImageVerifier} with cache control and counters. */
export interface CachingImageVerifier extends ImageVerifier {
  stats(): ImageVerifierStats;
  /** Drops every cached result, tag and failure. */
  clear(): void;
}

const trustHashes = new WeakMap<TrustPolicy, string>();

/** sha256 of a trust configuration (memoized per frozen object); part of every result-cache key. */
export function trustHash(trust: TrustPolicy): string {
  let hash = trustHashes.get(trust);
  if (hash === undefined) {
    hash = createHash('sha256').update(JSON.stringify(trust)).digest('hex').slice(0, 32);
    trustHashes.set(trust, hash);
  }
  return hash;
}

function raceSignal(
  promise: Promise<VerificationResult>,
  signal: AbortSignal | undefined,
): Promise<VerificationResult> {
  if (!signal) return promise;
  const aborted = (): VerificationResult => ({
    status: 'unreachable',
    reason: 'the caller’s deadline passed before the registry answered',
  });
  if (signal.aborted) return Promise.resolve(aborted());
  return new Promise((resolve) => {
    const onAbort = (): void => resolve(aborted());
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(
      (value) => {
        signal.removeEventListener('abort', onAbort);
        resolve(value);
      },
      () => {
        signal.removeEventListener('abort', onAbort);
        resolve({ status: 'unreachable', reason: 'verification failed unexpectedly' });
      },
    );
  });
}

/** Builds the verifier the webhook and `tollgate check` inject as `services.imageVerifier`. */
export function createImageVerifier(options: ImageVerifierOptions = {}): CachingImageVerifier {
  const deadlineMs = options.deadlineMs ?? 5000;
  const cacheTtlMs = options.cacheTtlMs ?? 300_000;
  const negativeTtlMs = options.negativeTtlMs ?? 10_000;
  const max = options.cacheMaxEntries ?? 5000;
  const client =
    options.client ??
    new RegistryClient({
      ...(options.credentials ? { credentials: options.credentials } : {}),
      ...(options.requestTimeoutMs !== undefined ? { requestTimeoutMs: options.requestTimeoutMs } : {}),
      ...(options.maxAttempts !== undefined ? { maxAttempts: options.maxAttempts } : {}),
      ...(options.backoffMs !== undefined ? { backoffMs: options.backoffMs } : {}),
      ...(options.onRequest ? { onRequest: options.onRequest } : {}),
    });
  const results = new LRUCache<string, VerificationResult>({ max, ttl: cacheTtlMs });
  const tags = new LRUCache<string, string>({ max, ttl: options.tagTtlMs ?? 30_000 });
  const failures = new LRUCache<string, VerificationResult>({ max, ttl: negativeTtlMs });
  const inflight = new Map<string, Promise<VerificationResult>>();
  const stats: ImageVerifierStats = { cacheHits: 0, inflightJoins: 0, verifications: 0 };

  const remember = (digestKey: string, result: VerificationResult): void => {
    results.set(digestKey, result, result.status === 'verified' ? {} : { ttl: negativeTtlMs });
  };

  async function run(request: VerifyRequest, repoKey: string, hash: string, requestKey: string) {
    stats.verifications++;
    const signal = deadlineSignal(deadlineMs);
    const target: RegistryTarget = {
      registry: request.registry,
      repository: request.repository,
      insecure: request.insecure,
    };
    let digest = request.digest;
    try {
      if (!digest) {
        const tag = request.tag ?? 'latest';
        const manifest = await client.getManifest(target, tag, { signal });
        digest = manifest.digest;
        tags.set(`${repoKey}:${tag}`, digest);
        const cached = results.get(`${repoKey}@${digest}|${hash}`);
        if (cached) return cached;
      }
      const search = await findSignatures(client, target, digest, request.trust, signal);
      let result: VerificationResult;
      if (search.verified.length > 0) result = { status: 'verified', digest, signatures: search.verified };
      else if (search.found === 0)
        result = {
          status: 'unsigned',
          digest,
          reason: `no ${signatureTag(digest)} signature tag and no Sigstore bundle referrer`,
        };
      else result = { status: 'invalid', digest, reason: [...new Set(search.problems)].join('; ') };
      remember(`${repoKey}@${digest}|${hash}`, result);
      return result;
    } catch (error) {
      let result: VerificationResult;
      if (signal.aborted) {
        result = {
          status: 'unreachable',
          reason: `registry ${request.registry} did not answer within the ${deadlineMs} ms verification deadline`,
          ...(digest ? { digest } : {}),
        };
      } else if (error instanceof RegistryError && error.kind === 'not-found') {
        result = { status: 'not-found', reason: error.message };
      } else if (error instanceof RegistryError && error.kind === 'invalid') {
        result = {
          status: 'invalid',
          digest: digest ?? request.digest ?? '(unresolved)',
          reason: error.message,
        };
      } else if (error instanceof RegistryError) {
        result = { status: 'unreachable', reason: error.message, ...(digest ? { digest } : {}) };
      } else {
        result = {
          status: 'unreachable',
          reason: `verification failed: ${error instanceof Error ? error.message : String(error)}`,
        };
      }
      failures.set(requestKey, result);
      return result;
    }
  }

  return {
    verify(request) {
      const hash = trustHash(request.trust);
      const repoKey = `${request.insecure ? 'http' : 'https'}://${request.registry}/${request.repository}`;
      const digest = request.digest ?? tags.get(`${repoKey}:${request.tag ?? 'latest'}`);
      if (digest) {
        const cached = results.get(`${repoKey}@${digest}|${hash}`);
        if (cached) {
          stats.cacheHits++;
          return Promise.resolve(cached);
        }
      }
      const requestKey = `${repoKey}${request.digest ? `@${request.digest}` : `:${request.tag ?? 'latest'}`}|${hash}`;
      const failed = failures.get(requestKey);
      if (failed) {
        stats.cacheHits++;
        return Promise.resolve(failed);
      }
      let pending = inflight.get(requestKey);
      if (pending) stats.inflightJoins++;
      else {
        pending = run(request, repoKey, hash, requestKey).finally(() => inflight.delete(requestKey));
        inflight.set(requestKey, pending);
      }
      return raceSignal(pending, request.signal);
    },
    stats: () => ({ ...stats }),
    clear() {
      results.clear();
      tags.clear();
      failures.clear();
    },
  };
}
