import { generateKeyPairSync } from 'node:crypto';
import { cpSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Ajv } from 'ajv';
import addFormatsModule from 'ajv-formats';
import { CompactSign } from 'jose';
import { describe, expect, it } from 'vitest';
import { parse, parseDocument } from 'yaml';
import type { Document, Scalar, YAMLSeq } from 'yaml';
import { parseTrustedKeys, verifyBundleSignature } from '../../../io/signing/bundle-signature.ts';
import { BundleSignatureError } from '../../../policies/index.ts';
import { main } from '../../../cli/main.ts';
import { publishedSchema } from '../../../cli/commands/bundle.ts';

const root = fileURLToPath(new URL('../../..', import.meta.url));
const baseline = join(root, 'bundles', 'finance-baseline.yaml');
const baselineText = readFileSync(baseline, 'utf8');

async function tollgate(args: string[], cwd = root) {
  let stdout = '';
  let stderr = '';
  const code = await main(args, {
    stdout: (t) => void (stdout += t),
    stderr: (t) => void (stderr += t),
    stdin: async () => '',
    cwd,
    env: {},
  });
  return { code, stdout, stderr };
}

function tempDir(): string {
  return mkdtempSync(join(tmpdir(), 'tollgate-bundle-'));
}

const header = `apiVersion: tollgate.dev/v1
kind: PolicyBundle
metadata: { name: t, version: 1.0.0 }
`;

function write(dir: string, name: string, text: string): string {
  const file = join(dir, name);
  writeFileSync(file, text);
  return file;
}

