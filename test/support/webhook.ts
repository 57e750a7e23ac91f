/**
 * Helpers for tests of the webhook: start the real server in-process on free ports with a bundle in
 * a temporary directory, capture the decision log, and post AdmissionReviews over HTTPS trusting
 * the generated CA.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { request as httpsRequest } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import type { KubeObject } from '../../policies/engine/types.ts';
import type { RunningWebhook, StartWebhookOptions } from '../../webhook/src/webhook.ts';
import { startWebhook } from '../../webhook/src/webhook.ts';

/** A webhook started for a test, with its captured log lines. */
export interface TestWebhook {
  readonly webhook: RunningWebhook;
  readonly dir: string;
  readonly bundleFile: string;
  /** Parsed JSON log lines so far. */
  readonly logs: Array<Record<string, unknown>>;
  /** CA to trust (the generated one, unless TLS files were given). */
  ca: string;
  /** Posts a body to /validate; resolves with status and parsed (or raw) body (loosely typed for assertions). */
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- test helper: assertions read arbitrary response shapes
  post(body: unknown, options?: { raw?: boolean; ca?: string }): Promise<{ status: number; body: any }>;
  /** Fetches an ops endpoint. */
  ops(path: string): Promise<{ status: number; text: string }>;
  close(): Promise<void>;
}

/** Starts a webhook with `bundle` (YAML text) written to a temporary file. */
export async function startTestWebhook(
  bundle: string,
  options: Partial<StartWebhookOptions> = {},
): Promise<TestWebhook> {
  const dir = mkdtempSync(join(tmpdir(), 'tollgate-webhook-'));
  const bundleFile = join(dir, 'bundle.yaml');
  writeFileSync(bundleFile, bundle);
  const logs: Array<Record<string, unknown>> = [];
  const destination = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      for (const line of chunk.toString('utf8').split('\n'))
        if (line.trim()) logs.push(JSON.parse(line) as Record<string, unknown>);
      callback();
    },
  });
  const logger = pino({ level: 'info' }, destination);
  let webhook: RunningWebhook;
  try {
    webhook = await startWebhook({
      bundlePath: bundleFile,
      host: '127.0.0.1',
      port: 0,
      opsHost: '127.0.0.1',
      opsPort: 0,
      tls: { kind: 'self-signed', names: ['localhost', '127.0.0.1'] },
      timeoutSeconds: 10,
      failureAction: 'deny',
      reloadIntervalMs: 200,
      defaultMetrics: false,
      logger,
      ...options,
    });
  } catch (error) {
    rmSync(dir, { recursive: true, force: true });
    throw error;
  }
  const test: TestWebhook = {
    webhook,
    dir,
    bundleFile,
    logs,
    ca: webhook.caPem ?? '',
    post(body, postOptions = {}) {
      const payload = postOptions.raw ? String(body) : JSON.stringify(body);
      return new Promise((resolve, reject) => {
        const req = httpsRequest(
          {
            host: '127.0.0.1',
            port: webhook.port,
            path: '/validate',
            method: 'POST',
            ca: postOptions.ca ?? test.ca,
            servername: 'localhost',
            agent: false,
            headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) },
          },
          (res) => {
            const chunks: Buffer[] = [];
            res.on('data', (chunk: Buffer) => chunks.push(chunk));
            res.on('end', () => {
              const text = Buffer.concat(chunks).toString('utf8');
              let parsed: unknown = text;
              try {
                parsed = JSON.parse(text);
              } catch {
                // keep the text
              }
              resolve({ status: res.statusCode ?? 0, body: parsed });
            });
          },
        );
        req.on('error', reject);
        req.end(payload);
      });
    },
    async ops(path) {
      const res = await fetch(`http://127.0.0.1:${webhook.opsPort}${path}`);
      return { status: res.status, text: await res.text() };
    },
    async close() {
      await webhook.stop(1000);
      rmSync(dir, { recursive: true, force: true });
    },
  };
  return test;
}

/** Wraps an object as an AdmissionReview v1 for `resource` (e.g. `apps/v1/deployments`). */
export function admissionReview(
  object: KubeObject | undefined,
  options: {
    uid?: string;
    operation?: 'CREATE' | 'UPDATE' | 'DELETE' | 'CONNECT';
    oldObject?: KubeObject;
    resource?: string;
    subResource?: string;
    namespace?: string;
    dryRun?: boolean;
    username?: string;
  } = {},
): Record<string, unknown> {
  const source = object ?? options.oldObject;
  const [group, version] = String(source?.apiVersion ?? 'v1').includes('/')
    ? String(source?.apiVersion).split('/')
    : ['', String(source?.apiVersion ?? 'v1')];
  const kind = String(source?.kind ?? 'Pod');
  const resource = options.resource ?? `${kind.toLowerCase()}s`;
  const namespace = options.namespace ?? source?.metadata?.namespace;
  return {
    apiVersion: 'admission.k8s.io/v1',
    kind: 'AdmissionReview',
    request: {
      uid: options.uid ?? `uid-${Math.random().toString(16).slice(2)}`,
      kind: { group, version, kind },
      resource: { group, version, resource },
      ...(options.subResource ? { subResource: options.subResource } : {}),
      requestKind: { group, version, kind },
      requestResource: { group, version, resource },
      name: source?.metadata?.name ?? '',
      ...(namespace ? { namespace } : {}),
      operation: options.operation ?? 'CREATE',
      userInfo: { username: options.username ?? 'alice@example.com', groups: ['system:authenticated'] },
      object: options.operation === 'DELETE' ? null : (object ?? null),
      oldObject: options.oldObject ?? null,
      dryRun: options.dryRun ?? false,
      options: null,
    },
  };
}
