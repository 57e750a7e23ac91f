/**
 * The image verifier against a real registry (Debian's docker-registry, distribution 2.8) on a
 * loopback port: both cosign storage formats, every key type, the genuine cosign vectors, failure
 * modes (down, slow, rate limited, token and basic auth) and the caches.
 */
import { constants, sign as cryptoSign } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TrustPolicy, VerifyRequest } from '../../policies/index.ts';
import { RegistryClient } from '../registry/client.ts';
import { credentialsFromDockerConfig } from '../registry/credentials.ts';
import {
  createTestRekor,
  freePort,
  generateTestKey,
  legacySignatureFromSigstoreFile,
  pushIndex,
  pushLegacySignatures,
  pushRandomImage,
  seedManifest,
  signBundle,
  signLegacy,
  simpleSigningPayload,
  startProxy,
  startRegistry,
} from '../../test/support/registry-rig.ts';
import type { TestKey, TestRegistry } from '../../test/support/registry-rig.ts';
import { signatureTag } from './cosign.ts';
import { createImageVerifier } from './verifier.ts';
import type { ImageVerifierOptions } from './verifier.ts';

/** The genuine cosign vectors, vendored in test/fixtures/cosign (see its README for their origin). */
const fixtures = fileURLToPath(new URL('../../test/fixtures/cosign/', import.meta.url));
const fixture = (name: string): Promise<Buffer> => readFile(`${fixtures}${name}`);

function trust(keys: readonly TestKey[] | readonly string[], extra: Partial<TrustPolicy> = {}): TrustPolicy {
  return {
    authority: {
      kind: 'key',
      keys: keys.map((k, i) => ({ name: `key-${i}`, publicKey: typeof k === 'string' ? k : k.publicKeyPem })),
    },
    signedIdentity: { type: 'matchRepository' },
    rekorPublicKeys: [],
    requireTlog: false,
    ...extra,
  };
}

const fast: ImageVerifierOptions = { deadlineMs: 3000, requestTimeoutMs: 1000, backoffMs: 10 };

let registry: TestRegistry;
let client: RegistryClient;
const key = generateTestKey('p256');
const otherKey = generateTestKey('p256');

/** Trust for look-ups through a proxy: the signatures name the registry behind it. */
function viaProxy(proxyHost: string, t: TrustPolicy): TrustPolicy {
  return { ...t, signedIdentity: { type: 'remapIdentity', prefix: proxyHost, signedPrefix: registry.host } };
}

function request(
  repository: string,
  ref: { tag?: string; digest?: string },
  t: TrustPolicy,
  host?: string,
): VerifyRequest {
  return { registry: host ?? registry.host, repository, insecure: true, trust: t, ...ref };
}

beforeAll(async () => {
  registry = await startRegistry();
  client = new RegistryClient();
});
afterAll(async () => {
  await registry?.stop();
});