describe('tollgate bundle validate', () => {
  it('accepts the shipped baseline (exit 0)', async () => {
    const { code, stdout } = await tollgate([
      'bundle',
      'validate',
      'bundles/finance-baseline.yaml',
      '--now',
      '2026-11-20T00:00:00Z',
    ]);
    expect(stdout).toContain('bundles/finance-baseline.yaml: valid (finance-baseline');
    expect(code).toBe(0);
  });

  it('reports every schema error at once with its path and line (exit 2)', async () => {
    const dir = tempDir();
    write(
      dir,
      'b.yaml',
      `${header}spec:
  policies:
    approved-registries: { enforcement: block, registries: [registry.corp.example] }
    no-such-policy: {}
  exemptions:
    - { policy: approved-registries, reason: migration, expires: 2027-01-01 }
    - { policy: approved-registries, reason: migration, ticket: CHG-2 }
`,
    );
    const { code, stderr } = await tollgate(['bundle', 'validate', 'b.yaml'], dir);
    expect(code).toBe(2);
    expect(stderr).toContain(
      'error b.yaml:6 /spec/policies/approved-registries/enforcement: must be deny | warn | audit | off',
    );
    expect(stderr).toContain('error b.yaml:7 /spec/policies/no-such-policy: unknown policy "no-such-policy"');
    expect(stderr).toContain('error b.yaml:9 /spec/exemptions/0: missing required field "ticket"');
    expect(stderr).toContain('error b.yaml:10 /spec/exemptions/1: missing required field "expires"');
    expect(stderr).toContain('INVALID (4 error(s)');
  });

  it('reports invalid parameters, bad rules, exemptions for unconfigured policies and blank tickets', async () => {
    const dir = tempDir();
    write(
      dir,
      'b.yaml',
      `${header}spec:
  policies:
    approved-registries: { registries: ['registry.corp.example/*'] }
  rules:
    - { id: bad-regex, description: d, select: $.metadata.name, condition: { matches: '(a)\\1' }, message: m }
  exemptions:
    - { policy: nobody, reason: r, ticket: CHG-1, expires: 2027-01-01 }
`,
    );
    const json = await tollgate(['bundle', 'validate', 'b.yaml', '--format', 'json'], dir);
    expect(json.code).toBe(2);
    const report = JSON.parse(json.stdout) as {
      valid: boolean;
      errors: Array<{ path: string; message: string; line: number }>;
    };
    expect(report.valid).toBe(false);
    expect(report.errors.map((e) => [e.path, e.line])).toEqual([
      ['/spec/policies/approved-registries/registries/0', 6],
      ['/spec/rules/0/condition/matches', 8],
      ['/spec/exemptions/0/policy', 10],
    ]);
    expect(report.errors[1]?.message).toContain('RE2');
    const blank = write(
      dir,
      'blank.yaml',
      `${header}spec:
  policies: { approved-registries: { registries: [registry.corp.example] } }
  exemptions:
    - { policy: approved-registries, reason: r, ticket: ' ', expires: 2027-01-01 }
`,
    );
    const result = await tollgate(['bundle', 'validate', blank, '--now', '2026-11-20T00:00:00Z']);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('/spec/exemptions/0/ticket: the exemption has a blank ticket');
  });

  it('flags exemptions expiring within 14 days, expired, shadowed and duplicate ones as warnings (exit 0)', async () => {
    const dir = tempDir();
    write(
      dir,
      'b.yaml',
      `${header}spec:
  policies: { approved-registries: { registries: [registry.corp.example] } }
  exemptions:
    - { policy: approved-registries, namespaces: [legacy], reason: r, ticket: CHG-1, expires: 2026-12-01 }
    - { policy: approved-registries, namespaces: [old], reason: r, ticket: CHG-2, expires: 2026-11-19 }
    - { policy: approved-registries, namespaces: [legacy], names: [batch], reason: r, ticket: CHG-3, expires: 2026-11-30 }
    - { policy: approved-registries, namespaces: [legacy], reason: r, ticket: CHG-1, expires: 2026-12-01 }
    - { policy: approved-registries, namespaces: [legacy], names: [web], reason: r, ticket: CHG-5, expires: 2027-06-30 }
    - { policy: approved-registries, namespaces: [tenant], reason: r, ticket: CHG-6, expires: 2027-06-30 }
`,
    );
    const { code, stdout } = await tollgate(
      ['bundle', 'validate', 'b.yaml', '--now', '2026-11-20T12:00:00Z'],
      dir,
    );
    expect(code).toBe(0);
    const warnings = stdout.split('\n').filter((l) => l.startsWith('warning'));
    expect(warnings).toEqual([
      'warning b.yaml:7 /spec/exemptions/0/expires: exemption CHG-1 for approved-registries expires on 2026-12-01 (in 12 days, within 14)',
      'warning b.yaml:8 /spec/exemptions/1/expires: exemption CHG-2 for approved-registries expired on 2026-11-19; it no longer applies: remove it or renew it with a new ticket',
      'warning b.yaml:9 /spec/exemptions/2/expires: exemption CHG-3 for approved-registries expires on 2026-11-30 (in 11 days, within 14)',
      'warning b.yaml:9 /spec/exemptions/2: exemption CHG-3 is shadowed by exemption 0 (CHG-1), which covers a wider scope of approved-registries until 2026-12-01: it never applies',
      'warning b.yaml:10 /spec/exemptions/3/expires: exemption CHG-1 for approved-registries expires on 2026-12-01 (in 12 days, within 14)',
      'warning b.yaml:10 /spec/exemptions/3: exemption CHG-1 duplicates exemption 0 (CHG-1): same policy, scope and expiry',
    ]);
    expect(stdout).toContain('b.yaml: valid (t 1.0.0, 1 policies and rules, 6 warning(s))');
  });
});

describe('tollgate bundle validate: custom rules the webhook cannot see', () => {
  it('warns when a rule judges requests the chart does not send to the webhook', async () => {
    const dir = tempDir();
    const rule = (id: string, operations: string) =>
      `    - { id: ${id}, description: d, match: { kinds: [Pod], operations: [${operations}] }, select: $.metadata.name, condition: { exists: true }, message: m }\n`;
    write(
      dir,
      'b.yaml',
      `${header}spec:\n  policies: {}\n  rules:\n${rule('sent', 'CREATE')}${rule('exec', 'CONNECT')}`,
    );
    const { code, stdout } = await tollgate(
      ['bundle', 'validate', 'b.yaml', '--now', '2026-11-20T00:00:00Z'],
      dir,
    );
    expect(code).toBe(0);
    const warnings = stdout.split('\n').filter((l) => l.startsWith('warning'));
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toContain(
      "/spec/rules/1/match: rule exec judges requests the chart's webhook configuration does not send (CONNECT core/pods)",
    );
  });
});

