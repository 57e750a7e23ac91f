/**
 * The evidence report for auditors: reads the hash-chained decision log once (verifying it in the
 * same pass), the drift audit's JSON runs and the bundle files, and builds per control id what the
 * issue of an audit asks for: the policies that implement it, the bundle versions active and their
 * signatures, decision counts per day, every denial, every break-glass use (and whether Git caught
 * up per the drift audit), exemptions in force, freeze windows and the changes made inside them,
 * drift findings and their resolution, and the result of the log verification. Rendering lives in
 * html.ts and csv.ts; the JSON is this document, validated by docs/evidence-report.schema.json.
 */
import type { Readable } from 'node:stream';
import { verifyLogs } from '../io/decision-log/verify.ts';
import type { ChainLine, VerifyResult } from '../io/decision-log/verify.ts';
import type { TrustedKeys } from '../io/signing/bundle-signature.ts';
import { TOLLGATE_VERSION } from '../policies/index.ts';
import type { EvidenceBundle } from './bundles.ts';
import type { AuditRun } from './audit-runs.ts';
import { driftHistory, gitCaughtUp } from './audit-runs.ts';

/** Decision counts of a day (UTC). */
export interface DayCounts {
  date: string;
  allowed: number;
  denied: number;
  warned: number;
}

/** The change a decision was about (no object contents). */
export interface ChangeRef {
  time: string;
  uid: string;
  user?: string;
  operation: string;
  kind: string;
  namespace?: string;
  name?: string;
  dryRun: boolean;
  /** Where the line is: writer and seq (the verifiable reference). */
  writer: string;
  seq: number;
}

/** A denied request. */
export interface Denial extends ChangeRef {
  /** The policies that denied it, with their versions and the offending fields. */
  policies: Array<{ policy: string; version: string; fields: string[] }>;
  controls: string[];
  bundle: string;
}

/** A break-glass approval used for a change. */
export interface BreakGlassUse extends ChangeRef {
  ticket: string;
  requester: string;
  approvers: string[];
  reason: string;
  expires: string;
  scope: Record<string, unknown>;
  windows: string[];
  policies: string[];
  controls: string[];
  /** Whether Git caught up with the change per the drift audit: yes, no, or unknown (no audit after it). */
  git: { status: 'caught-up' | 'drifting' | 'unknown'; detail: string };
}

/** An exemption of a bundle active in the period. */
export interface ExemptionEntry {
  policy: string;
  ticket: string;
  reason: string;
  owner: string;
  expires: string;
  /** Expired before the period ended. */
  expired: boolean;
  bundle: string;
  scope: string;
  controls: string[];
  /** Decisions in the period where it applied. */
  used: number;
}

/** A freeze window overlapping the period and the changes allowed inside it. */
export interface FreezeEntry {
  entity: string;
  window: string;
  zone: string;
  start: string;
  end: string;
  startLocal: string;
  endLocal: string;
  /** Allowed changes with a break-glass approval inside the window. */
  emergencyChanges: number;
  /** Changes the freeze denied inside the window. */
  denied: number;
  /** Other allowed changes inside the window (outside the frozen scope, dry runs excluded). */
  otherChanges: number;
}

/** A drift finding over the audit runs. */
export interface DriftEntry {
  type: string;
  object: string;
  namespace?: string;
  message: string;
  firstSeen: string;
  lastSeen: string;
  /** `resolved` at the first later run without it; `open` otherwise. */
  resolution: 'resolved' | 'open';
  resolvedAt?: string;
  changedBy?: string;
}

/** A bundle version active in the period. */
export interface BundleEntry {
  name: string;
  version: string;
  digest: string;
  firstSeen: string;
  lastSeen: string;
  decisions: number;
  /** `verified` (the webhook required a signature, or the file's .jws verified), `unverified`, `unsigned`, `unknown`. */
  signature: 'verified' | 'unverified' | 'unsigned' | 'unknown';
  signatureAlg?: string;
  keyIds: string[];
  file?: string;
}

/** One control id's evidence. */
export interface ControlEvidence {
  id: string;
  policies: Array<{ policy: string; versions: string[] }>;
  bundles: string[];
  totals: { decisions: number; allowed: number; denied: number; warned: number };
  days: DayCounts[];
  denials: number;
  breakGlass: number;
  exemptions: number;
}

