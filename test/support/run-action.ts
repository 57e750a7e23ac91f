/**
 * Test helper: runs the BUILT action (ci-action/dist/index.js) the way the runner does — the
 * project's Node 24, `INPUT_*` variables, and fresh GITHUB_STEP_SUMMARY / GITHUB_OUTPUT files —
 * and parses the workflow commands it prints.
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** Repository root. */
export const repoRoot = fileURLToPath(new URL('../../', import.meta.url));

/** The action entry point GitHub runs. */
export const distEntry = join(repoRoot, 'ci-action/dist/index.js');

/** The project's Node 24 (node_modules/.bin/node), else the running Node. */
export const projectNode = existsSync(join(repoRoot, 'node_modules/.bin/node'))
  ? join(repoRoot, 'node_modules/.bin/node')
  : process.execPath;

/** A workflow command the action printed. */
export interface WorkflowCommand {
  command: string;
  properties: Record<string, string>;
  message: string;
}

/** What one action run produced. */
export interface ActionRun {
  status: number | null;
  stdout: string;
  stderr: string;
  commands: WorkflowCommand[];
  annotations: WorkflowCommand[];
  summary: string;
  outputs: Record<string, string>;
}

/** Decodes workflow-command escaping (data: %25 %0D %0A; properties also %3A %2C). */
export function unescapeCommand(value: string): string {
  return value
    .replace(/%0D/g, '\r')
    .replace(/%0A/g, '\n')
    .replace(/%3A/g, ':')
    .replace(/%2C/g, ',')
    .replace(/%25/g, '%');
}

/** Parses `::name k=v,k=v::message` lines. */
export function parseCommands(stdout: string): WorkflowCommand[] {
  const commands: WorkflowCommand[] = [];
  for (const line of stdout.split(/\r?\n/)) {
    const match = /^::([a-z-]+)(?: ([^:]*))?::(.*)$/.exec(line);
    if (!match) continue;
    const properties: Record<string, string> = {};
    for (const pair of (match[2] ?? '').split(',')) {
      if (!pair) continue;
      const eq = pair.indexOf('=');
      properties[pair.slice(0, eq)] = unescapeCommand(pair.slice(eq + 1));
    }
    commands.push({ command: match[1]!, properties, message: unescapeCommand(match[3] ?? '') });
  }
  return commands;
}

/** Parses a GITHUB_OUTPUT file (`name<<delimiter` blocks). */
export function parseOutputs(text: string): Record<string, string> {
  const outputs: Record<string, string> = {};
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const match = /^([^<]+)<<(.+)$/.exec(lines[i] ?? '');
    if (!match) continue;
    const value: string[] = [];
    i++;
    while (i < lines.length && lines[i] !== match[2]) value.push(lines[i++] ?? '');
    outputs[match[1]!] = value.join('\n');
  }
  return outputs;
}

/** Runs the built action in `workspace` with the given inputs (names as in action.yml). */
export async function runAction(
  workspace: string,
  inputs: Record<string, string>,
  env: Record<string, string> = {},
): Promise<ActionRun> {
  const runner = await mkdtemp(join(tmpdir(), 'tollgate-runner-'));
  const summaryFile = join(runner, 'step_summary.md');
  const outputFile = join(runner, 'output.txt');
  await writeFile(summaryFile, '');
  await writeFile(outputFile, '');
  // Tests never reach real registries: offline unless a test says otherwise.
  const inputEnv: Record<string, string> = { INPUT_OFFLINE: 'true' };
  for (const [name, value] of Object.entries(inputs))
    inputEnv[`INPUT_${name.replace(/ /g, '_').toUpperCase()}`] = value;
  const result = spawnSync(projectNode, [distEntry], {
    cwd: workspace,
    encoding: 'utf8',
    timeout: 120_000,
    env: {
      PATH: process.env.PATH ?? '',
      HOME: process.env.HOME ?? runner,
      GITHUB_ACTIONS: 'true',
      GITHUB_WORKSPACE: workspace,
      GITHUB_STEP_SUMMARY: summaryFile,
      GITHUB_OUTPUT: outputFile,
      RUNNER_TEMP: runner,
      GITHUB_SERVER_URL: 'https://github.com',
      GITHUB_REPOSITORY: 'acme/erp-platform',
      GITHUB_SHA: '0123456789abcdef0123456789abcdef01234567',
      ...inputEnv,
      ...env,
    },
  });
  const commands = parseCommands(result.stdout);
  return {
    status: result.status,
    stdout: result.stdout,
    stderr: result.stderr,
    commands,
    annotations: commands.filter(
      (c) => ['error', 'warning', 'notice'].includes(c.command) && c.properties.file,
    ),
    summary: await readFile(summaryFile, 'utf8'),
    outputs: parseOutputs(await readFile(outputFile, 'utf8')),
  };
}
