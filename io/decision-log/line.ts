/**
 * The decision line: what every writer of the hash-chained decision log records about one judged
 * resource. It names who did what to which resource, the decision, each policy's status with the
 * offending field paths and control ids, the bundle, and the break-glass approval used. It never
 * carries object contents, finding messages (they quote object values), secrets or tokens. The
 * webhook (one line per answered AdmissionReview), `tollgate check` and the drift audit build their
 * lines here, so the rule of what a line may carry is written once.
 */
import type { AdmissionRequest, BundleIdentity, Report } from '../../policies/index.ts';

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

/** The shape of a decision line (besides pino's `level`, `time` and `msg`). */
export interface DecisionLine {
  event: 'decision';
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
    policies: decisionPolicies(fields.report),
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
export function decisionPolicies(report: Report | undefined): DecisionPolicy[] {
  return (report?.results ?? []).map(policyPart);
}

function policyPart(result: Report['results'][number]): DecisionPolicy {
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
