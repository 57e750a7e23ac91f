/**
 * signed-images: every image must carry a valid cosign signature from a key the bundle trusts
 * for that image. The policy is pure: it maps images to trust rules and verification results to
 * findings; the registry look-ups and cryptography happen in the injected {@link ImageVerifier}.
 * Fails closed: an image matching no rule, an unverifiable image and a missing verifier all give
 * findings, never a pass.
 */
import { skip } from '../engine/evaluate.ts';
import { skipDelete, skipWithoutImages } from '../engine/adjudicators.ts';
import { ConfigError } from '../engine/errors/index.ts';
import type { ImageReference } from '../engine/image-reference.ts';
import {
  isImageReferenceError,
  matchesRegistryPrefix,
  normalizeRegistryPrefix,
  parseImageReference,
} from '../engine/image-reference.ts';
import type { EnforcementAction, FindingDraft, Policy } from '../engine/types.ts';
import { imageFieldsOf, isRecord, workloadAdmissionRules } from '../engine/workloads.ts';
import { isImageVerifier } from '../engine/image-verifier.ts';
import type {
  ImageVerifier,
  SignedIdentity,
  TrustedKey,
  TrustPolicy,
  VerificationResult,
  VerifyRequest,
} from '../engine/image-verifier.ts';

export type * from '../engine/image-verifier.ts';
export { isImageVerifier } from '../engine/image-verifier.ts';

/** One compiled trust rule: images under `images` must be signed per `trust`. */
export interface SignedImagesRule {
  readonly name: string;
  /** Registry prefixes (`registry.corp.example/erp`), matched like approved-registries. */
  readonly images: readonly string[];
  readonly trust: TrustPolicy;
}

/** Parameters of signed-images. */
export interface SignedImagesParams {
  readonly rules: readonly SignedImagesRule[];
  /** Action for images that could not be verified (registry down, timeout, offline). */
  readonly onUnreachable: 'deny' | 'warn';
  /** Require `@sha256:` pinned references. */
  readonly requireDigest: boolean;
  /** Registry hosts (with port) reached over plain HTTP. */
  readonly insecureRegistries: readonly string[];
}

const pemKey = /^\s*-----BEGIN PUBLIC KEY-----\s+[A-Za-z0-9+/=\s]+-----END PUBLIC KEY-----\s*$/;

const keySchema = {
  type: 'object',
  required: ['name', 'publicKey'],
  additionalProperties: false,
  properties: {
    name: { type: 'string', minLength: 1 },
    publicKey: { type: 'string', description: 'PEM public key (ECDSA P-256/P-384, RSA, Ed25519)' },
  },
};

const identitySchema = {
  type: 'object',
  required: ['type'],
  additionalProperties: false,
  properties: {
    type: { enum: ['matchRepository', 'remapIdentity', 'any'] },
    prefix: { type: 'string', minLength: 1 },
    signedPrefix: { type: 'string', minLength: 1 },
  },
};

/** Longest-prefix match of a reference against the rules (the most specific rule wins). */
export function ruleFor(
  ref: ImageReference,
  rules: readonly SignedImagesRule[],
): SignedImagesRule | undefined {
  let best: SignedImagesRule | undefined;
  let bestLength = -1;
  for (const rule of rules) {
    for (const prefix of rule.images) {
      if (!matchesRegistryPrefix(ref, prefix)) continue;
      const { domain, path } = normalizeRegistryPrefix(prefix);
      const length = domain.length + path.length + 1;
      if (length > bestLength) {
        best = rule;
        bestLength = length;
      }
    }
  }
  return best;
}

function compileIdentity(raw: unknown, path: string): SignedIdentity {
  if (!isRecord(raw)) return { type: 'matchRepository' };
  if (raw.type === 'any') return { type: 'any' };
  if (raw.type === 'remapIdentity') {
    if (typeof raw.prefix !== 'string' || typeof raw.signedPrefix !== 'string')
      throw new ConfigError(path, 'remapIdentity needs both prefix and signedPrefix');
    const prefix = normalizeRegistryPrefix(raw.prefix);
    const signedPrefix = normalizeRegistryPrefix(raw.signedPrefix);
    return {
      type: 'remapIdentity',
      prefix: [prefix.domain, prefix.path].filter(Boolean).join('/'),
      signedPrefix: [signedPrefix.domain, signedPrefix.path].filter(Boolean).join('/'),
    };
  }
  return { type: 'matchRepository' };
}

