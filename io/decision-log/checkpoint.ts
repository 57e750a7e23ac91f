/**
 * Checkpoint signatures of the decision log: a detached JWS (RFC 7797, `b64: false`) over a short
 * text naming the writer, the checkpoint's sequence number, the SHA-256 of the line before it (which
 * covers every earlier line through the chain), its time and whether it closes the log. Signing is
 * synchronous so the writer never reorders lines while a signature is being made.
 */
import { constants, createPublicKey, sign } from 'node:crypto';
import type { KeyObject } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { base64url, calculateJwkThumbprint, exportJWK } from 'jose';
import { InputError } from '../../policies/index.ts';
import { algorithmFor, loadSigningKey } from '../signing/signing.ts';
import type { SigningKey } from '../signing/signing.ts';
import { verifyBundleSignature } from '../signing/bundle-signature.ts';
import type { TrustedKeys, VerifiedSignature } from '../signing/bundle-signature.ts';

/** What a checkpoint signature covers. */
export interface CheckpointFields {
  readonly writer: string;
  readonly seq: number;
  /** SHA-256 (hex) of the writer's line before the checkpoint. */
  readonly prev: string;
  readonly time: string;
  readonly final: boolean;
}

/** The exact bytes a checkpoint's JWS signs. */
export function checkpointPayload(fields: CheckpointFields): string {
  return `tollgate-checkpoint/v1\n${fields.writer}\n${fields.seq}\n${fields.prev}\n${fields.time}\n${fields.final ? 'final' : 'open'}\n`;
}

/** A checkpoint signing key with its key id. */
export interface CheckpointKey {
  readonly key: KeyObject;
  /** The JWK's `kid`, else the RFC 7638 thumbprint of the public key (as `tollgate bundle sign` names keys). */
  readonly kid: string;
}

/**
 * Reads the checkpoint signing key (PEM or private JWK, e.g. mounted from a Secret); throws
 * InputError naming the file when it cannot be read.
 */
export async function loadCheckpointKey(file: string): Promise<CheckpointKey> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    throw new InputError(file, `cannot read the checkpoint signing key: ${(error as Error).message}`);
  }
  let signing: SigningKey;
  try {
    signing = loadSigningKey(text, file);
  } catch (error) {
    throw new InputError(
      file,
      `not a usable checkpoint signing key: ${(error as Error).message.replace(/^bundle .* refused: /, '')}`,
    );
  }
  const { key } = signing;
  return { key, kid: signing.kid ?? (await calculateJwkThumbprint(await exportJWK(createPublicKey(key)))) };
}

/** Signs a checkpoint payload; returns the compact detached JWS `header..signature`. */
export function signCheckpoint(payload: string, { key, kid }: CheckpointKey): string {
  const alg = algorithmFor(key);
  const header = base64url.encode(
    JSON.stringify({ alg, kid, b64: false, crit: ['b64'], typ: 'tollgate-checkpoint+jws' }),
  );
  const input = Buffer.from(`${header}.${payload}`, 'utf8');
  const signature =
    alg === 'EdDSA'
      ? sign(null, input, key)
      : alg === 'PS256'
        ? sign('sha256', input, { key, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: 32 })
        : sign(`sha${alg.slice(2)}`, input, { key, dsaEncoding: 'ieee-p1363' });
  return `${header}..${base64url.encode(signature)}`;
}

/** Verifies a checkpoint's JWS against trusted public keys; throws with the reason. */
export async function verifyCheckpoint(
  fields: CheckpointFields,
  jws: string,
  trusted: TrustedKeys,
): Promise<VerifiedSignature> {
  try {
    return await verifyBundleSignature(checkpointPayload(fields), jws, trusted, 'checkpoint');
  } catch (error) {
    const reason = (error as Error).message
      .replace(/^bundle checkpoint refused: /, '')
      .replace(
        /the bundle bytes \(.*\)$/,
        'the checkpoint (it, or its writer, seq, prev or time, was changed, or another key signed it)',
      );
    throw new Error(reason, { cause: error });
  }
}
