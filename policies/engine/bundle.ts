/**
 * Policy bundles: the versioned document security teams maintain. Loading validates it against
 * the JSON Schema (every error at once, with its path and line), compiles each policy's
 * parameters, checks `requires` against the running version, and freezes the result.
 */
import { createHash } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import type * as SchemaCompiler from './schema-compiler.ts';
import type { ErrorObject, Options as AjvOptions, ValidateFunction } from 'ajv';
import { isMap, isScalar, isSeq, LineCounter, parseDocument } from 'yaml';
import type { Document } from 'yaml';
import { breakGlassSchema, compileBreakGlass } from './break-glass.ts';
import type { BreakGlassConfig } from './break-glass.ts';
import { BundleError, ConfigError } from './errors/index.ts';
import { onDemand } from './on-demand.ts';
import { semver } from './semver.ts';
import type { BundleIssue } from './errors/index.ts';
import type { BundleIdentity, BundleSettings, EnforcementAction, EnforcementPoint, Policy } from './types.ts';
import { TOLLGATE_VERSION } from './version.ts';

/** Enforcement as written in a bundle: one action, or one per enforcement point. */
export type EnforcementSetting =
  EnforcementAction | { admission?: EnforcementAction; ci?: EnforcementAction; audit?: EnforcementAction };

/** An exemption as written in a bundle. */
export interface ExemptionSpec {
  policy: string;
  namespaces?: string[];
  names?: string[];
  kinds?: string[];
  reason: string;
  ticket: string;
  /** Who answers for the exception (a person or team); shown in evidence reports. */
  owner?: string;
  /** Last day (UTC) on which the exemption applies, `YYYY-MM-DD`, or an exact ISO-8601 instant. */
  expires: string;
}

/** A policy as configured in a bundle, parameters compiled. */
export interface CompiledPolicy {
  readonly policy: Policy<unknown>;
  readonly params: unknown;
  readonly enforcement: Readonly<Record<EnforcementPoint, EnforcementAction>>;
  readonly controls: readonly string[];
}

/** An exemption ready for matching. */
export interface CompiledExemption extends Readonly<ExemptionSpec> {
  /** First instant at which the exemption no longer applies. */
  readonly expiresAt: Date;
}

/** A loaded, validated, frozen bundle. */
export interface CompiledBundle {
  readonly identity: BundleIdentity;
  readonly requires: string;
  readonly source: string;
  readonly policies: readonly CompiledPolicy[];
  readonly exemptions: readonly CompiledExemption[];
  /** Break-glass approvers configured once for the bundle (`spec.breakGlass`), if any. */
  readonly breakGlass?: BreakGlassConfig;
  /**
   * The namespace CI judges a namespaced manifest without `metadata.namespace` in (`spec.defaultNamespace`,
   * what kubectl's context would use); `tollgate check --default-namespace` overrides it. Unset: `default`.
   */
  readonly defaultNamespace?: string;
  /** The validated document, for diffing and display. */
  readonly document: Readonly<Record<string, unknown>>;
}

/** Options for {@link loadBundle}. */
export interface LoadBundleOptions {
  /** Name used in error messages (a file path). */
  source: string;
  /** The policies the bundle may configure. */
  policies: readonly Policy<unknown>[];
  /** Running version checked against `spec.requires`; defaults to {@link TOLLGATE_VERSION}. */
  version?: string;
  /**
   * Compiles `spec.rules` (custom rules). Injected so that the engine imports no policy folder;
   * without it a bundle with custom rules is refused.
   */
  rules?: RuleCompiler;
  /**
   * Loads the validator of `bundleSchema(policies, rules)` compiled ahead of time (ajv standalone
   * code, policies/bundle-validator.generated.js for the built-in policies), called only when a
   * document is validated; compiled with ajv on first use when absent.
   */
  validator?: () => ValidateFunction;
  /**
   * The bytes' YAML already parsed (the build parses the embedded default bundle ahead of time, as
   * `doc.toJS()` would); the text is then parsed again only to place a problem on its line.
   */
  document?: unknown;
  /**
   * `document` was loaded when this build embedded it (the embedded default bundle: scripts/build.ts
   * loads it and refuses to build when loading fails), so its schema validation is skipped, and so
   * are the checks of its version and `spec.requires` unless `version` names another running
   * version; its policies are compiled as always.
   */
  prevalidated?: boolean;
}