function compileKeys(raw: unknown, path: string): TrustedKey[] {
  const list = Array.isArray(raw) ? raw : [];
  const names = new Set<string>();
  return list.map((entry: unknown, index) => {
    const name = isRecord(entry) ? String(entry.name) : '';
    const publicKey = isRecord(entry) ? String(entry.publicKey) : '';
    if (!pemKey.test(publicKey))
      throw new ConfigError(
        `${path}/${index}/publicKey`,
        `key "${name}" is not a PEM public key (-----BEGIN PUBLIC KEY----- ... -----END PUBLIC KEY-----)`,
      );
    if (names.has(name)) throw new ConfigError(`${path}/${index}/name`, `duplicate key name "${name}"`);
    names.add(name);
    return { name, publicKey: publicKey.trim() };
  });
}

function checkPrefix(prefix: string, path: string): void {
  if (prefix.includes('*'))
    throw new ConfigError(path, `"${prefix}": wildcards are not supported; a prefix covers its sub-paths`);
  if (/\s/.test(prefix)) throw new ConfigError(path, `"${prefix}" contains whitespace`);
  const { domain, path: repoPath } = normalizeRegistryPrefix(prefix);
  const probe = parseImageReference(repoPath ? `${domain}/${repoPath}` : `${domain}/x`);
  if (isImageReferenceError(probe))
    throw new ConfigError(path, `"${prefix}" is not a valid image prefix: ${probe.error}`);
}

function describe(ref: ImageReference, digest: string | undefined): string {
  if (!digest || ref.digest === digest) return `"${ref.original}"`;
  return `"${ref.original}" (resolved to ${digest})`;
}

type Resolved = { ref: ImageReference; rule: SignedImagesRule | undefined } | { error: string };

/** Parsed reference and matching rule per image string, per compiled parameters (admission sees few distinct images). */
const resolvedImages = new WeakMap<SignedImagesParams, Map<string, Resolved>>();

function resolveImage(params: SignedImagesParams, image: string): Resolved {
  let memo = resolvedImages.get(params);
  if (!memo) {
    memo = new Map();
    resolvedImages.set(params, memo);
  }
  let resolved = memo.get(image);
  if (!resolved) {
    const ref = parseImageReference(image);
    resolved = isImageReferenceError(ref) ? { error: ref.error } : { ref, rule: ruleFor(ref, params.rules) };
    if (memo.size >= 10_000) memo.clear();
    memo.set(image, resolved);
  }
  return resolved;
}

interface ImageCheck {
  readonly ref: ImageReference;
  readonly rule: SignedImagesRule;
  result?: Promise<VerificationResult>;
}

