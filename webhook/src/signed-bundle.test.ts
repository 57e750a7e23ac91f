/**
 * `tollgate serve --require-signed-bundle`: the real webhook on free ports with a bundle mounted the
 * way a ConfigMap volume is (`bundle.yaml -> ..data/bundle.yaml`, updates swap the `..data` symlink),
 * signed in the test with the `tollgate bundle sign` functions and a key generated with jose.
 */
import { spawn } from 'node:child_process';
import type { KeyObject } from 'node:crypto';
import { mkdirSync, mkdtempSync, renameSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { Writable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { exportPKCS8, generateKeyPair } from 'jose';
import { pino } from 'pino';
import type { Logger } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { privateKeyFrom, publicJwksFor, signBundle } from '../../io/signing/signing.ts';
import { BundleSignatureError } from '../../policies/index.ts';
import { deployment } from '../../test/support/policy.ts';
import { parseServeArgs } from '../../cli/commands/serve.ts';
import { admissionReview } from '../../test/support/webhook.ts';
import { startWebhook } from './webhook.ts';
import type { RunningWebhook, StartWebhookOptions } from './webhook.ts';

const root = resolve(fileURLToPath(new URL('.', import.meta.url)), '../..');

function bundle(version: string, registry = 'registry.corp.example/erp'): string {
  return `apiVersion: tollgate.dev/v1
kind: PolicyBundle
metadata: { name: signed-test, version: ${version} }
spec:
  policies:
    approved-registries: { enforcement: deny, registries: [${registry}] }
`;
}

async function newKey(): Promise<KeyObject> {
  const { privateKey } = await generateKeyPair('ES256', { extractable: true });
  return privateKeyFrom(await exportPKCS8(privateKey), 'test key');
}

async function sign(text: string, key: KeyObject): Promise<string> {
  return JSON.stringify(await signBundle(Buffer.from(text), key));
}

/** A directory laid out like a ConfigMap volume; `publish` swaps in new contents atomically. */
function configMapDir(dir: string): { publish(files: Record<string, string>): void } {
  let generation = 0;
  const publish = (files: Record<string, string>): void => {
    generation += 1;
    const data = `..${generation}`;
    mkdirSync(join(dir, data));
    for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, data, name), text);
    symlinkSync(data, join(dir, '..data_tmp'));
    renameSync(join(dir, '..data_tmp'), join(dir, '..data'));
    for (const name of Object.keys(files)) {
      try {
        symlinkSync(join('..data', name), join(dir, name));
      } catch {
        // already linked through ..data
      }
    }
  };
  return { publish };
}

async function waitFor(
  probe: () => boolean | Promise<boolean>,
  what: string,
  timeoutMs = 30_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await probe())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(25);
  }
}

function capture(): { logs: Array<Record<string, unknown>>; logger: Logger } {
  const logs: Array<Record<string, unknown>> = [];
  const destination = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      for (const line of chunk.toString('utf8').split('\n'))
        if (line.trim()) logs.push(JSON.parse(line) as Record<string, unknown>);
      callback();
    },
  });
  return { logs, logger: pino({ level: 'info' }, destination) };
}

function options(dir: string, logger: Logger, reloadIntervalMs: number): StartWebhookOptions {
  return {
    bundlePath: join(dir, 'bundle.yaml'),
    bundleSignature: {
      signaturePath: join(dir, 'bundle.yaml.jws'),
      trustedKeysPath: join(dir, '..', 'trusted.jwks'),
    },
    host: '127.0.0.1',
    port: 0,
    opsHost: '127.0.0.1',
    opsPort: 0,
    tls: { kind: 'self-signed', names: ['localhost', '127.0.0.1'] },
    timeoutSeconds: 10,
    failureAction: 'deny',
    reloadIntervalMs,
    defaultMetrics: false,
    logger,
  };
}

