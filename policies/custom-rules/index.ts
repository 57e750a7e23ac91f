/**
 * Custom rules: checks a security team declares in a bundle's `spec.rules` (match, a JSONPath
 * selection, a condition, message and fix). Each rule compiles into an ordinary {@link Policy} that
 * the engine runs after the built-ins, so rules get the same statuses, exemptions, enforcement per
 * point and CI/admission parity as built-in policies.
 *
 * Safety: JSONPath runs with script evaluation disabled (`eval: false`, filter and script
 * expressions are rejected at load); at most {@link MAX_SELECTED_NODES} nodes are judged; regular
 * expressions run on RE2 (re2js, linear time, no backreferences or lookaround) over at most
 * {@link MAX_REGEX_INPUT} characters. Exceeding a bound is an evaluation error (status `error`).
 */
import type * as JsonPathPlus from 'jsonpath-plus';
import type * as Re2js from 're2js';
import type { RE2JS } from 're2js';
import { skip } from '../engine/evaluate.ts';
import { ConfigError } from '../engine/errors/index.ts';
import {
  labelSelectorProblems,
  labelSelectorSchema,
  matchesLabelSelector,
} from '../engine/label-selector.ts';
import type { LabelSelector } from '../engine/label-selector.ts';
import type { RuleCompiler, RuleSpecBase } from '../engine/bundle.ts';
import { onDemand } from '../engine/on-demand.ts';
import { formatPath } from '../engine/path.ts';
import type { PathSegment } from '../engine/path.ts';
import { compareQuantities, parseQuantity } from '../engine/quantity.ts';
import type { Quantity } from '../engine/quantity.ts';
import type { AdmissionRule, FindingDraft, Operation, Policy, PolicyInput } from '../engine/types.ts';
import { getIn, isRecord } from '../engine/workloads.ts';

/** RE2 and JSONPath load on first use: only bundles with custom rules need them. */
const re2js = onDemand<typeof Re2js>('re2js', () => require('re2js'));
const jsonPath = onDemand<typeof JsonPathPlus>('jsonpath-plus', () => require('jsonpath-plus'));

/** Most nodes a rule's selection may yield on one object before evaluation stops with an error. */
export const MAX_SELECTED_NODES = 1000;
/** Longest string a rule's regular expression is run on. */
export const MAX_REGEX_INPUT = 16_384;
/** Longest regular expression source accepted in a bundle. */
export const MAX_PATTERN_LENGTH = 1024;

/** A label selector as in Kubernetes (`matchLabels`, `matchExpressions`). */
export type LabelSelectorSpec = LabelSelector;

/** Which requests a rule judges; every listed criterion must hold. */
export interface RuleMatchSpec {
  kinds?: string[];
  namespaces?: string[];
  excludeNamespaces?: string[];
  labels?: LabelSelectorSpec;
  /** Defaults to CREATE and UPDATE. */
  operations?: Operation[];
}

/** What each judged value must satisfy; every listed test must hold. */
export interface RuleConditionSpec {
  equals?: unknown;
  notEquals?: unknown;
  in?: unknown[];
  notIn?: unknown[];
  matches?: string;
  notMatches?: string;
  exists?: true;
  notExists?: true;
  gt?: number | string;
  gte?: number | string;
  lt?: number | string;
  lte?: number | string;
}

/** A custom rule as written in `spec.rules`. */
export interface RuleSpec {
  id: string;
  description: string;
  match?: RuleMatchSpec;
  /** JSONPath (jsonpath-plus syntax, no filter or script expressions) selecting the nodes to judge. */
  select: string;
  /** Optional field path relative to each selected node (`resources.limits.memory`). */
  field?: string;
  condition: RuleConditionSpec;
  /** Finding message; `{value}` and `{path}` are replaced. */
  message: string;
  fix?: string;
  enforcement?: unknown;
  controls?: string[];
}

/** Pattern of policy and rule ids. */
export const idPattern = '^[a-z0-9]([-a-z0-9]*[a-z0-9])?$';
const comparable = {
  description: 'a number, or a Kubernetes quantity string such as "2Gi" or "500m"',
  type: ['number', 'string'],
};
const operations = ['CREATE', 'UPDATE', 'DELETE', 'CONNECT'];

