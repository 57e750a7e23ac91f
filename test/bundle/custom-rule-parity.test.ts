/**
 * A custom rule declared in a bundle is enforced identically by `tollgate check` (CI) and by the
 * real webhook (`tollgate serve`, AdmissionReview over HTTPS), with its controls in the JSON report,
 * the text report and the decision log.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { main } from '../../cli/main.ts';
import type { KubeObject } from '../../policies/engine/types.ts';
import { startTestWebhook } from '../support/webhook.ts';
import type { TestWebhook } from '../support/webhook.ts';

const root = fileURLToPath(new URL('../..', import.meta.url));
const samples = join(root, 'policies', 'custom-rules', 'samples');
const bundleText = readFileSync(join(samples, 'bundle.yaml'), 'utf8');
const files = ['allowed', 'denied'].flatMap((dir) =>
  readdirSync(join(samples, dir)).map((file) => `policies/custom-rules/samples/${dir}/${file}`),
);

async function cli(args: string[]) {
  let stdout = '';
  const code = await main(args, {
    stdout: (t) => void (stdout += t),
    stderr: () => undefined,
    stdin: async () => '',
    cwd: root,
    env: {},
  });
  return { code, stdout };
}

const resources: Record<string, string> = {
  Deployment: 'deployments',
  StatefulSet: 'statefulsets',
  Pod: 'pods',
};

function review(object: KubeObject, uid: string) {
  const [group, version] = (object.apiVersion ?? '').includes('/')
    ? (object.apiVersion ?? '').split('/')
    : ['', object.apiVersion ?? ''];
  return {
    apiVersion: 'admission.k8s.io/v1',
    kind: 'AdmissionReview',
    request: {
      uid,
      kind: { group, version, kind: object.kind },
      resource: { group, version, resource: resources[object.kind ?? ''] ?? 'unknown' },
      namespace: object.metadata?.namespace,
      name: object.metadata?.name,
      operation: 'CREATE',
      userInfo: { username: 'alice@corp.example', groups: ['system:authenticated'] },
      object,
      dryRun: false,
      options: { apiVersion: 'meta.k8s.io/v1', kind: 'CreateOptions' },
    },
  };
}

describe('custom rules: CI and admission parity', () => {
  let webhook: TestWebhook;
  beforeAll(async () => {
    webhook = await startTestWebhook(bundleText);
  });
  afterAll(async () => {
    await webhook?.close();
  });

  it('every sample gets the same decision, statuses and finding paths from tollgate check and the webhook', async () => {
    const bundleArg = join(samples, 'bundle.yaml');
    const { stdout } = await cli(['check', ...files, '--bundle', bundleArg, '--format', 'json']);
    const report = JSON.parse(stdout) as {
      resources: Array<{
        file: string;
        decision: string;
        results: Array<{
          policy: string;
          status: string;
          version: string;
          controls?: string[];
          findings: Array<{ path: string }>;
        }>;
      }>;
    };
    expect(report.resources).toHaveLength(files.length);
    let denied = 0;
    for (const [index, file] of files.entries()) {
      const ci = report.resources.find((r) => r.file === file);
      if (!ci) throw new Error(`no CI result for ${file}`);
      expect(ci.decision, file).toBe(file.includes('/denied/') ? 'deny' : 'allow');
      const object = parse(readFileSync(join(root, file), 'utf8')) as KubeObject;
      const uid = `00000000-0000-4000-8000-${String(index).padStart(12, '0')}`;
      const answer = await webhook.post(review(object, uid));
      expect(answer.status).toBe(200);
      expect(answer.body.response.allowed, file).toBe(ci.decision === 'allow');
      if (ci.decision === 'deny') {
        denied++;
        for (const result of ci.results.filter((r) => r.status === 'fail'))
          for (const finding of result.findings)
            expect(answer.body.response.status.message).toContain(finding.path);
      }
      const line = webhook.logs.find((l) => l.uid === uid) as
        | {
            policies: Array<{
              policy: string;
              version: string;
              status: string;
              fields?: string[];
              controls?: string[];
            }>;
          }
        | undefined;
      expect(line, `decision log for ${file}`).toBeDefined();
      for (const result of ci.results) {
        const logged = line?.policies.find((p) => p.policy === result.policy);
        expect(logged?.status, `${file} ${result.policy}`).toBe(result.status);
        expect(logged?.fields ?? []).toEqual(result.findings.map((f) => f.path));
        expect(logged?.controls).toEqual(result.controls);
        expect(logged?.version, `${file} ${result.policy} version`).toBe(result.version);
        expect(result.version).toMatch(/^\d+\.\d+\.\d+$/);
      }
    }
    expect(denied).toBeGreaterThan(0);
  });

  it('controls of a custom rule appear in the text report', async () => {
    const { code, stdout } = await cli([
      'check',
      'policies/custom-rules/samples/denied/missing-cost-center.yaml',
      '--bundle',
      join(samples, 'bundle.yaml'),
    ]);
    expect(code).toBe(1);
    expect(stdout).toContain('deny cost-center-label Deployment/odoo-web in tenant-acme');
    expect(stdout).toContain('  controls: SOX-ITGC-CM-02');
  });
});