describe('legacy .sig signatures', () => {
  it.each(['p256', 'p384', 'rsa', 'ed25519'] as const)(
    'verifies a %s signature made for the digest',
    async (type) => {
      const signer = generateTestKey(type);
      const digest = await pushRandomImage(client, registry.host, `keys/${type}`, 'v1');
      await signLegacy(client, registry.host, `keys/${type}`, digest, signer);
      const result = await createImageVerifier(fast).verify(
        request(`keys/${type}`, { tag: 'v1' }, trust([signer])),
      );
      expect(result).toEqual({
        status: 'verified',
        digest,
        signatures: [{ format: 'simple-signing', key: 'key-0', tlog: false }],
      });
    },
  );

  it('verifies an RSA-PSS signature', async () => {
    const signer = generateTestKey('rsa');
    const digest = await pushRandomImage(client, registry.host, 'keys/rsa-pss', 'v1');
    const payload = simpleSigningPayload(`${registry.host}/keys/rsa-pss`, digest);
    const signature = cryptoSign('sha256', payload, {
      key: signer.privateKey,
      padding: constants.RSA_PKCS1_PSS_PADDING,
      saltLength: 32,
    });
    await pushLegacySignatures(client, registry.host, 'keys/rsa-pss', digest, [
      { payload, signature: signature.toString('base64') },
    ]);
    const result = await createImageVerifier(fast).verify(
      request('keys/rsa-pss', { digest }, trust([signer])),
    );
    expect(result.status).toBe('verified');
  });

  it('rejects a signature by an untrusted key', async () => {
    const digest = await pushRandomImage(client, registry.host, 'wrong-key', 'v1');
    await signLegacy(client, registry.host, 'wrong-key', digest, otherKey);
    const result = await createImageVerifier(fast).verify(request('wrong-key', { tag: 'v1' }, trust([key])));
    expect(result).toMatchObject({ status: 'invalid', digest });
    expect(result.status === 'invalid' && result.reason).toMatch(/does not verify with the trusted keys/);
  });

  it('reports an unsigned image as unsigned, with its digest', async () => {
    const digest = await pushRandomImage(client, registry.host, 'unsigned', 'v1');
    const result = await createImageVerifier(fast).verify(request('unsigned', { tag: 'v1' }, trust([key])));
    expect(result).toMatchObject({ status: 'unsigned', digest });
  });

  it('rejects a signature copied from another image', async () => {
    const signed = await pushRandomImage(client, registry.host, 'copied', 'signed');
    const victim = await pushRandomImage(client, registry.host, 'copied', 'victim');
    await signLegacy(client, registry.host, 'copied', signed, key);
    const sig = await client.getManifest(
      { registry: registry.host, repository: 'copied', insecure: true },
      signatureTag(signed),
    );
    await client.putManifest(
      { registry: registry.host, repository: 'copied', insecure: true },
      signatureTag(victim),
      sig.body,
      sig.mediaType,
    );
    const result = await createImageVerifier(fast).verify(request('copied', { tag: 'victim' }, trust([key])));
    expect(result).toMatchObject({ status: 'invalid', digest: victim });
    expect(result.status === 'invalid' && result.reason).toContain(`the signature is for ${signed}`);
  });

  it('rejects a signature whose identity names another repository', async () => {
    const digest = await pushRandomImage(client, registry.host, 'identity/app', 'v1');
    await signLegacy(client, registry.host, 'identity/app', digest, key, {
      dockerReference: `${registry.host}/identity/other`,
    });
    const result = await createImageVerifier(fast).verify(request('identity/app', { digest }, trust([key])));
    expect(result.status === 'invalid' && result.reason).toMatch(/names .*identity\/other/);
    const anyIdentity = await createImageVerifier(fast).verify(
      request('identity/app', { digest }, trust([key], { signedIdentity: { type: 'any' } })),
    );
    expect(anyIdentity.status).toBe('verified');
  });

  it('does not carry a signature over when the tag is moved after signing', async () => {
    const verifier = createImageVerifier({ ...fast, tagTtlMs: 1 });
    const signed = await pushRandomImage(client, registry.host, 'moved', 'release');
    await signLegacy(client, registry.host, 'moved', signed, key);
    expect(await verifier.verify(request('moved', { tag: 'release' }, trust([key])))).toMatchObject({
      status: 'verified',
      digest: signed,
    });
    const moved = await pushRandomImage(client, registry.host, 'moved', 'release');
    await new Promise((resolve) => setTimeout(resolve, 5));
    expect(await verifier.verify(request('moved', { tag: 'release' }, trust([key])))).toMatchObject({
      status: 'unsigned',
      digest: moved,
    });
  });

  it('verifies the index digest of a multi-arch tag, as cosign signs it', async () => {
    const amd = await pushRandomImage(client, registry.host, 'multi', 'amd64');
    const arm = await pushRandomImage(client, registry.host, 'multi', 'arm64');
    const index = await pushIndex(client, registry.host, 'multi', 'v1', [amd, arm]);
    await signLegacy(client, registry.host, 'multi', amd, key);
    const verifier = createImageVerifier(fast);
    expect(await verifier.verify(request('multi', { tag: 'v1' }, trust([key])))).toMatchObject({
      status: 'unsigned',
      digest: index,
    });
    await signLegacy(client, registry.host, 'multi', index, key);
    expect(
      await createImageVerifier(fast).verify(request('multi', { tag: 'v1' }, trust([key]))),
    ).toMatchObject({
      status: 'verified',
      digest: index,
    });
  });

  it('reports a tag that does not exist as not found', async () => {
    const result = await createImageVerifier(fast).verify(
      request('nothing-here', { tag: 'v1' }, trust([key])),
    );
    expect(result.status).toBe('not-found');
  });
});

