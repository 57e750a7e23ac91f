/**
 * The active policy bundle of the webhook: loaded from a file (a mounted ConfigMap), reloaded when
 * the file changes. An invalid new bundle is refused and the last good one keeps serving; the
 * refusal is logged once per distinct content and counted in a metric.
 */
import { readFile } from 'node:fs/promises';
import type { Logger } from 'pino';
import { loadBundle } from '../../policies/engine/bundle.ts';
import type { CompiledBundle } from '../../policies/engine/bundle.ts';
import { BundleError } from '../../policies/engine/errors/index.ts';
import type { Policy } from '../../policies/engine/types.ts';
import { watchFiles } from './file-watch.ts';
import type { FileWatcher } from './file-watch.ts';
import type { WebhookMetrics } from './metrics.ts';

/** Options for {@link openBundleSource}. */
export interface BundleSourceOptions {
  /** The bundle file. */
  readonly path: string;
  /** Name shown in messages (defaults to the path). */
  readonly label?: string;
  readonly policies: readonly Policy<unknown>[];
  /** Period of the change check in milliseconds (directory events trigger checks sooner). */
  readonly intervalMs: number;
  readonly metrics: WebhookMetrics;
  readonly logger: Logger;
}

/** The live bundle. */
export interface BundleSource {
  /** The last good bundle. */
  current(): CompiledBundle;
  /** Checks the file now (tests and SIGHUP). */
  check(): Promise<void>;
  stop(): void;
}

/** Loads the bundle (throwing BundleError when the first load fails) and starts watching it. */
export async function openBundleSource(options: BundleSourceOptions): Promise<BundleSource> {
  const label = options.label ?? options.path;
  const load = (bytes: Buffer): CompiledBundle =>
    loadBundle(bytes, { source: label, policies: options.policies });
  const initialBytes = await readFile(options.path);
  let active = load(initialBytes);
  options.metrics.bundleActive(active.identity);
  options.logger.info(
    { event: 'bundle-loaded', bundle: active.identity, file: options.path },
    'bundle active',
  );
  const watcher: FileWatcher = watchFiles({
    paths: [options.path],
    intervalMs: options.intervalMs,
    initial: [initialBytes],
    onChange: ([bytes]) => {
      if (!bytes) return;
      try {
        const next = load(bytes);
        const previous = active.identity;
        active = next;
        options.metrics.bundleActive(next.identity);
        options.metrics.bundleReloaded();
        options.logger.info(
          { event: 'bundle-reloaded', bundle: next.identity, previous, file: options.path },
          'bundle reloaded',
        );
      } catch (error) {
        options.metrics.bundleReloadFailed();
        const issues = error instanceof BundleError ? error.issues : undefined;
        options.logger.error(
          {
            event: 'bundle-reload-refused',
            file: options.path,
            serving: active.identity,
            ...(issues ? { issues } : { err: error }),
          },
          `refused the changed bundle; still serving ${active.identity.name}@${active.identity.version}`,
        );
      }
    },
    onReadError: (error) => {
      options.logger.warn(
        { event: 'bundle-read-failed', file: options.path, err: error },
        'cannot read the bundle file; the last good bundle keeps serving',
      );
    },
  });
  return {
    current: () => active,
    check: () => watcher.check(),
    stop: () => watcher.stop(),
  };
}
