/**
 * The decision line: what every writer of the hash-chained decision log records about one judged
 * resource. It names who did what to which resource, the decision, each policy's status with the
 * offending field paths and control ids, the bundle, and the break-glass approval used. It never
 * carries object contents, finding messages (they quote object values), secrets or tokens. The
 * webhook (one line per answered AdmissionReview), `tollgate check` and the drift audit build their
 * lines here, so the rule of what a line may carry is written once.
 */
import type { AdmissionRequest, BundleIdentity, PolicyResult, Report } from '../../policies/index.ts';

/** A break-glass approval a policy honoured: who asked, who approved, for what, until when (never the token). */
export interface DecisionBreakGlass {
  ticket?: string;
  requester?: string;
  approvers?: string[];
  reason?: string;
  expires?: string;
  /** What the approval covers, e.g. `{namespaces: [payments], kinds: [Deployment]}`. */
  scope?: Record<string, unknown>;
  /** The freeze windows it was used in (`window/entity`). */
  windows?: string[];
}

/** One policy's part of a decision. */
export interface DecisionPolicy {
  policy: string;
  /** The policy's version, so an auditor knows which revision of it decided. */
  version: string;
  status: string;
  action: string;
  /** Field paths of the findings, e.g. `spec.template.spec.containers[0].image`. */
  fields?: string[];
  /** Ticket of the exemption that applied. */
  exemption?: string;
  /** Kinds of the records the policy made (e.g. `break-glass`). */
  records?: string[];
  /** The break-glass approval used, from the policy's `break-glass` record (evidence for auditors). */
  breakGlass?: DecisionBreakGlass;
  /** Why the policy errored. */
  reason?: string;
  /** Control references the bundle attaches to the policy or rule (SOX ITGC, PCI DSS, DORA...). */
  controls?: string[];
}

/** Which enforcement point wrote a decision line. */
export type DecisionSource = 'admission' | 'ci' | 'audit';

/** The decision log sources, in report order. */
export const decisionSources: readonly DecisionSource[] = ['admission', 'ci', 'audit'];

/**
 * The shape of an admission decision line (besides pino's `level`, `time` and `msg`). Lines written
 * before `source` existed are admission lines.
 */
export interface DecisionLine {
  event: 'decision';
  source: 'admission';
  uid: string;
  user?: string;
  resource: { group: string; version: string; resource: string; subresource?: string };
  kind: string;
  namespace?: string;
  name?: string;
  operation: string;
  dryRun: boolean;
  decision: 'allow' | 'deny';
  /** Why the request was decided without a full evaluation: `skipped: ...`, `deadline`, `internal-error`. */
  cause?: string;
  policies: DecisionPolicy[];
  bundle: BundleIdentity;
  /** The verified signature of the active bundle, when signatures are required. */
  bundleSignature?: { alg: string; kid?: string };
  durationMs: number;
}

/** Builds the decision line for a request. */
export function decisionLine(fields: {
  request: AdmissionRequest;
  decision: 'allow' | 'deny';
  report?: Report;
  bundle: BundleIdentity;
  bundleSignature?: { alg: string; kid?: string } | undefined;
  durationMs: number;
  cause?: string;
}): DecisionLine {
  const { request } = fields;
  const name = request.name ?? request.object?.metadata?.name ?? request.oldObject?.metadata?.name;
  const line: DecisionLine = {
    event: 'decision',
    source: 'admission',
    uid: request.uid,
    ...(request.userInfo?.username ? { user: request.userInfo.username } : {}),
    resource: {
      group: request.resource.group,
      version: request.resource.version,
      resource: request.resource.name,
      ...(request.subResource ? { subresource: request.subResource } : {}),
    },
    kind: request.kind.name,
    ...(request.namespace ? { namespace: request.namespace } : {}),
    ...(name ? { name } : {}),
    operation: request.operation,
    dryRun: request.dryRun,
    decision: fields.decision,
    ...(fields.cause ? { cause: fields.cause } : {}),
    policies: decisionPolicies(fields.report?.results),
    bundle: fields.bundle,
    ...(fields.bundleSignature ? { bundleSignature: { ...fields.bundleSignature } } : {}),
    durationMs: Math.round(fields.durationMs * 1000) / 1000,
  };
  return line;
}

