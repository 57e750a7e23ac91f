/**
 * The pull-request workflow in the README's tour and in docs/github-action.md is meant to be copied
 * as is: it must parse, pass only inputs the action declares, check out full history for the
 * baseline, and upload the SARIF it writes. Both copies are checked.
 */
import { readFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { repoRoot } from '../../test/support/run-action.ts';

interface Step {
  uses?: string;
  with?: Record<string, unknown>;
  if?: string;
}

describe.each(['README.md', 'docs/github-action.md'])('the workflow in %s', async (page) => {
  const markdown = await readFile(`${repoRoot}${page}`, 'utf8');
  const blocks = [...markdown.matchAll(/```yaml\n([\s\S]*?)```/g)].map((match) => match[1] ?? '');
  const block = blocks.find((text) => text.includes('/ci-action@')) ?? '';
  const workflow = parse(block) as {
    on: Record<string, unknown>;
    permissions: Record<string, string>;
    jobs: Record<string, { steps: Step[] }>;
  };
  const action = parse(await readFile(`${repoRoot}ci-action/action.yml`, 'utf8')) as {
    inputs: Record<string, unknown>;
    runs: { using: string; main: string };
  };
  const steps = Object.values(workflow.jobs)[0]?.steps ?? [];

  it('runs on pull requests with the permissions the steps need', () => {
    expect(Object.keys(workflow.on)).toContain('pull_request');
    expect(workflow.permissions).toMatchObject({
      contents: 'read',
      'pull-requests': 'read',
      'security-events': 'write',
    });
  });

  it('checks out full history and passes only declared inputs, with the PR base as baseline', () => {
    expect(steps[0]?.uses).toMatch(/^actions\/checkout@/);
    expect(steps[0]?.with?.['fetch-depth']).toBe(0);
    const gate = steps.find((s) => s.uses?.includes('/ci-action@'));
    expect(gate).toBeDefined();
    for (const name of Object.keys(gate?.with ?? {})) expect(Object.keys(action.inputs)).toContain(name);
    expect(gate?.with?.baseline).toBe('${{ github.event.pull_request.base.sha }}');
  });

  it('uploads the SARIF file the gate writes', () => {
    const gate = steps.find((s) => s.uses?.includes('/ci-action@'));
    const upload = steps.find((s) => s.uses?.startsWith('github/codeql-action/upload-sarif@'));
    expect(upload?.with?.sarif_file).toBe(gate?.with?.['sarif-file']);
    expect(upload?.if).toContain('!cancelled()');
  });

  it('matches action.yml: node24 running the committed dist', () => {
    expect(action.runs).toEqual({ using: 'node24', main: 'dist/index.js' });
  });
});
