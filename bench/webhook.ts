/**
 * Webhook load: the real `tollgate serve` process (finance baseline, decision log written to a file)
 * against a no-op express 5 HTTPS handler in another process, same machine, same ~5 KB
 * AdmissionReview (a two-container Deployment), same TLS certificate, both loaded by autocannon.
 * Prints the throughput ratio (target >= 0.85), p50/p99 at a fixed 1,000 req/s (target p99 <=
 * 10 ms), and the webhook's RSS sampled during the fixed-rate load (target <= 150 MB, flat).
 *
 *   npx node bench/webhook.ts [--duration SECONDS] [--rate N] [--connections N] [--soak SECONDS]
 *
 * --duration is each throughput and latency phase (default 10 s); --soak is the fixed-rate phase
 * that RSS is sampled over (default 30 s; the issue's figure is `--soak 300`); --node-options sets
 * NODE_OPTIONS for the webhook process (e.g. `--max-old-space-size=96 --max-semi-space-size=4`).
 */
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, request as httpsRequest } from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import autocannon from 'autocannon';
import express from 'express';
import { generateSelfSigned } from '../webhook/src/tls.ts';

const root = resolve(fileURLToPath(new URL('.', import.meta.url)), '..');

/** The no-op server mode: express 5 over HTTPS, JSON body parsed, uid echoed, always allowed. */
async function serveNoop(certFile: string, keyFile: string): Promise<void> {
  const app = express();
  app.disable('x-powered-by');
  app.post('/validate', express.json({ limit: 7 * 1024 * 1024, type: () => true }), (req, res) => {
    const uid = (req.body as { request?: { uid?: string } }).request?.uid ?? '';
    res.json({
      apiVersion: 'admission.k8s.io/v1',
      kind: 'AdmissionReview',
      response: { uid, allowed: true },
    });
  });
  const server = createServer(
    { cert: readFileSync(certFile), key: readFileSync(keyFile), minVersion: 'TLSv1.2' },
    app,
  );
  server.keepAliveTimeout = 65_000;
  server.listen(0, '127.0.0.1', () => {
    process.stderr.write(`noop listening on ${(server.address() as AddressInfo).port}\n`);
  });
  process.once('SIGTERM', () => server.close(() => process.exit(0)));
}

const container = (name: string, image: string, port: number) => ({
  name,
  image,
  imagePullPolicy: 'IfNotPresent',
  ports: [{ containerPort: port, name: 'http', protocol: 'TCP' }],
  env: [
    { name: 'DB_HOST', value: 'postgres-rw.tenant-acme.svc' },
    { name: 'DB_PORT', value: '5432' },
    { name: 'DB_USER', valueFrom: { secretKeyRef: { name: 'odoo-db', key: 'username' } } },
    { name: 'DB_PASSWORD', valueFrom: { secretKeyRef: { name: 'odoo-db', key: 'password' } } },
    { name: 'ODOO_WORKERS', value: '4' },
  ],
  resources: { requests: { cpu: '500m', memory: '1Gi' }, limits: { memory: '2Gi' } },
  readinessProbe: { httpGet: { path: '/web/health', port }, periodSeconds: 10 },
  livenessProbe: { httpGet: { path: '/web/health', port }, periodSeconds: 20, failureThreshold: 6 },
  securityContext: {
    runAsNonRoot: true,
    runAsUser: 101,
    allowPrivilegeEscalation: false,
    readOnlyRootFilesystem: true,
    capabilities: { drop: ['ALL'] },
    seccompProfile: { type: 'RuntimeDefault' },
  },
  volumeMounts: [
    { name: 'data', mountPath: '/var/lib/odoo' },
    { name: 'config', mountPath: '/etc/odoo', readOnly: true },
  ],
});

