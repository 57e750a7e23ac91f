import { describe, expect, it } from 'vitest';
import { compileHostAllowances, isExemptImage, isUnderHostPathPrefix } from './host-allowances.ts';

describe('host allowances', () => {
  it.each([
    ['/var/log', '/var/log', true],
    ['/var/log/pods/x.log', '/var/log', true],
    ['/var/log/', '/var/log', true],
    ['//var//log/./pods', '/var/log', true],
    ['/anything', '/', true],
    ['/var/logs', '/var/log', false],
    ['/var', '/var/log', false],
    ['/var/log/../../etc', '/var/log', false],
    ['/var/log/..', '/var/log', false],
    ['var/log', '/var/log', false],
  ])('%s under %s: %s', (path, prefix, expected) => {
    expect(isUnderHostPathPrefix(path, prefix)).toBe(expected);
  });

  it('compiles prefixes to their clean form and refuses what means nothing', () => {
    expect(
      compileHostAllowances({ allowedHostPaths: [{ pathPrefix: '/var/log/' }, { pathPrefix: '/' }] })
        .hostPaths,
    ).toEqual([
      { pathPrefix: '/var/log', readOnly: false },
      { pathPrefix: '/', readOnly: false },
    ]);
    expect(() => compileHostAllowances({ allowedHostPaths: [{ pathPrefix: 'var/log' }] })).toThrow(
      /not an absolute path/,
    );
    expect(() => compileHostAllowances({ allowedHostPorts: [{ min: 0, max: 10 }] })).toThrow(/1 to 65535/);
    expect(() => compileHostAllowances({ exemptImages: ['Registry.corp.example/UPPER'] })).toThrow(
      /exemptImages\/0|not a valid/,
    );
  });

  it('exempts images by parsed reference on host and path boundaries', () => {
    const allow = compileHostAllowances({
      exemptImages: ['registry.corp.example/platform/exporter', 'docker.io/library/busybox'],
    });
    expect(isExemptImage(allow, 'registry.corp.example/platform/exporter:1')).toBe(true);
    expect(isExemptImage(allow, 'registry.corp.example/platform/exporter/x@sha256:' + 'b'.repeat(64))).toBe(
      true,
    );
    expect(isExemptImage(allow, 'busybox:1.36')).toBe(true);
    expect(isExemptImage(allow, 'docker.io/library/busybox')).toBe(true);
    expect(isExemptImage(allow, 'registry.corp.example/platform/exporterx:1')).toBe(false);
    expect(isExemptImage(allow, 'registry.corp.example:5000/platform/exporter:1')).toBe(false);
    expect(isExemptImage(allow, 'evil.io/busybox')).toBe(false);
    expect(isExemptImage(allow, ' busybox')).toBe(false);
    expect(isExemptImage(allow, undefined)).toBe(false);
  });
});