/** JSON Schema of `spec.rules`, sharing the bundle's enforcement and controls schemas. */
export function rulesSchema(shared: { enforcement: unknown; controls: unknown }): Record<string, unknown> {
  return {
    type: 'array',
    description: 'Custom rules, compiled into policies that run after the built-ins',
    items: {
      type: 'object',
      required: ['id', 'description', 'select', 'condition', 'message'],
      additionalProperties: false,
      properties: {
        id: {
          type: 'string',
          pattern: idPattern,
          maxLength: 63,
          description: 'stable rule id, like a policy id',
        },
        description: { type: 'string', minLength: 1 },
        match: {
          type: 'object',
          additionalProperties: false,
          properties: {
            kinds: { type: 'array', items: { type: 'string', minLength: 1 }, minItems: 1 },
            namespaces: { type: 'array', items: { type: 'string', minLength: 1 }, minItems: 1 },
            excludeNamespaces: { type: 'array', items: { type: 'string', minLength: 1 }, minItems: 1 },
            labels: labelSelectorSchema,
            operations: { type: 'array', items: { enum: operations }, minItems: 1 },
          },
        },
        select: {
          type: 'string',
          pattern: '^\\$',
          maxLength: 512,
          description: 'JSONPath selecting the nodes to judge, e.g. $.spec.template.spec.containers[*].image',
        },
        field: {
          type: 'string',
          minLength: 1,
          description: 'field relative to each selected node, e.g. resources.limits.memory',
        },
        condition: {
          type: 'object',
          minProperties: 1,
          additionalProperties: false,
          properties: {
            equals: { description: 'the value must equal this' },
            notEquals: { description: 'the value must differ from this' },
            in: { type: 'array', description: 'the value must be one of these' },
            notIn: { type: 'array', description: 'the value must be none of these' },
            matches: {
              type: 'string',
              description: 'RE2 pattern the value must contain a match of (anchor with ^…$)',
            },
            notMatches: { type: 'string', description: 'RE2 pattern the value must not match' },
            exists: { const: true, description: 'the selection (or field) must be present' },
            notExists: { const: true, description: 'the selection (or field) must be absent' },
            gt: comparable,
            gte: comparable,
            lt: comparable,
            lte: comparable,
          },
        },
        message: {
          type: 'string',
          minLength: 1,
          description: 'finding message; {value} and {path} are replaced',
        },
        fix: { type: 'string', minLength: 1 },
        enforcement: shared.enforcement,
        controls: shared.controls,
      },
    },
  };
}

type Bound = { kind: 'number'; value: number } | { kind: 'quantity'; value: Quantity };

/** A rule after validation: patterns compiled, bounds parsed, path checked. */
export interface CompiledRule {
  readonly spec: Readonly<RuleSpec>;
  readonly operations: readonly Operation[];
  readonly field: readonly PathSegment[] | undefined;
  readonly staticPrefix: readonly string[];
  readonly matches: RE2JS | undefined;
  readonly notMatches: RE2JS | undefined;
  readonly bounds: ReadonlyArray<readonly ['gt' | 'gte' | 'lt' | 'lte', Bound]>;
}

function compilePattern(pattern: string, key: string): RE2JS {
  if (pattern.length > MAX_PATTERN_LENGTH)
    throw new ConfigError(`condition/${key}`, `pattern is longer than ${MAX_PATTERN_LENGTH} characters`);
  try {
    return re2js().RE2JS.compile(pattern);
  } catch (error) {
    throw new ConfigError(
      `condition/${key}`,
      `pattern ${JSON.stringify(pattern)} is not accepted: ${error instanceof Error ? error.message : String(error)} ` +
        '(rules use RE2 syntax, which guarantees linear-time matching: no backreferences, no lookaround)',
    );
  }
}

function compileBound(raw: number | string, key: string): Bound {
  if (typeof raw === 'number') return { kind: 'number', value: raw };
  const quantity = parseQuantity(raw);
  if (!quantity)
    throw new ConfigError(`condition/${key}`, `"${raw}" is neither a number nor a Kubernetes quantity`);
  return { kind: 'quantity', value: quantity };
}

function checkJsonPath(path: string): string[] {
  let segments: string[];
  try {
    segments = [...jsonPath().JSONPath.toPathArray(path)];
  } catch (error) {
    throw new ConfigError(
      'select',
      `"${path}" is not a JSONPath: ${error instanceof Error ? error.message : String(error)}`,
    );
  }
  if (segments[0] !== '$') throw new ConfigError('select', `"${path}" must start at the root ($)`);
  for (const segment of segments) {
    if (segment.startsWith('?(') || segment.startsWith('(') || segment.includes('@.')) {
      throw new ConfigError(
        'select',
        `"${path}": filter and script expressions (${segment}) are not allowed; select with names, indexes, [*] and ..`,
      );
    }
  }
  // Probe once so syntax problems surface at load, not at admission time.
  jsonPath().JSONPath({ path, json: {}, eval: false, wrap: true });
  return segments.slice(1);
}

