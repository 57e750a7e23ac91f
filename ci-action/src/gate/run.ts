/**
 * One check run of the CI gate, shared by `tollgate check` and the GitHub Action so both wire the
 * same bundle (signature included), services, namespace inventory, paths, renders and baseline.
 * The edges only turn their flags or inputs into {@link GateSettings} and print the result.
 */
import { resolve } from 'node:path';
import type { CompiledBundle } from '../../../policies/index.ts';
import { loadBundleFile } from '../../../io/bundle-file.ts';
import type { CheckpointKey } from '../../../io/decision-log/checkpoint.ts';
import { objectDecisionLine } from '../../../io/decision-log/line.ts';
import type { CiContext } from '../../../io/decision-log/line.ts';
import { recordRun } from '../../../io/decision-log/runs.ts';
import type { VerifiedSignature } from '../../../io/signing/bundle-signature.ts';
import { createServices } from '../../../io/services.ts';
import { signedBundleVerifier } from '../../../io/signing/signing.ts';
import type { SignedBundleSettings } from '../../../io/signing/signing.ts';
import { classifyAgainstBaseline, failsGate } from '../report/issues.ts';
import { baselineFingerprints } from './baseline.ts';
import { resolveCommit } from './git.ts';
import { loadNamespaceInventory } from './namespaces.ts';
import type { NamespaceSource } from './namespaces.ts';
import { runPipeline } from './pipeline.ts';
import type { PipelineResult } from './pipeline.ts';
import type { RenderSpec } from './render.ts';

/** What a gate run checks and with what. */
export interface GateSettings {
  /** Files, directories, globs (`!pattern` excludes) or `-` for standard input. */
  readonly paths: readonly string[];
  readonly cwd: string;
  readonly now: Date;
  readonly render: readonly RenderSpec[];
  /** Bundle file; the embedded finance baseline when absent. */
  readonly bundle?: string;
  /** Require a detached signature by a trusted key on the bundle's exact bytes. */
  readonly signedBundle?: SignedBundleSettings;
  /** No registry access: signed-images reports images unverifiable (never a pass). */
  readonly offline: boolean;
  /** Git ref whose findings are pre-existing (they do not fail the gate). */
  readonly baseline?: string;
  /** The trusted namespace inventory file (see ./namespaces.ts). */
  readonly namespaces?: string;
  /** Git ref to read the inventory from (the base of the change); the working tree when absent. */
  readonly namespacesRef?: string;
  /** The namespace of namespaced manifests without one (see CheckOptions.defaultNamespace). */
  readonly defaultNamespace?: string;
  /** Check only these files (relative to cwd), e.g. those a pull request changed. */
  readonly onlyFiles?: ReadonlySet<string>;
  readonly readStdin: () => Promise<string>;
  /** Record the run in the hash-chained decision log. */
  readonly decisionLog?: GateDecisionLog;
}

/**
 * Where and how a gate run records itself in the hash-chained decision log: one decision line per
 * judged manifest (source `ci`, built by io/decision-log/line.ts as the webhook's are: no object
 * contents) and a closing `ci-run` line, each with the CI context.
 */
export interface GateDecisionLog {
  /** The log file, appended to (created with its directory when missing); relative to cwd. */
  readonly file: string;
  /** Signs the run's checkpoints. */
  readonly key?: CheckpointKey;
  /** Writer id (default: host, pid and a random suffix). */
  readonly writer?: string;
  /** Where the run happens (see ciContext); the commit defaults to the working tree's HEAD. */
  readonly ci: CiContext;
  /** The lowest action that fails the run, for the run line's result. */
  readonly failOn: 'deny' | 'warn';
}

/** A finished gate run. */
export interface GateRun {
  readonly bundle: CompiledBundle;
  readonly result: PipelineResult;
  /** The baseline the issues were classified against. */
  readonly baseline?: { readonly ref: string; readonly commit: string };
  /** Where namespace labels came from; absent when no inventory was given (every namespace unknown). */
  readonly namespaces?: Omit<NamespaceSource, 'lookup' | 'contents' | 'contentCount'>;
}

