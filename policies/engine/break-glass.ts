/**
 * Break-glass approvals: a JWS in General JSON serialization carried in the annotation
 * `tollgate.dev/break-glass`, one signature per approver over the same claims. Valid only with at
 * least `minApprovals` distinct approvers whose signatures verify against the bundle's JWKS, none
 * of them the requester, inside its not-before/expiry (no longer than the bundle's maximum
 * lifetime) and its scope. Pure: jose verifies with WebCrypto, no I/O.
 */
import * as base64url from 'jose/base64url';
import type { CryptoKey, GeneralJWS, JWK, KeyObject } from 'jose';
import { ConfigError } from './errors/index.ts';
import type { PolicyInput } from './types.ts';
import { isRecord } from './workloads.ts';
import { parseDuration } from './duration.ts';

/** The annotation that carries a break-glass token. */
export const breakGlassAnnotation = 'tollgate.dev/break-glass';

/** What a break-glass token claims. Times are NumericDate seconds. */
export interface BreakGlassClaims {
  /** Who asks for the emergency change (never one of its approvers). */
  readonly requester: string;
  /** Change or incident ticket. */
  readonly ticket: string;
  readonly reason: string;
  /** What the token unfreezes: namespaces (required), kinds and object names (optional = any). */
  readonly scope: {
    readonly namespaces: readonly string[];
    readonly kinds?: readonly string[];
    readonly names?: readonly string[];
  };
  readonly nbf: number;
  readonly exp: number;
  readonly iat?: number;
}

/** One approver's public key from the bundle's JWKS. */
export interface ApproverKey {
  /** Approver identity (the JWK `kid`). */
  readonly kid: string;
  readonly alg: 'ES256' | 'ES384' | 'EdDSA' | 'PS256';
  readonly jwk: Readonly<JWK>;
}

/** Break-glass settings of the bundle, compiled. */
export interface BreakGlassConfig {
  readonly minApprovals: number;
  readonly maxLifetimeSeconds: number;
  readonly approvers: readonly ApproverKey[];
}

/** What an object is, for scope checks. */
export interface BreakGlassTarget {
  readonly namespace?: string | undefined;
  readonly kind?: string | undefined;
  readonly name?: string | undefined;
}

/** The state of one signature. */
export interface SignatureCheck {
  readonly index: number;
  readonly kid?: string;
  readonly alg?: string;
  readonly ok: boolean;
  readonly problem?: string;
}

/** The verdict on a token. */
export interface BreakGlassVerdict {
  readonly valid: boolean;
  /** Every reason the token is not valid (empty when valid). */
  readonly reasons: readonly string[];
  /** Decoded claims (present when the payload decodes, even if not trusted). */
  readonly claims?: BreakGlassClaims;
  /** Distinct approvers whose signatures verified. */
  readonly approvers: readonly string[];
  readonly signatures: readonly SignatureCheck[];
}

/** JSON Schema of the bundle's `breakGlass` settings. */
export const breakGlassSchema = {
  type: 'object',
  required: ['minApprovals', 'maxLifetime', 'approvers'],
  additionalProperties: false,
  properties: {
    minApprovals: { type: 'integer', minimum: 1, description: 'distinct approver signatures required' },
    maxLifetime: {
      type: 'string',
      pattern: '^(\\d+d)?(\\d+h)?(\\d+m)?$',
      minLength: 2,
      description: 'longest allowed exp - nbf, e.g. 24h',
    },
    approvers: {
      type: 'object',
      required: ['keys'],
      additionalProperties: false,
      properties: { keys: { type: 'array', items: { type: 'object' }, minItems: 1 } },
      description: 'JWKS of approver public keys; kid names the approver',
    },
  },
};

const privateMembers = ['d', 'p', 'q', 'dp', 'dq', 'qi', 'k'];

function algorithmOf(jwk: Record<string, unknown>): ApproverKey['alg'] | undefined {
  if (jwk.kty === 'EC' && jwk.crv === 'P-256') return 'ES256';
  if (jwk.kty === 'EC' && jwk.crv === 'P-384') return 'ES384';
  if (jwk.kty === 'OKP' && jwk.crv === 'Ed25519') return 'EdDSA';
  // RSA keys sign with RSASSA-PSS, as bundle signatures do (tollgate bundle sign).
  if (jwk.kty === 'RSA') return 'PS256';
  return undefined;
}

