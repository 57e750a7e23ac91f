/**
 * Registry credentials from Docker's config.json (`auths`) and from Kubernetes
 * `kubernetes.io/dockerconfigjson` Secrets, looked up by registry host.
 */
import { readFile } from 'node:fs/promises';

/** A username and password (or token used as password) for one registry. */
export interface RegistryCredential {
  readonly username: string;
  readonly password: string;
}

/** Looks up credentials by normalized registry host (`docker.io`, `registry.corp.example:5000`). */
export interface CredentialStore {
  get(registry: string): RegistryCredential | undefined;
}

/** The part of Docker's config.json tollgate reads. */
export interface DockerConfig {
  auths?: Record<string, { auth?: string; username?: string; password?: string; identitytoken?: string }>;
}

/** Normalizes a config.json `auths` key (`https://index.docker.io/v1/`, `ghcr.io`) to a registry host. */
export function normalizeRegistryHost(key: string): string {
  let host = key.trim().toLowerCase();
  host = host.replace(/^[a-z]+:\/\//, '');
  const slash = host.indexOf('/');
  if (slash >= 0) host = host.slice(0, slash);
  if (host === 'index.docker.io' || host === 'registry-1.docker.io' || host === 'registry.hub.docker.com')
    return 'docker.io';
  return host;
}

/** Builds a store from a parsed Docker config.json; entries without usable credentials are ignored. */
export function credentialsFromDockerConfig(config: unknown): CredentialStore {
  const map = new Map<string, RegistryCredential>();
  const auths = typeof config === 'object' && config !== null ? (config as DockerConfig).auths : undefined;
  if (auths && typeof auths === 'object') {
    for (const [key, entry] of Object.entries(auths)) {
      if (typeof entry !== 'object' || entry === null) continue;
      let username = typeof entry.username === 'string' ? entry.username : undefined;
      let password = typeof entry.password === 'string' ? entry.password : undefined;
      if ((!username || password === undefined) && typeof entry.auth === 'string' && entry.auth !== '') {
        const decoded = Buffer.from(entry.auth, 'base64').toString('utf8');
        const colon = decoded.indexOf(':');
        if (colon > 0) {
          username = decoded.slice(0, colon);
          password = decoded.slice(colon + 1);
        }
      }
      if (username && password !== undefined) map.set(normalizeRegistryHost(key), { username, password });
    }
  }
  return { get: (registry) => map.get(normalizeRegistryHost(registry)) };
}

/**
 * Parses a Kubernetes Secret of type `kubernetes.io/dockerconfigjson` (data `.dockerconfigjson`,
 * base64) or `kubernetes.io/dockercfg` (data `.dockercfg`, the bare `auths` map); `stringData` is
 * accepted too. Throws on a Secret of another type or with malformed JSON.
 */
export function parseDockerConfigSecret(secret: unknown): CredentialStore {
  if (typeof secret !== 'object' || secret === null) throw new TypeError('the Secret is not an object');
  const { type, data, stringData, metadata } = secret as {
    type?: unknown;
    data?: Record<string, unknown>;
    stringData?: Record<string, unknown>;
    metadata?: { name?: unknown; namespace?: unknown };
  };
  const name = `${String(metadata?.namespace ?? '')}/${String(metadata?.name ?? '')}`;
  const read = (field: string): string | undefined => {
    const encoded = data?.[field];
    if (typeof encoded === 'string') return Buffer.from(encoded, 'base64').toString('utf8');
    const plain = stringData?.[field];
    return typeof plain === 'string' ? plain : undefined;
  };
  if (type === 'kubernetes.io/dockerconfigjson') {
    const text = read('.dockerconfigjson');
    if (text === undefined) throw new TypeError(`Secret ${name} has no .dockerconfigjson`);
    return credentialsFromDockerConfig(JSON.parse(text));
  }
  if (type === 'kubernetes.io/dockercfg') {
    const text = read('.dockercfg');
    if (text === undefined) throw new TypeError(`Secret ${name} has no .dockercfg`);
    return credentialsFromDockerConfig({ auths: JSON.parse(text) as unknown });
  }
  throw new TypeError(`Secret ${name} has type ${String(type)}, not kubernetes.io/dockerconfigjson`);
}

/** Reads Docker's config.json (default `$DOCKER_CONFIG/config.json` or `~/.docker/config.json`); a missing file is an empty store. */
export async function loadDockerConfigFile(path?: string): Promise<CredentialStore> {
  const home = process.env.HOME ?? '';
  const file = path ?? `${process.env.DOCKER_CONFIG ?? `${home}/.docker`}/config.json`;
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return credentialsFromDockerConfig({});
    throw error;
  }
  return credentialsFromDockerConfig(JSON.parse(text));
}

/** Combines stores; the first that knows a registry wins. */
export function combineCredentials(...stores: readonly CredentialStore[]): CredentialStore {
  return {
    get(registry) {
      for (const store of stores) {
        const found = store.get(registry);
        if (found) return found;
      }
      return undefined;
    },
  };
}
