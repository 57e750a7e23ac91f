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
import type { CiContext, DecisionSource } from '../io/decision-log/line.ts';
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

/** Which enforcement point decided: the webhook, `tollgate check` in CI, or the drift audit. */
export type Source = DecisionSource;

/** Decision counts of one source. */
export interface SourceCounts {
  decisions: number;
  allowed: number;
  denied: number;
  warned: number;
}

/** Decision counts per source (admission, ci, audit). */
export type BySource = Record<DecisionSource, SourceCounts>;

/** The change a decision was about (no object contents). */
export interface ChangeRef {
  time: string;
  /** Where it was decided. */
  source: DecisionSource;
  /** The admission request's uid (admission), the live object's uid (audit); empty in CI. */
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
  /** CI: the manifest's file and line, and the run (repository, ref, commit, actor). */
  file?: string;
  ci?: CiContext;
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
  /** The policies that judge the drifted object (or, for an object missing from the cluster, its kind) in the audit. */
  policies: string[];
  /** Their control ids; `(no control id)` when no policy with a control relates to the object. */
  controls: string[];
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
  /** The totals per enforcement point (admission, CI, audit). */
  sources: BySource;
  days: DayCounts[];
  denials: number;
  breakGlass: number;
  exemptions: number;
  /** Drift findings relating to the control, open and resolved. */
  drift: { open: number; resolved: number };
}

/** A `tollgate check` run that wrote to the log. */
export interface CiRun {
  time: string;
  writer: string;
  seq: number;
  ci: CiContext;
  bundle: string;
  resources: number;
  denied: number;
  warned: number;
  errors: number;
  result: 'pass' | 'fail';
  baseline?: { ref: string; commit: string };
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
    /** The decisions per enforcement point. */
    sources: BySource;
    ciRuns: number;
  };
  controls: ControlEvidence[];
  bundles: BundleEntry[];
  days: DayCounts[];
  denials: Denial[];
  breakGlass: BreakGlassUse[];
  exemptions: ExemptionEntry[];
  freezeWindows: FreezeEntry[];
  drift: DriftEntry[];
  ciRuns: CiRun[];
  /** The drift audit runs: given as JSON (`--audit`, source the file) or recorded in the log (source `log: writer`). */
  auditRuns: Array<{ time: string; source: string; findings: number; objects?: number; denied?: number }>;
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

/** The control id of policies that name none. */
export const unmapped = '(no control id)';
const strings = (value: unknown): string[] =>
  Array.isArray(value) ? value.filter((item): item is string => typeof item === 'string') : [];
const str = (value: unknown): string | undefined => (typeof value === 'string' ? value : undefined);

/** Per-control accumulator. */
interface ControlState {
  policies: Map<string, Set<string>>;
  bundles: Set<string>;
  days: Map<string, DayCounts>;
  sources: BySource;
  denials: number;
  breakGlass: number;
  drift: { open: number; resolved: number };
}

type Outcome = 'allowed' | 'denied' | 'warned';

/**
 * What a decision's policies (with its decision) mean for the report, worked out once per distinct
 * policies text: a month of decisions repeats a few dozen of them, so each line only counts.
 */
interface Shape {
  deny: boolean;
  /** The outcome per control id. */
  outcome: Array<[string, Outcome]>;
  /** The line's own outcome. */
  overall: Outcome;
  denyingPolicies: Denial['policies'];
  denyingControls: string[];
  freezeDenied: boolean;
  /** The policy whose break-glass approval was used, with its record. */
  glass?: { policy: string; controls: string[]; record: Record<string, unknown> };
  exemptions: Array<{ key: string; controls: string[] }>;
  /** control id, policy, version: registered once per bundle. */
  versions: Array<[string, string, string]>;
  /** Lines per bundle entry, then per UTC day × 4 + source index. */
  counts: Map<BundleEntry, Map<number, number>>;
}

