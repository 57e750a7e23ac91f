/**
 * Test rig with real parts: Debian's `docker-registry` (distribution 2.8) on a loopback port with
 * a generated config, optionally behind token auth served by an in-process token endpoint; a tiny
 * HTTP proxy that can delay, fail or require basic auth; helpers that push images and cosign
 * signatures (legacy `.sig` tag and Sigstore bundles) signed with node crypto.
 */
import { execFile, spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { createHash, generateKeyPairSync, randomBytes, sign as cryptoSign } from 'node:crypto';
import type { KeyObject } from 'node:crypto';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer, request as httpRequest } from 'node:http';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import { connect, createServer as createNetServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { SignJWT, importPKCS8 } from 'jose';
import type { RegistryClient, RegistryTarget } from '../../io/registry/client.ts';
import { manifestMediaTypes, sha256Digest } from '../../io/registry/client.ts';
import {
  dssePae,
  rekorBundleAnnotation,
  signatureAnnotation,
  sigstoreBundleMediaType,
  simpleSigningMediaType,
} from '../../io/cosign/cosign.ts';

const run = promisify(execFile);

/** Path of the registry binary (override with TOLLGATE_DOCKER_REGISTRY). */
export const registryBinary = process.env.TOLLGATE_DOCKER_REGISTRY ?? '/usr/bin/docker-registry';

/** A free loopback TCP port. */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createNetServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

/** A running registry. */
export interface TestRegistry {
  /** `127.0.0.1:PORT`. */
  readonly host: string;
  readonly port: number;
  /** Filesystem storage root (`rootdirectory`). */
  readonly storage: string;
  /** Token endpoint requests seen (token auth only). */
  readonly tokenRequests: string[];
  /** PEM certificate of a TLS registry (trust it with NODE_EXTRA_CA_CERTS). */
  readonly caFile?: string;
  stop(): Promise<void>;
}

/** Options of {@link startRegistry}. */
export interface StartRegistryOptions {
  /** Token auth with this username/password at an in-process realm. */
  readonly token?: { readonly username: string; readonly password: string };
  /** Serve HTTPS with a fresh self-signed certificate for 127.0.0.1 (see {@link TestRegistry.caFile}). */
  readonly tls?: boolean;
  /** Share another registry's storage root (e.g. an HTTP twin of a TLS registry, to push into). */
  readonly storage?: string;
}

async function waitFor(port: number, child: ChildProcess, log: () => string): Promise<void> {
  const until = Date.now() + 15_000;
  while (Date.now() < until) {
    if (child.exitCode !== null) throw new Error(`docker-registry exited: ${log()}`);
    const open = await new Promise<boolean>((resolve) => {
      const socket = connect(port, '127.0.0.1');
      socket.once('connect', () => {
        socket.destroy();
        resolve(true);
      });
      socket.once('error', () => resolve(false));
    });
    if (open) return;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`docker-registry did not start: ${log()}`);
}

function listen(server: Server): Promise<number> {
  return new Promise((resolve) => {
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      resolve(typeof address === 'object' && address ? address.port : 0);
    });
  });
}

function close(server: Server): Promise<void> {
  return new Promise((resolve) => {
    server.closeAllConnections();
    server.close(() => resolve());
  });
}

