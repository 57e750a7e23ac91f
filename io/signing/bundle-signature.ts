/**
 * Detached JWS signatures over a bundle's exact bytes (RFC 7515 with RFC 7797 unencoded payload).
 * A signature is the flattened JSON serialization without `payload`
 * (`{"protected": …, "signature": …}`, protected header `{"alg", "kid", "b64": false, "crit": ["b64"]}`)
 * or the compact detached form `header..signature`. Verification is pure (jose on WebCrypto), so the
 * CLI (`tollgate check --require-signed-bundle`) and the webhook (`tollgate serve`) share it.
 */
import {
  base64url,
  createLocalJWKSet,
  decodeProtectedHeader,
  flattenedVerify,
  importSPKI,
  importX509,
} from 'jose';
import type { CryptoKey, FlattenedJWSInput, JSONWebKeySet, JWK, JWSHeaderParameters, KeyObject } from 'jose';
import { BundleSignatureError } from '../../policies/index.ts';

/** Signature algorithms accepted for bundles (asymmetric only). */
export const BUNDLE_SIGNATURE_ALGORITHMS: readonly string[] = [
  'ES256',
  'ES384',
  'ES512',
  'EdDSA',
  'Ed25519',
  'RS256',
  'PS256',
];

/** Keys a bundle signature may be made with, parsed once from a JWKS or PEM text. */
export interface TrustedKeys {
  /** Human description for messages, e.g. `2 keys from keys.jwks`. */
  readonly description: string;
  /** Returns candidate verification keys for a protected header. */
  candidates(header: JWSHeaderParameters): Promise<Array<CryptoKey | KeyObject | Uint8Array>>;
}

/** What a successful verification proves. */
export interface VerifiedSignature {
  readonly alg: string;
  /** Key id from the protected header, when present. */
  readonly kid?: string;
}

const pemBlock = /-----BEGIN ([A-Z ]+)-----[\s\S]*?-----END \1-----/g;

/**
 * Parses trusted keys: a JWKS (`{"keys": [...]}`), a single public JWK, or PEM text holding one or
 * more `PUBLIC KEY` (SPKI) or `CERTIFICATE` blocks. Private key material is refused.
 */
export async function parseTrustedKeys(text: string, name = 'trusted keys'): Promise<TrustedKeys> {
  const trimmed = text.trim();
  if (trimmed.startsWith('{')) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(trimmed);
    } catch (error) {
      throw new BundleSignatureError(name, `trusted keys are not valid JSON: ${(error as Error).message}`);
    }
    const jwks: JSONWebKeySet =
      typeof parsed === 'object' && parsed !== null && Array.isArray((parsed as { keys?: unknown }).keys)
        ? (parsed as JSONWebKeySet)
        : { keys: [parsed as JWK] };
    if (jwks.keys.length === 0) throw new BundleSignatureError(name, 'the trusted key set is empty');
    for (const key of jwks.keys) {
      if ('d' in key)
        throw new BundleSignatureError(
          name,
          'trusted keys must be public keys (found private key material "d")',
        );
    }
    const keySet = createLocalJWKSet(jwks);
    return {
      description: `${jwks.keys.length} key(s) from ${name}`,
      candidates: async (header) => {
        try {
          return [await keySet(header as never, { payload: '', signature: '' } as never)];
        } catch (error) {
          // Several keys fit (no kid): jose's error iterates over all of them; try each.
          const keys: CryptoKey[] = [];
          if (typeof error === 'object' && error !== null && Symbol.asyncIterator in error) {
            for await (const key of error as AsyncIterable<CryptoKey>) keys.push(key);
          }
          return keys;
        }
      },
    };
  }
  const blocks = [...trimmed.matchAll(pemBlock)];
  if (blocks.length === 0)
    throw new BundleSignatureError(name, 'trusted keys must be a JWKS, a JWK or PEM public keys');
  for (const block of blocks) {
    if (block[1]?.includes('PRIVATE'))
      throw new BundleSignatureError(name, 'trusted keys must be public keys (found a PRIVATE KEY block)');
  }
  return {
    description: `${blocks.length} PEM key(s) from ${name}`,
    candidates: async (header) => {
      const alg = header.alg ?? '';
      const keys: Array<CryptoKey | KeyObject> = [];
      for (const block of blocks) {
        try {
          keys.push(
            block[1] === 'CERTIFICATE' ? await importX509(block[0], alg) : await importSPKI(block[0], alg),
          );
        } catch {
          // A key of another type cannot have made this signature; try the next one.
        }
      }
      return keys;
    },
  };
}

