/**
 * One factory for the services every edge injects into the engine (`context.services`): `serve`,
 * `check`, the Action and the audit build them here, so a policy sees the same outside world
 * whichever edge asks.
 */
import type { PolicyServices } from '../policies/index.ts';
import type { CachingImageVerifier } from './cosign/verifier.ts';

/** How to build the services. */
export interface ServiceOptions {
  /** No network: no image verifier, so signed-images reports images unverifiable (never a pass). */
  readonly offline?: boolean;
  /** Overall budget of one image verification (the webhook: its deadline minus a margin). */
  readonly deadlineMs?: number;
  /**
   * Registry credentials: a Docker `config.json` file, `docker-config` for the user's own
   * (`$DOCKER_CONFIG/config.json` or `~/.docker/config.json`), or none.
   */
  readonly registryAuth?: string | 'docker-config';
}

/** The built services, their caches for metrics, and how to stop them. */
export interface Services {
  readonly services: PolicyServices;
  /** The image verifier with its cache statistics (absent offline). */
  readonly imageVerifier?: CachingImageVerifier;
  stop(): Promise<void>;
}

/** Builds the typed services for one edge. The registry client loads only when not offline. */
export async function createServices(options: ServiceOptions = {}): Promise<Services> {
  if (options.offline) return { services: Object.freeze({}), stop: async () => undefined };
  const [{ createImageVerifier }, { loadDockerConfigFile }] = await Promise.all([
    import('./cosign/verifier.ts'),
    import('./registry/credentials.ts'),
  ]);
  const credentials =
    options.registryAuth === 'docker-config'
      ? await loadDockerConfigFile()
      : options.registryAuth
        ? await loadDockerConfigFile(options.registryAuth)
        : undefined;
  const imageVerifier = createImageVerifier({
    ...(options.deadlineMs !== undefined ? { deadlineMs: options.deadlineMs } : {}),
    ...(credentials ? { credentials } : {}),
  });
  return {
    services: Object.freeze({ imageVerifier }),
    imageVerifier,
    stop: async () => imageVerifier.clear(),
  };
}