/** Starts `docker-registry serve` on a loopback port with filesystem storage in a temp dir. */
export async function startRegistry(options: StartRegistryOptions = {}): Promise<TestRegistry> {
  const dir = await mkdtemp(join(tmpdir(), 'tollgate-registry-'));
  const storage = options.storage ?? join(dir, 'data');
  const port = await freePort();
  const tokenRequests: string[] = [];
  let tokenServer: Server | undefined;
  let auth = '';
  if (options.token) {
    const keyFile = join(dir, 'token.key');
    const certFile = join(dir, 'token.crt');
    await run('openssl', [
      'req',
      '-x509',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:prime256v1',
      '-nodes',
      '-keyout',
      keyFile,
      '-out',
      certFile,
      '-days',
      '2',
      '-subj',
      '/CN=tollgate-test-token-issuer',
    ]);
    const certPem = await readFile(certFile, 'utf8');
    const certDer = certPem.replace(/-----(BEGIN|END) CERTIFICATE-----|\s/g, '');
    const signingKey = await importPKCS8(await readFile(keyFile, 'utf8'), 'ES256');
    const { username, password } = options.token;
    tokenServer = createServer((req, res) => {
      void (async () => {
        const url = new URL(req.url ?? '/', 'http://x');
        tokenRequests.push(url.search);
        const expected = `Basic ${Buffer.from(`${username}:${password}`).toString('base64')}`;
        if (req.headers.authorization !== expected) {
          res.writeHead(401, { 'content-type': 'application/json' }).end('{"details":"bad credentials"}');
          return;
        }
        const access = (url.searchParams.getAll('scope') ?? []).flatMap((scope) => {
          const [type, name, actions] = scope.split(':');
          return type && name && actions ? [{ type, name, actions: actions.split(',') }] : [];
        });
        const token = await new SignJWT({ access })
          .setProtectedHeader({ alg: 'ES256', x5c: [certDer] })
          .setIssuer('tollgate-test-issuer')
          .setAudience(url.searchParams.get('service') ?? '')
          .setSubject(username)
          .setIssuedAt()
          .setNotBefore('-10s')
          .setExpirationTime('5m')
          .setJti(randomBytes(8).toString('hex'))
          .sign(signingKey);
        res
          .writeHead(200, { 'content-type': 'application/json' })
          .end(JSON.stringify({ token, expires_in: 300 }));
      })();
    });
    const tokenPort = await listen(tokenServer);
    auth = [
      'auth:',
      '  token:',
      `    realm: http://127.0.0.1:${tokenPort}/token`,
      '    service: tollgate-test-registry',
      '    issuer: tollgate-test-issuer',
      `    rootcertbundle: ${certFile}`,
    ].join('\n');
  }
  let tls = '';
  let caFile: string | undefined;
  if (options.tls) {
    caFile = join(dir, 'registry.crt');
    const keyFile = join(dir, 'registry.key');
    await run('openssl', [
      'req',
      '-x509',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:prime256v1',
      '-nodes',
      '-keyout',
      keyFile,
      '-out',
      caFile,
      '-days',
      '2',
      '-subj',
      '/CN=127.0.0.1',
      '-addext',
      'subjectAltName=IP:127.0.0.1',
    ]);
    tls = ['  tls:', `    certificate: ${caFile}`, `    key: ${keyFile}`].join('\n');
  }
  const config = [
    'version: 0.1',
    'log:',
    '  level: error',
    '  accesslog:',
    '    disabled: true',
    'storage:',
    '  filesystem:',
    `    rootdirectory: ${storage}`,
    '  delete:',
    '    enabled: true',
    'http:',
    `  addr: 127.0.0.1:${port}`,
    tls,
    auth,
    '',
  ].join('\n');
  const configFile = join(dir, 'config.yml');
  await writeFile(configFile, config);
  const child = spawn(registryBinary, ['serve', configFile], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => {
    stderr = (stderr + chunk.toString()).slice(-4000);
  });
  await waitFor(port, child, () => stderr);
  return {
    host: `127.0.0.1:${port}`,
    port,
    storage,
    tokenRequests,
    ...(caFile ? { caFile } : {}),
    async stop() {
      if (child.exitCode === null) {
        const exited = new Promise((resolve) => child.once('exit', resolve));
        child.kill('SIGTERM');
        await exited;
      }
      if (tokenServer) await close(tokenServer);
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/** What the proxy does with one request: delay it, answer it itself, or pass it on. */
export interface ProxyAction {
  readonly delayMs?: number;
  readonly respond?: {
    readonly status: number;
    readonly headers?: Record<string, string>;
    readonly body?: string;
  };
}

/** A scriptable HTTP proxy in front of a registry. */
export interface TestProxy {
  readonly host: string;
  /** Every request seen, as `METHOD path`. */
  readonly requests: string[];
  stop(): Promise<void>;
}

/** Starts a proxy to `upstream` (host:port) that consults `decide` for every request. */
export async function startProxy(
  upstream: string,
  decide: (req: IncomingMessage, index: number) => ProxyAction | undefined = () => undefined,
): Promise<TestProxy> {
  const requests: string[] = [];
  const [upstreamHost, upstreamPort] = upstream.split(':');
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const index = requests.length;
    requests.push(`${req.method ?? 'GET'} ${req.url ?? '/'}`);
    const action = decide(req, index) ?? {};
    const forward = (): void => {
      if (action.respond) {
        res.writeHead(action.respond.status, action.respond.headers ?? {}).end(action.respond.body ?? '');
        return;
      }
      const headers = { ...req.headers, host: upstream };
      const outgoing = httpRequest(
        { host: upstreamHost, port: Number(upstreamPort), method: req.method, path: req.url, headers },
        (incoming) => {
          res.writeHead(incoming.statusCode ?? 502, incoming.headers);
          incoming.pipe(res);
        },
      );
      outgoing.on('error', () => res.destroy());
      req.pipe(outgoing);
    };
    if (action.delayMs) setTimeout(forward, action.delayMs);
    else forward();
  });
  const port = await listen(server);
  return { host: `127.0.0.1:${port}`, requests, stop: () => close(server) };
}

/** A signing key pair in the formats tests need. */
export interface TestKey {
  readonly privateKey: KeyObject;
  /** PEM SubjectPublicKeyInfo. */
  readonly publicKeyPem: string;
}

/** Generates a key of one of the types cosign supports. */
export function generateTestKey(type: 'p256' | 'p384' | 'rsa' | 'ed25519' = 'p256'): TestKey {
  const pair =
    type === 'rsa'
      ? generateKeyPairSync('rsa', { modulusLength: 2048 })
      : type === 'ed25519'
        ? generateKeyPairSync('ed25519')
        : generateKeyPairSync('ec', { namedCurve: type === 'p384' ? 'P-384' : 'P-256' });
  return {
    privateKey: pair.privateKey,
    publicKeyPem: pair.publicKey.export({ type: 'spki', format: 'pem' }).toString(),
  };
}

/** Signs bytes the way cosign does for the key type (DER ECDSA, PKCS#1 v1.5 RSA, pure Ed25519). */
export function signBytes(key: KeyObject, data: Uint8Array): Buffer {
  if (key.asymmetricKeyType === 'ed25519') return cryptoSign(null, data, key);
  const curve = key.asymmetricKeyDetails?.namedCurve;
  const hash = curve === 'secp384r1' ? 'sha384' : 'sha256';
  return cryptoSign(hash, data, key);
}

function target(client: RegistryClient, registry: string, repository: string): RegistryTarget {
  void client;
  return { registry, repository, insecure: true };
}

/** Pushes a small random OCI image (config + one layer) under `tag`; returns its digest. */
export async function pushRandomImage(
  client: RegistryClient,
  registry: string,
  repository: string,
  tag: string,
): Promise<string> {
  const t = target(client, registry, repository);
  const layer = randomBytes(64);
  const config = Buffer.from(
    JSON.stringify({ architecture: 'amd64', os: 'linux', rootfs: { type: 'layers' } }),
  );
  const layerDigest = await client.putBlob(t, layer);
  const configDigest = await client.putBlob(t, config);
  const manifest = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: manifestMediaTypes.ociManifest,
      config: {
        mediaType: 'application/vnd.oci.image.config.v1+json',
        digest: configDigest,
        size: config.length,
      },
      layers: [
        { mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', digest: layerDigest, size: layer.length },
      ],
    }),
  );
  return client.putManifest(t, tag, manifest, manifestMediaTypes.ociManifest);
}

