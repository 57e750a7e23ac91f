/**
 * Property tests of the engine with the finance baseline: arbitrary and adversarial
 * Kubernetes-shaped objects (wrong types everywhere, prototype-pollution keys, huge strings, deep
 * nesting, Lists of Lists, kinds in odd case) never make `evaluate` throw, every result is well
 * formed, malformed fields a policy must judge never pass, and finding paths point at the object.
 * The generator is a small seeded PRNG, so a failure names the seed that reproduces it.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { loadBuiltinBundle } from '../../policies/index.ts';
import { evaluate, MAX_TEXT_LENGTH } from '../../policies/engine/evaluate.ts';
import type { PathSegment } from '../../policies/engine/path.ts';
import { parsePath } from '../../policies/engine/path.ts';
import type {
  AdmissionInput,
  EngineContext,
  EnforcementPoint,
  KubeObject,
  Operation,
  Report,
} from '../../policies/engine/types.ts';
import { getIn, isRecord } from '../../policies/engine/workloads.ts';

const baselineFile = fileURLToPath(new URL('../../bundles/finance-baseline.yaml', import.meta.url));
const bundle = loadBuiltinBundle(readFileSync(baselineFile), baselineFile);
const customRulesFile = fileURLToPath(
  new URL('../../policies/custom-rules/samples/bundle.yaml', import.meta.url),
);
/** The custom-rules sample (a JSONPath `$..containers[*]` rule and a regex rule), fuzzed as well. */
const customRules = loadBuiltinBundle(readFileSync(customRulesFile), customRulesFile);

