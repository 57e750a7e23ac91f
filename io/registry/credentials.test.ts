/** Registry credentials from Docker config.json and Kubernetes dockerconfigjson Secrets. */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  combineCredentials,
  credentialsFromDockerConfig,
  loadDockerConfigFile,
  normalizeRegistryHost,
  parseDockerConfigSecret,
} from './credentials.ts';

const b64 = (text: string) => Buffer.from(text).toString('base64');

describe('registry credentials', () => {
  it.each([
    ['https://index.docker.io/v1/', 'docker.io'],
    ['registry-1.docker.io', 'docker.io'],
    ['GHCR.io', 'ghcr.io'],
    ['http://127.0.0.1:5000/v2/', '127.0.0.1:5000'],
    ['registry.corp.example:8443', 'registry.corp.example:8443'],
  ])('normalizes the auths key %s to %s', (key, host) => {
    expect(normalizeRegistryHost(key)).toBe(host);
  });

  it('reads auth (base64 user:password, password may contain colons) and username/password entries', () => {
    const store = credentialsFromDockerConfig({
      auths: {
        'https://index.docker.io/v1/': { auth: b64('hub-user:pa:ss') },
        'registry.corp.example': { username: 'ci', password: 'token' },
        'empty.example': {},
      },
    });
    expect(store.get('docker.io')).toEqual({ username: 'hub-user', password: 'pa:ss' });
    expect(store.get('REGISTRY.corp.example')).toEqual({ username: 'ci', password: 'token' });
    expect(store.get('empty.example')).toBeUndefined();
    expect(store.get('other.example')).toBeUndefined();
  });

  it('parses kubernetes.io/dockerconfigjson and dockercfg Secrets (data and stringData)', () => {
    const config = JSON.stringify({ auths: { 'registry.corp.example': { auth: b64('puller:s3cret') } } });
    const secret = {
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: { name: 'pull', namespace: 'tenant-a' },
      type: 'kubernetes.io/dockerconfigjson',
      data: { '.dockerconfigjson': b64(config) },
    };
    expect(parseDockerConfigSecret(secret).get('registry.corp.example')).toEqual({
      username: 'puller',
      password: 's3cret',
    });
    const stringData = { ...secret, data: undefined, stringData: { '.dockerconfigjson': config } };
    expect(parseDockerConfigSecret(stringData).get('registry.corp.example')?.username).toBe('puller');
    const legacy = {
      type: 'kubernetes.io/dockercfg',
      data: { '.dockercfg': b64(JSON.stringify({ 'ghcr.io': { username: 'u', password: 'p' } })) },
    };
    expect(parseDockerConfigSecret(legacy).get('ghcr.io')).toEqual({ username: 'u', password: 'p' });
  });

  it('refuses Secrets of another type or without the key', () => {
    expect(() => parseDockerConfigSecret({ type: 'Opaque', data: {} })).toThrow(
      /not kubernetes.io\/dockerconfigjson/,
    );
    expect(() => parseDockerConfigSecret({ type: 'kubernetes.io/dockerconfigjson', data: {} })).toThrow(
      /has no .dockerconfigjson/,
    );
  });

  it('loads config.json from a path, treats a missing file as empty, and combines stores in order', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'tollgate-creds-'));
    try {
      const file = join(dir, 'config.json');
      await writeFile(file, JSON.stringify({ auths: { 'a.example': { auth: b64('a:1') } } }));
      const fromFile = await loadDockerConfigFile(file);
      expect(fromFile.get('a.example')).toEqual({ username: 'a', password: '1' });
      expect((await loadDockerConfigFile(join(dir, 'missing.json'))).get('a.example')).toBeUndefined();
      const second = credentialsFromDockerConfig({
        auths: { 'a.example': { auth: b64('b:2') }, 'b.example': { auth: b64('c:3') } },
      });
      const combined = combineCredentials(fromFile, second);
      expect(combined.get('a.example')?.username).toBe('a');
      expect(combined.get('b.example')?.username).toBe('c');
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