/** Parses a detached signature file (flattened JSON or compact `header..signature`). */
export function parseDetachedSignature(
  text: string,
  source: string,
): { protected: string; signature: string } {
  const trimmed = text.trim();
  if (trimmed.startsWith('{')) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(trimmed);
    } catch (error) {
      throw new BundleSignatureError(source, `the signature is not valid JSON: ${(error as Error).message}`);
    }
    const jws = parsed as Partial<FlattenedJWSInput>;
    if (typeof jws.protected !== 'string' || typeof jws.signature !== 'string')
      throw new BundleSignatureError(source, 'the signature has no "protected" header or no "signature"');
    if (jws.payload !== undefined && jws.payload !== '')
      throw new BundleSignatureError(
        source,
        'the signature embeds a payload; a bundle signature must be detached',
      );
    return { protected: jws.protected, signature: jws.signature };
  }
  const parts = trimmed.split('.');
  if (parts.length !== 3 || parts[1] !== '' || !parts[0] || !parts[2])
    throw new BundleSignatureError(
      source,
      'the signature is neither flattened JSON nor compact detached (header..signature)',
    );
  return { protected: parts[0], signature: parts[2] };
}

/**
 * Verifies a detached JWS over a bundle's exact bytes against trusted keys. Throws
 * {@link BundleSignatureError} when the signature is malformed, made by no trusted key, or the bytes
 * changed. This is the function the webhook calls before swapping in a reloaded bundle.
 */
export async function verifyBundleSignature(
  bytes: Uint8Array | string,
  signatureText: string,
  trusted: TrustedKeys,
  source = 'bundle',
): Promise<VerifiedSignature> {
  const payload = typeof bytes === 'string' ? new TextEncoder().encode(bytes) : bytes;
  const jws = parseDetachedSignature(signatureText, source);
  let header: JWSHeaderParameters;
  try {
    header = decodeProtectedHeader({
      protected: jws.protected,
      signature: jws.signature,
      payload: '',
    }) as JWSHeaderParameters;
  } catch (error) {
    throw new BundleSignatureError(
      source,
      `the signature header cannot be decoded: ${(error as Error).message}`,
    );
  }
  if (!header.alg || !BUNDLE_SIGNATURE_ALGORITHMS.includes(header.alg))
    throw new BundleSignatureError(
      source,
      `signature algorithm "${String(header.alg)}" is not accepted (use one of ${BUNDLE_SIGNATURE_ALGORITHMS.join(', ')})`,
    );
  const unencoded = header.b64 === false;
  const input: FlattenedJWSInput = {
    protected: jws.protected,
    signature: jws.signature,
    payload: unencoded ? payload : base64url.encode(payload),
  };
  const keys = await trusted.candidates(header);
  if (keys.length === 0)
    throw new BundleSignatureError(
      source,
      `no trusted key matches the signature (alg ${header.alg}${header.kid ? `, kid ${header.kid}` : ''}; ${trusted.description})`,
    );
  for (const key of keys) {
    try {
      await flattenedVerify(input, key, {
        algorithms: [...BUNDLE_SIGNATURE_ALGORITHMS],
        crit: { b64: true },
      });
      return { alg: header.alg, ...(header.kid ? { kid: header.kid } : {}) };
    } catch {
      // Try the next candidate; the error below names the outcome.
    }
  }
  throw new BundleSignatureError(
    source,
    'the signature does not match the bundle bytes (the bundle was changed after signing, or was signed by another key)',
  );
}
