/**
 * cosign signature verification without the cosign binary, for both storage formats:
 * - legacy: the tag `sha256-<hex>.sig`, one layer per signature carrying the simple-signing
 *   payload and the annotation `dev.cosignproject.cosign/signature` (plus an optional Rekor
 *   receipt in `dev.sigstore.cosign/bundle`);
 * - Sigstore bundle v0.3 (cosign v3's default): an artifact whose subject is the image, found via
 *   the referrers API or the `sha256-<hex>` fallback index tag, whose layer is the bundle JSON
 *   carrying a DSSE envelope of an in-toto statement about the image digest.
 */
import { createHash } from 'node:crypto';
import type { KeyObject } from 'node:crypto';
import { RegistryError } from '../registry/registry-error.ts';
import type { SignedIdentity, TrustPolicy, VerifiedSignature } from '../../policies/index.ts';
import type { FetchedManifest, RegistryClient, RegistryTarget } from '../registry/client.ts';
import { publicKeyFromPem, verifySignature } from './keys.ts';
import type { RekorReceipt } from './rekor.ts';
import { checkReceipt, parseCosignBundleAnnotation } from './rekor.ts';

/** Annotation holding a legacy signature (base64). */
export const signatureAnnotation = 'dev.cosignproject.cosign/signature';
/** Annotation holding a legacy Rekor receipt. */
export const rekorBundleAnnotation = 'dev.sigstore.cosign/bundle';
/** Media type of the simple-signing payload layer. */
export const simpleSigningMediaType = 'application/vnd.dev.cosign.simplesigning.v1+json';
/** Media type (and artifactType) of a Sigstore bundle v0.3. */
export const sigstoreBundleMediaType = 'application/vnd.dev.sigstore.bundle.v0.3+json';
/** predicateType of cosign's image signature statements. */
export const cosignSignPredicate = 'https://sigstore.dev/cosign/sign/v1';
const inTotoPayloadType = 'application/vnd.in-toto+json';
const maxSignatures = 16;

/** What the signature search found. */
export interface SignatureSearch {
  readonly verified: VerifiedSignature[];
  /** Why each found signature did not count. */
  readonly problems: string[];
  /** How many signatures were found at all. */
  readonly found: number;
}

interface Candidate {
  readonly format: VerifiedSignature['format'];
  /** Bytes the signature is over (payload, or DSSE PAE). */
  readonly signed: Uint8Array;
  readonly signature: Uint8Array;
  /** Bytes a Rekor entry hashes (payload, or DSSE payload). */
  readonly logged: Uint8Array;
  readonly receipts: readonly RekorReceipt[];
  /** Checks the signed content against the image; returns a problem or undefined. */
  readonly checkContent: () => string | undefined;
}

/** Tag of a digest's legacy signature manifest (`sha256-<hex>.sig`). */
export function signatureTag(digest: string): string {
  return `${digest.replace(':', '-')}.sig`;
}

/** DSSE pre-authentication encoding (what a DSSE signature signs). */
export function dssePae(payloadType: string, payload: Uint8Array): Buffer {
  const type = Buffer.from(payloadType, 'utf8');
  return Buffer.concat([
    Buffer.from(`DSSEv1 ${type.length} `),
    type,
    Buffer.from(` ${payload.length} `),
    Buffer.from(payload),
  ]);
}

/** The docker-reference a signature for `repository` must carry under the rule's identity policy. */
export function expectedIdentity(repository: string, identity: SignedIdentity): string | undefined {
  if (identity.type === 'any') return undefined;
  if (identity.type === 'remapIdentity') {
    if (repository === identity.prefix) return identity.signedPrefix;
    if (repository.startsWith(`${identity.prefix}/`))
      return `${identity.signedPrefix}${repository.slice(identity.prefix.length)}`;
  }
  return repository;
}

