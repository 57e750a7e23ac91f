/**
 * The drift audit's JSON runs (`tollgate audit --format json`, kind `AuditReport`) as evidence: each
 * run's time and drift entries, the history of each finding across runs (first seen, last seen,
 * resolved at the first later run without it) and whether Git caught up with a break-glass change.
 */
import { readFile } from 'node:fs/promises';
import { InputError } from '../policies/index.ts';
import { unmapped } from './report.ts';
import type { DriftEntry } from './report.ts';

/** One drift finding of a run. */
export interface RunDrift {
  readonly type: string;
  /** `Kind namespace/name`. */
  readonly object: string;
  readonly kind: string;
  readonly namespace?: string;
  readonly name: string;
  readonly message: string;
  readonly changedBy?: string;
  /** The policies that judged the object in the run (for an object missing from the cluster: its kind). */
  readonly policies: readonly string[];
  /** Their control ids. */
  readonly controls: readonly string[];
}

/** A break-glass change the audit tracks until Git matches the live object (`drift.breakGlass`). */
export interface RunBreakGlass {
  readonly kind: string;
  readonly namespace?: string;
  readonly name: string;
  /** `open` while the live object differs from Git, `resolved` once Git matches it. */
  readonly state: 'open' | 'resolved';
  readonly ticket?: string;
}

/** An audit run. */
export interface AuditRun {
  readonly source: string;
  /** The run's instant (ISO-8601). */
  readonly time: string;
  readonly drift: readonly RunDrift[];
  /** Break-glass changes tracked by the run (audits that track them; empty otherwise). */
  readonly breakGlass: readonly RunBreakGlass[];
}

const str = (value: unknown): string | undefined => (typeof value === 'string' ? value : undefined);

/** Reads an audit run; an InputError names the file and what is wrong. */
export async function readAuditRun(file: string): Promise<AuditRun> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(await readFile(file, 'utf8'));
  } catch (error) {
    throw new InputError(file, `cannot read the audit JSON: ${(error as Error).message}`);
  }
  const doc = parsed as Record<string, unknown>;
  if (typeof doc !== 'object' || doc === null || doc['kind'] !== 'AuditReport')
    throw new InputError(file, 'is not the JSON of tollgate audit --format json (kind AuditReport)');
  const time = str(doc['now']);
  if (!time || Number.isNaN(Date.parse(time))) throw new InputError(file, '"now" is not an ISO-8601 instant');
  const drift = doc['drift'] as { entries?: unknown } | undefined;
  const entries = Array.isArray(drift?.entries) ? (drift.entries as Array<Record<string, unknown>>) : [];
  const judged = judgedBy(doc['objects']);
  const tracked = Array.isArray((drift as { breakGlass?: unknown } | undefined)?.breakGlass)
    ? ((drift as { breakGlass: unknown[] }).breakGlass as unknown[])
    : [];
  const breakGlass: RunBreakGlass[] = [];
  for (const item of tracked) {
    if (typeof item !== 'object' || item === null) continue;
    const record = item as Record<string, unknown>;
    const object = (record['object'] ?? {}) as Record<string, unknown>;
    const kind = str(object['kind']);
    const name = str(object['name']);
    const state = record['state'];
    if (!kind || !name || (state !== 'open' && state !== 'resolved')) continue;
    const namespace = str(object['namespace']);
    const ticket = str(record['ticket']);
    breakGlass.push({
      kind,
      name,
      state,
      ...(namespace ? { namespace } : {}),
      ...(ticket ? { ticket } : {}),
    });
  }
  return {
    source: file,
    time: new Date(time).toISOString(),
    breakGlass,
    drift: entries.map((entry, index) => {
      const object = (entry['object'] ?? {}) as Record<string, unknown>;
      const kind = str(object['kind']);
      const name = str(object['name']);
      if (!kind || !name) throw new InputError(file, `drift.entries[${index}].object needs kind and name`);
      const namespace = str(object['namespace']);
      const changedBy = entry['changedBy'] as Record<string, unknown> | undefined;
      const manager = changedBy ? str(changedBy['manager']) : undefined;
      const related =
        judged.byObject.get(`${kind}\u0000${namespace ?? ''}\u0000${name}`) ?? judged.byKind.get(kind);
      return {
        type: str(entry['type']) ?? 'drift',
        object: `${kind} ${namespace ? `${namespace}/` : ''}${name}`,
        kind,
        ...(namespace ? { namespace } : {}),
        name,
        message: str(entry['message']) ?? '',
        ...(manager ? { changedBy: manager } : {}),
        policies: related ? [...related.keys()].sort() : [],
        controls: related ? [...new Set([...related.values()].flat())].sort() : [],
      };
    }),
  };
}

/** Policy → its control ids. */
type Related = Map<string, string[]>;

/**
 * The policies that judged each object of the run (any status but skip) and, per kind, those that
 * judged objects of that kind, read from the run's `objects` by field name (a run without them, or
 * an older audit format, relates no drift to a policy).
 */
