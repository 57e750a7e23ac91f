import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { request as httpsRequest } from 'node:https';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { connect } from 'node:tls';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { deployment } from '../../test/support/policy.ts';
import { parseServeArgs } from './serve.ts';
import { admissionReview } from '../../test/support/webhook.ts';

const root = resolve(fileURLToPath(new URL('.', import.meta.url)), '../..');
const node = join(root, 'node_modules/.bin/node');

interface Spawned {
  child: ChildProcess;
  stderr: () => string;
  stdout: () => string;
  exited: Promise<number | null>;
}

const children: ChildProcess[] = [];
afterEach(() => {
  for (const child of children.splice(0)) if (child.exitCode === null && child.pid) child.kill('SIGKILL');
});

function spawnServe(args: string[]): Spawned {
  const child = spawn(node, [join(root, 'bin/tollgate.js'), 'serve', ...args], {
    cwd: root,
    env: { ...process.env, KUBERNETES_SERVICE_HOST: '' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.push(child);
  let err = '';
  let out = '';
  child.stderr?.on('data', (chunk: Buffer) => (err += chunk.toString()));
  child.stdout?.on('data', (chunk: Buffer) => (out += chunk.toString()));
  const exited = new Promise<number | null>((done) => child.on('exit', (code) => done(code)));
  return { child, stderr: () => err, stdout: () => out, exited };
}

async function waitFor<T>(probe: () => T | undefined, what: string, timeoutMs = 60_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(25);
  }
}

describe('tollgate serve (CLI process)', () => {
  it('parses flags, with the self-signed default and no cluster when nothing is configured', () => {
    const parsed = parseServeArgs([], { cwd: '/x', env: {} });
    expect(parsed.options).toMatchObject({
      port: 8443,
      opsPort: 8080,
      timeoutSeconds: 10,
      failureAction: 'deny',
      tls: { kind: 'self-signed' },
    });
    expect(parsed.options.cluster).toBeUndefined();
    expect(parsed.clusterNote).toMatch(/no cluster configured/);
    const custom = parseServeArgs(
      [
        '--kubeconfig',
        'kc.yaml',
        '--tls-cert',
        'c.pem',
        '--tls-key',
        'k.pem',
        '--now',
        '2026-12-31T10:00:00Z',
      ],
      { cwd: '/x', env: {} },
    );
    expect(custom.options.cluster).toEqual({ kind: 'kubeconfig', file: '/x/kc.yaml' });
    expect(custom.options.tls).toEqual({ kind: 'files', certFile: '/x/c.pem', keyFile: '/x/k.pem' });
    expect(custom.options.now?.toISOString()).toBe('2026-12-31T10:00:00.000Z');
    expect(() => parseServeArgs(['--failure-action', 'maybe'], { cwd: '/x', env: {} })).toThrow(
      /deny or allow/,
    );
    expect(() => parseServeArgs(['--tls-cert', 'c.pem'], { cwd: '/x', env: {} })).toThrow(/go together/);
    expect(() => parseServeArgs(['--now', 'tomorrow'], { cwd: '/x', env: {} })).toThrow(/ISO-8601/);
  });

  it('starts with no TLS arguments, and on SIGTERM stops accepting, finishes the in-flight request and exits 0', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tollgate-serve-'));
    try {
      const caFile = join(dir, 'ca.pem');
      const serve = spawnServe([
        '--host',
        '127.0.0.1',
        '--port',
        '0',
        '--ops-host',
        '127.0.0.1',
        '--ops-port',
        '0',
        '--write-ca',
        caFile,
      ]);
      const port = Number(
        await waitFor(
          () => /https:\/\/127\.0\.0\.1:(\d+)\/validate/.exec(serve.stderr())?.[1],
          'listening line',
        ),
      );
      await waitFor(() => (serve.stderr().includes('CA written') ? true : undefined), 'CA file');
      expect(serve.stderr()).toMatch(/no cluster configured/);
      expect(serve.stderr()).toMatch(/caBundle \(base64\): [A-Za-z0-9+/=]{100,}/);
      const ca = readFileSync(caFile, 'utf8');

      // an in-flight request: headers and half of the body sent before SIGTERM
      const body = JSON.stringify(
        admissionReview(deployment([{ name: 'a', image: 'odoo:17.0' }]), { uid: 'uid-inflight' }),
      );
      const socket = connect({ host: '127.0.0.1', port, ca, servername: 'localhost' });
      await new Promise<void>((done, fail) => {
        socket.once('secureConnect', () => done());
        socket.once('error', fail);
      });
      let response = '';
      socket.on('data', (chunk: Buffer) => (response += chunk.toString()));
      const ended = new Promise<void>((done) => socket.on('end', () => done()));
      const half = Math.floor(body.length / 2);
      socket.write(
        `POST /validate HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body.slice(0, half)}`,
      );
      await sleep(300);
      serve.child.kill('SIGTERM');
      await waitFor(
        () => (/SIGTERM: draining 1 in-flight/.test(serve.stderr()) ? true : undefined),
        'drain message',
      );

      // new connections are refused while draining
      const refused = await new Promise<string>((done) => {
        const req = httpsRequest(
          {
            host: '127.0.0.1',
            port,
            path: '/validate',
            method: 'POST',
            ca,
            servername: 'localhost',
            agent: false,
          },
          () => done('accepted'),
        );
        req.on('error', (error: NodeJS.ErrnoException) => done(error.code ?? error.message));
        req.end('{}');
      });
      expect(refused).toBe('ECONNREFUSED');

      // the in-flight request completes
      socket.write(body.slice(half));
      await ended;
      expect(response).toMatch(/^HTTP\/1\.1 200 OK/);
      expect(response.toLowerCase()).toContain('connection: close');
      const json = JSON.parse(response.slice(response.indexOf('\r\n\r\n') + 4)) as {
        response: { uid: string; allowed: boolean };
      };
      expect(json.response).toMatchObject({ uid: 'uid-inflight', allowed: false });

      expect(await serve.exited).toBe(0);
      expect(serve.stderr()).toContain('tollgate serve: stopped');
      const decision = serve
        .stdout()
        .split('\n')
        .filter(Boolean)
        .map((line) => JSON.parse(line) as Record<string, unknown>)
        .find((line) => line.event === 'decision');
      expect(decision).toMatchObject({ uid: 'uid-inflight', decision: 'deny' });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 120_000);

  it('exits 2 with the bundle problems when the bundle is invalid', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tollgate-serve-'));
    try {
      const bad = join(dir, 'bad.yaml');
      const { writeFileSync } = await import('node:fs');
      writeFileSync(
        bad,
        'apiVersion: tollgate.dev/v1\nkind: PolicyBundle\nmetadata: { name: x, version: 1.0.0 }\nspec: { policies: { nope: {} } }\n',
      );
      const serve = spawnServe(['--bundle', bad, '--port', '0', '--ops-port', '0']);
      expect(await serve.exited).toBe(2);
      expect(serve.stderr()).toMatch(/unknown policy "nope"/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 120_000);
});
