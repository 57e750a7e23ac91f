import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadCheckpointKey } from '../../io/decision-log/checkpoint.ts';
import { verifyLogs } from '../../io/decision-log/verify.ts';
import { parseTrustedKeys } from '../../io/signing/bundle-signature.ts';
import { publicJwksFor } from '../../io/signing/signing.ts';
import {
  breakGlassDemoBundle,
  breakGlassToken,
  inNovemberClose,
  productionNamespaces,
  releaseDeployment,
} from '../../test/support/break-glass.ts';
import { admissionReview } from '../../test/support/webhook.ts';
import { createDecisionLog } from './decision-log.ts';
import { startWebhook } from './webhook.ts';

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'tollgate-decision-log-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Posts a review to the running webhook and returns whether it was allowed. */
async function post(port: number, ca: string, body: unknown): Promise<boolean> {
  const { request } = await import('node:https');
  const payload = JSON.stringify(body);
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: '127.0.0.1',
        port,
        path: '/validate',
        method: 'POST',
        ca,
        servername: 'localhost',
        agent: false,
      },
      (res) => {
        let text = '';
        res.on('data', (chunk: Buffer) => (text += chunk.toString()));
        res.on('end', () =>
          resolve((JSON.parse(text) as { response: { allowed: boolean } }).response.allowed),
        );
      },
    );
    req.on('error', reject);
    req.end(payload);
  });
}