/** Compiles the `breakGlass` settings; `path` is its parameter path for ConfigError. */
export function compileBreakGlass(raw: Record<string, unknown>, path: string): BreakGlassConfig {
  const maxLifetimeMinutes = parseDuration(String(raw.maxLifetime));
  if (!maxLifetimeMinutes)
    throw new ConfigError(`${path}/maxLifetime`, `"${String(raw.maxLifetime)}" is not a duration like 24h`);
  const keys = ((raw.approvers as Record<string, unknown>).keys as unknown[]).map(
    (key, index): ApproverKey => {
      const at = `${path}/approvers/keys/${index}`;
      if (!isRecord(key)) throw new ConfigError(at, 'a key must be a JWK object');
      const present = privateMembers.filter((member) => member in key);
      if (present.length > 0)
        throw new ConfigError(
          at,
          `key "${String(key.kid)}" contains private key material (${present.join(', ')}); the bundle holds public keys only`,
        );
      if (typeof key.kid !== 'string' || key.kid === '')
        throw new ConfigError(`${at}/kid`, 'every approver key needs a kid naming the approver');
      const alg = algorithmOf(key);
      if (!alg)
        throw new ConfigError(
          at,
          `key "${key.kid}": unsupported key type ${String(key.kty)}/${String(key.crv)} (use EC P-256 for ES256, P-384 for ES384, OKP Ed25519 for EdDSA, or RSA of at least 2048 bits for PS256)`,
        );
      if (key.alg !== undefined && key.alg !== alg && !(alg === 'EdDSA' && key.alg === 'Ed25519'))
        throw new ConfigError(
          `${at}/alg`,
          `key "${key.kid}": alg ${String(key.alg)} does not match its curve (${alg})`,
        );
      const coordinates = key.kty === 'EC' ? ['x', 'y'] : key.kty === 'RSA' ? ['n', 'e'] : ['x'];
      for (const coordinate of coordinates)
        if (typeof key[coordinate] !== 'string' || !/^[A-Za-z0-9_-]+$/.test(key[coordinate] as string))
          throw new ConfigError(`${at}/${coordinate}`, `key "${key.kid}": ${coordinate} must be base64url`);
      // 2048-bit modulus: 256 bytes, 342 base64url characters.
      if (key.kty === 'RSA' && (key.n as string).length < 342)
        throw new ConfigError(`${at}/n`, `key "${key.kid}": an RSA key needs at least 2048 bits`);
      return { kid: key.kid, alg, jwk: { ...(key as JWK) } };
    },
  );
  const seen = new Set<string>();
  keys.forEach((key, index) => {
    if (seen.has(key.kid))
      throw new ConfigError(`${path}/approvers/keys/${index}/kid`, `duplicate approver kid "${key.kid}"`);
    seen.add(key.kid);
  });
  const minApprovals = Number(raw.minApprovals);
  if (minApprovals > keys.length)
    throw new ConfigError(
      `${path}/minApprovals`,
      `minApprovals ${minApprovals} exceeds the ${keys.length} approver key(s); no token could ever be valid`,
    );
  return { minApprovals, maxLifetimeSeconds: maxLifetimeMinutes * 60, approvers: keys };
}

const importedKeys = new WeakMap<BreakGlassConfig, Map<string, Promise<CryptoKey | Uint8Array>>>();

/** Imports an approver key once per compiled config (lazily: compile is synchronous, import is not). */
function keyFor(config: BreakGlassConfig, approver: ApproverKey): Promise<CryptoKey | Uint8Array> {
  let cache = importedKeys.get(config);
  if (!cache) {
    cache = new Map();
    importedKeys.set(config, cache);
  }
  let key = cache.get(approver.kid);
  if (!key) {
    key = import('jose').then(({ importJWK }) => importJWK({ ...approver.jwk }, approver.alg));
    cache.set(approver.kid, key);
  }
  return key;
}

function isoSeconds(seconds: number): string {
  return new Date(seconds * 1000).toISOString().replace('.000Z', 'Z');
}

function formatSeconds(seconds: number): string {
  const d = Math.floor(seconds / 86400);
  const h = Math.floor((seconds % 86400) / 3600);
  const m = Math.floor((seconds % 3600) / 60);
  return [d ? `${d}d` : '', h ? `${h}h` : '', m ? `${m}m` : ''].join('') || `${seconds}s`;
}

const stringList = (value: unknown): value is string[] =>
  Array.isArray(value) && value.every((item) => typeof item === 'string' && item !== '');

