/**
 * The engine: one `evaluate` behind both the webhook and the CI gate. It normalizes the input,
 * applies exemptions, runs every configured policy (a throwing policy gives status `error`, never
 * a pass), and derives the decision from the enforcement actions at the asking point.
 */
import type { CompiledBundle, CompiledExemption, CompiledPolicy } from './bundle.ts';
import { formatPath, prefixPath } from './path.ts';
import { isListObject, isRecord } from './workloads.ts';
import type {
  AdmissionInput,
  Decision,
  EngineContext,
  EnforcementAction,
  ExemptionRef,
  Finding,
  KubeObject,
  ObjectRef,
  PolicyInput,
  PolicyOutcome,
  PolicyRecord,
  PolicyResult,
  PolicyStatus,
  Report,
} from './types.ts';

const severity: Record<EnforcementAction, number> = { off: 0, audit: 1, warn: 2, deny: 3 };

/** The less severe of two actions (a finding may lower its policy's action, never raise it). */
export function weakerAction(a: EnforcementAction, b: EnforcementAction): EnforcementAction {
  return severity[a] <= severity[b] ? a : b;
}

/** Creates a skip outcome with its reason. */
export function skip(reason: string): { skip: string } {
  return { skip: reason };
}

/** Reference (apiVersion, kind, namespace, name) of the object an input is about. */
export function objectRefOf(input: AdmissionInput): ObjectRef {
  const object =
    input.operation === 'DELETE' ? (input.oldObject ?? input.object) : (input.object ?? input.oldObject);
  // Only strings are read: a malformed object (an apiVersion that is a map) must not make evaluate throw.
  const text = (value: unknown): string | undefined => (typeof value === 'string' ? value : undefined);
  const metadata = isRecord(object?.metadata) ? object.metadata : undefined;
  const ref: ObjectRef = { apiVersion: text(object?.apiVersion) ?? '', kind: text(object?.kind) ?? '' };
  const namespace = input.namespace ?? text(metadata?.namespace);
  if (namespace) ref.namespace = namespace;
  const name = text(metadata?.name) ?? text(metadata?.generateName);
  if (name) ref.name = name;
  return ref;
}

/** Evaluates one admission-shaped input against a bundle. Never throws for a policy's failure. */
export async function evaluate(
  input: AdmissionInput,
  bundle: CompiledBundle,
  context: EngineContext,
): Promise<Report> {
  return evaluateNow(input, bundle, context);
}

/**
 * {@link evaluate}, answering at once when every policy does (all but those that wait on a
 * registry), so an edge judging thousands of manifests does not wait a turn for each.
 */
export function evaluateNow(
  input: AdmissionInput,
  bundle: CompiledBundle,
  context: EngineContext,
): Report | Promise<Report> {
  const ref = objectRefOf(input);
  const target = input.operation === 'DELETE' ? (input.oldObject ?? input.object) : input.object;
  const report = (results: PolicyResult[]): Report => ({
    object: ref,
    operation: input.operation,
    point: context.point,
    bundle: bundle.identity,
    decision: decide(results),
    results,
  });
  const results =
    target && isListObject(target)
      ? evaluateList(input, target, bundle, context)
      : evaluateObject(input, target, bundle, context);
  return isPromise(results) ? Promise.resolve(results).then(report) : report(results);
}

/** Longest finding message, fix or error reason in a report. */
export const MAX_TEXT_LENGTH = 1024;

/**
 * Shortens a text quoting a hostile value (a 5 MB image string) to {@link MAX_TEXT_LENGTH}, keeping
 * its start and end, so it never becomes a megabyte 403 message, audit entry or CI annotation.
 */
export function clipText(text: string): string {
  if (typeof text !== 'string' || text.length <= MAX_TEXT_LENGTH) return text;
  const omitted = text.length - MAX_TEXT_LENGTH + 40;
  return `${text.slice(0, 700)}… [${omitted} characters omitted] …${text.slice(text.length - (MAX_TEXT_LENGTH - 740))}`;
}

