/**
 * `tollgate bundle test`: bundle test suites in the manner of `gator verify` and `kyverno test`.
 * A suite names a bundle and cases; each case is a manifest file (evaluated exactly as
 * `tollgate check` does) or an admission request (inline or an AdmissionReview file, for UPDATE,
 * DELETE and identity-dependent cases; a manifest with `userInfo` is judged as that identity's CREATE)
 * with the expected status per policy and optionally the
 * expected finding paths. A case whose expected denial passes is reported loudly.
 */
import { readFile } from 'node:fs/promises';
import { dirname, relative, resolve } from 'node:path';
import { Ajv } from 'ajv';
import { parse } from 'yaml';
import {
  builtinPolicies,
  InputError,
  isRecord,
  loadBundle,
  namespaceContents,
  namespaceInventory,
  parseAdmissionReview,
  review,
} from '../../../policies/index.ts';
import type {
  AdmissionRequest,
  CompiledBundle,
  EnforcementPoint,
  KubeObject,
  PolicyResult,
  PolicyStatus,
} from '../../../policies/index.ts';
import { checkManifests } from '../gate/check.ts';
import { parseManifests } from '../gate/manifests.ts';

const statuses = ['pass', 'fail', 'warn', 'skip', 'error'];

/** JSON Schema of a suite file. */
export const suiteSchema = {
  type: 'object',
  required: ['bundle', 'cases'],
  additionalProperties: false,
  properties: {
    apiVersion: { const: 'tollgate.dev/v1' },
    kind: { const: 'PolicyBundleTest' },
    bundle: { type: 'string', minLength: 1, description: 'bundle path, relative to the suite file' },
    now: { type: 'string', format: 'date-time', description: 'evaluation instant for every case' },
    point: { enum: ['ci', 'admission', 'audit'] },
    namespaces: {
      type: 'array',
      items: { type: 'object' },
      description:
        'the trusted namespace inventory of every case that does not give its own (Namespace objects, and the ResourceQuotas and LimitRanges that exist in them)',
    },
    cases: {
      type: 'array',
      minItems: 1,
      items: {
        type: 'object',
        required: ['name', 'expect'],
        additionalProperties: false,
        oneOf: [{ required: ['manifest'] }, { required: ['request'] }, { required: ['requestFile'] }],
        properties: {
          name: { type: 'string', minLength: 1 },
          manifest: { type: 'string', description: 'manifest file, relative to the suite' },
          document: { type: 'integer', minimum: 0, description: 'document index in the manifest file' },
          request: { type: 'object', description: 'an admission request or a whole AdmissionReview' },
          requestFile: { type: 'string', description: 'an AdmissionReview file (JSON or YAML)' },
          userInfo: {
            type: 'object',
            description:
              'with manifest: judge the document as the CREATE this identity sends to the webhook (point admission), for policies that decide on who asks',
          },
          namespaces: {
            type: 'array',
            items: { type: 'object' },
            description:
              'the trusted namespace inventory of this case (Namespace objects as the cluster holds them, and the ResourceQuotas and LimitRanges that exist in them); Namespace documents inside a manifest file never supply labels, as in tollgate check',
          },
          point: { enum: ['ci', 'admission', 'audit'] },
          now: { type: 'string', format: 'date-time' },
          expect: {
            type: 'object',
            additionalProperties: false,
            properties: {
              decision: { enum: ['allow', 'deny'] },
              policies: {
                type: 'object',
                additionalProperties: {
                  oneOf: [
                    { enum: statuses },
                    {
                      type: 'object',
                      required: ['status'],
                      additionalProperties: false,
                      properties: {
                        status: { enum: statuses },
                        paths: { type: 'array', items: { type: 'string' } },
                      },
                    },
                  ],
                },
              },
            },
          },
        },
      },
    },
  },
} as const;

interface SuiteCase {
  name: string;
  manifest?: string;
  document?: number;
  request?: Record<string, unknown>;
  requestFile?: string;
  userInfo?: Record<string, unknown>;
  namespaces?: KubeObject[];
  point?: EnforcementPoint;
  now?: string;
  expect: {
    decision?: 'allow' | 'deny';
    policies?: Record<string, PolicyStatus | { status: PolicyStatus; paths?: string[] }>;
  };
}

interface SuiteFile {
  bundle: string;
  namespaces?: KubeObject[];
  now?: string;
  point?: EnforcementPoint;
  cases: SuiteCase[];
}

/** One failed expectation of a case. */
export interface CaseFailure {
  policy?: string;
  message: string;
  /** An expected denial (fail) that passed: the dangerous direction. */
  loud: boolean;
}

/** The outcome of one case. */
export interface CaseResult {
  name: string;
  point: EnforcementPoint;
  passed: boolean;
  failures: CaseFailure[];
}

/** The outcome of a suite. */
export interface SuiteResult {
  suite: string;
  bundle: string;
  cases: CaseResult[];
  passed: number;
  failed: number;
}

let validateSuite: ReturnType<Ajv['compile']> | undefined;