describe('tollgate bundle sign / verify', () => {
  const keys = {
    ed25519: generateKeyPairSync('ed25519'),
    p256: generateKeyPairSync('ec', { namedCurve: 'P-256' }),
    rsa: generateKeyPairSync('rsa', { modulusLength: 2048 }),
  };
  const pem = (k: (typeof keys)['ed25519'], part: 'private' | 'public') =>
    part === 'private'
      ? (k.privateKey.export({ format: 'pem', type: 'pkcs8' }) as string)
      : (k.publicKey.export({ format: 'pem', type: 'spki' }) as string);

  function signedCopy(kind: keyof typeof keys) {
    const dir = tempDir();
    cpSync(baseline, join(dir, 'bundle.yaml'));
    write(dir, 'signing.pem', pem(keys[kind], 'private'));
    write(dir, 'trusted.pem', pem(keys[kind], 'public'));
    return dir;
  }

  it.each(['ed25519', 'p256', 'rsa'] as const)(
    'a %s-signed bundle round-trips; one changed byte is refused',
    async (kind) => {
      const dir = signedCopy(kind);
      const signed = await tollgate(
        ['bundle', 'sign', 'bundle.yaml', '--key', 'signing.pem', '--print-public-key'],
        dir,
      );
      expect(signed.code).toBe(0);
      const jws = JSON.parse(readFileSync(join(dir, 'bundle.yaml.jws'), 'utf8')) as Record<string, string>;
      expect(Object.keys(jws).sort()).toEqual(['protected', 'signature']);
      const headerJson = JSON.parse(Buffer.from(jws.protected ?? '', 'base64url').toString()) as Record<
        string,
        unknown
      >;
      expect(headerJson).toMatchObject({ b64: false, crit: ['b64'] });
      write(dir, 'trusted.jwks', signed.stdout);
      for (const trusted of ['trusted.pem', 'trusted.jwks']) {
        const ok = await tollgate(['bundle', 'verify', 'bundle.yaml', '--trusted-keys', trusted], dir);
        expect(ok.stdout).toContain('bundle.yaml: signature valid');
        expect(ok.code).toBe(0);
      }
      const bytes = readFileSync(join(dir, 'bundle.yaml'));
      const index = bytes.indexOf('1.0.0');
      bytes[index] = '2'.charCodeAt(0);
      writeFileSync(join(dir, 'bundle.yaml'), bytes);
      const tampered = await tollgate(
        ['bundle', 'verify', 'bundle.yaml', '--trusted-keys', 'trusted.pem'],
        dir,
      );
      expect(tampered.code).toBe(2);
      expect(tampered.stderr).toContain(
        'bundle bundle.yaml refused: the signature does not match the bundle bytes',
      );
    },
  );

  it('refuses an unsigned bundle and a signature by an untrusted key', async () => {
    const dir = signedCopy('p256');
    const unsigned = await tollgate(
      ['bundle', 'verify', 'bundle.yaml', '--trusted-keys', 'trusted.pem'],
      dir,
    );
    expect(unsigned.code).toBe(2);
    expect(unsigned.stderr).toContain('it is not signed: no signature at bundle.yaml.jws');
    write(dir, 'other.pem', pem(generateKeyPairSync('ec', { namedCurve: 'P-256' }), 'private'));
    await tollgate(['bundle', 'sign', 'bundle.yaml', '--key', 'other.pem', '--out', 'other.jws'], dir);
    const untrusted = await tollgate(
      ['bundle', 'verify', 'bundle.yaml', '--sig', 'other.jws', '--trusted-keys', 'trusted.pem'],
      dir,
    );
    expect(untrusted.code).toBe(2);
    expect(untrusted.stderr).toContain('refused');
  });

  it('refuses to sign a bundle that does not load', async () => {
    const dir = signedCopy('ed25519');
    write(dir, 'broken.yaml', `${header}spec: { policies: { nope: {} } }\n`);
    const result = await tollgate(['bundle', 'sign', 'broken.yaml', '--key', 'signing.pem'], dir);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('unknown policy "nope"');
  });

  it('verifyBundleSignature (the webhook entry point) accepts compact detached JWS and refuses private trusted keys', async () => {
    const bytes = new TextEncoder().encode(baselineText);
    const { privateKey } = keys.p256;
    const compact = await new CompactSign(bytes).setProtectedHeader({ alg: 'ES256' }).sign(privateKey);
    const [h, , s] = compact.split('.');
    const trusted = await parseTrustedKeys(pem(keys.p256, 'public'));
    await expect(verifyBundleSignature(bytes, `${h}..${s}`, trusted)).resolves.toEqual({ alg: 'ES256' });
    const changed = new TextEncoder().encode(`${baselineText} `);
    await expect(verifyBundleSignature(changed, `${h}..${s}`, trusted)).rejects.toBeInstanceOf(
      BundleSignatureError,
    );
    await expect(verifyBundleSignature(bytes, compact, trusted)).rejects.toThrow(
      'neither flattened JSON nor compact detached',
    );
    await expect(parseTrustedKeys(pem(keys.p256, 'private'))).rejects.toThrow('must be public keys');
  });
});

