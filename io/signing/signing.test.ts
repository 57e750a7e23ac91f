/**
 * One private-key loader for every signature tollgate makes (bundles, break-glass approvals):
 * the keys `tollgate bundle sign` accepts are the keys an approver may co-sign with, RSA included,
 * and the bundle's approver JWKS verifies what they sign.
 */
import { generateKeyPairSync } from 'node:crypto';
import type { KeyObject } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { addApproval, createRequest, verifyBreakGlass } from '../../policies/index.ts';
import { compileBreakGlass } from '../../policies/engine/break-glass.ts';
import { loadSigningKey } from './signing.ts';

const pairs: Array<[string, { privateKey: KeyObject; publicKey: KeyObject }, string]> = [
  ['Ed25519', generateKeyPairSync('ed25519'), 'EdDSA'],
  ['EC P-256', generateKeyPairSync('ec', { namedCurve: 'P-256' }), 'ES256'],
  ['EC P-384', generateKeyPairSync('ec', { namedCurve: 'P-384' }), 'ES384'],
  ['RSA 2048', generateKeyPairSync('rsa', { modulusLength: 2048 }), 'PS256'],
];

describe('loadSigningKey', () => {
  it.each(pairs)('reads %s as PEM and as a private JWK, with the JWK kid', (_name, pair, alg) => {
    const pem = pair.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
    expect(loadSigningKey(pem, 'key.pem')).toMatchObject({ alg });
    const jwk = JSON.stringify({ ...pair.privateKey.export({ format: 'jwk' }), kid: 'cfo@corp.example' });
    expect(loadSigningKey(jwk, 'key.jwk')).toMatchObject({ alg, kid: 'cfo@corp.example' });
  });

  it('names the file when it is not a private key', () => {
    expect(() => loadSigningKey('not a key', 'approver.pem')).toThrow(/approver\.pem/);
  });
});

describe('break-glass approvals with every key the loader reads', () => {
  it.each(pairs)('a %s approver co-signs and the bundle verifies it', async (_name, pair) => {
    const other = generateKeyPairSync('ed25519');
    const config = compileBreakGlass(
      {
        minApprovals: 2,
        maxLifetime: '24h',
        approvers: {
          keys: [
            { ...pair.publicKey.export({ format: 'jwk' }), kid: 'controller@corp.example' },
            { ...other.publicKey.export({ format: 'jwk' }), kid: 'cfo@corp.example' },
          ],
        },
      },
      '/breakGlass',
    );
    const now = 1_800_000_000;
    let jws = createRequest({
      requester: 'alice@corp.example',
      ticket: 'CHG-1',
      reason: 'hotfix',
      scope: { namespaces: ['tenant-acme'] },
      nbf: now - 60,
      exp: now + 3600,
    });
    for (const [kid, privateKey] of [
      ['controller@corp.example', pair.privateKey],
      ['cfo@corp.example', other.privateKey],
    ] as const) {
      const signer = loadSigningKey(privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(), kid);
      jws = await addApproval(jws, signer.key, { alg: signer.alg, kid });
    }
    const verdict = await verifyBreakGlass(JSON.stringify(jws), config, new Date(now * 1000));
    expect(verdict.reasons).toEqual([]);
    expect(verdict.valid).toBe(true);
  });

  it('refuses an RSA approver key under 2048 bits', () => {
    const weak = generateKeyPairSync('rsa', { modulusLength: 1024 });
    expect(() =>
      compileBreakGlass(
        {
          minApprovals: 1,
          maxLifetime: '24h',
          approvers: { keys: [{ ...weak.publicKey.export({ format: 'jwk' }), kid: 'x' }] },
        },
        '/breakGlass',
      ),
    ).toThrow(/at least 2048 bits/);
  });
});
