import { createPrivateKey } from 'node:crypto';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import type { CommandIO } from '../io.ts';
import { main } from '../main.ts';

const repo = new URL('../../', import.meta.url).pathname;
const keys = join(repo, 'policies/freeze-windows/samples/keys');
const keyFile = (kid: string) => join(keys, `TEST-ONLY.${kid}.private.jwk.json`);
// The finance baseline's calendar with the TEST-ONLY approvers (never deployed). The shipped
// baseline configures no break-glass, so these keys must not unfreeze anything under it.
const demoBundle = join(repo, 'policies/freeze-windows/samples/break-glass-demo.yaml');
// Inside the de-gmbh/us-inc quarter-end close of March 2027 (finance baseline and demo).
const now = '2027-03-30T12:00:00Z';

let dir: string;

async function cli(args: string[], stdin = ''): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  const io: CommandIO = {
    stdout: (text) => void (stdout += text),
    stderr: (text) => void (stderr += text),
    stdin: async () => stdin,
    cwd: dir,
    env: {},
  };
  const code = await main(args, io);
  return { code, stdout, stderr };
}

async function request(requester = 'alice@corp.example', extra: string[] = []) {
  const result = await cli([
    'break-glass',
    'request',
    '--requester',
    requester,
    '--ticket',
    'INC-4711',
    '--reason',
    'payment run fails; hotfix odoo config',
    '--namespace',
    'tenant-acme',
    '--kind',
    'ConfigMap',
    '--name',
    'odoo-config',
    '--not-before',
    '2027-03-30T10:00:00Z',
    '--valid-for',
    '8h',
    '--now',
    '2027-03-30T09:55:00Z',
    '--out',
    'request.json',
    ...extra,
  ]);
  expect(result.code).toBe(0);
}

interface Report {
  decision: string;
  resources: {
    object: { kind: string };
    decision: string;
    results: { policy: string; status: string; records?: unknown[]; findings: { message: string }[] }[];
  }[];
}

/**
 * The change: a ConfigMap in a production namespace. Which namespaces are production comes from the
 * trusted namespace inventory written beside it (`--namespaces namespaces.yaml`), never from the change.
 */
function manifest(token: string, namespace = 'tenant-acme'): string {
  writeFileSync(
    join(dir, 'namespaces.yaml'),
    `apiVersion: v1\nkind: Namespace\nmetadata:\n  name: ${namespace}\n  labels: { tollgate.dev/environment: production }\n`,
  );
  return [
    `apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: odoo-config\n  namespace: ${namespace}\n  annotations:\n    tollgate.dev/break-glass: '${token}'\ndata: { workers: "8" }`,
  ].join('\n---\n');
}

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'tollgate-break-glass-'));
});

