/**
 * kubectl's own manifest reader as a test oracle: test/e2e/apiserver/oracle, a Go program built
 * from the Go module proxy in the module that pins k8s.io/* for the e2e kube-apiserver. It reads
 * files with cli-runtime's builder and prints the objects `kubectl apply -f` would send.
 *
 * `.ci/tools.sh` builds it into the tool cache with a version stamp; when the cached binary is
 * missing or stale, the tests build it themselves (Go ≥ 1.24 on PATH or in /usr/local/go/bin).
 */
import { execFileSync, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  accessSync,
  constants,
  existsSync,
  mkdirSync,
  readFileSync,
  renameSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { toolsDir } from '../e2e/tools.ts';

const moduleDir = fileURLToPath(new URL('../e2e/apiserver/', import.meta.url));

/** What kubectl makes of one path. */
export interface OracleResult {
  readonly path: string;
  readonly objects: Array<{ source: string; object: Record<string, unknown> }>;
  readonly errors: string[];
}

/** The stamp `.ci/tools.sh` writes beside the binary: a hash of the module files and the source. */
export function oracleStamp(): string {
  const hash = createHash('sha256');
  for (const file of ['go.mod', 'go.sum', 'oracle/main.go']) hash.update(readFileSync(join(moduleDir, file)));
  return hash.digest('hex').slice(0, 16);
}

function goBinary(): string {
  for (const candidate of [
    '/usr/local/go/bin/go',
    ...(process.env['PATH'] ?? '').split(':').map((d) => join(d, 'go')),
  ]) {
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // next
    }
  }
  throw new Error('Go ≥ 1.24 is needed to build the kubectl reader oracle (install Go or run .ci/tools.sh)');
}

/** Path of the oracle binary, built first when the tool cache has no current one. */
export function oraclePath(): string {
  const bin = join(toolsDir(), 'bin');
  const path = join(bin, 'kubectl-reader-oracle');
  const stampFile = join(bin, '.kubectl-reader-oracle.stamp');
  const stamp = oracleStamp();
  if (existsSync(path) && existsSync(stampFile) && readFileSync(stampFile, 'utf8').trim() === stamp)
    return path;
  mkdirSync(bin, { recursive: true });
  process.stdout.write(
    `building the kubectl reader oracle (test/e2e/apiserver/oracle, k8s.io/cli-runtime from the Go module proxy) into ${path}; minutes on a cold module cache\n`,
  );
  execFileSync(goBinary(), ['build', '-trimpath', '-o', `${path}.tmp`, './oracle'], {
    cwd: moduleDir,
    stdio: ['ignore', 'inherit', 'inherit'],
    env: {
      ...process.env,
      GOTOOLCHAIN: 'local',
      GOFLAGS: `${process.env['GOFLAGS'] ?? ''} -buildvcs=false`.trim(),
    },
  });
  renameSync(`${path}.tmp`, path);
  writeFileSync(stampFile, `${stamp}\n`);
  return path;
}

/** Runs the oracle once over many paths (one process, paths on stdin). */
export function runOracle(
  paths: readonly string[],
  options: { recursive?: boolean } = {},
): Promise<OracleResult[]> {
  const binary = oraclePath();
  return new Promise((resolve, reject) => {
    const child = spawn(binary, options.recursive ? ['-R'] : [], { stdio: ['pipe', 'pipe', 'inherit'] });
    const chunks: Buffer[] = [];
    child.stdout.on('data', (chunk: Buffer) => chunks.push(chunk));
    child.on('error', reject);
    child.on('close', (code) => {
      if (code !== 0) {
        reject(new Error(`oracle exited with ${code}`));
        return;
      }
      const lines = Buffer.concat(chunks).toString('utf8').split('\n').filter(Boolean);
      resolve(lines.map((line) => JSON.parse(line) as OracleResult));
    });
    child.stdin.end(paths.map((path) => `${path}\n`).join(''));
  });
}
