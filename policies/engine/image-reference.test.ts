import { describe, expect, it } from 'vitest';
import { matchesRegistryPrefix, normalizeRegistryPrefix, parseImageReference } from './image-reference.ts';
import type { ImageReference } from './image-reference.ts';

describe('parseImageReference', () => {
  it('gives every caller the same frozen parse of a reference, so none can change what the next reads', () => {
    const first = parseImageReference('nginx:1.27');
    expect(first).toEqual({
      original: 'nginx:1.27',
      domain: 'docker.io',
      path: 'library/nginx',
      tag: '1.27',
      repository: 'docker.io/library/nginx',
    });
    expect(Object.isFrozen(first)).toBe(true);
    expect(() => {
      (first as { domain: string }).domain = 'registry.corp.example';
    }).toThrow(TypeError);
    expect(parseImageReference('nginx:1.27')).toEqual(first);
    expect(Object.isFrozen(parseImageReference('Bad Image'))).toBe(true);
  });

  it('reads a reference of any length the same way every time (long ones are not remembered)', () => {
    const long = `registry.corp.example/erp/${'a'.repeat(300)}/${'b'.repeat(300)}:v1`;
    const parsed = parseImageReference(long);
    expect(parsed).toEqual({ error: `repository name longer than 255 characters in ${long}` });
    expect(parseImageReference(long)).toEqual(parsed);
  });

  it('judges prefixes the same after many distinct references and prefixes', () => {
    for (let i = 0; i < 600; i++) parseImageReference(`registry.corp.example/team${i}/app:${i}`);
    for (let i = 0; i < 600; i++) normalizeRegistryPrefix(`registry.corp.example/team${i}`);
    const ref = parseImageReference('registry.corp.example/erp/odoo:17') as ImageReference;
    expect(matchesRegistryPrefix(ref, 'registry.corp.example/erp')).toBe(true);
    expect(matchesRegistryPrefix(ref, 'registry.corp.example/er')).toBe(false);
    expect(normalizeRegistryPrefix('Index.Docker.IO/library/')).toEqual({
      domain: 'docker.io',
      path: 'library',
    });
  });
});