function parseField(field: string): PathSegment[] {
  const segments: PathSegment[] = [];
  for (const part of field.split('.')) {
    const match = /^([^[\]]*)((?:\[\d+\])*)$/.exec(part);
    if (!match || (match[1] === '' && (match[2] ?? '') === ''))
      throw new ConfigError('field', `"${field}" is not a dotted field path (e.g. resources.limits.memory)`);
    if (match[1]) segments.push(match[1]);
    for (const index of (match[2] ?? '').matchAll(/\[(\d+)\]/g)) segments.push(Number(index[1]));
  }
  return segments;
}

/** Validates and compiles one rule; throws {@link ConfigError} (path relative to the rule) on semantic errors. */
export function compileRule(spec: RuleSpec): CompiledRule {
  const segments = checkJsonPath(spec.select);
  const staticPrefix: string[] = [];
  for (const segment of segments) {
    if (segment === '*' || segment === '..' || segment.startsWith('@') || /[,:]/.test(segment)) break;
    staticPrefix.push(segment);
  }
  const condition = spec.condition;
  if (condition.exists && condition.notExists)
    throw new ConfigError('condition', 'exists and notExists contradict each other');
  const bounds: Array<readonly ['gt' | 'gte' | 'lt' | 'lte', Bound]> = [];
  for (const key of ['gt', 'gte', 'lt', 'lte'] as const) {
    const raw = condition[key];
    if (raw !== undefined) bounds.push([key, compileBound(raw, key)]);
  }
  for (const { requirement, needsValues } of labelSelectorProblems(spec.match?.labels ?? {}))
    throw new ConfigError(
      'match/labels',
      `operator ${requirement.operator} for key "${requirement.key}" ${needsValues ? 'needs' : 'takes no'} values`,
    );
  return Object.freeze({
    spec,
    operations: spec.match?.operations ?? (['CREATE', 'UPDATE'] as Operation[]),
    field: spec.field === undefined ? undefined : parseField(spec.field),
    staticPrefix,
    matches: condition.matches === undefined ? undefined : compilePattern(condition.matches, 'matches'),
    notMatches:
      condition.notMatches === undefined ? undefined : compilePattern(condition.notMatches, 'notMatches'),
    bounds,
  });
}

/** Why a rule does not apply to an input, or undefined when it does. */
export function ruleSkipReason(rule: CompiledRule, input: PolicyInput): string | undefined {
  const match = rule.spec.match ?? {};
  if (!rule.operations.includes(input.operation))
    return `rule ${rule.spec.id} judges ${rule.operations.join(', ')}, not ${input.operation}`;
  const kind = input.object.kind ?? '';
  if (match.kinds && !match.kinds.includes(kind))
    return `rule ${rule.spec.id} does not judge kind ${kind || '(none)'}`;
  const namespace = input.namespace;
  if (match.namespaces && !(namespace !== undefined && match.namespaces.includes(namespace)))
    return `rule ${rule.spec.id} does not judge namespace ${namespace ?? '(cluster-scoped)'}`;
  if (match.excludeNamespaces && namespace !== undefined && match.excludeNamespaces.includes(namespace))
    return `rule ${rule.spec.id} excludes namespace ${namespace}`;
  if (match.labels && !matchesLabelSelector(match.labels, input.object.metadata?.labels ?? {}))
    return `rule ${rule.spec.id}: the object's labels do not match its selector`;
  return undefined;
}

/** One value a rule judges: where it is on the object and what it is (undefined when absent). */
interface Target {
  readonly path: PathSegment[];
  readonly value: unknown;
  readonly present: boolean;
}

function pointerToSegments(pointer: string, root: unknown): PathSegment[] {
  const segments: PathSegment[] = [];
  let node = root;
  for (const raw of pointer.split('/').slice(1)) {
    const key = raw.replace(/~1/g, '/').replace(/~0/g, '~');
    const segment: PathSegment = Array.isArray(node) && /^\d+$/.test(key) ? Number(key) : key;
    segments.push(segment);
    node = getIn(node, [segment]);
  }
  return segments;
}