/** The whole report (the `--format json` document). */
export interface EvidenceReport {
  apiVersion: 'tollgate.dev/v1';
  kind: 'EvidenceReport';
  tollgateVersion: string;
  generatedAt: string;
  period: { from: string; to: string };
  verification: {
    status: 'verified' | 'broken' | 'no-log';
    files: string[];
    lines: number;
    signaturesChecked: boolean;
    allowOpen: boolean;
    writers: VerifyResult['writers'];
    breaks: VerifyResult['breaks'];
  };
  summary: {
    decisions: number;
    allowed: number;
    denied: number;
    warned: number;
    breakGlass: number;
    writers: number;
  };
  controls: ControlEvidence[];
  bundles: BundleEntry[];
  days: DayCounts[];
  denials: Denial[];
  breakGlass: BreakGlassUse[];
  exemptions: ExemptionEntry[];
  freezeWindows: FreezeEntry[];
  drift: DriftEntry[];
  auditRuns: Array<{ time: string; source: string; findings: number }>;
}

/** Inputs of {@link buildReport}. */
export interface ReportInputs {
  readonly from: Date;
  /** Exclusive end. */
  readonly to: Date;
  readonly logs: ReadonlyArray<{ name: string; stream?: Readable }>;
  readonly audits: readonly AuditRun[];
  readonly bundles: readonly EvidenceBundle[];
  readonly trusted?: TrustedKeys;
  readonly allowOpen?: boolean;
  readonly now: Date;
}

interface PolicyPart {
  policy?: unknown;
  version?: unknown;
  status?: unknown;
  action?: unknown;
  fields?: unknown;
  controls?: unknown;
  exemption?: unknown;
  breakGlass?: unknown;
}

const unmapped = '(no control id)';
const strings = (value: unknown): string[] =>
  Array.isArray(value) ? value.filter((item): item is string => typeof item === 'string') : [];
const str = (value: unknown): string | undefined => (typeof value === 'string' ? value : undefined);

/** Per-control accumulator. */
interface ControlState {
  policies: Map<string, Set<string>>;
  bundles: Set<string>;
  days: Map<string, DayCounts>;
  denials: number;
  breakGlass: number;
}

