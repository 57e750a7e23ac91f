/**
 * The structured decision log: one JSON line per answered AdmissionReview. It names who did what to
 * which resource, the decision, each policy's status with the offending field paths, the bundle and
 * the time taken, and the break-glass approval used. It never carries object contents, finding
 * messages (they quote object values), secrets or tokens. `tollgate serve` writes it hash-chained
 * ({@link createDecisionLog}) so `tollgate evidence verify` can prove it whole.
 */
import { pino } from 'pino';
import type { DestinationStream, Logger } from 'pino';
import type { BundleIdentity, Report } from '../../policies/index.ts';
import type { AdmissionRequest } from '../../policies/index.ts';
import { chainDestination } from '../../io/decision-log/chain.ts';
import type { CheckpointKey } from '../../io/decision-log/checkpoint.ts';

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

/** Where and how the webhook writes its hash-chained decision log. */
export interface DecisionLogOptions {
  /** pino level (default info). */
  readonly level?: string;
  /** Append to this file instead of standard output. */
  readonly file?: string;
  /** Writer id (default: pod or host name, pid and a random suffix). */
  readonly writer?: string;
  /** Signs checkpoints. */
  readonly key?: CheckpointKey;
  /** Lines between checkpoints. */
  readonly every?: number;
  /** Longest time between checkpoints in ms. */
  readonly intervalMs?: number;
}

/** A chained decision logger and the way to close its chain. */
export interface DecisionLog {
  readonly logger: Logger;
  /** The writer id on every line. */
  readonly writer: string;
  /** Writes the closing checkpoint and flushes (call after the server has drained). */
  close(): void;
}

/**
 * Creates the webhook's logger writing a hash-chained log (io/decision-log): every line pino writes,
 * decisions and operational events alike, carries writer, seq and prev, with checkpoints.
 */
export function createDecisionLog(options: DecisionLogOptions = {}): DecisionLog {
  const target = options.file
    ? pino.destination({ dest: options.file, sync: false, append: true, mkdir: true })
    : pino.destination({ dest: 1, sync: false });
  const destination = chainDestination(target, {
    component: 'tollgate-webhook',
    ...(options.writer ? { writer: options.writer } : {}),
    ...(options.key ? { key: options.key } : {}),
    ...(options.every !== undefined ? { every: options.every } : {}),
    ...(options.intervalMs !== undefined ? { intervalMs: options.intervalMs } : {}),
  });
  const logger = createLogger({ ...(options.level ? { level: options.level } : {}), destination });
  let closed = false;
  return {
    logger,
    writer: destination.chain.writer,
    close() {
      if (closed) return;
      closed = true;
      destination.close();
      try {
        target.flushSync();
      } catch {
        // Not open yet or already ended: sonic-boom flushes what it holds on exit.
      }
    },
  };
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
    policies: (fields.report?.results ?? []).map(policyPart),
    bundle: fields.bundle,
    ...(fields.bundleSignature ? { bundleSignature: { ...fields.bundleSignature } } : {}),
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
