/**
 * Public keys and signature checks as cosign/sigstore use them: ECDSA P-256 (SHA-256), P-384
 * (SHA-384), P-521 (SHA-512) with DER signatures; RSA with PKCS#1 v1.5 or PSS (SHA-256); Ed25519.
 */
import { constants, createHash, createPublicKey, verify } from 'node:crypto';
import type { KeyObject } from 'node:crypto';

const parsed = new Map<string, KeyObject>();

/** Parses (and memoizes) a PEM public key; throws on anything else. */
export function publicKeyFromPem(pem: string): KeyObject {
  let key = parsed.get(pem);
  if (!key) {
    key = createPublicKey({ key: pem, format: 'pem' });
    if (key.type !== 'public') throw new TypeError('not a public key');
    if (parsed.size > 1000) parsed.clear();
    parsed.set(pem, key);
  }
  return key;
}

function hashFor(key: KeyObject): string {
  if (key.asymmetricKeyType === 'ec') {
    const curve = key.asymmetricKeyDetails?.namedCurve;
    if (curve === 'secp384r1') return 'sha384';
    if (curve === 'secp521r1') return 'sha512';
  }
  return 'sha256';
}

/** Whether `signature` over `data` verifies with `key` in one of the schemes cosign uses. */
export function verifySignature(key: KeyObject, data: Uint8Array, signature: Uint8Array): boolean {
  try {
    switch (key.asymmetricKeyType) {
      case 'ed25519':
        return verify(null, data, key, signature);
      case 'ec':
        return verify(hashFor(key), data, { key, dsaEncoding: 'der' }, signature);
      case 'rsa':
        return (
          verify('sha256', data, { key, padding: constants.RSA_PKCS1_PADDING }, signature) ||
          verify(
            'sha256',
            data,
            { key, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: constants.RSA_PSS_SALTLEN_AUTO },
            signature,
          )
        );
      case 'rsa-pss':
        return verify('sha256', data, { key, saltLength: constants.RSA_PSS_SALTLEN_AUTO }, signature);
      default:
        return false;
    }
  } catch {
    return false;
  }
}

/** Hex sha256 of a key's DER SubjectPublicKeyInfo (Rekor's log ID). */
export function keyId(key: KeyObject): string {
  return createHash('sha256')
    .update(key.export({ type: 'spki', format: 'der' }))
    .digest('hex');
}