async function addFormats(ajv: Ajv): Promise<void> {
  const module = (await import('ajv-formats')).default as unknown as (instance: Ajv) => Ajv;
  module(ajv);
}

/** Reads a suite file, loads its bundle and runs every case. Throws InputError for an unreadable suite. */
export async function runSuite(suitePath: string, cwd: string): Promise<SuiteResult> {
  const absolute = resolve(cwd, suitePath);
  const base = dirname(absolute);
  let raw: unknown;
  try {
    raw = parse(await readFile(absolute, 'utf8'));
  } catch (error) {
    throw new InputError(suitePath, `cannot read the test suite: ${(error as Error).message}`);
  }
  if (!validateSuite) {
    const ajv = new Ajv({ allErrors: true, strict: false });
    await addFormats(ajv);
    validateSuite = ajv.compile(suiteSchema);
  }
  if (!validateSuite(raw)) {
    const problems = (validateSuite.errors ?? []).map((e) => `${e.instancePath || '/'} ${e.message ?? ''}`);
    throw new InputError(suitePath, `invalid test suite:\n  ${[...new Set(problems)].join('\n  ')}`);
  }
  const suite = raw as SuiteFile;
  const bundlePath = resolve(base, suite.bundle);
  const bundle = loadBundle(await readFile(bundlePath), {
    source: relative(cwd, bundlePath) || bundlePath,
    policies: builtinPolicies,
  });
  const cases: CaseResult[] = [];
  for (const testCase of suite.cases) cases.push(await runCase(testCase, suite, bundle, base));
  const passed = cases.filter((c) => c.passed).length;
  return { suite: suitePath, bundle: bundle.source, cases, passed, failed: cases.length - passed };
}

async function runCase(
  testCase: SuiteCase,
  suite: SuiteFile,
  bundle: CompiledBundle,
  base: string,
): Promise<CaseResult> {
  const request =
    testCase.request !== undefined || testCase.requestFile !== undefined || testCase.userInfo !== undefined;
  const point: EnforcementPoint = testCase.point ?? suite.point ?? (request ? 'admission' : 'ci');
  const now = new Date(testCase.now ?? suite.now ?? '2026-01-01T00:00:00Z');
  const outcome: CaseResult = { name: testCase.name, point, passed: false, failures: [] };
  let results: readonly PolicyResult[];
  let decision: 'allow' | 'deny';
  let skipped: string | undefined;
  try {
    const inventory = testCase.namespaces ?? suite.namespaces ?? [];
    const namespaces = namespaceInventory(inventory, 'case namespaces');
    if (request) {
      // The webhook's own path: an AdmissionRequest the webhook would not evaluate is not evaluated here.
      const outcome = await review({ request: await admissionRequestOf(testCase, base) }, bundle, {
        now,
        point,
        namespaces,
      });
      if (outcome.skipped !== undefined) {
        skipped = outcome.skipped;
        results = [];
        decision = 'allow';
      } else {
        results = outcome.report.results;
        decision = outcome.report.decision;
      }
    } else {
      const file = resolve(base, testCase.manifest ?? '');
      const parsed = parseManifests(relative(base, file), await readFile(file, 'utf8'));
      if (parsed.errors.length > 0)
        throw new Error(parsed.errors.map((e) => `${e.file}:${e.line} ${e.message}`).join('; '));
      const wanted = testCase.document ?? 0;
      const manifest = parsed.manifests.find((m) => m.document.index === wanted);
      if (!manifest) throw new Error(`${testCase.manifest ?? ''} has no document ${wanted}`);
      // Exactly what `tollgate check` does (other documents of the file are related objects), at
      // the case's enforcement point.
      const reports = await checkManifests(
        parsed.manifests,
        { bundle, now, namespaces, namespaceContents: namespaceContents(inventory) },
        point,
      );
      const report = reports[parsed.manifests.indexOf(manifest)];
      if (!report) throw new Error('no report');
      results = report.results;
      decision = report.decision;
    }
  } catch (error) {
    outcome.failures.push({
      message: `could not run: ${error instanceof Error ? error.message : String(error)}`,
      loud: false,
    });
    return outcome;
  }
  const configured = new Set(bundle.policies.map((p) => p.policy.id));
  for (const [policy, expectation] of Object.entries(testCase.expect.policies ?? {})) {
    const expected = typeof expectation === 'string' ? { status: expectation } : expectation;
    if (!configured.has(policy)) {
      outcome.failures.push({ policy, message: `policy ${policy} is not in the bundle`, loud: false });
      continue;
    }
    const actual = results.find((r) => r.policy === policy);
    if (!actual && skipped !== undefined) {
      // The webhook allows the request without evaluating it: only `skip` is the truth.
      if (expected.status !== 'skip')
        outcome.failures.push({
          policy,
          loud: expected.status === 'fail',
          message: `${expected.status === 'fail' ? 'EXPECTED DENIAL PASSED: ' : ''}${policy}: expected ${expected.status}, but the webhook does not evaluate this request (${skipped})`,
        });
      continue;
    }
    if (!actual) {
      outcome.failures.push({ policy, message: `policy ${policy} produced no result`, loud: false });
      continue;
    }
    if (actual.status !== expected.status) {
      const loud =
        expected.status === 'fail' &&
        (actual.status === 'pass' || actual.status === 'skip' || actual.status === 'warn');
      outcome.failures.push({
        policy,
        loud,
        message: `${loud ? 'EXPECTED DENIAL PASSED: ' : ''}${policy}: expected ${expected.status}, got ${actual.status}${actual.reason ? ` (${actual.reason})` : ''}${actual.findings.length > 0 ? ` [${actual.findings.map((f) => f.path).join(', ')}]` : ''}`,
      });
      continue;
    }
    if ('paths' in expected && expected.paths) {
      const got = [...new Set(actual.findings.map((f) => f.path))].sort();
      const want = [...new Set(expected.paths)].sort();
      if (JSON.stringify(got) !== JSON.stringify(want)) {
        const missing = want.filter((p) => !got.includes(p));
        outcome.failures.push({
          policy,
          loud: missing.length > 0,
          message: `${missing.length > 0 ? 'EXPECTED FINDING MISSING: ' : ''}${policy}: expected findings at [${want.join(', ')}], got [${got.join(', ')}]`,
        });
      }
    }
  }
  if (testCase.expect.decision && testCase.expect.decision !== decision) {
    const loud = testCase.expect.decision === 'deny';
    outcome.failures.push({
      loud,
      message: `${loud ? 'EXPECTED DENIAL PASSED: ' : ''}decision: expected ${testCase.expect.decision}, got ${decision}`,
    });
  }
  outcome.passed = outcome.failures.length === 0;
  return outcome;
}

