/**
 * namespace-isolation: tenants (namespaces carrying an admin-controlled label) stay inside their
 * namespaces. No host access, no references to other tenants' namespaces, no ExternalName or
 * externalIPs Services, no hand-written Endpoints, no RBAC escalation, no NetworkPolicy that opens
 * a tenant to every namespace or selects namespaces by labels a tenant can set, nothing in `default`.
 * The checks live in one module per concern; this file wires them.
 */
import { skipDelete } from '../engine/adjudicators.ts';
import { skip } from '../engine/evaluate.ts';
import type { Policy, PolicyInput } from '../engine/types.ts';
import { workloadAdmissionRules } from '../engine/workloads.ts';
import { checkHostAccess } from './host-access.ts';
import { checkNetworkPolicy } from './network.ts';
import { compileParams, paramsSchema } from './params.ts';
import type { NamespaceIsolationParams } from './params.ts';
import { checkRbac } from './rbac.ts';
import { checkCrossNamespace } from './references.ts';
import { checkEndpoints, checkService } from './services.ts';
import type { Scope } from './tenancy.ts';
import { classify, isSystem, isTenant } from './tenancy.ts';
import { checkHostVolumes } from './volumes.ts';

export { builtinSystemNamespaces, defaultControlPlaneUsers } from './params.ts';
export type { NamespaceIsolationParams } from './params.ts';

