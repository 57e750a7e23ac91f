/**
 * The webhook image, built, run, pushed, signed and admitted: scripts/build-image.ts assembles the
 * OCI layout (no container engine, no base image); a second build gives the same digest; the layers
 * unpacked into a root file system run the image's entrypoint as its user (chroot when root, else
 * the image's own dynamic loader), and that `tollgate serve` answers /readyz and denies a bad review
 * over TLS; skopeo pushes the layout to Debian's docker-registry on loopback, the real cosign signs
 * the digest with a key, and the image's own webhook, given a bundle that trusts that key for the
 * repository, admits a Deployment of its own digest and denies the same image pushed unsigned under
 * another digest; `tollgate check` gives the same verdicts in CI.
 */
import { execFile, spawn, spawnSync } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { request as httpsRequest } from 'node:https';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { buildImage, type ImageBuild } from '../../scripts/build-image.ts';
import { nodeBin, repoRoot } from '../e2e/tollgate.ts';
import { toolPath } from '../e2e/tools.ts';
import { freePort, startRegistry, type TestRegistry } from '../support/registry-rig.ts';
import { admissionReview } from '../support/webhook.ts';

const run = promisify(execFile);
const skopeo = toolPath('skopeo');
const cosign = toolPath('cosign');
const scratch = mkdtempSync(join(tmpdir(), 'tollgate-image-test-'));
const repository = 'platform/tollgate';

interface ImageConfig {
  config: { User: string; Env: string[]; Entrypoint: string[]; Cmd: string[] };
  rootfs: { diff_ids: string[] };
}

const blob = (layout: string, digest: string): Buffer =>
  readFileSync(join(layout, 'blobs', 'sha256', digest.slice('sha256:'.length)));

/** Unpacks the image's layers, in order, into a fresh root file system; returns it and the config. */
function unpack(image: ImageBuild): { rootfs: string; config: ImageConfig } {
  const manifest = JSON.parse(blob(image.layout, image.digest).toString()) as {
    config: { digest: string };
    layers: Array<{ digest: string }>;
  };
  const config = JSON.parse(blob(image.layout, manifest.config.digest).toString()) as ImageConfig;
  const rootfs = join(scratch, 'rootfs');
  mkdirSync(rootfs);
  for (const layer of manifest.layers) {
    const file = join(image.layout, 'blobs', 'sha256', layer.digest.slice('sha256:'.length));
    const result = spawnSync('tar', ['-xzf', file, '-C', rootfs, '--same-owner', '--same-permissions']);
    expect(result.status, result.stderr?.toString()).toBe(0);
  }
  return { rootfs, config };
}

/** Whether the entrypoint runs in a chroot (as root) rather than through the image's loader. */
const chrooted = process.getuid?.() === 0;

/** A path inside the image as the entrypoint sees it: itself in a chroot, else under the root file system. */
const inImage = (path: string): string => (chrooted ? path : join(rootfs, path));

/**
 * Runs the image's entrypoint with `args` appended to it (replacing Cmd), only with the image's
 * environment: as root, in a chroot as the image's user; otherwise through the image's own dynamic
 * loader and libraries (the files are the image's, the user is the caller's: chroot needs root).
 */
