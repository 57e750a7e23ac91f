import { readdirSync, readFileSync } from 'node:fs';
import { exportJWK, generateKeyPair, importJWK } from 'jose';
import type { CryptoKey, JWK } from 'jose';
import { beforeAll, describe, expect, it } from 'vitest';
import { loadBundle } from '../engine/bundle.ts';
import { evaluate } from '../engine/evaluate.ts';
import { deployment, runPolicy } from '../../test/support/policy.ts';
import type { AdmissionInput, KubeObject, Policy, PolicyResult } from '../engine/types.ts';
import { parseSource } from '../engine/yaml-source.ts';
import { builtinPolicies } from '../index.ts';
import type { BreakGlassClaims } from '../engine/break-glass.ts';
import { addApproval, breakGlassAnnotation, createRequest } from '../engine/break-glass.ts';
import { freezeWindowsPolicy } from './index.ts';

const policy = freezeWindowsPolicy as Policy<unknown>;
const inFreeze = new Date('2027-01-04T12:00:00Z'); // de-gmbh December close: 2026-12-28 18:00 .. 2027-01-05 23:59
const outside = new Date('2027-01-20T12:00:00Z');

interface Approver {
  kid: string;
  alg: 'ES256' | 'EdDSA';
  privateKey: CryptoKey;
  publicJwk: JWK;
}

async function approver(kid: string, alg: 'ES256' | 'EdDSA'): Promise<Approver> {
  const { privateKey, publicKey } = await generateKeyPair(alg, { extractable: true });
  return { kid, alg, privateKey, publicJwk: { ...(await exportJWK(publicKey)), kid } };
}

let de: Approver;
let us: Approver;
let cfo: Approver;
let alice: Approver; // an approver who also files requests
let mallory: Approver; // not in the bundle
let forger: Approver; // a fresh key claiming to be cfo
let params: Record<string, unknown>;

beforeAll(async () => {
  de = await approver('controller-de@corp.example', 'ES256');
  us = await approver('controller-us@corp.example', 'ES256');
  cfo = await approver('cfo@corp.example', 'EdDSA');
  alice = await approver('alice@corp.example', 'ES256');
  mallory = await approver('mallory@evil.example', 'ES256');
  forger = await approver('cfo@corp.example', 'EdDSA');
  params = {
    entities: {
      'de-gmbh': {
        zone: 'Europe/Berlin',
        holidays: { country: 'DE', state: 'BE', types: ['public', 'bank'] },
      },
    },
    scope: { namespaces: { selector: { matchLabels: { 'tollgate.dev/environment': 'production' } } } },
    windows: [
      {
        name: 'month-end-close',
        close: { start: { businessDay: -3, at: '18:00' }, end: { businessDay: 2, at: '23:59' } },
      },
    ],
    exempt: {
      usernames: ['system:serviceaccount:kube-system:horizontal-pod-autoscaler'],
      groups: ['cnpg:operators'],
    },
    breakGlass: {
      minApprovals: 2,
      maxLifetime: '24h',
      approvers: { keys: [de.publicJwk, us.publicJwk, cfo.publicJwk, alice.publicJwk] },
    },
  };
});

const namespaces = (name: string): KubeObject | undefined =>
  ({
    'tenant-prod': {
      apiVersion: 'v1',
      kind: 'Namespace',
      metadata: { name, labels: { 'tollgate.dev/environment': 'production' } },
    },
    'tenant-test': {
      apiVersion: 'v1',
      kind: 'Namespace',
      metadata: { name, labels: { 'tollgate.dev/environment': 'test' } },
    },
  })[name];

function app(namespace = 'tenant-prod', annotations?: Record<string, string>): KubeObject {
  const object = deployment([{ name: 'odoo', image: 'registry.corp.example/erp/odoo:17' }]);
  object.metadata = { name: 'odoo', namespace, ...(annotations ? { annotations } : {}) };
  return object;
}

async function check(
  object: KubeObject | undefined,
  options: { now?: Date; input?: Partial<AdmissionInput>; point?: 'ci' | 'admission' } = {},
): Promise<PolicyResult> {
  return runPolicy(policy, params, object, {
    ...(options.input ? { input: options.input } : {}),
    context: { now: options.now ?? inFreeze, point: options.point ?? 'admission', namespaces },
  });
}

const seconds = (date: Date) => Math.floor(date.getTime() / 1000);

