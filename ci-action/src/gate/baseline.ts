/**
 * Baselines: the same check run on the base ref's tree, so findings can be classified new vs
 * pre-existing by fingerprint (file, object, policy, path — never line numbers). A team adopting
 * tollgate on an old repository then fails only on what a pull request introduces.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runPipeline } from './pipeline.ts';
import type { PipelineOptions } from './pipeline.ts';
import { materializeTree, resolveCommit } from './git.ts';

/** Fingerprints of every issue the base ref has, checked with the same paths, bundle and clock. */
export async function baselineFingerprints(
  ref: string,
  options: Omit<PipelineOptions, 'readStdin'>,
): Promise<{ commit: string; fingerprints: Set<string> }> {
  const commit = await resolveCommit(ref, options.cwd);
  const dir = await mkdtemp(join(tmpdir(), 'tollgate-baseline-'));
  try {
    await materializeTree(commit, options.cwd, dir);
    const result = await runPipeline({
      ...options,
      paths: options.paths.filter((path) => path !== '-'),
      cwd: dir,
      readStdin: async () => '',
    });
    return { commit, fingerprints: new Set(result.issues.map((issue) => issue.fingerprint)) };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