describe('Rekor receipts', () => {
  const rekor = createTestRekor();
  const otherRekor = createTestRekor();

  it('verifies a receipt and requires one when requireTlog is set', async () => {
    const withReceipt = await pushRandomImage(client, registry.host, 'tlog', 'with');
    await signLegacy(client, registry.host, 'tlog', withReceipt, key, { rekor });
    const without = await pushRandomImage(client, registry.host, 'tlog', 'without');
    await signLegacy(client, registry.host, 'tlog', without, key);
    const required = trust([key], { rekorPublicKeys: [rekor.key.publicKeyPem], requireTlog: true });
    const verifier = createImageVerifier(fast);
    expect(await verifier.verify(request('tlog', { tag: 'with' }, required))).toMatchObject({
      status: 'verified',
      signatures: [{ tlog: true }],
    });
    const missing = await verifier.verify(request('tlog', { tag: 'without' }, required));
    expect(missing.status === 'invalid' && missing.reason).toMatch(/no transparency-log receipt/);
    const optional = trust([key], { rekorPublicKeys: [rekor.key.publicKeyPem] });
    expect(await verifier.verify(request('tlog', { tag: 'without' }, optional))).toMatchObject({
      status: 'verified',
      signatures: [{ tlog: false }],
    });
  });

  it('rejects a receipt from an untrusted log and a receipt for another signature', async () => {
    const foreign = await pushRandomImage(client, registry.host, 'tlog-bad', 'foreign');
    await signLegacy(client, registry.host, 'tlog-bad', foreign, key, { rekor: otherRekor });
    const required = trust([key], { rekorPublicKeys: [rekor.key.publicKeyPem], requireTlog: true });
    const a = await createImageVerifier(fast).verify(request('tlog-bad', { tag: 'foreign' }, required));
    expect(a.status === 'invalid' && a.reason).toMatch(/not trusted/);

    const swapped = await pushRandomImage(client, registry.host, 'tlog-bad', 'swapped');
    const payload = simpleSigningPayload(`${registry.host}/tlog-bad`, swapped);
    const signature = cryptoSign('sha256', payload, key.privateKey);
    const unrelated = simpleSigningPayload(`${registry.host}/tlog-bad`, foreign);
    const receipt = rekor.receipt(
      unrelated,
      cryptoSign('sha256', unrelated, key.privateKey),
      key.publicKeyPem,
    );
    await pushLegacySignatures(client, registry.host, 'tlog-bad', swapped, [
      {
        payload,
        signature: signature.toString('base64'),
        annotations: { 'dev.sigstore.cosign/bundle': receipt },
      },
    ]);
    const b = await createImageVerifier(fast).verify(request('tlog-bad', { tag: 'swapped' }, required));
    expect(b.status === 'invalid' && b.reason).toMatch(/another payload/);
  });
});

