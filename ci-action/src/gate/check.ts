/**
 * The CI edge's core: evaluates manifests with the shared engine, exactly as the webhook would for
 * a CREATE, and attaches file/line/column to every finding from the YAML positions.
 */
import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { defaultBundleSource, readDefaultBundle } from '../../../io/default-bundle.ts';
import { builtinPolicies, evaluate, loadBundle, parsePath } from '../../../policies/index.ts';
import type {
  CompiledBundle,
  EngineContext,
  Finding,
  KubeObject,
  PolicyResult,
  PolicyServices,
  Report,
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
}

/**
 * Loads a bundle file, or the embedded finance baseline when no path is given. `verify` (e.g. the
 * signature check of `--require-signed-bundle`) sees the exact bytes that are then loaded.
 */
export async function loadBundleFile(
  path: string | undefined,
  cwd: string,
  verify?: (bytes: Uint8Array) => Promise<void>,
): Promise<CompiledBundle> {
  const bytes = path ? await readFile(resolve(cwd, path)) : await readDefaultBundle();
  if (verify) await verify(bytes);
  return loadBundle(bytes, {
    source: path ?? defaultBundleSource,
    policies: builtinPolicies,
  });
}

/** Evaluates every manifest; Namespaces in the input provide namespace labels. */
export async function checkManifests(
  manifests: readonly Manifest[],
  options: CheckOptions,
): Promise<ResourceReport[]> {
  const objects: KubeObject[] = manifests.map((m) => m.object);
  const namespaces = new Map<string, KubeObject>();
  for (const object of objects) {
    if (object.kind === 'Namespace' && object.metadata?.name) namespaces.set(object.metadata.name, object);
  }
  const context: EngineContext = {
    now: options.now,
    point: 'ci',
    namespaces: (name) => namespaces.get(name),
    relatedObjects: objects,
    ...(options.services ? { services: options.services } : {}),
  };
  return Promise.all(
    manifests.map(async (manifest) => {
      const report = await evaluate(
        { operation: 'CREATE', object: manifest.object },
        options.bundle,
        context,
      );
      return locate(report, manifest);
    }),
  );
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
    results: report.results.map((result) => ({ ...result, findings: result.findings.map(place) })),
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
