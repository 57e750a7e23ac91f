/**
 * Namespace objects for policies that read namespace labels, from an informer cache (list + watch
 * with @kubernetes/client-node). Readiness waits for the first list; when the API server is briefly
 * unreachable the informer is restarted with backoff and the stale cache keeps serving.
 */
import type { KubeConfig, V1Namespace } from '@kubernetes/client-node';
import type { Logger } from 'pino';
import type { KubeObject, NamespaceLookup } from '../../policies/index.ts';
import type { WebhookMetrics } from './metrics.ts';

/** Where namespace labels come from. */
export interface NamespaceSource {
  /** Looks a namespace up (undefined when unknown or when no cluster is configured). */
  readonly lookup: NamespaceLookup;
  /** True once the first list has completed (always true without a cluster). */
  synced(): boolean;
  /** How the source was configured, for the start-up message. */
  readonly description: string;
  stop(): Promise<void>;
}

/** A source without a cluster: every look-up returns undefined. */
export function noNamespaces(): NamespaceSource {
  return {
    lookup: () => undefined,
    synced: () => true,
    description:
      'no cluster configured: namespace lookups return nothing (use --kubeconfig or run in-cluster)',
    stop: async () => undefined,
  };
}

/** How to reach the cluster: a kubeconfig file, or the pod's service account. */
export type ClusterConfig = { kind: 'kubeconfig'; file: string } | { kind: 'in-cluster' };

/** Loads a KubeConfig for a cluster configuration (client-node is loaded only when a cluster is configured). */
export async function kubeConfigFor(config: ClusterConfig): Promise<KubeConfig> {
  const { KubeConfig } = await import('@kubernetes/client-node');
  const kc = new KubeConfig();
  if (config.kind === 'kubeconfig') kc.loadFromFile(config.file);
  else kc.loadFromCluster();
  return kc;
}

/** Starts a namespace informer; it syncs in the background (see `synced`). */
export async function informerNamespaces(options: {
  kubeConfig: KubeConfig;
  description: string;
  metrics: WebhookMetrics;
  logger: Logger;
  /** First retry delay after an error; doubles up to 30 s. */
  retryMs?: number;
}): Promise<NamespaceSource> {
  const { CoreV1Api, makeInformer } = await import('@kubernetes/client-node');
  const api = options.kubeConfig.makeApiClient(CoreV1Api);
  let hasSynced = false;
  let stopped = false;
  const baseRetry = options.retryMs ?? 1000;
  let retry = baseRetry;
  let timer: NodeJS.Timeout | undefined;
  const list = async () => {
    const result = await api.listNamespace();
    // The informer checks for a stop only before it lists: a list answered after stop() must not
    // open the watch, which would keep the process alive (a webhook that failed to start would hang).
    if (stopped) throw new Error('namespace informer stopped');
    retry = baseRetry;
    if (!hasSynced) {
      hasSynced = true;
      options.metrics.namespaceCacheSynced(true);
      options.logger.info(
        { event: 'namespace-cache-synced', namespaces: result.items.length },
        'namespace cache synced',
      );
    }
    return result;
  };
  const informer = makeInformer<V1Namespace>(options.kubeConfig, '/api/v1/namespaces', list);
  const start = (): void => {
    informer.start().catch((error: unknown) => onError(error));
  };
  const onError = (error: unknown): void => {
    if (stopped) return;
    options.metrics.namespaceCacheError();
    options.logger.warn(
      {
        event: 'namespace-cache-error',
        err: error instanceof Error ? error.message : String(error),
        retryMs: retry,
      },
      hasSynced ? 'namespace watch failed; serving the cached namespaces' : 'namespace list failed; retrying',
    );
    if (timer) clearTimeout(timer);
    timer = setTimeout(start, retry);
    timer.unref();
    retry = Math.min(retry * 2, 30_000);
  };
  informer.on('error', onError);
  start();
  return {
    lookup: (name) => {
      const found = informer.get(name);
      options.metrics.reportCache('namespaces', found ? 'hit' : 'miss');
      return found as KubeObject | undefined;
    },
    synced: () => hasSynced,
    description: options.description,
    stop: async () => {
      stopped = true;
      if (timer) clearTimeout(timer);
      await informer.stop();
    },
  };
}
