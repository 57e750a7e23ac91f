/**
 * Webhook load: the real `tollgate serve` process (the finance baseline pointed at a loopback
 * registry holding the sample's images, signed; decision log on standard output, read by the bench)
 * against a no-op express 5 HTTPS handler in another process, same machine, same ~5 KB
 * AdmissionReview (a two-container Deployment), same TLS certificate, both loaded by autocannon.
 * Two variants of the review: **allowed** (both images signed, verified once, then served from the
 * warm signature cache) and **denied** (the same with a memory limit over the bundle's maximum).
 * Phases alternate the servers. Prints the throughput ratio of each variant to the no-op (target
 * >= 0.85 allowed), p50/p99 at a fixed 1,000 req/s (target p99 <= 10 ms), the webhook's RSS
 * sampled during a fixed-rate allowed load (target <= 120 MB, flat), and the load average. It also
 * prints each server's CPU per answered request (from /proc) beside the CPU of the review alone
 * (parse + policies in the bench process), and the throughput ratio that review cost allows at best.
 *
 *   node bench/webhook.ts [--duration SECONDS] [--rate N] [--connections N] [--soak SECONDS]
 *
 * --duration is each throughput and latency phase (default 10 s); --soak is the fixed-rate phase
 * that RSS is sampled over (default 30 s; the issue's figure is `--soak 300`); --node-options sets
 * NODE_OPTIONS for both server processes (default: the chart's `nodeOptions`, so the RSS figure is
 * the chart's and both servers run with the same heap settings; `--node-options ''` runs uncapped);
 * both also get the chart's MALLOC_ARENA_MAX (`mallocArenaMax`).
 */
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { request as httpsRequest } from 'node:https';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

import { parseArgs } from 'node:util';
import autocannon from 'autocannon';
import { build } from 'esbuild';
import { createServices } from '../io/services.ts';
import { evaluate, loadBundle, parseAdmissionReview, prepareReview } from '../policies/index.ts';
import { generateSelfSigned } from '../webhook/src/tls.ts';
import { root } from './peers.ts';
import { cpuSeconds, rssMb } from './proc.ts';
import { chartEnvironment, chartNodeOptions, sampleReview, startSignedRig } from './webhook-rig.ts';

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
      ...chartEnvironment(),
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

/** Runs `work` and returns the CPU microseconds `pid` spent per request answered in it. */
async function cpuPerRequest(
  pid: number | undefined,
  work: () => Promise<LoadResult>,
): Promise<LoadResult & { cpuUs: number }> {
  const before = cpuSeconds(pid);
  const result = await work();
  return { ...result, cpuUs: ((cpuSeconds(pid) - before) * 1e6) / Math.max(1, result.requests) };
}

/**
 * CPU microseconds per request of the work the webhook adds to a no-op server, measured in this
 * process: `review` is the AdmissionReview checks and the bundle's policies with a warm signature
 * cache (no HTTP, no TLS, no decision log), `parse` the JSON.parse of the body both servers do. What
 * the webhook adds to a no-op server can never be less than `review`.
 */
async function evaluationAlone(
  bundleYaml: string,
  body: string,
  reviews: number,
): Promise<{ parse: number; review: number }> {
  const bundle = loadBundle(bundleYaml, { source: 'bench bundle' });
  const { services, stop } = await createServices({});
  const cpu = async (work: () => unknown): Promise<number> => {
    for (let i = 0; i < 2000; i++) await work(); // JIT and the signature cache
    const started = process.cpuUsage();
    for (let i = 0; i < reviews; i++) await work();
    const used = process.cpuUsage(started);
    return (used.user + used.system) / reviews;
  };
  try {
    const parse = await cpu(() => JSON.parse(body));
    const whole = await cpu(async () => {
      const prepared = prepareReview({ request: parseAdmissionReview(JSON.parse(body)) });
      if ('skipped' in prepared) throw new Error('the bench review was skipped; it measures nothing');
      const report = await evaluate(prepared.input, bundle, {
        now: new Date(),
        point: 'admission',
        namespaces: () => undefined,
        services,
      });
      if (report.decision !== 'allow')
        throw new Error(`the allowed sample was ${report.decision} in-process`);
    });
    return { parse, review: Math.max(0, whole - parse) };
  } finally {
    await stop();
  }
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
  /** Requests answered. */
  requests: number;
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
    requests: result.requests.total,
  };
}

const loadAverage = (): string =>
  loadavg()
    .map((n) => n.toFixed(2))
    .join(' ');

