/**
 * What the webhook benches share: a loopback registry (Debian's docker-registry, test/support's
 * rig) holding the sample's two images signed with a fresh key, the finance baseline pointed at it
 * (approved registries, signed-images rule and key, plain HTTP), and the sample AdmissionReview in
 * an allowed and a denied variant.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse, stringify } from 'yaml';
import { RegistryClient } from '../io/registry/client.ts';
import { generateTestKey, pushRandomImage, signLegacy, startRegistry } from '../test/support/registry-rig.ts';
import type { TestKey, TestRegistry } from '../test/support/registry-rig.ts';
import { root } from './peers.ts';

/** The images of the sample Deployment, as `repository:tag` under the registry. */
export const sampleImages = { odoo: 'erp/odoo:17.0', shipper: 'platform/fluent-bit:3.1' } as const;

/** A registry with the sample's images signed, and the bundle that trusts it. */
export interface SignedRig {
  readonly registry: TestRegistry;
  readonly key: TestKey;
  /** The finance baseline with `registry.corp.example` replaced by the loopback registry. */
  readonly bundleYaml: string;
  stop(): Promise<void>;
}

/** The finance baseline trusting `registryHost` and `key` (plain HTTP to that host). */
export function baselineFor(registryHost: string, key: TestKey): string {
  const text = readFileSync(join(root, 'bundles/finance-baseline.yaml'), 'utf8').replaceAll(
    'registry.corp.example',
    registryHost,
  );
  const bundle = parse(text) as {
    spec: { policies: Record<string, Record<string, unknown>> };
  };
  const signed = bundle.spec.policies['signed-images'];
  if (!signed) throw new Error('bundles/finance-baseline.yaml has no signed-images policy');
  const rules = signed['rules'] as Array<{ keys: Array<{ publicKey: string }> }>;
  for (const rule of rules) for (const k of rule.keys) k.publicKey = key.publicKeyPem;
  signed['insecureRegistries'] = [registryHost];
  return stringify(bundle);
}

/** Starts the registry, pushes and signs the sample's images. */
export async function startSignedRig(): Promise<SignedRig> {
  const registry = await startRegistry();
  try {
    const client = new RegistryClient();
    const key = generateTestKey('p256');
    for (const image of Object.values(sampleImages)) {
      const [repository = '', tag = ''] = image.split(':');
      const digest = await pushRandomImage(client, registry.host, repository, tag);
      await signLegacy(client, registry.host, repository, digest, key);
    }
    return { registry, key, bundleYaml: baselineFor(registry.host, key), stop: () => registry.stop() };
  } catch (error) {
    await registry.stop();
    throw error;
  }
}