function claims(overrides: Partial<BreakGlassClaims> = {}): BreakGlassClaims {
  return {
    requester: 'alice@corp.example',
    ticket: 'INC-4711',
    reason: 'payment run fails',
    scope: { namespaces: ['tenant-prod'], kinds: ['Deployment'], names: ['odoo'] },
    nbf: seconds(inFreeze) - 3600,
    exp: seconds(inFreeze) + 4 * 3600,
    ...overrides,
  };
}

async function token(content: BreakGlassClaims, signers: Approver[]): Promise<string> {
  let jws = createRequest(content);
  for (const signer of signers)
    jws = await addApproval(jws, signer.privateKey, { alg: signer.alg, kid: signer.kid });
  return JSON.stringify(jws);
}

describe('freeze-windows: windows and scope', () => {
  it('denies a change in a frozen namespace, saying which window, entity, zone and when it ends', async () => {
    const result = await check(app());
    expect(result.status).toBe('fail');
    expect(result.findings).toHaveLength(1);
    const finding = result.findings[0]!;
    expect(finding.action).toBe('deny');
    expect(finding.path).toBe('metadata.name');
    expect(finding.message).toContain('window "month-end-close" of de-gmbh (Europe/Berlin)');
    expect(finding.message).toContain('merge after 2027-01-05T23:59 Europe/Berlin');
    expect(finding.details).toMatchObject({
      window: 'month-end-close',
      entity: 'de-gmbh',
      zone: 'Europe/Berlin',
      endsAt: '2027-01-05T22:59:00.000Z',
      ends: '2027-01-05T23:59 Europe/Berlin',
    });
  });

  it.each([
    ['outside every window', app(), { now: outside }, 'no freeze window is in force'],
    [
      'a namespace without the selecting label',
      app('tenant-test'),
      {},
      'namespace tenant-test is not frozen',
    ],
    [
      'a namespace the context does not know',
      app('tenant-unknown'),
      {},
      'namespace tenant-unknown is not frozen',
    ],
    [
      'a cluster-scoped object',
      { apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'ClusterRole', metadata: { name: 'x' } },
      {},
      'cluster-scoped',
    ],
    [
      'the HPA controller (exempt username)',
      app(),
      { input: { userInfo: { username: 'system:serviceaccount:kube-system:horizontal-pod-autoscaler' } } },
      'is exempt',
    ],
    [
      'an operator (exempt group)',
      app(),
      {
        input: {
          userInfo: { username: 'system:serviceaccount:cnpg-system:cnpg', groups: ['cnpg:operators'] },
        },
      },
      'group cnpg:operators is exempt',
    ],
  ] as const)('skips %s', async (_name, object, options, reason) => {
    const result = await check(object as KubeObject, options as Parameters<typeof check>[1]);
    expect(result.status).toBe('skip');
    expect(result.reason).toContain(reason);
    expect(result.findings).toEqual([]);
  });

  it('is exactly on time: start inclusive, end exclusive', async () => {
    expect((await check(app(), { now: new Date('2026-12-28T16:59:59.999Z') })).status).toBe('skip');
    expect((await check(app(), { now: new Date('2026-12-28T17:00:00.000Z') })).status).toBe('fail');
    expect((await check(app(), { now: new Date('2027-01-05T22:58:59.999Z') })).status).toBe('fail');
    expect((await check(app(), { now: new Date('2027-01-05T22:59:00.000Z') })).status).toBe('skip');
  });

  it('treats an UPDATE that only touches status, managedFields, resourceVersion or generation as no change', async () => {
    const old = app();
    old.metadata = {
      ...old.metadata,
      resourceVersion: '1',
      generation: 1,
      managedFields: [{ manager: 'a' }],
    };
    const bookkeeping = structuredClone(old);
    bookkeeping.metadata = {
      ...bookkeeping.metadata,
      resourceVersion: '2',
      generation: 2,
      managedFields: [],
    };
    bookkeeping.status = { readyReplicas: 2 };
    const skipped = await check(bookkeeping, { input: { operation: 'UPDATE', oldObject: old } });
    expect(skipped.status).toBe('skip');
    expect(skipped.reason).toContain('changes only status');

    const scaled = structuredClone(old);
    (scaled.spec as Record<string, unknown>).replicas = 5;
    expect((await check(scaled, { input: { operation: 'UPDATE', oldObject: old } })).status).toBe('fail');
    const relabelled = structuredClone(old);
    relabelled.metadata = { ...relabelled.metadata, labels: { team: 'x' } };
    expect((await check(relabelled, { input: { operation: 'UPDATE', oldObject: old } })).status).toBe('fail');
  });

  it('freezes DELETE (judged on oldObject) unless the scope leaves DELETE out', async () => {
    const result = await check(undefined, { input: { operation: 'DELETE', oldObject: app() } });
    expect(result.status).toBe('fail');
    expect(result.findings[0]?.message).toContain('DELETE of Deployment odoo');
    const createOnly = await runPolicy(
      policy,
      { ...params, scope: { ...(params.scope as object), operations: ['CREATE', 'UPDATE'] } },
      undefined,
      { input: { operation: 'DELETE', oldObject: app() }, context: { now: inFreeze, namespaces } },
    );
    expect(createOnly.status).toBe('skip');
    expect(createOnly.reason).toContain('operation DELETE is not frozen');
  });

  it('matches kinds, excluded kinds, names and matchExpressions', async () => {
    const scoped = (scope: Record<string, unknown>, object: KubeObject) =>
      runPolicy(policy, { ...params, scope }, object, { context: { now: inFreeze, namespaces } });
    const event = { apiVersion: 'v1', kind: 'Event', metadata: { name: 'e', namespace: 'tenant-prod' } };
    expect((await scoped({ kinds: ['Deployment'] }, event)).reason).toContain('kind Event is not frozen');
    expect((await scoped({ excludeKinds: ['Event'] }, event)).reason).toContain('kind Event is excluded');
    expect((await scoped({ namespaces: { names: ['tenant-unknown'] } }, app('tenant-unknown'))).status).toBe(
      'fail',
    );
    const notTest = {
      namespaces: {
        selector: {
          matchExpressions: [{ key: 'tollgate.dev/environment', operator: 'NotIn', values: ['test'] }],
        },
      },
    };
    expect((await scoped(notTest, app('tenant-test'))).status).toBe('skip');
    expect((await scoped(notTest, app('tenant-prod'))).status).toBe('fail');
    expect((await scoped(notTest, app('tenant-unknown'))).status).toBe('fail');
    const byName = {
      namespaces: { selector: { matchLabels: { 'kubernetes.io/metadata.name': 'tenant-unknown' } } },
    };
    expect((await scoped(byName, app('tenant-unknown'))).status).toBe('fail');
  });

  it('freezes removing the selecting label from a Namespace (old labels count)', async () => {
    const old = namespaces('tenant-prod')!;
    const unlabelled: KubeObject = {
      apiVersion: 'v1',
      kind: 'Namespace',
      metadata: { name: 'tenant-prod', labels: {} },
    };
    const result = await check(unlabelled, { input: { operation: 'UPDATE', oldObject: old } });
    expect(result.status).toBe('fail');
  });

  it('evaluates a CI manifest (no userInfo) as a CREATE of the manifest', async () => {
    const result = await check(app(), { point: 'ci' });
    expect(result.status).toBe('fail');
    expect(result.findings[0]?.message).toContain('CREATE of Deployment odoo');
  });

  it('reports the List item path', async () => {
    const list = { apiVersion: 'v1', kind: 'List', items: [app('tenant-test'), app()] };
    const result = await check(list);
    expect(result.findings.map((f) => f.path)).toEqual(['items[1].metadata.name']);
  });
});

