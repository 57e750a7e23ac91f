/**
 * The CI edge's core: evaluates manifests with the shared engine, exactly as the webhook would for
 * a CREATE, and attaches file/line/column to every finding from the YAML positions.
 */
import {
  clusterScopedKindsOf,
  isClusterScoped,
  parsePath,
  reviewNow,
  withDefaultNamespace,
} from '../../../policies/index.ts';
import type {
  CompiledBundle,
  EngineContext,
  EnforcementPoint,
  NamespaceContents,
  NamespaceLookup,
  Finding,
  KubeObject,
  PolicyResult,
  PolicyServices,
  Report,
  ReviewOutcome,
  SourceSpan,
} from '../../../policies/index.ts';
import type { Manifest, ManifestError } from './manifests.ts';

/** A finding placed in its file. */
export interface LocatedFinding extends Finding {
  file: string;
  /** Template a rendered manifest came from (`# Source:` comment of helm template). */
  renderedFrom?: string;
  line: number;
  column: number;
  endLine: number;
  endColumn: number;
  /** Where the finding is in the rendered stream, when it was re-pointed at its source template. */
  rendered?: { file: string; line: number; column: number; endLine: number; endColumn: number };
}

/** The engine's report for one manifest, with located findings. */
export interface ResourceReport extends Omit<Report, 'results'> {
  file: string;
  /** 0-based index of the document in its file. */
  documentIndex: number;
  line: number;
  results: Array<Omit<PolicyResult, 'findings'> & { findings: LocatedFinding[] }>;
}

/** Options of a check run. */
export interface CheckOptions {
  bundle: CompiledBundle;
  now: Date;
  /** Extra services for policies (e.g. an image verifier). */
  services?: PolicyServices;
  /**
   * Namespace labels from a source the change cannot write (a namespace inventory read from the
   * base branch, or a snapshot of the cluster). Namespace manifests in the input are judged like any
   * other change and never supply labels; without an inventory every namespace is unknown, which the
   * policies treat as the strictest case (an unknown tenant).
   */
  namespaces?: NamespaceLookup;
  /**
   * The ResourceQuotas and LimitRanges that already exist per namespace, from the same inventory.
   * Without one nothing exists yet: a new namespace must bring its own in the change.
   */
  namespaceContents?: NamespaceContents;
  /**
   * The namespace kubectl would use for a namespaced manifest without `metadata.namespace`
   * (`--default-namespace`); else the bundle's `spec.defaultNamespace`, else `default`.
   */
  defaultNamespace?: string;
}

/**
 * Reviews every manifest as the CREATE kubectl would send, through the one review path. The other
 * manifests of the run are related objects (Service selectors resolve to pod templates); namespace
 * labels come only from `options.namespaces`.
 */
export async function checkManifests(
  manifests: readonly Manifest[],
  options: CheckOptions,
  point: EnforcementPoint = 'ci',
): Promise<ResourceReport[]> {
  // kubectl sends a namespaced manifest without metadata.namespace into its context's namespace;
  // the API server fills it in before admission. The related objects are placed the same way.
  const defaultNamespace = options.defaultNamespace ?? options.bundle.defaultNamespace ?? 'default';
  const declared = clusterScopedKindsOf(manifests.map((m) => m.object));
  const namespaced = manifests.map((m) => !isClusterScoped(m.object, declared));
  const objects: KubeObject[] = manifests.map((m, index) =>
    namespaced[index] ? withDefaultNamespace(m.object, defaultNamespace) : m.object,
  );
  const context: EngineContext = {
    now: options.now,
    point,
    relatedObjects: objects,
    namespaceContents: options.namespaceContents ?? (() => []),
    ...(options.namespaces ? { namespaces: options.namespaces } : {}),
    ...(options.services ? { services: options.services } : {}),
  };
  const located = (manifest: Manifest, outcome: ReviewOutcome): ResourceReport => {
    // A manifest is never skipped (only requests are); keep the type honest all the same.
    if (!outcome.report) throw new Error(`manifest ${manifest.file} was not reviewed: ${outcome.skipped}`);
    return locate(outcome.report, manifest);
  };
  // A review answered at once is placed at once; those waiting on a policy (a registry) run
  // concurrently.
  let waiting = false;
  const reports = manifests.map((manifest, index): ResourceReport | Promise<ResourceReport> => {
    const subject = namespaced[index]
      ? { manifest: manifest.object, defaultNamespace }
      : { manifest: manifest.object };
    const outcome = reviewNow(subject, options.bundle, context);
    if (!(outcome instanceof Promise)) return located(manifest, outcome);
    waiting = true;
    return outcome.then((done) => located(manifest, done));
  });
  return waiting ? Promise.all(reports) : (reports as ResourceReport[]);
}

function locate(report: Report, manifest: Manifest): ResourceReport {
  const { document } = manifest;
  const place = (finding: Finding): LocatedFinding => {
    const span: SourceSpan = document.locate(parsePath(finding.path));
    return {
      ...finding,
      file: manifest.file,
      ...(document.renderedFrom ? { renderedFrom: document.renderedFrom } : {}),
      line: span.line,
      column: span.column,
      endLine: span.endLine,
      endColumn: span.endColumn,
    };
  };
  return {
    ...report,
    file: manifest.file,
    documentIndex: document.index,
    line: document.span.line,
    results: report.results.map((result) =>
      // A result without findings is already a located one (its findings list is empty).
      result.findings.length === 0
        ? (result as ResourceReport['results'][number])
        : { ...result, findings: result.findings.map(place) },
    ),
  };
}

/** Counts of a run, as printed and returned as outputs. */
export interface CheckSummary {
  files: number;
  resources: number;
  denied: number;
  warned: number;
  errors: number;
  inputErrors: number;
  findings: Record<'deny' | 'warn' | 'audit', number>;
}

/** Summarizes reports and input errors. */
export function summarize(
  reports: readonly ResourceReport[],
  inputErrors: readonly ManifestError[],
  files: number,
): CheckSummary {
  const findings = { deny: 0, warn: 0, audit: 0 };
  let warned = 0;
  let errors = 0;
  for (const report of reports) {
    let resourceWarned = false;
    for (const result of report.results) {
      if (result.status === 'error') errors++;
      for (const finding of result.findings) {
        if (finding.action === 'deny' || finding.action === 'warn' || finding.action === 'audit')
          findings[finding.action]++;
        if (finding.action === 'warn') resourceWarned = true;
      }
    }
    if (resourceWarned && report.decision === 'allow') warned++;
  }
  return {
    files,
    resources: reports.length,
    denied: reports.filter((r) => r.decision === 'deny').length,
    warned,
    errors,
    inputErrors: inputErrors.length,
    findings,
  };
}
