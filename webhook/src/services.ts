/**
 * The services the webhook injects into `context.services` for policies that need the outside
 * world. INJECTION POINT for the image signature verifier: `createImageVerifier(options)` from
 * ./verify/index.ts (written separately) becomes `services.imageVerifier` here, reporting its cache
 * look-ups through `metrics.reportCache`.
 */
import type { Logger } from 'pino';
import type { CacheReporter } from './metrics.ts';

/** What services may use from the webhook. */
export interface ServiceDeps {
  readonly reportCache: CacheReporter;
  readonly logger: Logger;
}

/** Services and how to stop them. */
export interface WebhookServices {
  readonly services: Readonly<Record<string, unknown>>;
  stop(): Promise<void>;
}

/** Builds the webhook's services. */
export async function createServices(deps: ServiceDeps): Promise<WebhookServices> {
  const services: Record<string, unknown> = {};
  const imageVerifier = await createImageVerifierService(deps);
  if (imageVerifier !== undefined) services['imageVerifier'] = imageVerifier;
  return { services: Object.freeze(services), stop: async () => undefined };
}

/**
 * Creates `services.imageVerifier` for the signed-images policy. Returns undefined until
 * webhook/src/verify/index.ts exists; wire `createImageVerifier({ ..., reportCache: deps.reportCache })` here.
 */
export async function createImageVerifierService(_deps: ServiceDeps): Promise<unknown> {
  return undefined;
}