describe('the webhook’s hash-chained decision log', () => {
  it('chains every decision, records break-glass approvals, closes on stop and verifies', async () => {
    const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    writeFileSync(join(dir, 'checkpoint.pem'), privateKey.export({ format: 'pem', type: 'pkcs8' }));
    const key = await loadCheckpointKey(join(dir, 'checkpoint.pem'));
    const logFile = join(dir, 'decisions.log');
    const webhook = await startWebhook({
      bundlePath: fileURLToPath(breakGlassDemoBundle),
      host: '127.0.0.1',
      port: 0,
      opsHost: '127.0.0.1',
      opsPort: 0,
      tls: { kind: 'self-signed', names: ['localhost', '127.0.0.1'] },
      timeoutSeconds: 10,
      failureAction: 'deny',
      reloadIntervalMs: 200,
      defaultMetrics: false,
      now: inNovemberClose,
      namespaceLookup: productionNamespaces(['erp-prod']),
      decisionLog: { file: logFile, key, every: 2, writer: 'tollgate-webhook-0:1:test' },
    });
    const token = await breakGlassToken({ namespace: 'erp-prod', name: 'odoo' });
    const update = (object: ReturnType<typeof releaseDeployment>) =>
      admissionReview(object, {
        operation: 'UPDATE',
        oldObject: releaseDeployment('erp-prod', 'odoo'),
        resource: 'deployments',
        username: 'alice@corp.example',
      });
    try {
      const ca = webhook.caPem ?? '';
      const release = (namespace: string, withToken = false) =>
        update(releaseDeployment(namespace, 'odoo', withToken ? token : undefined, '17.1'));
      expect(await post(webhook.port, ca, release('erp-prod'))).toBe(false);
      expect(await post(webhook.port, ca, release('erp-prod', true))).toBe(true);
      expect(await post(webhook.port, ca, release('erp-dev'))).toBe(true);
    } finally {
      await webhook.stop(1000);
    }
    const text = readFileSync(logFile, 'utf8');
    const lines = text
      .trimEnd()
      .split('\n')
      .map((line) => JSON.parse(line) as Record<string, unknown>);
    expect(lines[0]).toMatchObject({
      event: 'log-start',
      seq: 1,
      prev: null,
      writer: 'tollgate-webhook-0:1:test',
    });
    expect(lines.at(-1)).toMatchObject({ event: 'checkpoint', final: true });
    const decisions = lines.filter((line) => line['event'] === 'decision');
    expect(decisions.map((line) => line['decision'])).toEqual(['deny', 'allow', 'allow']);
    expect(
      decisions.every((line) => typeof line['seq'] === 'number' && typeof line['prev'] === 'string'),
    ).toBe(true);
    const freeze = (decisions[1]?.['policies'] as Array<Record<string, unknown>>).find(
      (policy) => policy['policy'] === 'freeze-windows',
    );
    expect(freeze?.['breakGlass']).toEqual({
      ticket: 'INC-4711',
      requester: 'alice@corp.example',
      approvers: ['controller-de@corp.example', 'cfo@corp.example'],
      reason: 'payment run fails during the close',
      expires: new Date(inNovemberClose.getTime() + 4 * 3600_000).toISOString(),
      scope: { namespaces: ['erp-prod'], kinds: ['Deployment'], names: ['odoo'] },
      windows: ['month-end-close/de-gmbh', 'month-end-close/us-inc'],
    });
    // No object contents, tokens or signatures of the approval in the log.
    expect(text).not.toContain('hunter2');
    expect(text).not.toContain(JSON.parse(token).payload as string);
    expect(text).not.toContain('signatures');
    const trusted = await parseTrustedKeys(JSON.stringify(await publicJwksFor(key.key)), 'checkpoint.jwks');
    const result = await verifyLogs([{ name: logFile }], { trusted });
    expect(result.breaks).toEqual([]);
    expect(result.ok).toBe(true);
    expect(result.writers[0]).toMatchObject({ closed: true, keyIds: [key.kid] });
    expect(result.writers[0]?.signedCheckpoints).toBe(result.writers[0]?.checkpoints);
    expect(result.writers[0]?.checkpoints).toBeGreaterThanOrEqual(2);
  });

  it('has each decision in the file when decision() returns, before the next request is read', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tollgate-sync-'));
    try {
      const logFile = join(dir, 'decisions.log');
      const log = createDecisionLog({ file: logFile });
      for (const uid of ['u-1', 'u-2', 'u-3']) {
        log.decision({ event: 'decision', uid, decision: 'allow' });
        // no await in between: nothing is left for a later turn of the event loop to write
        expect(readFileSync(logFile, 'utf8')).toContain(`"uid":"${uid}"`);
      }
      await log.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('closes with its checkpoint last after a burst of lines', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tollgate-close-'));
    try {
      const logFile = join(dir, 'burst.log');
      const log = createDecisionLog({ file: logFile });
      // A burst of lines, then close(): the closing checkpoint comes after all of them.
      for (let i = 0; i < 5000; i++) log.logger.info({ event: 'burst', i }, 'burst');
      await log.close();
      const lines = readFileSync(logFile, 'utf8').trimEnd().split('\n');
      expect(lines.filter((line) => line.includes('"event":"burst"'))).toHaveLength(5000);
      expect(JSON.parse(lines.at(-1) ?? '{}')).toMatchObject({ event: 'checkpoint', final: true });
      const result = await verifyLogs([{ name: logFile }]);
      expect(result.breaks).toEqual([]);
      expect(result.writers[0]).toMatchObject({ closed: true });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('writes a decision line as pino would write it at info, interleaved in one chain', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tollgate-decision-'));
    try {
      const logFile = join(dir, 'decisions.log');
      const log = createDecisionLog({ file: logFile });
      const line = {
        event: 'decision',
        uid: 'u-1',
        user: 'alice "the admin" \\ ünïcode',
        resource: { group: 'apps', version: 'v1', resource: 'deployments' },
        policies: [{ policy: 'p', version: '1.0.0', status: 'fail', fields: ['spec.x[0]'] }],
        skipped: undefined,
        durationMs: 1.25,
      };
      log.logger.info(line, 'decision');
      log.decision(line);
      log.logger.warn({ event: 'between' }, 'between');
      log.decision({ ...line, uid: 'u-2' });
      await log.close();
      const lines = readFileSync(logFile, 'utf8').trimEnd().split('\n');
      const [viaPino, direct, between, second] = lines
        .slice(1, 5)
        .map((text) => JSON.parse(text) as Record<string, unknown>);
      const strip = (record: Record<string, unknown> | undefined) => {
        const { time, seq, prev, ...rest } = record ?? {};
        return { rest, time, seq, prev };
      };
      expect(Object.keys(direct ?? {})).toEqual(Object.keys(viaPino ?? {}));
      expect(strip(direct).rest).toEqual(strip(viaPino).rest);
      expect(strip(direct).time).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
      expect([viaPino, direct, between, second].map((record) => record?.['seq'])).toEqual([2, 3, 4, 5]);
      expect(second).toMatchObject({ uid: 'u-2', msg: 'decision', level: 30 });
      const result = await verifyLogs([{ name: logFile }]);
      expect(result.breaks).toEqual([]);
      expect(result.writers[0]).toMatchObject({ closed: true });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('writes no decision line when the log level leaves out info, as pino would not', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tollgate-decision-'));
    try {
      const logFile = join(dir, 'decisions.log');
      const log = createDecisionLog({ file: logFile, level: 'warn' });
      log.decision({ event: 'decision', uid: 'u-1' });
      log.logger.info({ event: 'decision', uid: 'u-2' }, 'decision');
      await log.close();
      expect(readFileSync(logFile, 'utf8')).not.toMatch(/"uid"/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