describe('Sigstore bundles (cosign v3) through the referrers fallback tag', () => {
  it('verifies a DSSE bundle whose statement names the digest', async () => {
    const digest = await pushRandomImage(client, registry.host, 'bundle', 'v1');
    await signBundle(client, registry.host, 'bundle', digest, key);
    expect(await createImageVerifier(fast).verify(request('bundle', { tag: 'v1' }, trust([key])))).toEqual({
      status: 'verified',
      digest,
      signatures: [{ format: 'sigstore-bundle', key: 'key-0', tlog: false }],
    });
    const wrong = await createImageVerifier(fast).verify(request('bundle', { tag: 'v1' }, trust([otherKey])));
    expect(wrong.status).toBe('invalid');
  });

  it('verifies the transparency-log entry of a bundle when Rekor keys are configured', async () => {
    const rekor = createTestRekor();
    const logged = await pushRandomImage(client, registry.host, 'bundle-tlog', 'logged');
    await signBundle(client, registry.host, 'bundle-tlog', logged, key, { rekor });
    const unlogged = await pushRandomImage(client, registry.host, 'bundle-tlog', 'unlogged');
    await signBundle(client, registry.host, 'bundle-tlog', unlogged, key);
    const required = trust([key], { rekorPublicKeys: [rekor.key.publicKeyPem], requireTlog: true });
    expect(
      await createImageVerifier(fast).verify(request('bundle-tlog', { tag: 'logged' }, required)),
    ).toMatchObject({
      status: 'verified',
      signatures: [{ format: 'sigstore-bundle', tlog: true }],
    });
    const missing = await createImageVerifier(fast).verify(
      request('bundle-tlog', { tag: 'unlogged' }, required),
    );
    expect(missing.status === 'invalid' && missing.reason).toMatch(/no transparency-log receipt/);
    const otherLog = trust([key], {
      rekorPublicKeys: [createTestRekor().key.publicKeyPem],
      requireTlog: true,
    });
    const untrusted = await createImageVerifier(fast).verify(
      request('bundle-tlog', { tag: 'logged' }, otherLog),
    );
    expect(untrusted.status === 'invalid' && untrusted.reason).toMatch(/not trusted/);
  });

  it('rejects a bundle whose statement is about another image, and attestations that are not signatures', async () => {
    const other = await pushRandomImage(client, registry.host, 'bundle-bad', 'other');
    const digest = await pushRandomImage(client, registry.host, 'bundle-bad', 'v1');
    await signBundle(client, registry.host, 'bundle-bad', digest, key, { subjectDigest: other });
    const result = await createImageVerifier(fast).verify(request('bundle-bad', { digest }, trust([key])));
    expect(result.status === 'invalid' && result.reason).toMatch(/about another image/);

    const attested = await pushRandomImage(client, registry.host, 'bundle-bad', 'sbom');
    await signBundle(client, registry.host, 'bundle-bad', attested, key, {
      predicateType: 'https://spdx.dev/Document',
    });
    const sbom = await createImageVerifier(fast).verify(
      request('bundle-bad', { digest: attested }, trust([key])),
    );
    expect(sbom.status === 'invalid' && sbom.reason).toMatch(/not a cosign signature/);
  });
});

describe('genuine cosign signatures (test/fixtures/cosign)', () => {
  const mirror = (host: string): Partial<TrustPolicy> => ({
    signedIdentity: { type: 'remapIdentity', prefix: host, signedPrefix: '192.168.64.2:5000' },
  });

  async function load(folder: string, repository: string): Promise<string> {
    const digest = await seedManifest(registry, repository, 'v1', await fixture(`${folder}/manifest.json`));
    await pushLegacySignatures(client, registry.host, repository, digest, [
      legacySignatureFromSigstoreFile(await fixture(`${folder}/signature-1`)),
    ]);
    return digest;
  }

  it('verifies dir-img-cosign-valid with cosign.pub and not with cosign2.pub', async () => {
    const digest = await load('dir-img-cosign-valid', 'cosign-signed-single-sample');
    expect(digest).toBe('sha256:634a8f35b5f16dcf4aaa0822adc0b1964bb786fca12f6831de8ddc45e5986a00');
    const cosignPub = (await fixture('cosign.pub')).toString();
    const cosign2Pub = (await fixture('cosign2.pub')).toString();
    const ok = await createImageVerifier(fast).verify(
      request('cosign-signed-single-sample', { tag: 'v1' }, trust([cosignPub], mirror(registry.host))),
    );
    expect(ok).toMatchObject({ status: 'verified', digest });
    const wrongKey = await createImageVerifier(fast).verify(
      request('cosign-signed-single-sample', { tag: 'v1' }, trust([cosign2Pub], mirror(registry.host))),
    );
    expect(wrongKey.status).toBe('invalid');
    const unmapped = await createImageVerifier(fast).verify(
      request('cosign-signed-single-sample', { tag: 'v1' }, trust([cosignPub])),
    );
    expect(unmapped.status === 'invalid' && unmapped.reason).toMatch(/names 192\.168\.64\.2:5000/);
  });

  it('verifies dir-img-cosign-key-rekor-valid and its Rekor receipt against rekor-public-good.pub', async () => {
    await load('dir-img-cosign-key-rekor-valid', 'cosign-signed/key-1');
    const rekorPub = (await fixture('rekor-public-good.pub')).toString();
    const withTlog = (keyFile: string) =>
      fixture(keyFile).then((pem) =>
        trust([pem.toString()], { ...mirror(registry.host), rekorPublicKeys: [rekorPub], requireTlog: true }),
      );
    expect(
      await createImageVerifier(fast).verify(
        request('cosign-signed/key-1', { tag: 'v1' }, await withTlog('cosign2.pub')),
      ),
    ).toMatchObject({ status: 'verified', signatures: [{ format: 'simple-signing', tlog: true }] });
    expect(
      (
        await createImageVerifier(fast).verify(
          request('cosign-signed/key-1', { tag: 'v1' }, await withTlog('cosign.pub')),
        )
      ).status,
    ).toBe('invalid');
    const otherLog = trust([(await fixture('cosign2.pub')).toString()], {
      ...mirror(registry.host),
      rekorPublicKeys: [createTestRekor().key.publicKeyPem],
      requireTlog: true,
    });
    expect(
      (await createImageVerifier(fast).verify(request('cosign-signed/key-1', { tag: 'v1' }, otherLog)))
        .status,
    ).toBe('invalid');
  });

  it('rejects dir-img-cosign-modified-manifest: the signature is for the original manifest', async () => {
    const digest = await load('dir-img-cosign-modified-manifest', 'cosign-modified');
    const cosignPub = (await fixture('cosign.pub')).toString();
    const result = await createImageVerifier(fast).verify(
      request('cosign-modified', { tag: 'v1' }, trust([cosignPub], { signedIdentity: { type: 'any' } })),
    );
    expect(result).toMatchObject({ status: 'invalid', digest });
    expect(result.status === 'invalid' && result.reason).toContain(
      'the signature is for sha256:634a8f35b5f16dcf4aaa0822adc0b1964bb786fca12f6831de8ddc45e5986a00',
    );
  });
});