describe('tollgate check --require-signed-bundle', () => {
  it('checks with a signed bundle and refuses unsigned or tampered ones (exit 2)', async () => {
    const dir = tempDir();
    cpSync(baseline, join(dir, 'bundle.yaml'));
    const pair = generateKeyPairSync('ed25519');
    write(dir, 'k.pem', pair.privateKey.export({ format: 'pem', type: 'pkcs8' }) as string);
    write(dir, 'trusted.pem', pair.publicKey.export({ format: 'pem', type: 'spki' }) as string);
    const examples = join(root, 'examples', 'allowed');
    const args = [
      'check',
      examples,
      '--bundle',
      'bundle.yaml',
      '--require-signed-bundle',
      '--trusted-keys',
      'trusted.pem',
    ];
    const unsigned = await tollgate(args, dir);
    expect(unsigned.code).toBe(2);
    expect(unsigned.stderr).toContain('refused: it is not signed');
    await tollgate(['bundle', 'sign', 'bundle.yaml', '--key', 'k.pem'], dir);
    const signed = await tollgate(args, dir);
    expect(signed.stderr).toBe('');
    expect(signed.code).toBe(0);
    writeFileSync(join(dir, 'bundle.yaml'), `${readFileSync(join(dir, 'bundle.yaml'), 'utf8')}\n`);
    const tampered = await tollgate(args, dir);
    expect(tampered.code).toBe(2);
    expect(tampered.stderr).toContain('the signature does not match the bundle bytes');
    const missingKeys = await tollgate(['check', examples, '--require-signed-bundle'], dir);
    expect(missingKeys.code).toBe(2);
    expect(missingKeys.stderr).toContain('--trusted-keys');
  });
});