/**
 * The policies' part of a decision line: status, action, version, field paths, exemption ticket,
 * record kinds, the break-glass approval's non-secret fields and control ids of each policy result.
 */
export function decisionPolicies(results: readonly PolicyResult[] | undefined): DecisionPolicy[] {
  return (results ?? []).map(policyPart);
}

function policyPart(result: PolicyResult): DecisionPolicy {
  const part: DecisionPolicy = {
    policy: result.policy,
    version: result.version,
    status: result.status,
    action: result.action,
  };
  if (result.findings.length > 0) part.fields = result.findings.map((finding) => finding.path);
  if (result.exemption) part.exemption = result.exemption.ticket;
  if (result.records && result.records.length > 0) {
    part.records = result.records.map((record) => record.kind);
    const breakGlass = result.records.find((record) => record.kind === 'break-glass');
    if (breakGlass) part.breakGlass = breakGlassPart(breakGlass.data);
  }
  if (result.status === 'error' && result.reason) part.reason = result.reason.slice(0, 300);
  if (result.controls && result.controls.length > 0) part.controls = [...result.controls];
  return part;
}

const text = (value: unknown): string | undefined =>
  typeof value === 'string' ? value.slice(0, 500) : undefined;
const texts = (value: unknown): string[] | undefined =>
  Array.isArray(value)
    ? value.filter((item) => typeof item === 'string').map((item) => item.slice(0, 200))
    : undefined;

/** The named, non-secret fields of a break-glass record; anything else (a token) is left out. */
function breakGlassPart(data: Readonly<Record<string, unknown>>): DecisionBreakGlass {
  const part: DecisionBreakGlass = {};
  const ticket = text(data['ticket']);
  if (ticket !== undefined) part.ticket = ticket;
  const requester = text(data['requester']);
  if (requester !== undefined) part.requester = requester;
  const approvers = texts(data['approvers']);
  if (approvers) part.approvers = approvers;
  const reason = text(data['reason']);
  if (reason !== undefined) part.reason = reason;
  const expires = text(data['expires']);
  if (expires !== undefined) part.expires = expires;
  const scope = data['scope'];
  if (typeof scope === 'object' && scope !== null && !Array.isArray(scope)) {
    const fields = scope as Record<string, unknown>;
    const copy: Record<string, unknown> = {};
    for (const key of ['namespaces', 'kinds', 'names']) {
      const values = texts(fields[key]);
      if (values) copy[key] = values;
    }
    part.scope = copy;
  }
  const windows = texts(data['windows']);
  if (windows) part.windows = windows;
  return part;
}

/** Where a CI run happened: GitHub Actions' context when present (no tokens, no secrets). */
export interface CiContext {
  /** `github` when GitHub Actions' environment is present. */
  provider?: 'github';
  /** `owner/name`. */
  repository?: string;
  /** The ref the run checked, e.g. `refs/pull/7/merge` or `refs/heads/main`. */
  ref?: string;
  /** The commit checked (GITHUB_SHA, else the working tree's HEAD). */
  commit?: string;
  /** Who triggered the run. */
  actor?: string;
  workflow?: string;
  /** `GITHUB_RUN_ID`, with the attempt: `123456789/1`. */
  run?: string;
  /** The triggering event, e.g. `pull_request`. */
  trigger?: string;
  /** A pull request's base and head branches. */
  baseRef?: string;
  headRef?: string;
}