describe('registry failures', () => {
  it('fails fast and closed when the registry is down', async () => {
    const port = await freePort();
    const started = performance.now();
    const result = await createImageVerifier(fast).verify(
      request('app', { tag: 'v1' }, trust([key]), `127.0.0.1:${port}`),
    );
    expect(result.status).toBe('unreachable');
    expect(result.status === 'unreachable' && result.reason).toMatch(/ECONNREFUSED/);
    expect(performance.now() - started).toBeLessThan(3000);
  });

  it('gives up at the overall deadline when the registry is slow', async () => {
    const digest = await pushRandomImage(client, registry.host, 'slow', 'v1');
    await signLegacy(client, registry.host, 'slow', digest, key);
    const proxy = await startProxy(registry.host, () => ({ delayMs: 2000 }));
    try {
      const started = performance.now();
      const result = await createImageVerifier({
        deadlineMs: 300,
        requestTimeoutMs: 200,
        backoffMs: 10,
      }).verify(request('slow', { tag: 'v1' }, viaProxy(proxy.host, trust([key])), proxy.host));
      const elapsed = performance.now() - started;
      expect(result.status === 'unreachable' && result.reason).toMatch(/300 ms verification deadline/);
      expect(elapsed).toBeLessThan(1500);
    } finally {
      await proxy.stop();
    }
  });

  it('retries after 429 (honouring Retry-After) and 5xx, then verifies', async () => {
    const digest = await pushRandomImage(client, registry.host, 'limited', 'v1');
    await signLegacy(client, registry.host, 'limited', digest, key);
    const proxy = await startProxy(registry.host, (_req, index) => {
      if (index === 0) return { respond: { status: 429, headers: { 'retry-after': '1' } } };
      if (index === 2) return { respond: { status: 503 } };
      return undefined;
    });
    try {
      const started = performance.now();
      const result = await createImageVerifier(fast).verify(
        request('limited', { tag: 'v1' }, viaProxy(proxy.host, trust([key])), proxy.host),
      );
      expect(result).toMatchObject({ status: 'verified', digest });
      expect(performance.now() - started).toBeGreaterThanOrEqual(900);
      expect(proxy.requests[0]).toBe(proxy.requests[1]);
    } finally {
      await proxy.stop();
    }
  });

  it('accepts a verified legacy signature when the bundle look-up fails, and fails closed when nothing verified', async () => {
    const digest = await pushRandomImage(client, registry.host, 'half-broken', 'v1');
    await signLegacy(client, registry.host, 'half-broken', digest, key);
    const unsigned = await pushRandomImage(client, registry.host, 'half-broken', 'v2');
    const proxy = await startProxy(registry.host, (req) =>
      /\/referrers\/|\/manifests\/sha256-[0-9a-f]{64}$/.test(req.url ?? '')
        ? { respond: { status: 500 } }
        : undefined,
    );
    try {
      const t = viaProxy(proxy.host, trust([key]));
      expect(
        await createImageVerifier(fast).verify(request('half-broken', { tag: 'v1' }, t, proxy.host)),
      ).toMatchObject({
        status: 'verified',
        digest,
      });
      const result = await createImageVerifier(fast).verify(
        request('half-broken', { digest: unsigned }, t, proxy.host),
      );
      expect(result.status === 'unreachable' && result.reason).toMatch(/HTTP 500/);
    } finally {
      await proxy.stop();
    }
  });

  it('does not wait for a Retry-After past the deadline', async () => {
    const proxy = await startProxy(registry.host, () => ({
      respond: { status: 429, headers: { 'retry-after': '60' } },
    }));
    try {
      const started = performance.now();
      const result = await createImageVerifier(fast).verify(
        request('limited', { tag: 'v1' }, viaProxy(proxy.host, trust([key])), proxy.host),
      );
      expect(result.status === 'unreachable' && result.reason).toMatch(
        /rate limited \(HTTP 429, Retry-After 60s\)/,
      );
      expect(performance.now() - started).toBeLessThan(1000);
      expect(proxy.requests).toHaveLength(1);
    } finally {
      await proxy.stop();
    }
  });

  it('hashes the manifest itself and ignores a lying Docker-Content-Digest header', async () => {
    const signed = await pushRandomImage(client, registry.host, 'lying', 'signed');
    await signLegacy(client, registry.host, 'lying', signed, key);
    const unsigned = await pushRandomImage(client, registry.host, 'lying', 'unsigned');
    const { body } = await client.getManifest(
      { registry: registry.host, repository: 'lying', insecure: true },
      unsigned,
    );
    const proxy = await startProxy(registry.host, (req) => {
      if (req.url === '/v2/lying/manifests/unsigned') {
        return {
          respond: {
            status: 200,
            headers: {
              'docker-content-digest': signed,
              'content-type': 'application/vnd.oci.image.manifest.v1+json',
            },
            body: body.toString('utf8'),
          },
        };
      }
      return undefined;
    });
    try {
      const tampered = await createImageVerifier(fast).verify(
        request('lying', { tag: 'unsigned' }, viaProxy(proxy.host, trust([key])), proxy.host),
      );
      expect(tampered).toMatchObject({ status: 'unsigned', digest: unsigned });
    } finally {
      await proxy.stop();
    }
  });

  it('never hashes an error answer as a manifest', async () => {
    const proxy = await startProxy(registry.host, () => ({
      respond: { status: 400, headers: { 'content-type': 'application/json' }, body: '{"errors":[]}' },
    }));
    try {
      const result = await createImageVerifier(fast).verify(
        request('unsigned', { tag: 'v1' }, viaProxy(proxy.host, trust([key])), proxy.host),
      );
      expect(result).toEqual({ status: 'unreachable', reason: expect.stringMatching(/HTTP 400 on GET/) });
    } finally {
      await proxy.stop();
    }
  });

  it('never speaks plain HTTP to a registry not marked insecure', async () => {
    const result = await createImageVerifier(fast).verify({
      ...request('unsigned', { tag: 'v1' }, trust([key])),
      insecure: false,
    });
    expect(result.status).toBe('unreachable');
  });

  it('requires basic credentials when the registry challenges with Basic', async () => {
    const digest = await pushRandomImage(client, registry.host, 'basic', 'v1');
    await signLegacy(client, registry.host, 'basic', digest, key);
    const expected = `Basic ${Buffer.from('ci:s3cret').toString('base64')}`;
    const proxy = await startProxy(registry.host, (req) =>
      req.headers.authorization === expected
        ? undefined
        : { respond: { status: 401, headers: { 'www-authenticate': 'Basic realm="registry"' } } },
    );
    try {
      const anonymous = await createImageVerifier(fast).verify(
        request('basic', { tag: 'v1' }, viaProxy(proxy.host, trust([key])), proxy.host),
      );
      expect(anonymous.status === 'unreachable' && anonymous.reason).toMatch(/no credentials are configured/);
      const credentials = credentialsFromDockerConfig({
        auths: { [`http://${proxy.host}/v2/`]: { auth: Buffer.from('ci:s3cret').toString('base64') } },
      });
      const result = await createImageVerifier({ ...fast, credentials }).verify(
        request('basic', { tag: 'v1' }, viaProxy(proxy.host, trust([key])), proxy.host),
      );
      expect(result).toMatchObject({ status: 'verified', digest });
    } finally {
      await proxy.stop();
    }
  });
});

