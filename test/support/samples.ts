/**
 * The sample manifests beside each policy (`policies/<id>/samples/{allowed,denied}/*.yaml` with
 * `samples/bundle.yaml`), loaded once for the policy's own tests.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { loadBundle, readAsKubectl } from '../../policies/index.ts';
import type { CompiledBundle } from '../../policies/engine/bundle.ts';
import type { KubeObject, Policy } from '../../policies/engine/types.ts';
import { kubectlYaml } from '../../ci-action/src/gate/kube-yaml.ts';

/** A policy's samples. */
export interface Samples {
  readonly bundle: CompiledBundle;
  /** `[verdict, file]` pairs, for `it.each`. */
  readonly cases: ReadonlyArray<readonly ['allowed' | 'denied', string]>;
  /** The objects kubectl would send for one sample file; throws when kubectl would refuse it. */
  objects(verdict: 'allowed' | 'denied', file: string): KubeObject[];
}

/** Loads the samples folder at `dir` (a URL or path ending in `/`) with the bundle beside it. */
export function loadSamples(dir: URL | string, policies: readonly Policy<unknown>[]): Samples {
  const root = typeof dir === 'string' ? dir : dir.pathname;
  const bundle = loadBundle(readFileSync(`${root}bundle.yaml`), { source: `${root}bundle.yaml`, policies });
  const cases = (['allowed', 'denied'] as const).flatMap((verdict) =>
    readdirSync(`${root}${verdict}`)
      .filter((file) => file.endsWith('.yaml'))
      .sort()
      .map((file) => [verdict, file] as const),
  );
  return {
    bundle,
    cases,
    objects(verdict, file) {
      // Read as kubectl reads it: the objects the API server would receive.
      const reading = readAsKubectl(readFileSync(`${root}${verdict}/${file}`), { exactYaml: kubectlYaml });
      if (reading.errors.length > 0) throw new Error(`${verdict}/${file}: ${JSON.stringify(reading.errors)}`);
      return reading.objects.map(({ object }) => object as KubeObject);
    },
  };
}