function select(rule: CompiledRule, object: unknown): Target[] {
  const results: unknown = jsonPath().JSONPath({
    path: rule.spec.select,
    json: object as object,
    resultType: 'all',
    eval: false,
    wrap: true,
  });
  const list = Array.isArray(results) ? results : [];
  if (list.length > MAX_SELECTED_NODES)
    throw new Error(
      `selection ${rule.spec.select} yields ${list.length} nodes, more than the limit of ${MAX_SELECTED_NODES}`,
    );
  const targets: Target[] = [];
  for (const entry of list) {
    if (!isRecord(entry) || typeof entry.pointer !== 'string') continue;
    const base = pointerToSegments(entry.pointer, object);
    if (rule.field) {
      const value = getIn(entry.value, rule.field);
      // A missing field is reported where it would go, never through a scalar: the path stops at
      // the first value that is not a map (`containers` written as a string) or at the missing key.
      const reached: PathSegment[] = [];
      let node: unknown = entry.value;
      for (const segment of rule.field) {
        if (!isRecord(node)) break;
        reached.push(segment);
        node = node[segment];
        if (node === undefined) break;
      }
      targets.push({ path: [...base, ...reached], value, present: value !== undefined });
    } else targets.push({ path: base, value: entry.value, present: true });
  }
  return targets;
}

function deepEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (Array.isArray(a) && Array.isArray(b))
    return a.length === b.length && a.every((x, i) => deepEqual(x, b[i]));
  if (isRecord(a) && isRecord(b)) {
    const keys = Object.keys(a);
    return (
      keys.length === Object.keys(b).length && keys.every((k) => Object.hasOwn(b, k) && deepEqual(a[k], b[k]))
    );
  }
  return false;
}

function describe(value: unknown): string {
  const text = JSON.stringify(value) ?? String(value);
  return text.length > 120 ? `${text.slice(0, 117)}...` : text;
}

const relation = { gt: '>', gte: '>=', lt: '<', lte: '<=' } as const;

function regexInput(value: unknown): string | undefined {
  if (typeof value === 'string') {
    if (value.length > MAX_REGEX_INPUT)
      throw new Error(
        `value of ${value.length} characters exceeds the ${MAX_REGEX_INPUT}-character limit for patterns`,
      );
    return value;
  }
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  return undefined;
}

/** Returns what is wrong with one present value, or undefined when it satisfies the condition. */
function violation(rule: CompiledRule, value: unknown): string | undefined {
  const c = rule.spec.condition;
  if (c.notExists) return 'must be absent';
  if ('equals' in c && !deepEqual(value, c.equals)) return `must equal ${describe(c.equals)}`;
  if ('notEquals' in c && deepEqual(value, c.notEquals)) return `must not equal ${describe(c.notEquals)}`;
  if (c.in && !c.in.some((v) => deepEqual(v, value))) return `must be one of ${describe(c.in)}`;
  if (c.notIn && c.notIn.some((v) => deepEqual(v, value))) return `must not be one of ${describe(c.notIn)}`;
  if (rule.matches) {
    const text = regexInput(value);
    if (text === undefined || !rule.matches.test(text)) return `must match /${c.matches ?? ''}/`;
  }
  if (rule.notMatches) {
    const text = regexInput(value);
    if (text !== undefined && rule.notMatches.test(text)) return `must not match /${c.notMatches ?? ''}/`;
  }
  for (const [key, bound] of rule.bounds) {
    let cmp: number;
    if (bound.kind === 'number') {
      const n =
        typeof value === 'number'
          ? value
          : typeof value === 'string' && /^-?\d+(\.\d+)?$/.test(value)
            ? Number(value)
            : NaN;
      if (Number.isNaN(n)) return 'must be a number';
      cmp = n < bound.value ? -1 : n > bound.value ? 1 : 0;
    } else {
      const q = parseQuantity(value);
      if (!q) return 'must be a Kubernetes quantity';
      cmp = compareQuantities(q, bound.value);
    }
    const ok = key === 'gt' ? cmp > 0 : key === 'gte' ? cmp >= 0 : key === 'lt' ? cmp < 0 : cmp <= 0;
    if (!ok) return `must be ${relation[key]} ${bound.kind === 'number' ? bound.value : bound.value.text}`;
  }
  return undefined;
}

function render(rule: CompiledRule, path: string, value: unknown, present: boolean, why: string): string {
  const shown = present ? describe(value) : '(absent)';
  const message = rule.spec.message.replaceAll('{value}', shown).replaceAll('{path}', path || '(object)');
  return rule.spec.message.includes('{value}')
    ? message
    : `${message}: ${path || 'the object'} is ${shown}, ${why}`;
}