describe('token auth (distribution auth: token, realm served by the test)', () => {
  let secured: TestRegistry;
  beforeAll(async () => {
    secured = await startRegistry({ token: { username: 'puller', password: 'pw' } });
  });
  afterAll(async () => {
    await secured?.stop();
  });

  it('obtains a bearer token with the configured credentials and reuses it', async () => {
    const credentials = credentialsFromDockerConfig({
      auths: { [secured.host]: { username: 'puller', password: 'pw' } },
    });
    const pusher = new RegistryClient({ credentials });
    const digest = await pushRandomImage(pusher, secured.host, 'private/app', 'v1');
    await signLegacy(pusher, secured.host, 'private/app', digest, key);
    const before = secured.tokenRequests.length;
    const verifier = createImageVerifier({ ...fast, credentials });
    const result = await verifier.verify(request('private/app', { tag: 'v1' }, trust([key]), secured.host));
    expect(result).toMatchObject({ status: 'verified', digest });
    expect(secured.tokenRequests.length - before).toBe(1);
    expect(secured.tokenRequests.at(-1)).toContain('scope=repository%3Aprivate%2Fapp%3Apull');

    const anonymous = await createImageVerifier(fast).verify(
      request('private/app', { tag: 'v1' }, trust([key]), secured.host),
    );
    expect(anonymous.status === 'unreachable' && anonymous.reason).toMatch(
      /refused a token .*no credentials/,
    );
  });
});

