import { describe, expect, it } from 'vitest';
import { labelSelectorProblems, matchesLabelSelector } from './label-selector.ts';

describe('label selectors', () => {
  const labels = { env: 'production', tier: 'db' };
  it.each([
    [{ matchLabels: { env: 'production' } }, true],
    [{ matchLabels: { env: 'staging' } }, false],
    [{ matchExpressions: [{ key: 'tier', operator: 'In' as const, values: ['db', 'cache'] }] }, true],
    [{ matchExpressions: [{ key: 'tier', operator: 'NotIn' as const, values: ['db'] }] }, false],
    [{ matchExpressions: [{ key: 'owner', operator: 'NotIn' as const, values: ['x'] }] }, true],
    [{ matchExpressions: [{ key: 'owner', operator: 'DoesNotExist' as const }] }, true],
    [{ matchExpressions: [{ key: 'env', operator: 'Exists' as const }] }, true],
    [
      {
        matchLabels: { env: 'production' },
        matchExpressions: [{ key: 'tier', operator: 'In' as const, values: ['web'] }],
      },
      false,
    ],
    [{}, true],
  ])('%j matches production db labels: %s', (selector, expected) => {
    expect(matchesLabelSelector(selector, labels)).toBe(expected);
  });

  it('reports operators whose values contradict them', () => {
    const problems = labelSelectorProblems({
      matchExpressions: [
        { key: 'a', operator: 'In' },
        { key: 'b', operator: 'Exists', values: ['x'] },
        { key: 'c', operator: 'NotIn', values: ['y'] },
      ],
    });
    expect(problems.map((p) => [p.index, p.needsValues])).toEqual([
      [0, true],
      [1, false],
    ]);
  });
});
