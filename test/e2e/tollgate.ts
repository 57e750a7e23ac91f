import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { parse, parseAllDocuments } from 'yaml';
import { freePort, type ClusterInfo } from './harness.ts';
import type { KubeClient, KubeObject } from './kube.ts';
import { createCertificateAuthority, issueCertificate } from './pki.ts';
import { logTail, startProcess, type ManagedProcess } from './processes.ts';
import { toolPath } from './tools.ts';

/** Repository root (test/e2e/../..). */
export const repoRoot = fileURLToPath(new URL('../..', import.meta.url));

/**
 * The Node that runs the tollgate CLI: the project's Node 24 (the `node` npm package), which npm
 * scripts put first on PATH; vitest started some other way may run on an older system Node.
 */
export const nodeBin: string = existsSync(join(repoRoot, 'node_modules', '.bin', 'node'))
  ? join(repoRoot, 'node_modules', '.bin', 'node')
  : process.execPath;

/** Name of the webhook in the chart's ValidatingWebhookConfiguration (prefix of audit annotations). */
export const webhookName = 'validate.tollgate.dev';

/** A running `tollgate serve`. */
export interface TollgateServer {
  /** `https://127.0.0.1:<port>/validate`, for `clientConfig.url`. */
  readonly url: string;
  readonly port: number;
  readonly opsUrl: string;
  /** The CA that signed its serving certificate, for `caBundle`. */
  readonly caPem: string;
  /** Its serving certificate material, to restart it behind the same registration. */
  readonly tls: NonNullable<TollgateOptions['tls']>;
  readonly process: ManagedProcess;
  stop(): Promise<void>;
}

/** Options of {@link startTollgate}. */
export interface TollgateOptions {
  readonly cluster: ClusterInfo;
  /** Bundle file; default: the embedded finance baseline. */
  readonly bundle?: string;
  /** Test clock (`--now`), ISO-8601. */
  readonly now?: string;
  /** Reuse a port, e.g. to restart the webhook behind an existing registration. */
  readonly port?: number;
  /** Reuse a CA (must go with the same port's registration). */
  readonly tls?: {
    readonly dir: string;
    readonly caPem: string;
    readonly certFile: string;
    readonly keyFile: string;
  };
  readonly extraArgs?: readonly string[];
}

/** Serving certificate material for `tollgate serve`, signed by a CA generated for the run. */
export function webhookTls(cluster: ClusterInfo): NonNullable<TollgateOptions['tls']> {
  const dir = mkdtempSync(join(cluster.dir, 'tollgate-tls-'));
  const ca = createCertificateAuthority(dir, 'webhook');
  const serving = issueCertificate(ca, 'tollgate-serving', {
    commonName: 'tollgate-e2e',
    usage: 'server',
    altNames: ['IP:127.0.0.1', 'DNS:localhost'],
  });
  return { dir, caPem: ca.pem, ...serving };
}

/**
 * Starts `tollgate serve` (the real CLI, as a child process) on 127.0.0.1 with a serving certificate
 * from a generated CA and the cluster's kubeconfig for namespace labels; resolves when its /readyz is 200.
 */
export async function startTollgate(options: TollgateOptions): Promise<TollgateServer> {
  const tls = options.tls ?? webhookTls(options.cluster);
  // A port found free can be taken by another process before tollgate binds it (other test files
  // run beside this one): try fresh ports a few times unless the caller fixed the port.
  for (let attempt = 1; ; attempt++) {
    try {
      return await startTollgateOnce(options, tls);
    } catch (error) {
      const collided = error instanceof PortInUseError && options.port === undefined && attempt < 4;
      if (!collided) throw error;
    }
  }
}

/** `tollgate serve` could not bind a port it was given. */
class PortInUseError extends Error {}