/** Runs the gate: load and verify the bundle, build the services, check, classify against the baseline. */
export async function runGate(settings: GateSettings): Promise<GateRun> {
  const verifier = settings.signedBundle ? signedBundleVerifier(settings.signedBundle) : undefined;
  let signature: VerifiedSignature | undefined;
  const verify = verifier
    ? async (bytes: Uint8Array) => {
        signature = await verifier(bytes);
      }
    : undefined;
  const bundle = await loadBundleFile(settings.bundle, settings.cwd, verify);
  const inventory = settings.namespaces
    ? await loadNamespaceInventory(settings.namespaces, settings.cwd, settings.namespacesRef)
    : undefined;
  const { services } = await createServices({ offline: settings.offline, registryAuth: 'docker-config' });
  const options = {
    paths: settings.paths,
    cwd: settings.cwd,
    bundle,
    now: settings.now,
    render: settings.render,
    services,
    ...(inventory ? { namespaces: inventory.lookup, namespaceContents: inventory.contents } : {}),
    ...(settings.defaultNamespace !== undefined ? { defaultNamespace: settings.defaultNamespace } : {}),
    ...(settings.onlyFiles ? { onlyFiles: settings.onlyFiles } : {}),
  };
  const result = await runPipeline({ ...options, readStdin: settings.readStdin });
  let baseline: GateRun['baseline'];
  if (settings.baseline) {
    const base = await baselineFingerprints(settings.baseline, options);
    result.issues = classifyAgainstBaseline(result.issues, base.fingerprints);
    baseline = { ref: settings.baseline, commit: base.commit };
  }
  const run: GateRun = {
    bundle,
    result,
    ...(baseline ? { baseline } : {}),
    ...(inventory ? { namespaces: { source: inventory.source, count: inventory.count } } : {}),
  };
  if (settings.decisionLog) await recordGateRun(settings.decisionLog, run, signature, settings.cwd);
  return run;
}

/** Appends the run's decision lines and its run line to the decision log (see {@link GateDecisionLog}). */
async function recordGateRun(
  options: GateDecisionLog,
  run: GateRun,
  signature: VerifiedSignature | undefined,
  cwd: string,
): Promise<void> {
  const commit = options.ci.commit ?? (await resolveCommit('HEAD', cwd).catch(() => undefined));
  const ci: CiContext = { ...options.ci, ...(commit ? { commit } : {}) };
  const bundleSignature = signature
    ? { alg: signature.alg, ...(signature.kid ? { kid: signature.kid } : {}) }
    : undefined;
  const { result, bundle } = run;
  let denied = 0;
  let warned = 0;
  const decisions = result.reports.map((report) => {
    if (report.decision === 'deny') denied++;
    else if (report.results.some((r) => r.status === 'warn' || r.status === 'fail' || r.status === 'error'))
      warned++;
    return objectDecisionLine({
      source: 'ci',
      object: report.object,
      decision: report.decision,
      results: report.results,
      bundle: bundle.identity,
      bundleSignature,
      file: report.file,
      line: report.line,
      ci,
    });
  });
  const failed = result.errors.length > 0 || result.issues.some((issue) => failsGate(issue, options.failOn));
  await recordRun(
    {
      file: resolve(cwd, options.file),
      label: options.file,
      component: 'tollgate-check',
      ...(options.key ? { key: options.key } : {}),
      ...(options.writer ? { writer: options.writer } : {}),
    },
    decisions,
    {
      event: 'ci-run',
      source: 'ci',
      bundle: { ...bundle.identity },
      ...(bundleSignature ? { bundleSignature } : {}),
      resources: result.reports.length,
      denied,
      warned,
      errors: result.errors.length,
      result: failed ? 'fail' : 'pass',
      ci,
      ...(run.baseline ? { baseline: { ...run.baseline } } : {}),
    },
  );
}
