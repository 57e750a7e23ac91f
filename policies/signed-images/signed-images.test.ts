/**
 * signed-images: how verification results become findings (with a recording verifier that
 * implements the ImageVerifier contract), the bundle parameters, the samples, and the policy end
 * to end with the real verifier against a loopback registry.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RegistryClient } from '../../io/registry/client.ts';
import {
  generateTestKey,
  pushRandomImage,
  signLegacy,
  startRegistry,
} from '../../test/support/registry-rig.ts';
import type { TestRegistry } from '../../test/support/registry-rig.ts';
import { createImageVerifier } from '../../io/cosign/verifier.ts';
import { loadBundle } from '../engine/bundle.ts';
import { evaluate } from '../engine/evaluate.ts';
import { deployment, pod, runPolicy } from '../../test/support/policy.ts';
import type { EngineContext, KubeObject, Policy } from '../engine/types.ts';
import { parseSource } from '../engine/yaml-source.ts';
import { signedImagesPolicy } from './index.ts';
import type { ImageVerifier, VerificationResult, VerifyRequest } from '../engine/image-verifier.ts';

const policy = signedImagesPolicy as Policy<unknown>;
const pem = generateTestKey('p256').publicKeyPem;
const otherPem = generateTestKey('p256').publicKeyPem;
const digestA = `sha256:${'a'.repeat(64)}`;

const params = {
  rules: [
    { name: 'erp', images: ['registry.corp.example/erp'], keys: [{ name: 'erp-key', publicKey: pem }] },
    {
      name: 'erp-payroll',
      images: ['registry.corp.example/erp/payroll'],
      keys: [{ name: 'payroll-key', publicKey: otherPem }],
    },
    { name: 'local', images: ['127.0.0.1:5000'], keys: [{ name: 'erp-key', publicKey: pem }] },
  ],
  insecureRegistries: ['127.0.0.1:5000'],
};

/** Answers from a table keyed by `registry/repository:tag` or `@digest`, and records every request. */
class TableVerifier implements ImageVerifier {
  readonly requests: VerifyRequest[] = [];
  readonly table: Record<string, VerificationResult | Error>;
  readonly fallback: VerificationResult;
  constructor(
    table: Record<string, VerificationResult | Error>,
    fallback: VerificationResult = { status: 'verified', digest: digestA, signatures: [] },
  ) {
    this.table = table;
    this.fallback = fallback;
  }
  verify(request: VerifyRequest): Promise<VerificationResult> {
    this.requests.push(request);
    const key = `${request.registry}/${request.repository}${request.digest ? `@${request.digest}` : `:${request.tag}`}`;
    const answer = this.table[key] ?? this.fallback;
    return answer instanceof Error ? Promise.reject(answer) : Promise.resolve(answer);
  }
}

function withVerifier(verifier: ImageVerifier, extra: Partial<EngineContext> = {}) {
  return { context: { services: { imageVerifier: verifier }, ...extra } };
}

const odoo = 'registry.corp.example/erp/odoo:17.0';