/** Reads the CI context from GitHub Actions' environment variables (absent ones are left out). */
export function ciContext(env: Readonly<Record<string, string | undefined>>): CiContext {
  const context: CiContext = {};
  const read = (name: string): string | undefined => {
    const value = env[name];
    return value ? value.slice(0, 300) : undefined;
  };
  if (env['GITHUB_ACTIONS'] === 'true') context.provider = 'github';
  const fields: Array<[keyof Omit<CiContext, 'provider' | 'run'>, string]> = [
    ['repository', 'GITHUB_REPOSITORY'],
    ['ref', 'GITHUB_REF'],
    ['commit', 'GITHUB_SHA'],
    ['actor', 'GITHUB_ACTOR'],
    ['workflow', 'GITHUB_WORKFLOW'],
    ['trigger', 'GITHUB_EVENT_NAME'],
    ['baseRef', 'GITHUB_BASE_REF'],
    ['headRef', 'GITHUB_HEAD_REF'],
  ];
  for (const [field, name] of fields) {
    const value = read(name);
    if (value !== undefined) context[field] = value;
  }
  const run = read('GITHUB_RUN_ID');
  if (run) context.run = `${run}/${read('GITHUB_RUN_ATTEMPT') ?? '1'}`;
  return context;
}

/**
 * A decision line of `tollgate check` (source `ci`, one per judged manifest) or of the drift audit
 * (source `audit`, one per judged live object). It names the object and where it was read, never
 * its contents.
 */
export interface ObjectDecisionLine {
  event: 'decision';
  source: 'ci' | 'audit';
  apiVersion: string;
  kind: string;
  namespace?: string;
  name?: string;
  /** CI: the file the manifest was read from (relative to the checkout) and its first line. */
  file?: string;
  line?: number;
  /** Audit: the live object's uid. */
  uid?: string;
  decision: 'allow' | 'deny';
  policies: DecisionPolicy[];
  bundle: BundleIdentity;
  bundleSignature?: { alg: string; kid?: string };
  /** CI: where the run happened. */
  ci?: CiContext;
  /** Audit: the API server audited. */
  cluster?: string;
}

/** Builds the decision line of a manifest judged in CI or a live object judged by the drift audit. */
export function objectDecisionLine(fields: {
  source: 'ci' | 'audit';
  object: { apiVersion: string; kind: string; namespace?: string; name?: string; uid?: string };
  decision: 'allow' | 'deny';
  results: readonly PolicyResult[];
  bundle: BundleIdentity;
  bundleSignature?: { alg: string; kid?: string } | undefined;
  file?: string;
  line?: number;
  ci?: CiContext;
  cluster?: string;
}): ObjectDecisionLine {
  const { object } = fields;
  return {
    event: 'decision',
    source: fields.source,
    apiVersion: object.apiVersion,
    kind: object.kind,
    ...(object.namespace ? { namespace: object.namespace } : {}),
    ...(object.name ? { name: object.name } : {}),
    ...(fields.file !== undefined ? { file: fields.file } : {}),
    ...(fields.line !== undefined ? { line: fields.line } : {}),
    ...(object.uid ? { uid: object.uid } : {}),
    decision: fields.decision,
    policies: decisionPolicies(fields.results),
    bundle: { name: fields.bundle.name, version: fields.bundle.version, digest: fields.bundle.digest },
    ...(fields.bundleSignature ? { bundleSignature: { ...fields.bundleSignature } } : {}),
    ...(fields.ci ? { ci: fields.ci } : {}),
    ...(fields.cluster !== undefined ? { cluster: fields.cluster } : {}),
  };
}

/** The closing line of a CI or audit run: what was judged and the run's outcome. */
export interface RunLine {
  event: 'ci-run' | 'audit-run';
  source: 'ci' | 'audit';
  bundle: BundleIdentity;
  bundleSignature?: { alg: string; kid?: string };
  /** Objects judged (decision lines written before this line). */
  resources: number;
  denied: number;
  warned: number;
  /** CI: input errors; audit: drift findings. */
  errors?: number;
  drift?: number;
  /** `fail` when the run failed (CI: new denials or unreadable input; audit: denied or drifted objects). */
  result: 'pass' | 'fail';
  ci?: CiContext;
  cluster?: string;
  /** CI: the baseline ref and commit pre-existing denials were classified against. */
  baseline?: { ref: string; commit: string };
}