/** A seeded PRNG (mulberry32): the same seed gives the same objects on every run. */
export function prng(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

type Random = () => number;

const pick = <T>(random: Random, list: readonly T[]): T => list[Math.floor(random() * list.length)] as T;

const nastyKeys = [
  '__proto__',
  'constructor',
  'prototype',
  'toString',
  'hasOwnProperty',
  'valueOf',
  '',
  'a.b',
  'x["y"]',
  '[0]',
  'tollgate.dev/break-glass',
  'kubernetes.io/metadata.name',
];

const nastyStrings = [
  '',
  ' ',
  'nginx',
  'NGINX',
  'docker.io/library/postgres',
  'registry.corp.example/erp/odoo:17',
  ' registry.corp.example/erp/odoo:17',
  'registry.corp.example/erp/odoo:17\n',
  'sha256:' + 'a'.repeat(64),
  '__proto__',
  '1Gi',
  '1e3',
  '0x10',
  '1.0.0',
  '-1',
  'NaN',
  'Infinity',
  '\u0000',
  '\ud800',
  '${jndi:ldap://x}',
  '*',
  'default',
  'kube-system',
];

function randomScalar(random: Random): unknown {
  switch (Math.floor(random() * 9)) {
    case 0:
      return null;
    case 1:
      return random() < 0.5;
    case 2:
      return pick(random, [0, -1, 1.5, 5432, 6379, 2 ** 53, -0, 1e308, 65536]);
    case 3:
      return 'x'.repeat(Math.floor(random() * 200_000));
    case 4:
      return Math.floor(random() * 100_000);
    default:
      return pick(random, nastyStrings);
  }
}

/** Any JSON value, up to `depth` levels, with prototype-pollution keys among the object keys. */
export function randomValue(random: Random, depth: number): unknown {
  if (depth <= 0 || random() < 0.35) return randomScalar(random);
  if (random() < 0.4) {
    const length = Math.floor(random() * 4);
    return Array.from({ length }, () => randomValue(random, depth - 1));
  }
  const out: Record<string, unknown> = {};
  const count = Math.floor(random() * 4);
  for (let i = 0; i < count; i++) {
    const key = random() < 0.3 ? pick(random, nastyKeys) : pick(random, fieldNames);
    // defineProperty: `__proto__` becomes an own key, as JSON.parse and YAML loaders make it.
    Object.defineProperty(out, key, {
      value: randomValue(random, depth - 1),
      enumerable: true,
      writable: true,
      configurable: true,
    });
  }
  return out;
}

const fieldNames = [
  'spec',
  'template',
  'metadata',
  'containers',
  'initContainers',
  'ephemeralContainers',
  'image',
  'resources',
  'limits',
  'requests',
  'memory',
  'cpu',
  'ports',
  'port',
  'targetPort',
  'hostPort',
  'hostNetwork',
  'volumes',
  'labels',
  'annotations',
  'name',
  'namespace',
  'items',
  'kind',
  'type',
  'securityContext',
  'subjects',
  'rules',
  'verbs',
  'ingress',
  'from',
  'namespaceSelector',
];

function deeplyNested(levels: number): Record<string, unknown> {
  let value: Record<string, unknown> = { leaf: true };
  for (let i = 0; i < levels; i++) value = { spec: value, containers: [value] };
  return value;
}

const container = (image: unknown): Record<string, unknown> => ({
  name: 'app',
  image,
  resources: { requests: { cpu: '100m', memory: '128Mi' }, limits: { memory: '256Mi' } },
});

/** Valid objects of the kinds the baseline judges; the fuzzer mutates them. */
function templates(): KubeObject[] {
  const podSpec = { containers: [container('registry.corp.example/erp/odoo:17')] };
  return [
    { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p', namespace: 'tenant-a' }, spec: podSpec },
    {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: 'odoo', namespace: 'tenant-a', labels: { app: 'odoo' } },
      spec: {
        selector: { matchLabels: { app: 'odoo' } },
        template: { metadata: { labels: { app: 'odoo' } }, spec: podSpec },
      },
    },
    {
      apiVersion: 'batch/v1',
      kind: 'CronJob',
      metadata: { name: 'c', namespace: 'tenant-a' },
      spec: { schedule: '* * * * *', jobTemplate: { spec: { template: { spec: podSpec } } } },
    },
    {
      apiVersion: 'v1',
      kind: 'PodTemplate',
      metadata: { name: 't', namespace: 'tenant-a' },
      template: { spec: podSpec },
    },
    {
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name: 'db', namespace: 'tenant-a' },
      spec: { type: 'LoadBalancer', selector: { app: 'db' }, ports: [{ port: 5432, targetPort: 'pg' }] },
    },
    {
      apiVersion: 'networking.k8s.io/v1',
      kind: 'NetworkPolicy',
      metadata: { name: 'n', namespace: 'tenant-a' },
      spec: { podSelector: {}, ingress: [{ from: [{ namespaceSelector: {} }] }] },
    },
    {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'Role',
      metadata: { name: 'r', namespace: 'tenant-a' },
      rules: [{ apiGroups: ['*'], resources: ['*'], verbs: ['get', 'ESCALATE'] }],
    },
    {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'RoleBinding',
      metadata: { name: 'rb', namespace: 'tenant-a' },
      roleRef: { kind: 'ClusterRole', name: 'cluster-admin' },
      subjects: [{ kind: 'ServiceAccount', name: 'x', namespace: 'tenant-b' }],
    },
    {
      apiVersion: 'networking.k8s.io/v1',
      kind: 'Ingress',
      metadata: { name: 'i', namespace: 'tenant-a' },
      spec: {
        rules: [{ http: { paths: [{ backend: { service: { name: 'db', port: { number: 5432 } } } }] } }],
      },
    },
    {
      apiVersion: 'traefik.io/v1alpha1',
      kind: 'IngressRouteTCP',
      metadata: { name: 'tcp', namespace: 'tenant-a' },
      spec: {
        routes: [{ match: 'HostSNI(`*`)', services: [{ name: 'db', port: 5432, namespace: 'other' }] }],
      },
    },
  ];
}

function clone<T>(value: T): T {
  return structuredClone(value);
}

/** Every path to a node of a value (objects and arrays), for picking a node to corrupt. */
function nodePaths(value: unknown, path: PathSegment[] = [], out: PathSegment[][] = []): PathSegment[][] {
  if (out.length > 500) return out;
  out.push(path);
  if (Array.isArray(value)) value.forEach((item, i) => nodePaths(item, [...path, i], out));
  else if (isRecord(value)) for (const key of Object.keys(value)) nodePaths(value[key], [...path, key], out);
  return out;
}

function setIn(root: Record<string, unknown>, path: readonly PathSegment[], value: unknown): void {
  const parent = getIn(root, path.slice(0, -1));
  const last = path[path.length - 1];
  if (last === undefined) return;
  if (Array.isArray(parent) && typeof last === 'number') parent[last] = value;
  else if (isRecord(parent))
    Object.defineProperty(parent, last, { value, enumerable: true, writable: true, configurable: true });
}

