/**
 * `tollgate serve`: the validating admission webhook. Parses flags into {@link StartWebhookOptions},
 * starts the webhook, prints where it listens (and the CA bundle of a generated certificate), and on
 * SIGTERM or SIGINT stops accepting, finishes in-flight requests and returns.
 */
import { existsSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { defaultWriterId } from '../../io/decision-log/chain.ts';
import { loadCheckpointKey } from '../../io/decision-log/checkpoint.ts';
import { defaultBundlePath } from '../../io/default-bundle.ts';
import { bundleFlags, nowFlag, optionalNow, signedBundleFlags } from '../flags.ts';
import type { CommandIO } from '../io.ts';
import { UsageError } from '../io.ts';
import { defaultSignaturePath } from '../../io/signing/signing.ts';
import type { ClusterConfig } from '../../webhook/src/namespaces.ts';
import type { FailureAction } from '../../webhook/src/server.ts';
import { startWebhook } from '../../webhook/src/webhook.ts';
import type { BundleSignatureOptions, StartWebhookOptions } from '../../webhook/src/webhook.ts';

const help = `usage: tollgate serve [options]

Runs the validating admission webhook: POST /validate (admission.k8s.io/v1 AdmissionReview) over
HTTPS, and /healthz, /readyz, /metrics over plain HTTP on the ops port.

  --bundle FILE            policy bundle, reloaded when it changes (default: embedded finance baseline)
  --require-signed-bundle  load only a bundle with a valid detached JWS by one of --trusted-keys (at
                           start: refuse to start, exit 2; on reload: refuse it, keep the last good)
  --trusted-keys FILE      JWKS, JWK or PEM public keys allowed to sign bundles (read at start)
  --bundle-signature FILE  the bundle's detached JWS, watched with it (default: <bundle>.jws)
  --host ADDR              HTTPS listen address (default 0.0.0.0)
  --port N                 HTTPS port (default 8443; 0 picks a free port)
  --ops-host ADDR          ops listen address (default 0.0.0.0)
  --ops-port N             ops port for /healthz /readyz /metrics (default 8080; 0 picks a free port)
  --tls-cert FILE          serving certificate (PEM); reloaded without restart when it rotates
  --tls-key FILE           its private key (PEM)
  --tls-san NAME           extra DNS name or IP for the generated self-signed certificate (repeatable)
  --write-ca FILE          write the generated CA certificate (PEM) to FILE
  --kubeconfig FILE        cluster for namespace labels (in a pod: the service account is used)
  --registry-auth FILE     docker config.json with registry credentials (signature look-ups)
  --timeout-seconds N      the webhook timeout configured in the API server (default 10); tollgate
                           answers with the failure action 1.5 s before it
  --failure-action A       deny | allow when no decision is made in time (default deny)
  --reload-interval SECS   how often the bundle and certificate files are checked (default 5)
  --log-level LEVEL        pino level (default info)
  --decision-log FILE      append the hash-chained decision log to FILE (default: standard output)
  --checkpoint-key FILE    private key (PEM or JWK; Ed25519, P-256/384/521, RSA) signing the log's
                           checkpoints (tollgate evidence verify --trusted-keys checks them)
  --checkpoint-every N     lines between checkpoints (default 1000)
  --checkpoint-interval S  longest time between checkpoints in seconds (default 60)
  --writer-id ID           the log's writer id (default: POD_NAME or host name, pid, random suffix)
  --now ISO-8601           TEST ONLY: evaluate every request at this fixed instant (freeze-window e2e)
`;

/** Whether the process runs in a pod with a service account. */
function inCluster(env: CommandIO['env']): boolean {
  return (
    Boolean(env['KUBERNETES_SERVICE_HOST']) &&
    existsSync('/var/run/secrets/kubernetes.io/serviceaccount/token')
  );
}

function integer(
  value: string | undefined,
  flag: string,
  fallback: number,
  min: number,
  max: number,
): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isInteger(n) || n < min || n > max)
    throw new UsageError(`${flag} must be an integer from ${min} to ${max}, not "${value}"`);
  return n;
}

