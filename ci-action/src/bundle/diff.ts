/**
 * `tollgate bundle diff OLD NEW [--corpus DIR]`: what changed between two bundle versions
 * (policies and rules added or removed, parameters, enforcement per point, controls, exemptions,
 * version, requires) and, over a corpus of manifests, which resources change verdict — the
 * "what will break" report for a change advisory board. Each manifest is evaluated under both
 * bundles with {@link checkManifests}, exactly as `tollgate check` would, or (`point: admission`) as
 * the webhook would judge a CREATE of it, with the corpus's Namespace objects as the namespace cache.
 */
import type {
  CompiledBundle,
  CompiledExemption,
  CompiledPolicy,
  EnforcementPoint,
  NamespaceContents,
  NamespaceLookup,
  PolicyResult,
  PolicyStatus,
  Report,
} from '../../../policies/index.ts';
import { isRecord } from '../../../policies/index.ts';
import { checkManifests } from '../gate/check.ts';
import type { CheckOptions } from '../gate/check.ts';
import type { Manifest } from '../gate/manifests.ts';

/** One configuration change. */
export interface BundleChange {
  /** `metadata`, `policy`, `rule`, `parameter`, `enforcement`, `controls`, `exemption`. */
  kind: string;
  /** `added`, `removed` or `changed`. */
  change: 'added' | 'removed' | 'changed';
  /** Policy or rule id, exemption ticket, or metadata field. */
  subject: string;
  /** Parameter path, enforcement point... */
  field?: string;
  before?: unknown;
  after?: unknown;
}

/** A resource whose verdict differs between the two bundles. */
export interface VerdictChange {
  file: string;
  documentIndex: number;
  line: number;
  resource: string;
  before: 'allow' | 'deny';
  after: 'allow' | 'deny';
  /** Per-policy status changes on this resource. */
  policies: Array<{
    policy: string;
    before: PolicyStatus | 'absent';
    after: PolicyStatus | 'absent';
    findings: string[];
  }>;
}

/** The whole diff. */
export interface BundleDiff {
  /** Where the corpus was judged (ci: as tollgate check; admission: as the webhook). */
  point?: EnforcementPoint;
  old: { name: string; version: string; digest: string };
  new: { name: string; version: string; digest: string };
  changes: BundleChange[];
  corpus?: {
    resources: number;
    /** Resources allowed before and denied after: what will break. */
    newlyDenied: VerdictChange[];
    newlyAllowed: VerdictChange[];
    /** Same decision, but some policy's status changed (new warnings, errors, skips). */
    otherChanges: VerdictChange[];
  };
}

const points: EnforcementPoint[] = ['admission', 'ci', 'audit'];

function byId(bundle: CompiledBundle): Map<string, CompiledPolicy> {
  return new Map(bundle.policies.map((p) => [p.policy.id, p]));
}

function isRule(bundle: CompiledBundle, id: string): boolean {
  const rules = (bundle.document.spec as { rules?: Array<{ id: string }> } | undefined)?.rules ?? [];
  return rules.some((r) => r.id === id);
}

function rawConfig(bundle: CompiledBundle, id: string): Record<string, unknown> {
  const spec = bundle.document.spec as {
    policies?: Record<string, unknown>;
    rules?: Array<Record<string, unknown>>;
  };
  const raw = spec.policies?.[id] ?? spec.rules?.find((r) => r.id === id) ?? {};
  const { enforcement: _e, controls: _c, ...rest } = raw as Record<string, unknown>;
  return rest;
}

function same(a: unknown, b: unknown): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

function diffValues(
  prefix: string,
  a: unknown,
  b: unknown,
  out: Array<{ field: string; before: unknown; after: unknown }>,
): void {
  if (same(a, b)) return;
  if (isRecord(a) && isRecord(b)) {
    for (const key of new Set([...Object.keys(a), ...Object.keys(b)]))
      diffValues(prefix ? `${prefix}.${key}` : key, a[key], b[key], out);
    return;
  }
  out.push({ field: prefix || '(all)', before: a, after: b });
}

function exemptionKey(e: CompiledExemption): string {
  return JSON.stringify([e.policy, e.ticket, e.namespaces ?? null, e.kinds ?? null, e.names ?? null]);
}