/** A realistic AdmissionReview: CREATE of a two-container Odoo Deployment, about 5 KB. */
export function sampleReview(): Record<string, unknown> {
  const labels = { 'app.kubernetes.io/name': 'odoo', 'app.kubernetes.io/instance': 'acme', tier: 'erp' };
  const object = {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: {
      name: 'odoo',
      namespace: 'tenant-acme',
      labels: { ...labels, 'app.kubernetes.io/version': '17.0', 'app.kubernetes.io/managed-by': 'Helm' },
      annotations: { 'meta.helm.sh/release-name': 'acme', 'meta.helm.sh/release-namespace': 'tenant-acme' },
    },
    spec: {
      replicas: 2,
      revisionHistoryLimit: 5,
      strategy: { type: 'RollingUpdate', rollingUpdate: { maxSurge: 1, maxUnavailable: 0 } },
      selector: { matchLabels: labels },
      template: {
        metadata: { labels, annotations: { 'checksum/config': 'a'.repeat(64) } },
        spec: {
          serviceAccountName: 'odoo',
          automountServiceAccountToken: false,
          securityContext: { fsGroup: 101, runAsNonRoot: true },
          containers: [
            container('odoo', 'registry.corp.example/erp/odoo:17.0', 8069),
            container('log-shipper', 'registry.corp.example/platform/fluent-bit:3.1', 2020),
          ],
          volumes: [
            { name: 'data', persistentVolumeClaim: { claimName: 'odoo-data' } },
            { name: 'config', configMap: { name: 'odoo-config' } },
          ],
          affinity: {
            podAntiAffinity: {
              preferredDuringSchedulingIgnoredDuringExecution: [
                {
                  weight: 100,
                  podAffinityTerm: {
                    topologyKey: 'kubernetes.io/hostname',
                    labelSelector: { matchLabels: labels },
                  },
                },
              ],
            },
          },
          topologySpreadConstraints: [
            {
              maxSkew: 1,
              topologyKey: 'topology.kubernetes.io/zone',
              whenUnsatisfiable: 'ScheduleAnyway',
              labelSelector: { matchLabels: labels },
            },
          ],
        },
      },
    },
  };
  return {
    apiVersion: 'admission.k8s.io/v1',
    kind: 'AdmissionReview',
    request: {
      uid: '0df28fbd-5f5f-4a23-9c2a-5b4f2d1c2e11',
      kind: { group: 'apps', version: 'v1', kind: 'Deployment' },
      resource: { group: 'apps', version: 'v1', resource: 'deployments' },
      requestKind: { group: 'apps', version: 'v1', kind: 'Deployment' },
      requestResource: { group: 'apps', version: 'v1', resource: 'deployments' },
      name: 'odoo',
      namespace: 'tenant-acme',
      operation: 'CREATE',
      userInfo: {
        username: 'system:serviceaccount:argocd:argocd-application-controller',
        uid: '7b1c8f0e-2f4e-4f55-8a51-0f6c1b9f3c77',
        groups: ['system:serviceaccounts', 'system:serviceaccounts:argocd', 'system:authenticated'],
      },
      object,
      oldObject: null,
      dryRun: false,
      options: { apiVersion: 'meta.k8s.io/v1', kind: 'CreateOptions', fieldManager: 'argocd-controller' },
    },
  };
}

