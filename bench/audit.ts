/**
 * Drift audit at scale: starts the real etcd + kube-apiserver of the e2e harness, creates N live
 * objects (default 10,000: per namespace 50 Deployments, 100 Pods, 50 Services, 50 ConfigMaps),
 * declares them all in a Git directory (one in ten Deployments then edited by a human field
 * manager), and runs the real CLI as a child process under /usr/bin/time (after a warm-up run): a
 * policy audit that writes its PolicyReports (all created), the same again (nothing changed:
 * nothing written), and the same with drift against Git (the reports with drift applied). Prints
 * wall and CPU time and peak RSS of each (targets for 10,000 objects: ≤ 20 s, ≤ 300 MB), with the
 * chart's NODE_OPTIONS.
 *
 *   PATH=$HOME/.cache/tollgate-tools/bin:$PATH node_modules/.bin/node bench/audit.ts [--objects N]
 *     [--node-options '--max-old-space-size=256 --max-semi-space-size=4']
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { readAuditLog, startCluster } from '../test/e2e/harness.ts';
import type { KubeClient } from '../test/e2e/kube.ts';
import { installPolicyReportCrds } from '../test/e2e/tollgate.ts';
import { cpuSeconds } from './proc.ts';

const root = resolve(fileURLToPath(new URL('.', import.meta.url)), '..');
const { values } = parseArgs({
  options: {
    objects: { type: 'string', default: '10000' },
    // The chart's audit.nodeOptions: heap caps that keep RSS flat (garbage of each page is collected early).
    'node-options': { type: 'string', default: '--max-old-space-size=256 --max-semi-space-size=4' },
    // Keep the cluster after the runs (for --cpu-prof / --heap-prof by hand); Ctrl-C stops it.
    hold: { type: 'boolean', default: false },
  },
});
const perNamespace = 250;
const namespaces = Math.max(1, Math.round(Number(values.objects) / perNamespace));

const image = (app: string) => `registry.corp.example/erp/${app}:1.0`;
const resources = { limits: { cpu: '500m', memory: '256Mi' }, requests: { cpu: '100m', memory: '128Mi' } };

function objectsOf(ns: string): { path: string; object: Record<string, unknown> }[] {
  const out: { path: string; object: Record<string, unknown> }[] = [];
  for (let i = 0; i < 50; i++) {
    const app = `app-${i}`;
    const labels = { app };
    out.push({
      path: `/apis/apps/v1/namespaces/${ns}/deployments`,
      object: {
        apiVersion: 'apps/v1',
        kind: 'Deployment',
        metadata: { name: app, namespace: ns, labels },
        spec: {
          replicas: 2,
          selector: { matchLabels: labels },
          template: {
            metadata: { labels },
            spec: {
              containers: [
                { name: 'app', image: image(app), resources, env: [{ name: 'MODE', value: 'prod' }] },
              ],
            },
          },
        },
      },
    });
    out.push({
      path: `/api/v1/namespaces/${ns}/services`,
      object: {
        apiVersion: 'v1',
        kind: 'Service',
        metadata: { name: app, namespace: ns },
        spec: { clusterIP: 'None', selector: labels, ports: [{ port: 80, targetPort: 8080 }] },
      },
    });
    out.push({
      path: `/api/v1/namespaces/${ns}/configmaps`,
      object: {
        apiVersion: 'v1',
        kind: 'ConfigMap',
        metadata: { name: `${app}-config`, namespace: ns },
        data: { mode: 'prod' },
      },
    });
    for (const suffix of ['a', 'b'])
      out.push({
        path: `/api/v1/namespaces/${ns}/pods`,
        object: {
          apiVersion: 'v1',
          kind: 'Pod',
          metadata: {
            name: `${app}-${suffix}`,
            namespace: ns,
            labels,
            ownerReferences: [
              {
                apiVersion: 'apps/v1',
                kind: 'ReplicaSet',
                name: `${app}-1`,
                uid: '00000000-0000-4000-8000-000000000001',
                controller: true,
              },
            ],
          },
          spec: { containers: [{ name: 'app', image: image(app), resources }] },
        },
      });
  }
  return out;
}

async function createAll(
  kube: KubeClient,
  items: { path: string; object: Record<string, unknown> }[],
): Promise<void> {
  const queue = [...items];
  const workers = Array.from({ length: 32 }, async () => {
    for (let item = queue.shift(); item; item = queue.shift()) {
      const res = await kube.create(item.path, item.object);
      if (res.status !== 201)
        throw new Error(`POST ${item.path}: ${res.status} ${JSON.stringify(res.body).slice(0, 200)}`);
    }
  });
  await Promise.all(workers);
}

/** The PIDs of this cluster's kube-apiserver and etcd (their command lines name its scratch directory). */
function clusterPids(dir: string): number[] {
  return readdirSync('/proc')
    .filter((entry) => /^\d+$/.test(entry))
    .filter((entry) => {
      try {
        return readFileSync(`/proc/${entry}/cmdline`, 'utf8').includes(dir);
      } catch {
        return false;
      }
    })
    .map(Number)
    .filter((pid) => pid !== process.pid);
}

/**
 * The API server's side of a run, from its audit log: requests completed in [from, to], the time
 * at least one was in flight, and per verb the requests and the sum of their latencies (received →
 * response complete).
 */