/** Works out a decision's shape from its policies text (see {@link Shape}). */
function shapeOf(policiesText: string | undefined, deny: boolean): Shape {
  let parsed: unknown;
  try {
    parsed = policiesText === undefined ? [] : JSON.parse(policiesText);
  } catch {
    parsed = [];
  }
  const parts = (Array.isArray(parsed) ? parsed : []) as PolicyPart[];
  const shape: Shape = {
    deny,
    outcome: [],
    overall: 'allowed',
    denyingPolicies: [],
    denyingControls: [],
    freezeDenied: false,
    exemptions: [],
    versions: [],
    counts: new Map(),
  };
  let warned = false;
  const outcome = new Map<string, Outcome>();
  const denying = new Set<string>();
  for (const part of parts) {
    if (typeof part !== 'object' || part === null) continue;
    const policy = str(part.policy) ?? 'unknown';
    const version = str(part.version) ?? 'unknown';
    const status = str(part.status);
    const action = str(part.action);
    const ids = strings(part.controls);
    const list = ids.length > 0 ? ids : [unmapped];
    const exemption = str(part.exemption);
    if (exemption) shape.exemptions.push({ key: `${policy}\u0000${exemption}`, controls: ids });
    if (part.breakGlass && typeof part.breakGlass === 'object')
      shape.glass = { policy, controls: ids, record: part.breakGlass as Record<string, unknown> };
    for (const id of list) shape.versions.push([id, policy, version]);
    if (status === 'skip' || status === undefined) continue;
    const denies = deny && (status === 'fail' || status === 'error') && action === 'deny';
    const warns = !denies && (status === 'warn' || status === 'fail' || status === 'error');
    if (denies) {
      shape.denyingPolicies.push({ policy, version, fields: strings(part.fields) });
      if (policy === 'freeze-windows') shape.freezeDenied = true;
    }
    if (warns) warned = true;
    for (const id of list) {
      const current = outcome.get(id);
      const next: Outcome = denies ? 'denied' : warns ? 'warned' : 'allowed';
      if (current === 'denied' || (current === 'warned' && next === 'allowed')) continue;
      outcome.set(id, next);
      if (denies) denying.add(id);
    }
  }
  shape.outcome = [...outcome];
  shape.denyingControls = [...denying].sort();
  shape.overall = deny ? 'denied' : warned ? 'warned' : 'allowed';
  return shape;
}

const emptySources = (): BySource => ({
  admission: { decisions: 0, allowed: 0, denied: 0, warned: 0 },
  ci: { decisions: 0, allowed: 0, denied: 0, warned: 0 },
  audit: { decisions: 0, allowed: 0, denied: 0, warned: 0 },
});
const sourceOf = (raw: string | undefined): DecisionSource =>
  raw === '"ci"' ? 'ci' : raw === '"audit"' ? 'audit' : 'admission';
const sourceIndex: Record<DecisionSource, number> = { admission: 0, ci: 1, audit: 2 };
const indexSource: readonly DecisionSource[] = ['admission', 'ci', 'audit'];

/** A growable column of numbers. */
class Column {
  length = 0;
  values: Float64Array;
  constructor(values: Float64Array) {
    this.values = values;
  }
  push(value: number): void {
    if (this.length === this.values.length) {
      const grown = new Float64Array(this.values.length * 2);
      grown.set(this.values);
      this.values = grown;
    }
    this.values[this.length++] = value;
  }
  /** The values pushed, sorted ascending. */
  sorted(): Float64Array {
    return this.values.subarray(0, this.length).sort();
  }
}
const DENY = 1;
const GLASS = 2;
const FREEZE_DENIED = 4;
const DRY_RUN = 8;

