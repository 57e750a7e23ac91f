/**
 * Watches files that are replaced in place by Kubernetes (ConfigMap and Secret volumes swap a
 * `..data` symlink; cert-manager rewrites both files): fs.watch on the directories for promptness,
 * plus a periodic content-digest check because directory events are not reliable across symlink
 * swaps and network filesystems. The callback gets the new contents only when they changed.
 */
import { createHash } from 'node:crypto';
import { watch } from 'node:fs';
import type { FSWatcher } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { dirname } from 'node:path';

/** Options for {@link watchFiles}. */
export interface WatchFilesOptions {
  /** Files read together (e.g. certificate and key); a change of any reloads all. */
  readonly paths: readonly string[];
  /** Period of the content check. */
  readonly intervalMs: number;
  /** The contents as last loaded, so the first check does not report them as a change. */
  readonly initial?: readonly Buffer[];
  /** Called with the new contents, in `paths` order; errors are the caller's to handle. */
  onChange(contents: Buffer[]): void | Promise<void>;
  /** Called when the files cannot be read, once until they are readable again (they keep being watched). */
  onReadError?(error: unknown): void;
}

/** A running watcher. */
export interface FileWatcher {
  /** Checks now (also what the timers and directory events do). */
  check(): Promise<void>;
  stop(): void;
}

function digestOf(contents: readonly Buffer[]): string {
  const hash = createHash('sha256');
  for (const content of contents) hash.update(createHash('sha256').update(content).digest());
  return hash.digest('hex');
}

/** Starts watching; see the module comment. */
export function watchFiles(options: WatchFilesOptions): FileWatcher {
  let last = options.initial ? digestOf(options.initial) : undefined;
  let running: Promise<void> | undefined;
  let again = false;
  let stopped = false;
  let unreadable = false;
  const run = async (): Promise<void> => {
    let contents: Buffer[];
    try {
      contents = await Promise.all(options.paths.map((path) => readFile(path)));
      unreadable = false;
    } catch (error) {
      // reported once per streak of failures, not on every check
      if (!unreadable) options.onReadError?.(error);
      unreadable = true;
      return;
    }
    const digest = digestOf(contents);
    if (digest === last || stopped) return;
    last = digest;
    await options.onChange(contents);
  };
  const check = async (): Promise<void> => {
    if (running) {
      again = true;
      return running;
    }
    running = (async () => {
      do {
        again = false;
        await run();
      } while (again && !stopped);
    })().finally(() => {
      running = undefined;
    });
    return running;
  };
  let debounce: NodeJS.Timeout | undefined;
  const onEvent = (): void => {
    if (debounce) clearTimeout(debounce);
    debounce = setTimeout(() => void check(), 50);
    debounce.unref();
  };
  const watchers: FSWatcher[] = [];
  for (const dir of new Set(options.paths.map((path) => dirname(path)))) {
    try {
      const watcher = watch(dir, { persistent: false }, onEvent);
      watcher.on('error', () => undefined);
      watchers.push(watcher);
    } catch {
      // the periodic check still catches changes
    }
  }
  const timer = setInterval(() => void check(), options.intervalMs);
  timer.unref();
  return {
    check,
    stop() {
      stopped = true;
      clearInterval(timer);
      if (debounce) clearTimeout(debounce);
      for (const watcher of watchers) watcher.close();
    },
  };
}