/** A custom rule as the engine sees it before the rule compiler reads it. */
export interface RuleSpecBase {
  id: string;
  enforcement?: unknown;
  controls?: string[];
}

/** Turns `spec.rules` entries into policies; provided by the custom-rules policy folder. */
export interface RuleCompiler {
  /** Pattern of rule ids (exemptions may name a rule). */
  readonly idPattern: string;
  /** JSON Schema of `spec.rules`, sharing the bundle's enforcement and controls schemas. */
  schema(shared: { enforcement: unknown; controls: unknown }): Record<string, unknown>;
  /** Compiles one rule; throws {@link ConfigError} with a path relative to the rule. */
  compile(spec: RuleSpecBase): { policy: Policy<unknown>; params: unknown };
}

/** `spec.rules` when no rule compiler is given: none allowed. */
const noRulesSchema = {
  type: 'array',
  maxItems: 0,
  description: 'custom rules are not available: the bundle loader was given no rule compiler',
};

const actions = ['deny', 'warn', 'audit', 'off'];

const enforcementSchema = {
  description:
    'deny | warn | audit | off, or one action per enforcement point (admission, ci, audit; audit defaults to the admission action)',
  oneOf: [
    { enum: actions },
    {
      type: 'object',
      properties: { admission: { enum: actions }, ci: { enum: actions }, audit: { enum: actions } },
      additionalProperties: false,
      minProperties: 1,
    },
  ],
};

const controlsSchema = {
  type: 'array',
  items: { type: 'string', minLength: 1 },
  description: 'Control references (e.g. SOX-ITGC-CM-01, PCI-DSS-6.4.2, DORA-Art.9)',
};

