/**
 * The AdmissionReview adapter: validates an `admission.k8s.io/v1` AdmissionReview, decides whether
 * the request is evaluated at all (CONNECT and most subresources are not), turns it into the
 * engine's admission-shaped input, and turns the engine's report into an AdmissionResponse.
 * Pure functions only: the server wires them to HTTP, the clock and the logs.
 */
import { isRecord } from '../../policies/index.ts';
import type { AdmissionRequest, PolicyRecord, Report } from '../../policies/index.ts';

/** Metav1 Status returned with a denial. */
export interface AdmissionStatus {
  metadata: Record<string, never>;
  status: 'Failure';
  code: number;
  reason: string;
  message: string;
}

/** The `response` of an AdmissionReview v1. */
export interface AdmissionResponse {
  uid: string;
  allowed: boolean;
  status?: AdmissionStatus;
  warnings?: string[];
  auditAnnotations?: Record<string, string>;
}

/** The AdmissionReview v1 envelope tollgate answers with. */
export interface AdmissionReviewResponse {
  apiVersion: 'admission.k8s.io/v1';
  kind: 'AdmissionReview';
  response: AdmissionResponse;
}

/** Size limits of what tollgate puts in a response (the API server's own limits are larger). */
export const responseLimits = Object.freeze({
  /** Characters of a denial message. */
  message: 3000,
  /** Characters of one warning (the API server truncates warnings over 256). */
  warning: 120,
  /** Characters of all warnings together (the API server drops warnings past 4096). */
  warningsTotal: 2000,
  /** Characters of one audit annotation value. */
  annotationValue: 2000,
  /** Length of the name part of an audit annotation key (a qualified name's name part). */
  annotationKey: 63,
});

/** Everything tollgate needs to answer one request. */
export interface AnswerOptions {
  uid: string;
  report: Report;
  /** Label of the object in messages, e.g. `Deployment tenant-a/odoo`. */
  subject: string;
}

/** Turns an engine report into the AdmissionResponse: 403 message, warnings, audit annotations. */
export function buildResponse({ uid, report, subject }: AnswerOptions): AdmissionResponse {
  const response: AdmissionResponse = { uid, allowed: report.decision === 'allow' };
  const denials: string[] = [];
  const warnings: string[] = [];
  const audit = new Map<string, unknown[]>();
  const addAudit = (key: string, value: unknown): void => {
    const list = audit.get(key) ?? [];
    list.push(value);
    audit.set(key, list);
  };
  for (const result of report.results) {
    if (result.status === 'error') {
      const reason = result.reason ?? 'could not evaluate';
      if (result.action === 'deny')
        denials.push(`[${result.policy}] could not evaluate (failing closed): ${reason}`);
      else if (result.action === 'warn') warnings.push(`[${result.policy}] could not evaluate: ${reason}`);
      else if (result.action === 'audit') addAudit(`${result.policy}.error`, reason);
    }
    for (const finding of result.findings) {
      if (finding.action === 'deny')
        denials.push(
          `[${finding.policy}] ${finding.path || '(object)'}: ${finding.message}. Fix: ${finding.fix}`,
        );
      else if (finding.action === 'warn')
        warnings.push(`[${finding.policy}] ${finding.path ? `${finding.path}: ` : ''}${finding.message}`);
      else if (finding.action === 'audit')
        addAudit(`${finding.policy}.audit`, { path: finding.path, message: finding.message });
    }
    if (result.exemption)
      addAudit(`${result.policy}.exemption`, {
        ticket: result.exemption.ticket,
        expires: result.exemption.expires,
      });
    if (result.expiredExemptions && result.expiredExemptions.length > 0)
      addAudit(
        `${result.policy}.expired-exemption`,
        result.expiredExemptions.map((e) => ({ ticket: e.ticket, expires: e.expires })),
      );
    for (const record of result.records ?? [])
      addAudit(`${result.policy}.${record.kind}`, redactRecord(record));
  }
  if (!response.allowed) {
    response.status = {
      metadata: {},
      status: 'Failure',
      code: 403,
      reason: 'Forbidden',
      message: denialMessage(subject, report, denials),
    };
  }
  const boundedWarnings = boundWarnings(warnings);
  if (boundedWarnings.length > 0) response.warnings = boundedWarnings;
  if (audit.size > 0) {
    const annotations: Record<string, string> = {};
    for (const [key, values] of audit) {
      annotations[auditAnnotationKey(key)] = boundedJson(values.length === 1 ? values[0] : values);
    }
    annotations['bundle'] = `${report.bundle.name}@${report.bundle.version} ${report.bundle.digest}`;
    response.auditAnnotations = annotations;
  }
  return response;
}