/** Parses `tollgate serve` arguments into start options (plus CLI-only settings). */
export function parseServeArgs(
  args: string[],
  io: Pick<CommandIO, 'cwd' | 'env'>,
): {
  options: StartWebhookOptions;
  writeCa?: string;
  help: boolean;
  clusterNote: string;
  logLevel: string;
  decisionLog: DecisionLogFlags;
} {
  let parsed;
  try {
    parsed = parseArgs({
      args,
      allowPositionals: false,
      options: {
        ...bundleFlags,
        host: { type: 'string' },
        port: { type: 'string' },
        'ops-host': { type: 'string' },
        'ops-port': { type: 'string' },
        'tls-cert': { type: 'string' },
        'tls-key': { type: 'string' },
        'tls-san': { type: 'string', multiple: true },
        'write-ca': { type: 'string' },
        kubeconfig: { type: 'string' },
        'registry-auth': { type: 'string' },
        'timeout-seconds': { type: 'string' },
        'failure-action': { type: 'string' },
        'reload-interval': { type: 'string' },
        'log-level': { type: 'string' },
        'decision-log': { type: 'string' },
        'checkpoint-key': { type: 'string' },
        'checkpoint-every': { type: 'string' },
        'checkpoint-interval': { type: 'string' },
        'writer-id': { type: 'string' },
        ...nowFlag,
        help: { type: 'boolean', short: 'h' },
      },
    });
  } catch (error) {
    throw new UsageError(`${(error as Error).message}\n\n${help}`);
  }
  const v = parsed.values;
  const certFile = v['tls-cert'];
  const keyFile = v['tls-key'];
  if ((certFile === undefined) !== (keyFile === undefined))
    throw new UsageError('--tls-cert and --tls-key go together');
  const failureAction = v['failure-action'] ?? 'deny';
  if (failureAction !== 'deny' && failureAction !== 'allow')
    throw new UsageError(`--failure-action must be deny or allow, not "${failureAction}"`);
  const now = optionalNow(v.now);
  let cluster: ClusterConfig | undefined;
  let clusterNote: string;
  if (v.kubeconfig) {
    cluster = { kind: 'kubeconfig', file: resolve(io.cwd, v.kubeconfig) };
    clusterNote = `namespace labels from a watch via kubeconfig ${v.kubeconfig}`;
  } else if (inCluster(io.env)) {
    cluster = { kind: 'in-cluster' };
    clusterNote = 'namespace labels from a watch via the in-cluster service account';
  } else {
    clusterNote =
      'no cluster configured: namespace lookups are disabled (policies see no namespace labels); use --kubeconfig';
  }
  let bundleSignature: BundleSignatureOptions | undefined;
  const signed = signedBundleFlags(v, io.cwd);
  if (signed) {
    const bundleFile = v.bundle ? resolve(io.cwd, v.bundle) : defaultBundlePath;
    const signature = signed.signature;
    bundleSignature = {
      signaturePath: signature ? resolve(io.cwd, signature) : defaultSignaturePath(bundleFile),
      signatureLabel: signature ?? defaultSignaturePath(v.bundle ?? 'bundles/finance-baseline.yaml'),
      trustedKeysPath: resolve(io.cwd, signed.trustedKeys),
      trustedKeysLabel: signed.trustedKeys,
    };
  }
  const names = ['localhost', '127.0.0.1', '::1', hostname(), ...(v['tls-san'] ?? [])];
  const options: StartWebhookOptions = {
    bundlePath: v.bundle ? resolve(io.cwd, v.bundle) : defaultBundlePath,
    bundleLabel: v.bundle ?? 'bundles/finance-baseline.yaml (embedded default)',
    ...(bundleSignature ? { bundleSignature } : {}),
    host: v.host ?? '0.0.0.0',
    port: integer(v.port, '--port', 8443, 0, 65535),
    opsHost: v['ops-host'] ?? '0.0.0.0',
    opsPort: integer(v['ops-port'], '--ops-port', 8080, 0, 65535),
    tls:
      certFile && keyFile
        ? { kind: 'files', certFile: resolve(io.cwd, certFile), keyFile: resolve(io.cwd, keyFile) }
        : { kind: 'self-signed', names: [...new Set(names)] },
    timeoutSeconds: integer(v['timeout-seconds'], '--timeout-seconds', 10, 1, 30),
    failureAction: failureAction as FailureAction,
    reloadIntervalMs: integer(v['reload-interval'], '--reload-interval', 5, 1, 3600) * 1000,
    ...(cluster ? { cluster } : {}),
    ...(now ? { now } : {}),
    ...(v['registry-auth'] ? { registryAuthFile: resolve(io.cwd, v['registry-auth']) } : {}),
  };
  return {
    options,
    ...(v['write-ca'] ? { writeCa: resolve(io.cwd, v['write-ca']) } : {}),
    help: v.help === true,
    clusterNote,
    logLevel: v['log-level'] ?? 'info',
    decisionLog: {
      ...(v['decision-log'] ? { file: resolve(io.cwd, v['decision-log']) } : {}),
      ...(v['checkpoint-key'] ? { keyFile: resolve(io.cwd, v['checkpoint-key']) } : {}),
      every: integer(v['checkpoint-every'], '--checkpoint-every', 1000, 1, 10_000_000),
      intervalMs: integer(v['checkpoint-interval'], '--checkpoint-interval', 60, 1, 86_400) * 1000,
      ...(v['writer-id'] ? { writer: v['writer-id'] } : {}),
    },
  };
}

