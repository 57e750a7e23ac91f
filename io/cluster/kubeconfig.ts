/**
 * Tollgate's own reading of a kubeconfig, for the shapes the drift audit and the webhook's
 * namespace informer meet most: a context whose user has a client certificate, a bearer token (or
 * token file) or basic credentials, with the CA as data or a file, and the pod's service account.
 * @kubernetes/client-node costs about 90 MB of memory and a second of start-up to load (about 30 MB
 * more RSS for a webhook), so it is loaded only for what this reader does not handle (exec plugins,
 * auth providers, several kubeconfig files merged, proxies): {@link readKubeconfig} then answers
 * undefined and {@link clientNodeConnection} asks client-node.
 */
import { existsSync, readFileSync } from 'node:fs';
import type { RequestOptions } from 'node:https';
import { homedir } from 'node:os';
import { dirname, resolve } from 'node:path';
import { load } from 'js-yaml';
import { ClusterError } from './cluster-error.ts';

/** Where the API server is and how to authenticate to it. */
export interface Connection {
  /** The server URL without a trailing slash. */
  readonly server: string;
  /** TLS material and fixed headers for node:https. */
  readonly options: RequestOptions;
  /** A token file read again before each request (a projected service-account token rotates). */
  readonly tokenFile?: string;
}

/** The service account's mount in a pod. */
export const serviceAccountDir = '/var/run/secrets/kubernetes.io/serviceaccount';

type Named<T> = { name?: unknown } & Record<string, T | unknown>;

const record = (value: unknown): Record<string, unknown> | undefined =>
  typeof value === 'object' && value !== null && !Array.isArray(value)
    ? (value as Record<string, unknown>)
    : undefined;
const text = (value: unknown): string | undefined =>
  typeof value === 'string' && value !== '' ? value : undefined;

/** Keys of a kubeconfig user this reader handles; any other (exec, auth-provider, as, …) sends it to client-node. */
const userKeys = new Set([
  'client-certificate',
  'client-certificate-data',
  'client-key',
  'client-key-data',
  'token',
  'tokenFile',
  'username',
  'password',
]);
const clusterKeys = new Set([
  'server',
  'certificate-authority',
  'certificate-authority-data',
  'insecure-skip-tls-verify',
  'tls-server-name',
  'extensions',
]);

/**
 * Reads the kubeconfig the settings name (the file, else `$KUBECONFIG` when it names one file,
 * else `~/.kube/config`, else the pod's service account). Undefined: a shape this reader leaves to
 * client-node. A file that cannot be read or a context that does not exist is a {@link ClusterError}.
 */
export function readKubeconfig(
  settings: { readonly kubeconfig?: string; readonly context?: string },
  env: NodeJS.ProcessEnv = process.env,
): Connection | undefined {
  let file = settings.kubeconfig;
  if (file === undefined && env['KUBECONFIG']) {
    const files = env['KUBECONFIG'].split(':').filter((f) => f !== '');
    if (files.length !== 1) return undefined; // merged kubeconfigs: client-node's rules
    file = files[0];
  }
  if (file === undefined) {
    const home = resolve(homedir(), '.kube', 'config');
    if (existsSync(home)) file = home;
  }
  if (file === undefined) return settings.context === undefined ? inClusterConnection(env) : undefined;
  let doc: Record<string, unknown> | undefined;
  try {
    doc = record(load(readFileSync(file, 'utf8')));
  } catch (error) {
    throw new ClusterError('read', file, 0, `cannot load the kubeconfig: ${(error as Error).message}`);
  }
  if (!doc) throw new ClusterError('read', file, 0, 'cannot load the kubeconfig: not a mapping');
  const named = (list: unknown, name: string | undefined): Record<string, unknown> | undefined =>
    Array.isArray(list) ? (list as Named<unknown>[]).find((item) => item?.name === name) : undefined;
  const contextName = settings.context ?? text(doc['current-context']);
  const context = record(named(doc['contexts'], contextName)?.['context']);
  if (!context) {
    const contexts = Array.isArray(doc['contexts'])
      ? (doc['contexts'] as Named<unknown>[]).map((c) => String(c?.name))
      : [];
    throw new ClusterError(
      'read',
      file,
      0,
      contextName === undefined
        ? 'no current context'
        : `no context "${contextName}" (contexts: ${contexts.join(', ')})`,
    );
  }
  const cluster = record(named(doc['clusters'], text(context['cluster']))?.['cluster']);
  const server = text(cluster?.['server']);
  if (!cluster || !server) throw new ClusterError('read', file, 0, 'no current cluster');
  const user = record(named(doc['users'], text(context['user']))?.['user']) ?? {};
  if (
    Object.keys(cluster).some((key) => !clusterKeys.has(key)) ||
    Object.keys(user).some((key) => !userKeys.has(key))
  )
    return undefined;
  const base = dirname(resolve(file));
  const bytes = (data: unknown, path: unknown): Buffer | undefined => {
    if (text(data)) return Buffer.from(String(data), 'base64');
    if (!text(path)) return undefined;
    const full = resolve(base, String(path));
    try {
      return readFileSync(full);
    } catch (error) {
      throw new ClusterError('read', full, 0, `named by the kubeconfig ${file}: ${(error as Error).message}`);
    }
  };
  const options: RequestOptions = {};
  const headers: Record<string, string> = {};
  const ca = bytes(cluster['certificate-authority-data'], cluster['certificate-authority']);
  if (ca) options.ca = ca;
  if (cluster['insecure-skip-tls-verify'] === true) options.rejectUnauthorized = false;
  if (text(cluster['tls-server-name'])) options.servername = String(cluster['tls-server-name']);
  const cert = bytes(user['client-certificate-data'], user['client-certificate']);
  const key = bytes(user['client-key-data'], user['client-key']);
  if (cert) options.cert = cert;
  if (key) options.key = key;
  if (text(user['token'])) headers['Authorization'] = `Bearer ${String(user['token'])}`;
  else if (text(user['username']))
    headers['Authorization'] =
      `Basic ${Buffer.from(`${String(user['username'])}:${String(user['password'] ?? '')}`).toString('base64')}`;
  options.headers = headers;
  const tokenFile =
    text(user['tokenFile']) && !text(user['token']) ? resolve(base, String(user['tokenFile'])) : undefined;
  return { server: server.replace(/\/+$/, ''), options, ...(tokenFile ? { tokenFile } : {}) };
}

