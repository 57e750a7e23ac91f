/**
 * Break-glass changes until Git matches. A change made under a break-glass approval (the annotation
 * `tollgate.dev/break-glass` that freeze-windows and gitops-only honour) is drift by design: the
 * audit reports each live object carrying one as `open` while its live fields differ from Git (or Git
 * does not declare it) and `resolved` once Git has caught up, with the approval's ticket, requester
 * and the approvers its signatures name, and who wrote the annotation when.
 */
import { decodeToken, parseClaims } from '../policies/index.ts';
import type { BreakGlassSeen, DeclaredSource, DriftEntry, FieldDrift, FieldManager } from './drift.ts';
import { sourceText } from './drift.ts';

/** One break-glass change and whether Git has caught up with it. */
export interface BreakGlassChange {
  readonly object: DriftEntry['object'];
  /** `open`: the live object still differs from Git (or Git does not declare it); `resolved`: Git matches. */
  readonly state: 'open' | 'resolved';
  readonly ticket?: string;
  readonly requester?: string;
  readonly reason?: string;
  /** The approval's expiry (ISO-8601). */
  readonly expires?: string;
  /** The approvers the token's signatures name (`kid`); admission verified them, the audit does not again. */
  readonly approvers: readonly string[];
  /** Who wrote the annotation, and when. */
  readonly changedBy?: FieldManager;
  /** Where Git declares the object. */
  readonly source?: DeclaredSource;
  /** What still differs from Git (empty when resolved). */
  readonly fields: readonly FieldDrift[];
  /** Why the token could not be read, when it could not. */
  readonly problem?: string;
  readonly message: string;
}

function approversOf(signatures: readonly { protected?: string }[]): string[] {
  const kids = new Set<string>();
  for (const signature of signatures) {
    try {
      const header = JSON.parse(Buffer.from(signature.protected ?? '', 'base64url').toString('utf8')) as {
        kid?: unknown;
      };
      if (typeof header.kid === 'string') kids.add(header.kid);
    } catch {
      // an unreadable header names no approver
    }
  }
  return [...kids].sort();
}

/** Each live object carrying a break-glass annotation, open or resolved against Git. */
export function trackBreakGlass(seen: readonly BreakGlassSeen[]): BreakGlassChange[] {
  return seen.map((entry) => {
    const decoded = decodeToken(entry.token);
    const { claims, problems } =
      decoded.payload === undefined ? { problems: [] } : parseClaims(decoded.payload);
    const problem = decoded.problem ?? (problems.length > 0 ? problems.join('; ') : undefined);
    const open = entry.source === undefined || entry.fields.length > 0;
    const where = `${entry.object.kind} ${entry.object.namespace ? `${entry.object.namespace}/` : ''}${entry.object.name}`;
    const what = claims ? `break-glass ${claims.ticket} (requested by ${claims.requester})` : 'break-glass';
    const message =
      entry.source === undefined
        ? `${where}: ${what} is open: Git does not declare the object`
        : open
          ? `${where}: ${what} is open: ${entry.fields.length} field(s) still differ from ${sourceText(entry.source)}: ${entry.fields.map((f) => f.path).join(', ')}`
          : `${where}: ${what} is resolved: Git (${sourceText(entry.source)}) matches the live object`;
    return {
      object: entry.object,
      state: open ? 'open' : 'resolved',
      ...(claims
        ? {
            ticket: claims.ticket,
            requester: claims.requester,
            reason: claims.reason,
            expires: new Date(claims.exp * 1000).toISOString(),
          }
        : {}),
      approvers: decoded.jws ? approversOf(decoded.jws.signatures) : [],
      ...(entry.changedBy ? { changedBy: entry.changedBy } : {}),
      ...(entry.source ? { source: entry.source } : {}),
      fields: entry.fields,
      ...(problem ? { problem } : {}),
      message,
    };
  });
}