/** Compares the configuration of two bundles. */
export function diffConfig(before: CompiledBundle, after: CompiledBundle): BundleChange[] {
  const changes: BundleChange[] = [];
  const meta = (field: string, a: unknown, b: unknown): void => {
    if (!same(a, b))
      changes.push({ kind: 'metadata', change: 'changed', subject: field, before: a, after: b });
  };
  meta('name', before.identity.name, after.identity.name);
  meta('version', before.identity.version, after.identity.version);
  meta('requires', before.requires, after.requires);
  const a = byId(before);
  const b = byId(after);
  for (const [id, policy] of a) {
    if (!b.has(id))
      changes.push({
        kind: isRule(before, id) ? 'rule' : 'policy',
        change: 'removed',
        subject: id,
        before: policy.enforcement,
      });
  }
  for (const [id, next] of b) {
    const kind = isRule(after, id) ? 'rule' : 'policy';
    const prev = a.get(id);
    if (!prev) {
      changes.push({ kind, change: 'added', subject: id, after: next.enforcement });
      continue;
    }
    for (const point of points) {
      if (prev.enforcement[point] !== next.enforcement[point])
        changes.push({
          kind: 'enforcement',
          change: 'changed',
          subject: id,
          field: point,
          before: prev.enforcement[point],
          after: next.enforcement[point],
        });
    }
    const removed = prev.controls.filter((c) => !next.controls.includes(c));
    const added = next.controls.filter((c) => !prev.controls.includes(c));
    if (removed.length > 0 || added.length > 0)
      changes.push({
        kind: 'controls',
        change: 'changed',
        subject: id,
        before: [...prev.controls],
        after: [...next.controls],
      });
    const fields: Array<{ field: string; before: unknown; after: unknown }> = [];
    diffValues('', rawConfig(before, id), rawConfig(after, id), fields);
    for (const f of fields)
      changes.push({ kind: kind === 'rule' ? 'rule' : 'parameter', change: 'changed', subject: id, ...f });
  }
  const oldExemptions = new Map(before.exemptions.map((e) => [exemptionKey(e), e]));
  const newExemptions = new Map(after.exemptions.map((e) => [exemptionKey(e), e]));
  const describe = (e: CompiledExemption) => ({
    policy: e.policy,
    ...(e.namespaces ? { namespaces: e.namespaces } : {}),
    ...(e.kinds ? { kinds: e.kinds } : {}),
    ...(e.names ? { names: e.names } : {}),
    expires: e.expires,
  });
  for (const [key, e] of oldExemptions)
    if (!newExemptions.has(key))
      changes.push({ kind: 'exemption', change: 'removed', subject: e.ticket, before: describe(e) });
  for (const [key, e] of newExemptions) {
    const prev = oldExemptions.get(key);
    if (!prev) changes.push({ kind: 'exemption', change: 'added', subject: e.ticket, after: describe(e) });
    else if (prev.expires !== e.expires || prev.reason !== e.reason)
      changes.push({
        kind: 'exemption',
        change: 'changed',
        subject: e.ticket,
        field: 'expires',
        before: prev.expires,
        after: e.expires,
      });
  }
  return changes;
}

/** One manifest's verdict, wherever it was judged. */
interface Verdict extends Omit<Report, 'results'> {
  file: string;
  documentIndex: number;
  line: number;
  results: PolicyResult[];
}

async function verdicts(
  manifests: readonly Manifest[],
  bundle: CompiledBundle,
  now: Date,
  point: EnforcementPoint,
  inventory: Pick<CheckOptions, 'namespaces' | 'namespaceContents'>,
): Promise<Verdict[]> {
  return checkManifests(manifests, { bundle, now, ...inventory }, point);
}