/** Deny when any result at action `deny` failed or errored. */
export function decide(results: readonly PolicyResult[]): Decision {
  for (const result of results) {
    if (result.status === 'error' && result.action === 'deny') return 'deny';
    if (result.findings.some((finding) => finding.action === 'deny')) return 'deny';
  }
  return 'allow';
}

/** Lists nested deeper than this (kubectl flattens Lists of Lists) are an error, not a stack overflow. */
const maxListDepth = 8;

async function evaluateList(
  input: AdmissionInput,
  list: KubeObject,
  bundle: CompiledBundle,
  context: EngineContext,
  depth = 1,
): Promise<PolicyResult[]> {
  if (depth > maxListDepth)
    return bundle.policies.map((configured) => ({
      policy: configured.policy.id,
      version: configured.policy.version,
      status: 'error',
      action: configured.enforcement[context.point],
      reason: `Lists nested more than ${maxListDepth} deep are not evaluated`,
      findings: [],
    }));
  const items = Array.isArray(list.items) ? (list.items as unknown[]) : [];
  const perItem = await Promise.all(
    items.map(async (item, index) => {
      const object = isRecord(item) ? (item as KubeObject) : undefined;
      const itemInput: AdmissionInput = {
        ...input,
        operation: input.operation === 'DELETE' ? 'DELETE' : input.operation,
      };
      if (input.operation === 'DELETE') itemInput.oldObject = object as KubeObject;
      else if (object) itemInput.object = object;
      delete itemInput.namespace;
      // A List inside a List is flattened item by item, as kubectl does.
      const results =
        object && isListObject(object)
          ? await evaluateList(itemInput, object, bundle, context, depth + 1)
          : await evaluateObject(itemInput, object, bundle, context);
      return results.map((result) => ({
        ...result,
        findings: result.findings.map((finding) => ({
          ...finding,
          path: prefixPath(formatPath(['items', index]), finding.path),
        })),
      }));
    }),
  );
  return bundle.policies.map((configured, policyIndex) =>
    mergeResults(
      configured,
      perItem.map((results) => results[policyIndex]),
    ),
  );
}

function mergeResults(
  configured: CompiledPolicy,
  results: ReadonlyArray<PolicyResult | undefined>,
): PolicyResult {
  const present = results.filter((r): r is PolicyResult => r !== undefined);
  const order: PolicyStatus[] = ['error', 'fail', 'warn', 'pass', 'skip'];
  const status = order.find((s) => present.some((r) => r.status === s)) ?? 'skip';
  const merged: PolicyResult = {
    policy: configured.policy.id,
    version: configured.policy.version,
    status,
    action: present[0]?.action ?? 'off',
    findings: present.flatMap((r) => r.findings),
  };
  const reasons = [...new Set(present.filter((r) => r.status === status && r.reason).map((r) => r.reason))];
  if (reasons.length > 0) merged.reason = reasons.join('; ');
  if (status === 'skip' && present.length === 0) merged.reason = 'the list has no items';
  if (configured.controls.length > 0) merged.controls = [...configured.controls];
  const records = present.flatMap((r) => r.records ?? []);
  if (records.length > 0) merged.records = records;
  return merged;
}

function evaluateObject(
  input: AdmissionInput,
  target: KubeObject | undefined,
  bundle: CompiledBundle,
  context: EngineContext,
): PolicyResult[] | Promise<PolicyResult[]> {
  const policyInput = target ? toPolicyInput(input, target) : undefined;
  const results = bundle.policies.map((configured) => runPolicy(configured, policyInput, bundle, context));
  // Most policies answer synchronously: wait only when one did not.
  return results.some(isPromise) ? Promise.all(results) : (results as PolicyResult[]);
}

function isPromise<T>(value: T | PromiseLike<T>): value is PromiseLike<T> {
  return typeof (value as { then?: unknown } | null)?.then === 'function';
}

function toPolicyInput(input: AdmissionInput, object: KubeObject): PolicyInput {
  const metadataNamespace = isRecord(object.metadata) ? object.metadata.namespace : undefined;
  const namespace =
    input.namespace ?? (typeof metadataNamespace === 'string' ? metadataNamespace : undefined);
  const policyInput: { -readonly [K in keyof PolicyInput]: PolicyInput[K] } = {
    operation: input.operation,
    object,
    dryRun: input.dryRun ?? false,
  };
  if (input.operation !== 'DELETE' && input.oldObject) policyInput.oldObject = input.oldObject;
  if (namespace) policyInput.namespace = namespace;
  if (input.subresource) policyInput.subresource = input.subresource;
  if (input.resource) policyInput.resource = input.resource;
  if (input.userInfo) policyInput.userInfo = input.userInfo;
  return policyInput;
}