/** Pushes an OCI image index over `manifests` (digests of images in the same repository). */
export async function pushIndex(
  client: RegistryClient,
  registry: string,
  repository: string,
  tag: string,
  manifests: readonly string[],
): Promise<string> {
  const t = target(client, registry, repository);
  const index = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: manifestMediaTypes.ociIndex,
      manifests: await Promise.all(
        manifests.map(async (digest, i) => {
          const m = await client.getManifest(t, digest);
          return {
            mediaType: m.mediaType,
            digest,
            size: m.body.length,
            platform: { architecture: i === 0 ? 'amd64' : 'arm64', os: 'linux' },
          };
        }),
      ),
    }),
  );
  return client.putManifest(t, tag, index, manifestMediaTypes.ociIndex);
}

/** A simple-signing payload as cosign writes it. */
export function simpleSigningPayload(dockerReference: string, digest: string): Buffer {
  return Buffer.from(
    JSON.stringify({
      critical: {
        identity: { 'docker-reference': dockerReference },
        image: { 'docker-manifest-digest': digest },
        type: 'cosign container image signature',
      },
      optional: null,
    }),
  );
}

/** A logged entry with its Signed Entry Timestamp. */
export interface TestLogEntry {
  /** base64 canonicalized body. */
  readonly body: string;
  readonly integratedTime: number;
  readonly logIndex: number;
  readonly logID: string;
  /** base64 SET. */
  readonly set: string;
}

