/**
 * Namespace objects for policies that read namespace labels, from an informer cache: a list of
 * `/api/v1/namespaces`, then a watch from its resourceVersion (bookmarks, a relist when the API
 * server answers 410 Gone), over io/cluster's connection (the kubeconfig or the pod's service
 * account; @kubernetes/client-node only for kubeconfigs io/cluster does not read, such as exec
 * plugins). Readiness waits for the first list; when the API server is unreachable the informer
 * retries with backoff and the stale cache keeps serving.
 */
import { request as httpRequest } from 'node:http';
import type { ClientRequest, IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import type { Logger } from 'pino';
import { ClusterError } from '../../io/cluster/cluster-error.ts';
import {
  clientNodeConnection,
  inClusterConnection,
  readKubeconfig,
  tokenHeader,
} from '../../io/cluster/kubeconfig.ts';
import type { Connection } from '../../io/cluster/kubeconfig.ts';
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

/** Gives the connection to use for the next request (a token from an exec plugin may have changed). */
export type ConnectionSource = () => Promise<Connection>;

/**
 * The connection of a cluster configuration. Throws a {@link ClusterError} at start for a kubeconfig
 * that does not load or names no cluster, and outside a pod for `in-cluster`.
 */
export async function clusterConnection(config: ClusterConfig): Promise<ConnectionSource> {
  if (config.kind === 'in-cluster') {
    const connection = inClusterConnection();
    if (!connection)
      throw new ClusterError(
        'read',
        'the in-cluster service account',
        0,
        'KUBERNETES_SERVICE_HOST, KUBERNETES_SERVICE_PORT or the service account token is missing',
      );
    return () => Promise.resolve(connection);
  }
  const own = readKubeconfig({ kubeconfig: config.file });
  if (own) return () => Promise.resolve(own);
  const settings = { kubeconfig: config.file };
  await clientNodeConnection(settings);
  return () => clientNodeConnection(settings);
}

/** How long the API server keeps one watch open before the informer watches again. */
const watchSeconds = 290;

/** Starts a namespace informer; it syncs in the background (see `synced`). */
export async function informerNamespaces(options: {
  connect: ConnectionSource;
  description: string;
  metrics: WebhookMetrics;
  logger: Logger;
  /** First retry delay after an error; doubles up to 30 s. */
  retryMs?: number;
}): Promise<NamespaceSource> {
  let cache = new Map<string, KubeObject>();
  let hasSynced = false;
  let stopped = false;
  const baseRetry = options.retryMs ?? 1000;
  let retry = baseRetry;
  let timer: NodeJS.Timeout | undefined;
  let current: ClientRequest | undefined;

  /** One GET; resolves with the response once its headers arrive. */
  const get = (connection: Connection, path: string, timeoutMs: number): Promise<IncomingMessage> =>
    new Promise((resolve, reject) => {
      const url = new URL(connection.server + path);
      const headers: Record<string, string> = {
        ...(connection.options.headers as Record<string, string> | undefined),
        Accept: 'application/json',
      };
      const token = connection.tokenFile !== undefined ? tokenHeader(connection.tokenFile) : undefined;
      if (token !== undefined) headers['Authorization'] = token;
      const send = url.protocol === 'http:' ? httpRequest : httpsRequest;
      const req = send(url, { ...connection.options, method: 'GET', headers, timeout: timeoutMs }, resolve);
      current = req;
      req.on('timeout', () => req.destroy(new Error(`no answer within ${timeoutMs / 1000} s`)));
      req.on('error', (error) => reject(new ClusterError('GET', url.pathname, 0, error.message)));
      req.end();
    });

  const readJson = (res: IncomingMessage): Promise<unknown> =>
    new Promise((resolve, reject) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('error', reject);
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        try {
          resolve(JSON.parse(text));
        } catch {
          resolve(text);
        }
      });
    });

  const failure = (path: string, status: number, body: unknown): ClusterError =>
    new ClusterError(
      'GET',
      path,
      status,
      typeof body === 'object' && body !== null && 'message' in body
        ? String((body as { message: unknown }).message)
        : String(body ?? '').slice(0, 200),
    );

  /** Lists every namespace (in pages); returns the objects by name and the list's resourceVersion. */
  const list = async (
    connection: Connection,
  ): Promise<{ byName: Map<string, KubeObject>; resourceVersion: string }> => {
    const byName = new Map<string, KubeObject>();
    let token: string | undefined;
    for (;;) {
      const query = new URLSearchParams({ limit: '500' });
      if (token) query.set('continue', token);
      const path = `/api/v1/namespaces?${query.toString()}`;
      const res = await get(connection, path, 60_000);
      const body = await readJson(res);
      if (res.statusCode !== 200) throw failure('/api/v1/namespaces', res.statusCode ?? 0, body);
      const page = body as {
        items?: KubeObject[];
        metadata?: { continue?: string; resourceVersion?: string };
      };
      for (const item of page.items ?? []) {
        const name = item.metadata?.name;
        if (typeof name === 'string') byName.set(name, { apiVersion: 'v1', kind: 'Namespace', ...item });
      }
      token = page.metadata?.continue || undefined;
      if (!token) return { byName, resourceVersion: page.metadata?.resourceVersion ?? '' };
    }
  };

  /**
   * Follows the watch from `resourceVersion` until the API server ends it; resolves with the last
   * resourceVersion seen, or `gone` when the version is too old and the namespaces must be listed again.
   */
  const watch = async (connection: Connection, resourceVersion: string): Promise<string | 'gone'> => {
    const query = new URLSearchParams({
      watch: 'true',
      resourceVersion,
      allowWatchBookmarks: 'true',
      timeoutSeconds: String(watchSeconds),
    });
    const res = await get(connection, `/api/v1/namespaces?${query.toString()}`, (watchSeconds + 60) * 1000);
    if (res.statusCode === 410) {
      res.resume();
      return 'gone';
    }
    if (res.statusCode !== 200)
      throw failure('/api/v1/namespaces?watch=true', res.statusCode ?? 0, await readJson(res));
    return new Promise((resolve, reject) => {
      let version = resourceVersion;
      let rest = '';
      let gone = false;
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        const lines = (rest + chunk).split('\n');
        rest = lines.pop() ?? '';
        for (const line of lines) {
          if (line.trim() === '') continue;
          let event: { type?: string; object?: KubeObject & { code?: number; message?: string } };
          try {
            event = JSON.parse(line) as typeof event;
          } catch {
            res.destroy(new Error(`the watch sent a line that is not JSON: ${line.slice(0, 120)}`));
            return;
          }
          const object = event.object;
          const name = object?.metadata?.name;
          const objectVersion = object?.metadata?.resourceVersion;
          if (event.type === 'ERROR') {
            if (object?.code === 410) {
              gone = true;
              res.destroy();
              return;
            }
            res.destroy(new Error(`the watch ended with an error: ${object?.message ?? line.slice(0, 200)}`));
            return;
          }
          if (typeof objectVersion === 'string') version = objectVersion;
          if (event.type === 'BOOKMARK' || !object || typeof name !== 'string') continue;
          if (event.type === 'DELETED') cache.delete(name);
          else if (event.type === 'ADDED' || event.type === 'MODIFIED')
            cache.set(name, { apiVersion: 'v1', kind: 'Namespace', ...object });
        }
      });
      res.on('end', () => resolve(version));
      res.on('close', () => {
        if (gone) resolve('gone');
        else if (!res.complete) reject(new Error('the watch connection was cut'));
      });
      res.on('error', (error) => {
        if (!gone) reject(error);
      });
    });
  };

  const run = async (): Promise<void> => {
    for (;;) {
      const connection = await options.connect();
      if (stopped) return;
      const listed = await list(connection);
      // A list answered after stop() must not open the watch: it would keep the process alive (a
      // webhook that failed to start would hang).
      if (stopped) return;
      cache = listed.byName;
      retry = baseRetry;
      if (!hasSynced) {
        hasSynced = true;
        options.metrics.namespaceCacheSynced(true);
        options.logger.info(
          { event: 'namespace-cache-synced', namespaces: listed.byName.size },
          'namespace cache synced',
        );
      }
      let version: string | 'gone' = listed.resourceVersion;
      while (version !== 'gone') {
        version = await watch(connection, version);
        if (stopped) return;
      }
    }
  };

  const start = (): void => {
    run().catch((error: unknown) => onError(error));
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
  start();
  return {
    lookup: (name) => {
      const found = cache.get(name);
      options.metrics.reportCache('namespaces', found ? 'hit' : 'miss');
      return found;
    },
    synced: () => hasSynced,
    description: options.description,
    stop: async () => {
      stopped = true;
      if (timer) clearTimeout(timer);
      current?.destroy();
    },
  };
}