describe('tollgate bundle test', () => {
  it('the shipped finance-baseline suite passes', async () => {
    const { code, stdout } = await tollgate(['bundle', 'test', 'bundles/finance-baseline.test.yaml']);
    expect(stdout).not.toContain('FAIL');
    expect(code).toBe(0);
    const suite = parse(readFileSync(join(root, 'bundles/finance-baseline.test.yaml'), 'utf8')) as {
      cases: unknown[];
    };
    expect(stdout).toContain(`${suite.cases.length} of ${suite.cases.length} cases passed, 0 failed`);
  });

  it('an expected denial that passes fails the suite loudly; wrong paths and unknown policies fail too', async () => {
    const dir = tempDir();
    cpSync(join(root, 'bundles', 'tests'), join(dir, 'tests'), { recursive: true });
    cpSync(baseline, join(dir, 'finance-baseline.yaml'));
    write(
      dir,
      'suite.yaml',
      `bundle: finance-baseline.yaml
cases:
  - name: approved deployment wrongly expected to be denied
    manifest: tests/finance-baseline/odoo-approved.yaml
    expect: { decision: deny, policies: { approved-registries: fail } }
  - name: wrong paths
    manifest: tests/finance-baseline/odoo-docker-hub.yaml
    expect: { policies: { approved-registries: { status: fail, paths: ['spec.template.spec.containers[0].image'] } } }
  - name: typo in the policy id
    manifest: tests/finance-baseline/odoo-docker-hub.yaml
    expect: { policies: { approved-registry: fail } }
`,
    );
    const { code, stdout } = await tollgate(['bundle', 'test', 'suite.yaml'], dir);
    expect(code).toBe(1);
    expect(stdout).toContain('FAIL approved deployment wrongly expected to be denied [ci]');
    expect(stdout).toContain('!!! EXPECTED DENIAL PASSED: approved-registries: expected fail, got pass');
    expect(stdout).toContain('!!! EXPECTED DENIAL PASSED: decision: expected deny, got allow');
    expect(stdout).toContain(
      'approved-registries: expected findings at [spec.template.spec.containers[0].image], got [spec.template.spec.containers[0].image, spec.template.spec.initContainers[0].image]',
    );
    expect(stdout).toContain('policy approved-registry is not in the bundle');
    expect(stdout).toContain('0 of 3 cases passed, 3 failed — 2 EXPECTED DENIAL(S) DID NOT DENY');
  });

  it('rejects a malformed suite (exit 2)', async () => {
    const dir = tempDir();
    write(dir, 'suite.yaml', 'bundle: b.yaml\ncases: [{ name: x, expect: { policies: { a: maybe } } }]\n');
    const { code, stderr } = await tollgate(['bundle', 'test', 'suite.yaml'], dir);
    expect(code).toBe(2);
    expect(stderr).toContain('invalid test suite');
  });
});

