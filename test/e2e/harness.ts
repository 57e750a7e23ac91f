import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { KubeClient, type KubeConnection } from './kube.ts';
import { createCertificateAuthority, createServiceAccountKey, issueCertificate } from './pki.ts';
import { logTail, reapOrphans, startProcess, type ManagedProcess } from './processes.ts';
import { toolPath } from './tools.ts';

/**
 * Everything a test needs to talk to the cluster the harness started. Plain data, so vitest's
 * globalSetup can `provide` it to the test files.
 */
export interface ClusterInfo extends KubeConnection {
  /** Scratch directory of this run: certificates, logs, etcd data. */
  readonly dir: string;
  /** The API server's audit log (JSON lines, level Metadata). */
  readonly auditLogFile: string;
  /** A kubeconfig with the admin client certificate, for `tollgate serve` or kubectl. */
  readonly kubeconfigFile: string;
  readonly apiServerLogFile: string;
  readonly etcdLogFile: string;
  /** `Kubernetes vX.Y.Z` as the binary reports it. */
  readonly kubernetesVersion: string;
}

/** A running etcd + kube-apiserver pair. */
export interface Cluster {
  readonly info: ClusterInfo;
  readonly client: KubeClient;
  /** Stops both processes by PID; `keepDir` leaves the scratch directory for inspection. */
  stop(options?: { readonly keepDir?: boolean }): Promise<void>;
}

/** Options for {@link startCluster}. */
export interface ClusterOptions {
  /** Extra kube-apiserver flags, e.g. `--feature-gates=...`. */
  readonly apiServerArgs?: readonly string[];
  /** Give up waiting for /readyz after this long. */
  readonly readyTimeoutMs?: number;
}

/** A port on 127.0.0.1 that was free a moment ago. */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => {
        if (address && typeof address === 'object') resolve(address.port);
        else reject(new Error('no port'));
      });
    });
  });
}

/** The audit policy: everything at Metadata (which carries admission audit annotations), minus the API server's own loopback traffic. */
const AUDIT_POLICY = `apiVersion: audit.k8s.io/v1
kind: Policy
omitStages: ["RequestReceived"]
rules:
  - level: None
    users: ["system:apiserver"]
  - level: None
    nonResourceURLs: ["/readyz*", "/livez*", "/healthz*", "/version"]
  - level: Metadata
`;

const SCRATCH_PREFIX = 'tollgate-e2e-';
const OWNER_FILE = '.owner';

function scratchBase(): string {
  // etcd 3.4 has no --unsafe-no-fsync: keep its data in memory when /dev/shm is there.
  return existsSync('/dev/shm') ? '/dev/shm' : tmpdir();
}

/**
 * Removes scratch directories of earlier runs whose test runner died without tearing down (their
 * `.owner` PID is gone). Directories kept on purpose (TOLLGATE_E2E_KEEP) have no `.owner` left.
 */
function removeStaleScratch(): void {
  const base = scratchBase();
  for (const entry of readdirSync(base)) {
    if (!entry.startsWith(SCRATCH_PREFIX)) continue;
    const dir = join(base, entry);
    let owner: number;
    try {
      owner = Number(readFileSync(join(dir, OWNER_FILE), 'utf8'));
    } catch {
      continue;
    }
    try {
      process.kill(owner, 0);
    } catch {
      rmSync(dir, { recursive: true, force: true });
    }
  }
}

function scratchDir(): string {
  const dir = mkdtempSync(join(scratchBase(), SCRATCH_PREFIX));
  writeFileSync(join(dir, OWNER_FILE), String(process.pid));
  return dir;
}