/** Builds the report; the log is verified in the same pass. */
export async function buildReport(inputs: ReportInputs): Promise<EvidenceReport> {
  const fromMs = inputs.from.getTime();
  const toMs = inputs.to.getTime();
  const controls = new Map<string, ControlState>();
  const overall = new Map<string, DayCounts>();
  const bundles = new Map<string, BundleEntry>();
  const denials: Denial[] = [];
  const glass: Array<Omit<BreakGlassUse, 'git'>> = [];
  const exemptionUse = new Map<string, { used: number; controls: string[] }>();
  const decisionTimes: Array<{
    ms: number;
    decision: string;
    breakGlass: boolean;
    freezeDenied: boolean;
    dryRun: boolean;
  }> = [];
  const summary = { decisions: 0, allowed: 0, denied: 0, warned: 0, breakGlass: 0, writers: 0 };

  const control = (id: string): ControlState => {
    let state = controls.get(id);
    if (!state) {
      state = { policies: new Map(), bundles: new Set(), days: new Map(), denials: 0, breakGlass: 0 };
      controls.set(id, state);
    }
    return state;
  };
  const day = (map: Map<string, DayCounts>, date: string): DayCounts => {
    let counts = map.get(date);
    if (!counts) {
      counts = { date, allowed: 0, denied: 0, warned: 0 };
      map.set(date, counts);
    }
    return counts;
  };

  const onLine = (line: ChainLine): void => {
    if (line.event !== 'decision') return;
    const time = str(line.time);
    if (!time) return;
    const ms = Date.parse(time);
    if (!(ms >= fromMs && ms < toMs)) return;
    const date = time.slice(0, 10);
    const decision = line['decision'] === 'deny' ? 'deny' : 'allow';
    const dryRun = line['dryRun'] === true;
    const parts = (Array.isArray(line['policies']) ? line['policies'] : []) as PolicyPart[];
    const bundle = (line['bundle'] ?? {}) as { name?: unknown; version?: unknown; digest?: unknown };
    const digest = str(bundle.digest) ?? 'unknown';
    let entry = bundles.get(digest);
    if (!entry) {
      entry = {
        name: str(bundle.name) ?? 'unknown',
        version: str(bundle.version) ?? 'unknown',
        digest,
        firstSeen: time,
        lastSeen: time,
        decisions: 0,
        signature: 'unknown',
        keyIds: [],
      };
      bundles.set(digest, entry);
    }
    entry.decisions++;
    if (time < entry.firstSeen) entry.firstSeen = time;
    if (time > entry.lastSeen) entry.lastSeen = time;
    const signature = line['bundleSignature'] as { alg?: unknown; kid?: unknown } | undefined;
    if (signature && typeof signature === 'object') {
      entry.signature = 'verified';
      entry.signatureAlg = str(signature.alg) ?? 'unknown';
      const kid = str(signature.kid);
      if (kid && !entry.keyIds.includes(kid)) entry.keyIds.push(kid);
    }

    summary.decisions++;
    let warned = false;
    const denyingControls = new Set<string>();
    const outcome = new Map<string, 'allowed' | 'denied' | 'warned'>();
    const denyingPolicies: Denial['policies'] = [];
    let usedGlass: PolicyPart | undefined;
    let freezeDenied = false;
    for (const part of parts) {
      const policy = str(part.policy) ?? 'unknown';
      const version = str(part.version) ?? 'unknown';
      const status = str(part.status);
      const action = str(part.action);
      const ids = strings(part.controls);
      const list = ids.length > 0 ? ids : [unmapped];
      const exemption = str(part.exemption);
      if (exemption) {
        const key = `${policy}\u0000${exemption}`;
        const use = exemptionUse.get(key) ?? { used: 0, controls: ids };
        use.used++;
        exemptionUse.set(key, use);
      }
      if (part.breakGlass && typeof part.breakGlass === 'object') usedGlass = part;
      for (const id of list) {
        const state = control(id);
        let versions = state.policies.get(policy);
        if (!versions) {
          versions = new Set();
          state.policies.set(policy, versions);
        }
        versions.add(version);
        state.bundles.add(digest);
      }
      if (status === 'skip' || status === undefined) continue;
      const denies = decision === 'deny' && (status === 'fail' || status === 'error') && action === 'deny';
      const warns = !denies && (status === 'warn' || status === 'fail' || status === 'error');
      if (denies) {
        denyingPolicies.push({ policy, version, fields: strings(part.fields) });
        if (policy === 'freeze-windows') freezeDenied = true;
      }
      if (warns) warned = true;
      for (const id of list) {
        const current = outcome.get(id);
        const next = denies ? 'denied' : warns ? 'warned' : 'allowed';
        if (current === 'denied' || (current === 'warned' && next === 'allowed')) continue;
        outcome.set(id, next);
        if (denies) denyingControls.add(id);
      }
    }
    for (const [id, result] of outcome) day(control(id).days, date)[result]++;
    const totals = day(overall, date);
    if (decision === 'deny') {
      summary.denied++;
      totals.denied++;
    } else if (warned) {
      summary.warned++;
      totals.warned++;
    } else {
      summary.allowed++;
      totals.allowed++;
    }
    const change: ChangeRef = {
      time,
      uid: str(line['uid']) ?? '',
      ...(str(line['user']) ? { user: str(line['user']) as string } : {}),
      operation: str(line['operation']) ?? '',
      kind: str(line['kind']) ?? '',
      ...(str(line['namespace']) ? { namespace: str(line['namespace']) as string } : {}),
      ...(str(line['name']) ? { name: str(line['name']) as string } : {}),
      dryRun,
      writer: line.writer,
      seq: line.seq,
    };
    if (decision === 'deny') {
      for (const id of denyingControls) control(id).denials++;
      denials.push({
        ...change,
        policies: denyingPolicies,
        controls: [...denyingControls].sort(),
        bundle: `${entry.name}@${entry.version}`,
      });
    }
    if (usedGlass && decision === 'allow') {
      const record = usedGlass.breakGlass as Record<string, unknown>;
      const ids = strings(usedGlass.controls);
      for (const id of ids.length > 0 ? ids : [unmapped]) control(id).breakGlass++;
      summary.breakGlass++;
      glass.push({
        ...change,
        ticket: str(record['ticket']) ?? '',
        requester: str(record['requester']) ?? '',
        approvers: strings(record['approvers']),
        reason: str(record['reason']) ?? '',
        expires: str(record['expires']) ?? '',
        scope:
          typeof record['scope'] === 'object' && record['scope'] !== null
            ? (record['scope'] as Record<string, unknown>)
            : {},
        windows: strings(record['windows']),
        policies: [str(usedGlass.policy) ?? 'unknown'],
        controls: ids,
      });
    }
    decisionTimes.push({ ms, decision, breakGlass: usedGlass !== undefined, freezeDenied, dryRun });
  };

  const verification = await verifyLogs(inputs.logs, {
    onLine,
    ...(inputs.trusted ? { trusted: inputs.trusted } : {}),
    ...(inputs.allowOpen ? { allowOpen: true } : {}),
  });
  summary.writers = verification.writers.length;

  // Bundle files: signatures and the exemptions, controls and freeze windows they configure.
  for (const file of inputs.bundles) {
    const entry = bundles.get(file.digest);
    if (!entry) continue;
    entry.file = file.file;
    if (entry.signature !== 'verified') {
      entry.signature = file.signature.status;
      if (file.signature.alg) entry.signatureAlg = file.signature.alg;
    }
    for (const kid of file.signature.keyIds) if (!entry.keyIds.includes(kid)) entry.keyIds.push(kid);
    for (const policy of file.policies) {
      for (const id of policy.controls.length > 0 ? policy.controls : [unmapped]) {
        const state = control(id);
        if (!state.policies.has(policy.id)) state.policies.set(policy.id, new Set([policy.version]));
        state.bundles.add(file.digest);
      }
    }
  }
  const activeFiles = inputs.bundles.filter((file) => bundles.has(file.digest));
  const controlsOf = (policy: string): string[] => {
    for (const file of activeFiles) {
      const found = file.policies.find((item) => item.id === policy);
      if (found) return [...found.controls];
    }
    return [];
  };

  const exemptions: ExemptionEntry[] = [];
  const seenExemptions = new Set<string>();
  for (const file of activeFiles) {
    for (const exemption of file.exemptions) {
      const key = `${exemption.policy}\u0000${exemption.ticket}\u0000${exemption.expires}`;
      if (seenExemptions.has(key)) continue;
      seenExemptions.add(key);
      exemptions.push({
        policy: exemption.policy,
        ticket: exemption.ticket,
        reason: exemption.reason,
        owner: exemption.owner ?? '',
        expires: exemption.expires,
        expired: exemption.expiresAt.getTime() <= Math.min(toMs, inputs.now.getTime()),
        bundle: `${file.name}@${file.version}`,
        scope: exemption.scope,
        controls: controlsOf(exemption.policy),
        used: exemptionUse.get(`${exemption.policy}\u0000${exemption.ticket}`)?.used ?? 0,
      });
    }
  }
  for (const [key, { used, controls: ids }] of exemptionUse) {
    const [policy, ticket] = key.split('\u0000') as [string, string];
    if (exemptions.some((item) => item.policy === policy && item.ticket === ticket)) continue;
    exemptions.push({
      policy,
      ticket,
      reason: '(bundle file not given: pass --bundles)',
      owner: '',
      expires: '',
      expired: false,
      bundle: '',
      scope: '',
      controls: ids.length > 0 ? ids : controlsOf(policy),
      used,
    });
  }

  decisionTimes.sort((a, b) => a.ms - b.ms);
  const freezeWindows: FreezeEntry[] = [];
  const seenWindows = new Set<string>();
  for (const file of activeFiles) {
    for (const window of file.freezeWindows(inputs.from, inputs.to)) {
      const key = `${window.entity}\u0000${window.window}\u0000${window.start.toISOString()}`;
      if (seenWindows.has(key)) continue;
      seenWindows.add(key);
      const entry: FreezeEntry = {
        entity: window.entity,
        window: window.window,
        zone: window.zone,
        start: window.start.toISOString(),
        end: window.end.toISOString(),
        startLocal: window.startLocal,
        endLocal: window.endLocal,
        emergencyChanges: 0,
        denied: 0,
        otherChanges: 0,
      };
      const startMs = window.start.getTime();
      const endMs = window.end.getTime();
      let low = 0;
      let high = decisionTimes.length;
      while (low < high) {
        const mid = (low + high) >> 1;
        if ((decisionTimes[mid] as { ms: number }).ms < startMs) low = mid + 1;
        else high = mid;
      }
      for (let i = low; i < decisionTimes.length; i++) {
        const item = decisionTimes[i] as (typeof decisionTimes)[number];
        if (item.ms >= endMs) break;
        if (item.dryRun) continue;
        if (item.freezeDenied) entry.denied++;
        else if (item.decision === 'allow' && item.breakGlass) entry.emergencyChanges++;
        else if (item.decision === 'allow') entry.otherChanges++;
      }
      freezeWindows.push(entry);
    }
  }
  freezeWindows.sort((a, b) => a.start.localeCompare(b.start) || a.entity.localeCompare(b.entity));

  const history = driftHistory(inputs.audits);
  const drift: DriftEntry[] = history.filter(
    (item) => Date.parse(item.lastSeen) >= fromMs && Date.parse(item.firstSeen) < toMs,
  );
  const breakGlass: BreakGlassUse[] = glass.map((use) => ({
    ...use,
    git: gitCaughtUp(inputs.audits, use),
  }));

  const exemptionCount = new Map<string, number>();
  for (const item of exemptions)
    for (const id of item.controls) exemptionCount.set(id, (exemptionCount.get(id) ?? 0) + 1);

  const sortedDays = (map: Map<string, DayCounts>): DayCounts[] =>
    [...map.values()].sort((a, b) => a.date.localeCompare(b.date));
  const controlList: ControlEvidence[] = [...controls.entries()]
    .sort(([a], [b]) => (a === unmapped ? 1 : b === unmapped ? -1 : a.localeCompare(b)))
    .map(([id, state]) => {
      const days = sortedDays(state.days);
      const totals = { decisions: 0, allowed: 0, denied: 0, warned: 0 };
      for (const counts of days) {
        totals.allowed += counts.allowed;
        totals.denied += counts.denied;
        totals.warned += counts.warned;
      }
      totals.decisions = totals.allowed + totals.denied + totals.warned;
      return {
        id,
        policies: [...state.policies.entries()]
          .sort(([a], [b]) => a.localeCompare(b))
          .map(([policy, versions]) => ({ policy, versions: [...versions].sort() })),
        bundles: [...state.bundles].sort(),
        totals,
        days,
        denials: state.denials,
        breakGlass: state.breakGlass,
        exemptions: exemptionCount.get(id) ?? 0,
      };
    });

  return {
    apiVersion: 'tollgate.dev/v1',
    kind: 'EvidenceReport',
    tollgateVersion: TOLLGATE_VERSION,
    generatedAt: inputs.now.toISOString(),
    period: { from: inputs.from.toISOString(), to: inputs.to.toISOString() },
    verification: {
      status:
        verification.writers.length === 0 && verification.breaks.length === 0
          ? 'no-log'
          : verification.ok
            ? 'verified'
            : 'broken',
      files: verification.files,
      lines: verification.lines,
      signaturesChecked: verification.signaturesChecked,
      allowOpen: verification.allowOpen,
      writers: verification.writers,
      breaks: verification.breaks,
    },
    summary,
    controls: controlList,
    bundles: [...bundles.values()].sort((a, b) => a.firstSeen.localeCompare(b.firstSeen)),
    days: sortedDays(overall),
    denials: denials.sort((a, b) => a.time.localeCompare(b.time)),
    breakGlass: breakGlass.sort((a, b) => a.time.localeCompare(b.time)),
    exemptions: exemptions.sort(
      (a, b) => a.policy.localeCompare(b.policy) || a.ticket.localeCompare(b.ticket),
    ),
    freezeWindows,
    drift,
    auditRuns: inputs.audits
      .map((run) => ({ time: run.time, source: run.source, findings: run.drift.length }))
      .sort((a, b) => a.time.localeCompare(b.time)),
  };
}
