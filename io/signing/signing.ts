/**
 * Bundle signing for the CLI: `tollgate bundle sign` writes a detached JWS (RFC 7797, `b64: false`)
 * over the bundle's exact bytes; `bundle verify` and `check --require-signed-bundle` check it with
 * the pure `verifyBundleSignature`. jose and the verifier load only when a signature is made or
 * checked, so a command without signatures never loads them.
 */
import { createPrivateKey, createPublicKey } from 'node:crypto';
import type { JsonWebKey, KeyObject } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import type { VerifiedSignature } from './bundle-signature.ts';
import { BundleSignatureError } from '../../policies/index.ts';
import { defaultBundlePath, defaultBundleSource } from '../default-bundle.ts';

/** A detached flattened JWS as written to `FILE.jws`. */
export interface DetachedJws {
  protected: string;
  signature: string;
}

/** Reads a private key (PEM PKCS#8/SEC1/PKCS#1, or a private JWK as JSON). */
export function privateKeyFrom(text: string, name: string): KeyObject {
  try {
    const trimmed = text.trim();
    return trimmed.startsWith('{')
      ? createPrivateKey({ key: JSON.parse(trimmed) as JsonWebKey, format: 'jwk' })
      : createPrivateKey(trimmed);
  } catch (error) {
    throw new BundleSignatureError(name, `cannot read the signing key: ${(error as Error).message}`);
  }
}

/** A private signing key with its JWS algorithm and, when it is a JWK that names one, its key id. */
export interface SigningKey {
  readonly key: KeyObject;
  readonly alg: string;
  readonly kid?: string;
}

/**
 * The one private-key loader: PEM (PKCS#8, SEC1, PKCS#1) or a private JWK, Ed25519, EC P-256/384/521
 * or RSA, for bundle signing, break-glass approvals and decision-log checkpoints alike.
 */
export function loadSigningKey(text: string, name: string): SigningKey {
  const key = privateKeyFrom(text, name);
  const alg = algorithmFor(key);
  let kid: string | undefined;
  const trimmed = text.trim();
  if (trimmed.startsWith('{')) {
    const jwk = JSON.parse(trimmed) as { kid?: unknown };
    if (typeof jwk.kid === 'string' && jwk.kid !== '') kid = jwk.kid;
  }
  return { key, alg, ...(kid ? { kid } : {}) };
}

/** The JWS algorithm for a key: ES256/384/512 by curve, EdDSA for Ed25519, PS256 for RSA. */
export function algorithmFor(key: KeyObject): string {
  const type = key.asymmetricKeyType;
  if (type === 'ed25519') return 'EdDSA';
  if (type === 'rsa' || type === 'rsa-pss') return 'PS256';
  if (type === 'ec') {
    const curve = key.asymmetricKeyDetails?.namedCurve;
    if (curve === 'prime256v1' || curve === 'P-256') return 'ES256';
    if (curve === 'secp384r1' || curve === 'P-384') return 'ES384';
    if (curve === 'secp521r1' || curve === 'P-521') return 'ES512';
  }
  throw new BundleSignatureError(
    'signing key',
    `unsupported key type ${type ?? 'unknown'} (use Ed25519, P-256/384/521 or RSA)`,
  );
}

/** Signs a bundle's exact bytes; the key id is the RFC 7638 thumbprint of the public key. */
export async function signBundle(bytes: Uint8Array, key: KeyObject): Promise<DetachedJws> {
  const alg = algorithmFor(key);
  const { calculateJwkThumbprint, exportJWK, FlattenedSign } = await import('jose');
  const kid = await calculateJwkThumbprint(await exportJWK(createPublicKey(key)));
  const jws = await new FlattenedSign(bytes)
    .setProtectedHeader({ alg, kid, b64: false, crit: ['b64'], typ: 'tollgate-bundle+jws' })
    .sign(key);
  return { protected: jws.protected ?? '', signature: jws.signature };
}