describe('signed-images findings', () => {
  it.each<[string, VerificationResult, { status: string; message?: RegExp; action?: string }]>([
    ['verified', { status: 'verified', digest: digestA, signatures: [] }, { status: 'pass' }],
    [
      'unsigned',
      { status: 'unsigned', digest: digestA, reason: 'no signature tag' },
      {
        status: 'fail',
        message: new RegExp(`"${odoo}" \\(resolved to ${digestA}\\) has no cosign signature`),
      },
    ],
    [
      'invalid',
      { status: 'invalid', digest: digestA, reason: 'signature does not verify' },
      { status: 'fail', message: /has no valid signature from a trusted key: signature does not verify/ },
    ],
    [
      'not-found',
      { status: 'not-found', reason: 'manifest erp/odoo:17.0 not found' },
      { status: 'fail', message: /was not found in its registry/ },
    ],
    [
      'unreachable',
      { status: 'unreachable', reason: 'registry registry.corp.example unreachable: ENOTFOUND' },
      {
        status: 'fail',
        message: /is unverifiable: registry registry.corp.example unreachable/,
        action: 'deny',
      },
    ],
  ])('%s', async (_name, answer, expected) => {
    const verifier = new TableVerifier({ [`registry.corp.example/erp/odoo:17.0`]: answer });
    const result = await runPolicy(
      policy,
      params,
      deployment([{ name: 'odoo', image: odoo }]),
      withVerifier(verifier),
    );
    expect(result.status).toBe(expected.status);
    if (expected.message) {
      expect(result.findings).toHaveLength(1);
      expect(result.findings[0]?.message).toMatch(expected.message);
      expect(result.findings[0]?.path).toBe('spec.template.spec.containers[0].image');
      expect(result.findings[0]?.action).toBe(expected.action ?? 'deny');
    }
    if (answer.status === 'unsigned') expect(result.findings[0]?.details?.digest).toBe(digestA);
  });

  it('lowers unreachable images to warn when the bundle says onUnreachable: warn', async () => {
    const verifier = new TableVerifier({
      [`registry.corp.example/erp/odoo:17.0`]: { status: 'unreachable', reason: 'timeout' },
    });
    const result = await runPolicy(
      policy,
      { ...params, onUnreachable: 'warn' },
      deployment([{ name: 'odoo', image: odoo }]),
      withVerifier(verifier),
    );
    expect(result.status).toBe('warn');
    expect(result.findings[0]?.action).toBe('warn');
  });

  it('does not lower other failures with onUnreachable: warn', async () => {
    const verifier = new TableVerifier({
      [`registry.corp.example/erp/odoo:17.0`]: { status: 'invalid', digest: digestA, reason: 'wrong key' },
    });
    const result = await runPolicy(
      policy,
      { ...params, onUnreachable: 'warn' },
      deployment([{ name: 'odoo', image: odoo }]),
      withVerifier(verifier),
    );
    expect(result.status).toBe('fail');
    expect(result.findings[0]?.action).toBe('deny');
  });

  it('treats a verifier that throws as unreachable (never a pass)', async () => {
    const verifier = new TableVerifier({
      [`registry.corp.example/erp/odoo:17.0`]: new Error('socket hang up'),
    });
    const result = await runPolicy(
      policy,
      params,
      deployment([{ name: 'odoo', image: odoo }]),
      withVerifier(verifier),
    );
    expect(result.status).toBe('fail');
    expect(result.findings[0]?.message).toMatch(/unverifiable: socket hang up/);
  });

  it.each([
    ['deny', 'fail', 'deny'],
    ['warn', 'warn', 'warn'],
  ])(
    'reports every image as unverifiable without a verifier (onUnreachable %s)',
    async (onUnreachable, status, action) => {
      const result = await runPolicy(
        policy,
        { ...params, onUnreachable },
        deployment([
          { name: 'odoo', image: odoo },
          { name: 'payroll', image: 'registry.corp.example/erp/payroll@' + digestA },
        ]),
      );
      expect(result.status).toBe(status);
      expect(result.findings.map((f) => [f.path, f.action])).toEqual([
        ['spec.template.spec.containers[0].image', action],
        ['spec.template.spec.containers[1].image', action],
      ]);
      expect(result.findings[0]?.message).toMatch(/unverifiable: no image verifier is available \(offline\)/);
    },
  );

  it('denies an image that matches no rule, without asking the verifier (never skipped)', async () => {
    const verifier = new TableVerifier({});
    for (const image of [
      'nginx:1.27',
      'registry.corp.example/erpx/odoo:1',
      'registry.corp.example.evil.io/erp/odoo:1',
    ]) {
      const result = await runPolicy(
        policy,
        params,
        deployment([{ name: 'c', image }]),
        withVerifier(verifier),
      );
      expect(result.status).toBe('fail');
      expect(result.findings[0]?.message).toMatch(/matches no signing rule/);
    }
    expect(verifier.requests).toEqual([]);
  });

  it('asks with the keys of the most specific rule, the normalized reference and the insecure flag', async () => {
    const verifier = new TableVerifier({});
    const signal = AbortSignal.timeout(10_000);
    await runPolicy(
      policy,
      params,
      deployment([
        { name: 'a', image: 'registry.corp.example/erp/payroll/api:2' },
        { name: 'b', image: 'registry.corp.example/erp/odoo' },
        { name: 'c', image: `127.0.0.1:5000/tools/x:1@${digestA}` },
      ]),
      withVerifier(verifier, { signal }),
    );
    expect(
      verifier.requests.map((r) => ({
        registry: r.registry,
        repository: r.repository,
        tag: r.tag,
        digest: r.digest,
        insecure: r.insecure,
        keys: r.trust.authority.kind === 'key' ? r.trust.authority.keys.map((k) => k.name) : [],
        signal: r.signal === signal,
      })),
    ).toEqual([
      {
        registry: 'registry.corp.example',
        repository: 'erp/payroll/api',
        tag: '2',
        digest: undefined,
        insecure: false,
        keys: ['payroll-key'],
        signal: true,
      },
      {
        registry: 'registry.corp.example',
        repository: 'erp/odoo',
        tag: 'latest',
        digest: undefined,
        insecure: false,
        keys: ['erp-key'],
        signal: true,
      },
      {
        registry: '127.0.0.1:5000',
        repository: 'tools/x',
        tag: undefined,
        digest: digestA,
        insecure: true,
        keys: ['erp-key'],
        signal: true,
      },
    ]);
  });

  it('verifies every image field: init, sidecar, ephemeral containers and image volumes, once per image', async () => {
    const bad: VerificationResult = { status: 'unsigned', digest: digestA, reason: 'none' };
    const verifier = new TableVerifier({}, bad);
    const result = await runPolicy(
      policy,
      params,
      pod({
        initContainers: [{ name: 'sidecar', image: odoo, restartPolicy: 'Always' }],
        containers: [{ name: 'odoo', image: odoo }],
        ephemeralContainers: [{ name: 'debug', image: 'registry.corp.example/erp/debug:1' }],
        volumes: [{ name: 'data', image: { reference: 'registry.corp.example/erp/data:1' } }],
      }),
      withVerifier(verifier),
    );
    expect(result.findings.map((f) => f.path)).toEqual([
      'spec.initContainers[0].image',
      'spec.containers[0].image',
      'spec.ephemeralContainers[0].image',
      'spec.volumes[0].image.reference',
    ]);
    expect(verifier.requests).toHaveLength(3);
  });

  it('requires digests when requireDigest is set, and denies unparsable or missing images', async () => {
    const verifier = new TableVerifier({});
    const result = await runPolicy(
      policy,
      { ...params, requireDigest: true },
      deployment([
        { name: 'a', image: odoo },
        { name: 'b', image: `registry.corp.example/erp/odoo@${digestA}` },
        { name: 'c', image: ' registry.corp.example/erp/odoo:1' },
        { name: 'd' },
      ]),
      withVerifier(verifier),
    );
    expect(result.findings.map((f) => [f.path, f.message])).toEqual([
      ['spec.template.spec.containers[0].image', `image "${odoo}" is not pinned by digest`],
      ['spec.template.spec.containers[2].image', expect.stringMatching(/contains whitespace/)],
      ['spec.template.spec.containers[3].image', expect.stringMatching(/missing or not a string/)],
    ]);
  });

  it('on UPDATE verifies only images the old object did not run', async () => {
    const verifier = new TableVerifier({}, { status: 'unsigned', digest: digestA, reason: 'none' });
    const before = pod({ containers: [{ name: 'odoo', image: odoo }] });
    const after = pod({
      containers: [{ name: 'odoo', image: odoo }],
      ephemeralContainers: [{ name: 'debug', image: 'registry.corp.example/erp/debug:1' }],
    });
    const result = await runPolicy(policy, params, after, {
      input: { operation: 'UPDATE', oldObject: before, subresource: 'ephemeralcontainers' },
      ...withVerifier(verifier),
    });
    expect(result.findings.map((f) => f.path)).toEqual(['spec.ephemeralContainers[0].image']);
    expect(verifier.requests.map((r) => r.repository)).toEqual(['erp/debug']);
    const swapped = pod({ containers: [{ name: 'odoo', image: 'registry.corp.example/erp/odoo:18.0' }] });
    const update = await runPolicy(policy, params, swapped, {
      input: { operation: 'UPDATE', oldObject: before },
      ...withVerifier(verifier),
    });
    expect(update.findings.map((f) => f.path)).toEqual(['spec.containers[0].image']);
  });

  it('skips DELETE and objects without a pod spec', async () => {
    const verifier = new TableVerifier({});
    const del = await runPolicy(policy, params, undefined, {
      input: { operation: 'DELETE', oldObject: deployment([{ name: 'a', image: 'nginx' }]) },
      ...withVerifier(verifier),
    });
    expect(del.status).toBe('skip');
    const cm = await runPolicy(policy, params, {
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: 'x' },
    });
    expect(cm.status).toBe('skip');
  });

  it.each<[string, Record<string, unknown>, RegExp]>([
    [
      'wildcard prefix',
      { rules: [{ images: ['registry.corp.example/*'], keys: [{ name: 'k', publicKey: pem }] }] },
      /wildcards/,
    ],
    [
      'key not PEM',
      { rules: [{ images: ['registry.corp.example/erp'], keys: [{ name: 'k', publicKey: 'abc' }] }] },
      /not a PEM public key/,
    ],
    [
      'requireTlog without Rekor',
      {
        rules: [
          { images: ['registry.corp.example/erp'], keys: [{ name: 'k', publicKey: pem }], requireTlog: true },
        ],
      },
      /requireTlog needs rekor.publicKeys/,
    ],
    [
      'duplicate prefix',
      {
        rules: [
          { images: ['registry.corp.example/erp'], keys: [{ name: 'k', publicKey: pem }] },
          { images: ['registry.corp.example/erp/'], keys: [{ name: 'k', publicKey: pem }] },
        ],
      },
      /already covered/,
    ],
    ['no rules', { rules: [] }, /must NOT have fewer than 1 items/],
    [
      'unknown onUnreachable',
      { rules: [{ images: ['x.io/a'], keys: [{ name: 'k', publicKey: pem }] }], onUnreachable: 'allow' },
      /must be one of/,
    ],
    [
      'remapIdentity incomplete',
      {
        rules: [
          {
            images: ['x.io/a'],
            keys: [{ name: 'k', publicKey: pem }],
            signedIdentity: { type: 'remapIdentity', prefix: 'x.io' },
          },
        ],
      },
      /remapIdentity needs both/,
    ],
  ])('rejects bad parameters at bundle load: %s', async (_label, bad, message) => {
    await expect(runPolicy(policy, bad, undefined)).rejects.toThrow(message);
  });

  it('applies per-point enforcement: an unsigned image denies at admission and warns in CI', async () => {
    const verifier = new TableVerifier({}, { status: 'unsigned', digest: digestA, reason: 'none' });
    const object = deployment([{ name: 'odoo', image: odoo }]);
    const enforced = { ...params, enforcement: { admission: 'deny', ci: 'warn' } };
    expect((await runPolicy(policy, enforced, object, withVerifier(verifier))).status).toBe('fail');
    expect((await runPolicy(policy, enforced, object, withVerifier(verifier, { point: 'ci' }))).status).toBe(
      'warn',
    );
  });
});

