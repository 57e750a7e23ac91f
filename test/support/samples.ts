/**
 * The sample manifests beside each policy (`policies/<id>/samples/{allowed,denied}/*.yaml` with
 * `samples/bundle.yaml`), loaded once for the policy's own tests.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { loadBundle } from '../../policies/index.ts';
import type { CompiledBundle } from '../../policies/engine/bundle.ts';
import type { KubeObject, Policy } from '../../policies/engine/types.ts';
import { parseSource } from '../../policies/engine/yaml-source.ts';

/** A policy's samples. */
export interface Samples {
  readonly bundle: CompiledBundle;
  /** `[verdict, file]` pairs, for `it.each`. */
  readonly cases: ReadonlyArray<readonly ['allowed' | 'denied', string]>;
  /** The objects of one sample file; throws on a YAML error so a broken sample never passes. */
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
      const source = parseSource(readFileSync(`${root}${verdict}/${file}`, 'utf8'));
      if (source.errors.length > 0) throw new Error(`${verdict}/${file}: ${JSON.stringify(source.errors)}`);
      return source.documents.map((document) => document.value as KubeObject);
    },
  };
}