describe('caching', () => {
  it('answers repeated and concurrent look-ups from one verification, per trust configuration', async () => {
    const digest = await pushRandomImage(client, registry.host, 'cached', 'v1');
    await signLegacy(client, registry.host, 'cached', digest, key);
    const requests: string[] = [];
    const verifier = createImageVerifier({
      ...fast,
      onRequest: (e) => requests.push(`${e.method} ${e.path}`),
    });
    const t = trust([key]);
    const burst = await Promise.all(
      Array.from({ length: 50 }, () => verifier.verify(request('cached', { tag: 'v1' }, t))),
    );
    expect(new Set(burst.map((r) => r.status))).toEqual(new Set(['verified']));
    const first = requests.length;
    expect(verifier.stats()).toMatchObject({ verifications: 1, inflightJoins: 49 });
    await verifier.verify(request('cached', { tag: 'v1' }, t));
    await verifier.verify(request('cached', { digest }, t));
    expect(requests.length).toBe(first);
    await verifier.verify(request('cached', { digest }, trust([key, otherKey])));
    expect(verifier.stats().verifications).toBe(2);
  });

  it('caches failures briefly so a down registry is not hammered', async () => {
    const port = await freePort();
    const requests: string[] = [];
    const verifier = createImageVerifier({
      ...fast,
      negativeTtlMs: 60_000,
      onRequest: (e) => requests.push(e.path),
    });
    const t = trust([key]);
    await verifier.verify(request('app', { tag: 'v1' }, t, `127.0.0.1:${port}`));
    const afterFirst = requests.length;
    const again = await verifier.verify(request('app', { tag: 'v1' }, t, `127.0.0.1:${port}`));
    expect(again.status).toBe('unreachable');
    expect(requests.length).toBe(afterFirst);
  });

  it('answers a caller whose own deadline passes without cancelling the shared look-up', async () => {
    const digest = await pushRandomImage(client, registry.host, 'shared', 'v1');
    await signLegacy(client, registry.host, 'shared', digest, key);
    const proxy = await startProxy(registry.host, () => ({ delayMs: 100 }));
    try {
      const verifier = createImageVerifier(fast);
      const t = trust([key]);
      const impatient = verifier.verify({
        ...request('shared', { tag: 'v1' }, viaProxy(proxy.host, t), proxy.host),
        signal: AbortSignal.timeout(20),
      });
      const patient = verifier.verify(request('shared', { tag: 'v1' }, viaProxy(proxy.host, t), proxy.host));
      expect((await impatient).status).toBe('unreachable');
      expect(await patient).toMatchObject({ status: 'verified', digest });
    } finally {
      await proxy.stop();
    }
  });
});
