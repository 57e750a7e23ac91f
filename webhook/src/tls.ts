/**
 * TLS for the webhook: serving certificate and key from files, reloaded without restart when they
 * rotate (cert-manager style) through `server.setSecureContext`; TLS 1.2 or newer. For local use,
 * with no certificate given, a self-signed CA and serving certificate are generated at start
 * (@peculiar/x509 over WebCrypto, so nothing outside npm is needed).
 */
import { webcrypto, X509Certificate } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import type { Server } from 'node:https';
import { createSecureContext } from 'node:tls';
import type { SecureContextOptions } from 'node:tls';
import type * as X509 from '@peculiar/x509';
import type { Logger } from 'pino';
import { watchFiles } from './file-watch.ts';
import type { FileWatcher } from './file-watch.ts';
import type { WebhookMetrics } from './metrics.ts';

/** Lowest protocol version accepted. */
export const minTlsVersion = 'TLSv1.2';

/** A serving certificate and its key, PEM. */
export interface ServingKeyPair {
  readonly cert: string;
  readonly key: string;
}

/** A generated CA and the serving certificate it signed. */
export interface SelfSignedBundle extends ServingKeyPair {
  /** The CA certificate (PEM) to trust, e.g. base64-encoded as a webhook's `caBundle`. */
  readonly caPem: string;
}

const algorithm = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' } as const;

function randomSerial(): string {
  const bytes = webcrypto.getRandomValues(new Uint8Array(16));
  bytes[0] = (bytes[0] ?? 0) & 0x7f;
  return Buffer.from(bytes).toString('hex');
}

/** Loads @peculiar/x509 (and the reflect polyfill it needs) only when a certificate is generated. */
async function loadX509(): Promise<typeof X509> {
  await import('reflect-metadata');
  const x509 = await import('@peculiar/x509');
  x509.cryptoProvider.set(webcrypto as unknown as Parameters<typeof x509.cryptoProvider.set>[0]);
  return x509;
}

function sanEntry(name: string): { type: 'ip' | 'dns'; value: string } {
  return /^[\d.]+$/.test(name) || name.includes(':')
    ? { type: 'ip', value: name }
    : { type: 'dns', value: name };
}

/**
 * Generates a CA and a serving certificate for `names` (DNS names or IP addresses), valid for
 * `days` days from `now` (back-dated by an hour for clock skew).
 */
export async function generateSelfSigned(options: {
  names: readonly string[];
  days?: number;
  now?: Date;
  commonName?: string;
}): Promise<SelfSignedBundle> {
  const x509 = await loadX509();
  const start = new Date((options.now ?? new Date()).getTime() - 3600_000);
  const end = new Date(start.getTime() + (options.days ?? 365) * 86400_000);
  const caKeys = (await webcrypto.subtle.generateKey(algorithm, true, [
    'sign',
    'verify',
  ])) as webcrypto.CryptoKeyPair;
  const caName = `CN=${options.commonName ?? 'tollgate local CA'}`;
  const ca = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: randomSerial(),
    name: caName,
    notBefore: start,
    notAfter: end,
    keys: caKeys,
    signingAlgorithm: algorithm,
    extensions: [
      new x509.BasicConstraintsExtension(true, 0, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
      await x509.SubjectKeyIdentifierExtension.create(caKeys.publicKey),
    ],
  });
  const leafKeys = (await webcrypto.subtle.generateKey(algorithm, true, [
    'sign',
    'verify',
  ])) as webcrypto.CryptoKeyPair;
  const leaf = await x509.X509CertificateGenerator.create({
    serialNumber: randomSerial(),
    subject: `CN=${options.names[0] ?? 'localhost'}`,
    issuer: ca.subject,
    notBefore: start,
    notAfter: end,
    publicKey: leafKeys.publicKey,
    signingKey: caKeys.privateKey,
    signingAlgorithm: algorithm,
    extensions: [
      new x509.BasicConstraintsExtension(false, undefined, true),
      new x509.KeyUsagesExtension(
        x509.KeyUsageFlags.digitalSignature | x509.KeyUsageFlags.keyEncipherment,
        true,
      ),
      new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth], false),
      new x509.SubjectAlternativeNameExtension(options.names.map(sanEntry), false),
      await x509.AuthorityKeyIdentifierExtension.create(ca, false),
    ],
  });
  const pkcs8 = await webcrypto.subtle.exportKey('pkcs8', leafKeys.privateKey);
  const key = x509.PemConverter.encode(pkcs8, 'PRIVATE KEY');
  return { caPem: ca.toString('pem') + '\n', cert: leaf.toString('pem') + '\n', key: `${key}\n` };
}

/** Secure context options for a key pair. */
export function secureOptions(pair: ServingKeyPair): SecureContextOptions {
  return { cert: pair.cert, key: pair.key, minVersion: minTlsVersion };
}

/** Checks that a key pair makes a usable context (key matches the certificate); throws otherwise. */
export function validateKeyPair(pair: ServingKeyPair): void {
  createSecureContext(secureOptions(pair));
}

/** `notAfter` of the first certificate of a PEM chain, for logs. */
export function certificateExpiry(pem: string): string | undefined {
  try {
    return new Date(new X509Certificate(pem).validTo).toISOString();
  } catch {
    return undefined;
  }
}

/** Reads a certificate and key from files and validates them. */
export async function readKeyPair(certFile: string, keyFile: string): Promise<ServingKeyPair> {
  const [cert, key] = await Promise.all([readFile(certFile, 'utf8'), readFile(keyFile, 'utf8')]);
  const pair = { cert, key };
  validateKeyPair(pair);
  return pair;
}

/** Reloads the server's certificate when the files change; a broken pair is refused and the old one kept. */
export function watchKeyPair(options: {
  server: Server;
  certFile: string;
  keyFile: string;
  initial: ServingKeyPair;
  intervalMs: number;
  metrics: WebhookMetrics;
  logger: Logger;
}): FileWatcher {
  return watchFiles({
    paths: [options.certFile, options.keyFile],
    intervalMs: options.intervalMs,
    initial: [Buffer.from(options.initial.cert), Buffer.from(options.initial.key)],
    onChange: ([cert, key]) => {
      const pair = { cert: String(cert ?? ''), key: String(key ?? '') };
      try {
        validateKeyPair(pair);
        options.server.setSecureContext(secureOptions(pair));
        options.metrics.tlsReload('ok');
        options.logger.info(
          { event: 'tls-reloaded', certFile: options.certFile, notAfter: certificateExpiry(pair.cert) },
          'serving certificate reloaded',
        );
      } catch (error) {
        // cert-manager writes the two files one after the other: a mismatch is usually transient and
        // the next check (directory event or timer) picks up the matching pair.
        options.metrics.tlsReload('failed');
        options.logger.warn(
          { event: 'tls-reload-refused', certFile: options.certFile, err: error },
          'new certificate/key not usable (yet); keeping the current one',
        );
      }
    },
    onReadError: (error) =>
      options.logger.warn({ event: 'tls-read-failed', err: error }, 'cannot read certificate files'),
  });
}
