import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { connect } from 'node:tls';
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { deployment } from '../../test/support/policy.ts';
import { admissionReview, startTestWebhook } from '../../test/support/webhook.ts';
import { generateSelfSigned } from './tls.ts';

const bundle = `apiVersion: tollgate.dev/v1
kind: PolicyBundle
metadata: { name: tls-test, version: 1.0.0 }
spec:
  policies:
    approved-registries: { registries: [registry.corp.example/erp] }
`;

const review = admissionReview(deployment([{ name: 'a', image: 'registry.corp.example/erp/odoo:17' }]));

describe('tollgate serve: TLS', () => {
  it('generates a self-signed CA and serving certificate that clients can verify', async () => {
    const hook = await startTestWebhook(bundle);
    try {
      expect(hook.ca).toMatch(/^-----BEGIN CERTIFICATE-----/);
      const { body } = await hook.post(review);
      expect(body.response.allowed).toBe(true);
      const other = await generateSelfSigned({ names: ['localhost'] });
      await expect(hook.post(review, { ca: other.caPem })).rejects.toThrow(
        /self-signed|unable to verify|certificate/i,
      );
    } finally {
      await hook.close();
    }
  });

  it('refuses TLS 1.1', async () => {
    const hook = await startTestWebhook(bundle);
    try {
      const error = await new Promise<Error | undefined>((resolve) => {
        const socket = connect({
          host: '127.0.0.1',
          port: hook.webhook.port,
          ca: hook.ca,
          servername: 'localhost',
          minVersion: 'TLSv1',
          maxVersion: 'TLSv1.1',
        });
        socket.on('secureConnect', () => {
          socket.end();
          resolve(undefined);
        });
        socket.on('error', resolve);
      });
      expect(error).toBeInstanceOf(Error);
    } finally {
      await hook.close();
    }
  });

  it('reloads a rotated certificate without restart and refuses a mismatched pair', async () => {
    const first = await generateSelfSigned({ names: ['localhost', '127.0.0.1'], commonName: 'first CA' });
    const second = await generateSelfSigned({ names: ['localhost', '127.0.0.1'], commonName: 'second CA' });
    const hook = await startTestWebhook(bundle, {
      tls: { kind: 'files', certFile: '/nonexistent', keyFile: '/nonexistent' },
    }).catch((error: unknown) => error);
    expect(String(hook)).toMatch(/ENOENT/);

    const { mkdtempSync } = await import('node:fs');
    const { tmpdir } = await import('node:os');
    const dir = mkdtempSync(join(tmpdir(), 'tollgate-tls-'));
    const certFile = join(dir, 'tls.crt');
    const keyFile = join(dir, 'tls.key');
    writeFileSync(certFile, first.cert);
    writeFileSync(keyFile, first.key);
    const served = await startTestWebhook(bundle, { tls: { kind: 'files', certFile, keyFile } });
    try {
      expect(served.webhook.caPem).toBeUndefined();
      expect((await served.post(review, { ca: first.caPem })).body.response.allowed).toBe(true);
      await expect(served.post(review, { ca: second.caPem })).rejects.toThrow();

      // cert-manager style rotation: both files replaced; the same process serves the new pair
      writeFileSync(certFile, second.cert);
      writeFileSync(keyFile, second.key);
      await waitFor(async () =>
        served.post(review, { ca: second.caPem }).then(
          () => true,
          () => false,
        ),
      );
      await expect(served.post(review, { ca: first.caPem })).rejects.toThrow();
      expect(served.logs.some((l) => l.event === 'tls-reloaded')).toBe(true);

      // a certificate whose key does not match is refused; the current pair keeps serving
      writeFileSync(certFile, first.cert);
      await waitFor(async () => served.logs.some((l) => l.event === 'tls-reload-refused'));
      expect((await served.post(review, { ca: second.caPem })).body.response.allowed).toBe(true);
      const metrics = (await served.ops('/metrics')).text;
      expect(metrics).toMatch(/tollgate_tls_reloads_total\{result="ok"\} 1/);
      expect(metrics).toMatch(/tollgate_tls_reloads_total\{result="failed"\} [1-9]/);
    } finally {
      await served.close();
    }
  });
});

async function waitFor(condition: () => Promise<boolean>, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await sleep(50);
  }
}
