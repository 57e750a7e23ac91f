/**
 * CI runs in the decision log: `tollgate check --decision-log` and the Action's `decision-log` input
 * append hash-chained lines (one per judged manifest, then the run) with GitHub's context and no
 * manifest contents; `tollgate evidence verify` and `evidence report` read them beside the webhook's
 * log and show the CI decisions per control.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { main } from '../../cli/main.ts';
import type { CommandIO } from '../../cli/io.ts';
import type { EvidenceReport } from '../../evidence/report.ts';
import { generateDecisionMonth } from '../support/decision-month.ts';
import { repoRoot, runAction } from '../support/run-action.ts';

let dir: string;

const github = {
  GITHUB_ACTIONS: 'true',
  GITHUB_REPOSITORY: 'acme/erp-platform',
  GITHUB_REF: 'refs/pull/42/merge',
  GITHUB_SHA: 'feedc0de'.repeat(5),
  GITHUB_ACTOR: 'bob',
  GITHUB_WORKFLOW: 'policy',
  GITHUB_RUN_ID: '777',
  GITHUB_RUN_ATTEMPT: '2',
  GITHUB_EVENT_NAME: 'pull_request',
  GITHUB_TOKEN: 'ghs_secret-token-never-logged',
};

async function tollgate(
  args: string[],
  env: Record<string, string> = {},
): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  const io: CommandIO = {
    stdout: (text) => void (stdout += text),
    stderr: (text) => void (stderr += text),
    stdin: async () => '',
    cwd: repoRoot,
    env,
  };
  return { code: await main(args, io), stdout, stderr };
}

const lines = (file: string) =>
  readFileSync(file, 'utf8')
    .trimEnd()
    .split('\n')
    .map((line) => JSON.parse(line) as Record<string, unknown>);

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'tollgate-ci-log-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('tollgate check --decision-log', () => {
  it('appends one chained line per judged manifest and the run, with the CI context and no contents', async () => {
    const log = join(dir, 'check.log');
    const run = await tollgate(['check', 'examples/', '--offline', '--decision-log', log], github);
    expect(run.code).toBe(1);
    const written = lines(log);
    const decisions = written.filter((line) => line['event'] === 'decision');
    const json = await tollgate(['check', 'examples/', '--offline', '--format', 'json']);
    const checked = JSON.parse(json.stdout) as { summary: { resources: number; denied: number } };
    expect(decisions).toHaveLength(checked.summary.resources);
    expect(decisions.filter((line) => line['decision'] === 'deny')).toHaveLength(checked.summary.denied);
    const ci = {
      provider: 'github',
      repository: 'acme/erp-platform',
      ref: 'refs/pull/42/merge',
      commit: github.GITHUB_SHA,
      actor: 'bob',
      workflow: 'policy',
      run: '777/2',
      trigger: 'pull_request',
    };
    for (const line of decisions) {
      expect(line).toMatchObject({ source: 'ci', ci, writer: written[0]?.['writer'] });
      expect(line['file']).toMatch(/^examples\/(allowed|denied)\/.+\.yaml$/);
    }
    expect(written.at(-2)).toMatchObject({
      event: 'ci-run',
      resources: checked.summary.resources,
      denied: checked.summary.denied,
      result: 'fail',
      ci,
    });
    expect(written.at(-1)).toMatchObject({ event: 'checkpoint', final: true });
    const text = readFileSync(log, 'utf8');
    // No object contents (images, ports, environment) and no token.
    for (const manifest of ['examples/denied/odoo-unapproved-images.yaml']) {
      const image = /image:\s*(\S+)/.exec(readFileSync(join(repoRoot, manifest), 'utf8'))?.[1] ?? '';
      expect(image).not.toBe('');
      expect(text).not.toContain(image);
    }
    expect(text).not.toContain('ghs_secret');
  });

  it('is read with the webhook’s log: verified, and CI decisions shown per control', async () => {
    const log = join(dir, 'mixed-ci.log');
    expect((await tollgate(['check', 'examples/', '--offline', '--decision-log', log], github)).code).toBe(1);
    expect((await tollgate(['check', 'examples/allowed', '--offline', '--decision-log', log])).code).toBe(0);
    const now = Date.now();
    const month = generateDecisionMonth({
      dir: join(dir, 'webhook'),
      decisions: 400,
      from: new Date(now - 5 * 86_400_000),
      days: 5,
    });
    const logs = [...month.files, log];
    const verify = await tollgate(['evidence', 'verify', ...logs]);
    expect(verify.stdout).toMatch(/VERIFIED/);
    expect(verify.code).toBe(0);
    const day = (ms: number) => new Date(ms).toISOString().slice(0, 10);
    const out = join(dir, 'out');
    const report = await tollgate([
      'evidence',
      'report',
      '--from',
      day(now - 6 * 86_400_000),
      '--to',
      day(now + 86_400_000),
      '--logs',
      ...logs,
      '--format',
      'json',
      '--out',
      out,
    ]);
    expect(report.code).toBe(0);
    const evidence = JSON.parse(readFileSync(join(out, 'evidence-report.json'), 'utf8')) as EvidenceReport;
    const ciLines = lines(log).filter((line) => line['event'] === 'decision');
    expect(evidence.summary.sources.admission.decisions).toBe(400);
    expect(evidence.summary.sources.ci.decisions).toBe(ciLines.length);
    expect(evidence.ciRuns.map((r) => [r.ci.repository ?? '(local)', r.result])).toEqual([
      ['acme/erp-platform', 'fail'],
      ['(local)', 'pass'],
    ]);
    // Without GitHub's environment the commit is the checkout's HEAD.
    expect(evidence.ciRuns[1]?.ci.commit).toMatch(/^[0-9a-f]{40}$/);
    const registries = evidence.controls.find((control) => control.id === 'PCI-DSS-6.3.2');
    const deniedForRegistries = ciLines.filter(
      (line) =>
        line['decision'] === 'deny' &&
        (line['policies'] as Array<{ status: string; action: string; controls?: string[] }>).some(
          (p) => p.status === 'fail' && p.action === 'deny' && p.controls?.includes('PCI-DSS-6.3.2'),
        ),
    );
    expect(deniedForRegistries.length).toBeGreaterThan(0);
    expect(registries?.sources.ci.denied).toBe(deniedForRegistries.length);
    expect(evidence.denials.filter((d) => d.source === 'ci')).toHaveLength(
      ciLines.filter((line) => line['decision'] === 'deny').length,
    );
  });

  it('refuses --checkpoint-key without --decision-log, and an unopenable log names the file', async () => {
    expect(await tollgate(['check', 'examples/allowed', '--checkpoint-key', 'k.pem'])).toMatchObject({
      code: 2,
      stderr: expect.stringMatching(/--checkpoint-key and --writer-id take effect only with --decision-log/),
    });
    const blocked = join(dir, 'a-file');
    writeFileSync(blocked, '');
    expect(
      await tollgate(['check', 'examples/allowed', '--offline', '--decision-log', join(blocked, 'x.log')]),
    ).toMatchObject({
      code: 2,
      stderr: expect.stringMatching(/x\.log: cannot open the decision log/),
    });
  });
});

describe('the Action’s decision-log input', () => {
  it('appends the run to the log with the workflow’s context', async () => {
    const log = join(dir, 'action.log');
    const run = await runAction(
      repoRoot,
      { paths: 'examples/allowed', token: '', 'decision-log': log },
      { GITHUB_ACTOR: 'carol', GITHUB_RUN_ID: '31', GITHUB_REF: 'refs/heads/main' },
    );
    expect(run.status).toBe(0);
    const written = lines(log);
    // examples/allowed: the tenant Namespace with its ResourceQuota and LimitRange, the Deployment, the Service.
    const checked = JSON.parse(
      (await tollgate(['check', 'examples/allowed', '--offline', '--format', 'json'])).stdout,
    ) as { summary: { resources: number } };
    expect(checked.summary.resources).toBeGreaterThan(0);
    expect(written.filter((line) => line['event'] === 'decision')).toHaveLength(checked.summary.resources);
    expect(written.at(-2)).toMatchObject({
      event: 'ci-run',
      result: 'pass',
      ci: {
        provider: 'github',
        repository: 'acme/erp-platform',
        ref: 'refs/heads/main',
        commit: '0123456789abcdef0123456789abcdef01234567',
        actor: 'carol',
        run: '31/1',
      },
    });
    expect((await tollgate(['evidence', 'verify', log])).code).toBe(0);
  });
});