describe('tollgate bundle diff', () => {
  /** The baseline with approved-registries tightened (platform registry dropped), as version 1.1.0. */
  function strictVariant(): Document {
    const doc = parseDocument(baselineText);
    doc.setIn(['metadata', 'version'], '1.1.0');
    const registries = doc.getIn(['spec', 'policies', 'approved-registries', 'registries']) as YAMLSeq;
    const index = registries.items.findIndex(
      (item) => String((item as Scalar).value) === 'registry.corp.example/platform',
    );
    expect(index).toBeGreaterThanOrEqual(0);
    registries.delete(index);
    return doc;
  }

  /** v1.1.0: tightened registries, CI downgraded to warn, and a new exemption. */
  function v110(dir: string): string {
    const doc = strictVariant();
    doc.setIn(['spec', 'policies', 'approved-registries', 'enforcement'], { admission: 'deny', ci: 'warn' });
    const exemption = {
      policy: 'approved-registries',
      namespaces: ['tenant-legacy'],
      reason: 'migration',
      ticket: 'CHG-77',
      expires: '2027-03-31',
    };
    const existing = doc.getIn(['spec', 'exemptions']) as YAMLSeq | undefined;
    if (existing) existing.add(doc.createNode(exemption));
    else doc.setIn(['spec', 'exemptions'], [exemption]);
    return write(dir, 'v1.1.0.yaml', doc.toString());
  }

  it('names configuration changes and the resources whose verdict changes over examples/', async () => {
    const dir = tempDir();
    const next = v110(dir);
    const { code, stdout } = await tollgate([
      'bundle',
      'diff',
      'bundles/finance-baseline.yaml',
      next,
      '--corpus',
      'examples',
      '--format',
      'json',
      '--now',
      '2026-11-20T00:00:00Z',
    ]);
    expect(code).toBe(0);
    const diff = JSON.parse(stdout) as {
      changes: Array<Record<string, unknown>>;
      corpus: {
        resources: number;
        newlyDenied: Array<Record<string, unknown>>;
        newlyAllowed: unknown[];
        otherChanges: Array<Record<string, unknown>>;
      };
    };
    expect(diff.changes).toEqual(
      expect.arrayContaining([
        { kind: 'metadata', change: 'changed', subject: 'version', before: '1.0.0', after: '1.1.0' },
        {
          kind: 'enforcement',
          change: 'changed',
          subject: 'approved-registries',
          field: 'ci',
          before: 'deny',
          after: 'warn',
        },
        expect.objectContaining({ kind: 'parameter', subject: 'approved-registries', field: 'registries' }),
        expect.objectContaining({ kind: 'exemption', change: 'added', subject: 'CHG-77' }),
      ]),
    );
    // In CI the stricter registry list denies nothing any more (ci: warn), but the allowed example
    // now warns and the denied one stops being denied: both show up by name.
    const names = [...diff.corpus.newlyAllowed, ...diff.corpus.otherChanges].map(
      (c) => (c as { resource: string }).resource,
    );
    expect(names).toEqual(
      expect.arrayContaining(['Deployment/odoo in tenant-acme', 'Deployment/odoo-test in tenant-acme']),
    );
  });

  it('judges the corpus per enforcement point: warn in CI, fail at admission for v1.1.0', async () => {
    const dir = tempDir();
    const next = v110(dir);
    const statusAt = async (point: string) => {
      const args = [
        'bundle',
        'diff',
        'bundles/finance-baseline.yaml',
        next,
        '--corpus',
        'examples',
        '--format',
        'json',
      ];
      const { stdout } = await tollgate([...args, '--point', point, '--now', '2026-11-20T00:00:00Z']);
      const diff = JSON.parse(stdout) as {
        point: string;
        corpus: Record<
          string,
          Array<{ resource: string; policies: Array<{ policy: string; before: string; after: string }> }>
        >;
      };
      expect(diff.point).toBe(point);
      const all = [
        ...(diff.corpus.newlyDenied ?? []),
        ...(diff.corpus.newlyAllowed ?? []),
        ...(diff.corpus.otherChanges ?? []),
      ];
      return all
        .find((c) => c.resource === 'Deployment/odoo in tenant-acme')
        ?.policies.find((p) => p.policy === 'approved-registries');
    };
    expect(await statusAt('ci')).toMatchObject({ before: 'pass', after: 'warn' });
    expect(await statusAt('admission')).toMatchObject({ before: 'pass', after: 'fail' });
    const bad = await tollgate([
      'bundle',
      'diff',
      'bundles/finance-baseline.yaml',
      next,
      '--point',
      'cluster',
    ]);
    expect(bad.code).toBe(2);
  });

  it('reports resources that will break (allowed before, denied after) in text', async () => {
    const dir = tempDir();
    const strict = write(dir, 'strict.yaml', strictVariant().toString());
    const { code, stdout } = await tollgate([
      'bundle',
      'diff',
      'bundles/finance-baseline.yaml',
      strict,
      '--corpus',
      'examples',
      '--fail-on-new-denials',
    ]);
    expect(code).toBe(1);
    expect(stdout).toContain('~ parameter approved-registries registries');
    expect(stdout).toMatch(
      /WILL BREAK — allowed before, denied after \(\d+\):\n(?: {2}.*\n)*? {2}examples\/allowed\/odoo-deployment\.yaml:\d+ Deployment\/odoo in tenant-acme: allow -> deny/,
    );
    expect(stdout).toContain('registry.corp.example/platform/fluent-bit:3.1');
  });
});