async function startTollgateOnce(
  options: TollgateOptions,
  tls: NonNullable<TollgateOptions['tls']>,
): Promise<TollgateServer> {
  const port = options.port ?? (await freePort());
  const opsPort = await freePort();
  const logDir = join(options.cluster.dir, 'logs');
  mkdirSync(logDir, { recursive: true });
  const logFile = join(logDir, `tollgate-${port}-${Date.now()}.log`);
  const args = [
    join(repoRoot, 'bin', 'tollgate.js'),
    'serve',
    '--host=127.0.0.1',
    `--port=${port}`,
    '--ops-host=127.0.0.1',
    `--ops-port=${opsPort}`,
    `--tls-cert=${tls.certFile}`,
    `--tls-key=${tls.keyFile}`,
    `--kubeconfig=${options.cluster.kubeconfigFile}`,
    '--reload-interval=1',
    ...(options.bundle ? [`--bundle=${options.bundle}`] : []),
    ...(options.now ? [`--now=${options.now}`] : []),
    ...(options.extraArgs ?? []),
  ];
  const child = startProcess({
    name: 'tollgate serve',
    command: nodeBin,
    args,
    logFile,
    cwd: repoRoot,
  });
  const opsUrl = `http://127.0.0.1:${opsPort}`;
  const deadline = Date.now() + 30_000;
  for (;;) {
    if (!child.running()) {
      const tail = logTail(logFile);
      const message = `tollgate serve exited (${await child.exited}):\n${tail}`;
      throw tail.includes('EADDRINUSE') ? new PortInUseError(message) : new Error(message);
    }
    try {
      if ((await fetch(`${opsUrl}/readyz`)).ok) break;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) {
      await child.stop();
      throw new Error(`tollgate serve not ready after 30 s:\n${logTail(logFile)}`);
    }
    await sleep(200);
  }
  return {
    url: `https://127.0.0.1:${port}/validate`,
    port,
    opsUrl,
    caPem: tls.caPem,
    tls,
    process: child,
    stop: () => child.stop(),
  };
}

/** Options of {@link chartWebhookConfiguration}. */
export interface WebhookConfigurationOptions {
  readonly url: string;
  readonly caPem: string;
  /** Release name: the configuration's name is derived from it by the chart. */
  readonly release?: string;
  /** Release namespace (always excluded by the chart). */
  readonly namespace?: string;
  readonly excludedNamespaces?: readonly string[];
  readonly failurePolicy?: 'Fail' | 'Ignore';
  readonly timeoutSeconds?: number;
}

interface WebhookConfiguration extends KubeObject {
  webhooks: Array<{ name: string; clientConfig: Record<string, unknown>; [key: string]: unknown }>;
}

/**
 * The chart's ValidatingWebhookConfiguration (rules, namespaceSelector, matchConditions, failure policy)
 * rendered by `helm template`, with `clientConfig` pointed at a local `tollgate serve` by URL.
 */
