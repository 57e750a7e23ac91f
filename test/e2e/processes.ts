import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, mkdirSync, openSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * A child process the e2e harness started. Every one is recorded by PID, in memory and in a PID file,
 * so it is killed at teardown, on the test runner's exit or signals, and — if the runner itself was
 * killed — by the next run's {@link reapOrphans}.
 */
export interface ManagedProcess {
  readonly name: string;
  readonly pid: number;
  readonly logFile: string;
  /** Resolves with the exit code (or signal) once the process has exited. */
  readonly exited: Promise<string>;
  /** True until the process exits. */
  running(): boolean;
  /** SIGTERM, then SIGKILL after `graceMs`; resolves when the process is gone. */
  stop(graceMs?: number): Promise<void>;
}

/** How to start a managed process. */
export interface StartOptions {
  readonly name: string;
  readonly command: string;
  readonly args: readonly string[];
  /** stdout and stderr go here, to read when a start-up fails. */
  readonly logFile: string;
  readonly env?: NodeJS.ProcessEnv;
  readonly cwd?: string;
}

const PID_DIR = join(tmpdir(), 'tollgate-e2e-pids');
const live = new Map<number, ChildProcess>();
let handlersInstalled = false;

function pidFile(pid: number): string {
  return join(PID_DIR, `${pid}.json`);
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

function killNow(pid: number): void {
  try {
    process.kill(pid, 'SIGKILL');
  } catch {
    // already gone
  }
  rmSync(pidFile(pid), { force: true });
}

/** Kills, synchronously, every process this runner started that is still alive. */
export function killAllNow(): void {
  for (const pid of live.keys()) killNow(pid);
  live.clear();
}

function installExitHandlers(): void {
  if (handlersInstalled) return;
  handlersInstalled = true;
  process.on('exit', killAllNow);
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.once(signal, () => {
      killAllNow();
      process.kill(process.pid, signal);
    });
  }
}

/**
 * Kills processes recorded by an earlier run whose runner is gone (e.g. it was SIGKILLed), checking
 * that the PID still runs the same binary before killing it.
 */
export function reapOrphans(): void {
  let entries: string[];
  try {
    entries = readdirSync(PID_DIR);
  } catch {
    return;
  }
  for (const entry of entries) {
    const file = join(PID_DIR, entry);
    try {
      const record = JSON.parse(readFileSync(file, 'utf8')) as {
        pid: number;
        owner: number;
        command: string;
      };
      if (isAlive(record.owner)) continue;
      let cmdline = '';
      try {
        cmdline = readFileSync(`/proc/${record.pid}/cmdline`, 'utf8').split('\0')[0] ?? '';
      } catch {
        // not running any more
      }
      if (cmdline === record.command) process.kill(record.pid, 'SIGKILL');
      rmSync(file, { force: true });
    } catch {
      rmSync(file, { force: true });
    }
  }
}

/** Starts a process with its output in `logFile` and registers it for teardown by PID. */
export function startProcess(options: StartOptions): ManagedProcess {
  installExitHandlers();
  mkdirSync(PID_DIR, { recursive: true });
  const out = openSync(options.logFile, 'a');
  const child = spawn(options.command, [...options.args], {
    stdio: ['ignore', out, out],
    env: options.env ?? process.env,
    cwd: options.cwd,
  });
  closeSync(out);
  const pid = child.pid;
  if (pid === undefined) throw new Error(`could not start ${options.name} (${options.command})`);
  live.set(pid, child);
  writeFileSync(pidFile(pid), JSON.stringify({ pid, owner: process.pid, command: options.command }));
  let alive = true;
  const exited = new Promise<string>((resolve) => {
    child.once('exit', (code, signal) => {
      alive = false;
      live.delete(pid);
      rmSync(pidFile(pid), { force: true });
      resolve(signal ?? `exit code ${String(code)}`);
    });
    child.once('error', (error) => {
      alive = false;
      live.delete(pid);
      rmSync(pidFile(pid), { force: true });
      resolve(`spawn error: ${error.message}`);
    });
  });
  return {
    name: options.name,
    pid,
    logFile: options.logFile,
    exited,
    running: () => alive,
    async stop(graceMs = 10_000): Promise<void> {
      if (!alive) return;
      try {
        process.kill(pid, 'SIGTERM');
      } catch {
        // already gone
      }
      const timer = setTimeout(() => killNow(pid), graceMs);
      await exited;
      clearTimeout(timer);
    },
  };
}

/** The last `lines` lines of a log file, to put in an error message. */
export function logTail(logFile: string, lines = 30): string {
  try {
    return readFileSync(logFile, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
  } catch {
    return '(no log)';
  }
}