function normalizeSignedReference(reference: string): string {
  let ref = reference.trim().toLowerCase();
  const at = ref.indexOf('@');
  if (at >= 0) ref = ref.slice(0, at);
  const colon = ref.indexOf(':', ref.lastIndexOf('/') + 1);
  if (colon >= 0) ref = ref.slice(0, colon);
  const first = ref.split('/')[0] ?? '';
  if (!(first.includes('.') || first.includes(':') || first === 'localhost')) ref = `docker.io/${ref}`;
  ref = ref.replace(/^index\.docker\.io\//, 'docker.io/');
  if (/^docker\.io\/[^/]+$/.test(ref)) ref = ref.replace('docker.io/', 'docker.io/library/');
  return ref;
}

function layersOf(manifest: FetchedManifest): Array<Record<string, unknown>> {
  const layers = manifest.json.layers;
  return Array.isArray(layers)
    ? layers.filter((l): l is Record<string, unknown> => typeof l === 'object' && l !== null)
    : [];
}

function annotationsOf(descriptor: Record<string, unknown>): Record<string, unknown> {
  const annotations = descriptor.annotations;
  return typeof annotations === 'object' && annotations !== null
    ? (annotations as Record<string, unknown>)
    : {};
}

/** Finds and verifies every cosign signature of `digest` in `target` under `trust`. */
export async function findSignatures(
  client: RegistryClient,
  target: RegistryTarget,
  digest: string,
  trust: TrustPolicy,
  signal: AbortSignal,
): Promise<SignatureSearch> {
  const repository = `${target.registry}/${target.repository}`;
  const settled = await Promise.allSettled([
    legacyCandidates(client, target, digest, repository, trust, signal),
    bundleCandidates(client, target, digest, signal),
  ]);
  const lists = settled.flatMap((s) => (s.status === 'fulfilled' ? [s.value] : []));
  const candidates = lists.flatMap((l) => l.candidates);
  const problems = lists.flatMap((l) => l.problems);
  const verified: VerifiedSignature[] = [];
  if (trust.authority.kind !== 'key') {
    return {
      verified,
      problems: ['keyless (Fulcio) verification is not supported by this verifier'],
      found: candidates.length,
    };
  }
  const keys = trust.authority.keys.map((k) => ({ name: k.name, key: publicKeyFromPem(k.publicKey) }));
  for (const candidate of candidates) {
    const problem = checkCandidate(candidate, keys, trust);
    if (typeof problem === 'string') problems.push(problem);
    else verified.push(problem);
  }
  // One storage format verified: an error looking up the other does not matter. Otherwise the
  // image could not be fully examined, and the error (e.g. unreachable) is the answer.
  const failed = settled.find((s): s is PromiseRejectedResult => s.status === 'rejected');
  if (verified.length === 0 && failed) throw failed.reason;
  return { verified, problems, found: candidates.length + lists.reduce((n, l) => n + l.unusable, 0) };
}

function checkCandidate(
  candidate: Candidate,
  keys: ReadonlyArray<{ name: string; key: KeyObject }>,
  trust: TrustPolicy,
): string | VerifiedSignature {
  const signer = keys.find((k) => verifySignature(k.key, candidate.signed, candidate.signature));
  if (!signer) return `${candidate.format} signature does not verify with the trusted keys`;
  const contentProblem = candidate.checkContent();
  if (contentProblem) return contentProblem;
  let tlog = false;
  if (trust.rekorPublicKeys.length > 0 && candidate.receipts.length > 0) {
    const receiptProblems: string[] = [];
    for (const receipt of candidate.receipts) {
      const problem = checkReceipt(receipt, trust.rekorPublicKeys, {
        signature: candidate.signature,
        payload: candidate.logged,
        key: signer.key,
      });
      if (problem) receiptProblems.push(problem);
      else tlog = true;
    }
    if (!tlog) return receiptProblems.join('; ');
  }
  if (trust.requireTlog && !tlog)
    return `${candidate.format} signature by ${signer.name} has no transparency-log receipt, and the rule requires one`;
  return { format: candidate.format, key: signer.name, tlog };
}

interface CandidateList {
  candidates: Candidate[];
  problems: string[];
  /** Signatures found but unusable before any key check (malformed). */
  unusable: number;
}

async function legacyCandidates(
  client: RegistryClient,
  target: RegistryTarget,
  digest: string,
  repository: string,
  trust: TrustPolicy,
  signal: AbortSignal,
): Promise<CandidateList> {
  const out: CandidateList = { candidates: [], problems: [], unusable: 0 };
  const manifest = await client.findManifest(target, signatureTag(digest), { signal });
  if (!manifest) return out;
  const layers = layersOf(manifest)
    .filter((layer) => typeof annotationsOf(layer)[signatureAnnotation] === 'string')
    .slice(0, maxSignatures);
  if (layers.length === 0) {
    out.problems.push(`${signatureTag(digest)} holds no cosign signature layer`);
    out.unusable++;
    return out;
  }
  const identity = expectedIdentity(repository, trust.signedIdentity);
  const payloads = await Promise.all(
    layers.map(async (layer) => {
      const layerDigest = typeof layer.digest === 'string' ? layer.digest : '';
      try {
        return await client.getBlob(target, layerDigest, { signal });
      } catch (error) {
        if (error instanceof RegistryError && error.kind !== 'unreachable') return error;
        throw error;
      }
    }),
  );
  layers.forEach((layer, index) => {
    const payload = payloads[index];
    if (payload === undefined || payload instanceof Error) {
      out.problems.push(`signature payload unavailable: ${payload?.message ?? 'missing'}`);
      out.unusable++;
      return;
    }
    const annotations = annotationsOf(layer);
    const receipt =
      typeof annotations[rekorBundleAnnotation] === 'string'
        ? parseCosignBundleAnnotation(annotations[rekorBundleAnnotation])
        : undefined;
    out.candidates.push({
      format: 'simple-signing',
      signed: payload,
      signature: Buffer.from(String(annotations[signatureAnnotation]), 'base64'),
      logged: payload,
      receipts: receipt ? [receipt] : [],
      checkContent: () => checkSimpleSigning(payload, digest, identity),
    });
  });
  return out;
}

/** Checks a simple-signing payload: the signed manifest digest and, unless `any`, the identity. */
export function checkSimpleSigning(
  payload: Uint8Array,
  digest: string,
  identity: string | undefined,
): string | undefined {
  let json: {
    critical?: {
      identity?: { 'docker-reference'?: unknown };
      image?: Record<string, unknown>;
      type?: unknown;
    };
  };
  try {
    json = JSON.parse(Buffer.from(payload).toString('utf8')) as typeof json;
  } catch {
    return 'the signed payload is not JSON';
  }
  const critical = json.critical;
  if (critical?.type !== 'cosign container image signature')
    return `the signed payload has type ${String(critical?.type)}, not a cosign container image signature`;
  const signedDigest = critical.image?.['docker-manifest-digest'];
  if (signedDigest !== digest)
    return `the signature is for ${String(signedDigest)}, not for this image (${digest})`;
  const reference = critical.identity?.['docker-reference'];
  if (identity !== undefined) {
    if (typeof reference !== 'string' || normalizeSignedReference(reference) !== identity)
      return `the signature names ${String(reference)}, not ${identity}`;
  }
  return undefined;
}

async function bundleCandidates(
  client: RegistryClient,
  target: RegistryTarget,
  digest: string,
  signal: AbortSignal,
): Promise<CandidateList> {
  const out: CandidateList = { candidates: [], problems: [], unusable: 0 };
  let descriptors = await client.getReferrers(target, digest, sigstoreBundleMediaType, { signal });
  if (descriptors === undefined) {
    const index = await client.findManifest(target, digest.replace(':', '-'), { signal });
    const manifests = index?.json.manifests;
    descriptors = Array.isArray(manifests)
      ? manifests.filter((m): m is Record<string, unknown> => typeof m === 'object' && m !== null)
      : [];
  }
  const bundles = descriptors
    .filter((d) => d.artifactType === sigstoreBundleMediaType && typeof d.digest === 'string')
    .slice(0, maxSignatures);
  const loaded = await Promise.all(
    bundles.map(async (descriptor) => {
      try {
        const manifest = await client.getManifest(target, String(descriptor.digest), { signal });
        const subject = manifest.json.subject as { digest?: unknown } | undefined;
        if (subject?.digest !== digest) return new Error('a bundle artifact whose subject is another image');
        const layer = layersOf(manifest).find((l) => l.mediaType === sigstoreBundleMediaType);
        if (!layer || typeof layer.digest !== 'string')
          return new Error('a bundle artifact without a bundle layer');
        return await client.getBlob(target, layer.digest, { signal });
      } catch (error) {
        if (error instanceof RegistryError && error.kind !== 'unreachable') return error;
        throw error;
      }
    }),
  );
  for (const item of loaded) {
    if (item instanceof Error) {
      out.problems.push(`Sigstore bundle unusable: ${item.message}`);
      out.unusable++;
      continue;
    }
    const candidate = bundleCandidate(item, digest);
    if (typeof candidate === 'string') {
      out.problems.push(candidate);
      out.unusable++;
    } else out.candidates.push(candidate);
  }
  return out;
}

/** Reads a Sigstore bundle v0.3 (DSSE) into a candidate, or returns why it cannot be one. */
export function bundleCandidate(bytes: Uint8Array, digest: string): Candidate | string {
  let bundle: {
    mediaType?: unknown;
    dsseEnvelope?: { payload?: unknown; payloadType?: unknown; signatures?: Array<{ sig?: unknown }> };
    verificationMaterial?: { tlogEntries?: Array<Record<string, unknown>> };
  };
  try {
    bundle = JSON.parse(Buffer.from(bytes).toString('utf8')) as typeof bundle;
  } catch {
    return 'Sigstore bundle is not JSON';
  }
  if (bundle.mediaType !== sigstoreBundleMediaType)
    return `Sigstore bundle media type ${String(bundle.mediaType)} is not supported`;
  const envelope = bundle.dsseEnvelope;
  if (!envelope || typeof envelope.payload !== 'string' || envelope.payloadType !== inTotoPayloadType)
    return 'Sigstore bundle carries no DSSE in-toto envelope';
  const sig = envelope.signatures?.[0]?.sig;
  if (typeof sig !== 'string') return 'Sigstore bundle DSSE envelope has no signature';
  const payload = Buffer.from(envelope.payload, 'base64');
  const receipts: RekorReceipt[] = [];
  for (const entry of bundle.verificationMaterial?.tlogEntries ?? []) {
    const set = (entry.inclusionPromise as { signedEntryTimestamp?: unknown } | undefined)
      ?.signedEntryTimestamp;
    const logKey = (entry.logId as { keyId?: unknown } | undefined)?.keyId;
    if (typeof set !== 'string' || typeof logKey !== 'string' || typeof entry.canonicalizedBody !== 'string')
      continue;
    receipts.push({
      body: entry.canonicalizedBody,
      integratedTime: Number(entry.integratedTime),
      logIndex: Number(entry.logIndex),
      logID: Buffer.from(logKey, 'base64').toString('hex'),
      signedEntryTimestamp: set,
    });
  }
  return {
    format: 'sigstore-bundle',
    signed: dssePae(inTotoPayloadType, payload),
    signature: Buffer.from(sig, 'base64'),
    logged: payload,
    receipts,
    checkContent: () => checkStatement(payload, digest),
  };
}

/** Checks an in-toto statement: cosign's signature predicate with a subject naming this digest. */
export function checkStatement(payload: Uint8Array, digest: string): string | undefined {
  let statement: {
    _type?: unknown;
    predicateType?: unknown;
    subject?: Array<{ digest?: Record<string, unknown> }>;
  };
  try {
    statement = JSON.parse(Buffer.from(payload).toString('utf8')) as typeof statement;
  } catch {
    return 'the signed statement is not JSON';
  }
  if (typeof statement._type !== 'string' || !statement._type.startsWith('https://in-toto.io/Statement/'))
    return 'the signed payload is not an in-toto statement';
  if (statement.predicateType !== cosignSignPredicate)
    return `the signed statement is a ${String(statement.predicateType)} attestation, not a cosign signature`;
  const [algorithm, hex] = digest.split(':');
  const subjects = Array.isArray(statement.subject) ? statement.subject : [];
  if (!subjects.some((s) => algorithm !== undefined && s.digest?.[algorithm] === hex))
    return `the signed statement is about another image, not ${digest}`;
  return undefined;
}

/** sha256 hex of bytes (exported for tests and tooling). */
export function sha256Hex(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}