async function metrics(webhook: RunningWebhook): Promise<string> {
  return (await fetch(`http://127.0.0.1:${webhook.opsPort}/metrics`)).text();
}

/** Posts a Deployment with `image` and returns whether it was allowed. */
async function admits(webhook: RunningWebhook, image: string): Promise<boolean> {
  const { request } = await import('node:https');
  const body = JSON.stringify(admissionReview(deployment([{ name: 'odoo', image }]), { namespace: 'erp' }));
  return new Promise((done, reject) => {
    const req = request(
      {
        host: '127.0.0.1',
        port: webhook.port,
        path: '/validate',
        method: 'POST',
        ca: webhook.caPem,
        servername: 'localhost',
        agent: false,
        headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () => {
          const review = JSON.parse(Buffer.concat(chunks).toString('utf8')) as {
            response: { allowed: boolean };
          };
          done(review.response.allowed);
        });
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

describe('tollgate serve --require-signed-bundle', () => {
  let base: string;
  let key: KeyObject;
  beforeAll(async () => {
    base = mkdtempSync(join(tmpdir(), 'tollgate-signed-'));
    key = await newKey();
    writeFileSync(join(base, 'trusted.jwks'), JSON.stringify(await publicJwksFor(key)));
  });
  afterAll(() => rmSync(base, { recursive: true, force: true }));

  it('serves a signed bundle, refuses an unsigned one-byte change (last good keeps serving), activates it once re-signed', async () => {
    const dir = join(base, 'reload');
    mkdirSync(dir);
    const volume = configMapDir(dir);
    const v1 = bundle('1.0.0');
    volume.publish({ 'bundle.yaml': v1, 'bundle.yaml.jws': await sign(v1, key) });
    const { logs, logger } = capture();
    const webhook = await startWebhook(options(dir, logger, 500));
    try {
      const first = webhook.bundle.current().identity;
      expect(first.version).toBe('1.0.0');
      expect(webhook.bundle.signature()).toMatchObject({ alg: 'ES256', kid: expect.any(String) });
      expect((await fetch(`http://127.0.0.1:${webhook.opsPort}/readyz`)).status).toBe(200);
      expect(await admits(webhook, 'registry.corp.example/erp/odoo:17')).toBe(true);
      expect(await admits(webhook, 'quay.io/x/odoo:17')).toBe(false);

      // one byte changed (registry.corp.example/erp → registry.corp.example/erq), signature not renewed
      const tampered = v1.replace('/erp]', '/erq]');
      expect(Buffer.byteLength(tampered)).toBe(Buffer.byteLength(v1));
      volume.publish({ 'bundle.yaml': tampered, 'bundle.yaml.jws': await sign(v1, key) });
      await waitFor(() => logs.some((l) => l.event === 'bundle-reload-refused'), 'the refusal');
      expect(logs.some((l) => l.event === 'bundle-signature-pending')).toBe(true);
      const refused = logs.find((l) => l.event === 'bundle-reload-refused');
      expect(refused).toMatchObject({
        level: 50,
        reason: 'signature',
        code: 'TOLLGATE_BUNDLE_SIGNATURE',
        serving: { digest: first.digest },
      });
      expect(String(refused?.msg)).toMatch(
        /refused: the signature does not match the bundle bytes.*still serving/,
      );
      expect(webhook.bundle.current().identity.digest).toBe(first.digest);
      expect(await admits(webhook, 'registry.corp.example/erp/odoo:17')).toBe(true);
      let text = await metrics(webhook);
      expect(text).toMatch(/tollgate_bundle_reload_failures_total 1\n/);
      expect(text).toMatch(/tollgate_bundle_last_reload_success 0\n/);
      expect(text).toContain(`digest="${first.digest}"} 1`);
      // the same refused pair is not logged or counted again on later checks
      await webhook.bundle.check();
      await webhook.bundle.check();
      expect(logs.filter((l) => l.event === 'bundle-reload-refused')).toHaveLength(1);

      // re-signed: the changed bundle becomes active
      volume.publish({ 'bundle.yaml': tampered, 'bundle.yaml.jws': await sign(tampered, key) });
      await waitFor(() => webhook.bundle.current().identity.digest !== first.digest, 'the re-signed bundle');
      expect(await admits(webhook, 'registry.corp.example/erq/odoo:17')).toBe(true);
      expect(await admits(webhook, 'registry.corp.example/erp/odoo:17')).toBe(false);
      text = await metrics(webhook);
      expect(text).toMatch(/tollgate_bundle_reload_failures_total 1\n/);
      expect(text).toMatch(/tollgate_bundle_reloads_total 1\n/);
      expect(text).toMatch(/tollgate_bundle_last_reload_success 1\n/);
      expect(text).toContain(`digest="${webhook.bundle.current().identity.digest}"} 1`);
      expect(text).not.toContain(`digest="${first.digest}"`);
    } finally {
      await webhook.stop(1000);
    }
  });

  it('a bundle seen before its signature is checked again on the next tick, not refused', async () => {
    const dir = join(base, 'transient');
    mkdirSync(dir);
    const volume = configMapDir(dir);
    const v1 = bundle('1.0.0');
    const v2 = bundle('2.0.0');
    volume.publish({ 'bundle.yaml': v1, 'bundle.yaml.jws': await sign(v1, key) });
    const { logs, logger } = capture();
    // a long tick, so the explicit checks below are the only ones that matter
    const webhook = await startWebhook(options(dir, logger, 10_000));
    try {
      volume.publish({ 'bundle.yaml': v2, 'bundle.yaml.jws': await sign(v1, key) });
      await webhook.bundle.check();
      expect(logs.some((l) => l.event === 'bundle-signature-pending')).toBe(true);
      expect(logs.some((l) => l.event === 'bundle-reload-refused')).toBe(false);
      expect(webhook.bundle.current().identity.version).toBe('1.0.0');
      volume.publish({ 'bundle.yaml': v2, 'bundle.yaml.jws': await sign(v2, key) });
      await webhook.bundle.check();
      expect(webhook.bundle.current().identity.version).toBe('2.0.0');
      expect(logs.some((l) => l.event === 'bundle-reload-refused')).toBe(false);
      expect(await metrics(webhook)).toMatch(/tollgate_bundle_reload_failures_total 0\n/);

      // a signature by a key that is not trusted: pending once, then refused on the next check
      const v3 = bundle('3.0.0');
      volume.publish({ 'bundle.yaml': v3, 'bundle.yaml.jws': await sign(v3, await newKey()) });
      await webhook.bundle.check();
      await webhook.bundle.check();
      expect(logs.find((l) => l.event === 'bundle-reload-refused')).toMatchObject({ reason: 'signature' });
      expect(webhook.bundle.current().identity.version).toBe('2.0.0');
      expect(await metrics(webhook)).toMatch(/tollgate_bundle_reload_failures_total 1\n/);
    } finally {
      await webhook.stop(1000);
    }
  });

  it('refuses to start on an unsigned, tampered or untrusted bundle', async () => {
    const v1 = bundle('1.0.0');
    const cases: Array<[string, string | undefined, RegExp]> = [
      ['unsigned', undefined, /is not signed: no signature at .*bundle\.yaml\.jws/],
      ['tampered', await sign(v1.replace('1.0.0', '1.0.1'), key), /does not match the bundle bytes/],
      ['untrusted', await sign(v1, await newKey()), /does not match the bundle bytes|no trusted key/],
    ];
    for (const [name, signature, message] of cases) {
      const dir = join(base, `start-${name}`);
      mkdirSync(dir);
      configMapDir(dir).publish({
        'bundle.yaml': v1,
        ...(signature ? { 'bundle.yaml.jws': signature } : {}),
      });
      const { logger } = capture();
      const started = startWebhook(options(dir, logger, 500));
      await expect(started, name).rejects.toBeInstanceOf(BundleSignatureError);
      await expect(started, name).rejects.toThrow(message);
    }
  });

  it('parses --require-signed-bundle, --trusted-keys and --bundle-signature', () => {
    const io = { cwd: '/x', env: {} };
    expect(
      parseServeArgs(['--bundle', 'b.yaml', '--require-signed-bundle', '--trusted-keys', 'k.jwks'], io)
        .options.bundleSignature,
    ).toEqual({
      signaturePath: '/x/b.yaml.jws',
      signatureLabel: 'b.yaml.jws',
      trustedKeysPath: '/x/k.jwks',
      trustedKeysLabel: 'k.jwks',
    });
    expect(
      parseServeArgs(
        [
          '--bundle',
          'b.yaml',
          '--require-signed-bundle',
          '--trusted-keys',
          'k.pem',
          '--bundle-signature',
          's.jws',
        ],
        io,
      ).options.bundleSignature?.signaturePath,
    ).toBe('/x/s.jws');
    expect(() => parseServeArgs(['--require-signed-bundle'], io)).toThrow(/needs --trusted-keys/);
    expect(() => parseServeArgs(['--trusted-keys', 'k.jwks'], io)).toThrow(
      /only with --require-signed-bundle/,
    );
    expect(parseServeArgs(['--bundle', 'b.yaml'], io).options.bundleSignature).toBeUndefined();
  });

  it('the serve process exits 2 with the reason on an unsigned bundle, and starts on a signed one', async () => {
    const dir = join(base, 'cli');
    mkdirSync(dir);
    const v1 = bundle('1.0.0');
    writeFileSync(join(dir, 'bundle.yaml'), v1);
    const serve = (): Promise<{ code: number | null; stderr: string }> =>
      new Promise((done) => {
        const child = spawn(
          join(root, 'node_modules/.bin/node'),
          [
            join(root, 'bin/tollgate.js'),
            'serve',
            ...['--bundle', join(dir, 'bundle.yaml'), '--require-signed-bundle'],
            ...['--trusted-keys', join(base, 'trusted.jwks')],
            ...['--host', '127.0.0.1', '--port', '0', '--ops-host', '127.0.0.1', '--ops-port', '0'],
          ],
          {
            cwd: root,
            env: { ...process.env, KUBERNETES_SERVICE_HOST: '' },
            stdio: ['ignore', 'ignore', 'pipe'],
          },
        );
        let stderr = '';
        let stopping = false;
        child.stderr.on('data', (chunk: Buffer) => {
          stderr += chunk.toString();
          // started (the summary is written at once, but may arrive in pieces): stop it the way
          // Kubernetes does, a moment later, once the SIGTERM handler is installed
          if (!stopping && /bundle signature verified[\s\S]*caBundle \(base64\): \S+\n/.test(stderr)) {
            stopping = true;
            setTimeout(() => child.kill('SIGTERM'), 200);
          }
        });
        const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
        child.on('exit', (code) => {
          clearTimeout(timer);
          done({ code, stderr });
        });
      });
    const unsigned = await serve();
    expect(unsigned.code).toBe(2);
    expect(unsigned.stderr).toMatch(
      /^tollgate serve: bundle .*bundle\.yaml refused: it is not signed: no signature at .*bundle\.yaml\.jws \(sign it with tollgate bundle sign --key KEY\)\n$/,
    );
    expect(unsigned.stderr).not.toMatch(/admission webhook on/);

    writeFileSync(join(dir, 'bundle.yaml.jws'), await sign(v1, key));
    const signed = await serve();
    expect(signed.stderr).toMatch(/bundle signature verified \(ES256, kid [\w-]+\) from .*bundle\.yaml\.jws/);
    expect(signed.code).toBe(0);
  }, 120_000);
});