export function chartWebhookConfiguration(options: WebhookConfigurationOptions): WebhookConfiguration {
  const values = {
    tls: { mode: 'secret', existingSecret: 'tollgate-e2e-tls', caBundle: options.caPem },
    webhook: {
      ...(options.failurePolicy ? { failurePolicy: options.failurePolicy } : {}),
      ...(options.timeoutSeconds ? { timeoutSeconds: options.timeoutSeconds } : {}),
      // The chart insists on the system namespaces being excluded.
      excludedNamespaces: [
        ...new Set(['kube-system', 'kube-node-lease', ...(options.excludedNamespaces ?? [])]),
      ],
    },
  };
  const valuesFile = join(mkdtempSync(join(tmpdir(), 'tollgate-e2e-values-')), 'values.json');
  writeFileSync(valuesFile, JSON.stringify(values));
  const args = [
    'template',
    options.release ?? 'tollgate',
    join(repoRoot, 'charts', 'tollgate'),
    '--namespace',
    options.namespace ?? 'tollgate-system',
    '--show-only',
    'templates/webhook.yaml',
    '--values',
    valuesFile,
  ];
  let rendered: string;
  try {
    rendered = execFileSync(toolPath('helm'), args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  } finally {
    rmSync(dirname(valuesFile), { recursive: true, force: true });
  }
  const config = parse(rendered) as WebhookConfiguration;
  if (config.kind !== 'ValidatingWebhookConfiguration' || !Array.isArray(config.webhooks)) {
    throw new Error(`helm template did not render a ValidatingWebhookConfiguration:\n${rendered}`);
  }
  for (const webhook of config.webhooks) {
    webhook.clientConfig = { url: options.url, caBundle: Buffer.from(options.caPem).toString('base64') };
  }
  return config;
}

const VWC_PATH = '/apis/admissionregistration.k8s.io/v1/validatingwebhookconfigurations';

/** Creates (or replaces) a ValidatingWebhookConfiguration. */
export async function registerWebhook(kube: KubeClient, config: WebhookConfiguration): Promise<void> {
  const name = config.metadata?.name ?? '';
  await kube.delete(`${VWC_PATH}/${name}`);
  const res = await kube.create(VWC_PATH, config);
  if (res.status !== 201) throw new Error(`registering ${name}: ${res.status} ${JSON.stringify(res.body)}`);
}

/** Deletes a ValidatingWebhookConfiguration (no error when absent). */
export async function unregisterWebhook(kube: KubeClient, name: string): Promise<void> {
  await kube.delete(`${VWC_PATH}/${name}`);
}

/**
 * Waits until the API server routes requests in `namespace` through the webhook: the configuration
 * reaches the admission plugin through an informer, a moment after it is created. `probe` is a Pod
 * the active bundle denies; it is only ever sent as a dry-run.
 */
export async function waitForWebhook(
  kube: KubeClient,
  namespace: string,
  probe: unknown,
  expect: 'denied' | 'unreachable' = 'denied',
): Promise<void> {
  const deadline = Date.now() + 30_000;
  for (;;) {
    const res = await kube.create(`/api/v1/namespaces/${namespace}/pods`, probe, { dryRun: true });
    const message = (res.body as { message?: string } | undefined)?.message ?? '';
    if (expect === 'denied' && res.status === 403 && message.includes(webhookName)) return;
    if (expect === 'unreachable' && res.status >= 500 && message.includes(webhookName)) return;
    if (Date.now() > deadline) {
      throw new Error(`webhook not active in ${namespace} after 30 s: ${res.status} ${message}`);
    }
    await sleep(250);
  }
}

/** Creates a namespace unless it exists. */
export async function ensureNamespace(
  kube: KubeClient,
  name: string,
  labels: Readonly<Record<string, string>> = {},
): Promise<void> {
  // Look first: a create of an existing namespace still passes admission, where a webhook may deny it.
  if ((await kube.get(`/api/v1/namespaces/${name}`)).status === 200) return;
  const res = await kube.create('/api/v1/namespaces', {
    apiVersion: 'v1',
    kind: 'Namespace',
    metadata: { name, labels },
  });
  if (res.status !== 201 && res.status !== 409) {
    throw new Error(`creating namespace ${name}: ${res.status} ${JSON.stringify(res.body)}`);
  }
}

/** A minimal Pod manifest with one container per image. */
export function pod(
  name: string,
  images: readonly string[],
  extra: Record<string, unknown> = {},
): KubeObject {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name },
    spec: {
      containers: images.map((image, i) => ({ name: `c${i}`, image })),
      ...extra,
    },
  };
}

/** Sum of `tollgate_admission_requests_total` on a webhook's /metrics. */
export async function admissionRequests(server: TollgateServer): Promise<number> {
  const text = await (await fetch(`${server.opsUrl}/metrics`)).text();
  let total = 0;
  for (const line of text.split('\n')) {
    if (line.startsWith('tollgate_admission_requests_total')) total += Number(line.split(' ').pop());
  }
  return total;
}

/**
 * Waits until the API server sends requests in `namespace` to `server`, whatever the bundle decides:
 * dry-run creates a Pod until the webhook's request counter moves.
 */
