/** The machine-readable report of `tollgate check --format json` (shape documented in docs/commands.md). */
import { TOLLGATE_VERSION } from '../../../policies/index.ts';
import type { BundleIdentity } from '../../../policies/index.ts';
import type { CheckSummary, ResourceReport } from '../gate/check.ts';
import type { ManifestError } from '../gate/manifests.ts';

/** Top-level JSON document. */
export interface JsonReport {
  tollgate: string;
  bundle: BundleIdentity;
  now: string;
  summary: CheckSummary;
  errors: ManifestError[];
  resources: ResourceReport[];
}

/** Builds the JSON report object. */
export function buildJsonReport(
  reports: readonly ResourceReport[],
  inputErrors: readonly ManifestError[],
  summary: CheckSummary,
  bundle: BundleIdentity,
  now: Date,
): JsonReport {
  return {
    tollgate: TOLLGATE_VERSION,
    bundle,
    now: now.toISOString(),
    summary,
    errors: [...inputErrors],
    resources: [...reports],
  };
}