describe('freeze-windows: break-glass', () => {
  const annotated = (value: string, namespace = 'tenant-prod') =>
    app(namespace, { [breakGlassAnnotation]: value });

  /** The same policy parameters with break-glass moved to the bundle (`spec.breakGlass`). */
  function bundleLevel(perPolicy: boolean): string {
    const { breakGlass, ...rest } = params;
    return JSON.stringify({
      apiVersion: 'tollgate.dev/v1',
      kind: 'PolicyBundle',
      metadata: { name: 'bundle-level', version: '1.0.0' },
      spec: {
        breakGlass,
        policies: {
          'freeze-windows': { enforcement: 'deny', ...rest, ...(perPolicy ? { breakGlass } : {}) },
        },
      },
    });
  }

  it('honours break-glass configured once for the bundle (spec.breakGlass)', async () => {
    const bundle = loadBundle(bundleLevel(false), { source: 'bundle-level', policies: builtinPolicies });
    expect(bundle.breakGlass?.minApprovals).toBe(2);
    const context = { now: inFreeze, point: 'admission' as const, namespaces };
    const valid = annotated(await token(claims(), [de, cfo]));
    const allowed = await evaluate({ operation: 'CREATE', object: valid }, bundle, context);
    expect(allowed.results[0]?.status).toBe('pass');
    expect(allowed.results[0]?.records?.[0]?.kind).toBe('break-glass');
    const short = annotated(await token(claims(), [de]));
    const denied = await evaluate({ operation: 'CREATE', object: short }, bundle, context);
    expect(denied.decision).toBe('deny');
  });

  it('refuses break-glass configured twice (spec.breakGlass and freeze-windows.breakGlass)', () => {
    expect(() =>
      loadBundle(bundleLevel(true), { source: 'bundle-level', policies: builtinPolicies }),
    ).toThrow(/configured twice/);
  });

  it('allows a change with a valid token and records ticket, requester and approvers', async () => {
    const result = await check(annotated(await token(claims(), [de, cfo])));
    expect(result.status).toBe('pass');
    expect(result.findings).toEqual([]);
    expect(result.records).toEqual([
      {
        kind: 'break-glass',
        data: expect.objectContaining({
          ticket: 'INC-4711',
          requester: 'alice@corp.example',
          approvers: ['controller-de@corp.example', 'cfo@corp.example'],
        }),
      },
    ]);
  });

  it('accepts signatures co-signed in separate runs in any order', async () => {
    const first = JSON.parse(await token(claims(), [us])) as { payload: string; signatures: unknown[] };
    const second = JSON.parse(await token(claims(), [cfo])) as { payload: string; signatures: unknown[] };
    expect(second.payload).toBe(first.payload);
    const merged = JSON.stringify({
      payload: first.payload,
      signatures: [...second.signatures, ...first.signatures],
    });
    expect((await check(annotated(merged))).status).toBe('pass');
  });

  const cases: [string, () => Promise<string>, string][] = [
    [
      'expired',
      () => token(claims({ nbf: seconds(inFreeze) - 7200, exp: seconds(inFreeze) - 1 }), [de, cfo]),
      'expired at 2027-01-04T11:59:59Z',
    ],
    [
      'not yet valid',
      () => token(claims({ nbf: seconds(inFreeze) + 60, exp: seconds(inFreeze) + 3600 }), [de, cfo]),
      'not valid before 2027-01-04T12:01:00Z',
    ],
    [
      'wrong namespace',
      () => token(claims({ scope: { namespaces: ['tenant-other'] } }), [de, cfo]),
      "namespace tenant-prod is outside the token's scope (tenant-other)",
    ],
    [
      'wrong kind',
      () => token(claims({ scope: { namespaces: ['tenant-prod'], kinds: ['ConfigMap'] } }), [de, cfo]),
      "kind Deployment is outside the token's scope (ConfigMap)",
    ],
    [
      'wrong name',
      () => token(claims({ scope: { namespaces: ['tenant-prod'], names: ['redis'] } }), [de, cfo]),
      "name odoo is outside the token's scope (redis)",
    ],
    [
      'one approver short',
      () => token(claims(), [de]),
      '1 valid approval(s) (controller-de@corp.example) of 2 required: 1 approver short',
    ],
    ['the same approver twice', () => token(claims(), [de, de]), '1 approver short'],
    ['no signatures', () => token(claims(), []), 'the token carries no approver signatures'],
    [
      'requester approving himself',
      () => token(claims(), [alice, de, cfo]),
      'requester "alice@corp.example" approved their own request',
    ],
    [
      'unknown key',
      () => token(claims(), [de, mallory]),
      'key "mallory@evil.example" is not an approver key of this bundle',
    ],
    [
      'forged key with an approver kid',
      () => token(claims(), [de, forger]),
      'signature 2 (cfo@corp.example): does not verify with approver key "cfo@corp.example"',
    ],
    [
      'lifetime too long',
      () => token(claims({ nbf: seconds(inFreeze) - 3600, exp: seconds(inFreeze) + 48 * 3600 }), [de, cfo]),
      'lifetime 2d1h (nbf 2027-01-04T11:00:00Z to exp 2027-01-06T12:00:00Z) exceeds the maximum 1d',
    ],
    ['garbage', async () => 'let me through', 'the token is not JSON'],
    [
      'missing claims',
      async () => JSON.stringify(createRequest({ requester: 'a' } as unknown as BreakGlassClaims)),
      'claim "ticket" is missing',
    ],
  ];

  it.each(cases)('denies a token that is %s, with the reason', async (_name, make, reason) => {
    const result = await check(annotated(await make()));
    expect(result.status).toBe('fail');
    expect(result.records).toBeUndefined();
    const tokenFinding = result.findings.find(
      (f) => f.path === 'metadata.annotations["tollgate.dev/break-glass"]',
    );
    expect(tokenFinding?.message).toContain('break-glass approval rejected');
    expect(tokenFinding?.message).toContain(reason);
    expect(tokenFinding?.action).toBe('deny');
    // The window finding still says when to merge.
    expect(
      result.findings.some((f) => f.message.includes('merge after 2027-01-05T23:59 Europe/Berlin')),
    ).toBe(true);
  });

  it('denies a tampered payload (scope widened after signing)', async () => {
    const jws = JSON.parse(await token(claims({ scope: { namespaces: ['tenant-other'] } }), [de, cfo])) as {
      payload: string;
    };
    const decoded = JSON.parse(Buffer.from(jws.payload, 'base64url').toString()) as BreakGlassClaims;
    jws.payload = Buffer.from(
      JSON.stringify({ ...decoded, scope: { namespaces: ['tenant-prod'] } }),
    ).toString('base64url');
    const result = await check(annotated(JSON.stringify(jws)));
    expect(result.status).toBe('fail');
    const message = result.findings.map((f) => f.message).join('\n');
    expect(message).toContain('signature 1 (controller-de@corp.example): does not verify');
    expect(message).toContain('signature 2 (cfo@corp.example): does not verify');
  });

  it('ignores the annotation when nothing is frozen', async () => {
    const result = await check(annotated('garbage'), { now: outside });
    expect(result.status).toBe('skip');
  });

  it('denies tokens when the bundle configures no approvers', async () => {
    const { breakGlass: _unused, ...withoutBreakGlass } = params;
    const result = await runPolicy(policy, withoutBreakGlass, annotated(await token(claims(), [de, cfo])), {
      context: { now: inFreeze, namespaces },
    });
    expect(result.status).toBe('fail');
    expect(result.findings.map((f) => f.path)).toEqual([
      'metadata.name',
      'metadata.annotations["tollgate.dev/break-glass"]',
    ]);
    expect(result.findings[1]?.message).toBe(
      'break-glass is not configured in this bundle (spec.breakGlass is absent): the break-glass approval on this object is not checked and unfreezes nothing',
    );
    expect(result.records ?? []).toEqual([]);
  });

  it.each([
    [{ ...{ kty: 'EC', crv: 'P-256', x: 'a', y: 'b', d: 'secret', kid: 'x' } }, /private key material/],
    [{ kty: 'EC', crv: 'P-256', x: 'a', y: 'b' }, /needs a kid/],
    [{ kty: 'RSA', n: 'a', e: 'AQAB', kid: 'r' }, /RSA key needs at least 2048 bits/],
    [{ kty: 'oct', k: 'c2VjcmV0', kid: 's' }, /private key material/],
    [{ kty: 'OKP', crv: 'X25519', x: 'a', kid: 'k' }, /unsupported key type OKP\/X25519/],
    [{ kty: 'OKP', crv: 'Ed25519', x: 'a', kid: 'k', alg: 'ES256' }, /does not match its curve/],
  ])('rejects approver key %j at bundle load', async (key, message) => {
    await expect(
      runPolicy(
        policy,
        { ...params, breakGlass: { minApprovals: 1, maxLifetime: '1h', approvers: { keys: [key] } } },
        undefined,
      ),
    ).rejects.toThrow(message);
  });

  it('rejects minApprovals above the number of approvers', async () => {
    await expect(
      runPolicy(
        policy,
        {
          ...params,
          breakGlass: { minApprovals: 2, maxLifetime: '1h', approvers: { keys: [de.publicJwk] } },
        },
        undefined,
      ),
    ).rejects.toThrow(/no token could ever be valid/);
  });
});