function judgedBy(objects: unknown): { byObject: Map<string, Related>; byKind: Map<string, Related> } {
  const byObject = new Map<string, Related>();
  const byKind = new Map<string, Related>();
  if (!Array.isArray(objects)) return { byObject, byKind };
  for (const item of objects as unknown[]) {
    if (typeof item !== 'object' || item === null) continue;
    const record = item as Record<string, unknown>;
    const ref = record['object'] as Record<string, unknown> | undefined;
    const kind = str(ref?.['kind']);
    const name = str(ref?.['name']);
    if (!kind || !name || !Array.isArray(record['results'])) continue;
    const related: Related = new Map();
    for (const result of record['results'] as unknown[]) {
      if (typeof result !== 'object' || result === null) continue;
      const fields = result as Record<string, unknown>;
      const policy = str(fields['policy']);
      if (!policy || fields['status'] === 'skip') continue;
      const controls = Array.isArray(fields['controls'])
        ? (fields['controls'] as unknown[]).filter((id): id is string => typeof id === 'string')
        : [];
      related.set(policy, controls);
    }
    if (related.size === 0) continue;
    byObject.set(`${kind}\u0000${str(ref?.['namespace']) ?? ''}\u0000${name}`, related);
    let forKind = byKind.get(kind);
    if (!forKind) byKind.set(kind, (forKind = new Map()));
    for (const [policy, controls] of related) forKind.set(policy, controls);
  }
  return { byObject, byKind };
}

const keyOf = (drift: RunDrift): string => `${drift.type}\u0000${drift.object}`;

/** Each finding across the runs: first and last seen, and resolved at the first later run without it. */
export function driftHistory(runs: readonly AuditRun[]): DriftEntry[] {
  const ordered = [...runs].sort((a, b) => a.time.localeCompare(b.time));
  const open = new Map<string, DriftEntry>();
  const done: DriftEntry[] = [];
  for (const run of ordered) {
    const present = new Set<string>();
    for (const drift of run.drift) {
      const key = keyOf(drift);
      present.add(key);
      const known = open.get(key);
      if (known) {
        known.lastSeen = run.time;
        for (const policy of drift.policies)
          if (!known.policies.includes(policy)) known.policies.push(policy);
        for (const id of drift.controls) if (!known.controls.includes(id)) known.controls.push(id);
        if (drift.controls.length > 0) known.controls = known.controls.filter((id) => id !== unmapped).sort();
        known.policies.sort();
      } else
        open.set(key, {
          type: drift.type,
          object: drift.object,
          ...(drift.namespace ? { namespace: drift.namespace } : {}),
          message: drift.message,
          firstSeen: run.time,
          lastSeen: run.time,
          resolution: 'open',
          ...(drift.changedBy ? { changedBy: drift.changedBy } : {}),
          policies: [...drift.policies],
          controls: drift.controls.length > 0 ? [...drift.controls] : [unmapped],
        });
    }
    for (const [key, entry] of open) {
      if (present.has(key)) continue;
      entry.resolution = 'resolved';
      entry.resolvedAt = run.time;
      done.push(entry);
      open.delete(key);
    }
  }
  return [...done, ...open.values()].sort(
    (a, b) => a.firstSeen.localeCompare(b.firstSeen) || a.object.localeCompare(b.object),
  );
}

/**
 * Whether Git caught up with a break-glass change, per the audit runs after it: `caught-up` at the
 * first later run that says so (its break-glass tracking reports the object `resolved`: Git matches
 * the live object; or, for an audit that does not track break-glass changes, the run finds no drift
 * on the object), `drifting` while the latest later run still shows it open or drifting, `unknown`
 * when no audit ran after the change.
 */
export function gitCaughtUp(
  runs: readonly AuditRun[],
  change: { time: string; kind: string; namespace?: string; name?: string },
): { status: 'caught-up' | 'drifting' | 'unknown'; detail: string } {
  const later = runs.filter((run) => run.time > change.time).sort((a, b) => a.time.localeCompare(b.time));
  if (later.length === 0) return { status: 'unknown', detail: 'no drift audit ran after the change' };
  const same = (item: { kind: string; name?: string; namespace?: string }) =>
    item.kind === change.kind &&
    item.name === change.name &&
    (item.namespace ?? '') === (change.namespace ?? '');
  for (const run of later) {
    const tracked = run.breakGlass.find(same);
    if (tracked?.state === 'resolved')
      return {
        status: 'caught-up',
        detail: `Git matches the live object in the audit of ${run.time}${tracked.ticket ? ` (break-glass ${tracked.ticket} resolved)` : ''}`,
      };
    if (!tracked && !run.drift.some(same))
      return { status: 'caught-up', detail: `no drift in the audit of ${run.time}` };
  }
  const last = later[later.length - 1] as AuditRun;
  const drift = last.drift.find(same);
  const tracked = last.breakGlass.find(same);
  return {
    status: 'drifting',
    detail: `still drifting in the audit of ${last.time}: ${drift?.message ?? `break-glass change${tracked?.ticket ? ` ${tracked.ticket}` : ''} open (the live object differs from Git)`}`,
  };
}