function runEntrypoint(rootfs: string, config: ImageConfig, args: readonly string[]): ChildProcess {
  const [entry, ...entryArgs] = config.config.Entrypoint;
  const env = Object.fromEntries(config.config.Env.map((line) => line.split(/=(.*)/s).slice(0, 2)));
  if (chrooted) {
    // coreutils' chroot (an absolute path: the environment is the image's, whose PATH lacks sbin)
    return spawn(
      '/usr/sbin/chroot',
      [`--userspec=${config.config.User}`, rootfs, entry!, ...entryArgs, ...args],
      {
        env,
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
  }
  const loader = join(rootfs, 'lib64', 'ld-linux-x86-64.so.2');
  const libraries = join(rootfs, 'lib', 'x86_64-linux-gnu');
  const inRoot = (path: string): string => (path.startsWith('/') ? join(rootfs, path) : path);
  return spawn(loader, ['--library-path', libraries, inRoot(entry!), ...entryArgs.map(inRoot), ...args], {
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
}

let image: ImageBuild;
let rootfs: string;
let config: ImageConfig;
let registry: TestRegistry;
let signedDigest: string;
let unsignedDigest: string;
let bundleFile: string;
const servers: ChildProcess[] = [];

beforeAll(async () => {
  image = await buildImage(join(scratch, 'layout'));
  ({ rootfs, config } = unpack(image));
  registry = await startRegistry();
}, 900_000);

afterAll(async () => {
  for (const server of servers) server.kill('SIGTERM');
  await registry?.stop();
  rmSync(scratch, { recursive: true, force: true });
});

describe('the webhook image built by scripts/build-image.ts', () => {
  it('is an OCI layout tagged with the version, whose config runs `tollgate serve` as 65532', () => {
    const index = JSON.parse(readFileSync(join(image.layout, 'index.json'), 'utf8')) as {
      manifests: Array<{ digest: string; annotations: Record<string, string> }>;
    };
    expect(index.manifests).toEqual([
      expect.objectContaining({
        digest: image.digest,
        annotations: { 'org.opencontainers.image.ref.name': image.tag },
      }),
    ]);
    expect(config.config.User).toBe('65532:65532');
    expect(config.config.Entrypoint).toEqual(['/usr/local/bin/node', '/app/bin/tollgate.js']);
    expect(config.config.Cmd).toEqual(['serve']);
    // every blob is named by its digest; the diff ids are the uncompressed layers'
    const manifest = JSON.parse(blob(image.layout, image.digest).toString()) as {
      layers: Array<{ digest: string }>;
    };
    manifest.layers.forEach((layer, i) => {
      const gz = blob(image.layout, layer.digest);
      expect(`sha256:${createHash('sha256').update(gz).digest('hex')}`).toBe(layer.digest);
      const tar = spawnSync('gzip', ['-dc'], { input: gz, maxBuffer: 1 << 30 }).stdout;
      expect(`sha256:${createHash('sha256').update(tar).digest('hex')}`).toBe(config.rootfs.diff_ids[i]);
    });
  });

  it('is reproducible: a second build gives the same digest', async () => {
    const again = await buildImage(join(scratch, 'layout-again'));
    expect(again.digest).toBe(image.digest);
    rmSync(again.layout, { recursive: true, force: true });
  }, 900_000);

  it('carries no file of the build host beyond the runtime it lists, and the licences of what it copies', () => {
    const listed = spawnSync('find', [rootfs, '-type', 'f'], { encoding: 'utf8' })
      .stdout.trim()
      .split('\n')
      .map((path) => path.slice(rootfs.length))
      .filter((path) => !path.startsWith('/app/'))
      .sort();
    expect(listed).toEqual([
      '/etc/group',
      '/etc/passwd',
      '/etc/ssl/certs/ca-certificates.crt',
      '/lib/x86_64-linux-gnu/libc.so.6',
      '/lib/x86_64-linux-gnu/libdl.so.2',
      '/lib/x86_64-linux-gnu/libgcc_s.so.1',
      '/lib/x86_64-linux-gnu/libm.so.6',
      '/lib/x86_64-linux-gnu/libpthread.so.0',
      '/lib/x86_64-linux-gnu/libstdc++.so.6',
      '/lib64/ld-linux-x86-64.so.2',
      '/usr/local/bin/node',
      '/usr/local/share/doc/node/LICENSE',
      '/usr/share/doc/ca-certificates/copyright',
      '/usr/share/doc/libc6/copyright',
      '/usr/share/doc/libgcc-s1/copyright',
      '/usr/share/doc/libstdc++6/copyright',
    ]);
  });

  it('is pushed by skopeo with its digest kept, and signed by the real cosign', async () => {
    const reference = `${registry.host}/${repository}`;
    const pushed = join(scratch, 'pushed.digest');
    await run(skopeo, [
      'copy',
      '--quiet',
      '--preserve-digests',
      '--dest-tls-verify=false',
      '--digestfile',
      pushed,
      `oci:${image.layout}:${image.tag}`,
      `docker://${reference}:${image.tag}`,
    ]);
    signedDigest = readFileSync(pushed, 'utf8').trim();
    expect(signedDigest).toBe(image.digest);
    // The same image pushed under another tag as a Docker v2 manifest: same layers, another digest.
    const unsigned = join(scratch, 'unsigned.digest');
    await run(skopeo, [
      'copy',
      '--quiet',
      '--format',
      'v2s2',
      '--dest-tls-verify=false',
      '--digestfile',
      unsigned,
      `oci:${image.layout}:${image.tag}`,
      `docker://${reference}:${image.tag}-unsigned`,
    ]);
    unsignedDigest = readFileSync(unsigned, 'utf8').trim();
    expect(unsignedDigest).not.toBe(signedDigest);

    const env = { ...process.env, COSIGN_PASSWORD: '', COSIGN_YES: 'true' };
    await run(cosign, ['generate-key-pair'], { cwd: scratch, env });
    await run(
      cosign,
      [
        'sign',
        '--key',
        join(scratch, 'cosign.key'),
        '--tlog-upload=false',
        '--allow-insecure-registry',
        `${reference}@${signedDigest}`,
      ],
      { env },
    );
    const { stdout } = await run(
      cosign,
      [
        'verify',
        '--key',
        join(scratch, 'cosign.pub'),
        '--insecure-ignore-tlog',
        '--allow-insecure-registry',
        `${reference}@${signedDigest}`,
      ],
      { env },
    );
    expect(JSON.parse(stdout)).toEqual([
      expect.objectContaining({
        critical: expect.objectContaining({ image: { 'docker-manifest-digest': signedDigest } }),
      }),
    ]);

    bundleFile = join(rootfs, 'tmp', 'bundle.yaml');
    writeFileSync(
      bundleFile,
      stringify({
        apiVersion: 'tollgate.dev/v1',
        kind: 'PolicyBundle',
        metadata: { name: 'tollgate-image', version: '1.0.0' },
        spec: {
          policies: {
            'signed-images': {
              enforcement: 'deny',
              requireDigest: true,
              insecureRegistries: [registry.host],
              rules: [
                {
                  name: 'tollgate-release',
                  images: [reference],
                  keys: [{ name: 'release', publicKey: readFileSync(join(scratch, 'cosign.pub'), 'utf8') }],
                },
              ],
            },
          },
        },
      }),
    );
  }, 300_000);

  describe('its entrypoint, run from the unpacked layers', () => {
    let opsUrl: string;
    let validateUrl: string;
    let ca: string;
    let output = '';

    beforeAll(async () => {
      expect(bundleFile, 'the push-and-sign test ran first').toBeDefined();
      const port = await freePort();
      const opsPort = await freePort();
      const server = runEntrypoint(rootfs, config, [
        ...config.config.Cmd,
        '--host=127.0.0.1',
        `--port=${port}`,
        '--ops-host=127.0.0.1',
        `--ops-port=${opsPort}`,
        `--write-ca=${inImage('/tmp/ca.pem')}`,
        `--bundle=${inImage('/tmp/bundle.yaml')}`,
      ]);
      servers.push(server);
      server.stdout?.on('data', (chunk: Buffer) => (output = (output + chunk.toString()).slice(-8000)));
      server.stderr?.on('data', (chunk: Buffer) => (output = (output + chunk.toString()).slice(-8000)));
      opsUrl = `http://127.0.0.1:${opsPort}`;
      validateUrl = `https://127.0.0.1:${port}/validate`;
      const deadline = Date.now() + 120_000;
      for (;;) {
        expect(server.exitCode, output).toBeNull();
        const ready = await fetch(`${opsUrl}/readyz`).then(
          (res) => res.ok,
          () => false,
        );
        if (ready) break;
        if (Date.now() > deadline) throw new Error(`serve from the image not ready:\n${output}`);
        await sleep(200);
      }
      ca = readFileSync(join(rootfs, 'tmp', 'ca.pem'), 'utf8');
    }, 180_000);

    /** POSTs an AdmissionReview over TLS, trusting only the CA the image's webhook wrote. */
    const post = (body: unknown): Promise<{ status: number; text: string }> =>
      new Promise((resolve, reject) => {
        const payload = JSON.stringify(body);
        const req = httpsRequest(
          validateUrl,
          { method: 'POST', ca, agent: false, headers: { 'content-type': 'application/json' } },
          (res) => {
            const chunks: Buffer[] = [];
            res.on('data', (chunk: Buffer) => chunks.push(chunk));
            res.on('end', () =>
              resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString() }),
            );
          },
        );
        req.on('error', reject);
        req.end(payload);
      });

    const review = async (image: string): Promise<{ allowed: boolean; message: string }> => {
      const deployment = {
        apiVersion: 'apps/v1',
        kind: 'Deployment',
        metadata: { name: 'tollgate', namespace: 'tollgate-system' },
        spec: { template: { spec: { containers: [{ name: 'webhook', image }] } } },
      };
      const res = await post(admissionReview(deployment, { resource: 'deployments' }));
      expect(res.status).toBe(200);
      const body = JSON.parse(res.text) as {
        response: { allowed: boolean; status?: { message?: string } };
      };
      return { allowed: body.response.allowed, message: body.response.status?.message ?? '' };
    };

    it('runs as the image user and answers /readyz with the bundle it loaded', async () => {
      const res = await fetch(`${opsUrl}/readyz`);
      expect(await res.text()).toMatch(/^ok: bundle tollgate-image@1\.0\.0 sha256:/);
      if (chrooted) {
        const pid = servers[0]!.pid!;
        // chroot execs the entrypoint in place: the process is node, with the image's user.
        const status = readFileSync(`/proc/${pid}/status`, 'utf8');
        expect(status).toMatch(/^Uid:\s+65532\s+65532\s+65532\s+65532$/m);
        expect(readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0')[0]).toBe('/usr/local/bin/node');
      }
    });

    it('admits its own image, signed by cosign, by digest', async () => {
      const verdict = await review(`${registry.host}/${repository}@${signedDigest}`);
      expect(verdict, output).toEqual({ allowed: true, message: '' });
    });

    it('denies the same image pushed unsigned under another digest, and a bad review', async () => {
      const unsigned = await review(`${registry.host}/${repository}@${unsignedDigest}`);
      expect(unsigned.allowed).toBe(false);
      expect(unsigned.message).toContain(`[signed-images]`);
      expect(unsigned.message).toContain('has no cosign signature');
      const byTag = await review(`${registry.host}/${repository}:${image.tag}`);
      expect(byTag.allowed).toBe(false);
      expect(byTag.message).toContain('is not pinned by digest');
      const elsewhere = await review('docker.io/library/nginx@sha256:' + '0'.repeat(64));
      expect(elsewhere.allowed).toBe(false);
      expect(elsewhere.message).toContain('matches no signing rule');
    });

    it('gives the verdicts tollgate check gives in CI', () => {
      const manifests = join(scratch, 'manifests');
      mkdirSync(manifests, { recursive: true });
      const write = (name: string, digest: string): string => {
        const file = join(manifests, `${name}.yaml`);
        writeFileSync(
          file,
          stringify({
            apiVersion: 'apps/v1',
            kind: 'Deployment',
            metadata: { name, namespace: 'tollgate-system' },
            spec: {
              template: {
                spec: {
                  containers: [{ name: 'webhook', image: `${registry.host}/${repository}@${digest}` }],
                },
              },
            },
          }),
        );
        return file;
      };
      const check = (file: string) =>
        spawnSync(nodeBin, [join(repoRoot, 'bin', 'tollgate.js'), 'check', '--bundle', bundleFile, file], {
          encoding: 'utf8',
        });
      const signed = check(write('signed', signedDigest));
      expect(signed.status, signed.stdout + signed.stderr).toBe(0);
      const unsigned = check(write('unsigned', unsignedDigest));
      expect(unsigned.status, unsigned.stdout + unsigned.stderr).toBe(1);
      expect(unsigned.stdout).toContain('has no cosign signature');
    });
  });
});