/** Wrong-typed replacements that match no field's expected type. */
function wrongType(random: Random, current: unknown): unknown {
  const candidates: unknown[] = [
    null,
    42,
    true,
    'x',
    [],
    {},
    [current],
    { value: current },
    'y'.repeat(5_000_000 * Number(random() < 0.02)),
    JSON.parse('{"__proto__": {"polluted": true}, "constructor": {"prototype": {"polluted": true}}}'),
  ];
  return pick(random, candidates);
}

/** A mutated object: some nodes replaced by wrong types or random values, sometimes wrapped in Lists. */
export function mutatedObject(random: Random): KubeObject {
  const object = clone(pick(random, templates())) as Record<string, unknown>;
  const mutations = 1 + Math.floor(random() * 4);
  for (let i = 0; i < mutations; i++) {
    const paths = nodePaths(object).filter((p) => p.length > 0);
    const path = pick(random, paths);
    const current = getIn(object, path);
    setIn(object, path, random() < 0.6 ? wrongType(random, current) : randomValue(random, 4));
  }
  const r = random();
  if (r < 0.05) object.kind = pick(random, ['deployment', 'DEPLOYMENT', 'pod', 'Pod ', 'list', 'List']);
  if (r > 0.9) return { apiVersion: 'v1', kind: 'List', items: [object, { kind: 'List', items: [object] }] };
  if (r > 0.85) return { apiVersion: 'v1', kind: 'DeploymentList', items: [object, 'junk', null] };
  return object as KubeObject;
}

function namespaces(name: string): KubeObject {
  return {
    apiVersion: 'v1',
    kind: 'Namespace',
    metadata: { name, labels: { 'tollgate.dev/tenant': name, 'tollgate.dev/environment': 'production' } },
  };
}

/** Inside the baseline's November 2026 month-end close for both entities. */
const inFreeze = new Date('2026-11-30T12:00:00Z');
/** Longest finding message, fix or reason a report may carry (paths name keys as written). */
const maxMessageLength = MAX_TEXT_LENGTH;
const statuses = new Set(['pass', 'fail', 'warn', 'skip', 'error']);
const actions = new Set(['deny', 'warn', 'audit', 'off']);

function context(point: EnforcementPoint, random: Random): EngineContext {
  return {
    now: random() < 0.5 ? inFreeze : new Date('2026-11-12T12:00:00Z'),
    point,
    namespaces: namespaces,
  };
}

/** The object a finding's path is about: the new object, or oldObject for DELETE. */
function judged(input: AdmissionInput): unknown {
  return input.operation === 'DELETE' ? (input.oldObject ?? input.object) : input.object;
}

/**
 * Where a finding path leaves the object: undefined when the path resolves to a field, or when it
 * names a missing field whose deepest existing ancestor is a map (string key next) or list (index
 * next), so the field could be added there. Otherwise the formatted prefix at which the path runs
 * through a scalar or a value of the wrong shape.
 */
export function pathThroughScalar(object: unknown, segments: readonly PathSegment[]): string | undefined {
  let current: unknown = object;
  for (let i = 0; i < segments.length; i++) {
    const segment = segments[i] as PathSegment;
    const fits = typeof segment === 'number' ? Array.isArray(current) : isRecord(current);
    if (!fits) return i === 0 ? '(the object)' : segments.slice(0, i).join('.');
    const next: unknown = getIn(current, [segment]);
    // A null field is an absent one (as the API server reads it).
    if (next === undefined || next === null) return undefined;
    current = next;
  }
  return undefined;
}