/** A Rekor log the tests control: signs receipts (SETs) for hashedrekord and dsse entries. */
export interface TestRekor {
  readonly key: TestKey;
  readonly logID: string;
  /** The `dev.sigstore.cosign/bundle` annotation for a legacy signature (hashedrekord entry). */
  receipt(payload: Uint8Array, signature: Uint8Array, signerPublicPem: string): string;
  /** A dsse entry for a DSSE signature over `payload` (the statement bytes). */
  dsseEntry(payload: Uint8Array, signature: Uint8Array, signerPublicPem: string): TestLogEntry;
}

/** Creates a test Rekor log with a fresh P-256 key. */
export function createTestRekor(): TestRekor {
  const key = generateTestKey('p256');
  const der = Buffer.from(key.publicKeyPem.replace(/-----(BEGIN|END) PUBLIC KEY-----|\s/g, ''), 'base64');
  const logID = createHash('sha256').update(der).digest('hex');
  let nextIndex = 1000;
  const sha256 = (bytes: Uint8Array): string => createHash('sha256').update(bytes).digest('hex');
  const log = (entry: unknown): TestLogEntry => {
    const body = Buffer.from(JSON.stringify(entry)).toString('base64');
    const integratedTime = 1_763_000_000;
    const logIndex = nextIndex++;
    const canonical = `{"body":${JSON.stringify(body)},"integratedTime":${integratedTime},"logID":"${logID}","logIndex":${logIndex}}`;
    const set = cryptoSign('sha256', Buffer.from(canonical), key.privateKey).toString('base64');
    return { body, integratedTime, logIndex, logID, set };
  };
  return {
    key,
    logID,
    receipt(payload, signature, signerPublicPem) {
      const entry = log({
        apiVersion: '0.0.1',
        kind: 'hashedrekord',
        spec: {
          data: { hash: { algorithm: 'sha256', value: sha256(payload) } },
          signature: {
            content: Buffer.from(signature).toString('base64'),
            publicKey: { content: Buffer.from(signerPublicPem).toString('base64') },
          },
        },
      });
      return JSON.stringify({
        SignedEntryTimestamp: entry.set,
        Payload: { body: entry.body, integratedTime: entry.integratedTime, logIndex: entry.logIndex, logID },
      });
    },
    dsseEntry(payload, signature, signerPublicPem) {
      return log({
        apiVersion: '0.0.1',
        kind: 'dsse',
        spec: {
          payloadHash: { algorithm: 'sha256', value: sha256(payload) },
          signatures: [
            {
              signature: Buffer.from(signature).toString('base64'),
              verifier: Buffer.from(signerPublicPem).toString('base64'),
            },
          ],
        },
      });
    },
  };
}

