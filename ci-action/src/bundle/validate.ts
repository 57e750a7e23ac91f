/**
 * `tollgate bundle validate`: the loader's checks (JSON Schema, every error at once with path and
 * line; policy parameters; custom rules; `requires`) plus review checks on exemptions that do not
 * stop a bundle from loading but that a security team wants to see before a release: expiring soon,
 * expired, blank tickets, and exemptions shadowed by (or duplicating) an earlier one.
 */
import { BundleError, loadBundle, parseSource, webhookRulesFor } from '../../../policies/index.ts';
import type {
  BundleIssue,
  CompiledBundle,
  CompiledExemption,
  Policy,
  WebhookRule,
} from '../../../policies/index.ts';

/** Days before expiry from which an exemption is reported as expiring soon. */
export const EXPIRY_WARNING_DAYS = 14;

/** The outcome of validating a bundle. */
export interface ValidationResult {
  source: string;
  valid: boolean;
  errors: BundleIssue[];
  warnings: BundleIssue[];
  /** The loaded bundle when valid. */
  bundle?: CompiledBundle;
}

const day = 24 * 3600 * 1000;

/** Validates a bundle's bytes; never throws for a bad bundle. */
export function validateBundle(
  bytes: Uint8Array | string,
  options: { source: string; policies: readonly Policy<unknown>[]; now: Date },
): ValidationResult {
  let bundle: CompiledBundle;
  try {
    bundle = loadBundle(bytes, { source: options.source, policies: options.policies });
  } catch (error) {
    if (!(error instanceof BundleError)) throw error;
    return { source: options.source, valid: false, errors: [...error.issues], warnings: [] };
  }
  const text = typeof bytes === 'string' ? bytes : new TextDecoder().decode(bytes);
  const document = parseSource(text).documents[0];
  const lineOf = (segments: Array<string | number>): number | undefined => document?.locate(segments).line;
  const errors: BundleIssue[] = [];
  const warnings: BundleIssue[] = [];
  const exemptions = bundle.exemptions;
  exemptions.forEach((exemption, index) => {
    const at = (field?: string): { path: string; line: number | undefined } => ({
      path: `/spec/exemptions/${index}${field ? `/${field}` : ''}`,
      line: lineOf(['spec', 'exemptions', index, ...(field ? [field] : [])]),
    });
    if (!/\S/.test(exemption.ticket))
      errors.push({ ...at('ticket'), message: 'the exemption has a blank ticket' });
    if (!/\S/.test(exemption.reason))
      errors.push({ ...at('reason'), message: 'the exemption has a blank reason' });
    const remaining = exemption.expiresAt.getTime() - options.now.getTime();
    if (remaining <= 0) {
      warnings.push({
        ...at('expires'),
        message: `exemption ${exemption.ticket} for ${exemption.policy} expired on ${exemption.expires}; it no longer applies: remove it or renew it with a new ticket`,
      });
    } else if (remaining <= EXPIRY_WARNING_DAYS * day) {
      const days = Math.ceil(remaining / day);
      warnings.push({
        ...at('expires'),
        message: `exemption ${exemption.ticket} for ${exemption.policy} expires on ${exemption.expires} (in ${days} day${days === 1 ? '' : 's'}, within ${EXPIRY_WARNING_DAYS})`,
      });
    }
    for (let earlier = 0; earlier < index; earlier++) {
      const other = exemptions[earlier];
      if (!other || other.policy !== exemption.policy || !covers(other, exemption)) continue;
      const same = covers(exemption, other);
      if (same && other.expiresAt.getTime() === exemption.expiresAt.getTime()) {
        warnings.push({
          ...at(),
          message: `exemption ${exemption.ticket} duplicates exemption ${earlier} (${other.ticket}): same policy, scope and expiry`,
        });
        break;
      }
      if (other.expiresAt.getTime() >= exemption.expiresAt.getTime()) {
        warnings.push({
          ...at(),
          message: `exemption ${exemption.ticket} is shadowed by exemption ${earlier} (${other.ticket}), which covers ${same ? 'the same' : 'a wider'} scope of ${exemption.policy} until ${other.expires}: it never applies`,
        });
        break;
      }
    }
  });
  // Custom rules reach the webhook only for requests the chart's webhook configuration sends
  // (generated from the built-in policies): say so rather than let a rule be CI-only silently.
  const sent = webhookRulesFor(options.policies);
  const rules = (bundle.document.spec as { rules?: Array<{ id: string }> } | undefined)?.rules ?? [];
  rules.forEach((rule, index) => {
    const policy = bundle.policies.find((p) => p.policy.id === rule.id)?.policy;
    const missing = new Set<string>();
    for (const wanted of policy?.admissionRules ?? [])
      for (const group of wanted.apiGroups)
        for (const resource of wanted.resources)
          for (const operation of wanted.operations)
            if (!sent.some((r) => sends(r, group, resource, operation)))
              missing.add(`${operation} ${group === '' ? 'core' : group}/${resource}`);
    if (missing.size > 0)
      warnings.push({
        path: `/spec/rules/${index}/match`,
        line: lineOf(['spec', 'rules', index, 'match']) ?? lineOf(['spec', 'rules', index]),
        message: `rule ${rule.id} judges requests the chart's webhook configuration does not send (${[...missing].join(', ')}): at admission it only sees what the built-in policies subscribe to, so it is enforced in CI only for those${missing.has('CREATE */*') ? '; list match.kinds' : ''}`,
      });
  });
  const result: ValidationResult = {
    source: options.source,
    valid: errors.length === 0,
    errors,
    warnings,
  };
  if (errors.length === 0) result.bundle = bundle;
  return result;
}

/** Whether exemption `a` applies to every object `b` applies to (an absent criterion matches everything). */
function covers(a: CompiledExemption, b: CompiledExemption): boolean {
  const field = (x?: readonly string[], y?: readonly string[]): boolean =>
    x === undefined || (y !== undefined && y.every((v) => x.includes(v)));
  return field(a.namespaces, b.namespaces) && field(a.kinds, b.kinds) && field(a.names, b.names);
}

function sends(rule: WebhookRule, group: string, resource: string, operation: string): boolean {
  return (
    (rule.apiGroups.includes('*') || rule.apiGroups.includes(group)) &&
    (rule.resources.includes('*') || rule.resources.includes(resource)) &&
    (rule.operations as string[]).includes(operation)
  );
}

/** Renders issues as `source:line path: message` lines prefixed by their severity. */
export function formatValidation(result: ValidationResult): string {
  const line = (severity: string, issue: BundleIssue): string =>
    `${severity} ${result.source}${issue.line ? `:${issue.line}` : ''} ${issue.path || '/'}: ${issue.message}`;
  const out = [
    ...result.errors.map((i) => line('error', i)),
    ...result.warnings.map((i) => line('warning', i)),
  ];
  out.push(
    result.valid
      ? `${result.source}: valid (${result.bundle?.identity.name} ${result.bundle?.identity.version}, ${result.bundle?.policies.length} policies and rules, ${result.warnings.length} warning(s))`
      : `${result.source}: INVALID (${result.errors.length} error(s), ${result.warnings.length} warning(s))`,
  );
  return `${out.join('\n')}\n`;
}
