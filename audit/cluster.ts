/**
 * The audit's view of the cluster: a raw JSON client over the kubeconfig's connection (the audit's
 * own reader for certificates, tokens and the pod's service account; @kubernetes/client-node, loaded
 * only when needed, for exec plugins and the rest; objects stay plain JSON, never model classes),
 * API discovery (CRD kinds included), paginated lists, create and server-side apply.
 */
import { request as httpsRequest } from 'node:https';
import { request as httpRequest } from 'node:http';
import type { KubeObject } from '../policies/index.ts';
import { ClusterError } from '../io/cluster/cluster-error.ts';
import {
  clientNodeConnection,
  readKubeconfig,
  tokenHeader,
  type Connection,
} from '../io/cluster/kubeconfig.ts';

export { ClusterError };

/** How to reach the cluster: `--kubeconfig`, `--context`; neither means the default loading rules. */
export interface ClusterSettings {
  /** A kubeconfig file; absent: `$KUBECONFIG`, `~/.kube/config`, else the pod's service account. */
  readonly kubeconfig?: string;
  /** A context of the kubeconfig; absent: its current context. */
  readonly context?: string;
}

/** One API resource as discovery names it. */
export interface ApiResource {
  readonly group: string;
  readonly version: string;
  /** The plural, e.g. `deployments`. */
  readonly resource: string;
  readonly kind: string;
  readonly namespaced: boolean;
  readonly verbs: readonly string[];
}

/** A list page as the API server returns it. */
interface ListPage {
  items?: KubeObject[];
  metadata?: { continue?: string };
}

/** What the audit asks of the cluster. */
export interface ClusterClient {
  /** `server` of the current context, for messages. */
  readonly server: string;
  /** GET a path; undefined on 404. */
  get<T = KubeObject>(path: string): Promise<T | undefined>;
  /** Every item of a collection (matching a label selector), in pages of `limit` (`continue` tokens). */
  list(path: string, limit?: number, labelSelector?: string): AsyncGenerator<KubeObject[]>;
  /**
   * POST a new object to its collection with a field manager; undefined when it already exists
   * (409). JSON, unlike an apply patch, which the API server parses as YAML.
   */
  create(collection: string, object: unknown, fieldManager: string): Promise<KubeObject | undefined>;
  /** Server-side apply of an object to its path with a field manager (force: tollgate owns what it writes). */
  apply(path: string, object: unknown, fieldManager: string): Promise<KubeObject>;
  /** DELETE a path; a 404 is not an error. */
  delete(path: string): Promise<void>;
  /** Every listable resource of every group, at its preferred version. */
  discover(): Promise<ApiResource[]>;
}

/** Connects to the cluster named by the settings. */
export async function connect(settings: ClusterSettings = {}): Promise<ClusterClient> {
  const own = readKubeconfig(settings);
  return rawClient(own ?? (await clientNodeConnection(settings)));
}

