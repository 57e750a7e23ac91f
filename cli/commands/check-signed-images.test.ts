/**
 * `tollgate check` with signed-images, as a user runs it: the real CLI verifies images in a
 * loopback registry, and `--offline` answers without touching the network (here, a registry that
 * never answers) with the bundle's onUnreachable action.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RegistryClient } from '../../io/registry/client.ts';
import {
  generateTestKey,
  pushRandomImage,
  signLegacy,
  startProxy,
  startRegistry,
} from '../../test/support/registry-rig.ts';
import type { TestProxy, TestRegistry } from '../../test/support/registry-rig.ts';

const run = promisify(execFile);
const root = fileURLToPath(new URL('../..', import.meta.url));
const bin = join(root, 'bin', 'tollgate.js');

async function tollgate(
  args: string[],
  dir: string,
  env: Record<string, string> = {},
): Promise<{ code: number; stdout: string; ms: number }> {
  const started = performance.now();
  try {
    const { stdout } = await run(process.execPath, [bin, ...args], {
      cwd: dir,
      env: { ...process.env, DOCKER_CONFIG: dir, ...env },
    });
    return { code: 0, stdout, ms: performance.now() - started };
  } catch (error) {
    const failed = error as { code?: number; stdout?: string };
    return { code: failed.code ?? -1, stdout: failed.stdout ?? '', ms: performance.now() - started };
  }
}

const bundle = (host: string, publicKey: string, onUnreachable: string, insecure = true) =>
  JSON.stringify({
    apiVersion: 'tollgate.dev/v1',
    kind: 'PolicyBundle',
    metadata: { name: 'cli-signed', version: '1.0.0' },
    spec: {
      policies: {
        'signed-images': {
          enforcement: 'deny',
          onUnreachable,
          insecureRegistries: insecure ? [host] : [],
          rules: [{ name: 'local', images: [host], keys: [{ name: 'release', publicKey }] }],
        },
      },
    },
  });

const podYaml = (image: string) =>
  `apiVersion: v1\nkind: Pod\nmetadata: {name: p, namespace: tenant-a}\nspec:\n  containers:\n    - name: c\n      image: ${image}\n`;

describe('tollgate check with signed-images', () => {
  let registry: TestRegistry;
  let blackhole: TestProxy;
  let dir: string;
  const key = generateTestKey('p256');

  beforeAll(async () => {
    registry = await startRegistry();
    blackhole = await startProxy(registry.host, () => ({ delayMs: 600_000 }));
    dir = await mkdtemp(join(tmpdir(), 'tollgate-cli-signed-'));
  });
  afterAll(async () => {
    await blackhole?.stop();
    await registry?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('verifies against the registry: a signed tag passes, an unsigned one is denied with its digest', async () => {
    const client = new RegistryClient();
    const signed = await pushRandomImage(client, registry.host, 'erp/odoo', 'signed');
    await signLegacy(client, registry.host, 'erp/odoo', signed, key);
    const unsigned = await pushRandomImage(client, registry.host, 'erp/odoo', 'unsigned');
    await writeFile(join(dir, 'bundle.json'), bundle(registry.host, key.publicKeyPem, 'deny'));
    await writeFile(join(dir, 'signed.yaml'), podYaml(`${registry.host}/erp/odoo:signed`));
    const ok = await tollgate(['check', '--bundle', 'bundle.json', 'signed.yaml'], dir);
    expect(ok.stdout).toContain('0 denied');
    expect(ok.code).toBe(0);
    await writeFile(join(dir, 'unsigned.yaml'), podYaml(`${registry.host}/erp/odoo:unsigned`));
    const bad = await tollgate(['check', '--bundle', 'bundle.json', 'unsigned.yaml'], dir);
    expect(bad.code).toBe(1);
    expect(bad.stdout).toContain(`deny signed-images Pod/p`);
    expect(bad.stdout).toContain(`(resolved to ${unsigned}) has no cosign signature`);
  });

  it('--offline reports images as unverifiable with onUnreachable, without waiting for a registry', async () => {
    await writeFile(join(dir, 'blackhole.yaml'), podYaml(`${blackhole.host}/erp/odoo:1.0`));
    for (const [onUnreachable, code] of [
      ['warn', 0],
      ['deny', 1],
    ] as const) {
      await writeFile(join(dir, 'offline.json'), bundle(blackhole.host, key.publicKeyPem, onUnreachable));
      const seen = blackhole.requests.length;
      const result = await tollgate(
        ['check', '--offline', '--bundle', 'offline.json', 'blackhole.yaml'],
        dir,
      );
      expect(result.code).toBe(code);
      expect(result.stdout).toContain(`${onUnreachable} signed-images Pod/p`);
      expect(result.stdout).toContain('is unverifiable: no image verifier is available (offline)');
      expect(blackhole.requests.length).toBe(seen);
    }
  });
});

describe('tollgate check against a TLS registry', () => {
  let plain: TestRegistry;
  let secure: TestRegistry;
  let dir: string;
  const key = generateTestKey('ed25519');

  beforeAll(async () => {
    plain = await startRegistry();
    secure = await startRegistry({ tls: true, storage: plain.storage });
    dir = await mkdtemp(join(tmpdir(), 'tollgate-cli-tls-'));
  });
  afterAll(async () => {
    await secure?.stop();
    await plain?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('verifies over HTTPS when the registry is not marked insecure, and fails closed on an untrusted certificate', async () => {
    const client = new RegistryClient();
    const digest = await pushRandomImage(client, plain.host, 'erp/odoo', '1.0');
    await signLegacy(client, plain.host, 'erp/odoo', digest, key, {
      dockerReference: `${secure.host}/erp/odoo`,
    });
    await writeFile(join(dir, 'bundle.json'), bundle(secure.host, key.publicKeyPem, 'deny', false));
    await writeFile(join(dir, 'pod.yaml'), podYaml(`${secure.host}/erp/odoo:1.0`));
    const trusted = await tollgate(['check', '--bundle', 'bundle.json', 'pod.yaml'], dir, {
      NODE_EXTRA_CA_CERTS: secure.caFile ?? '',
    });
    expect(trusted.stdout).toContain('0 denied');
    expect(trusted.code).toBe(0);
    const untrusted = await tollgate(['check', '--bundle', 'bundle.json', 'pod.yaml'], dir);
    expect(untrusted.code).toBe(1);
    expect(untrusted.stdout).toMatch(/is unverifiable: registry 127\.0\.0\.1:\d+ unreachable: .*certificate/);
  });
});
