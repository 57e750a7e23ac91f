/** The built-in policies and a bundle loader bound to them. */
import { fileURLToPath } from 'node:url';
import { approvedRegistriesPolicy } from './approved-registries/index.ts';
import { freezeWindowsPolicy } from './freeze-windows/index.ts';
import { gitopsOnlyPolicy } from './gitops-only/index.ts';
import { gitopsSourcesPolicy } from './gitops-sources/index.ts';
import { bundleSchema as bundleSchemaWith, loadBundle as loadBundleWith } from './engine/bundle.ts';
import type { CompiledBundle, LoadBundleOptions } from './engine/bundle.ts';
import { customRuleCompiler } from './custom-rules/index.ts';
import { namespaceIsolationPolicy } from './namespace-isolation/index.ts';
import { noPublicDatabasesPolicy } from './no-public-databases/index.ts';
import { podSecurityPolicy } from './pod-security/index.ts';
import type { Policy } from './engine/types.ts';
import { onDemand } from './engine/on-demand.ts';
import { resourceLimitsPolicy } from './resource-limits/index.ts';
import { signedImagesPolicy } from './signed-images/index.ts';
import { tenantQuotasPolicy } from './tenant-quotas/index.ts';

/** Every built-in policy, in report order. Policy ids are stable API. */
export const builtinPolicies: readonly Policy<unknown>[] = Object.freeze([
  approvedRegistriesPolicy as Policy<unknown>,
  signedImagesPolicy as Policy<unknown>,
  resourceLimitsPolicy as Policy<unknown>,
  namespaceIsolationPolicy as Policy<unknown>,
  podSecurityPolicy as Policy<unknown>,
  noPublicDatabasesPolicy as Policy<unknown>,
  tenantQuotasPolicy as Policy<unknown>,
  freezeWindowsPolicy as Policy<unknown>,
  gitopsOnlyPolicy as Policy<unknown>,
  gitopsSourcesPolicy as Policy<unknown>,
]);

/**
 * The validator generated ahead of time for the built-in policies (650 KB of ajv standalone code),
 * loaded on first use: the embedded default bundle, validated when it was built, never needs it.
 */
const builtinBundleValidator = onDemand<{ default: ReturnType<NonNullable<LoadBundleOptions['validator']>> }>(
  fileURLToPath(new URL('./bundle-validator.generated.js', import.meta.url)),
  () => require('./bundle-validator.generated.js'),
);

/** Loads a bundle against the built-in policies and custom rules. */
export function loadBuiltinBundle(bytes: string | Uint8Array, source: string): CompiledBundle {
  return loadBundle(bytes, { source });
}

/**
 * Loads a bundle (YAML or JSON bytes). `policies` defaults to the built-in policies and custom rules
 * (`spec.rules`) are compiled by the custom-rules policy unless another compiler is given. The
 * built-in policies with custom rules are validated by the validator generated ahead of time
 * (scripts/generated.ts); any other set is compiled with ajv on first use.
 */
export function loadBundle(
  bytes: string | Uint8Array,
  options: Omit<LoadBundleOptions, 'policies'> & { policies?: LoadBundleOptions['policies'] },
): CompiledBundle {
  const policies = options.policies ?? builtinPolicies;
  const rules = 'rules' in options ? options.rules : customRuleCompiler;
  const builtin = policies === builtinPolicies && rules === customRuleCompiler;
  return loadBundleWith(bytes, {
    ...(builtin ? { validator: () => builtinBundleValidator().default } : {}),
    rules: customRuleCompiler,
    ...options,
    policies,
  });
}

/** The bundle's JSON Schema for these policies (default: the built-in ones), custom rules included. */
export function bundleSchema(
  policies: LoadBundleOptions['policies'] = builtinPolicies,
): Record<string, unknown> {
  return bundleSchemaWith(policies, customRuleCompiler);
}

export * from './engine/index.ts';
export * from './engine/image-verifier.ts';

// What the edges (io, webhook, ci-action, cli) use beyond the engine's public surface.
export { type WebhookRule, webhookRulesFor } from './engine/admission-rules.ts';
export {
  type BreakGlassClaims,
  type BreakGlassConfig,
  type BreakGlassTarget,
  type BreakGlassVerdict,
  addApproval,
  breakGlassAnnotation,
  createRequest,
  decodeToken,
  parseClaims,
  verifyBreakGlass,
} from './engine/break-glass.ts';
export { type EntityCalendar } from './freeze-windows/calendar.ts';
export { type FreezeWindowsParams, loadHolidayCalendars } from './freeze-windows/index.ts';
export { type Scope } from './engine/scope.ts';
export {
  type FreezeWindow,
  activeWindows,
  describeLocal,
  entityWindows,
  nextWindow,
} from './freeze-windows/windows.ts';
export { parseDuration } from './engine/duration.ts';
export { daysInMonth, formatInZone, formatWall, toWallTime } from './freeze-windows/zone.ts';
export { freezeParamsIn, freezeStatusAt, type EntityFreezeStatus } from './freeze-windows/status.ts';