describe('signed-images samples', () => {
  const samples = fileURLToPath(new URL('./samples/', import.meta.url));
  const bundle = loadBundle(readFileSync(`${samples}bundle.yaml`), {
    source: 'samples/bundle.yaml',
    policies: [policy],
  });
  const cases = (['allowed', 'denied'] as const).flatMap((verdict) =>
    readdirSync(`${samples}${verdict}`)
      .filter((file) => file.endsWith('.yaml'))
      .map((file) => [verdict, file] as const),
  );
  const online = createImageVerifier({ deadlineMs: 3000 });

  it('has allowed and denied samples', () => {
    expect(cases.filter(([v]) => v === 'allowed').length).toBeGreaterThan(0);
    expect(cases.filter(([v]) => v === 'denied').length).toBeGreaterThan(0);
  });

  it.each(cases)('%s/%s (offline and with the real verifier)', async (verdict, file) => {
    const source = parseSource(readFileSync(`${samples}${verdict}/${file}`, 'utf8'));
    expect(source.errors).toEqual([]);
    for (const document of source.documents) {
      for (const services of [undefined, { imageVerifier: online }]) {
        const report = await evaluate({ operation: 'CREATE', object: document.value as KubeObject }, bundle, {
          now: new Date('2026-11-20T12:00:00Z'),
          point: 'admission',
          ...(services ? { services } : {}),
        });
        expect(report.decision).toBe(verdict === 'allowed' ? 'allow' : 'deny');
      }
    }
  });
});

