/**
 * Soak under load and faults (run on demand): the real `tollgate serve` process with the chart's
 * NODE_OPTIONS, loaded at a fixed rate (default 1,000 req/s for 300 s) with AdmissionReviews that
 * each carry their own uid, while
 *  - the bundle file is rewritten every 10 s, alternately a valid new version and an invalid one;
 *  - the registry (Debian's docker-registry behind a proxy the bench controls) flaps in 15 s phases:
 *    up, down (connections reset), up, slow (answers 4 s late, past the look-up deadline), up, 429;
 *    the reviews cycle over 24 signed tags, so tags expire from the cache and are resolved again
 *    during the faults;
 *  - the API server behind the namespace informer (the real kube-apiserver + etcd of the e2e tools)
 *    goes away twice for 30 s (a TCP proxy in front of it cuts every connection and refuses new
 *    ones), and a namespace created after it came back must be found by the informer.
 * Counts 5xx answers, transport errors, answers past the internal deadline and past the webhook's
 * timeout, decisions missing from the decision log (every answered uid must have its decision
 * line), RSS every 10 s, and prints a summary with the load average.
 *
 *   node bench/soak.ts [--duration SECONDS] [--rate N] [--timeout-seconds N] [--node-options=...]
 *
 * Needs kube-apiserver and etcd in ~/.cache/tollgate-tools/bin (or TOLLGATE_TOOLS_DIR), as the
 * e2e tests do, and /usr/bin/docker-registry (or TOLLGATE_DOCKER_REGISTRY).
 */
import { spawn } from 'node:child_process';
import { createReadStream, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer as createHttpServer, request as httpRequest } from 'node:http';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { Agent, request as httpsRequest } from 'node:https';
import { createServer as createNetServer, connect } from 'node:net';
import type { Server as NetServer, Socket } from 'node:net';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import { parse, stringify } from 'yaml';
import { RegistryClient } from '../io/registry/client.ts';
import { forEachLogLine } from '../io/decision-log/verify.ts';
import { generateTestKey, pushRandomImage, signLegacy, startRegistry } from '../test/support/registry-rig.ts';
import { startCluster } from '../test/e2e/harness.ts';
import { generateSelfSigned } from '../webhook/src/tls.ts';
import { node } from './peers.ts';
import { rssMb } from './proc.ts';
import { quantile } from './stats.ts';
import { baselineFor, chartEnvironment, chartNodeOptions, sampleReview } from './webhook-rig.ts';

const { values } = parseArgs({
  options: {
    duration: { type: 'string', default: '300' },
    rate: { type: 'string', default: '1000' },
    'timeout-seconds': { type: 'string', default: '10' },
    connections: { type: 'string', default: '16' },
    'node-options': { type: 'string' },
  },
});
const duration = Number(values.duration);
const rate = Number(values.rate);
const timeoutSeconds = Number(values['timeout-seconds']);
const connections = Number(values.connections);
const nodeOptions = values['node-options'] ?? chartNodeOptions();
/** The chart's environment besides NODE_OPTIONS (MALLOC_ARENA_MAX). */
const chartEnv = chartEnvironment();
/** The webhook's internal deadline for this timeout (webhook/src/webhook.ts deadlineFor). */
const deadlineMs = Math.max(500, Math.round(timeoutSeconds * 1000 - 1500));
const tagCount = 24;

const say = (text: string): void => {
  process.stdout.write(`${text}\n`);
};
const loadAverage = (): string =>
  loadavg()
    .map((n) => n.toFixed(2))
    .join(' ');

/** Registry fault modes, and the proxy that applies the current one. */
type RegistryMode = 'up' | 'down' | 'slow' | '429';

