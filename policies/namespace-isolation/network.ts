/**
 * NetworkPolicies for namespace-isolation: ingress open to every source or namespace, and
 * namespaceSelectors keyed on labels a tenant can set (capsule#200).
 */
import type { PathSegment } from '../engine/path.ts';
import { cidrContains, describeWideRange, internetWideCidr, parseCidr } from '../engine/cidr.ts';
import { formatPath } from '../engine/path.ts';
import { getIn, isRecord } from '../engine/workloads.ts';
import { NAME_LABEL } from './params.ts';
import type { Scope } from './tenancy.ts';
import { forEachItem, isKind, mayReference, ownDescription, sharedList } from './tenancy.ts';

interface SelectorRequirement {
  readonly key: string;
  readonly operator: string;
  readonly values: readonly string[];
  readonly path: readonly PathSegment[];
}

function requirementsOf(
  selector: Record<string, unknown>,
  path: readonly PathSegment[],
): SelectorRequirement[] {
  const out: SelectorRequirement[] = [];
  if (isRecord(selector.matchLabels))
    for (const [key, value] of Object.entries(selector.matchLabels))
      out.push({ key, operator: 'In', values: [String(value)], path: [...path, 'matchLabels', key] });
  forEachItem(selector.matchExpressions, [...path, 'matchExpressions'], (expression, expressionPath) => {
    out.push({
      key: String(expression.key ?? ''),
      operator: String(expression.operator ?? ''),
      values: Array.isArray(expression.values) ? expression.values.map(String) : [],
      path: [...expressionPath, 'key'],
    });
  });
  return out;
}

function isEmptySelector(selector: unknown): boolean {
  if (!isRecord(selector)) return true;
  return requirementsOf(selector, []).length === 0;
}

/**
 * The configured cluster (pod or service) network an ingress ipBlock admits, unless an `except`
 * entry removes it: a range such as 10.0.0.0/8 looks private but covers every pod of every tenant.
 */
function clusterRangeAdmitted(scope: Scope, peer: Record<string, unknown>, text: string): string | undefined {
  const block = parseCidr(text);
  if (!block) return undefined;
  const except = getIn(peer, ['ipBlock', 'except']);
  const excluded = (Array.isArray(except) ? except : [])
    .map((entry: unknown) => (typeof entry === 'string' ? parseCidr(entry) : undefined))
    .filter((entry): entry is NonNullable<typeof entry> => entry !== undefined);
  for (const configured of scope.params.clusterCidrs) {
    const network = parseCidr(configured);
    if (!network) continue;
    const overlaps = cidrContains(block, network) || cidrContains(network, block);
    if (overlaps && !excluded.some((entry) => cidrContains(entry, network) || cidrContains(entry, block)))
      return network.text;
  }
  return undefined;
}

