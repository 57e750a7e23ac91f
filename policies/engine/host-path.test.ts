import { describe, expect, it } from 'vitest';
import { isUnderPath, matchesHostPath } from './host-path.ts';

describe('host and path boundaries', () => {
  it.each([
    ['corp/erp', 'corp/erp', true],
    ['corp/erp/odoo', 'corp/erp', true],
    ['corp/erpx', 'corp/erp', false],
    ['corp/erp-tools/cli', 'corp/erp', false],
    ['corp', 'corp/erp', false],
    ['anything/at/all', '', true],
  ])('%s under %s: %s', (path, prefix, expected) => {
    expect(isUnderPath(path, prefix)).toBe(expected);
  });

  it('compares hosts exactly, port included', () => {
    const prefix = { host: 'git.corp.example', path: 'erp' };
    expect(matchesHostPath({ host: 'git.corp.example', path: 'erp/deploy' }, prefix)).toBe(true);
    expect(matchesHostPath({ host: 'git.corp.example.evil.io', path: 'erp/deploy' }, prefix)).toBe(false);
    expect(matchesHostPath({ host: 'git.corp.example:8443', path: 'erp/deploy' }, prefix)).toBe(false);
  });
});
