/**
 * Rekor transparency-log receipts: the Signed Entry Timestamp (SET) is Rekor's signature over the
 * RFC 8785 canonical JSON of {body, integratedTime, logID, logIndex}. A verified SET proves the
 * entry was logged; the entry's body must also name the signature being checked.
 */
import { createHash } from 'node:crypto';
import type { KeyObject } from 'node:crypto';
import { keyId, publicKeyFromPem, verifySignature } from './keys.ts';

/** A receipt in the shape of cosign's `dev.sigstore.cosign/bundle` annotation payload. */
export interface RekorReceipt {
  /** base64 of the canonicalized entry body. */
  readonly body: string;
  readonly integratedTime: number;
  readonly logIndex: number;
  /** hex sha256 of the log's public key. */
  readonly logID: string;
  /** base64 SET signature. */
  readonly signedEntryTimestamp: string;
}

/** What the logged entry must bind to. */
export interface ReceiptSubject {
  /** The signature (raw bytes) the entry must carry. */
  readonly signature: Uint8Array;
  /** The signed payload; its sha256 must be in the entry. */
  readonly payload: Uint8Array;
  /** The key that verified the signature; the entry must carry the same key. */
  readonly key: KeyObject;
}

/** Parses cosign's `dev.sigstore.cosign/bundle` annotation; undefined when malformed. */
export function parseCosignBundleAnnotation(text: string): RekorReceipt | undefined {
  try {
    const json = JSON.parse(text) as {
      SignedEntryTimestamp?: unknown;
      Payload?: { body?: unknown; integratedTime?: unknown; logIndex?: unknown; logID?: unknown };
    };
    const p = json.Payload;
    if (
      typeof json.SignedEntryTimestamp !== 'string' ||
      !p ||
      typeof p.body !== 'string' ||
      typeof p.integratedTime !== 'number' ||
      typeof p.logIndex !== 'number' ||
      typeof p.logID !== 'string'
    )
      return undefined;
    return {
      body: p.body,
      integratedTime: p.integratedTime,
      logIndex: p.logIndex,
      logID: p.logID,
      signedEntryTimestamp: json.SignedEntryTimestamp,
    };
  } catch {
    return undefined;
  }
}

/** The canonical JSON Rekor signs (keys in RFC 8785 order; integers as written). */
export function canonicalReceiptPayload(receipt: RekorReceipt): string {
  return `{"body":${JSON.stringify(receipt.body)},"integratedTime":${receipt.integratedTime},"logID":${JSON.stringify(
    receipt.logID,
  )},"logIndex":${receipt.logIndex}}`;
}

function sameKey(encoded: unknown, key: KeyObject): boolean {
  if (typeof encoded !== 'string') return false;
  try {
    const pem = Buffer.from(encoded, 'base64').toString('utf8');
    return publicKeyFromPem(pem).equals(key);
  } catch {
    return false;
  }
}

function sameBytes(encoded: unknown, bytes: Uint8Array): boolean {
  return typeof encoded === 'string' && Buffer.from(encoded, 'base64').equals(Buffer.from(bytes));
}

/** Verifies a receipt against trusted Rekor keys and checks that its entry binds the subject; returns the problem or undefined. */
export function checkReceipt(
  receipt: RekorReceipt,
  rekorKeys: readonly string[],
  subject: ReceiptSubject,
): string | undefined {
  const log = rekorKeys.map((pem) => publicKeyFromPem(pem)).find((key) => keyId(key) === receipt.logID);
  if (!log)
    return `the transparency-log receipt is from log ${receipt.logID.slice(0, 12)}…, which is not trusted`;
  const set = Buffer.from(receipt.signedEntryTimestamp, 'base64');
  if (!verifySignature(log, Buffer.from(canonicalReceiptPayload(receipt)), set))
    return 'the transparency-log receipt (SET) does not verify with the Rekor key';
  let entry: { kind?: unknown; spec?: Record<string, unknown> };
  try {
    entry = JSON.parse(Buffer.from(receipt.body, 'base64').toString('utf8')) as typeof entry;
  } catch {
    return 'the transparency-log entry body is not JSON';
  }
  const payloadHash = createHash('sha256').update(subject.payload).digest('hex');
  const spec = entry.spec ?? {};
  if (entry.kind === 'hashedrekord') {
    const data = spec.data as { hash?: { algorithm?: unknown; value?: unknown } } | undefined;
    const signature = spec.signature as { content?: unknown; publicKey?: { content?: unknown } } | undefined;
    if (data?.hash?.algorithm !== 'sha256' || data.hash.value !== payloadHash)
      return 'the transparency-log entry is for another payload';
    if (!sameBytes(signature?.content, subject.signature))
      return 'the transparency-log entry is for another signature';
    if (!sameKey(signature?.publicKey?.content, subject.key))
      return 'the transparency-log entry names another key';
    return undefined;
  }
  if (entry.kind === 'dsse') {
    const hash = spec.payloadHash as { algorithm?: unknown; value?: unknown } | undefined;
    const signatures = Array.isArray(spec.signatures)
      ? (spec.signatures as Array<Record<string, unknown>>)
      : [];
    if (hash?.algorithm !== 'sha256' || hash.value !== payloadHash)
      return 'the transparency-log entry is for another payload';
    const match = signatures.some(
      (s) => sameBytes(s.signature, subject.signature) && sameKey(s.verifier, subject.key),
    );
    return match ? undefined : 'the transparency-log entry is for another signature or key';
  }
  return `the transparency-log entry kind ${String(entry.kind)} is not supported`;
}