describe('bundle diff and bundle test on broken bundles', () => {
  it('refuse with the bundle errors (exit 2)', async () => {
    const dir = tempDir();
    write(
      dir,
      'broken.yaml',
      `${header}spec:\n  policies: { approved-registries: { registries: 'not-a-list' } }\n`,
    );
    const diff = await tollgate(['bundle', 'diff', baseline, 'broken.yaml'], dir);
    expect(diff.code).toBe(2);
    expect(diff.stderr).toContain('invalid policy bundle broken.yaml:');
    expect(diff.stderr).toContain('/spec/policies/approved-registries/registries: must be array');
    write(dir, 'suite.yaml', 'bundle: broken.yaml\ncases: [{ name: x, manifest: m.yaml, expect: {} }]\n');
    const suite = await tollgate(['bundle', 'test', 'suite.yaml'], dir);
    expect(suite.code).toBe(2);
    expect(suite.stderr).toContain('/spec/policies/approved-registries/registries: must be array');
  });
});

describe('bundle diff of rules, controls and exemptions', () => {
  it('names rule changes field by field, control changes and removed exemptions', async () => {
    const dir = tempDir();
    const rule = (condition: string, controls: string) =>
      `  rules:\n    - { id: r, description: d, select: $.metadata.name, condition: ${condition}, message: m, controls: ${controls} }\n`;
    const old = write(
      dir,
      'old.yaml',
      `${header}spec:\n  policies: { approved-registries: { registries: [a.example], controls: [SOX-1] } }\n${rule("{ matches: '^a' }", '[DORA-9]')}  exemptions:\n    - { policy: r, namespaces: [x], reason: r, ticket: CHG-1, expires: 2027-01-01 }\n`,
    );
    const next = write(
      dir,
      'new.yaml',
      `${header.replace('1.0.0', '1.0.1')}spec:\n  policies: { approved-registries: { registries: [a.example], controls: [SOX-1, PCI-6] } }\n${rule("{ matches: '^b' }", '[DORA-9]')}`,
    );
    const { code, stdout } = await tollgate(['bundle', 'diff', old, next]);
    expect(code).toBe(0);
    expect(stdout).toContain('~ metadata version: "1.0.0" -> "1.0.1"');
    expect(stdout).toContain('~ controls approved-registries: ["SOX-1"] -> ["SOX-1","PCI-6"]');
    expect(stdout).toContain('~ rule r condition.matches: "^a" -> "^b"');
    expect(stdout).toContain('- exemption CHG-1: {"policy":"r","namespaces":["x"],"expires":"2027-01-01"}');
  });
});

describe('tollgate bundle schema', () => {
  it('prints the schema, which is what bundles/policy-bundle.schema.json holds (regenerate with bundle schema --out)', async () => {
    const { code, stdout } = await tollgate(['bundle', 'schema']);
    expect(code).toBe(0);
    expect(JSON.parse(stdout)).toEqual(publishedSchema());
    const file = JSON.parse(
      readFileSync(join(root, 'bundles', 'policy-bundle.schema.json'), 'utf8'),
    ) as unknown;
    // Out of date? npx tollgate bundle schema --out bundles/policy-bundle.schema.json && npx prettier --write bundles/policy-bundle.schema.json
    expect(file, 'bundles/policy-bundle.schema.json is out of date: regenerate it').toEqual(
      publishedSchema(),
    );
  });

  it('describes custom rules and validates the shipped bundles the editor way', () => {
    const schema = publishedSchema() as { properties: { spec: { properties: Record<string, unknown> } } };
    expect(Object.keys(schema.properties.spec.properties)).toContain('rules');
    const ajv = new Ajv({ allErrors: true, strict: false });
    (addFormatsModule as unknown as (a: Ajv) => Ajv)(ajv);
    const validate = ajv.compile(publishedSchema());
    expect(validate(parse(baselineText))).toBe(true);
    const sample = readFileSync(join(root, 'policies', 'custom-rules', 'samples', 'bundle.yaml'), 'utf8');
    expect(validate(parse(sample))).toBe(true);
    expect(baselineText.split('\n')[0]).toBe('# yaml-language-server: $schema=./policy-bundle.schema.json');
  });
});
