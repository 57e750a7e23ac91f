/** Kubernetes label selectors (`matchLabels` AND `matchExpressions`), shared by every policy that selects by labels. */

/** One `matchExpressions` requirement. */
export interface LabelSelectorRequirement {
  readonly key: string;
  readonly operator: 'In' | 'NotIn' | 'Exists' | 'DoesNotExist';
  readonly values?: readonly string[];
}

/** A label selector as written in a bundle. */
export interface LabelSelector {
  readonly matchLabels?: Readonly<Record<string, string>>;
  readonly matchExpressions?: readonly LabelSelectorRequirement[];
}

/** JSON Schema of a label selector in a bundle. */
export const labelSelectorSchema = {
  type: 'object',
  additionalProperties: false,
  properties: {
    matchLabels: { type: 'object', additionalProperties: { type: 'string' } },
    matchExpressions: {
      type: 'array',
      items: {
        type: 'object',
        required: ['key', 'operator'],
        additionalProperties: false,
        properties: {
          key: { type: 'string', minLength: 1 },
          operator: { enum: ['In', 'NotIn', 'Exists', 'DoesNotExist'] },
          values: { type: 'array', items: { type: 'string' } },
        },
      },
    },
  },
} as const;

/**
 * Requirements whose values contradict their operator (In/NotIn need values, Exists/DoesNotExist
 * take none), which the schema cannot express; `needsValues` says which way.
 */
export function labelSelectorProblems(
  selector: LabelSelector,
): Array<{ index: number; requirement: LabelSelectorRequirement; needsValues: boolean }> {
  const problems: Array<{ index: number; requirement: LabelSelectorRequirement; needsValues: boolean }> = [];
  (selector.matchExpressions ?? []).forEach((requirement, index) => {
    const needsValues = requirement.operator === 'In' || requirement.operator === 'NotIn';
    if (needsValues !== (requirement.values?.length ?? 0) > 0)
      problems.push({ index, requirement, needsValues });
  });
  return problems;
}

/** Whether labels satisfy a selector, with Kubernetes semantics (NotIn and DoesNotExist match a missing key). */
export function matchesLabelSelector(
  selector: LabelSelector,
  labels: Readonly<Record<string, unknown>>,
): boolean {
  for (const [key, value] of Object.entries(selector.matchLabels ?? {}))
    if (labels[key] !== value) return false;
  for (const requirement of selector.matchExpressions ?? []) {
    const present = Object.hasOwn(labels, requirement.key);
    const value = labels[requirement.key];
    const listed = typeof value === 'string' && (requirement.values ?? []).includes(value);
    if (requirement.operator === 'Exists' && !present) return false;
    if (requirement.operator === 'DoesNotExist' && present) return false;
    if (requirement.operator === 'In' && !listed) return false;
    if (requirement.operator === 'NotIn' && listed) return false;
  }
  return true;
}