describe('tollgate break-glass', () => {
  it('requests, co-signs in two runs, inspects as valid and lets tollgate check pass the frozen change', async () => {
    await request();
    const unsigned = JSON.parse(readFileSync(join(dir, 'request.json'), 'utf8')) as { signatures: unknown[] };
    expect(unsigned.signatures).toEqual([]);
    expect(
      (
        await cli([
          'break-glass',
          'approve',
          'request.json',
          '--key',
          keyFile('controller-de@corp.example'),
          '--out',
          'one.json',
        ])
      ).code,
    ).toBe(0);
    const second = await cli([
      'break-glass',
      'approve',
      'one.json',
      '--key',
      keyFile('cfo@corp.example'),
      '--out',
      'two.json',
    ]);
    expect(second.code).toBe(0);
    expect(second.stderr).toContain('approved INC-4711 as cfo@corp.example (2 signature(s))');

    const inspect = await cli([
      'break-glass',
      'inspect',
      'two.json',
      '--bundle',
      demoBundle,
      '--now',
      now,
      '--namespace',
      'tenant-acme',
      '--kind',
      'ConfigMap',
      '--name',
      'odoo-config',
    ]);
    expect(inspect.code).toBe(0);
    expect(inspect.stdout).toContain('requester:  alice@corp.example');
    expect(inspect.stdout).toContain('approvers:  controller-de@corp.example, cfo@corp.example (2 required)');
    expect(inspect.stdout).toContain('VALID at 2027-03-30T12:00:00.000Z for bundle break-glass-demo');

    const token = readFileSync(join(dir, 'two.json'), 'utf8').trim();
    writeFileSync(join(dir, 'change.yaml'), manifest(token));
    const check = await cli([
      'check',
      'change.yaml',
      '--namespaces',
      'namespaces.yaml',
      '--bundle',
      demoBundle,
      '--now',
      now,
      '--format',
      'json',
    ]);
    const report = JSON.parse(check.stdout) as Report;
    const configMap = report.resources.find((r) => r.object.kind === 'ConfigMap')!;
    expect(configMap.decision).toBe('allow');
    expect(configMap.results.find((r) => r.policy === 'freeze-windows')?.records).toEqual([
      {
        kind: 'break-glass',
        data: expect.objectContaining({
          ticket: 'INC-4711',
          requester: 'alice@corp.example',
          approvers: ['controller-de@corp.example', 'cfo@corp.example'],
        }),
      },
    ]);

    // The same manifest, read by inspect: scope comes from the object.
    expect(
      (await cli(['break-glass', 'inspect', 'change.yaml', '--bundle', demoBundle, '--now', now])).code,
    ).toBe(0);
    writeFileSync(join(dir, 'other.yaml'), manifest(token, 'tenant-other'));
    const other = await cli(['break-glass', 'inspect', 'other.yaml', '--bundle', demoBundle, '--now', now]);
    expect(other.code).toBe(1);
    expect(other.stdout).toContain("namespace tenant-other is outside the token's scope (tenant-acme)");
    // After expiry (10:00 + 8h) the token no longer works.
    const late = await cli([
      'break-glass',
      'inspect',
      'two.json',
      '--bundle',
      demoBundle,
      '--now',
      '2027-03-30T18:00:00Z',
    ]);
    expect(late.code).toBe(1);
    expect(late.stdout).toContain('expired at 2027-03-30T18:00:00Z');
  });

  it('the TEST-ONLY keys do not unfreeze a change under the shipped finance baseline (no break-glass)', async () => {
    await request();
    await cli([
      'break-glass',
      'approve',
      'request.json',
      '--key',
      keyFile('controller-de@corp.example'),
      '--out',
      'one.json',
    ]);
    await cli([
      'break-glass',
      'approve',
      'one.json',
      '--key',
      keyFile('cfo@corp.example'),
      '--out',
      'two.json',
    ]);
    const token = readFileSync(join(dir, 'two.json'), 'utf8').trim();
    writeFileSync(join(dir, 'change.yaml'), manifest(token));

    // Control: the token is valid where the TEST-ONLY approvers are configured (the demo bundle)...
    const demo = await cli([
      'check',
      'change.yaml',
      '--namespaces',
      'namespaces.yaml',
      '--bundle',
      demoBundle,
      '--now',
      now,
      '--format',
      'json',
    ]);
    expect(
      (JSON.parse(demo.stdout) as Report).resources.find((r) => r.object.kind === 'ConfigMap')?.decision,
    ).toBe('allow');

    // ...but the embedded default (no --bundle) denies the frozen change and says why.
    const check = await cli([
      'check',
      'change.yaml',
      '--namespaces',
      'namespaces.yaml',
      '--now',
      now,
      '--format',
      'json',
    ]);
    expect(check.code).toBe(1);
    const configMap = (JSON.parse(check.stdout) as Report).resources.find(
      (r) => r.object.kind === 'ConfigMap',
    )!;
    expect(configMap.decision).toBe('deny');
    const freeze = configMap.results.find((r) => r.policy === 'freeze-windows')!;
    expect(freeze.status).toBe('fail');
    expect(freeze.records ?? []).toEqual([]);
    expect(freeze.findings.map((f) => f.message)).toEqual([
      expect.stringContaining('is frozen by window "quarter-end-close"'),
      expect.stringContaining('is frozen by window "quarter-end-close"'),
      expect.stringContaining('break-glass is not configured in this bundle'),
    ]);

    const inspect = await cli(['break-glass', 'inspect', 'change.yaml', '--now', now]);
    expect(inspect.code).toBe(1);
    expect(inspect.stdout).toContain('requester:  alice@corp.example');
    expect(inspect.stdout).toContain(
      'INVALID at 2027-03-30T12:00:00.000Z:\n  - break-glass is not configured in bundle finance-baseline',
    );
    const json = await cli(['break-glass', 'inspect', 'two.json', '--now', now, '--format', 'json']);
    expect(json.code).toBe(1);
    expect(JSON.parse(json.stdout)).toMatchObject({
      valid: false,
      reasons: [expect.stringMatching(/^break-glass is not configured in bundle finance-baseline/)],
      approvers: [],
    });
  });

  it('bundle suites: the committed TEST-ONLY token unfreezes under the demo bundle only', async () => {
    const demo = await cli(['bundle', 'test', join(repo, 'bundles/tests/break-glass-demo.test.yaml')]);
    expect(demo.stdout).toContain('3 of 3 cases passed, 0 failed');
    expect(demo.code).toBe(0);
    const baseline = await cli(['bundle', 'test', join(repo, 'bundles/finance-baseline.test.yaml')]);
    expect(baseline.stdout).toContain(
      'PASS a break-glass token signed with the TEST-ONLY keys does not unfreeze the close',
    );
    expect(baseline.code).toBe(0);
  });

  it('shows an under-approved token as invalid with the reason', async () => {
    await request();
    await cli([
      'break-glass',
      'approve',
      'request.json',
      '--key',
      keyFile('controller-us@corp.example'),
      '--out',
      'one.json',
    ]);
    const result = await cli([
      'break-glass',
      'inspect',
      'one.json',
      '--bundle',
      demoBundle,
      '--now',
      now,
      '--format',
      'json',
    ]);
    expect(result.code).toBe(1);
    const verdict = JSON.parse(result.stdout) as { valid: boolean; reasons: string[] };
    expect(verdict.valid).toBe(false);
    expect(verdict.reasons).toEqual([
      '1 valid approval(s) (controller-us@corp.example) of 2 required: 1 approver short',
    ]);
  });

  it('signs with a PKCS#8 PEM key and --kid, and reads tokens from stdin', async () => {
    await request();
    const jwk = JSON.parse(readFileSync(keyFile('controller-de@corp.example'), 'utf8')) as Record<
      string,
      string
    >;
    const pem = createPrivateKey({
      key: { kty: jwk.kty!, crv: jwk.crv!, x: jwk.x!, y: jwk.y!, d: jwk.d! },
      format: 'jwk',
    })
      .export({ type: 'pkcs8', format: 'pem' })
      .toString();
    writeFileSync(join(dir, 'de.pem'), pem);
    const noKid = await cli(['break-glass', 'approve', 'request.json', '--key', 'de.pem']);
    expect(noKid.code).toBe(2);
    expect(noKid.stderr).toContain('pass --kid');
    const signed = await cli([
      'break-glass',
      'approve',
      'request.json',
      '--key',
      'de.pem',
      '--kid',
      'controller-de@corp.example',
    ]);
    expect(signed.code).toBe(0);
    const both = await cli(
      ['break-glass', 'approve', '-', '--key', keyFile('cfo@corp.example')],
      signed.stdout,
    );
    expect(both.code).toBe(0);
    expect(
      (await cli(['break-glass', 'inspect', '-', '--bundle', demoBundle, '--now', now], both.stdout)).code,
    ).toBe(0);
  });

  it('refuses to let the requester approve their own request', async () => {
    await request('cfo@corp.example');
    const result = await cli([
      'break-glass',
      'approve',
      'request.json',
      '--key',
      keyFile('cfo@corp.example'),
    ]);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('you (cfo@corp.example) are the requester of INC-4711');
  });

  it.each([
    [
      ['break-glass', 'request', '--requester', 'a', '--ticket', 't', '--reason', 'r', '--valid-for', '1h'],
      /scope.namespaces/,
    ],
    [
      ['break-glass', 'request', '--requester', 'a', '--ticket', 't', '--reason', 'r', '--namespace', 'n'],
      /exactly one of --valid-for/,
    ],
    [
      [
        'break-glass',
        'request',
        '--requester',
        'a',
        '--ticket',
        't',
        '--reason',
        'r',
        '--namespace',
        'n',
        '--valid-for',
        'soon',
      ],
      /not a duration/,
    ],
    [['break-glass', 'approve', 'request.json'], /--key KEYFILE is required/],
    [
      [
        'break-glass',
        'request',
        '--requester',
        'a',
        '--ticket',
        't',
        '--reason',
        'r',
        '--namespace',
        'n',
        '--valid-for',
        '2d',
        '--bundle',
        demoBundle,
      ],
      /valid for 2880 minutes; the bundle allows at most 1440/,
    ],
    [
      [
        'break-glass',
        'request',
        '--requester',
        'a',
        '--ticket',
        't',
        '--reason',
        'r',
        '--namespace',
        'n',
        '--valid-for',
        '1h',
        '--bundle',
        `${repo}bundles/finance-baseline.yaml`,
      ],
      /break-glass is not configured in bundle finance-baseline/,
    ],
    [['break-glass', 'shatter'], /unknown subcommand/],
  ])('refuses %j', async (args, message) => {
    await request();
    const result = await cli(args);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(message);
  });

  it('refuses a public key for approving', async () => {
    await request();
    const jwk = JSON.parse(readFileSync(keyFile('cfo@corp.example'), 'utf8')) as Record<string, string>;
    const { d: _d, ...publicJwk } = jwk;
    writeFileSync(join(dir, 'public.json'), JSON.stringify(publicJwk));
    const result = await cli(['break-glass', 'approve', 'request.json', '--key', 'public.json']);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('public JWK');
  });
});