/** One policy's result; a promise only when the policy answers asynchronously. */
function runPolicy(
  configured: CompiledPolicy,
  input: PolicyInput | undefined,
  bundle: CompiledBundle,
  context: EngineContext,
): PolicyResult | PromiseLike<PolicyResult> {
  const { policy } = configured;
  const action = configured.enforcement[context.point];
  const result: PolicyResult = {
    policy: policy.id,
    version: policy.version,
    status: 'skip',
    action,
    findings: [],
  };
  if (configured.controls.length > 0) result.controls = [...configured.controls];
  if (action === 'off') {
    result.reason = `enforcement is off at ${context.point}`;
    return result;
  }
  if (!input) {
    result.status = 'error';
    result.reason = 'the request carries no object to evaluate';
    return result;
  }
  const { active, expired } = matchExemptions(bundle.exemptions, policy.id, input, context.now);
  if (expired.length > 0) result.expiredExemptions = expired.map(exemptionRef);
  if (active) {
    result.exemption = exemptionRef(active);
    result.reason = `exempted by ${active.ticket} until ${active.expires}: ${active.reason}`;
    return result;
  }
  const records: PolicyRecord[] = [];
  const failed = (error: unknown): PolicyResult => {
    result.status = 'error';
    result.reason = clipText(
      `policy ${policy.id} could not evaluate: ${error instanceof Error ? error.message : String(error)}`,
    );
    result.findings = [];
    return result;
  };
  const finish = (outcome: PolicyOutcome): PolicyResult => {
    try {
      if (records.length > 0) result.records = records;
      if (!Array.isArray(outcome)) {
        result.reason = outcome.skip;
        return result;
      }
      result.findings = outcome.map((draft): Finding => ({
        ...draft,
        message: clipText(draft.message),
        fix: clipText(draft.fix),
        policy: policy.id,
        action: draft.action ? weakerAction(action, draft.action) : action,
      }));
      result.status = statusOf(result.findings);
      return result;
    } catch (error) {
      return failed(error);
    }
  };
  let outcome: PolicyOutcome | PromiseLike<PolicyOutcome>;
  try {
    outcome = policy.evaluate(input, configured.params, context, {
      record: (entry) => records.push(entry),
    });
  } catch (error) {
    return failed(error);
  }
  return isPromise(outcome) ? outcome.then(finish, failed) : finish(outcome);
}

function statusOf(findings: readonly Finding[]): PolicyStatus {
  if (findings.length === 0) return 'pass';
  if (findings.some((f) => f.action === 'deny' || f.action === 'audit')) return 'fail';
  if (findings.some((f) => f.action === 'warn')) return 'warn';
  return 'pass';
}

function matchExemptions(
  exemptions: readonly CompiledExemption[],
  policyId: string,
  input: PolicyInput,
  now: Date,
): { active?: CompiledExemption; expired: CompiledExemption[] } {
  const expired: CompiledExemption[] = [];
  for (const exemption of exemptions) {
    if (exemption.policy !== policyId) continue;
    if (exemption.namespaces && !(input.namespace && exemption.namespaces.includes(input.namespace)))
      continue;
    if (
      exemption.kinds &&
      !(typeof input.object.kind === 'string' && exemption.kinds.includes(input.object.kind))
    )
      continue;
    const name = input.object.metadata?.name;
    if (exemption.names && !(name && exemption.names.includes(name))) continue;
    if (now.getTime() >= exemption.expiresAt.getTime()) {
      expired.push(exemption);
      continue;
    }
    return { active: exemption, expired };
  }
  return { expired };
}

function exemptionRef(exemption: CompiledExemption): ExemptionRef {
  return { ticket: exemption.ticket, reason: exemption.reason, expires: exemption.expires };
}