function denialMessage(subject: string, report: Report, denials: readonly string[]): string {
  const head = `tollgate denied ${subject} (bundle ${report.bundle.name}@${report.bundle.version}):`;
  const lines: string[] = [];
  let length = head.length;
  for (const [index, line] of denials.entries()) {
    const remaining = denials.length - index;
    const tail = remaining > 1 ? `\n... and ${remaining - 1} more` : '';
    const item = `\n- ${oneLine(line)}`;
    if (length + item.length + tail.length > responseLimits.message) {
      lines.push(`\n... and ${remaining} more violation${remaining === 1 ? '' : 's'}`);
      break;
    }
    lines.push(item);
    length += item.length;
  }
  if (denials.length === 0) lines.push('\n- denied by policy');
  return head + lines.join('');
}

/** Removes newlines and control characters (warnings and annotations must be single-line text). */
export function oneLine(text: string): string {
  // eslint-disable-next-line no-control-regex -- stripping control characters is the point
  return text.replace(/[\u0000-\u001f\u007f]+/g, ' ').trim();
}

function truncate(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max - 1)}…`;
}

/** One short single-line warning per finding, within a total budget; the rest are counted. */
export function boundWarnings(warnings: readonly string[]): string[] {
  const out: string[] = [];
  let total = 0;
  for (const [index, warning] of warnings.entries()) {
    const text = truncate(oneLine(warning), responseLimits.warning);
    if (total + text.length > responseLimits.warningsTotal - 40) {
      out.push(`tollgate: ${warnings.length - index} more warning(s) not shown`);
      break;
    }
    out.push(text);
    total += text.length;
  }
  return out;
}

const qualifiedName = /^[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$/;

/**
 * A valid audit annotation key: the name part of a qualified name (the API server prefixes it with
 * `<webhook name>/`), at most 63 characters of `[-A-Za-z0-9_.]`, alphanumeric at both ends.
 */
export function auditAnnotationKey(raw: string): string {
  let key = raw.replace(/[^-A-Za-z0-9_.]/g, '-').slice(0, responseLimits.annotationKey);
  key = key.replace(/^[^A-Za-z0-9]+/, '').replace(/[^A-Za-z0-9]+$/, '');
  return qualifiedName.test(key) ? key : 'tollgate';
}

/** Whether a key is acceptable as the name part of an audit annotation. */
export function isValidAuditAnnotationKey(key: string): boolean {
  return key.length <= responseLimits.annotationKey && qualifiedName.test(key);
}

function boundedJson(value: unknown): string {
  const text = typeof value === 'string' ? oneLine(value) : JSON.stringify(value);
  return truncate(text, responseLimits.annotationValue);
}

const secretKey = /token|secret|password|signature|jwt|credential|private/i;

/** Drops fields that could carry credentials (a break-glass token must never reach the audit log). */
export function redactRecord(record: PolicyRecord): Record<string, unknown> {
  return redact(record.data) as Record<string, unknown>;
}

function redact(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(redact);
  if (!isRecord(value)) return value;
  const out: Record<string, unknown> = {};
  for (const [key, child] of Object.entries(value))
    out[key] = secretKey.test(key) ? '[redacted]' : redact(child);
  return out;
}

/** A response that allows without evaluation. */
export function allowResponse(uid: string): AdmissionResponse {
  return { uid, allowed: true };
}

/** A response applying the failure action (deadline passed or internal error). */
export function failureResponse(uid: string, action: 'deny' | 'allow', why: string): AdmissionResponse {
  if (action === 'allow')
    return {
      uid,
      allowed: true,
      warnings: [truncate(oneLine(`tollgate: ${why}; allowed by failure action`), responseLimits.warning)],
      auditAnnotations: {
        'failure-action': truncate(oneLine(`allow: ${why}`), responseLimits.annotationValue),
      },
    };
  return {
    uid,
    allowed: false,
    status: {
      metadata: {},
      status: 'Failure',
      code: 403,
      reason: 'Forbidden',
      message: `tollgate denied the request (failure action deny): ${oneLine(why)}`,
    },
    auditAnnotations: { 'failure-action': truncate(oneLine(`deny: ${why}`), responseLimits.annotationValue) },
  };
}

/** Wraps a response in the AdmissionReview envelope. */
export function reviewEnvelope(response: AdmissionResponse): AdmissionReviewResponse {
  return { apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview', response };
}

/** `Kind namespace/name` of the request's object, for messages. */
export function subjectOf(request: AdmissionRequest): string {
  const name = request.name ?? request.object?.metadata?.name ?? request.object?.metadata?.generateName ?? '';
  const where = request.namespace ? `${request.namespace}/${name}` : name;
  const sub = request.subResource ? ` (${request.subResource})` : '';
  return `${request.kind.name}${where ? ` ${where}` : ''}${sub}`;
}
