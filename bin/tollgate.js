#!/usr/bin/env node
// Entry point of the `tollgate` command. It runs the JavaScript compiled ahead of time into dist/
// (scripts/build.ts; `npm ci` and `npm pack` build it), never TypeScript type stripping.
//  - On a Node older than 22.12 it hands over to the Node 24 installed with tollgate (the `node`
//    npm package), as npx does in a clone.
//  - It turns on Node's compile cache, so later starts skip parsing and compiling the bundle, and
//    loads node:child_process only to hand over or rebuild (loading it costs a start ~5 ms).
//  - In a clone (scripts/build.ts beside dist/), it rebuilds dist/ first when a source file the
//    build read is newer than the build, so `npx tollgate` never runs stale code.
import { existsSync, readFileSync, statSync } from 'node:fs';
import module from 'node:module';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const [major = 0, minor = 0] = process.versions.node.split('.').map(Number);

if (major < 22 || (major === 22 && minor < 12)) {
  let own;
  try {
    own = `${module
      .createRequire(import.meta.url)
      .resolve('node/package.json')
      .slice(0, -'package.json'.length)}bin/node`;
  } catch {
    own = undefined;
  }
  if (!own || !existsSync(own) || process.env.TOLLGATE_REEXEC === '1') {
    process.stderr.write(
      `tollgate needs Node.js >= 22.12 (Node 24 LTS recommended); this is ${process.version}.\n` +
        'Run it through npm (npx tollgate ...), which uses the Node 24 installed with the project.\n',
    );
    process.exit(2);
  }
  const { spawnSync } = await import('node:child_process');
  const result = spawnSync(own, [fileURLToPath(import.meta.url), ...process.argv.slice(2)], {
    stdio: 'inherit',
    env: { ...process.env, TOLLGATE_REEXEC: '1' },
  });
  process.exit(result.status ?? 2);
}

// A check of many manifests runs for seconds: TurboFan's optimizing compilations (on a background
// thread) cost more CPU than its faster code wins back in that time, while Maglev still optimizes
// hot code (the 10,000-resource corpus of bench/check-vs-peer.ts: about 10% less CPU and wall time;
// 40,000 resources: 16% less CPU). Only for a check of a directory or of standard input: loading
// node:v8 costs a start about 3 ms, which a check of a file or two does not win back. Set before the
// compile cache is opened: the flags are part of the cache's key. Not for `serve` (the webhook runs
// for days), nor when NODE_OPTIONS or node's own options name a V8 compiler flag.
const compilerFlag = /--(no-)?(turbofan|maglev|sparkplug|jitless|max-lazy)/;
const readsMany = () =>
  process.argv.slice(3).some((arg) => {
    if (arg === '-') return true;
    try {
      return statSync(arg, { throwIfNoEntry: false })?.isDirectory() === true;
    } catch {
      return false;
    }
  });
if (
  process.argv[2] === 'check' &&
  !compilerFlag.test(process.env.NODE_OPTIONS ?? '') &&
  !process.execArgv.some((flag) => compilerFlag.test(flag)) &&
  readsMany()
)
  (await import('node:v8')).setFlagsFromString('--no-turbofan');

module.enableCompileCache?.();

/** In a clone: whether dist/ is missing or older than a file it was built from. */
function distIsStale() {
  if (!existsSync(`${root}scripts/build.ts`)) return false;
  let info;
  try {
    info = JSON.parse(readFileSync(`${root}dist/build-info.json`, 'utf8'));
  } catch {
    return true;
  }
  const builtAt = Date.parse(info.startedAt);
  return info.inputs.some((file) => {
    try {
      return statSync(`${root}${file}`).mtimeMs > builtAt;
    } catch {
      return true;
    }
  });
}

if (distIsStale()) {
  process.stderr.write('tollgate: dist/ is older than the sources; rebuilding it (npm run build)\n');
  const { spawnSync } = await import('node:child_process');
  const build = spawnSync(
    process.execPath,
    [
      ...(process.features.typescript ? [] : ['--experimental-strip-types', '--no-warnings']),
      `${root}scripts/build.ts`,
    ],
    { stdio: ['ignore', 'ignore', 'inherit'] },
  );
  if (build.status !== 0) process.exit(3);
}

const { main } = await import('../dist/tollgate.js');
process.exitCode = await main(process.argv.slice(2));