/** One legacy signature layer to attach. */
export interface LegacySignature {
  readonly payload: Uint8Array;
  /** base64 signature. */
  readonly signature: string;
  /** Extra annotations (e.g. the Rekor bundle). */
  readonly annotations?: Record<string, string>;
}

/** Writes the `sha256-<hex>.sig` manifest for `digest` with the given signature layers. */
export async function pushLegacySignatures(
  client: RegistryClient,
  registry: string,
  repository: string,
  digest: string,
  signatures: readonly LegacySignature[],
): Promise<string> {
  const t = target(client, registry, repository);
  const config = Buffer.from('{}');
  const configDigest = await client.putBlob(t, config);
  const layers = [];
  for (const s of signatures) {
    const layerDigest = await client.putBlob(t, s.payload);
    layers.push({
      mediaType: simpleSigningMediaType,
      digest: layerDigest,
      size: s.payload.length,
      annotations: { [signatureAnnotation]: s.signature, ...s.annotations },
    });
  }
  const manifest = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: manifestMediaTypes.ociManifest,
      config: {
        mediaType: 'application/vnd.oci.image.config.v1+json',
        digest: configDigest,
        size: config.length,
      },
      layers,
    }),
  );
  return client.putManifest(t, `${digest.replace(':', '-')}.sig`, manifest, manifestMediaTypes.ociManifest);
}

/** Signs `digest` as cosign (legacy format) does, optionally with a Rekor receipt, and pushes it. */
export async function signLegacy(
  client: RegistryClient,
  registry: string,
  repository: string,
  digest: string,
  key: TestKey,
  options: { dockerReference?: string; rekor?: TestRekor } = {},
): Promise<void> {
  const payload = simpleSigningPayload(options.dockerReference ?? `${registry}/${repository}`, digest);
  const signature = signBytes(key.privateKey, payload);
  const annotations: Record<string, string> = options.rekor
    ? { [rekorBundleAnnotation]: options.rekor.receipt(payload, signature, key.publicKeyPem) }
    : {};
  await pushLegacySignatures(client, registry, repository, digest, [
    { payload, signature: signature.toString('base64'), annotations },
  ]);
}

/** A log entry in the Sigstore bundle v0.3 JSON shape. */
function bundleTlogEntry(entry: TestLogEntry): Record<string, unknown> {
  return {
    logIndex: String(entry.logIndex),
    logId: { keyId: Buffer.from(entry.logID, 'hex').toString('base64') },
    kindVersion: { kind: 'dsse', version: '0.0.1' },
    integratedTime: String(entry.integratedTime),
    inclusionPromise: { signedEntryTimestamp: entry.set },
    canonicalizedBody: entry.body,
  };
}

/**
 * Signs `digest` as cosign v3 does by default: a Sigstore bundle v0.3 with a DSSE in-toto statement,
 * pushed as an artifact whose subject is the image; since distribution 2.8 has no referrers API,
 * the `sha256-<hex>` fallback index lists it (as cosign maintains it).
 */