/** Validates decoded claims; returns them or the problems. */
export function parseClaims(value: unknown): { claims?: BreakGlassClaims; problems: string[] } {
  const problems: string[] = [];
  if (!isRecord(value)) return { problems: ['the payload is not a JSON object of claims'] };
  for (const key of ['requester', 'ticket', 'reason'])
    if (typeof value[key] !== 'string' || value[key] === '')
      problems.push(`claim "${key}" is missing or empty`);
  for (const key of ['nbf', 'exp'])
    if (typeof value[key] !== 'number' || !Number.isFinite(value[key]))
      problems.push(`claim "${key}" must be a NumericDate`);
  const scope = value.scope;
  if (!isRecord(scope)) problems.push('claim "scope" is missing');
  else {
    if (!stringList(scope.namespaces) || scope.namespaces.length === 0)
      problems.push('claim "scope.namespaces" must list at least one namespace');
    for (const key of ['kinds', 'names'])
      if (scope[key] !== undefined && (!stringList(scope[key]) || scope[key].length === 0))
        problems.push(`claim "scope.${key}" must be a non-empty list of strings when present`);
  }
  if (problems.length > 0) return { problems };
  return { claims: value as unknown as BreakGlassClaims, problems };
}

/** Decodes a token's payload without verifying anything (for display). */
export function decodeToken(token: string): { jws?: GeneralJWS; payload?: unknown; problem?: string } {
  let parsed: unknown;
  try {
    parsed = JSON.parse(token);
  } catch {
    return { problem: 'the token is not JSON (expected a JWS in General JSON serialization)' };
  }
  if (
    !isRecord(parsed) ||
    typeof parsed.payload !== 'string' ||
    !Array.isArray(parsed.signatures) ||
    !parsed.signatures.every((s) => isRecord(s) && typeof s.signature === 'string')
  )
    return {
      problem: 'the token is not a JWS in General JSON serialization ({"payload", "signatures": [...]})',
    };
  const jws = parsed as unknown as GeneralJWS;
  try {
    return {
      jws,
      payload: JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(base64url.decode(jws.payload))),
    };
  } catch {
    return { jws, problem: 'the token payload is not base64url-encoded JSON' };
  }
}