describe('freeze-windows samples', () => {
  const dir = new URL('./samples/', import.meta.url);
  const bundle = loadBundle(readFileSync(new URL('bundle.yaml', dir)), {
    source: 'samples/bundle.yaml',
    policies: [policy],
  });
  const samples = (kind: 'allowed' | 'denied') =>
    readdirSync(new URL(`${kind}/`, dir))
      .filter((file) => file.endsWith('.yaml'))
      .flatMap((file) =>
        parseSource(readFileSync(new URL(`${kind}/${file}`, dir), 'utf8')).documents.map(
          (doc) => [file, doc.value as KubeObject] as const,
        ),
      );

  // The sample bundle is built to give the same verdicts at any date; check a few, including a close.
  const instants = [
    '2026-11-22T12:00:00Z',
    '2027-03-31T12:00:00Z',
    '2027-12-30T23:00:00Z',
    '2099-06-01T00:00:00Z',
  ];

  it('has samples of both kinds', () => {
    expect(samples('allowed').length).toBeGreaterThan(0);
    expect(samples('denied').length).toBeGreaterThan(0);
  });

  it.each(instants)('allows every allowed sample and denies every denied one at %s', async (iso) => {
    for (const [kind, expected] of [
      ['allowed', 'allow'],
      ['denied', 'deny'],
    ] as const) {
      for (const [file, object] of samples(kind)) {
        const report = await evaluate({ operation: 'CREATE', object }, bundle, {
          now: new Date(iso),
          point: 'ci',
        });
        expect({ file, decision: report.decision }).toEqual({ file, decision: expected });
      }
    }
  });
});