export const signedImagesPolicy: Policy<SignedImagesParams> = {
  id: 'signed-images',
  version: '1.5.0',
  description: 'Images must carry a valid cosign signature from a key trusted for them.',
  help:
    'Every container, init container, ephemeral container, image volume and Tekton step, sidecar and stepTemplate ' +
    'image is resolved to its digest ' +
    '(tags are looked up in the registry; the manifest is hashed, no header is trusted) and must carry a cosign ' +
    'signature over that digest — the legacy `sha256-<hex>.sig` tag or a Sigstore bundle attached through the OCI ' +
    'referrers API — made by a key of the most specific rule matching the image. An image matching no rule is ' +
    'denied. An image that cannot be verified (registry down, deadline, offline) gets the `onUnreachable` action ' +
    '(deny by default), never a pass.',
  paramsSchema: {
    type: 'object',
    required: ['rules'],
    properties: {
      rules: {
        type: 'array',
        minItems: 1,
        description: 'image prefixes and the keys that must have signed them (most specific prefix wins)',
        items: {
          type: 'object',
          required: ['images', 'keys'],
          additionalProperties: false,
          properties: {
            name: { type: 'string', minLength: 1 },
            images: { type: 'array', minItems: 1, items: { type: 'string', minLength: 1 } },
            keys: { type: 'array', minItems: 1, items: keySchema },
            signedIdentity: identitySchema,
            requireTlog: { type: 'boolean' },
          },
        },
      },
      onUnreachable: {
        enum: ['deny', 'warn'],
        description: 'action when an image cannot be verified (registry unreachable, timeout, offline)',
      },
      requireDigest: { type: 'boolean', description: 'require images pinned by digest' },
      insecureRegistries: {
        type: 'array',
        items: { type: 'string', minLength: 1 },
        description: 'registry hosts (with port) reached over plain HTTP',
      },
      rekor: {
        type: 'object',
        additionalProperties: false,
        required: ['publicKeys'],
        properties: { publicKeys: { type: 'array', minItems: 1, items: { type: 'string' } } },
      },
      requireTlog: {
        type: 'boolean',
        description: 'default for rules: a signature needs a verified Rekor receipt',
      },
    },
  },
  admissionRules: [...workloadAdmissionRules(['pods/ephemeralcontainers'])],
  compile(raw) {
    const rekorRaw = isRecord(raw.rekor) && Array.isArray(raw.rekor.publicKeys) ? raw.rekor.publicKeys : [];
    const rekorPublicKeys = rekorRaw.map((pem: unknown, index) => {
      const text = String(pem);
      if (!pemKey.test(text))
        throw new ConfigError(`rekor/publicKeys/${index}`, 'the Rekor key is not a PEM public key');
      return text.trim();
    });
    const defaultRequireTlog = raw.requireTlog === true;
    const seenPrefixes = new Set<string>();
    const rawRules = Array.isArray(raw.rules) ? raw.rules : [];
    const rules = rawRules.map((entry: unknown, index): SignedImagesRule => {
      const rule = isRecord(entry) ? entry : {};
      const images = Array.isArray(rule.images) ? rule.images.map(String) : [];
      images.forEach((prefix, i) => {
        checkPrefix(prefix, `rules/${index}/images/${i}`);
        const { domain, path } = normalizeRegistryPrefix(prefix);
        const key = `${domain}/${path}`;
        if (seenPrefixes.has(key))
          throw new ConfigError(
            `rules/${index}/images/${i}`,
            `"${prefix}" is already covered by another rule`,
          );
        seenPrefixes.add(key);
      });
      const requireTlog = typeof rule.requireTlog === 'boolean' ? rule.requireTlog : defaultRequireTlog;
      if (requireTlog && rekorPublicKeys.length === 0)
        throw new ConfigError(
          `rules/${index}/requireTlog`,
          'requireTlog needs rekor.publicKeys to verify transparency-log receipts',
        );
      const signedIdentity = compileIdentity(rule.signedIdentity, `rules/${index}/signedIdentity`);
      if (signedIdentity.type === 'remapIdentity') {
        checkPrefix(signedIdentity.prefix, `rules/${index}/signedIdentity/prefix`);
        checkPrefix(signedIdentity.signedPrefix, `rules/${index}/signedIdentity/signedPrefix`);
      }
      return {
        name: typeof rule.name === 'string' ? rule.name : `rules[${index}]`,
        images,
        trust: {
          authority: { kind: 'key', keys: compileKeys(rule.keys, `rules/${index}/keys`) },
          signedIdentity,
          rekorPublicKeys,
          requireTlog,
        },
      };
    });
    const insecureRegistries = (Array.isArray(raw.insecureRegistries) ? raw.insecureRegistries : []).map(
      (host: unknown) => String(host).toLowerCase(),
    );
    return {
      rules,
      onUnreachable: raw.onUnreachable === 'warn' ? 'warn' : 'deny',
      requireDigest: raw.requireDigest === true,
      insecureRegistries,
    };
  },
  async evaluate(input, params, context) {
    const reason = skipDelete(input) ?? skipWithoutImages(input);
    if (reason) return skip(reason);
    const service = context.services?.imageVerifier;
    const verifier: ImageVerifier | undefined = isImageVerifier(service) ? service : undefined;
    const unreachableAction: EnforcementAction = params.onUnreachable;
    const findings: FindingDraft[] = [];
    const checks: Array<{ path: string; check: ImageCheck }> = [];
    const byImage = new Map<string, ImageCheck>();
    // An UPDATE is judged on the images it introduces: images the old object already ran were
    // admitted then, and re-verifying them would block label or finalizer edits during an outage.
    const admitted = new Set<unknown>(
      input.operation === 'UPDATE' && input.oldObject
        ? imageFieldsOf(input.oldObject).map((f) => f.image)
        : [],
    );
    for (const field of imageFieldsOf(input.object)) {
      if (typeof field.image === 'string' && admitted.has(field.image)) continue;
      if (typeof field.image !== 'string') {
        findings.push({
          path: field.path,
          message: 'the image field is missing or not a string, so no signature can be verified',
          fix: 'set the image to a signed image reference',
        });
        continue;
      }
      const resolved = resolveImage(params, field.image);
      if ('error' in resolved) {
        findings.push({
          path: field.path,
          message: `image ${JSON.stringify(field.image)} cannot be verified: ${resolved.error}`,
          fix: 'use a full image reference, pinned by digest',
        });
        continue;
      }
      const { ref, rule } = resolved;
      if (params.requireDigest && !ref.digest) {
        findings.push({
          path: field.path,
          message: `image "${ref.original}" is not pinned by digest`,
          fix: `pin the image as ${ref.repository}@sha256:<digest> (a tag can be moved after signing)`,
        });
      }
      if (!rule) {
        findings.push({
          path: field.path,
          message: `image "${ref.original}" (${ref.repository}) matches no signing rule, so no key is trusted for it`,
          fix: `add a rule covering ${ref.repository} with the keys that sign it, or use an image from: ${params.rules
            .flatMap((r) => r.images)
            .join(', ')}`,
          details: { repository: ref.repository },
        });
        continue;
      }
      const key = `${ref.repository}|${ref.digest ?? ref.tag ?? 'latest'}|${rule.name}`;
      let check = byImage.get(key);
      if (!check) {
        check = { ref, rule };
        byImage.set(key, check);
      }
      checks.push({ path: field.path, check });
    }
    if (!verifier) {
      for (const { path, check } of checks) {
        findings.push({
          path,
          message: `image "${check.ref.original}" is unverifiable: no image verifier is available (offline)`,
          fix: 'run the check with registry access (without --offline) to verify the signature',
          action: unreachableAction,
          details: { repository: check.ref.repository, rule: check.rule.name, verification: 'offline' },
        });
      }
      return findings;
    }
    for (const check of byImage.values()) {
      const request: { -readonly [K in keyof VerifyRequest]: VerifyRequest[K] } = {
        registry: check.ref.domain,
        repository: check.ref.path,
        insecure: params.insecureRegistries.includes(check.ref.domain),
        trust: check.rule.trust,
      };
      if (check.ref.digest) request.digest = check.ref.digest;
      else request.tag = check.ref.tag ?? 'latest';
      if (context.signal) request.signal = context.signal;
      check.result = verifier.verify(request).catch((error: unknown): VerificationResult => ({
        status: 'unreachable',
        reason: error instanceof Error ? error.message : String(error),
      }));
    }
    for (const { path, check } of checks) {
      const result = await (check.result as Promise<VerificationResult>);
      const finding = findingFor(result, check, path, unreachableAction);
      if (finding) findings.push(finding);
    }
    return findings;
  },
};