/** Builds the report; the log is verified in the same pass. */
export async function buildReport(inputs: ReportInputs): Promise<EvidenceReport> {
  const fromMs = inputs.from.getTime();
  const toMs = inputs.to.getTime();
  const controls = new Map<string, ControlState>();
  const bundles = new Map<string, BundleEntry>();
  /** Bundle entries by the line's bundle text. */
  const bundleTexts = new Map<string, BundleEntry>();
  const shapes = new Map<string, Shape>();
  const denyShapes = new Map<string, Shape>();
  const denials: Denial[] = [];
  const glass: Array<Omit<BreakGlassUse, 'git'>> = [];
  const ciRuns: CiRun[] = [];
  /** The bundleSignature texts read per bundle entry. */
  const signatures = new Map<BundleEntry, Set<string>>();
  const loggedAudits: EvidenceReport['auditRuns'] = [];
  /** Admission decisions as instant × 16 + flags (exact in a double), sorted later for the freeze windows. */
  const admissions = new Column(new Float64Array(1 << 16));

  const control = (id: string): ControlState => {
    let state = controls.get(id);
    if (!state) {
      state = {
        policies: new Map(),
        bundles: new Set(),
        days: new Map(),
        sources: emptySources(),
        denials: 0,
        breakGlass: 0,
        drift: { open: 0, resolved: 0 },
      };
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
  const bundleEntry = (text: string | undefined, fields: ChainLine['fields'], time: string): BundleEntry => {
    const key = text ?? '';
    let entry = bundleTexts.get(key);
    if (!entry) {
      const bundle = (fields.value('bundle') ?? {}) as {
        name?: unknown;
        version?: unknown;
        digest?: unknown;
      };
      const digest = str(bundle.digest) ?? 'unknown';
      entry = bundles.get(digest);
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
      bundleTexts.set(key, entry);
    }
    return entry;
  };
  const change = (line: ChainLine, time: string, source: DecisionSource): ChangeRef => {
    const f = line.fields;
    const user = f.string('user');
    const namespace = f.string('namespace');
    const name = f.string('name');
    const file = f.string('file');
    const ci = f.value('ci');
    return {
      time,
      source,
      uid: f.string('uid') ?? '',
      ...(user ? { user } : {}),
      operation: f.string('operation') ?? (source === 'audit' ? 'AUDIT' : ''),
      kind: f.string('kind') ?? '',
      ...(namespace ? { namespace } : {}),
      ...(name ? { name } : {}),
      dryRun: f.raw('dryRun') === 'true',
      writer: line.writer,
      seq: line.seq,
      ...(file ? { file } : {}),
      ...(ci && typeof ci === 'object' && !Array.isArray(ci)
        ? { ci: ciOf(ci as Record<string, unknown>) }
        : {}),
    };
  };

  const onLine = (line: ChainLine): void => {
    const event = line.event;
    if (event !== 'decision' && event !== 'ci-run' && event !== 'audit-run') return;
    const time = str(line.time);
    if (!time) return;
    const ms = Date.parse(time);
    if (!(ms >= fromMs && ms < toMs)) return;
    const f = line.fields;
    if (event !== 'decision') {
      runLine(line, time);
      return;
    }
    const source = sourceOf(f.raw('source'));
    const deny = f.raw('decision') === '"deny"';
    const policiesText = f.raw('policies');
    const cache = deny ? denyShapes : shapes;
    const shapeKey = policiesText ?? '';
    let shape = cache.get(shapeKey);
    if (!shape) {
      shape = shapeOf(policiesText, deny);
      cache.set(shapeKey, shape);
    }
    const entry = bundleEntry(f.raw('bundle'), f, time);
    entry.decisions++;
    if (time < entry.firstSeen) entry.firstSeen = time;
    if (time > entry.lastSeen) entry.lastSeen = time;
    const signatureText = f.raw('bundleSignature');
    let seenSignatures = signatures.get(entry);
    if (!seenSignatures) {
      seenSignatures = new Set();
      signatures.set(entry, seenSignatures);
    }
    if (signatureText !== undefined && !seenSignatures.has(signatureText)) {
      seenSignatures.add(signatureText);
      const signature = f.value('bundleSignature') as { alg?: unknown; kid?: unknown } | undefined;
      if (signature && typeof signature === 'object') {
        entry.signature = 'verified';
        entry.signatureAlg = str(signature.alg) ?? 'unknown';
        const kid = str(signature.kid);
        if (kid && !entry.keyIds.includes(kid)) entry.keyIds.push(kid);
      }
    }
    let perBundle = shape.counts.get(entry);
    if (!perBundle) {
      perBundle = new Map();
      shape.counts.set(entry, perBundle);
    }
    // An integer key per UTC day and source (no string per line).
    const cell = Math.floor(ms / 86_400_000) * 4 + sourceIndex[source];
    perBundle.set(cell, (perBundle.get(cell) ?? 0) + 1);

    const dryRun = source === 'admission' && f.raw('dryRun') === 'true';
    if (deny) {
      denials.push({
        ...change(line, time, source),
        policies: shape.denyingPolicies,
        controls: shape.denyingControls,
        bundle: `${entry.name}@${entry.version}`,
      });
    }
    const usedGlass = source === 'admission' && !deny ? shape.glass : undefined;
    if (usedGlass) {
      const record = usedGlass.record;
      glass.push({
        ...change(line, time, source),
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
        policies: [usedGlass.policy],
        controls: usedGlass.controls,
      });
    }
    if (source === 'admission')
      admissions.push(
        ms * 16 +
          ((deny ? DENY : 0) |
            (usedGlass ? GLASS : 0) |
            (shape.freezeDenied ? FREEZE_DENIED : 0) |
            (dryRun ? DRY_RUN : 0)),
      );
  };

  const runLine = (line: ChainLine, time: string): void => {
    const f = line.fields;
    const number = (name: string): number => {
      const value = f.value(name);
      return typeof value === 'number' && Number.isFinite(value) ? value : 0;
    };
    const bundle = f.value('bundle') as { name?: unknown; version?: unknown } | undefined;
    const bundleName =
      bundle && typeof bundle === 'object'
        ? `${str(bundle.name) ?? 'unknown'}@${str(bundle.version) ?? 'unknown'}`
        : '';
    if (line.event === 'audit-run') {
      loggedAudits.push({
        time,
        source: `log: ${line.writer}${str(f.value('cluster')) ? ` (${str(f.value('cluster'))})` : ''}`,
        findings: number('drift'),
        objects: number('resources'),
        denied: number('denied'),
      });
      return;
    }
    const ci = f.value('ci');
    const baseline = f.value('baseline') as { ref?: unknown; commit?: unknown } | undefined;
    ciRuns.push({
      time,
      writer: line.writer,
      seq: line.seq,
      ci: ci && typeof ci === 'object' && !Array.isArray(ci) ? ciOf(ci as Record<string, unknown>) : {},
      bundle: bundleName,
      resources: number('resources'),
      denied: number('denied'),
      warned: number('warned'),
      errors: number('errors'),
      result: f.value('result') === 'fail' ? 'fail' : 'pass',
      ...(baseline && typeof baseline === 'object' && str(baseline.ref) && str(baseline.commit)
        ? { baseline: { ref: str(baseline.ref) as string, commit: str(baseline.commit) as string } }
        : {}),
    });
  };

  const verification = await verifyLogs(inputs.logs, {
    onLine,
    ...(inputs.trusted ? { trusted: inputs.trusted } : {}),
    ...(inputs.allowOpen ? { allowOpen: true } : {}),
  });
  const summary: EvidenceReport['summary'] = {
    decisions: 0,
    allowed: 0,
    denied: 0,
    warned: 0,
    breakGlass: glass.length,
    writers: verification.writers.length,
    sources: emptySources(),
    ciRuns: ciRuns.length,
  };

  // The counts per shape, bundle, day and source become the counts per control, day and source.
  const overall = new Map<string, DayCounts>();
  const exemptionUse = new Map<string, { used: number; controls: string[] }>();
  for (const shape of [...shapes.values(), ...denyShapes.values()]) {
    for (const [entry, cells] of shape.counts) {
      for (const [id, policy, version] of shape.versions) {
        const state = control(id);
        let versions = state.policies.get(policy);
        if (!versions) {
          versions = new Set();
          state.policies.set(policy, versions);
        }
        versions.add(version);
        state.bundles.add(entry.digest);
      }
      for (const [cell, count] of cells) {
        const date = new Date(Math.floor(cell / 4) * 86_400_000).toISOString().slice(0, 10);
        const source = indexSource[cell % 4] as DecisionSource;
        const own = shape.overall;
        summary.decisions += count;
        summary[own] += count;
        summary.sources[source].decisions += count;
        summary.sources[source][own] += count;
        day(overall, date)[own] += count;
        for (const [id, result] of shape.outcome) {
          const state = control(id);
          day(state.days, date)[result] += count;
          state.sources[source].decisions += count;
          state.sources[source][result] += count;
          if (result === 'denied' && shape.deny) state.denials += count;
        }
        for (const { key, controls: ids } of shape.exemptions) {
          const use = exemptionUse.get(key) ?? { used: 0, controls: ids };
          use.used += count;
          exemptionUse.set(key, use);
        }
      }
    }
  }
  for (const use of glass)
    for (const id of use.controls.length > 0 ? use.controls : [unmapped]) control(id).breakGlass++;

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

  const admitted = admissions.sorted();
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
      let high = admitted.length;
      while (low < high) {
        const mid = (low + high) >> 1;
        if ((admitted[mid] as number) < startMs * 16) low = mid + 1;
        else high = mid;
      }
      for (let i = low; i < admitted.length; i++) {
        const value = admitted[i] as number;
        if (value >= endMs * 16) break;
        const bits = value % 16;
        if (bits & DRY_RUN) continue;
        if (bits & FREEZE_DENIED) entry.denied++;
        else if (!(bits & DENY) && bits & GLASS) entry.emergencyChanges++;
        else if (!(bits & DENY)) entry.otherChanges++;
      }
      freezeWindows.push(entry);
    }
  }
  freezeWindows.sort((a, b) => a.start.localeCompare(b.start) || a.entity.localeCompare(b.entity));

  const history = driftHistory(inputs.audits);
  const drift: DriftEntry[] = history.filter(
    (item) => Date.parse(item.lastSeen) >= fromMs && Date.parse(item.firstSeen) < toMs,
  );
  for (const entry of drift)
    for (const id of entry.controls) {
      const state = control(id);
      if (entry.resolution === 'resolved') state.drift.resolved++;
      else state.drift.open++;
    }
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
        sources: state.sources,
        days,
        denials: state.denials,
        breakGlass: state.breakGlass,
        exemptions: exemptionCount.get(id) ?? 0,
        drift: state.drift,
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
    ciRuns: ciRuns.sort((a, b) => a.time.localeCompare(b.time)),
    auditRuns: [
      ...inputs.audits.map((run) => ({ time: run.time, source: run.source, findings: run.drift.length })),
      ...loggedAudits,
    ].sort((a, b) => a.time.localeCompare(b.time)),
  };
}

/** The CI context of a line, read by field name (fields that are not strings are left out). */
function ciOf(value: Record<string, unknown>): CiContext {
  const context: CiContext = {};
  if (value['provider'] === 'github') context.provider = 'github';
  for (const field of [
    'repository',
    'ref',
    'commit',
    'actor',
    'workflow',
    'run',
    'trigger',
    'baseRef',
    'headRef',
  ] as const) {
    const text = str(value[field]);
    if (text !== undefined) context[field] = text;
  }
  return context;
}