describe('freeze-windows: the shipped finance baseline configures no break-glass', () => {
  const root = new URL('../../', import.meta.url);
  const baselineText = readFileSync(new URL('bundles/finance-baseline.yaml', root), 'utf8');
  const demoText = readFileSync(
    new URL('policies/freeze-windows/samples/break-glass-demo.yaml', root),
    'utf8',
  );
  const baseline = loadBundle(baselineText, { source: 'finance-baseline.yaml', policies: builtinPolicies });
  const demo = loadBundle(demoText, { source: 'break-glass-demo.yaml', policies: builtinPolicies });
  const keysDir = new URL('policies/freeze-windows/samples/keys/', root);
  const testOnlyKeys = readdirSync(keysDir)
    .filter((file) => file.startsWith('TEST-ONLY.') && file.endsWith('.jwk.json'))
    .map(
      (file) =>
        JSON.parse(readFileSync(new URL(file, keysDir), 'utf8')) as JWK & { kid: string; alg: string },
    );
  // The November 2026 close (de-gmbh: 25 Nov 18:00 .. 2 Dec 23:59 Berlin), a production namespace.
  const at = new Date('2026-11-30T10:00:00Z');
  const prod = (name: string): KubeObject | undefined =>
    name === 'erp-prod'
      ? {
          apiVersion: 'v1',
          kind: 'Namespace',
          metadata: { name, labels: { 'tollgate.dev/environment': 'production' } },
        }
      : undefined;

  /** A release of odoo in erp-prod carrying a token signed by every TEST-ONLY key but the requester's. */
  async function release(): Promise<AdmissionInput> {
    let jws = createRequest(
      claims({
        scope: { namespaces: ['erp-prod'], kinds: ['Deployment'], names: ['odoo'] },
        nbf: seconds(at) - 3600,
        exp: seconds(at) + 4 * 3600,
      }),
    );
    for (const key of testOnlyKeys)
      jws = await addApproval(jws, await importJWK(key, key.alg), { alg: key.alg, kid: key.kid });
    const object = app('erp-prod', { [breakGlassAnnotation]: JSON.stringify(jws) });
    return { operation: 'UPDATE', object, oldObject: app('erp-prod'), namespace: 'erp-prod' };
  }

  const freezeResult = async (bundle: typeof baseline) =>
    (await evaluate(await release(), bundle, { now: at, point: 'admission', namespaces: prod })).results.find(
      (r) => r.policy === 'freeze-windows',
    );

  it('has three TEST-ONLY keys to sign with', () => {
    expect(testOnlyKeys.map((key) => key.kid).sort()).toEqual([
      'cfo@corp.example',
      'controller-de@corp.example',
      'controller-us@corp.example',
    ]);
  });

  it('a token signed with the TEST-ONLY keys unfreezes the change under the demo bundle (control)', async () => {
    const result = await freezeResult(demo);
    expect(result?.status).toBe('pass');
    expect(result?.records?.[0]).toMatchObject({ kind: 'break-glass', data: { ticket: 'INC-4711' } });
  });

  it('the same token does NOT unfreeze the change under the shipped baseline, and says why', async () => {
    const result = await freezeResult(baseline);
    expect(result?.status).toBe('fail');
    expect(result?.action).toBe('deny');
    expect(result?.records ?? []).toEqual([]);
    const tokenFinding = result?.findings.find(
      (f) => f.path === 'metadata.annotations["tollgate.dev/break-glass"]',
    );
    expect(tokenFinding?.message).toMatch(/^break-glass is not configured in this bundle/);
    expect(
      result?.findings.filter((f) => f.path === 'metadata.name').map((f) => f.details?.window),
    ).toContain('month-end-close');
  });

  it('no bundle under bundles/ lists a TEST-ONLY public key', () => {
    const bundlesDir = new URL('bundles/', root);
    for (const file of readdirSync(bundlesDir).filter((f) => f.endsWith('.yaml'))) {
      const text = readFileSync(new URL(file, bundlesDir), 'utf8');
      for (const key of testOnlyKeys)
        expect({ file, listed: text.includes(String(key.x)) }).toEqual({ file, listed: false });
    }
  });

  it("the demo bundle is the baseline's freeze-windows configuration plus breakGlass", () => {
    const freezeOf = (text: string) =>
      (
        parseSource(text).documents[0]?.value as {
          spec: { policies: Record<string, Record<string, unknown>> };
        }
      ).spec.policies['freeze-windows'];
    const { breakGlass, ...demoRest } = freezeOf(demoText) ?? {};
    expect(breakGlass).toBeDefined();
    expect(demoRest).toEqual(freezeOf(baselineText));
  });
});