describe('signed-images with the real verifier and a loopback registry', () => {
  let registry: TestRegistry;
  const key = generateTestKey('p256');
  beforeAll(async () => {
    registry = await startRegistry();
  });
  afterAll(async () => {
    await registry?.stop();
  });

  it('resolves tags, reports the digest, passes signed images and denies unsigned ones', async () => {
    const client = new RegistryClient();
    const signed = await pushRandomImage(client, registry.host, 'erp/odoo', '17.0');
    await signLegacy(client, registry.host, 'erp/odoo', signed, key);
    const unsigned = await pushRandomImage(client, registry.host, 'erp/odoo', '17.1');
    const localParams = {
      rules: [
        { name: 'local', images: [registry.host], keys: [{ name: 'release', publicKey: key.publicKeyPem }] },
      ],
      insecureRegistries: [registry.host],
    };
    const verifier = createImageVerifier({ deadlineMs: 3000 });
    const ok = await runPolicy(
      policy,
      localParams,
      deployment([{ name: 'odoo', image: `${registry.host}/erp/odoo:17.0` }]),
      withVerifier(verifier),
    );
    expect(ok.status).toBe('pass');
    const bad = await runPolicy(
      policy,
      localParams,
      deployment([{ name: 'odoo', image: `${registry.host}/erp/odoo:17.1` }]),
      withVerifier(verifier),
    );
    expect(bad.status).toBe('fail');
    expect(bad.findings[0]?.message).toContain(`(resolved to ${unsigned}) has no cosign signature`);
    expect(bad.findings[0]?.details).toMatchObject({
      digest: unsigned,
      verification: 'unsigned',
      rule: 'local',
    });
  });
});
