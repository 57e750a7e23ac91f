/**
 * One check run of the CI gate, shared by `tollgate check` and the GitHub Action so both wire the
 * same bundle (signature included), services, namespace inventory, paths, renders and baseline.
 * The edges only turn their flags or inputs into {@link GateSettings} and print the result.
 */
import type { CompiledBundle } from '../../../policies/index.ts';
import { loadBundleFile } from '../../../io/bundle-file.ts';
import { createServices } from '../../../io/services.ts';
import { signedBundleVerifier } from '../../../io/signing/signing.ts';
import type { SignedBundleSettings } from '../../../io/signing/signing.ts';
import { classifyAgainstBaseline } from '../report/issues.ts';
import { baselineFingerprints } from './baseline.ts';
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
  /** Check only these files (relative to cwd), e.g. those a pull request changed. */
  readonly onlyFiles?: ReadonlySet<string>;
  readonly readStdin: () => Promise<string>;
}

/** A finished gate run. */
export interface GateRun {
  readonly bundle: CompiledBundle;
  readonly result: PipelineResult;
  /** The baseline the issues were classified against. */
  readonly baseline?: { readonly ref: string; readonly commit: string };
  /** Where namespace labels came from; absent when no inventory was given (every namespace unknown). */
  readonly namespaces?: Omit<NamespaceSource, 'lookup'>;
}

/** Runs the gate: load and verify the bundle, build the services, check, classify against the baseline. */
export async function runGate(settings: GateSettings): Promise<GateRun> {
  const verify = settings.signedBundle ? signedBundleVerifier(settings.signedBundle) : undefined;
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
    ...(inventory ? { namespaces: inventory.lookup } : {}),
    ...(settings.onlyFiles ? { onlyFiles: settings.onlyFiles } : {}),
  };
  const result = await runPipeline({ ...options, readStdin: settings.readStdin });
  let baseline: GateRun['baseline'];
  if (settings.baseline) {
    const base = await baselineFingerprints(settings.baseline, options);
    result.issues = classifyAgainstBaseline(result.issues, base.fingerprints);
    baseline = { ref: settings.baseline, commit: base.commit };
  }
  return {
    bundle,
    result,
    ...(baseline ? { baseline } : {}),
    ...(inventory ? { namespaces: { source: inventory.source, count: inventory.count } } : {}),
  };
}
