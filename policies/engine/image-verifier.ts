/**
 * The contract between the pure `signed-images` policy and the edge's image verifier
 * (io/cosign). Pure types only: the policy builds a {@link VerifyRequest} from the
 * bundle and maps the {@link VerificationResult} to findings; all I/O happens behind
 * {@link ImageVerifier}, injected as `context.services.imageVerifier`.
 */

/** A trusted public key (PEM `PUBLIC KEY`: ECDSA P-256/P-384, RSA, Ed25519). */
export interface TrustedKey {
  /** Name used in reports (`corp-release`). */
  readonly name: string;
  /** PEM-encoded SubjectPublicKeyInfo. */
  readonly publicKey: string;
}

/**
 * Who may sign. Only `key` is implemented; the union stays open for keyless (Fulcio certificate
 * identities), which a verifier that does not support it reports as `invalid`.
 */
export type TrustAuthority =
  | { readonly kind: 'key'; readonly keys: readonly TrustedKey[] }
  | {
      readonly kind: 'keyless';
      readonly issuer: string;
      readonly subject: string;
      readonly fulcioRoots?: readonly string[];
    };

/**
 * How the signed `critical.identity.docker-reference` must relate to the image's repository:
 * `matchRepository` (equal, host and path); `remapIdentity` (for mirrors: an image under `prefix`
 * is compared as if it were under `signedPrefix`, as containers/image does); `any` (not checked).
 */
export type SignedIdentity =
  | { readonly type: 'matchRepository' }
  | { readonly type: 'remapIdentity'; readonly prefix: string; readonly signedPrefix: string }
  | { readonly type: 'any' };

/** The complete trust configuration for one image; its hash keys the verifier's result cache. */
export interface TrustPolicy {
  readonly authority: TrustAuthority;
  readonly signedIdentity: SignedIdentity;
  /** Rekor public keys (PEM); when present, transparency-log receipts are verified. */
  readonly rekorPublicKeys: readonly string[];
  /** A signature counts only with a verified transparency-log receipt. */
  readonly requireTlog: boolean;
}

/** One image to verify. */
export interface VerifyRequest {
  /** Registry host with port, normalized (`docker.io`, `registry.corp.example`, `127.0.0.1:5000`). */
  readonly registry: string;
  /** Repository path below the host (`library/nginx`). */
  readonly repository: string;
  /** The tag, when the reference has one and no digest. */
  readonly tag?: string;
  /** `sha256:<hex>` when the reference is pinned; then the tag is not consulted. */
  readonly digest?: string;
  /** Plain HTTP allowed (the bundle lists the registry as insecure). */
  readonly insecure: boolean;
  readonly trust: TrustPolicy;
  /** The caller's deadline; the verifier also applies its own. */
  readonly signal?: AbortSignal;
}

/** A signature that verified. */
export interface VerifiedSignature {
  /** `simple-signing` (legacy `.sig` tag) or `sigstore-bundle` (v0.3 bundle via referrers). */
  readonly format: 'simple-signing' | 'sigstore-bundle';
  /** Name of the trusted key that verified it. */
  readonly key: string;
  /** A transparency-log receipt verified too. */
  readonly tlog: boolean;
}

/** The outcome of verifying one image. */
export type VerificationResult =
  | {
      readonly status: 'verified';
      readonly digest: string;
      readonly signatures: readonly VerifiedSignature[];
    }
  /** The registry answered: no signature exists for this digest. */
  | { readonly status: 'unsigned'; readonly digest: string; readonly reason: string }
  /** Signatures exist but none verifies (wrong key, other image, bad receipt...). */
  | { readonly status: 'invalid'; readonly digest: string; readonly reason: string }
  /** The registry says the image (tag or digest) does not exist. */
  | { readonly status: 'not-found'; readonly reason: string }
  /** The registry could not be asked (down, timeout, rate limit, auth failure). */
  | { readonly status: 'unreachable'; readonly reason: string; readonly digest?: string };

/** Verifies cosign signatures of images; implemented at the edge with caching and deadlines. */
export interface ImageVerifier {
  verify(request: VerifyRequest): Promise<VerificationResult>;
}

/** Narrows an injected service to an {@link ImageVerifier}. */
export function isImageVerifier(value: unknown): value is ImageVerifier {
  return (
    typeof value === 'object' &&
    value !== null &&
    typeof (value as { verify?: unknown }).verify === 'function'
  );
}
