import { describe, expect, it } from 'vitest';
import {
  auditAnnotationKey,
  boundWarnings,
  isValidAuditAnnotationKey,
  oneLine,
  redactRecord,
  responseLimits,
} from './admission.ts';

describe('audit annotation keys', () => {
  it.each([
    ['freeze-windows.break-glass', 'freeze-windows.break-glass'],
    ['policy/with slash and spaces', 'policy-with-slash-and-spaces'],
    ['-leading.and.trailing-', 'leading.and.trailing'],
    ['x'.repeat(100), 'x'.repeat(63)],
    ['ünïcödé.audit', 'n-c-d-.audit'],
    ['---', 'tollgate'],
  ])('turns %j into the valid key %j', (raw, key) => {
    expect(auditAnnotationKey(raw)).toBe(key);
    expect(isValidAuditAnnotationKey(key)).toBe(true);
  });

  it('rejects keys the API server would refuse', () => {
    for (const key of ['a/b', '-a', 'a-', '', 'x'.repeat(64), 'a b'])
      expect(isValidAuditAnnotationKey(key)).toBe(false);
  });
});

describe('warnings', () => {
  it('are single-line, truncated, and bounded in total', () => {
    const warnings = boundWarnings([
      'line one\nline two\r\n',
      'y'.repeat(500),
      ...Array.from({ length: 100 }, () => 'z'.repeat(100)),
    ]);
    expect(warnings[0]).toBe('line one line two');
    expect(warnings[1]).toHaveLength(responseLimits.warning);
    expect(warnings[1]?.endsWith('…')).toBe(true);
    expect(warnings.join('').length).toBeLessThanOrEqual(responseLimits.warningsTotal);
    expect(warnings.at(-1)).toMatch(/^tollgate: \d+ more warning\(s\) not shown$/);
  });

  it('strip control characters', () => {
    expect(oneLine('a\u0000b\u001bc\u007f')).toBe('a b c');
  });
});

describe('records', () => {
  it('redact credential-like fields at any depth', () => {
    expect(
      redactRecord({
        kind: 'break-glass',
        data: {
          ticket: 'INC-1',
          token: 'eyJ...',
          approvals: [{ by: 'carol', signature: 'abc' }],
          nested: { clientSecret: 's' },
        },
      }),
    ).toEqual({
      ticket: 'INC-1',
      token: '[redacted]',
      approvals: [{ by: 'carol', signature: '[redacted]' }],
      nested: { clientSecret: '[redacted]' },
    });
  });
});