function rawClient(connection: Connection): ClusterClient {
  const { server, options: base, tokenFile } = connection;
  const send = async (
    method: string,
    path: string,
    body?: unknown,
    contentType = 'application/json',
  ): Promise<{ status: number; body: unknown }> => {
    const url = new URL(server + path);
    const payload = body === undefined ? undefined : JSON.stringify(body);
    const headers: Record<string, string> = {
      ...(base.headers as Record<string, string> | undefined),
      Accept: 'application/json',
    };
    const token = tokenFile !== undefined ? tokenHeader(tokenFile) : undefined;
    if (token !== undefined) headers['Authorization'] = token;
    if (payload !== undefined) {
      headers['Content-Type'] = contentType;
      headers['Content-Length'] = String(Buffer.byteLength(payload));
    }
    const request = url.protocol === 'http:' ? httpRequest : httpsRequest;
    return new Promise((resolve, reject) => {
      const req = request(url, { ...base, method, headers, timeout: 120_000 }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('error', reject);
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          let parsed: unknown = text;
          try {
            parsed = text === '' ? undefined : JSON.parse(text);
          } catch {
            // not JSON: keep the text for the error message
          }
          resolve({ status: res.statusCode ?? 0, body: parsed });
        });
      });
      req.on('timeout', () => req.destroy(new Error('timed out after 120 s')));
      req.on('error', (error) => reject(new ClusterError(method, `${server}${path}`, 0, error.message)));
      if (payload !== undefined) req.write(payload);
      req.end();
    });
  };
  const failure = (method: string, path: string, res: { status: number; body: unknown }) => {
    const message =
      typeof res.body === 'object' && res.body !== null && 'message' in res.body
        ? String((res.body as { message: unknown }).message)
        : String(res.body ?? '').slice(0, 200);
    return new ClusterError(method, path, res.status, message);
  };
  const client: ClusterClient = {
    server,
    async get<T>(path: string) {
      const res = await send('GET', path);
      if (res.status === 404) return undefined;
      if (res.status !== 200) throw failure('GET', path, res);
      return res.body as T;
    },
    async *list(path: string, limit = 500, labelSelector?: string) {
      // The next page is requested before this one is handed out: the API server reads and
      // serializes it while the caller reviews this one (at most two pages held).
      const fetchPage = async (token: string | undefined): Promise<ListPage> => {
        const query = new URLSearchParams({ limit: String(limit) });
        if (labelSelector !== undefined) query.set('labelSelector', labelSelector);
        if (token) query.set('continue', token);
        const res = await send('GET', `${path}?${query.toString()}`);
        if (res.status !== 200) throw failure('GET', path, res);
        return res.body as ListPage;
      };
      let next: Promise<ListPage> | undefined = fetchPage(undefined);
      while (next) {
        const page: ListPage = await next;
        const token = page.metadata?.continue || undefined;
        next = token ? fetchPage(token) : undefined;
        // An unhandled rejection of the prefetch would end the process before the caller sees it.
        next?.catch(() => undefined);
        yield page.items ?? [];
      }
    },
    async create(collection, object, fieldManager) {
      const query = new URLSearchParams({ fieldManager });
      const res = await send('POST', `${collection}?${query.toString()}`, object);
      if (res.status === 409) return undefined;
      if (res.status !== 201) throw failure('POST', collection, res);
      return res.body as KubeObject;
    },
    async apply(path, object, fieldManager) {
      const query = new URLSearchParams({ fieldManager, force: 'true' });
      const res = await send('PATCH', `${path}?${query.toString()}`, object, 'application/apply-patch+yaml');
      if (res.status !== 200 && res.status !== 201) throw failure('PATCH', path, res);
      return res.body as KubeObject;
    },
    async delete(path) {
      const res = await send('DELETE', path);
      if (res.status !== 200 && res.status !== 202 && res.status !== 404) throw failure('DELETE', path, res);
    },
    async discover() {
      const resources: ApiResource[] = [];
      const core = await client.get<{ resources?: RawResource[] }>('/api/v1');
      resources.push(...resourcesOf('', 'v1', core?.resources ?? []));
      const groups = await client.get<{
        groups?: { name: string; preferredVersion?: { version: string } }[];
      }>('/apis');
      const lists = await Promise.all(
        (groups?.groups ?? []).map(async (group) => {
          const version = group.preferredVersion?.version;
          if (!version) return [];
          const list = await client.get<{ resources?: RawResource[] }>(`/apis/${group.name}/${version}`);
          return resourcesOf(group.name, version, list?.resources ?? []);
        }),
      );
      for (const list of lists) resources.push(...list);
      return resources;
    },
  };
  return client;
}

interface RawResource {
  name: string;
  kind: string;
  namespaced: boolean;
  verbs?: string[];
}

function resourcesOf(group: string, version: string, raw: readonly RawResource[]): ApiResource[] {
  return raw
    .filter((r) => !r.name.includes('/'))
    .map((r) => ({
      group,
      version,
      resource: r.name,
      kind: r.kind,
      namespaced: r.namespaced,
      verbs: r.verbs ?? [],
    }));
}

/** The collection path of a resource, in a namespace or across all of them. */
export function collectionPath(resource: ApiResource, namespace?: string): string {
  const root =
    resource.group === '' ? `/api/${resource.version}` : `/apis/${resource.group}/${resource.version}`;
  return resource.namespaced && namespace !== undefined
    ? `${root}/namespaces/${encodeURIComponent(namespace)}/${resource.resource}`
    : `${root}/${resource.resource}`;
}

/** The path of one object of a resource. */
export function objectPath(resource: ApiResource, name: string, namespace?: string): string {
  return `${collectionPath(resource, namespace)}/${encodeURIComponent(name)}`;
}
