import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { approvedRegistriesPolicy } from '../approved-registries/index.ts';
import { loadBundle, bundleDigest } from './bundle.ts';
import { BundleError } from './errors/index.ts';
import type { Policy } from './types.ts';

const policies = [approvedRegistriesPolicy as Policy<unknown>];

const valid = `apiVersion: tollgate.dev/v1
kind: PolicyBundle
metadata: {name: finance-baseline, version: 1.2.0}
spec:
  requires: ">=0.1.0"
  policies:
    approved-registries:
      enforcement: {admission: deny, ci: warn}
      registries: [registry.corp.example/erp]
  exemptions:
    - {policy: approved-registries, namespaces: [legacy], reason: migration, ticket: CHG-1, expires: 2027-01-31}
`;

function load(text: string, version?: string) {
  return loadBundle(text, { source: 'bundle.yaml', policies, ...(version ? { version } : {}) });
}

function issuesOf(text: string, version?: string) {
  try {
    load(text, version);
  } catch (error) {
    expect(error).toBeInstanceOf(BundleError);
    return (error as BundleError).issues;
  }
  throw new Error('bundle unexpectedly loaded');
}

describe('loadBundle', () => {
  it('loads a valid bundle, resolves per-point enforcement and digests the exact bytes', () => {
    const bundle = load(valid);
    expect(bundle.identity).toEqual({
      name: 'finance-baseline',
      version: '1.2.0',
      digest: bundleDigest(valid),
    });
    expect(bundle.policies[0]?.enforcement).toEqual({ admission: deny(), ci: 'warn', audit: deny() });
    expect(bundle.exemptions[0]?.expiresAt.toISOString()).toBe('2027-02-01T00:00:00.000Z');
    expect(Object.isFrozen(bundle.policies[0]?.params)).toBe(true);
    expect(load(valid + '\n').identity.digest).not.toBe(bundle.identity.digest);
  });

  it('resolves the audit point: its own action when set, else the admission action', () => {
    const withPolicy = (enforcement: string) =>
      load(valid.replace('enforcement: {admission: deny, ci: warn}', `enforcement: ${enforcement}`))
        .policies[0]?.enforcement;
    expect(withPolicy('{admission: warn, ci: deny}')).toEqual({
      admission: 'warn',
      ci: 'deny',
      audit: 'warn',
    });
    expect(withPolicy('{ci: warn, audit: off}')).toEqual({ admission: 'deny', ci: 'warn', audit: 'off' });
    expect(withPolicy('audit')).toEqual({ admission: 'audit', ci: 'audit', audit: 'audit' });
    const issues = issuesOf(valid.replace('{admission: deny, ci: warn}', '{audit: block}'));
    expect(issues[0]?.path).toBe('/spec/policies/approved-registries/enforcement');
  });

  it('reports every schema error at once with its path and line', () => {
    const broken = `apiVersion: tollgate.dev/v2
kind: PolicyBundle
metadata: {name: Finance_Baseline, version: 1.0.0}
spec:
  policies:
    approved-registries:
      enforcement: block
      registries: [registry.corp.example/erp]
      registires: [typo]
    no-such-policy: {}
  exemptions:
    - {policy: approved-registries, reason: r, expires: 2027-01-01}
`;
    const issues = issuesOf(broken);
    const byPath = Object.fromEntries(issues.map((i) => [i.path, i]));
    expect(byPath['/apiVersion']?.line).toBe(1);
    expect(byPath['/metadata/name']?.line).toBe(3);
    expect(byPath['/spec/policies/approved-registries/enforcement']?.message).toContain(
      'deny | warn | audit | off',
    );
    expect(byPath['/spec/policies/approved-registries/enforcement']?.line).toBe(7);
    expect(byPath['/spec/policies/approved-registries/registires']?.message).toBe(
      'unknown field "registires"',
    );
    expect(byPath['/spec/policies/approved-registries/registires']?.line).toBe(9);
    expect(byPath['/spec/policies/no-such-policy']?.message).toBe('unknown policy "no-such-policy"');
    expect(byPath['/spec/exemptions/0']?.message).toBe('missing required field "ticket"');
    expect(issues.length).toBe(6);
  });

  it('refuses a bundle whose requires excludes the running version', () => {
    const issues = issuesOf(valid.replace('">=0.1.0"', '">=2.0.0"'));
    expect(issues).toEqual([
      {
        path: '/spec/requires',
        message: 'bundle requires tollgate >=2.0.0 but this is tollgate 0.1.0',
        line: 5,
      },
    ]);
    expect(() => load(valid, '0.0.9')).toThrow(/requires tollgate >=0.1.0 but this is tollgate 0.0.9/);
  });

  it('loads a document parsed ahead of time like its text, and still places problems on lines', () => {
    const parsedFirst = { ...(loadBundle(valid, { source: 'bundle.yaml', policies }) as object) };
    const document = JSON.parse(JSON.stringify(parse(valid))) as unknown;
    const fromDocument = loadBundle(valid, { source: 'bundle.yaml', policies, document });
    expect(JSON.stringify(fromDocument)).toBe(JSON.stringify(parsedFirst));
    const stale = valid.replace('">=0.1.0"', '">=2.0.0"');
    try {
      loadBundle(stale, { source: 'bundle.yaml', policies, document: parse(stale) });
      throw new Error('bundle unexpectedly loaded');
    } catch (error) {
      expect((error as BundleError).issues).toEqual([
        { path: '/spec/requires', message: expect.stringMatching(/requires tollgate >=2.0.0/), line: 5 },
      ]);
    }
  });

  it('skips the schema and version checks of a document loaded when it was built (prevalidated)', () => {
    // A field the schema refuses: validated, the bundle is refused; prevalidated, the schema is not run.
    const extra = parse(valid.replace('kind: PolicyBundle', 'kind: PolicyBundle\nunknownField: 1')) as object;
    expect(() => loadBundle(valid, { source: 'bundle.yaml', policies, document: extra })).toThrow(
      /unknownField/,
    );
    expect(() =>
      loadBundle(valid, { source: 'bundle.yaml', policies, document: extra, prevalidated: true }),
    ).not.toThrow();
    // Its version and requirement were checked by the build of this version; another version checks them.
    const stale = valid.replace('">=0.1.0"', '">=2.0.0"');
    const staleDocument = parse(stale);
    expect(() =>
      loadBundle(stale, { source: 'bundle.yaml', policies, document: staleDocument, prevalidated: true }),
    ).not.toThrow();
    expect(() =>
      loadBundle(stale, {
        source: 'bundle.yaml',
        policies,
        document: staleDocument,
        prevalidated: true,
        version: '0.1.0',
      }),
    ).toThrow(/requires tollgate >=2.0.0/);
    // Its policies are compiled as always: a parameter the policy refuses is refused.
    const wildcard = valid.replace('[registry.corp.example/erp]', '[registry.corp.example/erp, "*.evil.io"]');
    expect(() =>
      loadBundle(wildcard, {
        source: 'bundle.yaml',
        policies,
        document: parse(wildcard),
        prevalidated: true,
      }),
    ).toThrow(/approved-registries/);
    // Without a document parsed ahead of time, `prevalidated` means nothing: the text is validated.
    expect(() =>
      loadBundle(valid.replace('kind: PolicyBundle', 'kind: PolicyBundle\nunknownField: 1'), {
        source: 'bundle.yaml',
        policies,
        prevalidated: true,
      }),
    ).toThrow(/unknownField/);
  });

  it('rejects invalid YAML with its line, a non-semver version, and semantic parameter errors', () => {
    expect(issuesOf('apiVersion: tollgate.dev/v1\nkind: [\n')[0]?.line).toBeGreaterThan(1);
    expect(issuesOf(valid.replace('1.2.0', 'one'))[0]?.message).toContain('not a semantic version');
    const wildcard = issuesOf(
      valid.replace('[registry.corp.example/erp]', '[registry.corp.example/erp, "*.evil.io"]'),
    );
    expect(wildcard[0]).toMatchObject({ path: '/spec/policies/approved-registries/registries/1', line: 9 });
  });

  it('rejects exemptions for policies the bundle does not configure and invalid dates', () => {
    const text = valid.replace('expires: 2027-01-31', 'expires: 2027-02-31');
    expect(issuesOf(text)[0]?.path).toBe('/spec/exemptions/0/expires');
  });
});

function deny() {
  return 'deny' as const;
}
