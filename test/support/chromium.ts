/**
 * Headless Chromium for tests (Debian's `chromium` package), installed idempotently the way
 * .ci/tools.sh installs Debian packages, and driven over the DevTools protocol (Node's WebSocket):
 * open a page, read what it renders, take a screenshot and print it to PDF. No browser download.
 */
import { execFileSync, spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

/** Finds Chromium, installing Debian's package when it is missing (apt-get update first if needed). */
export function ensureChromium(): string {
  const found = (): string | undefined => {
    for (const name of ['chromium', 'chromium-browser']) {
      try {
        return execFileSync('sh', ['-c', `command -v ${name}`], { encoding: 'utf8' }).trim() || undefined;
      } catch {
        // not this name
      }
    }
    return undefined;
  };
  const present = found();
  if (present) return present;
  const run = (args: string[]): void => {
    const command = process.getuid?.() === 0 ? args : ['sudo', ...args];
    execFileSync(command[0] as string, command.slice(1), {
      stdio: ['ignore', 'ignore', 'inherit'],
      env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' },
    });
  };
  const install = ['apt-get', 'install', '-y', '--no-install-recommends', 'chromium'];
  try {
    run(install);
  } catch {
    run(['apt-get', 'update']);
    run(install);
  }
  const installed = found();
  if (!installed) throw new Error('chromium is not on PATH after installing the Debian package');
  return installed;
}

/** A DevTools protocol session on one page. */
export interface ChromiumPage {
  /** Sends a command and resolves with its result. */
  send<T = Record<string, unknown>>(method: string, params?: Record<string, unknown>): Promise<T>;
  /** Navigates and waits for the load event. */
  open(url: string): Promise<void>;
  /** Evaluates an expression in the page and returns its value. */
  evaluate<T>(expression: string): Promise<T>;
  close(): Promise<void>;
}

/** Starts headless Chromium and attaches to its first page. */
export async function launchChromium(): Promise<ChromiumPage> {
  const binary = ensureChromium();
  const profile = mkdtempSync(join(tmpdir(), 'tollgate-chromium-'));
  const child: ChildProcess = spawn(
    binary,
    [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-dev-shm-usage',
      '--no-first-run',
      '--hide-scrollbars',
      '--window-size=1280,1600',
      '--remote-debugging-port=0',
      `--user-data-dir=${profile}`,
      'about:blank',
    ],
    { stdio: 'ignore' },
  );
  const portFile = join(profile, 'DevToolsActivePort');
  const deadline = Date.now() + 60_000;
  while (!existsSync(portFile) || readFileSync(portFile, 'utf8').split('\n').length < 2) {
    if (Date.now() > deadline || child.exitCode !== null)
      throw new Error('chromium did not open its DevTools port');
    await sleep(50);
  }
  const port = readFileSync(portFile, 'utf8').split('\n')[0];
  const targets = (await (await fetch(`http://127.0.0.1:${port}/json/list`)).json()) as Array<{
    type: string;
    webSocketDebuggerUrl: string;
  }>;
  const page = targets.find((target) => target.type === 'page');
  if (!page) throw new Error('chromium has no page target');
  const socket = new WebSocket(page.webSocketDebuggerUrl);
  await new Promise<void>((resolve, reject) => {
    socket.addEventListener('open', () => resolve(), { once: true });
    socket.addEventListener('error', () => reject(new Error('cannot connect to chromium')), { once: true });
  });
  let id = 0;
  const pending = new Map<number, { resolve: (value: unknown) => void; reject: (error: Error) => void }>();
  const listeners = new Map<string, Array<() => void>>();
  socket.addEventListener('message', (event) => {
    const message = JSON.parse(String(event.data)) as {
      id?: number;
      method?: string;
      result?: unknown;
      error?: { message: string };
    };
    if (message.id !== undefined) {
      const waiter = pending.get(message.id);
      pending.delete(message.id);
      if (message.error) waiter?.reject(new Error(message.error.message));
      else waiter?.resolve(message.result);
    } else if (message.method)
      for (const listener of listeners.get(message.method)?.splice(0) ?? []) listener();
  });
  const send = <T>(method: string, params: Record<string, unknown> = {}): Promise<T> =>
    new Promise((resolve, reject) => {
      const current = ++id;
      pending.set(current, { resolve: resolve as (value: unknown) => void, reject });
      socket.send(JSON.stringify({ id: current, method, params }));
    });
  await send('Page.enable');
  return {
    send,
    async open(url) {
      const loaded = new Promise<void>((resolve) => {
        const list = listeners.get('Page.loadEventFired') ?? [];
        list.push(resolve);
        listeners.set('Page.loadEventFired', list);
      });
      await send('Page.navigate', { url });
      await loaded;
    },
    async evaluate<T>(expression: string) {
      const result = await send<{ result: { value: T }; exceptionDetails?: { text: string } }>(
        'Runtime.evaluate',
        {
          expression,
          returnByValue: true,
        },
      );
      if (result.exceptionDetails) throw new Error(`page script failed: ${result.exceptionDetails.text}`);
      return result.result.value;
    },
    async close() {
      socket.close();
      child.kill('SIGTERM');
      await new Promise((resolve) =>
        child.exitCode !== null ? resolve(undefined) : child.once('exit', resolve),
      );
      rmSync(profile, { recursive: true, force: true });
    },
  };
}