/** The public JWK set for a private key (what `bundle sign --print-public-key` prints, for --trusted-keys). */
export async function publicJwksFor(key: KeyObject): Promise<{ keys: Array<Record<string, unknown>> }> {
  const { calculateJwkThumbprint, exportJWK } = await import('jose');
  const jwk = await exportJWK(createPublicKey(key));
  return { keys: [{ ...jwk, kid: await calculateJwkThumbprint(jwk), alg: algorithmFor(key), use: 'sig' }] };
}

/** Where a bundle's signature is looked for when none is named: `<bundle>.jws`. */
export function defaultSignaturePath(bundlePath: string): string {
  return `${bundlePath}.jws`;
}

/** Reads the signature and trusted keys from files and verifies the bundle bytes; throws BundleSignatureError. */
export async function verifyBundleFile(
  bytes: Uint8Array,
  options: {
    bundlePath: string;
    signaturePath?: string | undefined;
    trustedKeysPath: string;
    cwd: string;
    source: string;
  },
): Promise<VerifiedSignature> {
  const signaturePath = resolve(
    options.cwd,
    options.signaturePath ?? defaultSignaturePath(options.bundlePath),
  );
  let signature: string;
  try {
    signature = await readFile(signaturePath, 'utf8');
  } catch {
    throw new BundleSignatureError(
      options.source,
      `it is not signed: no signature at ${options.signaturePath ?? defaultSignaturePath(options.bundlePath)} (sign it with tollgate bundle sign --key KEY)`,
    );
  }
  let keysText: string;
  try {
    keysText = await readFile(resolve(options.cwd, options.trustedKeysPath), 'utf8');
  } catch {
    throw new BundleSignatureError(options.source, `cannot read trusted keys ${options.trustedKeysPath}`);
  }
  const { parseTrustedKeys, verifyBundleSignature } = await import('./bundle-signature.ts');
  const trusted = await parseTrustedKeys(keysText, options.trustedKeysPath);
  return verifyBundleSignature(bytes, signature, trusted, options.source);
}

/** A required bundle signature: which keys may sign and where the detached JWS is. */
export interface SignedBundleSettings {
  /** JWKS, JWK or PEM public keys allowed to sign bundles. */
  readonly trustedKeys: string;
  /** Signature file; default `<bundle>.jws`. */
  readonly signature?: string | undefined;
  /** The bundle path, or undefined for the embedded default. */
  readonly bundle?: string | undefined;
  readonly cwd: string;
}

/**
 * Reads the signed-bundle flags or inputs the same way for every edge: undefined when no signature
 * is required; `fail` receives the problem (a usage or input error of the edge) when the flags do not
 * go together.
 */
export function signedBundleSettings(
  flags: {
    requireSigned: boolean | undefined;
    trustedKeys: string | undefined;
    signature: string | undefined;
    bundle: string | undefined;
    cwd: string;
  },
  fail: (problem: 'keys-without-require' | 'require-without-keys') => never,
): SignedBundleSettings | undefined {
  if (!flags.requireSigned) {
    if (flags.trustedKeys !== undefined || flags.signature !== undefined) fail('keys-without-require');
    return undefined;
  }
  if (flags.trustedKeys === undefined) return fail('require-without-keys');
  return { trustedKeys: flags.trustedKeys, signature: flags.signature, bundle: flags.bundle, cwd: flags.cwd };
}

/**
 * A check run's bundle verifier: it verifies the exact bytes about to be loaded, resolves to the
 * verified signature (algorithm and key id) and throws BundleSignatureError (exit 2) on an unsigned,
 * tampered or untrusted bundle.
 */
export function signedBundleVerifier(
  settings: SignedBundleSettings,
): (bytes: Uint8Array) => Promise<VerifiedSignature> {
  const bundlePath = settings.bundle ?? defaultBundlePath;
  return async (bytes) =>
    verifyBundleFile(bytes, {
      bundlePath,
      signaturePath: settings.signature,
      trustedKeysPath: settings.trustedKeys,
      cwd: settings.cwd,
      source: settings.bundle ?? defaultBundleSource,
    });
}