/** The namespace-isolation policy. */
export const namespaceIsolationPolicy: Policy<NamespaceIsolationParams> = {
  id: 'namespace-isolation',
  version: '1.8.0',
  description:
    'Tenants stay in their namespaces: no host access, cross-namespace references, RBAC escalation or open NetworkPolicies.',
  help:
    'Tenant namespaces carry the admin label `tenantLabel` (default `tollgate.dev/tenant`; its value names the tenant), ' +
    'read from the Namespace object (CI: Namespace manifests in the same input). A namespace whose object is unknown is ' +
    'treated as a tenant namespace unless it is listed in `sharedNamespaces` or `systemNamespaces` (fail-safe). ' +
    'Everywhere except system namespaces: no hostNetwork/hostPID/hostIPC, hostPath volumes (nor CSI volumes of `hostPathCsiDrivers`, ' +
    'nor PersistentVolumes of type hostPath or local outside `allowedHostPaths`), hostPort, privileged ' +
    'containers, capabilities beyond `allowedCapabilities` (compared exactly, as Pod Security Admission does), Windows ' +
    'hostProcess or probe hosts (every container, init and ephemeral included; the host checks of pod-security, relaxed ' +
    'by `allowedHostPorts`, `allowedHostPaths` and `exemptImages`); nothing in `default`; no Service externalIPs outside `allowedExternalIPs`; no RoleBinding to cluster-admin; no Role or ClusterRole ' +
    'granting escalate, bind or impersonate (by name, or by `*` on resources where they apply: roles, clusterroles, users, groups, service accounts, uids, user extras); no ClusterRole aggregating roles by anything but an `aggregate-to-<name>` ' +
    'label (an empty or bootstrap-label selector inherits cluster-admin), none injecting wildcards into admin, edit or ' +
    'view or Secrets or writes into view; no ClusterRoleBinding unless every subject is a ServiceAccount of a ' +
    'system, shared or known non-tenant namespace (platform components) or granting a ClusterRole of `clusterRoleBindingRoles`. In tenant namespaces: references to ' +
    'other namespaces (RoleBinding subjects; Traefik route services, middlewares, servers transports, TLS options and ' +
    'stores, parentRefs, Middleware chains and error pages, TraefikService weighted and mirroring services, and the ' +
    'router.middlewares, router.tls.options and service.serverstransport annotations, by namespace field or by ' +
    'provider-qualified name `<namespace>-<name>@kubernetescrd`, and plain names whose Traefik name ' +
    "`<namespace>-<name>` another tenant's existing namespace could also produce, in references and in the names of " +
    'Middlewares, TraefikServices, TLSOptions, TLSStores and ServersTransports; Gateway API parentRefs and ' +
    'backendRefs, ReferenceGrant from, PVC dataSourceRef) only to the same tenant or shared namespaces; Traefik ' +
    'services of other providers (`api@internal`, `x@file`) only when listed in `traefikProviderReferences`; Istio ' +
    'VirtualService, DestinationRule and ServiceEntry hosts, route destinations, mirrors, gateways and exports only in ' +
    'the tenant or shared namespaces (no wildcard hosts), and no ServiceEntry address spanning the internet; no Istio ' +
    'AuthorizationPolicy ALLOW rule open to any caller (no from, or a source of only `*` principals or namespaces, ' +
    'internet-wide ipBlocks or only not… fields) on every operation; no ExternalName ' +
    'Services; no hand-written Endpoints or EndpointSlices; NetworkPolicy ingress never open to every source or every ' +
    'namespace or over the cluster networks in `clusterCidrs`, and namespaceSelectors keyed only on `kubernetes.io/metadata.name`, the tenant label or ' +
    '`trustedNamespaceLabels`. Requests by `controlPlaneUsers` are judged on host access only.',
  paramsSchema,
  admissionRules: [
    ...workloadAdmissionRules([
      'pods/ephemeralcontainers',
      'services',
      'endpoints',
      'persistentvolumeclaims',
      'persistentvolumes',
      'configmaps',
      'serviceaccounts',
    ]),
    { apiGroups: ['discovery.k8s.io'], resources: ['endpointslices'], operations: ['CREATE', 'UPDATE'] },
    {
      apiGroups: ['networking.k8s.io'],
      resources: ['networkpolicies', 'ingresses'],
      operations: ['CREATE', 'UPDATE'],
    },
    {
      apiGroups: ['rbac.authorization.k8s.io'],
      resources: ['roles', 'rolebindings', 'clusterroles', 'clusterrolebindings'],
      operations: ['CREATE', 'UPDATE'],
    },
    {
      apiGroups: ['traefik.io', 'traefik.containo.us'],
      resources: [
        'ingressroutes',
        'ingressroutetcps',
        'ingressrouteudps',
        'middlewares',
        'middlewaretcps',
        'traefikservices',
      ],
      operations: ['CREATE', 'UPDATE'],
    },
    {
      apiGroups: ['networking.istio.io'],
      resources: ['virtualservices', 'destinationrules', 'serviceentries'],
      operations: ['CREATE', 'UPDATE'],
    },
    {
      apiGroups: ['security.istio.io'],
      resources: ['authorizationpolicies'],
      operations: ['CREATE', 'UPDATE'],
    },
    {
      apiGroups: ['gateway.networking.k8s.io'],
      resources: [
        'httproutes',
        'grpcroutes',
        'tcproutes',
        'tlsroutes',
        'udproutes',
        'gateways',
        'referencegrants',
      ],
      operations: ['CREATE', 'UPDATE'],
    },
  ],
  compile: compileParams,
  evaluate(input: PolicyInput, params, context) {
    const reason = skipDelete(input);
    if (reason) return skip(reason);
    const namespace = input.namespace || undefined;
    const scope: Scope = {
      params,
      context,
      object: input.object,
      tenancy: namespace === undefined ? undefined : classify(namespace, params, context),
      findings: [],
    };
    const controlPlane =
      input.userInfo?.username !== undefined && params.controlPlaneUsers.includes(input.userInfo.username);
    if (!isSystem(scope)) {
      checkHostAccess(scope);
      checkHostVolumes(scope);
    }
    if (!controlPlane) {
      if (namespace === 'default')
        scope.findings.push({
          path: 'metadata.namespace',
          message: `${String(input.object.kind ?? 'object')} "${String(input.object.metadata?.name ?? '?')}" is in the "default" namespace, which belongs to no tenant`,
          fix: "deploy it into the tenant's own namespace (set metadata.namespace)",
        });
      if (!isSystem(scope)) {
        checkRbac(scope);
        checkService(scope);
      }
      if (isTenant(scope)) {
        checkEndpoints(scope);
        checkCrossNamespace(scope);
        checkNetworkPolicy(scope);
      }
    }
    return scope.findings;
  },
};