/**
 * The case's AdmissionRequest, validated as the webhook validates it. A whole AdmissionReview is
 * taken as is; a bare request may leave out what a suite author need not repeat: `uid`, and `kind`
 * (read from the object) and `resource` (the kind's lower-case plural) when they follow from it.
 */
async function admissionRequestOf(testCase: SuiteCase, base: string): Promise<AdmissionRequest> {
  let raw: unknown = testCase.request;
  if (testCase.userInfo !== undefined && testCase.manifest !== undefined) {
    const file = resolve(base, testCase.manifest);
    const parsed = parseManifests(relative(base, file), await readFile(file, 'utf8'));
    const wanted = testCase.document ?? 0;
    const object = parsed.manifests.find((m) => m.document.index === wanted)?.object;
    if (!object) throw new Error(`${testCase.manifest} has no document ${wanted}`);
    const namespace = object.metadata?.namespace;
    raw = { operation: 'CREATE', object, userInfo: testCase.userInfo, ...(namespace ? { namespace } : {}) };
  }
  if (testCase.requestFile !== undefined)
    raw = parse(await readFile(resolve(base, testCase.requestFile), 'utf8'));
  if (isRecord(raw) && raw.kind === 'AdmissionReview') return parseAdmissionReview(raw);
  if (!isRecord(raw)) throw new Error('the request is not an object');
  const request: Record<string, unknown> = { uid: `suite-${testCase.name}`, ...raw };
  if (request.subresource !== undefined && request.subResource === undefined) {
    request.subResource = request.subresource;
    delete request.subresource;
  }
  const object = isRecord(request.object)
    ? request.object
    : isRecord(request.oldObject)
      ? request.oldObject
      : {};
  const [group, version] =
    typeof object.apiVersion === 'string'
      ? object.apiVersion.includes('/')
        ? object.apiVersion.split('/', 2)
        : ['', object.apiVersion]
      : ['', 'v1'];
  if (request.kind === undefined && typeof object.kind === 'string')
    request.kind = { group, version, kind: object.kind };
  if (request.resource === undefined && isRecord(request.kind) && typeof request.kind.kind === 'string')
    request.resource = { group, version, resource: pluralOf(request.kind.kind) };
  return parseAdmissionReview({ apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview', request });
}

/** The resource name of a kind as the API server names it for the built-in kinds (`NetworkPolicy` → `networkpolicies`). */
function pluralOf(kind: string): string {
  const lower = kind.toLowerCase();
  if (lower.endsWith('y') && !/[aeiou]y$/.test(lower)) return `${lower.slice(0, -1)}ies`;
  if (/(s|x|ch|sh)$/.test(lower)) return `${lower}es`;
  return `${lower}s`;
}

/** Renders a suite result: one line per case, failures indented, loud ones marked. */
export function formatSuite(result: SuiteResult): string {
  const out: string[] = [`suite ${result.suite} (bundle ${result.bundle})`];
  for (const c of result.cases) {
    out.push(`${c.passed ? 'PASS' : 'FAIL'} ${c.name} [${c.point}]`);
    for (const f of c.failures) out.push(`  ${f.loud ? '!!! ' : ''}${f.message}`);
  }
  const loud = result.cases.flatMap((c) => c.failures).filter((f) => f.loud).length;
  out.push(
    `${result.passed} of ${result.cases.length} cases passed, ${result.failed} failed${loud > 0 ? ` — ${loud} EXPECTED DENIAL(S) DID NOT DENY` : ''}`,
  );
  return `${out.join('\n')}\n`;
}