async function waitFor(
  what: string,
  processes: readonly ManagedProcess[],
  timeoutMs: number,
  probe: () => Promise<boolean>,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    for (const p of processes) {
      if (!p.running()) {
        throw new Error(
          `${p.name} exited (${await p.exited}) while waiting for ${what}:\n${logTail(p.logFile)}`,
        );
      }
    }
    try {
      if (await probe()) return;
    } catch {
      // not up yet
    }
    if (Date.now() > deadline) {
      const logs = processes.map((p) => `--- ${p.name} (${p.logFile})\n${logTail(p.logFile)}`).join('\n');
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}\n${logs}`);
    }
    await sleep(250);
  }
}

function kubeconfig(info: KubeConnection): string {
  const file = (f: string): string => JSON.stringify(f);
  return `apiVersion: v1
kind: Config
clusters:
  - name: e2e
    cluster:
      server: ${info.url}
      certificate-authority: ${file(info.caFile)}
users:
  - name: admin
    user:
      client-certificate: ${file(info.certFile)}
      client-key: ${file(info.keyFile)}
contexts:
  - name: e2e
    context: { cluster: e2e, user: admin }
current-context: e2e
`;
}

/**
 * Starts etcd and kube-apiserver on loopback with fresh certificates, a service-account key and an
 * audit log, and waits until the API server is ready. The caller authenticates as a member of
 * system:masters. Processes are torn down by PID by `stop()`, or on exit/signals if it is never called.
 */
export async function startCluster(options: ClusterOptions = {}): Promise<Cluster> {
  reapOrphans();
  removeStaleScratch();
  const etcdBin = toolPath('etcd');
  const apiServerBin = toolPath('kube-apiserver');
  const dir = scratchDir();
  const pki = join(dir, 'pki');
  mkdirSync(pki);
  const started: ManagedProcess[] = [];
  const stopAll = async (): Promise<void> => {
    for (const p of [...started].reverse()) await p.stop();
  };
  try {
    const ca = createCertificateAuthority(pki, 'cluster');
    const serving = issueCertificate(ca, 'apiserver', {
      commonName: 'kube-apiserver',
      usage: 'server',
      altNames: ['IP:127.0.0.1', 'DNS:localhost', 'DNS:kubernetes.default.svc'],
    });
    const admin = issueCertificate(ca, 'admin', {
      commonName: 'tollgate-e2e-admin',
      organizations: ['system:masters'],
      usage: 'client',
    });
    const sa = createServiceAccountKey(pki);
    const auditPolicyFile = join(dir, 'audit-policy.yaml');
    writeFileSync(auditPolicyFile, AUDIT_POLICY);

    const [etcdClientPort, etcdPeerPort, apiPort] = [await freePort(), await freePort(), await freePort()];
    const etcdUrl = `http://127.0.0.1:${etcdClientPort}`;
    const etcdPeerUrl = `http://127.0.0.1:${etcdPeerPort}`;
    const etcdLogFile = join(dir, 'etcd.log');
    const etcd = startProcess({
      name: 'etcd',
      command: etcdBin,
      logFile: etcdLogFile,
      args: [
        '--name=e2e',
        `--data-dir=${join(dir, 'etcd')}`,
        `--listen-client-urls=${etcdUrl}`,
        `--advertise-client-urls=${etcdUrl}`,
        `--listen-peer-urls=${etcdPeerUrl}`,
        `--initial-advertise-peer-urls=${etcdPeerUrl}`,
        `--initial-cluster=e2e=${etcdPeerUrl}`,
        '--listen-metrics-urls=',
        '--log-level=warn',
        '--logger=zap',
      ],
      // etcd reads ETCD_* variables as flags; do not inherit any.
      env: Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('ETCD_'))),
    });
    started.push(etcd);
    await waitFor('etcd /health', [etcd], 30_000, async () => {
      const res = await fetch(`${etcdUrl}/health`);
      return res.ok;
    });

    const url = `https://127.0.0.1:${apiPort}`;
    const auditLogFile = join(dir, 'audit.log');
    const apiServerLogFile = join(dir, 'kube-apiserver.log');
    const apiServer = startProcess({
      name: 'kube-apiserver',
      command: apiServerBin,
      logFile: apiServerLogFile,
      args: [
        `--etcd-servers=${etcdUrl}`,
        '--bind-address=127.0.0.1',
        '--advertise-address=127.0.0.1',
        `--secure-port=${apiPort}`,
        `--cert-dir=${join(dir, 'apiserver-certs')}`,
        `--tls-cert-file=${serving.certFile}`,
        `--tls-private-key-file=${serving.keyFile}`,
        `--client-ca-file=${ca.certFile}`,
        `--service-account-key-file=${sa.publicKeyFile}`,
        `--service-account-signing-key-file=${sa.keyFile}`,
        '--service-account-issuer=https://kubernetes.default.svc.cluster.local',
        '--service-cluster-ip-range=10.0.0.0/24',
        '--authorization-mode=RBAC',
        // Pods are admitted without a ServiceAccount controller; privileged pods reach our webhook.
        '--disable-admission-plugins=ServiceAccount',
        '--allow-privileged=true',
        '--endpoint-reconciler-type=none',
        '--enable-priority-and-fairness=false',
        '--profiling=false',
        `--audit-policy-file=${auditPolicyFile}`,
        `--audit-log-path=${auditLogFile}`,
        '--audit-log-mode=blocking',
        '--audit-log-maxage=0',
        '--audit-log-maxbackup=0',
        ...(options.apiServerArgs ?? []),
      ],
    });
    started.push(apiServer);
    const connection: KubeConnection = {
      url,
      caFile: ca.certFile,
      certFile: admin.certFile,
      keyFile: admin.keyFile,
    };
    const client = new KubeClient(connection);
    await waitFor(
      'kube-apiserver /readyz',
      [etcd, apiServer],
      options.readyTimeoutMs ?? 120_000,
      async () => {
        const res = await client.get('/readyz');
        return res.status === 200;
      },
    );
    const version = await client.get<{ gitVersion: string }>('/version');
    const kubeconfigFile = join(dir, 'kubeconfig.yaml');
    writeFileSync(kubeconfigFile, kubeconfig(connection));
    const info: ClusterInfo = {
      ...connection,
      dir,
      auditLogFile,
      kubeconfigFile,
      apiServerLogFile,
      etcdLogFile,
      kubernetesVersion: `Kubernetes ${version.body.gitVersion}`,
    };
    return {
      info,
      client,
      async stop(stopOptions = {}): Promise<void> {
        client.close();
        await stopAll();
        if (stopOptions.keepDir) rmSync(join(dir, OWNER_FILE), { force: true });
        else rmSync(dir, { recursive: true, force: true });
      },
    };
  } catch (error) {
    await stopAll();
    throw error;
  }
}