describe('freeze-windows: a scope by kind covers the same change through a subresource (bypass class 6)', () => {
  const scale = (namespace = 'tenant-prod'): KubeObject => ({
    apiVersion: 'autoscaling/v1',
    kind: 'Scale',
    metadata: { name: 'odoo', namespace },
    spec: { replicas: 10 },
  });
  const scoped = (scope: Record<string, unknown>, object: KubeObject, input: Partial<AdmissionInput>) =>
    runPolicy(policy, { ...params, scope: { ...(params.scope as object), ...scope } }, object, {
      input: { operation: 'UPDATE', ...input },
      context: { now: inFreeze, namespaces },
    });
  const on = (group: string, resource: string, subresource: string) => ({
    subresource,
    resource: { group, resource },
  });

  it.each([
    ['Deployment', 'apps', 'deployments'],
    ['StatefulSet', 'apps', 'statefulsets'],
    ['ReplicaSet', 'apps', 'replicasets'],
    ['ReplicationController', '', 'replicationcontrollers'],
    ['Rollout', 'argoproj.io', 'rollouts'],
    ['Cluster', 'postgresql.cnpg.io', 'clusters'],
  ])('freezes kubectl scale of a %s (a Scale on %s/%s)', async (kind, group, resource) => {
    const result = await scoped({ kinds: [kind] }, scale(), on(group, resource, 'scale'));
    expect(result.status).toBe('fail');
    // Another kind's scale stays outside the scope, and excluding the parent kind excludes its scale.
    expect((await scoped({ kinds: ['ConfigMap'] }, scale(), on(group, resource, 'scale'))).status).toBe(
      'skip',
    );
    const excluded = await scoped({ excludeKinds: [kind] }, scale(), on(group, resource, 'scale'));
    expect(excluded.reason).toContain(`kind ${kind} is excluded`);
  });

  it('names every kind of a subresource change it leaves unfrozen; pod subresources stay Pod changes', async () => {
    const other = await scoped({ kinds: ['Pod'] }, scale(), on('apps', 'deployments', 'scale'));
    expect(other.reason).toContain('kinds Scale, Deployment are not frozen');
    const pod: KubeObject = {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'odoo-0', namespace: 'tenant-prod' },
      spec: { containers: [{ name: 'odoo', image: 'registry.corp.example/erp/odoo:17' }] },
    };
    const changed = structuredClone(pod);
    (changed.spec as Record<string, unknown>).ephemeralContainers = [{ name: 'debug', image: 'busybox' }];
    for (const subresource of ['ephemeralcontainers', 'resize'])
      expect(
        (await scoped({ kinds: ['Pod'] }, changed, { oldObject: pod, ...on('', 'pods', subresource) }))
          .status,
      ).toBe('fail');
  });
});
