/**
 * `tollgate break-glass request|approve|inspect`: create an approval request for an emergency
 * change during a freeze, co-sign it with approver keys, and check a token against a bundle.
 */
import { readFile, writeFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import type { ParseArgsOptionsConfig } from 'node:util';

import type { GeneralJWS } from 'jose';
import { parseAllDocuments } from 'yaml';
import type {
  BreakGlassClaims,
  BreakGlassConfig,
  BreakGlassTarget,
  BreakGlassVerdict,
  CompiledBundle,
} from '../../policies/index.ts';
import {
  addApproval,
  breakGlassAnnotation,
  createRequest,
  decodeToken,
  isRecord,
  parseClaims,
  parseDuration,
  verifyBreakGlass,
} from '../../policies/index.ts';
import { loadBundleFile } from '../../io/bundle-file.ts';
import { loadSigningKey } from '../../io/signing/signing.ts';
import type { SigningKey } from '../../io/signing/signing.ts';
import type { CommandIO } from '../io.ts';
import { UsageError } from '../io.ts';
import { parseNow } from '../flags.ts';
import { freezeParamsOf } from './freeze.ts';

const help = `usage:
  tollgate break-glass request --requester ID --ticket T --reason TEXT --namespace NS [--namespace NS...]
                               [--kind K...] [--name N...] [--not-before ISO-8601] (--valid-for 4h | --expires ISO-8601)
                               [--bundle FILE] [--out FILE]
  tollgate break-glass approve TOKEN --key KEYFILE [--kid ID] [--out FILE]
  tollgate break-glass inspect TOKEN [--bundle FILE] [--now ISO-8601] [--namespace NS --kind K --name N]
                               [--format text|json]

request  writes an unsigned request (JWS General JSON serialization, no signatures yet) with the claims.
approve  adds your signature (an Ed25519, EC P-256/P-384 or RSA >= 2048-bit private key as JWK JSON
         or PEM; kid = your approver id, from the JWK or --kid) over the same payload; signatures of others are kept.
inspect  prints claims and approvers and whether the token is valid now for the bundle (exit 0 valid,
         1 invalid). TOKEN may be a manifest carrying the annotation ${breakGlassAnnotation}; its
         namespace, kind and name are then checked against the token's scope. The embedded finance
         baseline configures no break-glass (no token is valid under it): pass --bundle.
TOKEN and KEYFILE are file paths; - reads the token from standard input.

Put the approved token on the object:  metadata.annotations["${breakGlassAnnotation}"]: '<token JSON>'
`;

type Values = Record<string, string | boolean | (string | boolean)[] | undefined>;

function parse(args: string[], options: ParseArgsOptionsConfig): { values: Values; positionals: string[] } {
  try {
    const parsed = parseArgs({
      args,
      allowPositionals: true,
      options: { ...options, help: { type: 'boolean', short: 'h' } },
    });
    return { values: parsed.values as Values, positionals: parsed.positionals };
  } catch (error) {
    throw new UsageError(`${(error as Error).message}\n\n${help}`);
  }
}

async function output(text: string, out: string | undefined, io: CommandIO): Promise<void> {
  if (out) await writeFile(resolve(io.cwd, out), text);
  else io.stdout(text);
}

function parseInstant(value: string, flag: string): number {
  try {
    return Math.floor(parseNow(value).getTime() / 1000);
  } catch {
    throw new UsageError(`${flag} "${value}" is not an ISO-8601 date-time`);
  }
}

/** Reads a token (JWS JSON) or a manifest carrying one; returns the token and the manifest's target. */
export function extractToken(text: string): { token: string; target?: BreakGlassTarget } {
  const trimmed = text.trim();
  if (trimmed.startsWith('{') && !decodeToken(trimmed).problem) return { token: trimmed };
  for (const doc of parseAllDocuments(text)) {
    if (!('toJS' in doc)) continue;
    const object: unknown = doc.toJS();
    if (!isRecord(object) || !isRecord(object.metadata)) continue;
    const annotations = object.metadata.annotations;
    const token = isRecord(annotations) ? annotations[breakGlassAnnotation] : undefined;
    if (typeof token !== 'string') continue;
    const meta = object.metadata;
    return {
      token: token.trim(),
      target: {
        namespace: typeof meta.namespace === 'string' ? meta.namespace : undefined,
        kind: typeof object.kind === 'string' ? object.kind : undefined,
        name: typeof meta.name === 'string' ? meta.name : undefined,
      },
    };
  }
  return { token: trimmed };
}

async function readInput(path: string | undefined, io: CommandIO, what: string): Promise<string> {
  if (!path) throw new UsageError(`no ${what} given\n\n${help}`);
  return path === '-' ? io.stdin() : readFile(resolve(io.cwd, path), 'utf8');
}

/** An approver's private key (any key `tollgate bundle sign` accepts) and the approver id. */
function approverKey(
  text: string,
  name: string,
  kidOption: string | undefined,
): SigningKey & { kid: string } {
  const trimmed = text.trim();
  if (trimmed.startsWith('{') && !/"d"\s*:/.test(trimmed))
    throw new UsageError('the key file is a public JWK; approving needs your private key');
  let signer: SigningKey;
  try {
    signer = loadSigningKey(text, name);
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
  const kid = kidOption ?? signer.kid;
  if (!kid) throw new UsageError('the key has no kid; pass --kid with your approver id');
  return { ...signer, kid };
}

function describe(claims: BreakGlassClaims | undefined): string[] {
  if (!claims) return ['claims:     (unreadable)'];
  const iso = (s: number) => new Date(s * 1000).toISOString();
  return [
    `requester:  ${claims.requester}`,
    `ticket:     ${claims.ticket}`,
    `reason:     ${claims.reason}`,
    `scope:      namespaces ${claims.scope.namespaces.join(', ')}; kinds ${claims.scope.kinds?.join(', ') ?? '(any)'}; names ${claims.scope.names?.join(', ') ?? '(any)'}`,
    `valid:      ${iso(claims.nbf)} until ${iso(claims.exp)}`,
  ];
}

async function request(args: string[], io: CommandIO): Promise<number> {
  const { values } = parse(args, {
    requester: { type: 'string' },
    ticket: { type: 'string' },
    reason: { type: 'string' },
    namespace: { type: 'string', multiple: true },
    kind: { type: 'string', multiple: true },
    name: { type: 'string', multiple: true },
    'not-before': { type: 'string' },
    'valid-for': { type: 'string' },
    expires: { type: 'string' },
    now: { type: 'string' },
    bundle: { type: 'string', short: 'b' },
    out: { type: 'string', short: 'o' },
  });
  if (values.help) {
    io.stdout(help);
    return 0;
  }
  const str = (v: unknown) => (typeof v === 'string' ? v : undefined);
  const list = (v: unknown) => (Array.isArray(v) ? v.map(String) : undefined);
  const now = Math.floor(parseNow(str(values.now)).getTime() / 1000);
  const nbfText = str(values['not-before']);
  const nbf = nbfText ? parseInstant(nbfText, '--not-before') : now;
  const validFor = str(values['valid-for']);
  const expires = str(values.expires);
  if ((validFor === undefined) === (expires === undefined))
    throw new UsageError('give exactly one of --valid-for (e.g. 4h) and --expires');
  let exp: number;
  if (validFor !== undefined) {
    const minutes = parseDuration(validFor);
    if (!minutes) throw new UsageError(`--valid-for "${validFor}" is not a duration like 4h or 1d`);
    exp = nbf + minutes * 60;
  } else exp = parseInstant(expires ?? '', '--expires');
  const scope: { namespaces: string[]; kinds?: string[]; names?: string[] } = {
    namespaces: list(values.namespace) ?? [],
  };
  const kinds = list(values.kind);
  const names = list(values.name);
  if (kinds) scope.kinds = kinds;
  if (names) scope.names = names;
  const claims = {
    requester: str(values.requester) ?? '',
    ticket: str(values.ticket) ?? '',
    reason: str(values.reason) ?? '',
    scope,
    nbf,
    exp,
    iat: now,
  };
  const { problems } = parseClaims(claims);
  if (problems.length > 0) throw new UsageError(`${problems.join('; ')}\n\n${help}`);
  if (exp <= nbf) throw new UsageError('the request expires before it becomes valid');
  const bundleFile = str(values.bundle);
  if (bundleFile !== undefined) {
    const bundle = await loadBundleFile(bundleFile, io.cwd);
    const breakGlass = breakGlassOf(bundle);
    if (!breakGlass) throw new UsageError(`${notConfigured(bundle.identity.name)} (${bundleFile})`);
    if (exp - nbf > breakGlass.maxLifetimeSeconds)
      throw new UsageError(
        `the request would be valid for ${Math.round((exp - nbf) / 60)} minutes; the bundle allows at most ${breakGlass.maxLifetimeSeconds / 60}`,
      );
  }
  await output(`${JSON.stringify(createRequest(claims))}\n`, str(values.out), io);
  io.stderr(
    `request for ${claims.ticket} written; approvers sign it with: tollgate break-glass approve <file> --key <their key>\n`,
  );
  return 0;
}

async function approve(args: string[], io: CommandIO): Promise<number> {
  const { values, positionals } = parse(args, {
    key: { type: 'string', short: 'k' },
    kid: { type: 'string' },
    out: { type: 'string', short: 'o' },
  });
  if (values.help) {
    io.stdout(help);
    return 0;
  }
  const text = await readInput(positionals[0], io, 'token file');
  const decoded = decodeToken(extractToken(text).token);
  if (decoded.problem || !decoded.jws) throw new UsageError(decoded.problem ?? 'unreadable token');
  const { claims, problems } = parseClaims(decoded.payload);
  if (!claims) throw new UsageError(`the token's claims are invalid: ${problems.join('; ')}`);
  if (typeof values.key !== 'string') throw new UsageError('--key KEYFILE is required');
  const keyText = await readFile(resolve(io.cwd, values.key), 'utf8');
  const signer = approverKey(keyText, values.key, typeof values.kid === 'string' ? values.kid : undefined);
  if (signer.kid.toLowerCase() === claims.requester.toLowerCase())
    throw new UsageError(
      `you (${signer.kid}) are the requester of ${claims.ticket}; another approver must sign`,
    );
  const signed: GeneralJWS = await addApproval(decoded.jws, signer.key, { alg: signer.alg, kid: signer.kid });
  await output(`${JSON.stringify(signed)}\n`, typeof values.out === 'string' ? values.out : undefined, io);
  io.stderr(`approved ${claims.ticket} as ${signer.kid} (${signed.signatures.length} signature(s))\n`);
  return 0;
}

/** Why no token is valid against a bundle without `spec.breakGlass`. */
function notConfigured(bundleName: string): string {
  return `break-glass is not configured in bundle ${bundleName}: it lists no approver keys (spec.breakGlass), so no token unfreezes a change under it`;
}

/** The bundle's break-glass settings: `spec.breakGlass`, or the older `freeze-windows.breakGlass`. */
function breakGlassOf(bundle: CompiledBundle): BreakGlassConfig | undefined {
  if (bundle.breakGlass) return bundle.breakGlass;
  const freeze = bundle.policies.find((p) => p.policy.id === 'freeze-windows');
  return freeze ? freezeParamsOf(bundle).breakGlass : undefined;
}

/** The verdict on any token under a bundle without break-glass: invalid, claims shown if readable. */
function unconfiguredVerdict(token: string, bundleName: string): BreakGlassVerdict {
  const { claims } = parseClaims(decodeToken(token).payload);
  return {
    valid: false,
    reasons: [notConfigured(bundleName)],
    ...(claims ? { claims } : {}),
    approvers: [],
    signatures: [],
  };
}

async function inspect(args: string[], io: CommandIO): Promise<number> {
  const { values, positionals } = parse(args, {
    bundle: { type: 'string', short: 'b' },
    now: { type: 'string' },
    namespace: { type: 'string' },
    kind: { type: 'string' },
    name: { type: 'string' },
    format: { type: 'string', short: 'f', default: 'text' },
  });
  if (values.help) {
    io.stdout(help);
    return 0;
  }
  const format = values.format;
  if (format !== 'text' && format !== 'json')
    throw new UsageError(`--format must be text or json, not "${String(format)}"`);
  const text = await readInput(positionals[0], io, 'token file');
  const extracted = extractToken(text);
  const str = (v: unknown) => (typeof v === 'string' ? v : undefined);
  const explicit = str(values.namespace) ?? str(values.kind) ?? str(values.name);
  const target: BreakGlassTarget | undefined = explicit
    ? { namespace: str(values.namespace), kind: str(values.kind), name: str(values.name) }
    : extracted.target;
  const now = parseNow(str(values.now));
  const bundle = await loadBundleFile(str(values.bundle), io.cwd);
  const breakGlass = breakGlassOf(bundle);
  const verdict: BreakGlassVerdict = breakGlass
    ? await verifyBreakGlass(extracted.token, breakGlass, now, target)
    : unconfiguredVerdict(extracted.token, bundle.identity.name);
  if (format === 'json') {
    io.stdout(
      `${JSON.stringify({ now: now.toISOString(), ...(target ? { target } : {}), ...verdict }, null, 2)}\n`,
    );
    return verdict.valid ? 0 : 1;
  }
  const out = describe(verdict.claims);
  out.push(
    breakGlass
      ? `approvers:  ${verdict.approvers.join(', ') || '(none verified)'} (${breakGlass.minApprovals} required)`
      : 'approvers:  (not checked: the bundle lists no approver keys)',
  );
  for (const s of verdict.signatures)
    out.push(
      `  signature ${s.index + 1}: ${s.kid ?? '?'} ${s.alg ?? ''} ${s.ok ? 'verified' : `REJECTED: ${s.problem ?? ''}`}`,
    );
  out.push(
    target
      ? `checked for: ${target.kind ?? '*'} ${target.name ?? '*'} in namespace ${target.namespace ?? '(none)'}`
      : 'scope:      not checked (pass --namespace, --kind and --name, or a manifest carrying the token)',
  );
  out.push(
    verdict.valid
      ? `VALID at ${now.toISOString()} for bundle ${bundle.identity.name} ${bundle.identity.version}`
      : `INVALID at ${now.toISOString()}:\n${verdict.reasons.map((r) => `  - ${r}`).join('\n')}`,
  );
  io.stdout(`${out.join('\n')}\n`);
  return verdict.valid ? 0 : 1;
}

/** Runs `tollgate break-glass`. */
export async function run(args: string[], io: CommandIO): Promise<number> {
  const [sub, ...rest] = args;
  if (sub === undefined || sub === '--help' || sub === '-h' || sub === 'help') {
    io.stdout(help);
    return sub === undefined ? 2 : 0;
  }
  if (sub === 'request') return request(rest, io);
  if (sub === 'approve') return approve(rest, io);
  if (sub === 'inspect') return inspect(rest, io);
  throw new UsageError(`unknown subcommand "${sub}"\n\n${help}`);
}