/** Checks the report invariants; returns problems (empty when all hold). */
export function reportProblems(input: AdmissionInput, report: Report, judgedBy = bundle): string[] {
  const problems: string[] = [];
  if (report.results.length !== judgedBy.policies.length)
    problems.push(`${report.results.length} results for ${judgedBy.policies.length} policies`);
  let deny = false;
  for (const result of report.results) {
    if (!statuses.has(result.status)) problems.push(`${result.policy}: status ${String(result.status)}`);
    if (!actions.has(result.action)) problems.push(`${result.policy}: action ${String(result.action)}`);
    if (result.status === 'error' && !result.reason)
      problems.push(`${result.policy}: error without a reason`);
    if (result.status === 'error' && result.action === 'deny') deny = true;
    if (result.status === 'pass' && result.findings.some((f) => f.action === 'deny'))
      problems.push(`${result.policy}: pass with a deny finding`);
    for (const finding of result.findings) {
      if (finding.action === 'deny') deny = true;
      if (!actions.has(finding.action)) problems.push(`${result.policy}: finding action ${finding.action}`);
      if (typeof finding.message !== 'string' || finding.message === '')
        problems.push(`${result.policy}: finding without a message`);
      // A message quotes the offending value, but a 5 MB value must not become a 5 MB 403 or annotation.
      for (const [field, text] of [
        ['message', finding.message],
        ['fix', finding.fix],
      ] as const)
        if (text.length > maxMessageLength)
          problems.push(`${result.policy}: finding ${field} of ${text.length} characters`);
      if (result.reason !== undefined && result.reason.length > maxMessageLength)
        problems.push(`${result.policy}: reason of ${result.reason.length} characters`);
      let segments: PathSegment[];
      try {
        segments = parsePath(finding.path);
      } catch (error) {
        problems.push(`${result.policy}: path ${finding.path} does not parse: ${String(error)}`);
        continue;
      }
      const stuck = pathThroughScalar(judged(input), segments);
      if (stuck !== undefined)
        problems.push(
          `${result.policy}: path ${finding.path} runs through ${stuck}, which is not a map or list`,
        );
    }
  }
  if ((report.decision === 'deny') !== deny)
    problems.push(`decision ${report.decision} but ${deny ? 'a' : 'no'} deny finding or deny error`);
  return problems;
}

const operations: Operation[] = ['CREATE', 'UPDATE', 'DELETE'];

function inputFor(random: Random, object: KubeObject): AdmissionInput {
  const operation = pick(random, operations);
  if (operation === 'DELETE') return { operation, oldObject: object };
  if (operation === 'UPDATE') return { operation, object, oldObject: mutatedObject(random) };
  return { operation, object };
}

describe('engine fuzzing with the finance baseline and the custom-rules sample', () => {
  // 2 bundles × 2 points × ITERATIONS objects; TOLLGATE_FUZZ_ITERATIONS sets a longer soak.
  const iterations = Number(process.env.TOLLGATE_FUZZ_ITERATIONS ?? 300);
  for (const [name, judgedBy] of [
    ['finance baseline', bundle],
    ['custom-rules sample', customRules],
  ] as const)
    for (const point of ['ci', 'admission'] as const) {
      it(`never throws and keeps every report invariant (${name}, ${point}, ${iterations} seeded objects)`, async () => {
        const failures: string[] = [];
        for (let seed = 1; seed <= iterations; seed++) {
          const random = prng(seed * 7919 + (point === 'ci' ? 1 : 2));
          const input = inputFor(random, mutatedObject(random));
          let report: Report;
          try {
            report = await evaluate(input, judgedBy, context(point, random));
          } catch (error) {
            failures.push(
              `seed ${seed}: evaluate threw ${error instanceof Error ? error.stack : String(error)}`,
            );
            continue;
          }
          for (const problem of reportProblems(input, report, judgedBy))
            failures.push(`seed ${seed}: ${problem}`);
        }
        expect(failures).toEqual([]);
      }, 120_000);
    }
});

/** Evaluates one object at both points and returns the named policy's result and the decisions. */
async function judge(object: KubeObject, policy: string, operation: Operation = 'CREATE') {
  const out: { point: EnforcementPoint; status: string; decision: string; reason?: string }[] = [];
  for (const point of ['ci', 'admission'] as const) {
    const input: AdmissionInput =
      operation === 'DELETE' ? { operation, oldObject: object } : { operation, object };
    const report = await evaluate(input, bundle, { now: new Date('2026-11-12T12:00:00Z'), point });
    expect(reportProblems(input, report)).toEqual([]);
    const result = report.results.find((r) => r.policy === policy);
    if (!result) throw new Error(`no result for ${policy}`);
    out.push({
      point,
      status: result.status,
      decision: report.decision,
      ...(result.reason ? { reason: result.reason } : {}),
    });
  }
  return out;
}

const evil = 'evil.example.com/miner:1';

function deploymentWith(spec: unknown): KubeObject {
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: 'odoo', namespace: 'tenant-a' },
    spec: {
      selector: { matchLabels: { app: 'odoo' } },
      template: { metadata: { labels: { app: 'odoo' } }, spec },
    },
  };
}

