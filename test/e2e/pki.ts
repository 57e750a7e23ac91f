import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/** A certificate and its private key, as PEM files on disk. */
export interface KeyPair {
  readonly certFile: string;
  readonly keyFile: string;
}

/** A certificate authority that can sign leaf certificates into its directory. */
export interface CertificateAuthority extends KeyPair {
  readonly dir: string;
  readonly name: string;
  /** The CA certificate in PEM, e.g. for a webhook's `caBundle` (base64 it first). */
  readonly pem: string;
}

/** What a leaf certificate is for: `server` gets serverAuth and SANs, `client` gets clientAuth. */
export interface LeafOptions {
  readonly commonName: string;
  readonly organizations?: readonly string[];
  readonly usage: 'server' | 'client';
  /** Subject alternative names such as `IP:127.0.0.1` or `DNS:localhost`. */
  readonly altNames?: readonly string[];
}

const DAYS = '2';

function openssl(args: readonly string[]): void {
  execFileSync('openssl', args, { stdio: ['ignore', 'ignore', 'pipe'] });
}

function newKey(keyFile: string): void {
  openssl(['genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256', '-out', keyFile]);
}

/** Escapes a value for an OpenSSL `-subj` component. */
function subjectPart(value: string): string {
  return value.replace(/[/\\=+,]/g, (c) => `\\${c}`);
}

/** Creates a self-signed ECDSA P-256 certificate authority in `dir` (files `<name>-ca.crt`/`.key`). */
export function createCertificateAuthority(dir: string, name: string): CertificateAuthority {
  const keyFile = join(dir, `${name}-ca.key`);
  const certFile = join(dir, `${name}-ca.crt`);
  newKey(keyFile);
  openssl([
    'req',
    '-x509',
    '-new',
    '-key',
    keyFile,
    '-out',
    certFile,
    '-days',
    DAYS,
    '-subj',
    `/CN=${subjectPart(`tollgate-e2e-${name}-ca`)}`,
    '-addext',
    'basicConstraints=critical,CA:TRUE',
    '-addext',
    'keyUsage=critical,keyCertSign,cRLSign',
  ]);
  return { dir, name, keyFile, certFile, pem: readFileSync(certFile, 'utf8') };
}

/** Issues an ECDSA leaf certificate signed by `ca`, written as `<fileName>.crt`/`.key` in the CA's directory. */
export function issueCertificate(ca: CertificateAuthority, fileName: string, options: LeafOptions): KeyPair {
  const keyFile = join(ca.dir, `${fileName}.key`);
  const certFile = join(ca.dir, `${fileName}.crt`);
  const csrFile = join(ca.dir, `${fileName}.csr`);
  const extFile = join(ca.dir, `${fileName}.ext`);
  newKey(keyFile);
  const subject =
    (options.organizations ?? []).map((o) => `/O=${subjectPart(o)}`).join('') +
    `/CN=${subjectPart(options.commonName)}`;
  openssl(['req', '-new', '-key', keyFile, '-out', csrFile, '-subj', subject]);
  const ext = [
    'basicConstraints=critical,CA:FALSE',
    'keyUsage=critical,digitalSignature',
    `extendedKeyUsage=${options.usage === 'server' ? 'serverAuth' : 'clientAuth'}`,
  ];
  if (options.altNames && options.altNames.length > 0)
    ext.push(`subjectAltName=${options.altNames.join(',')}`);
  writeFileSync(extFile, ext.join('\n') + '\n');
  openssl([
    'x509',
    '-req',
    '-in',
    csrFile,
    '-CA',
    ca.certFile,
    '-CAkey',
    ca.keyFile,
    '-set_serial',
    `0x${randomBytes(12).toString('hex')}`,
    '-days',
    DAYS,
    '-extfile',
    extFile,
    '-out',
    certFile,
  ]);
  return { certFile, keyFile };
}

/** Creates the service-account signing key pair (`sa.key`, `sa.pub`) the API server needs. */
export function createServiceAccountKey(dir: string): {
  readonly keyFile: string;
  readonly publicKeyFile: string;
} {
  const keyFile = join(dir, 'sa.key');
  const publicKeyFile = join(dir, 'sa.pub');
  newKey(keyFile);
  openssl(['pkey', '-in', keyFile, '-pubout', '-out', publicKeyFile]);
  return { keyFile, publicKeyFile };
}