/** Builds the bundle JSON Schema for a set of policies (published by `tollgate bundle schema`). */
export function bundleSchema(
  policies: readonly Policy<unknown>[],
  rules?: RuleCompiler,
): Record<string, unknown> {
  const policyProperties: Record<string, unknown> = {};
  for (const policy of policies) {
    const params = policy.paramsSchema;
    const paramProperties = (params.properties ?? {}) as Record<string, unknown>;
    policyProperties[policy.id] = {
      type: 'object',
      description: policy.description,
      properties: {
        enforcement: enforcementSchema,
        controls: controlsSchema,
        ...paramProperties,
      },
      ...(params.required ? { required: params.required } : {}),
      additionalProperties: false,
    };
  }
  return {
    $schema: 'http://json-schema.org/draft-07/schema#',
    $id: 'https://tollgate.dev/schemas/policy-bundle-v1.json',
    title: 'tollgate PolicyBundle',
    type: 'object',
    required: ['apiVersion', 'kind', 'metadata', 'spec'],
    additionalProperties: false,
    properties: {
      apiVersion: { const: 'tollgate.dev/v1' },
      kind: { const: 'PolicyBundle' },
      metadata: {
        type: 'object',
        required: ['name', 'version'],
        additionalProperties: false,
        properties: {
          name: { type: 'string', pattern: '^[a-z0-9]([-a-z0-9]*[a-z0-9])?$', maxLength: 63 },
          version: { type: 'string', description: 'semantic version of the bundle' },
          description: { type: 'string' },
          annotations: { type: 'object', additionalProperties: { type: 'string' } },
        },
      },
      spec: {
        type: 'object',
        required: ['policies'],
        additionalProperties: false,
        properties: {
          requires: {
            type: 'string',
            description: 'semver range of tollgate versions this bundle works with',
          },
          policies: { type: 'object', properties: policyProperties, additionalProperties: false },
          defaultNamespace: {
            type: 'string',
            pattern: '^[a-z0-9]([-a-z0-9]*[a-z0-9])?$',
            maxLength: 63,
            description:
              'the namespace kubectl would use for a namespaced manifest without metadata.namespace (its context namespace): tollgate check judges such manifests as if in it, as the webhook sees them (default: default; --default-namespace overrides it)',
            examples: ['tenant-acme'],
          },
          breakGlass: {
            ...breakGlassSchema,
            description:
              'emergency changes: approver keys and rules for break-glass tokens, honoured by every policy that accepts them (freeze-windows, gitops-only)',
          },
          rules: rules?.schema({ enforcement: enforcementSchema, controls: controlsSchema }) ?? noRulesSchema,
          exemptions: {
            type: 'array',
            items: {
              type: 'object',
              required: ['policy', 'reason', 'ticket', 'expires'],
              additionalProperties: false,
              properties: {
                policy: {
                  type: 'string',
                  description: 'a built-in policy id or the id of a rule in spec.rules',
                  anyOf: [
                    { enum: policies.map((p) => p.id) },
                    ...(rules ? [{ pattern: rules.idPattern }] : []),
                  ],
                },
                namespaces: { type: 'array', items: { type: 'string', minLength: 1 }, minItems: 1 },
                names: { type: 'array', items: { type: 'string', minLength: 1 }, minItems: 1 },
                kinds: { type: 'array', items: { type: 'string', minLength: 1 }, minItems: 1 },
                reason: { type: 'string', minLength: 1 },
                ticket: { type: 'string', minLength: 1 },
                owner: {
                  type: 'string',
                  minLength: 1,
                  description: 'who answers for the exception (a person or team); evidence reports list it',
                },
                expires: {
                  type: 'string',
                  anyOf: [{ format: 'date' }, { format: 'date-time' }],
                  description: 'last day (UTC) the exemption applies, or an exact instant',
                },
              },
            },
          },
        },
      },
    },
  };
}

interface BundleDocument {
  apiVersion: string;
  kind: string;
  metadata: { name: string; version: string; description?: string };
  spec: {
    requires?: string;
    policies: Record<
      string,
      Record<string, unknown> & { enforcement?: EnforcementSetting; controls?: string[] }
    >;
    exemptions?: ExemptionSpec[];
    rules?: RuleSpecBase[];
    breakGlass?: Record<string, unknown>;
    defaultNamespace?: string;
  };
}

const validators = new WeakMap<
  readonly Policy<unknown>[],
  Map<RuleCompiler | undefined, ReturnType<typeof compileValidator>>
>();

/** The ajv options of the bundle validator, compiled here or ahead of time (scripts/generated.ts). */
export const bundleValidatorOptions = Object.freeze({
  allErrors: true,
  strict: false,
  useDefaults: false,
  verbose: true,
} satisfies AjvOptions);

/**
 * ajv loads on first use: the built-in policies' validator is generated ahead of time, so only
 * another policy set (tests, an embedding program) compiles one.
 */
const schemaCompiler = onDemand<typeof SchemaCompiler>(
  fileURLToPath(new URL('./schema-compiler.ts', import.meta.url)),
  () => require('./schema-compiler.ts'),
);

function compileValidator(policies: readonly Policy<unknown>[], rules: RuleCompiler | undefined) {
  return schemaCompiler().compileSchema<BundleDocument>(
    bundleSchema(policies, rules),
    bundleValidatorOptions,
  );
}

/** The validator compiled with ajv for these policies and rule compiler, once per process. */
function cachedValidator(options: LoadBundleOptions): ValidateFunction<BundleDocument> {
  let byCompiler = validators.get(options.policies);
  if (!byCompiler) {
    byCompiler = new Map();
    validators.set(options.policies, byCompiler);
  }
  let validate = byCompiler.get(options.rules);
  if (!validate) {
    validate = compileValidator(options.policies, options.rules);
    byCompiler.set(options.rules, validate);
  }
  return validate;
}

