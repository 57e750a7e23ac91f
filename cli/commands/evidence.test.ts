/**
 * The path a fresh user takes (README → docs/evidence.md): `tollgate serve` writing its decision log,
 * reviews sent to it, then `tollgate evidence verify` and `tollgate evidence report` on that log.
 */
import { spawn } from 'node:child_process';
import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { request } from 'node:https';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { publicJwksFor } from '../../io/signing/signing.ts';
import { deployment } from '../../test/support/policy.ts';
import { admissionReview } from '../../test/support/webhook.ts';
import { main } from '../main.ts';
import type { CommandIO } from '../io.ts';
import { periodBound } from './evidence.ts';

const root = resolve(fileURLToPath(new URL('.', import.meta.url)), '../..');
const node = join(root, 'node_modules/.bin/node');
let dir: string;
let logFile: string;
let keysFile: string;

async function tollgate(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  const io: CommandIO = {
    stdout: (text) => void (stdout += text),
    stderr: (text) => void (stderr += text),
    stdin: async () => '',
    cwd: dir,
    env: {},
  };
  const code = await main(args, io);
  return { code, stdout, stderr };
}

function post(port: number, ca: string, body: unknown): Promise<boolean> {
  return new Promise((done, fail) => {
    const req = request(
      {
        host: '127.0.0.1',
        port,
        path: '/validate',
        method: 'POST',
        ca,
        servername: 'localhost',
        agent: false,
      },
      (res) => {
        let text = '';
        res.on('data', (chunk: Buffer) => (text += chunk.toString()));
        res.on('end', () => done((JSON.parse(text) as { response: { allowed: boolean } }).response.allowed));
      },
    );
    req.on('error', fail);
    req.end(JSON.stringify(body));
  });
}

const container = (image: string) => ({
  name: 'app',
  image,
  resources: { requests: { cpu: '1', memory: '1Gi' }, limits: { memory: '2Gi' } },
});

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'tollgate-evidence-cli-'));
  logFile = join(dir, 'decisions.log');
  const { privateKey } = generateKeyPairSync('ed25519');
  writeFileSync(join(dir, 'checkpoint.pem'), privateKey.export({ format: 'pem', type: 'pkcs8' }));
  keysFile = join(dir, 'checkpoint.jwks');
  writeFileSync(keysFile, JSON.stringify(await publicJwksFor(privateKey)));
  const child = spawn(
    node,
    [
      join(root, 'bin/tollgate.js'),
      'serve',
      ...['--host', '127.0.0.1', '--port', '0', '--ops-host', '127.0.0.1', '--ops-port', '0'],
      ...[
        '--write-ca',
        join(dir, 'ca.pem'),
        '--decision-log',
        logFile,
        '--checkpoint-key',
        join(dir, 'checkpoint.pem'),
      ],
    ],
    { cwd: root, env: { ...process.env, KUBERNETES_SERVICE_HOST: '' }, stdio: ['ignore', 'ignore', 'pipe'] },
  );
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const exited = new Promise<number | null>((done) => child.on('exit', (code) => done(code)));
  try {
    const deadline = Date.now() + 60_000;
    while (!stderr.includes('CA written')) {
      if (Date.now() > deadline) throw new Error(`serve did not start:\n${stderr}`);
      await sleep(25);
    }
    expect(stderr).toMatch(
      /decision log \(hash-chained, writer .+\) to .*decisions\.log; checkpoints .* signed \(kid /,
    );
    const port = Number(/https:\/\/127\.0\.0\.1:(\d+)\/validate/.exec(stderr)?.[1]);
    const ca = readFileSync(join(dir, 'ca.pem'), 'utf8');
    const approved = {
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name: 'odoo', namespace: 'tenant-a' },
      spec: { type: 'ClusterIP', ports: [{ port: 8069 }] },
    };
    const unapproved = deployment([container('docker.io/library/nginx:1.27')]);
    expect(await post(port, ca, admissionReview(approved, { resource: 'services' }))).toBe(true);
    expect(await post(port, ca, admissionReview(unapproved))).toBe(false);
    expect(
      await post(port, ca, admissionReview(approved, { operation: 'UPDATE', oldObject: approved })),
    ).toBe(true);
  } finally {
    child.kill('SIGTERM');
    await exited;
  }
}, 120_000);

afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('tollgate evidence on the log tollgate serve wrote', () => {
  it('verify: the log is whole and its checkpoints are signed', async () => {
    const run = await tollgate(['evidence', 'verify', 'decisions.log', '--trusted-keys', 'checkpoint.jwks']);
    expect(run.stderr).toBe('');
    expect(run.stdout).toMatch(/1 writer\(s\)/);
    expect(run.stdout).toMatch(/checkpoint\(s\) \(\d+ signed by .+\)\s+closed/);
    expect(run.stdout).toMatch(
      /^VERIFIED: every writer's chain is whole and every checkpoint signature verifies$/m,
    );
    expect(run.code).toBe(0);
  });

  it('verify: a one-byte change is caught and its line named (exit 1)', async () => {
    const text = readFileSync(logFile, 'utf8');
    const lines = text.split('\n');
    const index = lines.findIndex((line) => line.includes('"decision":"deny"'));
    const offset = text.indexOf('"decision":"deny"') + '"decision":"d'.length;
    writeFileSync(join(dir, 'tampered.log'), `${text.slice(0, offset)}E${text.slice(offset + 1)}`);
    const run = await tollgate(['evidence', 'verify', 'tampered.log']);
    expect(run.code).toBe(1);
    expect(run.stdout).toMatch(
      new RegExp(
        `^BROKEN: .*\\n  tampered\\.log:${index + 1}: writer .* seq \\d+: line changed after it was written`,
        'm',
      ),
    );
  });

  it('report: HTML, JSON and CSV for today with the denial and the verification', async () => {
    // Yesterday to tomorrow (UTC), so a run across midnight still covers the decisions.
    const day = (offset: number) => new Date(Date.now() + offset * 86_400_000).toISOString().slice(0, 10);
    const [from, to] = [day(-1), day(1)];
    const html = await tollgate([
      'evidence',
      'report',
      '--from',
      from,
      '--to',
      to,
      '--logs',
      'decisions.log',
      '--trusted-keys',
      'checkpoint.jwks',
    ]);
    expect(html.code).toBe(0);
    expect(html.stdout).toMatch(/^<!DOCTYPE html>/);
    expect(html.stdout).toContain('Log verified');
    expect(html.stderr).toMatch(/3 decisions, \d+ controls; log verified/);
    const json = await tollgate([
      'evidence',
      'report',
      '--from',
      from,
      '--to',
      to,
      'decisions.log',
      '--format',
      'json',
      '--out',
      'out',
    ]);
    expect(json.stderr).toMatch(/wrote out\/evidence-report\.json/);
    const report = JSON.parse(readFileSync(join(dir, 'out/evidence-report.json'), 'utf8')) as {
      summary: { decisions: number; denied: number };
      denials: Array<{ policies: Array<{ policy: string; fields: string[] }> }>;
      bundles: Array<{ name: string; file?: string }>;
      controls: Array<{ id: string }>;
    };
    expect(report.summary).toMatchObject({ decisions: 3, denied: 1 });
    expect(report.denials[0]?.policies).toContainEqual({
      policy: 'approved-registries',
      version: expect.any(String),
      fields: ['spec.template.spec.containers[0].image'],
    });
    expect(report.bundles[0]).toMatchObject({
      name: 'finance-baseline',
      file: expect.stringContaining('embedded default'),
    });
    expect(report.controls.map((c) => c.id)).toContain('PCI-DSS-6.3.2');
    const csv = await tollgate([
      'evidence',
      'report',
      '--from',
      from,
      '--to',
      to,
      '--logs',
      'decisions.log',
      '--format',
      'csv',
      '--out',
      'csv',
    ]);
    expect(csv.code).toBe(0);
    expect(readFileSync(join(dir, 'csv/denials.csv'), 'utf8').split('\r\n')[1]).toMatch(
      /approved-registries/,
    );
  });

  it('refuses bad flags and unreadable inputs with a message naming them (exit 2)', async () => {
    expect(await tollgate(['evidence', 'report', '--to', '2026-11-30'])).toMatchObject({
      code: 2,
      stderr: expect.stringMatching(/--from DATE is required/),
    });
    expect(
      await tollgate(['evidence', 'report', '--from', '2026-11-31', '--to', '2026-12-01']),
    ).toMatchObject({ code: 2, stderr: expect.stringMatching(/"2026-11-31" is not a calendar date/) });
    expect(
      await tollgate(['evidence', 'report', '--from', '2026-11-01', '--to', '2026-11-30', '--format', 'csv']),
    ).toMatchObject({ code: 2, stderr: expect.stringMatching(/--out DIR/) });
    expect(await tollgate(['evidence', 'verify'])).toMatchObject({
      code: 2,
      stderr: expect.stringMatching(/give the decision log files/),
    });
    expect(await tollgate(['evidence', 'verify', 'missing.log'])).toMatchObject({
      code: 2,
      stderr: expect.stringMatching(/missing\.log: cannot read the decision log/),
    });
    expect(
      await tollgate([
        'evidence',
        'report',
        '--from',
        '2026-11-01',
        '--to',
        '2026-11-30',
        '--audit',
        'checkpoint.pem',
      ]),
    ).toMatchObject({
      code: 2,
      stderr: expect.stringMatching(/checkpoint\.pem: cannot read the audit JSON/),
    });
  });

  it('reads a day as a whole UTC day', () => {
    expect(periodBound('2026-11-01', '--from').toISOString()).toBe('2026-11-01T00:00:00.000Z');
    expect(periodBound('2026-11-30', '--to').toISOString()).toBe('2026-12-01T00:00:00.000Z');
    expect(periodBound('2026-11-30T12:00:00Z', '--to').toISOString()).toBe('2026-11-30T12:00:00.000Z');
  });
});
