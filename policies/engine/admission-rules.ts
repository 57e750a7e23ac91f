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
  scope: '*';
}

const operationOrder: Operation[] = ['CREATE', 'UPDATE', 'DELETE', 'CONNECT'];

/** Merges the admission rules of policies into a minimal, sorted rule list (one rule per API group). */
export function webhookRulesFor(policies: readonly Policy<unknown>[]): WebhookRule[] {
  const byGroup = new Map<string, Map<string, Set<Operation>>>();
  const add = (rule: AdmissionRule) => {
    for (const group of rule.apiGroups) {
      const resources = byGroup.get(group) ?? new Map<string, Set<Operation>>();
      byGroup.set(group, resources);
      for (const resource of rule.resources) {
        const operations = resources.get(resource) ?? new Set<Operation>();
        resources.set(resource, operations);
        for (const operation of rule.operations) operations.add(operation);
      }
    }
  };
  for (const policy of policies) policy.admissionRules.forEach(add);
  const rules: WebhookRule[] = [];
  for (const group of [...byGroup.keys()].sort()) {
    const resources = byGroup.get(group) ?? new Map<string, Set<Operation>>();
    // Resources with the same operation set share a rule.
    const byOperations = new Map<string, string[]>();
    for (const [resource, operations] of [...resources.entries()].sort(([a], [b]) => a.localeCompare(b))) {
      const key = operationOrder.filter((op) => operations.has(op)).join(',');
      byOperations.set(key, [...(byOperations.get(key) ?? []), resource]);
    }
    for (const [key, list] of [...byOperations.entries()].sort(([a], [b]) => a.localeCompare(b))) {
      rules.push({
        apiGroups: [group],
        apiVersions: ['*'],
        operations: key.split(',') as Operation[],
        resources: list,
        scope: '*',
      });
    }
  }
  return rules;
}
