import { TollgateError } from './tollgate-error.ts';

/** One problem in a bundle, located by its JSON path inside the bundle document. */
export interface BundleIssue {
  /** JSON-pointer-like path inside the bundle, e.g. `/spec/policies/approved-registries/registries/0`. */
  path: string;
  message: string;
  /** Line of the offending node in the bundle source, when known. */
  line?: number | undefined;
}

/** A policy bundle that cannot be loaded: invalid schema, bad parameters, or an incompatible `requires`. */
export class BundleError extends TollgateError {
  readonly source: string;
  readonly issues: readonly BundleIssue[];

  constructor(source: string, issues: readonly BundleIssue[]) {
    const lines = issues.map(
      (issue) => `  ${source}${issue.line ? `:${issue.line}` : ''} ${issue.path || '/'}: ${issue.message}`,
    );
    super('TOLLGATE_BUNDLE_INVALID', `invalid policy bundle ${source}:\n${lines.join('\n')}`);
    this.source = source;
    this.issues = issues;
  }
}
