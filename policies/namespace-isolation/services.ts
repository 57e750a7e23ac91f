/**
 * Services and endpoints for namespace-isolation: ExternalName aliases, externalIPs and
 * hand-written Endpoints or EndpointSlices (CVE-2021-25740, CVE-2020-8554).
 */
import { ipInNetworks } from '../engine/cidr.ts';
import { getIn } from '../engine/workloads.ts';
import type { Scope } from './tenancy.ts';
import { isKind, isTenant } from './tenancy.ts';

/** Reports ExternalName Services in tenant namespaces and externalIPs outside `allowedExternalIPs` anywhere. */
export function checkService(scope: Scope): void {
  const { object, findings } = scope;
  if (!isKind(object, ['Service'], [''])) return;
  if (isTenant(scope) && getIn(object, ['spec', 'type']) === 'ExternalName')
    findings.push({
      path: 'spec.type',
      message: `ExternalName Service points at ${JSON.stringify(getIn(object, ['spec', 'externalName']) ?? '')}; it can alias another tenant's or the control plane's services (CVE-2021-25740)`,
      fix: 'use a ClusterIP Service with a selector, or ask the platform team for an egress route',
    });
  const externalIPs = getIn(object, ['spec', 'externalIPs']);
  if (!Array.isArray(externalIPs)) return;
  const allowed = scope.params.allowedExternalIPs;
  externalIPs.forEach((ip: unknown, index) => {
    if (typeof ip === 'string' && ipInNetworks(ip, allowed)) return;
    findings.push({
      path: `spec.externalIPs[${index}]`,
      message: `Service claims externalIP ${JSON.stringify(ip)}, ${allowed.length > 0 ? `outside the allowed networks (${allowed.map((c) => c.text).join(', ')}), ` : ''}which can intercept traffic to that address cluster-wide (CVE-2020-8554)`,
      fix:
        allowed.length > 0
          ? 'use an address the platform assigned from the allowed networks, or expose the Service through the shared ingress'
          : 'remove spec.externalIPs; expose the Service through the shared ingress instead',
    });
  });
}

/** Reports hand-written Endpoints and EndpointSlices. */
export function checkEndpoints(scope: Scope): void {
  const { object } = scope;
  const isEndpoints = isKind(object, ['Endpoints'], ['']);
  if (!isEndpoints && !isKind(object, ['EndpointSlice'], ['discovery.k8s.io'])) return;
  scope.findings.push({
    path: isEndpoints
      ? object.subsets !== undefined
        ? 'subsets'
        : 'kind'
      : object.endpoints !== undefined
        ? 'endpoints'
        : 'kind',
    message: `hand-written ${String(object.kind)} "${String(object.metadata?.name ?? '?')}" can steer a Service to arbitrary addresses, including other tenants' pods (CVE-2021-25740)`,
    fix: 'give the Service a selector and let the control plane manage its endpoints',
  });
}
