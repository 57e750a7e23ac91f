/**
 * The services the webhook injects into `context.services` for policies that need the outside
 * world: `imageVerifier` (cosign signature verification over the registry client, from
 * ./verify/index.ts) for the signed-images policy. Its cache counters feed the cache metrics.
 */
import type { Logger } from 'pino';
import { imageVerifierService } from '../../policies/signed-images/verifier.ts';
import { createImageVerifier, loadDockerConfigFile } from './verify/index.ts';
import type { CachingImageVerifier } from './verify/index.ts';
import type { WebhookMetrics } from './metrics.ts';

/** What services may use from the webhook. */
export interface ServiceDeps {
  readonly metrics: WebhookMetrics;
  readonly logger: Logger;
  /** The webhook's per-request deadline; registry look-ups must end before it. */
  readonly deadlineMs: number;
  /** Docker config.json with registry credentials (`--registry-auth`). */
  readonly registryAuthFile?: string;
}

/** Services and how to stop them. */
export interface WebhookServices {
  readonly services: Readonly<Record<string, unknown>>;
  stop(): Promise<void>;
}

/** Builds the webhook's services. */
export async function createServices(deps: ServiceDeps): Promise<WebhookServices> {
  const verifier = await createImageVerifierService(deps);
  return { services: Object.freeze({ [imageVerifierService]: verifier }), stop: async () => undefined };
}

/**
 * Creates `services.imageVerifier`: its overall budget is the webhook deadline minus 500 ms so a
 * slow registry yields the policy's own `onUnreachable` verdict rather than the failure action.
 */
export async function createImageVerifierService(deps: ServiceDeps): Promise<CachingImageVerifier> {
  const credentials = deps.registryAuthFile ? await loadDockerConfigFile(deps.registryAuthFile) : undefined;
  const verifier = createImageVerifier({
    deadlineMs: Math.max(250, deps.deadlineMs - 500),
    ...(credentials ? { credentials } : {}),
  });
  deps.metrics.registerCacheSource('image-signatures', () => {
    const stats = verifier.stats();
    return { hits: stats.cacheHits + stats.inflightJoins, misses: stats.verifications };
  });
  return verifier;
}
