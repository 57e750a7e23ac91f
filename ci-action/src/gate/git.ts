/**
 * The git facts the CI gate needs: which files and lines a pull request changed (from `git diff`
 * against the merge base) and the base ref's tree, materialized for a baseline run.
 */
import { promisify } from 'node:util';
import type { ChangedLines } from '../report/github.ts';

/** node:child_process, loaded when git first runs: a check without a baseline never pays for it. */
const childProcess = () => import('node:child_process');

/** Runs git and returns stdout; the error names the command and git's own message. */
export async function git(args: readonly string[], cwd: string): Promise<string> {
  try {
    const { execFile } = await childProcess();
    const { stdout } = await promisify(execFile)('git', [...args], { cwd, maxBuffer: 512 * 1024 * 1024 });
    return stdout;
  } catch (error) {
    const stderr = (error as { stderr?: string }).stderr?.trim();
    throw new Error(`git ${args.join(' ')} failed: ${stderr || (error as Error).message}`, { cause: error });
  }
}

/** Resolves a ref to a commit id, with an actionable message when it is missing. */
export async function resolveCommit(ref: string, cwd: string): Promise<string> {
  try {
    return (await git(['rev-parse', '--verify', '--quiet', `${ref}^{commit}`], cwd)).trim();
  } catch {
    throw new Error(
      `git ref "${ref}" is not in this clone; check out with full history (actions/checkout with fetch-depth: 0) or fetch the ref first`,
    );
  }
}

async function diff(base: string, cwd: string, extra: readonly string[]): Promise<string> {
  const common = ['-c', 'core.quotepath=off', 'diff', '--no-color', '--no-ext-diff', '--relative', ...extra];
  try {
    return await git([...common, `${base}...HEAD`], cwd);
  } catch {
    // No merge base (shallow clone or unrelated histories): compare the two trees directly.
    return git([...common, base, 'HEAD'], cwd);
  }
}

/** Files (relative to `cwd`) added, copied, modified or renamed since the merge base with `base`. */
export async function changedFiles(base: string, cwd: string): Promise<string[]> {
  const out = await diff(base, cwd, ['--name-only', '--diff-filter=ACMR']);
  return out.split('\n').filter((line) => line.length > 0);
}

/** Added lines per file since the merge base with `base`, from zero-context diff hunks. */
export async function changedLines(base: string, cwd: string): Promise<ChangedLines> {
  return parseDiffHunks(await diff(base, cwd, ['--unified=0', '--diff-filter=ACMR']));
}

/** Parses unified-diff text into the new-side line numbers of each file's added lines. */
export function parseDiffHunks(text: string): Map<string, Set<number>> {
  const result = new Map<string, Set<number>>();
  let current: Set<number> | undefined;
  for (const line of text.split('\n')) {
    if (line.startsWith('+++ ')) {
      const target = line.slice(4);
      if (target === '/dev/null') {
        current = undefined;
        continue;
      }
      const file = target.startsWith('b/') ? target.slice(2) : target;
      current = result.get(file) ?? new Set<number>();
      result.set(file, current);
      continue;
    }
    const hunk = /^@@ -\d+(?:,\d+)? \+(\d+)(?:,(\d+))? @@/.exec(line);
    if (hunk && current) {
      const start = Number(hunk[1]);
      const count = hunk[2] === undefined ? 1 : Number(hunk[2]);
      for (let n = start; n < start + count; n++) current.add(n);
    }
  }
  return result;
}

/** Writes the tree of `ref` (the part under `cwd`) into `dir` with `git archive | tar -x`. */
export async function materializeTree(ref: string, cwd: string, dir: string): Promise<void> {
  const { spawn } = await childProcess();
  await new Promise<void>((resolve, reject) => {
    const archive = spawn('git', ['archive', '--format=tar', ref], {
      cwd,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const tar = spawn('tar', ['-x', '-C', dir], { stdio: ['pipe', 'ignore', 'pipe'] });
    let stderr = '';
    archive.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    tar.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    archive.stdout.pipe(tar.stdin);
    let pending = 2;
    let failed = false;
    const done = (name: string) => (code: number | null) => {
      if (code !== 0 && !failed) {
        failed = true;
        reject(new Error(`${name} of ${ref} failed (exit ${code}): ${stderr.trim()}`));
      }
      if (--pending === 0 && !failed) resolve();
    };
    archive.on('error', reject);
    tar.on('error', reject);
    archive.on('close', done('git archive'));
    tar.on('close', done('tar -x'));
  });
}