export async function waitForWebhookTraffic(
  kube: KubeClient,
  server: TollgateServer,
  namespace: string,
): Promise<void> {
  const deadline = Date.now() + 30_000;
  const before = await admissionRequests(server);
  for (;;) {
    await kube.create(
      `/api/v1/namespaces/${namespace}/pods`,
      pod('traffic-probe', ['registry.corp.example/erp/odoo:17.0']),
      {
        dryRun: true,
      },
    );
    if ((await admissionRequests(server)) > before) return;
    if (Date.now() > deadline) throw new Error(`API server sent nothing to ${server.url} after 30 s`);
    await sleep(250);
  }
}

/** The TEST-ONLY approver keys of the freeze-windows samples (their private halves are public). */
const breakGlassKeys = join(repoRoot, 'policies', 'freeze-windows', 'samples', 'keys');

/**
 * A break-glass token for one object, requested by alice (ticket CHG-4711) and approved by the two
 * TEST-ONLY controllers, made with the real `tollgate break-glass` CLI in a scratch directory.
 */
export function breakGlassToken(
  scratch: string,
  target: { readonly namespace: string; readonly kind: string; readonly name: string },
): string {
  const dir = mkdtempSync(join(scratch, 'break-glass-'));
  const tollgateCli = (args: readonly string[]): void => {
    execFileSync(nodeBin, [join(repoRoot, 'bin', 'tollgate.js'), 'break-glass', ...args], {
      cwd: repoRoot,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
  };
  const request = join(dir, 'request.json');
  tollgateCli([
    'request',
    '--requester=alice@corp.example',
    '--ticket=CHG-4711',
    '--reason=e2e: emergency rollback during close',
    `--namespace=${target.namespace}`,
    `--kind=${target.kind}`,
    `--name=${target.name}`,
    '--not-before=2026-01-01T00:00:00Z',
    '--expires=2027-01-01T00:00:00Z',
    `--out=${request}`,
  ]);
  const once = join(dir, 'approved-1.json');
  const twice = join(dir, 'approved-2.json');
  tollgateCli([
    'approve',
    request,
    `--key=${join(breakGlassKeys, 'TEST-ONLY.controller-de@corp.example.private.jwk.json')}`,
    `--out=${once}`,
  ]);
  tollgateCli([
    'approve',
    once,
    `--key=${join(breakGlassKeys, 'TEST-ONLY.controller-us@corp.example.private.jwk.json')}`,
    `--out=${twice}`,
  ]);
  return readFileSync(twice, 'utf8').trim();
}

/**
 * Installs the PolicyReport CRDs the chart vendors (charts/tollgate/files/crds) and waits until the
 * API server serves wgpolicyk8s.io/v1alpha2.
 */
export async function installPolicyReportCrds(kube: KubeClient): Promise<void> {
  const dir = join(repoRoot, 'charts', 'tollgate', 'files', 'crds');
  for (const file of ['wgpolicyk8s.io_policyreports.yaml', 'wgpolicyk8s.io_clusterpolicyreports.yaml']) {
    const crd = parseAllDocuments(readFileSync(join(dir, file), 'utf8'))
      .map((doc) => doc.toJS() as KubeObject | null)
      .find((doc) => doc?.kind === 'CustomResourceDefinition');
    const res = await kube.create('/apis/apiextensions.k8s.io/v1/customresourcedefinitions', crd);
    if (res.status !== 201 && res.status !== 409)
      throw new Error(`cannot install ${file}: ${res.status} ${JSON.stringify(res.body)}`);
  }
  for (let i = 0; i < 100; i++) {
    const res = await kube.get<{ resources?: Array<{ name: string }> }>('/apis/wgpolicyk8s.io/v1alpha2');
    if (res.status === 200 && res.body.resources?.some((r) => r.name === 'clusterpolicyreports')) return;
    await sleep(100);
  }
  throw new Error('the PolicyReport CRDs did not become established');
}