describe('malformed fields a policy must judge never pass', () => {
  const malformedPodSpecs: Array<[string, unknown]> = [
    ['containers as a map', { containers: { name: 'app', image: evil } }],
    ['containers as a string', { containers: evil }],
    ['a container that is a string', { containers: [evil] }],
    ['a container that is a list', { containers: [[{ name: 'app', image: evil }]] }],
    ['image as a number', { containers: [{ name: 'app', image: 42 }] }],
    ['image as a list', { containers: [{ name: 'app', image: [evil] }] }],
    ['image as a map', { containers: [{ name: 'app', image: { reference: evil } }] }],
    ['image null', { containers: [{ name: 'app', image: null }] }],
    ['initContainers as a map', { containers: [], initContainers: { x: { name: 'i', image: evil } } }],
    ['ephemeralContainers as a string', { containers: [], ephemeralContainers: evil }],
    ['volumes as a map', { containers: [], volumes: { v: { name: 'v', image: { reference: evil } } } }],
    ['an image volume whose image is a string', { containers: [], volumes: [{ name: 'v', image: evil }] }],
    [
      'an image volume whose reference is a number',
      { containers: [], volumes: [{ name: 'v', image: { reference: 7 } }] },
    ],
    ['a volume that is a string', { containers: [], volumes: ['v'] }],
  ];
  for (const [what, spec] of malformedPodSpecs) {
    it(`approved-registries denies a Deployment with ${what}`, async () => {
      for (const result of await judge(deploymentWith(spec), 'approved-registries')) {
        expect(['fail', 'error'], `${what} at ${result.point}`).toContain(result.status);
        expect(result.decision).toBe('deny');
      }
    });
  }

  const malformedTemplates: Array<[string, KubeObject]> = [
    ['a Deployment whose pod spec is a list', deploymentWith([{ containers: [{ image: evil }] }])],
    ['a Deployment whose pod spec is a string', deploymentWith(evil)],
    [
      'a Deployment whose template is a string',
      {
        apiVersion: 'apps/v1',
        kind: 'Deployment',
        metadata: { name: 'd', namespace: 'tenant-a' },
        spec: { template: evil },
      },
    ],
    [
      'a Pod whose spec is a list',
      { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p', namespace: 'tenant-a' }, spec: [] },
    ],
    [
      'a CronJob whose jobTemplate is a list',
      {
        apiVersion: 'batch/v1',
        kind: 'CronJob',
        metadata: { name: 'c', namespace: 'tenant-a' },
        spec: { jobTemplate: [] },
      },
    ],
  ];
  for (const [what, object] of malformedTemplates) {
    it(`approved-registries and resource-limits deny ${what}`, async () => {
      for (const policy of ['approved-registries', 'resource-limits'])
        for (const result of await judge(object, policy)) {
          expect(['fail', 'error'], `${policy} at ${result.point}`).toContain(result.status);
          expect(result.decision).toBe('deny');
        }
    });
  }

  it('namespace-isolation denies a privileged container hidden in a container map', async () => {
    const object = deploymentWith({
      containers: {
        app: {
          name: 'app',
          image: 'registry.corp.example/erp/odoo:17',
          securityContext: { privileged: true },
        },
      },
    });
    for (const result of await judge(object, 'namespace-isolation')) {
      expect(result.status).toBe('fail');
      expect(result.decision).toBe('deny');
    }
  });

  it('resource-limits denies containers written as a map', async () => {
    const object = deploymentWith({
      containers: { name: 'app', image: 'registry.corp.example/erp/odoo:17' },
    });
    for (const result of await judge(object, 'resource-limits')) expect(result.status).toBe('fail');
  });

  it('judges the items of a List nested in a List', async () => {
    const inner = deploymentWith({ containers: [container(evil)] });
    const list: KubeObject = {
      apiVersion: 'v1',
      kind: 'List',
      items: [{ apiVersion: 'v1', kind: 'List', items: [inner] }],
    };
    for (const result of await judge(list, 'approved-registries')) {
      expect(result.status).toBe('fail');
      expect(result.decision).toBe('deny');
    }
  });

  it('Lists nested 10 000 deep are an error at deny, not a crash or a pass', async () => {
    let list: KubeObject = deploymentWith({ containers: [container(evil)] });
    for (let i = 0; i < 10_000; i++) list = { apiVersion: 'v1', kind: 'List', items: [list] };
    for (const result of await judge(list, 'approved-registries')) {
      expect(result.status).toBe('error');
      expect(result.reason).toContain('nested');
      expect(result.decision).toBe('deny');
    }
  });

  it('a List whose items are not a list is not a pass', async () => {
    const list: KubeObject = {
      apiVersion: 'v1',
      kind: 'List',
      items: { a: deploymentWith({ containers: [container(evil)] }) },
    };
    for (const result of await judge(list, 'approved-registries')) expect(result.status).not.toBe('pass');
  });

  it('an object whose metadata is null, a string or a list still gets a report', async () => {
    for (const metadata of [null, 'x', [], { name: { toString: 1 }, namespace: ['kube-system'] }]) {
      const object = {
        ...deploymentWith({ containers: [container(evil)] }),
        metadata,
      } as unknown as KubeObject;
      for (const result of await judge(object, 'approved-registries')) expect(result.status).toBe('fail');
    }
  });

  it('survives objects nested 20 000 levels deep and a 5 MB string', async () => {
    const deep = deploymentWith({ containers: [container(evil)], extra: deeplyNested(20_000) });
    for (const result of await judge(deep, 'approved-registries')) expect(result.status).toBe('fail');
    const old = deploymentWith({ containers: [container(evil)], extra: deeplyNested(20_000) });
    const input: AdmissionInput = { operation: 'UPDATE', object: deep, oldObject: old };
    const report = await evaluate(input, bundle, { now: inFreeze, point: 'admission', namespaces });
    expect(reportProblems(input, report)).toEqual([]);
    const huge = deploymentWith({
      containers: [container('registry.corp.example/erp/' + 'a'.repeat(5_000_000))],
    });
    for (const result of await judge(huge, 'approved-registries')) expect(result.status).toBe('fail');
  });

  it('custom rules with recursive descent ($..containers[*]) survive 20 000-level nesting', async () => {
    const deep = deploymentWith({ containers: [container(evil)], extra: deeplyNested(20_000) });
    for (const point of ['ci', 'admission'] as const) {
      const input: AdmissionInput = { operation: 'CREATE', object: deep };
      const report = await evaluate(input, customRules, { now: inFreeze, point });
      expect(reportProblems(input, report, customRules)).toEqual([]);
      const ceiling = report.results.find((r) => r.policy === 'memory-limit-ceiling');
      expect(['fail', 'error']).toContain(ceiling?.status);
    }
  });

  it('prototype-pollution keys neither pollute Object.prototype nor pass', async () => {
    const text = `{"apiVersion":"apps/v1","kind":"Deployment","metadata":{"name":"d","namespace":"tenant-a","__proto__":{"namespace":"kube-system"}},
      "spec":{"template":{"spec":{"__proto__":{"containers":[{"name":"a","image":"registry.corp.example/erp/x:1"}]},"constructor":{"prototype":{"containers":[]}},
      "containers":[{"name":"app","image":"${evil}","__proto__":{"image":"registry.corp.example/erp/x:1"}}]}}}}`;
    const object = JSON.parse(text) as KubeObject;
    for (const result of await judge(object, 'approved-registries')) expect(result.status).toBe('fail');
    expect(({} as Record<string, unknown>).image).toBeUndefined();
    expect(({} as Record<string, unknown>).namespace).toBeUndefined();
  });

  it('kinds in odd case are not workloads (the API server refuses them), and say so', async () => {
    for (const kind of ['deployment', 'DEPLOYMENT', 'pod']) {
      const object = { ...deploymentWith({ containers: [container(evil)] }), kind } as KubeObject;
      for (const result of await judge(object, 'approved-registries')) {
        expect(result.status).toBe('skip');
        expect(result.reason).toContain(kind);
      }
    }
  });
});

describe('the fuzzer reaches the freeze window', () => {
  it('inFreeze is inside the baseline close window for a production namespace', async () => {
    const input: AdmissionInput = {
      operation: 'CREATE',
      object: deploymentWith({ containers: [container('registry.corp.example/erp/odoo:17')] }),
    };
    const report = await evaluate(input, bundle, { now: inFreeze, point: 'admission', namespaces });
    expect(report.results.find((r) => r.policy === 'freeze-windows')?.status).toBe('fail');
  });
});