function spawnServer(
  args: string[],
  portPattern: RegExp,
  nodeOptions?: string,
): Promise<{ child: ChildProcess; port: number; stderr: () => string; stdoutLines: () => number }> {
  const node = join(root, 'node_modules/.bin/node');
  const child = spawn(node, args, {
    cwd: root,
    env: {
      ...process.env,
      KUBERNETES_SERVICE_HOST: '',
      ...(nodeOptions ? { NODE_OPTIONS: nodeOptions } : {}),
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let lines = 0;
  child.stdout?.on('data', (chunk: Buffer) => {
    for (const byte of chunk) if (byte === 10) lines++;
  });
  let err = '';
  return new Promise((done, fail) => {
    child.stderr?.on('data', (chunk: Buffer) => {
      err += chunk.toString();
      const match = portPattern.exec(err);
      if (match) done({ child, port: Number(match[1]), stderr: () => err, stdoutLines: () => lines });
    });
    child.on('exit', (code) => fail(new Error(`server exited ${code}: ${err}`)));
  });
}

function rssMb(pid: number | undefined): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? Number.NaN);
  return kb / 1024;
}

/** Heap figures from the webhook's own /metrics (prom-client process metrics). */
async function heapFigures(opsPort: number): Promise<string> {
  try {
    const text = await (await fetch(`http://127.0.0.1:${opsPort}/metrics`)).text();
    const read = (name: string): string => {
      const value = Number(new RegExp(`^tollgate_${name} (\\S+)$`, 'm').exec(text)?.[1]);
      return (value / 1048576).toFixed(1);
    };
    return `heap ${read('nodejs_heap_size_used_bytes')}/${read('nodejs_heap_size_total_bytes')} MB, external ${read('nodejs_external_memory_bytes')} MB`;
  } catch {
    return 'heap n/a';
  }
}

function postOnce(port: number, body: string, ca: string): Promise<unknown> {
  return new Promise((done, fail) => {
    const req = httpsRequest(
      { host: '127.0.0.1', port, path: '/validate', method: 'POST', ca, servername: 'localhost' },
      (res) => {
        let text = '';
        res.on('data', (chunk: Buffer) => (text += chunk.toString()));
        res.on('end', () => done(JSON.parse(text)));
      },
    );
    req.on('error', fail);
    req.end(body);
  });
}

interface LoadResult {
  rps: number;
  p50: number;
  p99: number;
  errors: number;
  non2xx: number;
}

async function load(
  port: number,
  body: string,
  options: { duration: number; connections: number; rate?: number },
): Promise<LoadResult> {
  const result = await autocannon({
    url: `https://127.0.0.1:${port}/validate`,
    method: 'POST',
    body,
    headers: { 'content-type': 'application/json' },
    connections: options.connections,
    duration: options.duration,
    ...(options.rate ? { overallRate: options.rate } : {}),
  });
  return {
    rps: result.requests.average,
    p50: result.latency.p50,
    p99: result.latency.p99,
    errors: result.errors + result.timeouts,
    non2xx: result.non2xx,
  };
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      duration: { type: 'string', default: '10' },
      soak: { type: 'string', default: '30' },
      rate: { type: 'string', default: '1000' },
      connections: { type: 'string', default: '16' },
      'noop-server': { type: 'boolean' },
      'node-options': { type: 'string' },
      cert: { type: 'string' },
      key: { type: 'string' },
    },
  });
  if (values['noop-server']) return serveNoop(String(values.cert), String(values.key));
  const duration = Number(values.duration);
  const soak = Number(values.soak);
  const rate = Number(values.rate);
  const connections = Number(values.connections);
  const dir = mkdtempSync(join(tmpdir(), 'tollgate-bench-'));
  const pair = await generateSelfSigned({ names: ['localhost', '127.0.0.1'] });
  const certFile = join(dir, 'tls.crt');
  const keyFile = join(dir, 'tls.key');
  writeFileSync(certFile, pair.cert);
  writeFileSync(keyFile, pair.key);
  const body = JSON.stringify(sampleReview());
  const children: ChildProcess[] = [];
  try {
    const webhook = await spawnServer(
      [
        'bin/tollgate.js',
        'serve',
        '--host',
        '127.0.0.1',
        '--port',
        '0',
        '--ops-host',
        '127.0.0.1',
        '--ops-port',
        '0',
        '--tls-cert',
        certFile,
        '--tls-key',
        keyFile,
      ],
      /https:\/\/127\.0\.0\.1:(\d+)\/validate/,
      values['node-options'],
    );
    children.push(webhook.child);
    await sleep(200);
    const opsPort = Number(/ops on http:\/\/127\.0\.0\.1:(\d+)/.exec(webhook.stderr())?.[1]);
    const noop = await spawnServer(
      ['bench/webhook.ts', '--noop-server', '--cert', certFile, '--key', keyFile],
      /noop listening on (\d+)/,
      undefined,
    );
    children.push(noop.child);

    const answer = await postOnce(webhook.port, body, pair.caPem);
    const allowed = (answer as { response?: { allowed?: boolean; status?: { message?: string } } }).response;
    const check = await load(webhook.port, body, { duration: 1, connections: 1 });
    console.log(
      `payload: ${Buffer.byteLength(body)} bytes AdmissionReview (two-container Deployment), finance baseline`,
    );
    console.log(
      `node ${process.version}, ${(await import('node:os')).cpus().length} CPUs; autocannon ${connections} connections`,
    );
    if (check.errors > 0 || check.non2xx > 0)
      throw new Error('the webhook did not answer 200 to the sample review');
    console.log(
      `decision on the sample: ${allowed?.allowed ? 'allowed' : `denied: ${allowed?.status?.message?.split('\n').slice(1).join(' ') ?? ''}`}`,
    );
    const rssStart = rssMb(webhook.child.pid);

    // warm-up (JIT, TLS sessions, caches)
    await load(noop.port, body, { duration: 3, connections });
    await load(webhook.port, body, { duration: 3, connections });

    const noopMax = await load(noop.port, body, { duration, connections });
    const hookMax = await load(webhook.port, body, { duration, connections });
    console.log('\nthroughput (max rate):');
    console.log(
      `  no-op express 5 HTTPS : ${noopMax.rps.toFixed(0)} req/s (p50 ${noopMax.p50} ms, p99 ${noopMax.p99} ms)`,
    );
    console.log(
      `  tollgate serve        : ${hookMax.rps.toFixed(0)} req/s (p50 ${hookMax.p50} ms, p99 ${hookMax.p99} ms)`,
    );
    console.log(`  ratio                 : ${(hookMax.rps / noopMax.rps).toFixed(3)} (target >= 0.85)`);

    const noopFixed = await load(noop.port, body, { duration, connections: 10, rate });
    const hookFixed = await load(webhook.port, body, { duration, connections: 10, rate });
    console.log(`\nlatency at a fixed ${rate} req/s (10 connections, coordinated omission corrected):`);
    console.log(
      `  no-op express 5 HTTPS : p50 ${noopFixed.p50} ms, p99 ${noopFixed.p99} ms (${noopFixed.rps.toFixed(0)} req/s)`,
    );
    console.log(
      `  tollgate serve        : p50 ${hookFixed.p50} ms, p99 ${hookFixed.p99} ms (${hookFixed.rps.toFixed(0)} req/s) (target p99 <= 10 ms)`,
    );

    console.log(`\nRSS of tollgate serve during ${soak} s at ${rate} req/s (target <= 150 MB, flat):`);
    console.log(`  at start (before load): ${rssStart.toFixed(1)} MB`);
    if (values['node-options']) console.log(`  NODE_OPTIONS=${values['node-options']}`);
    const samples: number[] = [];
    const soakRun = load(webhook.port, body, { duration: soak, connections: 10, rate });
    const every = Math.max(5, Math.floor(soak / 10));
    for (let t = every; t <= soak; t += every) {
      await sleep(every * 1000);
      const mb = rssMb(webhook.child.pid);
      samples.push(mb);
      console.log(`  t=${String(t).padStart(4)} s: ${mb.toFixed(1)} MB (${await heapFigures(opsPort)})`);
    }
    const soaked = await soakRun;
    console.log(
      `  after load: ${rssMb(webhook.child.pid).toFixed(1)} MB; soak p50 ${soaked.p50} ms, p99 ${soaked.p99} ms, errors ${soaked.errors}`,
    );
    const half = samples.slice(Math.floor(samples.length / 2));
    console.log(`  second-half spread: ${(Math.max(...half) - Math.min(...half)).toFixed(1)} MB`);
    console.log(`  decision log: ${webhook.stdoutLines()} lines written by the webhook`);
    const totals = [noopMax, hookMax, noopFixed, hookFixed, soaked].reduce((n, r) => n + r.errors, 0);
    if (totals > 0) console.log(`  (${totals} transport errors/timeouts in total)`);
  } finally {
    for (const child of children) child.kill('SIGTERM');
    await sleep(500);
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
