/**
 * The one review path: which requests are evaluated (the webhook's skip rules, which bundle test and
 * every other caller share), what each subject becomes as engine input, and the namespace inventory.
 */
import { describe, expect, it } from 'vitest';
import { namespaceInventory, prepareReview, skipReason } from './review.ts';
import type { AdmissionRequest } from './review.ts';
import type { KubeObject } from './types.ts';

describe('which requests are evaluated', () => {
  const request = (resource: string, subResource?: string, group = ''): AdmissionRequest => ({
    uid: 'u',
    operation: 'UPDATE',
    kind: { group, version: 'v1', name: 'Pod' },
    resource: { group, version: 'v1', name: resource },
    ...(subResource ? { subResource } : {}),
    dryRun: false,
  });
  it.each([
    ['pods', undefined, '', undefined],
    ['pods', 'ephemeralcontainers', '', undefined],
    ['pods', 'resize', '', undefined],
    ['pods', 'status', '', 'subresource pods/status is not evaluated'],
    ['deployments', 'scale', 'apps', undefined],
    ['statefulsets', 'status', 'apps', 'subresource statefulsets/status is not evaluated'],
    ['widgets', 'resize', 'example.com', 'subresource widgets/resize is not evaluated'],
  ])('%s/%s (group %j)', (resource, subResource, group, reason) => {
    expect(skipReason(request(resource, subResource, group))).toBe(reason);
  });
});

describe('prepareReview', () => {
  const pod: KubeObject = {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: 'p', namespace: 'tenant-acme' },
  };
  const request = (
    operation: AdmissionRequest['operation'],
    extra: Partial<AdmissionRequest> = {},
  ): AdmissionRequest => ({
    uid: 'u',
    operation,
    kind: { group: '', version: 'v1', name: 'Pod' },
    resource: { group: '', version: 'v1', name: 'pods' },
    dryRun: false,
    ...extra,
  });

  it('judges a manifest and a live object as the CREATE of it', () => {
    expect(prepareReview({ manifest: pod })).toEqual({ input: { operation: 'CREATE', object: pod } });
    expect(prepareReview({ live: pod })).toEqual({ input: { operation: 'CREATE', object: pod } });
  });

  it('judges a DELETE by its oldObject and never by a object the request carries', () => {
    const prepared = prepareReview({
      request: request('DELETE', { object: { kind: 'Pod' }, oldObject: pod }),
    });
    expect(prepared).toMatchObject({ input: { operation: 'DELETE', oldObject: pod } });
    expect('input' in prepared && prepared.input.object).toBeFalsy();
  });

  it('skips CONNECT with its reason', () => {
    expect(prepareReview({ request: request('CONNECT') })).toEqual({ skipped: 'CONNECT is not evaluated' });
  });
});

describe('namespaceInventory', () => {
  const ns = (name: string, tenant: string): KubeObject => ({
    apiVersion: 'v1',
    kind: 'Namespace',
    metadata: { name, labels: { 'tollgate.dev/tenant': tenant } },
  });

  it('looks up Namespace objects by name and ignores other kinds', () => {
    const lookup = namespaceInventory([ns('a', 'acme'), { kind: 'ConfigMap', metadata: { name: 'b' } }]);
    expect(lookup('a')?.metadata?.labels?.['tollgate.dev/tenant']).toBe('acme');
    expect(lookup('b')).toBeUndefined();
  });

  it('refuses a namespace listed twice, so no later entry overrides an earlier one', () => {
    expect(() => namespaceInventory([ns('a', 'acme'), ns('a', 'evil')], 'inventory.yaml')).toThrow(
      'inventory.yaml: namespace "a" is listed twice',
    );
  });
});