/** Checks one NetworkPolicy peer; `ingress` peers must stay within the tenant and shared namespaces. */
function checkPeer(
  scope: Scope,
  peer: Record<string, unknown>,
  path: readonly PathSegment[],
  ingress: boolean,
): void {
  const { findings, params } = scope;
  const cidr = getIn(peer, ['ipBlock', 'cidr']);
  const wide = ingress && typeof cidr === 'string' ? internetWideCidr(cidr) : undefined;
  if (wide)
    findings.push({
      path: formatPath([...path, 'ipBlock', 'cidr']),
      message: `ingress from ipBlock ${JSON.stringify(cidr)} admits ${describeWideRange(wide)}, including pods of every namespace`,
      fix: 'admit traffic from the shared ingress namespace with a namespaceSelector on kubernetes.io/metadata.name, or list the client networks (at most /8)',
    });
  const cluster =
    ingress && typeof cidr === 'string' && !wide ? clusterRangeAdmitted(scope, peer, cidr) : undefined;
  if (cluster)
    findings.push({
      path: formatPath([...path, 'ipBlock', 'cidr']),
      message: `ingress from ipBlock ${JSON.stringify(cidr)} admits the cluster network ${cluster} (clusterCidrs), so pods of every namespace, other tenants included`,
      fix: `list only the client networks outside the cluster, or exclude ${cluster} with ipBlock.except`,
    });
  if (!('namespaceSelector' in peer)) return;
  const selector = isRecord(peer.namespaceSelector) ? peer.namespaceSelector : {};
  const selectorPath = [...path, 'namespaceSelector'];
  if (isEmptySelector(selector)) {
    if (!ingress) return;
    const podSelectorEmpty = isEmptySelector(peer.podSelector);
    findings.push({
      path: formatPath(selectorPath),
      message: podSelectorEmpty
        ? 'namespaceSelector: {} without a podSelector admits every pod in every namespace'
        : 'namespaceSelector: {} admits pods carrying these labels in every namespace, and any tenant can label its pods to match',
      fix: `select the allowed namespaces by name: namespaceSelector: {matchLabels: {kubernetes.io/metadata.name: <namespace>}}`,
    });
    return;
  }
  const trusted = new Set([NAME_LABEL, params.tenantLabel, ...params.trustedNamespaceLabels]);
  const requirements = requirementsOf(selector, selectorPath);
  const untrusted = requirements.filter((requirement) => !trusted.has(requirement.key));
  for (const requirement of untrusted)
    findings.push({
      path: formatPath(requirement.path),
      message: `namespaceSelector is keyed on label "${requirement.key}", which tenants can set on their own namespaces to match it (capsule#200)`,
      fix: `select namespaces by ${NAME_LABEL} (set by the API server) or the admin label ${params.tenantLabel}`,
    });
  if (!ingress || untrusted.length > 0) return;
  // Every trusted requirement must pin the selection to the tenant's own or shared namespaces.
  const own = scope.tenancy?.kind === 'tenant' ? scope.tenancy.tenant : undefined;
  const pinned = requirements.some(
    (requirement) =>
      requirement.operator === 'In' &&
      requirement.values.length > 0 &&
      (requirement.key === NAME_LABEL
        ? requirement.values.every((value) => mayReference(scope, value))
        : requirement.key === params.tenantLabel
          ? own !== undefined && requirement.values.every((value) => value === own)
          : false),
  );
  if (!pinned)
    findings.push({
      path: formatPath(selectorPath),
      message: `namespaceSelector admits namespaces outside ${ownDescription(scope)} and the shared namespaces (${sharedList(params)})`,
      fix: `admit only the tenant's own namespaces and shared namespaces, e.g. matchLabels: {${NAME_LABEL}: <shared namespace>}`,
    });
}

/** Reports NetworkPolicy ingress open to every source or namespace, and untrusted namespaceSelectors. */
export function checkNetworkPolicy(scope: Scope): void {
  const { object, findings } = scope;
  if (!isKind(object, ['NetworkPolicy'], ['networking.k8s.io'])) return;
  forEachItem(getIn(object, ['spec', 'ingress']), ['spec', 'ingress'], (rule, path) => {
    if (!Array.isArray(rule.from) || rule.from.length === 0) {
      findings.push({
        path: formatPath(rule.from === undefined ? path : [...path, 'from']),
        message: `ingress rule without sources (${rule.from === undefined ? 'no "from"' : '"from: []"'}) admits traffic from every pod of every namespace and from outside the cluster`,
        fix: 'list the allowed sources in "from": pods of this namespace (podSelector) or shared namespaces by kubernetes.io/metadata.name',
      });
      return;
    }
    forEachItem(rule.from, [...path, 'from'], (peer, peerPath) => checkPeer(scope, peer, peerPath, true));
  });
  const ingress = getIn(object, ['spec', 'ingress']);
  if (Array.isArray(ingress))
    ingress.forEach((rule: unknown, index) => {
      if (!isRecord(rule))
        findings.push({
          path: formatPath(['spec', 'ingress', index]),
          message: 'ingress rule is not a map',
          fix: 'write each ingress rule as {from: [...], ports: [...]}',
        });
    });
  forEachItem(getIn(object, ['spec', 'egress']), ['spec', 'egress'], (rule, path) =>
    forEachItem(rule.to, [...path, 'to'], (peer, peerPath) => checkPeer(scope, peer, peerPath, false)),
  );
}