/** One line of the API server's audit log (audit.k8s.io/v1 Event), the fields the tests read. */
export interface AuditEvent {
  readonly auditID: string;
  readonly stage: string;
  readonly verb: string;
  readonly requestURI: string;
  readonly user?: { readonly username?: string };
  /** The identity the request acted as (Impersonate-User), when it impersonated one. */
  readonly impersonatedUser?: { readonly username?: string };
  readonly objectRef?: {
    readonly resource?: string;
    readonly namespace?: string;
    readonly name?: string;
    readonly subresource?: string;
  };
  readonly responseStatus?: { readonly code?: number; readonly message?: string };
  readonly annotations?: Readonly<Record<string, string>>;
}

/** Parses the audit log written so far. */
export function readAuditLog(auditLogFile: string): AuditEvent[] {
  let text: string;
  try {
    text = readFileSync(auditLogFile, 'utf8');
  } catch {
    return [];
  }
  return text
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line) => JSON.parse(line) as AuditEvent);
}

/** Polls the audit log until an event matches (the log is written as the response completes). */
export async function waitForAuditEvent(
  auditLogFile: string,
  predicate: (event: AuditEvent) => boolean,
  timeoutMs = 10_000,
): Promise<AuditEvent> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const found = readAuditLog(auditLogFile).find(predicate);
    if (found) return found;
    if (Date.now() > deadline)
      throw new Error(`no matching audit event in ${auditLogFile} after ${timeoutMs} ms`);
    await sleep(200);
  }
}