/** The pod's service account (KUBERNETES_SERVICE_HOST and the mounted token and CA); undefined outside a pod. */
export function inClusterConnection(env: NodeJS.ProcessEnv = process.env): Connection | undefined {
  const host = env['KUBERNETES_SERVICE_HOST'];
  const port = env['KUBERNETES_SERVICE_PORT'];
  const tokenFile = `${serviceAccountDir}/token`;
  if (!host || !port || !existsSync(tokenFile)) return undefined;
  const caFile = `${serviceAccountDir}/ca.crt`;
  return {
    server: `https://${host.includes(':') ? `[${host}]` : host}:${port}`,
    options: { ...(existsSync(caFile) ? { ca: readFileSync(caFile) } : {}), headers: {} },
    tokenFile,
  };
}

/** The Authorization header of a token file, read now (undefined when the file is empty). */
export function tokenHeader(tokenFile: string): string | undefined {
  let token: string;
  try {
    token = readFileSync(tokenFile, 'utf8').trim();
  } catch (error) {
    throw new ClusterError('read', tokenFile, 0, `cannot read the token: ${(error as Error).message}`);
  }
  return token === '' ? undefined : `Bearer ${token}`;
}

/**
 * What client-node makes of a kubeconfig {@link readKubeconfig} leaves to it (exec plugins, auth
 * providers, merged files): the connection of its current (or the named) context, with the
 * credentials an exec plugin gives now. A kubeconfig that does not load is a {@link ClusterError}.
 */
export async function clientNodeConnection(settings: {
  readonly kubeconfig?: string;
  readonly context?: string;
}): Promise<Connection> {
  const { KubeConfig } = await import('@kubernetes/client-node');
  const kc = new KubeConfig();
  try {
    if (settings.kubeconfig !== undefined) kc.loadFromFile(settings.kubeconfig);
    else kc.loadFromDefault();
  } catch (error) {
    throw new ClusterError(
      'read',
      settings.kubeconfig ?? 'the default kubeconfig',
      0,
      `cannot load the kubeconfig: ${(error as Error).message}`,
    );
  }
  if (settings.context !== undefined) {
    if (!kc.getContextObject(settings.context))
      throw new ClusterError(
        'read',
        settings.kubeconfig ?? 'the kubeconfig',
        0,
        `no context "${settings.context}" (contexts: ${kc
          .getContexts()
          .map((c) => c.name)
          .join(', ')})`,
      );
    kc.setCurrentContext(settings.context);
  }
  const cluster = kc.getCurrentCluster();
  if (!cluster)
    throw new ClusterError('read', settings.kubeconfig ?? 'the kubeconfig', 0, 'no current cluster');
  const server = cluster.server.replace(/\/+$/, '');
  const base: RequestOptions = {};
  await kc.applyToHTTPSOptions(base);
  return { server, options: base };
}
