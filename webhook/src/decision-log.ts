/**
 * The structured decision log: one JSON line per answered AdmissionReview. It names who did what to
 * which resource, the decision, each policy's status with the offending field paths, the bundle and
 * the time taken. It never carries object contents, finding messages (they quote object values),
 * secrets or tokens.
 */
import { pino } from 'pino';
import type { DestinationStream, Logger } from 'pino';
import type { BundleIdentity, Report } from '../../policies/index.ts';
import type { AdmissionRequest } from '../../policies/index.ts';

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
  /** Kinds of the records the policy made (e.g. `break-glass`), never their content. */
  records?: string[];
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
  durationMs: number;
}

/** Creates the JSON logger (stdout unless a destination is given). */
export function createLogger(options: { level?: string; destination?: DestinationStream } = {}): Logger {
  return pino(
    {
      level: options.level ?? 'info',
      base: { component: 'tollgate-webhook' },
      timestamp: pino.stdTimeFunctions.isoTime,
    },
    options.destination ?? pino.destination({ dest: 1, sync: false }),
  );
}

/** Builds the decision line for a request. */
export function decisionLine(fields: {
  request: AdmissionRequest;
  decision: 'allow' | 'deny';
  report?: Report;
  bundle: BundleIdentity;
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
    policies: (fields.report?.results ?? []).map(policyPart),
    bundle: fields.bundle,
    durationMs: Math.round(fields.durationMs * 1000) / 1000,
  };
  return line;
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
  if (result.records && result.records.length > 0) part.records = result.records.map((record) => record.kind);
  if (result.status === 'error' && result.reason) part.reason = result.reason.slice(0, 300);
  if (result.controls && result.controls.length > 0) part.controls = [...result.controls];
  return part;
}
