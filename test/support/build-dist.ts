/**
 * vitest global set-up: the tests that run the `tollgate` command run the compiled dist/. Running
 * bin/tollgate.js once builds dist/ when it is missing or older than its sources (as `npx tollgate`
 * does), before the test files run the command in parallel.
 */
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

export default function setup(): void {
  const bin = fileURLToPath(new URL('../../bin/tollgate.js', import.meta.url));
  const result = spawnSync(process.execPath, [bin, '--version'], { encoding: 'utf8' });
  if (result.status !== 0) throw new Error(`building dist/ failed:\n${result.stderr}`);
  if (result.stderr) process.stderr.write(result.stderr);
}