/** Computes the `sha256:<hex>` digest of a bundle's exact bytes. */
export function bundleDigest(bytes: string | Uint8Array): string {
  return `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
}

/** Loads a bundle from its exact bytes (YAML or JSON). Throws {@link BundleError} listing every problem. */
export function loadBundle(bytes: string | Uint8Array, options: LoadBundleOptions): CompiledBundle {
  const text = typeof bytes === 'string' ? bytes : new TextDecoder('utf-8', { fatal: false }).decode(bytes);
  let parsed: { doc: Document; lineCounter: LineCounter } | undefined;
  const parse = (): { doc: Document; lineCounter: LineCounter } => {
    if (!parsed) {
      const lineCounter = new LineCounter();
      parsed = {
        doc: parseDocument(text, { lineCounter, uniqueKeys: true, prettyErrors: false }),
        lineCounter,
      };
    }
    return parsed;
  };
  let value: unknown = options.document;
  if (value === undefined) {
    const { doc, lineCounter } = parse();
    if (doc.errors.length > 0) {
      throw new BundleError(
        options.source,
        doc.errors.map((error) => ({
          path: '',
          message: `YAML syntax: ${error.message.split('\n')[0] ?? ''}`,
          line: lineCounter.linePos(error.pos[0]).line,
        })),
      );
    }
    value = doc.toJS({ maxAliasCount: 100 });
  }
  const lineOf = (pointer: string): number | undefined => {
    const { doc, lineCounter } = parse();
    return lineOfPointer(doc, lineCounter, pointer);
  };
  const prevalidated = options.prevalidated === true && options.document !== undefined;
  if (!prevalidated) {
    const validate =
      (options.validator?.() as ValidateFunction<BundleDocument> | undefined) ?? cachedValidator(options);
    if (!validate(value)) {
      throw new BundleError(options.source, formatAjvErrors(validate.errors ?? [], lineOf));
    }
  }
  // Checked by the schema just above, or when the build embedded it.
  const checked = value as BundleDocument;
  const issues: BundleIssue[] = [];
  // A document validated when this build embedded it was loaded then, by this same version: its
  // version and requirement were checked there (options.version set means another version runs).
  if (!(prevalidated && options.version === undefined))
    issues.push(...versionIssues(checked, options.version ?? TOLLGATE_VERSION, lineOf));
  const settings: { -readonly [K in keyof BundleSettings]: BundleSettings[K] } = {};
  if (checked.spec.breakGlass) {
    try {
      settings.breakGlass = deepFreeze(compileBreakGlass(checked.spec.breakGlass, 'breakGlass'));
    } catch (error) {
      if (!(error instanceof ConfigError)) throw error;
      const pointer = `/spec/${error.path.replace(/^\//, '')}`;
      issues.push({ path: pointer, message: error.message, line: lineOf(pointer) });
    }
  }
  Object.freeze(settings);
  const byId = new Map(options.policies.map((policy) => [policy.id, policy]));
  const compiled: CompiledPolicy[] = [];
  for (const [id, raw] of Object.entries(checked.spec.policies)) {
    const policy = byId.get(id);
    if (!policy) continue; // unreachable: the schema rejects unknown ids
    const { enforcement, controls, ...params } = raw;
    try {
      compiled.push(
        Object.freeze({
          policy,
          params: deepFreeze(policy.compile(params, settings)),
          enforcement: Object.freeze(resolveEnforcement(enforcement)),
          controls: Object.freeze([...(controls ?? [])]),
        }),
      );
    } catch (error) {
      if (!(error instanceof ConfigError)) throw error;
      const pointer = `/spec/policies/${id}${error.path ? `/${error.path.replace(/^\//, '')}` : ''}`;
      issues.push({ path: pointer, message: error.message, line: lineOf(pointer) });
    }
  }
  const ruleIds = new Set<string>();
  (checked.spec.rules ?? []).forEach((spec, index) => {
    const pointer = `/spec/rules/${index}`;
    if (byId.has(spec.id) || ruleIds.has(spec.id)) {
      issues.push({
        path: `${pointer}/id`,
        message: `rule id "${spec.id}" is already used by ${byId.has(spec.id) ? 'a built-in policy' : 'another rule'}`,
        line: lineOf(`${pointer}/id`),
      });
      return;
    }
    ruleIds.add(spec.id);
    try {
      if (!options.rules) return; // unreachable: the schema allows no rules without a compiler
      const rule = options.rules.compile(spec);
      compiled.push(
        Object.freeze({
          policy: rule.policy,
          params: rule.params,
          enforcement: Object.freeze(resolveEnforcement(spec.enforcement as EnforcementSetting | undefined)),
          controls: Object.freeze([...(spec.controls ?? [])]),
        }),
      );
    } catch (error) {
      if (!(error instanceof ConfigError)) throw error;
      const path = `${pointer}/${error.path}`;
      issues.push({ path, message: error.message, line: lineOf(path) });
    }
  });
  const exemptions: CompiledExemption[] = [];
  (checked.spec.exemptions ?? []).forEach((exemption, index) => {
    const expiresAt = exemptionEnd(exemption.expires);
    if (!expiresAt) {
      issues.push({
        path: `/spec/exemptions/${index}/expires`,
        message: `"${exemption.expires}" is not a valid date`,
        line: lineOf(`/spec/exemptions/${index}/expires`),
      });
      return;
    }
    if (!checked.spec.policies[exemption.policy] && !ruleIds.has(exemption.policy)) {
      issues.push({
        path: `/spec/exemptions/${index}/policy`,
        message: `exemption for policy "${exemption.policy}", which this bundle does not configure`,
        line: lineOf(`/spec/exemptions/${index}/policy`),
      });
    }
    exemptions.push(Object.freeze({ ...exemption, expiresAt }));
  });
  if (issues.length > 0) throw new BundleError(options.source, issues);
  return Object.freeze({
    identity: Object.freeze({
      name: checked.metadata.name,
      version: checked.metadata.version,
      digest: bundleDigest(bytes),
    }),
    requires: checked.spec.requires ?? '*',
    source: options.source,
    policies: Object.freeze(compiled),
    exemptions: Object.freeze(exemptions),
    ...(settings.breakGlass ? { breakGlass: settings.breakGlass } : {}),
    ...(checked.spec.defaultNamespace ? { defaultNamespace: checked.spec.defaultNamespace } : {}),
    document: deepFreeze(value as unknown as Record<string, unknown>),
  });
}

/**
 * Resolves an enforcement setting to one action per point; omitted means deny, and an unset `audit`
 * takes the admission action (the audit asks whether the cluster would admit what runs).
 */
export function resolveEnforcement(
  setting: EnforcementSetting | undefined,
): Record<EnforcementPoint, EnforcementAction> {
  if (setting === undefined) return { admission: 'deny', ci: 'deny', audit: 'deny' };
  if (typeof setting === 'string') return { admission: setting, ci: setting, audit: setting };
  const admission = setting.admission ?? 'deny';
  return { admission, ci: setting.ci ?? 'deny', audit: setting.audit ?? admission };
}

function exemptionEnd(expires: string): Date | undefined {
  if (/^\d{4}-\d{2}-\d{2}$/.test(expires)) {
    const day = new Date(`${expires}T00:00:00Z`);
    if (Number.isNaN(day.getTime())) return undefined;
    return new Date(day.getTime() + 24 * 3600 * 1000);
  }
  const instant = new Date(expires);
  return Number.isNaN(instant.getTime()) ? undefined : instant;
}

function formatAjvErrors(
  errors: readonly ErrorObject[],
  lineOf: (pointer: string) => number | undefined,
): BundleIssue[] {
  const seen = new Set<string>();
  const issues: BundleIssue[] = [];
  for (const error of errors) {
    let path = error.instancePath;
    let message = error.message ?? 'is invalid';
    if (error.keyword === 'additionalProperties') {
      const extra = String((error.params as { additionalProperty?: string }).additionalProperty);
      path = `${path}/${extra}`;
      message =
        path.startsWith('/spec/policies/') && path.split('/').length === 4
          ? `unknown policy "${extra}"`
          : `unknown field "${extra}"`;
    } else if (error.keyword === 'required') {
      message = `missing required field "${String((error.params as { missingProperty?: string }).missingProperty)}"`;
    } else if (error.keyword === 'enum') {
      message = `must be one of ${JSON.stringify((error.params as { allowedValues?: unknown }).allowedValues)}`;
    } else if (error.keyword === 'const') {
      message = `must be ${JSON.stringify((error.params as { allowedValue?: unknown }).allowedValue)}`;
    } else if (error.keyword === 'oneOf' || error.keyword === 'anyOf') {
      message =
        error.parentSchema && 'description' in error.parentSchema
          ? `must be ${String(error.parentSchema.description)}`
          : message;
    }
    const key = `${path} ${message}`;
    if (seen.has(key)) continue;
    seen.add(key);
    issues.push({ path, message, line: lineOf(path) });
  }
  // A oneOf failure repeats its branches' errors; keep only the summary for paths that have one.
  const summarized = new Set(issues.filter((i) => i.message.startsWith('must be deny')).map((i) => i.path));
  return issues.filter(
    (issue) =>
      !(summarized.has(issue.path) && !issue.message.startsWith('must be deny')) &&
      !isInside(issue.path, summarized),
  );
}

function isInside(path: string, parents: Set<string>): boolean {
  for (const parent of parents) if (path !== parent && path.startsWith(`${parent}/`)) return true;
  return false;
}

function lineOfPointer(doc: Document, lineCounter: LineCounter, pointer: string): number | undefined {
  const segments = pointer
    .split('/')
    .slice(1)
    .map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'));
  let node: unknown = doc.contents;
  let offset: number | undefined = doc.contents?.range?.[0];
  for (const segment of segments) {
    if (isMap(node)) {
      const pair = node.items.find((item) => isScalar(item.key) && String(item.key.value) === segment);
      if (!pair) break;
      if (isScalar(pair.key) && pair.key.range) offset = pair.key.range[0];
      node = pair.value;
    } else if (isSeq(node)) {
      const item = node.items[Number(segment)];
      if (!item) break;
      if (typeof item === 'object' && item !== null && 'range' in item && Array.isArray(item.range))
        offset = item.range[0] as number;
      node = item;
    } else break;
  }
  return offset === undefined ? undefined : lineCounter.linePos(offset).line;
}

/** Problems with the bundle's own version and the tollgate versions it requires. */
function versionIssues(
  bundle: BundleDocument,
  version: string,
  lineOf: (pointer: string) => number | undefined,
): BundleIssue[] {
  const issues: BundleIssue[] = [];
  const { valid, validRange, satisfies } = semver();
  if (!valid(bundle.metadata.version)) {
    issues.push({
      path: '/metadata/version',
      message: `"${bundle.metadata.version}" is not a semantic version`,
      line: lineOf('/metadata/version'),
    });
  }
  const requires = bundle.spec.requires ?? '*';
  if (!validRange(requires)) {
    issues.push({
      path: '/spec/requires',
      message: `"${requires}" is not a semver range`,
      line: lineOf('/spec/requires'),
    });
  } else if (!satisfies(version, requires, { includePrerelease: true })) {
    issues.push({
      path: '/spec/requires',
      message: `bundle requires tollgate ${requires} but this is tollgate ${version}`,
      line: lineOf('/spec/requires'),
    });
  }
  return issues;
}

/** Recursively freezes a value so configuration cannot change after validation. */
export function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const child of Object.values(value)) deepFreeze(child);
  }
  return value;
}