function apiServerSide(auditLog: string, from: number, to: number) {
  const spans = readAuditLog(auditLog)
    .map((event) => {
      const e = event as typeof event & { requestReceivedTimestamp?: string; stageTimestamp?: string };
      return {
        verb: event.verb,
        start: Date.parse(e.requestReceivedTimestamp ?? ''),
        end: Date.parse(e.stageTimestamp ?? ''),
      };
    })
    .filter(({ start, end }) => start >= from && end <= to)
    .sort((a, b) => a.start - b.start);
  let busy = 0;
  let until = -Infinity;
  const verbs = new Map<string, { requests: number; seconds: number }>();
  for (const { verb, start, end } of spans) {
    const entry = verbs.get(verb) ?? { requests: 0, seconds: 0 };
    entry.requests++;
    entry.seconds += (end - start) / 1000;
    verbs.set(verb, entry);
    if (end <= until) continue;
    busy += end - Math.max(start, until);
    until = end;
  }
  const perVerb = [...verbs]
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([verb, { requests, seconds }]) => `${verb} ${requests} (${seconds.toFixed(1)} s)`)
    .join(', ');
  return { requests: spans.length, busy: busy / 1000, perVerb };
}

function timed(
  label: string,
  args: string[],
  cwd: string,
  info: { dir: string; auditLogFile: string },
): void {
  const pids = clusterPids(info.dir);
  const serverCpuBefore = pids.reduce((sum, pid) => sum + cpuSeconds(pid), 0);
  const load = loadavg()[0] ?? 0;
  const from = Date.now();
  const run = spawnSync(
    '/usr/bin/time',
    [
      '-f',
      '%e %U %S %M',
      join(root, 'node_modules', '.bin', 'node'),
      join(root, 'bin', 'tollgate.js'),
      'audit',
      ...args,
    ],
    {
      cwd,
      encoding: 'utf8',
      maxBuffer: 1024 * 1024 * 1024,
      env: { ...process.env, NODE_OPTIONS: values['node-options'] },
    },
  );
  const to = Date.now();
  const serverCpu = pids.reduce((sum, pid) => sum + cpuSeconds(pid), 0) - serverCpuBefore;
  const last = run.stderr.trim().split('\n').at(-1) ?? '';
  const [seconds, user, system, kb] = last.split(' ').map(Number);
  if (run.status !== 0 && run.status !== 1)
    throw new Error(`tollgate audit exited ${run.status}:\n${run.stderr}`);
  const summary = (JSON.parse(run.stdout) as { summary: Record<string, unknown> }).summary;
  const server = apiServerSide(info.auditLogFile, from, to);
  console.log(
    `${label.padEnd(44)} ${String(seconds).padStart(6)} s wall ${((user ?? 0) + (system ?? 0)).toFixed(1).padStart(6)} s CPU  ${((kb ?? 0) / 1024).toFixed(0).padStart(5)} MB peak RSS  load ${load.toFixed(1)}\n` +
      `${''.padEnd(44)} API server + etcd ${serverCpu.toFixed(1)} s CPU; ${server.requests} requests, ${server.busy.toFixed(1)} s with one in flight; latencies by verb: ${server.perVerb}\n` +
      `${''.padEnd(44)} objects ${String(summary['objects'])}, fail ${String(summary['fail'])}, drift ${JSON.stringify(summary['drift'])}`,
  );
}

const cluster = await startCluster();
try {
  const kube = cluster.client;
  await installPolicyReportCrds(kube);
  const gitDir = join(cluster.info.dir, 'git');
  const all: { path: string; object: Record<string, unknown> }[] = [];
  for (let n = 0; n < namespaces; n++) {
    const ns = `bench-${n}`;
    await kube.create('/api/v1/namespaces', { apiVersion: 'v1', kind: 'Namespace', metadata: { name: ns } });
    const objects = objectsOf(ns);
    all.push(...objects);
    mkdirSync(join(gitDir, ns), { recursive: true });
    writeFileSync(
      join(gitDir, ns, 'manifests.json'),
      JSON.stringify({
        apiVersion: 'v1',
        kind: 'List',
        items: objects.filter((o) => o.object['kind'] !== 'Pod').map((o) => o.object),
      }),
    );
  }
  const started = performance.now();
  await createAll(kube, all);
  console.log(
    `created ${all.length} objects in ${namespaces} namespaces in ${((performance.now() - started) / 1000).toFixed(1)} s (${cluster.info.kubernetesVersion})`,
  );
  // One Deployment in ten edited by hand.
  for (let n = 0; n < namespaces; n++)
    for (let i = 0; i < 50; i += 10)
      await kube.request(
        'PATCH',
        `/apis/apps/v1/namespaces/bench-${n}/deployments/app-${i}`,
        { spec: { replicas: 3 } },
        { contentType: 'application/merge-patch+json', query: { fieldManager: 'kubectl-edit' } },
      );
  const common = [`--kubeconfig=${cluster.info.kubeconfigFile}`, '--offline', '--format=json'];
  console.log(`NODE_OPTIONS=${values['node-options']}`);
  // Printed apart: in a clone bin/tollgate.js first rebuilds a stale dist/, and the first start fills
  // Node's compile cache; neither belongs to the first write (a namespace without objects, no reports).
  timed(
    'warm-up (rebuild if stale, compile cache)',
    [...common, '--namespace=bench-none'],
    gitDir,
    cluster.info,
  );
  timed('audit --write-reports (finance baseline)', [...common, '--write-reports'], gitDir, cluster.info);
  timed('audit --write-reports again (idempotent)', [...common, '--write-reports'], gitDir, cluster.info);
  timed(
    'audit --write-reports --git . (drift)',
    [...common, '--write-reports', '--git', '.'],
    gitDir,
    cluster.info,
  );
  if (values.hold) {
    console.log(`holding: --kubeconfig=${cluster.info.kubeconfigFile} (Git in ${gitDir}); Ctrl-C stops`);
    await new Promise((resolve) => process.once('SIGINT', resolve));
  }
} finally {
  await cluster.stop();
}
