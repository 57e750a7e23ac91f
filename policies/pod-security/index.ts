/**
 * pod-security: the Pod Security Standards (baseline, restricted) exactly as Pod Security Admission
 * checks them, versioned as PSA is, on every kind that carries a pod spec, so that CI predicts what
 * a cluster enforcing PSA decides, and the webhook enforces it on templates too. The checks live in
 * the engine (policies/engine/pod-security-standards.ts), shared with namespace-isolation.
 */
import { skipDelete, skipWithoutPodSpec } from '../engine/adjudicators.ts';
import { skip } from '../engine/evaluate.ts';
import { formatPath } from '../engine/path.ts';
import {
  formatPssVersion,
  parsePssVersion,
  podSecurityViolationsAt,
  runtimeClassOf,
  type PssLevel,
  type PssVersion,
  type PssViolation,
} from '../engine/pod-security-standards.ts';
import { matchScope } from '../engine/scope.ts';
import type { EnforcementAction, FindingDraft, KubeObject, Policy, PolicyInput } from '../engine/types.ts';
import { getIn, isRecord, malformedWorkloadFields, workloadAdmissionRules } from '../engine/workloads.ts';
import { compileParams, paramsSchema, type PodSecurityParams } from './params.ts';

export type { PodSecurityParams } from './params.ts';

/** PSA's namespace labels. */
export const enforceLabel = 'pod-security.kubernetes.io/enforce';
export const enforceVersionLabel = 'pod-security.kubernetes.io/enforce-version';

/** The level a namespace gets, where it came from, and the action for what it adds beyond the policy level. */
type Effective =
  | { readonly privileged: string }
  | { readonly level: PssLevel; readonly version: PssVersion; readonly action?: EnforcementAction };

function namespaceLabelsOf(
  input: PolicyInput,
  lookup: ((name: string) => KubeObject | undefined) | undefined,
) {
  if (!input.namespace || !lookup) return undefined;
  const labels = lookup(input.namespace)?.metadata?.labels;
  return isRecord(labels) ? labels : undefined;
}

function effectiveLevel(
  input: PolicyInput,
  params: PodSecurityParams,
  lookup: ((name: string) => KubeObject | undefined) | undefined,
): Effective {
  let effective: Effective = { level: params.level, version: params.version };
  const rule = params.namespaceLevels.find(
    (candidate) => matchScope(candidate.scope, input, lookup, 'not selected').inScope,
  );
  if (rule)
    effective = { level: rule.level, version: rule.version, ...(rule.action ? { action: rule.action } : {}) };
  const labels = params.namespaceLabels ? namespaceLabelsOf(input, lookup) : undefined;
  if (labels && (enforceLabel in labels || enforceVersionLabel in labels)) {
    const levelLabel = labels[enforceLabel];
    // As PSA: an unknown level enforces restricted, an unknown version latest.
    if (levelLabel === 'privileged')
      return { privileged: `namespace ${input.namespace} is labelled ${enforceLabel}=privileged` };
    const level: PssLevel =
      levelLabel === undefined ? effective.level : levelLabel === 'baseline' ? 'baseline' : 'restricted';
    const versionLabel = labels[enforceVersionLabel];
    const version =
      versionLabel === undefined ? effective.version : (parsePssVersion(String(versionLabel)) ?? 'latest');
    effective = { level, version };
  }
  return effective;
}

function containerImages(spec: unknown): Map<string, unknown> {
  const images = new Map<string, unknown>();
  for (const field of ['initContainers', 'containers', 'ephemeralContainers'])
    (Array.isArray(getIn(spec, [field])) ? (getIn(spec, [field]) as unknown[]) : []).forEach((c, i) =>
      images.set(
        `${field}/${isRecord(c) && field === 'ephemeralContainers' ? String(c.name) : i}`,
        getIn(c, ['image']),
      ),
    );
  return images;
}

/**
 * PSA evaluates a Pod UPDATE only when it adds a container or changes an image (the only mutable
 * fields of a running pod that matter): a label change on a pod admitted before the policy stays allowed.
 */
function insignificantPodUpdate(input: PolicyInput): boolean {
  if (input.operation !== 'UPDATE' || input.object.kind !== 'Pod' || !input.oldObject) return false;
  const next = containerImages(input.object.spec);
  const previous = containerImages(input.oldObject.spec);
  const count = (images: Map<string, unknown>, prefix: string) =>
    [...images.keys()].filter((key) => key.startsWith(prefix)).length;
  for (const prefix of ['initContainers/', 'containers/'])
    if (count(next, prefix) !== count(previous, prefix)) return false;
  for (const [key, image] of next) if (!previous.has(key) || previous.get(key) !== image) return false;
  return true;
}