function startRegistryProxy(
  upstream: string,
  mode: () => RegistryMode,
): Promise<{ host: string; stop(): Promise<void> }> {
  const [upstreamHost, upstreamPort] = upstream.split(':');
  const server = createHttpServer((req: IncomingMessage, res: ServerResponse) => {
    const current = mode();
    if (current === 'down') {
      req.socket.destroy();
      return;
    }
    if (current === '429') {
      res.writeHead(429, { 'retry-after': '1', 'content-type': 'application/json' });
      res.end('{"errors":[{"code":"TOOMANYREQUESTS","message":"soak: rate limited"}]}');
      return;
    }
    const forward = (): void => {
      const outgoing = httpRequest(
        {
          host: upstreamHost,
          port: Number(upstreamPort),
          method: req.method,
          path: req.url,
          headers: { ...req.headers, host: upstream },
        },
        (incoming) => {
          res.writeHead(incoming.statusCode ?? 502, incoming.headers);
          incoming.pipe(res);
        },
      );
      outgoing.on('error', () => res.destroy());
      req.pipe(outgoing);
    };
    if (current === 'slow') setTimeout(forward, 4000);
    else forward();
  });
  return new Promise((resolve) => {
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      resolve({
        host: `127.0.0.1:${port}`,
        stop: () =>
          new Promise<void>((done) => {
            server.closeAllConnections();
            server.close(() => done());
          }),
      });
    });
  });
}

/** A TCP proxy in front of the API server that can be taken down (cuts and refuses) and back up. */
async function startApiProxy(target: URL): Promise<{
  port: number;
  down(): Promise<void>;
  up(): Promise<void>;
  stop(): Promise<void>;
}> {
  const sockets = new Set<Socket>();
  let server: NetServer | undefined;
  let port = 0;
  const open = (): Promise<void> =>
    new Promise((resolve, reject) => {
      const s = createNetServer((client) => {
        const upstream = connect(Number(target.port), target.hostname);
        sockets.add(client).add(upstream);
        const drop = (): void => {
          client.destroy();
          upstream.destroy();
          sockets.delete(client);
          sockets.delete(upstream);
        };
        client.on('error', drop).on('close', drop);
        upstream.on('error', drop).on('close', drop);
        client.pipe(upstream).pipe(client);
      });
      s.once('error', reject);
      s.listen(port, '127.0.0.1', () => {
        const address = s.address();
        port = typeof address === 'object' && address ? address.port : 0;
        server = s;
        resolve();
      });
    });
  const close = (): Promise<void> =>
    new Promise((resolve) => {
      for (const socket of sockets) socket.destroy();
      sockets.clear();
      if (!server) return resolve();
      server.close(() => resolve());
      server = undefined;
    });
  await open();
  return { port, down: close, up: open, stop: close };
}

/** A bundle version: valid (the baseline with a new version) or invalid (fails validation). */
function bundleVersion(baseline: string, index: number, valid: boolean): string {
  const bundle = parse(baseline) as { metadata: { version: string }; spec: Record<string, unknown> };
  bundle.metadata.version = `1.0.${index}`;
  if (!valid) bundle.spec['policies'] = { 'no-such-policy': { enforcement: 'deny' } };
  return stringify(bundle);
}