/** Evaluates a compiled rule on an input that it matches; throws on evaluation failures (status error). */
export function evaluateRule(rule: CompiledRule, object: unknown): FindingDraft[] {
  const targets = select(rule, object);
  const c = rule.spec.condition;
  const fix = rule.spec.fix ?? rule.spec.description;
  const findings: FindingDraft[] = [];
  const add = (segments: readonly PathSegment[], value: unknown, present: boolean, why: string): void => {
    const path = formatPath(segments);
    findings.push({
      path,
      message: render(rule, path, value, present, why),
      fix,
      details: { rule: rule.spec.id },
    });
  };
  if (targets.length === 0) {
    if (c.exists)
      add(
        existingPrefix(object, rule.staticPrefix),
        undefined,
        false,
        `must be present (${rule.spec.select})`,
      );
    return findings;
  }
  for (const target of targets) {
    if (!target.present) {
      if (c.exists) add(target.path, undefined, false, 'must be present');
      continue;
    }
    const why = violation(rule, target.value);
    if (why) add(target.path, target.value, true, why);
  }
  return findings;
}

function existingPrefix(object: unknown, prefix: readonly string[]): PathSegment[] {
  const out: PathSegment[] = [];
  let node = object;
  for (const key of prefix) {
    const segment: PathSegment = Array.isArray(node) && /^\d+$/.test(key) ? Number(key) : key;
    const next = getIn(node, [segment]);
    if (next === undefined) break;
    out.push(segment);
    node = next;
  }
  return out;
}

const knownKinds: Record<string, readonly [string, string]> = {
  Pod: ['', 'pods'],
  Service: ['', 'services'],
  ConfigMap: ['', 'configmaps'],
  Secret: ['', 'secrets'],
  Namespace: ['', 'namespaces'],
  ServiceAccount: ['', 'serviceaccounts'],
  PersistentVolumeClaim: ['', 'persistentvolumeclaims'],
  ReplicationController: ['', 'replicationcontrollers'],
  PodTemplate: ['', 'podtemplates'],
  Deployment: ['apps', 'deployments'],
  StatefulSet: ['apps', 'statefulsets'],
  DaemonSet: ['apps', 'daemonsets'],
  ReplicaSet: ['apps', 'replicasets'],
  Job: ['batch', 'jobs'],
  CronJob: ['batch', 'cronjobs'],
  Ingress: ['networking.k8s.io', 'ingresses'],
  NetworkPolicy: ['networking.k8s.io', 'networkpolicies'],
  Role: ['rbac.authorization.k8s.io', 'roles'],
  RoleBinding: ['rbac.authorization.k8s.io', 'rolebindings'],
  ClusterRole: ['rbac.authorization.k8s.io', 'clusterroles'],
  ClusterRoleBinding: ['rbac.authorization.k8s.io', 'clusterrolebindings'],
};

function admissionRulesOf(rule: CompiledRule): AdmissionRule[] {
  const ops = [...rule.operations];
  const kinds = rule.spec.match?.kinds;
  if (!kinds) return [{ apiGroups: ['*'], resources: ['*'], operations: ops }];
  const byGroup = new Map<string, string[]>();
  for (const kind of kinds) {
    const [group, resource] = knownKinds[kind] ?? ['*', `${kind.toLowerCase()}s`];
    byGroup.set(group, [...(byGroup.get(group) ?? []), resource]);
  }
  return [...byGroup].map(([group, resources]) => ({ apiGroups: [group], resources, operations: ops }));
}

/**
 * Version of the custom-rule language (match, select, field, condition semantics). Every compiled
 * rule reports it; the rule's own content is identified by the bundle's version and digest.
 */
export const customRulesVersion = '1.0.0';

/** Builds the policy the engine runs for a compiled rule. */
export function rulePolicy(rule: CompiledRule): Policy<CompiledRule> {
  return Object.freeze({
    id: rule.spec.id,
    version: customRulesVersion,
    description: rule.spec.description,
    help: `Custom rule from the bundle: ${rule.spec.description}. Selects \`${rule.spec.select}\`${rule.spec.field ? ` (field \`${rule.spec.field}\`)` : ''} and requires ${JSON.stringify(rule.spec.condition)}.`,
    paramsSchema: { type: 'object', properties: {} },
    admissionRules: Object.freeze(admissionRulesOf(rule)),
    compile: () => rule,
    evaluate: (input: PolicyInput, params: CompiledRule) => {
      const reason = ruleSkipReason(params, input);
      if (reason) return skip(reason);
      return evaluateRule(params, input.object);
    },
  });
}

/** The rule compiler the bundle loader is given for `spec.rules`. */
export const customRuleCompiler: RuleCompiler = Object.freeze({
  idPattern,
  schema: rulesSchema,
  compile(spec: RuleSpecBase) {
    const rule = compileRule(spec as RuleSpec);
    return { policy: rulePolicy(rule) as Policy<unknown>, params: rule };
  },
});