const ratioLine = (label: string, hook: LoadResult, noop: LoadResult): string =>
  `  ${label.padEnd(22)}: ${hook.rps.toFixed(0)} req/s (p50 ${hook.p50} ms, p99 ${hook.p99} ms), ${(hook.rps / noop.rps).toFixed(3)}× no-op`;

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      duration: { type: 'string', default: '10' },
      soak: { type: 'string', default: '30' },
      rate: { type: 'string', default: '1000' },
      connections: { type: 'string', default: '16' },
      'node-options': { type: 'string' },
    },
  });
  const duration = Number(values.duration);
  const soak = Number(values.soak);
  const rate = Number(values.rate);
  const connections = Number(values.connections);
  const nodeOptions = values['node-options'] ?? chartNodeOptions();
  const dir = mkdtempSync(join(tmpdir(), 'tollgate-bench-'));
  const pair = await generateSelfSigned({ names: ['localhost', '127.0.0.1'] });
  const certFile = join(dir, 'tls.crt');
  const keyFile = join(dir, 'tls.key');
  writeFileSync(certFile, pair.cert);
  writeFileSync(keyFile, pair.key);
  const rig = await startSignedRig();
  const bundleFile = join(dir, 'bundle.yaml');
  writeFileSync(bundleFile, rig.bundleYaml);
  const bodies = {
    allowed: JSON.stringify(sampleReview(rig.registry.host, 'allowed')),
    denied: JSON.stringify(sampleReview(rig.registry.host, 'denied')),
  };
  const children: ChildProcess[] = [];
  try {
    const webhook = await spawnServer(
      [
        'bin/tollgate.js',
        'serve',
        '--bundle',
        bundleFile,
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
      nodeOptions,
    );
    children.push(webhook.child);
    await sleep(200);
    const opsPort = Number(/ops on http:\/\/127\.0\.0\.1:(\d+)/.exec(webhook.stderr())?.[1]);
    // the no-op runs as plain JavaScript, as tollgate does (type stripping alone adds ~17 MB of RSS)
    const noopScript = join(dir, 'noop-server.cjs');
    await build({
      entryPoints: [join(root, 'bench/noop-server.ts')],
      bundle: true,
      platform: 'node',
      format: 'cjs',
      outfile: noopScript,
      logLevel: 'warning',
    });
    const noop = await spawnServer(
      [noopScript, '--cert', certFile, '--key', keyFile],
      /noop listening on (\d+)/,
      nodeOptions,
    );
    children.push(noop.child);

    console.log(
      `payload: ${Buffer.byteLength(bodies.allowed)} bytes AdmissionReview (two-container Deployment), finance baseline, images in a loopback registry signed with a P-256 key`,
    );
    console.log(
      `node ${process.version}, ${cpus().length} CPUs, load average ${loadAverage()}; autocannon ${connections} connections; both servers with NODE_OPTIONS=${nodeOptions || '(none)'} ${Object.entries(
        chartEnvironment(),
      )
        .map(([k, v]) => `${k}=${v}`)
        .join(' ')}`,
    );
    for (const variant of ['allowed', 'denied'] as const) {
      // the first answer verifies the signatures (cold); every later one is served from the cache
      const answer = (await postOnce(webhook.port, bodies[variant], pair.caPem)) as {
        response?: { allowed?: boolean; status?: { message?: string } };
      };
      const allowed = answer.response?.allowed === true;
      console.log(
        `${variant} sample: ${allowed ? 'allowed' : `denied: ${answer.response?.status?.message?.split('\n').slice(1).join(' ') ?? ''}`}`,
      );
      if (allowed !== (variant === 'allowed'))
        throw new Error(
          `the ${variant} sample was ${allowed ? 'allowed' : 'denied'}; the bench measures nothing`,
        );
      const check = await load(webhook.port, bodies[variant], { duration: 1, connections: 1 });
      if (check.errors > 0 || check.non2xx > 0)
        throw new Error(`the webhook did not answer 200 to the ${variant} sample`);
    }
    const rssStart = rssMb(webhook.child.pid);

    // warm-up (JIT, TLS sessions, caches)
    await load(noop.port, bodies.allowed, { duration: 3, connections });
    await load(webhook.port, bodies.allowed, { duration: 3, connections });
    await load(webhook.port, bodies.denied, { duration: 2, connections });

    const noopMax = await cpuPerRequest(noop.child.pid, () =>
      load(noop.port, bodies.allowed, { duration, connections }),
    );
    const allowedMax = await cpuPerRequest(webhook.child.pid, () =>
      load(webhook.port, bodies.allowed, { duration, connections }),
    );
    const noopMax2 = await cpuPerRequest(noop.child.pid, () =>
      load(noop.port, bodies.allowed, { duration, connections }),
    );
    const deniedMax = await cpuPerRequest(webhook.child.pid, () =>
      load(webhook.port, bodies.denied, { duration, connections }),
    );
    console.log(`\nthroughput (max rate, ${connections} connections, no-op measured before each):`);
    console.log(
      `  no-op express 5 HTTPS : ${noopMax.rps.toFixed(0)} / ${noopMax2.rps.toFixed(0)} req/s (p50 ${noopMax.p50} ms, p99 ${noopMax.p99} ms)`,
    );
    console.log(`${ratioLine('tollgate serve allowed', allowedMax, noopMax)} (target >= 0.85)`);
    console.log(ratioLine('tollgate serve denied', deniedMax, noopMax2));
    const noopUs = (noopMax.cpuUs + noopMax2.cpuUs) / 2;
    const alone = await evaluationAlone(rig.bundleYaml, bodies.allowed, 10_000);
    console.log(`\nserver CPU per answered request (max-rate phases, from /proc):`);
    console.log(`  no-op express 5 HTTPS : ${noopUs.toFixed(0)} µs`);
    console.log(
      `  tollgate serve allowed: ${allowedMax.cpuUs.toFixed(0)} µs; denied ${deniedMax.cpuUs.toFixed(0)} µs`,
    );
    console.log(
      `  in this process, the allowed sample: JSON.parse ${alone.parse.toFixed(0)} µs (the no-op does it too), review (checks + policies, warm cache) ${alone.review.toFixed(0)} µs`,
    );
    console.log(
      `  ceiling with nothing but the review added to the no-op: ${(noopUs / (noopUs + alone.review)).toFixed(3)}× no-op (0.85 needs the review <= ${(noopUs / 0.85 - noopUs).toFixed(0)} µs)`,
    );

    const noopFixed = await load(noop.port, bodies.allowed, { duration, connections: 10, rate });
    const noopRss = rssMb(noop.child.pid);
    const allowedFixed = await load(webhook.port, bodies.allowed, { duration, connections: 10, rate });
    const deniedFixed = await load(webhook.port, bodies.denied, { duration, connections: 10, rate });
    console.log(`\nlatency at a fixed ${rate} req/s (10 connections):`);
    for (const [label, r] of [
      ['no-op express 5 HTTPS', noopFixed],
      ['tollgate serve allowed', allowedFixed],
      ['tollgate serve denied', deniedFixed],
    ] as const)
      console.log(
        `  ${label.padEnd(22)}: p50 ${r.p50} ms, p99 ${r.p99} ms (${r.rps.toFixed(0)} req/s)${label.includes('tollgate') ? ' (target p99 <= 10 ms)' : ''}`,
      );

    console.log(
      `\nRSS of tollgate serve during ${soak} s at ${rate} req/s, allowed (target <= 120 MB, flat):`,
    );
    console.log(`  at start (before load): ${rssStart.toFixed(1)} MB`);
    console.log(
      `  (the no-op express 5 HTTPS server, same Node options, after all its phases: ${noopRss.toFixed(1)} MB)`,
    );
    const samples: number[] = [];
    const linesBefore = webhook.stdoutLines();
    const soakRun = load(webhook.port, bodies.allowed, { duration: soak, connections: 10, rate });
    const every = Math.max(5, Math.floor(soak / 10));
    for (let t = every; t <= soak; t += every) {
      await sleep(every * 1000);
      const mb = rssMb(webhook.child.pid);
      samples.push(mb);
      console.log(`  t=${String(t).padStart(4)} s: ${mb.toFixed(1)} MB (${await heapFigures(opsPort)})`);
    }
    const soaked = await soakRun;
    await sleep(500);
    console.log(
      `  after load: ${rssMb(webhook.child.pid).toFixed(1)} MB; soak p50 ${soaked.p50} ms, p99 ${soaked.p99} ms, ${soaked.rps.toFixed(0)} req/s, errors ${soaked.errors}`,
    );
    const half = samples.slice(Math.floor(samples.length / 2));
    console.log(
      `  max ${Math.max(...samples).toFixed(1)} MB; second-half spread ${(Math.max(...half) - Math.min(...half)).toFixed(1)} MB`,
    );
    console.log(
      `  decision log: ${webhook.stdoutLines() - linesBefore} lines for ${soaked.requests} answers during the soak`,
    );
    const totals = [noopMax, allowedMax, noopMax2, deniedMax, noopFixed, allowedFixed, deniedFixed, soaked];
    const errors = totals.reduce((n, r) => n + r.errors, 0);
    const non2xx = totals.reduce((n, r) => n + r.non2xx, 0);
    if (errors + non2xx > 0)
      console.log(`  (${errors} transport errors/timeouts, ${non2xx} non-2xx in total)`);
    console.log(`\nload average at the end: ${loadAverage()}`);
  } finally {
    for (const child of children) child.kill('SIGTERM');
    await sleep(500);
    await rig.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