/** The decision log flags of `tollgate serve`. */
export interface DecisionLogFlags {
  readonly file?: string;
  readonly keyFile?: string;
  readonly every: number;
  readonly intervalMs: number;
  readonly writer?: string;
}

/** Runs `tollgate serve` until SIGTERM/SIGINT; returns the exit code. */
export async function run(args: string[], io: CommandIO): Promise<number> {
  const { options, writeCa, help: wantsHelp, clusterNote, logLevel, decisionLog } = parseServeArgs(args, io);
  if (wantsHelp) {
    io.stdout(help);
    return 0;
  }
  const { keyFile, ...logOptions } = decisionLog;
  const key = keyFile ? await loadCheckpointKey(keyFile) : undefined;
  const writer = logOptions.writer ?? defaultWriterId(io.env);
  const webhook = await startWebhook({
    ...options,
    decisionLog: { ...logOptions, level: logLevel, writer, ...(key ? { key } : {}) },
  });
  const { identity } = webhook.bundle.current();
  const host = options.host === '0.0.0.0' ? '127.0.0.1' : options.host;
  const lines = [
    `tollgate serve: admission webhook on https://${host}:${webhook.port}/validate`,
    `tollgate serve: ops on http://${options.opsHost === '0.0.0.0' ? '127.0.0.1' : options.opsHost}:${webhook.opsPort} (/healthz /readyz /metrics)`,
    `tollgate serve: bundle ${identity.name}@${identity.version} ${identity.digest} from ${options.bundleLabel ?? options.bundlePath}`,
    `tollgate serve: ${clusterNote}`,
    `tollgate serve: decision log (hash-chained, writer ${writer}) to ${logOptions.file ?? 'standard output'}; checkpoints every ${logOptions.every} lines or ${logOptions.intervalMs / 1000} s, ${key ? `signed (kid ${key.kid})` : 'unsigned (no --checkpoint-key)'}`,
    `tollgate serve: deadline ${webhook.deadlineMs} ms (timeout ${options.timeoutSeconds} s), failure action ${options.failureAction}`,
  ];
  const signature = webhook.bundle.signature();
  if (options.bundleSignature && signature) {
    const { signatureLabel, signaturePath, trustedKeysLabel, trustedKeysPath } = options.bundleSignature;
    lines.push(
      `tollgate serve: bundle signature verified (${signature.alg}${signature.kid ? `, kid ${signature.kid}` : ''}) from ${signatureLabel ?? signaturePath}; a changed bundle is activated only when signed by a key in ${trustedKeysLabel ?? trustedKeysPath}`,
    );
  }
  if (options.now)
    lines.push(`tollgate serve: TEST CLOCK: every request is evaluated at ${options.now.toISOString()}`);
  if (webhook.caPem) {
    const names = options.tls.kind === 'self-signed' ? options.tls.names.join(', ') : '';
    lines.push(
      `tollgate serve: no --tls-cert given: generated a self-signed certificate for ${names}`,
      'tollgate serve: CA bundle (PEM):',
      webhook.caPem.trimEnd(),
      `tollgate serve: caBundle (base64): ${Buffer.from(webhook.caPem).toString('base64')}`,
    );
    if (writeCa) {
      await writeFile(writeCa, webhook.caPem);
      lines.push(`tollgate serve: CA written to ${writeCa}`);
    }
  }
  io.stderr(`${lines.join('\n')}\n`);
  const signal = await new Promise<NodeJS.Signals>((resolveSignal) => {
    process.once('SIGTERM', () => resolveSignal('SIGTERM'));
    process.once('SIGINT', () => resolveSignal('SIGINT'));
  });
  io.stderr(`tollgate serve: ${signal}: draining ${webhook.server.inFlight()} in-flight request(s)\n`);
  await webhook.stop();
  io.stderr('tollgate serve: stopped\n');
  // A watch socket or timer left behind must not keep a stopped webhook alive.
  setTimeout(() => process.exit(0), 2000).unref();
  return 0;
}