interface Outcome {
  readonly status: number;
  readonly ms: number;
}

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'tollgate-soak-'));
  const cleanups: Array<() => Promise<void> | void> = [() => rmSync(dir, { recursive: true, force: true })];
  try {
    say(
      `tollgate soak: ${duration} s at ${rate} req/s, webhook timeout ${timeoutSeconds} s (deadline ${deadlineMs} ms)`,
    );
    const envText = Object.entries(chartEnv)
      .map(([name, value]) => `${name}=${value}`)
      .join(' ');
    say(`load average at start ${loadAverage()}; webhook NODE_OPTIONS=${nodeOptions || '(none)'} ${envText}`);
    const cluster = await startCluster();
    cleanups.unshift(() => cluster.stop());
    for (const name of ['tenant-acme'])
      await cluster.client.create('/api/v1/namespaces', {
        apiVersion: 'v1',
        kind: 'Namespace',
        metadata: { name, labels: { 'tollgate.dev/tenant': name } },
      });
    const apiProxy = await startApiProxy(new URL(cluster.info.url));
    cleanups.unshift(() => apiProxy.stop());
    const kubeconfigFile = join(dir, 'kubeconfig.yaml');
    writeFileSync(
      kubeconfigFile,
      readFileSync(cluster.info.kubeconfigFile, 'utf8').replace(
        cluster.info.url,
        `https://127.0.0.1:${apiProxy.port}`,
      ),
    );

    const registry = await startRegistry();
    cleanups.unshift(() => registry.stop());
    let registryMode: RegistryMode = 'up';
    const registryProxy = await startRegistryProxy(registry.host, () => registryMode);
    cleanups.unshift(() => registryProxy.stop());
    const key = generateTestKey('p256');
    const client = new RegistryClient();
    const tags: string[] = [];
    for (let i = 0; i < tagCount; i++) {
      const repository = i % 2 === 0 ? 'erp/odoo' : 'platform/fluent-bit';
      const tag = `${repository}:1.${i}`;
      const digest = await pushRandomImage(client, registry.host, repository, `1.${i}`);
      await signLegacy(client, registry.host, repository, digest, key, {
        dockerReference: `${registryProxy.host}/${repository}`,
      });
      tags.push(tag);
    }
    const baseline = baselineFor(registryProxy.host, key);
    const bundleFile = join(dir, 'bundle.yaml');
    writeFileSync(bundleFile, bundleVersion(baseline, 0, true));

    const pair = await generateSelfSigned({ names: ['localhost', '127.0.0.1'] });
    writeFileSync(join(dir, 'tls.crt'), pair.cert);
    writeFileSync(join(dir, 'tls.key'), pair.key);
    const logFile = join(dir, 'decisions.log');
    const child = spawn(
      node,
      [
        'bin/tollgate.js',
        'serve',
        '--bundle',
        bundleFile,
        '--kubeconfig',
        kubeconfigFile,
        '--decision-log',
        logFile,
        '--reload-interval',
        '1',
        '--timeout-seconds',
        String(timeoutSeconds),
        '--host',
        '127.0.0.1',
        '--port',
        '0',
        '--ops-host',
        '127.0.0.1',
        '--ops-port',
        '0',
        '--tls-cert',
        join(dir, 'tls.crt'),
        '--tls-key',
        join(dir, 'tls.key'),
      ],
      {
        cwd: join(import.meta.dirname, '..'),
        env: {
          ...process.env,
          KUBERNETES_SERVICE_HOST: '',
          ...chartEnv,
          NODE_OPTIONS: nodeOptions,
        },
        stdio: ['ignore', 'ignore', 'pipe'],
      },
    );
    let stderr = '';
    const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
    cleanups.unshift(async () => {
      if (child.exitCode === null) child.kill('SIGKILL');
      await exited;
    });
    const ports = await new Promise<{ port: number; opsPort: number }>((resolve, reject) => {
      child.stderr?.on('data', (chunk: Buffer) => {
        stderr = (stderr + chunk.toString()).slice(-20_000);
        const port = /https:\/\/127\.0\.0\.1:(\d+)\/validate/.exec(stderr)?.[1];
        const opsPort = /ops on http:\/\/127\.0\.0\.1:(\d+)/.exec(stderr)?.[1];
        if (port && opsPort) resolve({ port: Number(port), opsPort: Number(opsPort) });
      });
      void exited.then((code) => reject(new Error(`tollgate serve exited ${code}: ${stderr}`)));
    });
    const metric = async (pattern: RegExp): Promise<number> => {
      const text = await (await fetch(`http://127.0.0.1:${ports.opsPort}/metrics`)).text();
      let sum = 0;
      for (const line of text.split('\n')) if (pattern.test(line)) sum += Number(line.split(' ').pop());
      return sum;
    };
    for (let i = 0; i < 100; i++) {
      const ready = await fetch(`http://127.0.0.1:${ports.opsPort}/readyz`).catch(() => undefined);
      if (ready?.ok) break;
      await sleep(200);
    }

    // one body per tag; the uid is replaced per request
    const uidMarker = '00000000-0000-4000-8000-000000000000';
    const bodies = tags.map((tag) => {
      const review = sampleReview(registryProxy.host, 'allowed') as {
        request: {
          uid: string;
          object: { spec: { template: { spec: { containers: Array<{ image: string }> } } } };
        };
      };
      review.request.uid = uidMarker;
      for (const container of review.request.object.spec.template.spec.containers)
        container.image = `${registryProxy.host}/${tag}`;
      return JSON.stringify(review).split(uidMarker);
    });
    const agent = new Agent({ keepAlive: true, maxSockets: connections, ca: pair.caPem });
    const answered = new Map<string, Outcome>();
    let sent = 0;
    let transportErrors = 0;
    let skipped = 0;
    let inFlight = 0;
    const post = (uid: string, parts: string[]): void => {
      const started = performance.now();
      inFlight++;
      const req = httpsRequest(
        {
          host: '127.0.0.1',
          port: ports.port,
          path: '/validate',
          method: 'POST',
          agent,
          servername: 'localhost',
          headers: { 'content-type': 'application/json' },
          timeout: timeoutSeconds * 1000 * 3,
        },
        (res) => {
          res.resume();
          res.on('end', () => {
            inFlight--;
            answered.set(uid, { status: res.statusCode ?? 0, ms: performance.now() - started });
          });
        },
      );
      req.on('timeout', () => req.destroy(new Error('client timeout')));
      req.on('error', () => {
        inFlight--;
        transportErrors++;
      });
      req.end(parts.join(uid));
    };

    // faults
    const events: string[] = [];
    const t0 = performance.now();
    const at = (): string => `t=${((performance.now() - t0) / 1000).toFixed(0).padStart(3)} s`;
    const timers: NodeJS.Timeout[] = [];
    let bundleIndex = 0;
    timers.push(
      setInterval(() => {
        bundleIndex++;
        const valid = bundleIndex % 2 === 0;
        writeFileSync(bundleFile, bundleVersion(baseline, bundleIndex, valid));
      }, 10_000),
    );
    const registryCycle: RegistryMode[] = ['up', 'down', 'up', 'slow', 'up', '429'];
    let registryPhase = 0;
    timers.push(
      setInterval(() => {
        registryPhase++;
        registryMode = registryCycle[registryPhase % registryCycle.length] ?? 'up';
        events.push(`${at()} registry ${registryMode}`);
      }, 15_000),
    );
    const apiOutages = [0.2, 0.6].map((f) => Math.round(duration * f * 1000));
    for (const start of apiOutages) {
      timers.push(
        setTimeout(() => {
          events.push(`${at()} API server away`);
          void apiProxy.down();
        }, start),
        setTimeout(() => {
          events.push(`${at()} API server back`);
          void apiProxy.up();
        }, start + 30_000),
      );
    }
    const rss: Array<{ t: number; mb: number; heapMb?: number }> = [];
    const sampleRss = (): void => {
      const sample: { t: number; mb: number; heapMb?: number } = {
        t: Math.round((performance.now() - t0) / 1000),
        mb: rssMb(child.pid),
      };
      rss.push(sample);
      // the V8 heap in use (prom-client's process metrics), to tell a heap leak from native memory
      void metric(/^tollgate_nodejs_heap_size_used_bytes /).then(
        (bytes) => (sample.heapMb = bytes / 1048576),
        () => undefined,
      );
    };
    sampleRss();
    timers.push(setInterval(sampleRss, 10_000));

    // fixed-rate load: every 10 ms the requests due by now
    const total = duration * rate;
    // like the API server, which holds a bounded number of calls open: past it, a request is not sent
    const maxInFlight = connections * 4;
    await new Promise<void>((resolve) => {
      const tick = setInterval(() => {
        const due = Math.min(total, Math.floor(((performance.now() - t0) / 1000) * rate));
        while (sent + skipped < due) {
          const index = sent + skipped;
          if (inFlight >= maxInFlight) {
            skipped++;
            continue;
          }
          sent++;
          post(
            `soak-${index.toString(16).padStart(8, '0')}-0000-4000-8000-000000000000`,
            bodies[index % bodies.length] ?? [],
          );
        }
        if (sent + skipped >= total) {
          clearInterval(tick);
          resolve();
        }
      }, 10);
    });
    for (const timer of timers) clearTimeout(timer);
    const drainUntil = Date.now() + timeoutSeconds * 3000;
    while (inFlight > 0 && Date.now() < drainUntil) await sleep(50);
    sampleRss();
    registryMode = 'up';
    await apiProxy.up().catch(() => undefined);

    // the informer after the outages: a namespace created now must be found (a hit, not a miss)
    await cluster.client.create('/api/v1/namespaces', {
      apiVersion: 'v1',
      kind: 'Namespace',
      metadata: { name: 'tenant-late', labels: { 'tollgate.dev/tenant': 'tenant-late' } },
    });
    await sleep(3000);
    const missesBefore = await metric(/^tollgate_cache_requests_total\{.*cache="namespaces".*outcome="miss"/);
    const late = JSON.parse((bodies[0] ?? []).join('late-0000-0000-4000-8000-000000000000')) as {
      request: { namespace: string; object: { metadata: { namespace: string } } };
    };
    late.request.namespace = 'tenant-late';
    late.request.object.metadata.namespace = 'tenant-late';
    await fetchReview(ports.port, pair.caPem, JSON.stringify(late));
    const missesAfter = await metric(/^tollgate_cache_requests_total\{.*cache="namespaces".*outcome="miss"/);
    const reloads = await metric(/^tollgate_bundle_reloads_total /);
    const reloadFailures = await metric(/^tollgate_bundle_reload_failures_total /);
    const nsErrors = await metric(/^tollgate_namespace_cache_errors_total /);
    const failureActions = await metric(/^tollgate_admission_failure_action_total\{/);

    child.kill('SIGTERM');
    const code = await exited;
    agent.destroy();

    const logged = new Set<string>();
    const serverMs: number[] = [];
    // read in chunks: five minutes of decisions are over V8's longest string (512 MB)
    await forEachLogLine(createReadStream(logFile), (line) => {
      if (!line.includes('"event":"decision"')) return;
      const decision = JSON.parse(line) as { uid?: string; durationMs?: number };
      if (decision.uid) logged.add(decision.uid);
      if (typeof decision.durationMs === 'number') serverMs.push(decision.durationMs);
    });
    const outcomes = [...answered.values()];
    const byStatus = new Map<number, number>();
    for (const o of outcomes) byStatus.set(o.status, (byStatus.get(o.status) ?? 0) + 1);
    const ok = [...answered].filter(([, o]) => o.status === 200);
    const missing = ok.filter(([uid]) => !logged.has(uid)).length;
    const latencies = outcomes.map((o) => o.ms);
    const server5xx = outcomes.filter((o) => o.status >= 500).length;
    const pastDeadline = outcomes.filter((o) => o.ms > deadlineMs).length;
    const pastTimeout = outcomes.filter((o) => o.ms > timeoutSeconds * 1000).length;
    const mbs = rss.map((r) => r.mb);
    const half = mbs.slice(Math.floor(mbs.length / 2));

    say('\nfaults:');
    say(`  bundle rewritten every 10 s: ${reloads} reloads, ${reloadFailures} refused (invalid)`);
    for (const event of events) say(`  ${event}`);
    say(`  namespace informer errors: ${nsErrors}`);
    say(
      `  namespace created after the outages found by the informer: ${missesAfter === missesBefore ? 'yes' : 'NO'}`,
    );
    say('\nanswers:');
    say(
      `  sent ${sent}, answered ${outcomes.length}, not sent (client backlog of ${maxInFlight}) ${skipped}`,
    );
    say(`  by status: ${[...byStatus].map(([s, n]) => `${s}: ${n}`).join(', ')}`);
    say(
      `  5xx: ${server5xx}; transport errors: ${transportErrors}; failure-action answers: ${failureActions}`,
    );
    say(
      `  latency p50 ${quantile(latencies, 0.5).toFixed(1)} ms, p99 ${quantile(latencies, 0.99).toFixed(1)} ms, max ${quantile(latencies, 1).toFixed(1)} ms`,
    );
    say(
      `  past the deadline (${deadlineMs} ms) as the client saw it: ${pastDeadline}; past the timeout (${timeoutSeconds} s): ${pastTimeout}`,
    );
    say(
      `  in the webhook (parsed to answered, decision log durationMs): p50 ${quantile(serverMs, 0.5).toFixed(1)} ms, p99 ${quantile(serverMs, 0.99).toFixed(1)} ms, max ${quantile(serverMs, 1).toFixed(1)} ms, past the deadline ${serverMs.filter((ms) => ms > deadlineMs).length}`,
    );
    say(
      `  decisions missing from the log: ${missing} of ${ok.length} answered 200 (log lines: ${logged.size})`,
    );
    say('\nRSS of tollgate serve (MB):');
    say(
      `  ${rss.map((r) => `${r.t}s ${r.mb.toFixed(0)}${r.heapMb !== undefined ? ` (heap ${r.heapMb.toFixed(0)})` : ''}`).join(', ')}`,
    );
    say(
      `  min ${Math.min(...mbs).toFixed(1)}, max ${Math.max(...mbs).toFixed(1)}, second-half spread ${(Math.max(...half) - Math.min(...half)).toFixed(1)}`,
    );
    say(`\nwebhook exit code ${code}; load average at the end ${loadAverage()}`);
  } finally {
    for (const cleanup of cleanups) await cleanup();
  }
}

function fetchReview(port: number, ca: string, body: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = httpsRequest(
      { host: '127.0.0.1', port, path: '/validate', method: 'POST', ca, servername: 'localhost' },
      (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode ?? 0));
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

await main();