function toFinding(violation: PssViolation, level: PssLevel, version: PssVersion): FindingDraft {
  return {
    path: formatPath(violation.path),
    message: `${violation.check}: ${violation.message}`,
    fix: violation.fix,
    details: { check: violation.check, level, version: formatPssVersion(version) },
  };
}

/** The pod-security policy. */
export const podSecurityPolicy: Policy<PodSecurityParams> = {
  id: 'pod-security',
  version: '1.2.0',
  description: 'Pod Security Standards (baseline, restricted) exactly as Pod Security Admission checks them.',
  help:
    'Every pod spec (Pods, workload templates, CronJobs, PodTemplates, Argo Rollouts and Workflows, KEDA ScaledJobs, ' +
    'CloudNativePG Poolers, Tekton Tasks, Pipelines and runs with their steps, sidecars and stepTemplate merged under ' +
    'each step, OpenKruise AdvancedCronJobs, UnitedDeployments, SidecarSets and EphemeralJobs; ephemeral containers ' +
    'added with kubectl debug) is judged by the checks of the Pod Security ' +
    'Standards at `level` (baseline or restricted) and `version` (latest or v1.N), as Pod Security Admission ' +
    '(k8s.io/pod-security-admission) defines them: capability names, profile types, SELinux types and sysctl names ' +
    "compare exactly. Each finding names PSA's check id (hostNamespaces, capabilities_restricted, ...) and the field. " +
    '`namespaceLevels` sets other levels for namespaces selected by name or by the labels of the trusted Namespace ' +
    'object (optionally as warnings); `namespaceLabels: true` honours the pod-security.kubernetes.io/enforce and ' +
    "enforce-version labels. PSA's exemptions: namespaces, usernames (admission only) and runtime classes. As PSA, a " +
    'Pod UPDATE that changes no image and adds no container is not judged. Host allowances (allowedHostPorts, ' +
    'allowedHostPaths with readOnly, exemptImages) relax the host checks.',
  paramsSchema,
  admissionRules: [...workloadAdmissionRules(['pods/ephemeralcontainers'])],
  compile: compileParams,
  evaluate(input, params, context) {
    const deleted = skipDelete(input);
    if (deleted) return skip(deleted);
    if (input.namespace && params.exempt.namespaces.includes(input.namespace))
      return skip(`namespace ${input.namespace} is exempt (exempt.namespaces)`);
    const user = input.userInfo?.username;
    if (user && params.exempt.usernames.includes(user)) return skip(`${user} is exempt (exempt.usernames)`);
    const malformed = malformedWorkloadFields(input.object);
    const reason = malformed.length === 0 ? skipWithoutPodSpec(input) : undefined;
    if (reason) return skip(reason);
    if (insignificantPodUpdate(input))
      return skip(
        'the Pod UPDATE changes no image and adds no container (Pod Security Admission does not judge it)',
      );
    const effective = effectiveLevel(input, params, context.namespaces);
    if ('privileged' in effective) return skip(effective.privileged);
    const findings: FindingDraft[] = malformed.map(({ path, message }) => ({
      path,
      message: `${message}, so the Pod Security Standards cannot be checked`,
      fix: 'write the field as Kubernetes expects it (a pod spec map with lists of container and volume maps)',
    }));
    const options = {
      allow: params.allow,
      skipPod: (spec: Record<string, unknown>) => {
        const runtimeClass = runtimeClassOf(spec);
        return runtimeClass !== undefined && params.exempt.runtimeClasses.includes(runtimeClass);
      },
    };
    const [violations = [], atPolicyLevel = []] = podSecurityViolationsAt(
      input.object,
      [
        { level: effective.level, version: effective.version },
        ...(effective.action ? [{ level: params.level, version: params.version }] : []),
      ],
      options,
    );
    // A field the policy level reports anyway keeps the policy's action; only what the stricter
    // namespace level adds is lowered.
    const kept = new Set(atPolicyLevel.map((violation) => formatPath(violation.path)));
    for (const violation of violations) {
      const finding = toFinding(violation, effective.level, effective.version);
      if (effective.action && !kept.has(finding.path)) finding.action = effective.action;
      findings.push(finding);
    }
    return findings;
  },
};