function findingFor(
  result: VerificationResult,
  check: ImageCheck,
  path: string,
  unreachableAction: EnforcementAction,
): FindingDraft | undefined {
  const { ref, rule } = check;
  const keys =
    rule.trust.authority.kind === 'key' ? rule.trust.authority.keys.map((k) => k.name).join(', ') : 'keyless';
  const base = { repository: ref.repository, rule: rule.name, verification: result.status };
  switch (result.status) {
    case 'verified':
      return undefined;
    case 'unsigned':
      return {
        path,
        message: `image ${describe(ref, result.digest)} has no cosign signature: ${result.reason}`,
        fix: `sign ${ref.repository}@${result.digest} with one of the keys of rule ${rule.name} (${keys})`,
        details: { ...base, digest: result.digest },
      };
    case 'invalid':
      return {
        path,
        message: `image ${describe(ref, result.digest)} has no valid signature from a trusted key: ${result.reason}`,
        fix: `sign ${ref.repository}@${result.digest} with one of the keys of rule ${rule.name} (${keys})`,
        details: { ...base, digest: result.digest },
      };
    case 'not-found':
      return {
        path,
        message: `image "${ref.original}" was not found in its registry: ${result.reason}`,
        fix: 'reference an image that exists, pinned by digest',
        details: base,
      };
    case 'unreachable':
      return {
        path,
        message: `image "${ref.original}" is unverifiable: ${result.reason}`,
        fix: `make sure ${ref.domain} is reachable and answers within the deadline, then retry`,
        action: unreachableAction,
        details: result.digest ? { ...base, digest: result.digest } : base,
      };
  }
}
