/**
 * Host access for namespace-isolation: the host checks of the Pod Security Standards baseline
 * (host namespaces, hostPath volumes, hostPort, privileged, added capabilities, Windows host
 * processes, probe and lifecycle hosts), run by the engine's one implementation that pod-security
 * runs too, with this policy's capability list and host allowances.
 */
import { formatPath } from '../engine/path.ts';
import { hostCheckIds, podSecurityViolations } from '../engine/pod-security-standards.ts';
import { malformedWorkloadFields } from '../engine/workloads.ts';
import type { Scope } from './tenancy.ts';

/** Reports host access in every pod spec and container of the object. */
export function checkHostAccess(scope: Scope): void {
  const { findings, params } = scope;
  for (const { path, message } of malformedWorkloadFields(scope.object))
    findings.push({
      path,
      message: `${message}, so host access (privileged, hostPath, hostPort, capabilities) cannot be checked`,
      fix: 'write the field as Kubernetes expects it (a pod spec map with lists of container and volume maps)',
    });
  for (const violation of podSecurityViolations(scope.object, 'baseline', 'latest', {
    only: hostCheckIds,
    allow: params.allow,
    baselineCapabilities: params.allowedCapabilities,
  }))
    findings.push({
      path: formatPath(violation.path),
      message: violation.message,
      fix: violation.fix,
      details: { check: violation.check },
    });
}
