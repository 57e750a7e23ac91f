/** getInputs: one typed, frozen settings object, and an actionable error naming each bad input. */
import { afterEach, describe, expect, it } from 'vitest';
import { ActionInputError } from './action-input-error.ts';
import { getInputs } from './inputs.ts';

const set: string[] = [];
function input(name: string, value: string): void {
  const key = `INPUT_${name.toUpperCase()}`;
  process.env[key] = value;
  set.push(key);
}
afterEach(() => {
  for (const key of set.splice(0)) delete process.env[key];
});

const env = { cwd: '/repo', workspace: '/work/repo', runnerTemp: '/runner/tmp' };

describe('getInputs', () => {
  it('defaults: the whole workspace, fail on deny, report in RUNNER_TEMP, frozen', () => {
    const settings = getInputs(env);
    expect(settings).toMatchObject({
      paths: ['.'],
      failOn: 'deny',
      changedOnly: false,
      offline: false,
      reportFile: '/runner/tmp/tollgate-report.json',
      cwd: '/work/repo',
      render: [],
    });
    expect(settings.baseline).toBeUndefined();
    expect(Object.isFrozen(settings)).toBe(true);
  });

  it('reads multi-line paths, render specs, booleans and the clock', () => {
    input('paths', 'k8s/\ncharts/*.yaml  !k8s/sandbox/**\n');
    input('render', 'helm:charts/odoo:values-prod.yaml\nkustomize:deploy/prod');
    input('changed-only', 'TRUE');
    input('fail-on', 'warn');
    input('now', '2026-12-30T18:00:00+01:00');
    input('baseline', 'abc123');
    input('sarif-file', 'out/tollgate.sarif');
    const settings = getInputs(env);
    expect(settings.paths).toEqual(['k8s/', 'charts/*.yaml', '!k8s/sandbox/**']);
    expect(settings.render.map((r) => r.kind)).toEqual(['helm', 'kustomize']);
    expect(settings).toMatchObject({
      changedOnly: true,
      failOn: 'warn',
      baseline: 'abc123',
      sarifFile: 'out/tollgate.sarif',
    });
    expect(settings.now.toISOString()).toBe('2026-12-30T17:00:00.000Z');
  });

  it('reads default-namespace (kubectl context namespace of the deploy job)', () => {
    expect(getInputs(env).defaultNamespace).toBeUndefined();
    input('default-namespace', 'tenant-acme');
    expect(getInputs(env).defaultNamespace).toBe('tenant-acme');
  });

  it('checks only the rendered sources when render is set and paths is not', () => {
    input('render', 'kustomize:deploy/prod');
    expect(getInputs(env).paths).toEqual([]);
  });

  it.each([
    ['fail-on', 'block', 'input "fail-on": "block" is not deny or warn'],
    ['changed-only', 'maybe', 'input "changed-only": "maybe" is not a boolean; use true or false'],
    ['now', 'tomorrow', 'input "now": "tomorrow" is not an ISO-8601 date-time'],
    ['render', 'jsonnet:x', 'input "render": render "jsonnet:x" is not helm:CHART_DIR'],
    ['baseline', '--upload-pack=evil', 'input "baseline": "--upload-pack=evil" is not a git ref'],
    ['paths', '-', 'input "paths": "-" (standard input) is not available in the action'],
    ['default-namespace', 'Tenant_A', 'input "default-namespace": "Tenant_A" is not a namespace name'],
  ])('rejects %s=%s with an actionable message', (name, value, message) => {
    input(name, value);
    let error: unknown;
    try {
      getInputs(env);
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(ActionInputError);
    expect((error as ActionInputError).input).toBe(name);
    expect((error as Error).message).toContain(message);
  });
});