function protectedHeaderOf(signature: GeneralJWS['signatures'][number]): Record<string, unknown> | undefined {
  try {
    const header: unknown = JSON.parse(new TextDecoder().decode(base64url.decode(signature.protected ?? '')));
    return isRecord(header) ? header : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Verifies a break-glass token at `now`, optionally against the object it is meant to unfreeze.
 * Collects every reason it is invalid, each naming what failed.
 */
export async function verifyBreakGlass(
  token: string,
  config: BreakGlassConfig,
  now: Date,
  target?: BreakGlassTarget,
): Promise<BreakGlassVerdict> {
  const decoded = decodeToken(token);
  if (decoded.problem || !decoded.jws)
    return { valid: false, reasons: [decoded.problem ?? 'unreadable token'], approvers: [], signatures: [] };
  const { jws } = decoded;
  const { claims, problems } = parseClaims(decoded.payload);
  const reasons = [...problems];
  const signatures: SignatureCheck[] = [];
  const approvers: string[] = [];
  const byKid = new Map(config.approvers.map((approver) => [approver.kid, approver]));
  if (jws.signatures.length === 0) reasons.push('the token carries no approver signatures');
  for (const [index, signature] of jws.signatures.entries()) {
    const header = protectedHeaderOf(signature);
    const kid = typeof header?.kid === 'string' ? header.kid : undefined;
    const alg = typeof header?.alg === 'string' ? header.alg : undefined;
    const fail = (problem: string): void => {
      signatures.push({ index, ...(kid ? { kid } : {}), ...(alg ? { alg } : {}), ok: false, problem });
      reasons.push(`signature ${index + 1}${kid ? ` (${kid})` : ''}: ${problem}`);
    };
    if (!header) {
      fail('has no readable protected header');
      continue;
    }
    if (!kid) {
      fail('names no approver (protected header "kid" missing)');
      continue;
    }
    const approver = byKid.get(kid);
    if (!approver) {
      fail(`key "${kid}" is not an approver key of this bundle (unknown or forged key)`);
      continue;
    }
    if (alg !== approver.alg && !(approver.alg === 'EdDSA' && alg === 'Ed25519')) {
      fail(`algorithm ${alg ?? 'none'} does not match approver key "${kid}" (${approver.alg})`);
      continue;
    }
    try {
      const { generalVerify } = await import('jose');
      await generalVerify({ payload: jws.payload, signatures: [signature] }, await keyFor(config, approver), {
        algorithms: [alg],
      });
    } catch {
      fail(`does not verify with approver key "${kid}" (forged signature or tampered payload)`);
      continue;
    }
    signatures.push({ index, kid, alg, ok: true });
    if (!approvers.includes(kid)) approvers.push(kid);
  }
  if (claims) {
    const requester = claims.requester.toLowerCase();
    if (approvers.some((approver) => approver.toLowerCase() === requester))
      reasons.push(
        `requester "${claims.requester}" approved their own request; approvers must be other people`,
      );
    const independent = approvers.filter((approver) => approver.toLowerCase() !== requester);
    if (independent.length < config.minApprovals) {
      const short = config.minApprovals - independent.length;
      reasons.push(
        `${independent.length} valid approval(s)${independent.length ? ` (${independent.join(', ')})` : ''} of ${config.minApprovals} required: ${short} approver${short === 1 ? '' : 's'} short`,
      );
    }
    const lifetime = claims.exp - claims.nbf;
    if (lifetime <= 0)
      reasons.push(`exp ${isoSeconds(claims.exp)} is not after nbf ${isoSeconds(claims.nbf)}`);
    else if (lifetime > config.maxLifetimeSeconds)
      reasons.push(
        `lifetime ${formatSeconds(lifetime)} (nbf ${isoSeconds(claims.nbf)} to exp ${isoSeconds(claims.exp)}) exceeds the maximum ${formatSeconds(config.maxLifetimeSeconds)}`,
      );
    const at = now.getTime() / 1000;
    if (at < claims.nbf) reasons.push(`not valid before ${isoSeconds(claims.nbf)}`);
    if (at >= claims.exp) reasons.push(`expired at ${isoSeconds(claims.exp)}`);
    if (target) {
      const { scope } = claims;
      if (!target.namespace || !scope.namespaces.includes(target.namespace))
        reasons.push(
          `namespace ${target.namespace ?? '(cluster-scoped)'} is outside the token's scope (${scope.namespaces.join(', ')})`,
        );
      if (scope.kinds && !(target.kind && scope.kinds.includes(target.kind)))
        reasons.push(
          `kind ${target.kind ?? '(none)'} is outside the token's scope (${scope.kinds.join(', ')})`,
        );
      if (scope.names && !(target.name && scope.names.includes(target.name)))
        reasons.push(
          `name ${target.name ?? '(none)'} is outside the token's scope (${scope.names.join(', ')})`,
        );
    }
  }
  return {
    valid: reasons.length === 0,
    reasons,
    ...(claims ? { claims } : {}),
    approvers,
    signatures,
  };
}

/** An unsigned request: the claims as payload, no signatures yet (approvers add them). */
export function createRequest(claims: BreakGlassClaims): GeneralJWS {
  return { payload: base64url.encode(JSON.stringify(claims)), signatures: [] };
}

/**
 * Adds one approver's signature over the token's exact payload bytes (co-signing: every
 * signature covers the same payload, so signatures from separate runs merge).
 */
export async function addApproval(
  token: GeneralJWS,
  key: CryptoKey | KeyObject | Uint8Array | JWK,
  header: { alg: string; kid: string },
): Promise<GeneralJWS> {
  const bytes = base64url.decode(token.payload);
  const { GeneralSign } = await import('jose');
  const signed = await new GeneralSign(bytes).addSignature(key).setProtectedHeader(header).sign();
  if (signed.payload !== token.payload) throw new Error('re-encoding the payload changed it');
  const others = token.signatures.filter((signature) => protectedHeaderOf(signature)?.kid !== header.kid);
  return { payload: token.payload, signatures: [...others, ...signed.signatures] };
}

/** What a change's break-glass annotation amounts to under a bundle's settings. */
export type BreakGlassUse =
  | { readonly state: 'absent' }
  | { readonly state: 'not-configured' }
  | {
      readonly state: 'valid';
      /** What to record: ticket, requester, approvers, reason, expiry, scope (never the token). */
      readonly record: Readonly<Record<string, unknown>>;
    }
  | { readonly state: 'invalid'; readonly reasons: readonly string[]; readonly ticket?: string };

/**
 * Reads and verifies the break-glass token a change carries (annotation {@link breakGlassAnnotation}),
 * scoped to the change's namespace, kind and name: one reading for every policy that honours it.
 */
export async function useBreakGlass(
  input: PolicyInput,
  config: BreakGlassConfig | undefined,
  now: Date,
): Promise<BreakGlassUse> {
  const token = input.object.metadata?.annotations?.[breakGlassAnnotation];
  if (typeof token !== 'string' || token.trim() === '') return { state: 'absent' };
  if (!config) return { state: 'not-configured' };
  const verdict = await verifyBreakGlass(token, config, now, {
    namespace: input.namespace,
    kind: typeof input.object.kind === 'string' ? input.object.kind : undefined,
    name: input.object.metadata?.name,
  });
  if (verdict.valid && verdict.claims)
    return {
      state: 'valid',
      record: {
        ticket: verdict.claims.ticket,
        requester: verdict.claims.requester,
        approvers: [...verdict.approvers],
        reason: verdict.claims.reason,
        expires: new Date(verdict.claims.exp * 1000).toISOString(),
        scope: verdict.claims.scope,
      },
    };
  return {
    state: 'invalid',
    reasons: [...verdict.reasons],
    ...(verdict.claims ? { ticket: verdict.claims.ticket } : {}),
  };
}