export async function signBundle(
  client: RegistryClient,
  registry: string,
  repository: string,
  digest: string,
  key: TestKey,
  options: { subjectDigest?: string; predicateType?: string; rekor?: TestRekor } = {},
): Promise<void> {
  const t = target(client, registry, repository);
  const subject = options.subjectDigest ?? digest;
  const statement = Buffer.from(
    JSON.stringify({
      _type: 'https://in-toto.io/Statement/v1',
      subject: [{ name: `${registry}/${repository}`, digest: { sha256: subject.split(':')[1] } }],
      predicateType: options.predicateType ?? 'https://sigstore.dev/cosign/sign/v1',
      predicate: {},
    }),
  );
  const sig = signBytes(key.privateKey, dssePae('application/vnd.in-toto+json', statement));
  const bundle = Buffer.from(
    JSON.stringify({
      mediaType: sigstoreBundleMediaType,
      verificationMaterial: {
        publicKey: { hint: 'test' },
        tlogEntries: options.rekor
          ? [bundleTlogEntry(options.rekor.dsseEntry(statement, sig, key.publicKeyPem))]
          : [],
      },
      dsseEnvelope: {
        payload: statement.toString('base64'),
        payloadType: 'application/vnd.in-toto+json',
        signatures: [{ sig: sig.toString('base64'), keyid: '' }],
      },
    }),
  );
  const empty = Buffer.from('{}');
  const emptyDigest = await client.putBlob(t, empty);
  const bundleDigest = await client.putBlob(t, bundle);
  const image = await client.getManifest(t, digest);
  const artifact = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: manifestMediaTypes.ociManifest,
      artifactType: sigstoreBundleMediaType,
      config: { mediaType: 'application/vnd.oci.empty.v1+json', digest: emptyDigest, size: empty.length },
      layers: [{ mediaType: sigstoreBundleMediaType, digest: bundleDigest, size: bundle.length }],
      subject: { mediaType: image.mediaType, digest, size: image.body.length },
    }),
  );
  const artifactDigest = sha256Digest(artifact);
  await client.putManifest(t, artifactDigest, artifact, manifestMediaTypes.ociManifest);
  const index = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: manifestMediaTypes.ociIndex,
      manifests: [
        {
          mediaType: manifestMediaTypes.ociManifest,
          artifactType: sigstoreBundleMediaType,
          digest: artifactDigest,
          size: artifact.length,
        },
      ],
    }),
  );
  await client.putManifest(t, digest.replace(':', '-'), index, manifestMediaTypes.ociIndex);
}

/**
 * Puts a fixture image (skopeo `dir:` layout: manifest.json without layer blobs) into the
 * registry's filesystem storage under `repository:tag`, as a push would leave it. The fixtures
 * ship no layer blobs, so neither skopeo nor a push can upload them; the registry serves
 * manifests without reading layers.
 */
export async function seedManifest(
  registry: TestRegistry,
  repository: string,
  tag: string,
  manifest: Uint8Array,
): Promise<string> {
  const digest = sha256Digest(manifest);
  const hex = digest.slice('sha256:'.length);
  const v2 = join(registry.storage, 'docker', 'registry', 'v2');
  const blobDir = join(v2, 'blobs', 'sha256', hex.slice(0, 2), hex);
  await mkdir(blobDir, { recursive: true });
  await writeFile(join(blobDir, 'data'), manifest);
  const manifests = join(v2, 'repositories', repository, '_manifests');
  const links = [
    join(manifests, 'revisions', 'sha256', hex),
    join(manifests, 'tags', tag, 'current'),
    join(manifests, 'tags', tag, 'index', 'sha256', hex),
  ];
  for (const dir of links) {
    await mkdir(dir, { recursive: true });
    await writeFile(join(dir, 'link'), digest);
  }
  return digest;
}

/**
 * Converts a containers/image sigstore signature file (`\0sigstore-json\n` + JSON with mimeType,
 * payload, annotations) into the legacy cosign signature layer that
 * `use-sigstore-attachments: true` uploads.
 */
export function legacySignatureFromSigstoreFile(bytes: Uint8Array): LegacySignature {
  const prefix = Buffer.from('\0sigstore-json\n');
  const buffer = Buffer.from(bytes);
  if (!buffer.subarray(0, prefix.length).equals(prefix))
    throw new Error('not a sigstore-json signature file');
  const json = JSON.parse(buffer.subarray(prefix.length).toString('utf8')) as {
    payload: string;
    annotations: Record<string, string>;
  };
  const { [signatureAnnotation]: signature, ...annotations } = json.annotations;
  if (!signature) throw new Error('the signature file has no cosign signature annotation');
  return { payload: Buffer.from(json.payload, 'base64'), signature, annotations };
}
