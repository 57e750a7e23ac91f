/**
 * Webhook rules derived from what the policies need, so the chart's ValidatingWebhookConfiguration
 * sends the API server exactly the requests the engine judges (checked against the chart by a test).
 */
import type { AdmissionRule, Operation, Policy } from './types.ts';

/** A rule of `admissionregistration.k8s.io/v1` ValidatingWebhook.rules. */
export interface WebhookRule {
  apiGroups: string[];
  apiVersions: string[];
  operations: Operation[];
  resources: string[];
  scope: 'Cluster' | 'Namespaced' | '*';
}

const operationOrder: Operation[] = ['CREATE', 'UPDATE', 'DELETE', 'CONNECT'];

/** Merges the admission rules of policies into a minimal, sorted rule list (one rule per API group). */
export function webhookRulesFor(policies: readonly Policy<unknown>[]): WebhookRule[] {
  // keyed by "<scope> <group>" so rules of different scopes never merge
  const byGroup = new Map<string, Map<string, Set<Operation>>>();
  const add = (rule: AdmissionRule) => {
    for (const group of rule.apiGroups) {
      const key = `${rule.scope ?? '*'} ${group}`;
      const resources = byGroup.get(key) ?? new Map<string, Set<Operation>>();
      byGroup.set(key, resources);
      for (const resource of rule.resources) {
        const operations = resources.get(resource) ?? new Set<Operation>();
        resources.set(resource, operations);
        for (const operation of rule.operations) operations.add(operation);
      }
    }
  };
  for (const policy of policies) policy.admissionRules.forEach(add);
  const rules: WebhookRule[] = [];
  for (const key of [...byGroup.keys()].sort()) {
    const resources = byGroup.get(key) ?? new Map<string, Set<Operation>>();
    const [scope = '*', group = ''] = key.split(' ') as [WebhookRule['scope'], string];
    // Resources with the same operation set share a rule.
    const byOperations = new Map<string, string[]>();
    for (const [resource, operations] of [...resources.entries()].sort(([a], [b]) => a.localeCompare(b))) {
      const ops = operationOrder.filter((op) => operations.has(op)).join(',');
      byOperations.set(ops, [...(byOperations.get(ops) ?? []), resource]);
    }
    for (const [ops, list] of [...byOperations.entries()].sort(([a], [b]) => a.localeCompare(b))) {
      rules.push({
        apiGroups: [group],
        apiVersions: ['*'],
        operations: ops.split(',') as Operation[],
        resources: list,
        scope,
      });
    }
  }
  return rules;
}
