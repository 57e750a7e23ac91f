import { describe, expect, it } from 'vitest';
import { kubeBoolean, kubeFloat, kubeInteger } from './kube-scalars.ts';
import { readAsKubectl } from './kubectl-reader.ts';
import { parseSource } from './yaml-source.ts';

// Expected values are go-yaml v2's (sigs.k8s.io/yaml, as kubectl/Helm/Argo CD read manifests).
describe('plain scalars typed as Kubernetes clients read them', () => {
  it.each([
    ['yes', true],
    ['Y', true],
    ['on', true],
    ['ON', true],
    ['True', true],
    ['no', false],
    ['n', false],
    ['Off', false],
    ['FALSE', false],
    ['yEs', undefined],
    ['enabled', undefined],
  ])('boolean %s → %s', (source, expected) => {
    expect(kubeBoolean(source)).toBe(expected);
  });

  it.each([
    ['5432', 5432],
    ['012470', 5432],
    ['0755', 493],
    ['0', 0],
    ['-0', 0],
    ['+12', 12],
    ['1_000', 1000],
    ['0x1F90', 8080],
    ['0X1f90', 8080],
    ['0o17', 15],
    ['0b101', 5],
    ['-0b101', -5],
    ['08', undefined],
    ['1e3', undefined],
    ['_1', undefined],
    ['0x', undefined],
    ['1.0.0', undefined],
  ])('integer %s → %s', (source, expected) => {
    expect(kubeInteger(source)).toBe(expected);
  });

  it.each([
    ['1e3', 1000],
    ['08', 8],
    ['.5', 0.5],
    ['+.5', 0.5],
    ['1_000.5', 1000.5],
    ['.inf', Infinity],
    ['-.Inf', -Infinity],
    ['1.0.0', undefined],
    ['.', undefined],
    ['Infinity', undefined],
    ['1Gi', undefined],
  ])('float %s → %s', (source, expected) => {
    expect(kubeFloat(source)).toBe(expected);
  });

  it('is NaN for .nan', () => {
    expect(kubeFloat('.nan')).toBeNaN();
  });

  const manifest = [
    'spec:',
    '  hostNetwork: yes',
    '  hostPID: "yes"',
    '  hostIPC: off',
    '  port: 012470',
    '  defaultMode: 0644',
    '  replicas: 1_0',
    '  hex: 0x10',
    '  memory: 1Gi',
    '  version: 1.0.0',
    '  name: y',
    '  quoted: "0755"',
    '',
  ].join('\n');
  const expected = {
    spec: {
      hostNetwork: true,
      hostPID: 'yes',
      hostIPC: false,
      port: 5432,
      defaultMode: 420,
      replicas: 10,
      hex: 16,
      memory: '1Gi',
      version: '1.0.0',
      name: true,
      quoted: '0755',
    },
  };

  it('readAsKubectl types plain scalars like kubectl, quoted ones stay strings', () => {
    const document = `apiVersion: v1\nkind: ConfigMap\n${manifest}`;
    expect(readAsKubectl(document).objects[0]?.object).toEqual({
      apiVersion: 'v1',
      kind: 'ConfigMap',
      ...expected,
    });
  });

  it('the default stays the YAML 1.2 core schema (bundles: `enforcement: off` is a string)', () => {
    const value = parseSource('enforcement: off\nport: 0755\n').documents[0]?.value;
    expect(value).toEqual({ enforcement: 'off', port: 755 });
  });
});
