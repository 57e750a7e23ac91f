import { describe, expect, it } from 'vitest';
import { isServiceWildcard, meshServiceOf } from './mesh-hosts.ts';

describe('Istio service hosts', () => {
  it.each([
    ['db', 'tenant-a', { name: 'db', namespace: 'tenant-a' }],
    ['DB.', 'tenant-a', { name: 'db', namespace: 'tenant-a' }],
    ['db.tenant-b.svc', 'tenant-a', { name: 'db', namespace: 'tenant-b' }],
    ['db.tenant-b.svc.cluster.local', 'tenant-a', { name: 'db', namespace: 'tenant-b' }],
    // Istio qualifies only single-label names: a dotted host is taken as written (external)
    ['db.tenant-b', 'tenant-a', undefined],
    ['db.example.com', 'tenant-a', undefined],
    ['*.tenant-b.svc.cluster.local', 'tenant-a', undefined],
  ])('%s (named in %s)', (host, namespace, expected) => {
    expect(meshServiceOf(host, namespace)).toEqual(expected);
  });

  it('knows the wildcards over every service', () => {
    for (const host of ['*', '*.svc.cluster.local', '*.cluster.local', '*.local', '*.svc'])
      expect(isServiceWildcard(host)).toBe(true);
    expect(isServiceWildcard('*.example.com')).toBe(false);
  });
});