/** Diffs two bundles and, when manifests are given, their verdicts on each. */
export async function diffBundles(
  before: CompiledBundle,
  after: CompiledBundle,
  options: {
    manifests?: readonly Manifest[];
    now: Date;
    point?: EnforcementPoint;
    /** Trusted namespace labels, as for `tollgate check`. */
    namespaces?: NamespaceLookup;
    /** What already exists per namespace, from the same inventory. */
    namespaceContents?: NamespaceContents;
  },
): Promise<BundleDiff> {
  const diff: BundleDiff = {
    old: { ...before.identity },
    new: { ...after.identity },
    changes: diffConfig(before, after),
  };
  if (!options.manifests) return diff;
  const inventory = {
    ...(options.namespaces ? { namespaces: options.namespaces } : {}),
    ...(options.namespaceContents ? { namespaceContents: options.namespaceContents } : {}),
  };
  const [oldReports, newReports] = await Promise.all([
    verdicts(options.manifests, before, options.now, options.point ?? 'ci', inventory),
    verdicts(options.manifests, after, options.now, options.point ?? 'ci', inventory),
  ]);
  const corpus: NonNullable<BundleDiff['corpus']> = {
    resources: options.manifests.length,
    newlyDenied: [],
    newlyAllowed: [],
    otherChanges: [],
  };
  oldReports.forEach((oldReport, index) => {
    const newReport = newReports[index];
    if (!newReport) return;
    const ids = [...new Set([...oldReport.results, ...newReport.results].map((r) => r.policy))];
    const policies: VerdictChange['policies'] = [];
    for (const id of ids) {
      const o = oldReport.results.find((r) => r.policy === id);
      const n = newReport.results.find((r) => r.policy === id);
      const findingsOf = (r: typeof o) =>
        (r?.findings ?? []).map((f) => `${f.action} ${f.path}: ${f.message}`);
      if (o?.status === n?.status && same(findingsOf(o), findingsOf(n))) continue;
      policies.push({
        policy: id,
        before: o?.status ?? 'absent',
        after: n?.status ?? 'absent',
        findings: findingsOf(n).filter((f) => !findingsOf(o).includes(f)),
      });
    }
    if (policies.length === 0 && oldReport.decision === newReport.decision) return;
    const ref = newReport.object;
    const change: VerdictChange = {
      file: newReport.file,
      documentIndex: newReport.documentIndex,
      line: newReport.line,
      resource: `${ref.kind}/${ref.name ?? '(unnamed)'}${ref.namespace ? ` in ${ref.namespace}` : ''}`,
      before: oldReport.decision,
      after: newReport.decision,
      policies,
    };
    if (change.before === 'allow' && change.after === 'deny') corpus.newlyDenied.push(change);
    else if (change.before === 'deny' && change.after === 'allow') corpus.newlyAllowed.push(change);
    else corpus.otherChanges.push(change);
  });
  diff.corpus = corpus;
  diff.point = options.point ?? 'ci';
  return diff;
}

function show(value: unknown): string {
  return value === undefined ? '(unset)' : JSON.stringify(value);
}

/** Renders the diff for people. */
export function formatDiff(diff: BundleDiff): string {
  const out: string[] = [
    `bundle diff ${diff.old.name} ${diff.old.version} (${diff.old.digest.slice(0, 19)}) -> ${diff.new.name} ${diff.new.version} (${diff.new.digest.slice(0, 19)})`,
    '',
    diff.changes.length === 0 ? 'configuration: no changes' : 'configuration:',
  ];
  const sign = { added: '+', removed: '-', changed: '~' } as const;
  for (const c of diff.changes) {
    const what = c.field ? `${c.subject} ${c.field}` : c.subject;
    const values =
      c.change === 'changed'
        ? `: ${show(c.before)} -> ${show(c.after)}`
        : `: ${show(c.change === 'added' ? c.after : c.before)}`;
    out.push(`  ${sign[c.change]} ${c.kind} ${what}${values}`);
  }
  if (diff.corpus) {
    const { corpus } = diff;
    out.push('', `corpus: ${corpus.resources} resource(s), judged at ${diff.point ?? 'ci'}`);
    const section = (title: string, list: VerdictChange[]): void => {
      out.push(`${title} (${list.length}):`);
      for (const v of list) {
        out.push(`  ${v.file}:${v.line} ${v.resource}: ${v.before} -> ${v.after}`);
        for (const p of v.policies) {
          out.push(`    ${p.policy}: ${p.before} -> ${p.after}`);
          for (const f of p.findings) out.push(`      ${f}`);
        }
      }
    };
    section('WILL BREAK — allowed before, denied after', corpus.newlyDenied);
    section('newly allowed — denied before, allowed after', corpus.newlyAllowed);
    section('same decision, other policy changes', corpus.otherChanges);
  }
  return `${out.join('\n')}\n`;
}
