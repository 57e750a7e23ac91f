/**
 * Assembles a running webhook from plain options: bundle source with reload, TLS (files with
 * rotation, or a generated self-signed pair), namespace source, services, metrics and the decision
 * log. Used by `tollgate serve` and, in-process, by the tests, the parity test and the bench.
 */
import { readFile } from 'node:fs/promises';
import type { Logger } from 'pino';
import { parseTrustedKeys } from '../../io/signing/bundle-signature.ts';
import { builtinPolicies, BundleSignatureError } from '../../policies/index.ts';
import type { NamespaceLookup, Policy, PolicyServices } from '../../policies/index.ts';
import { openBundleSource } from './bundle-source.ts';
import type { BundleSignatureRequirement, BundleSource } from './bundle-source.ts';
import { createDecisionLog } from './decision-log.ts';
import type { DecisionLog, DecisionLogOptions } from './decision-log.ts';
import type { FileWatcher } from './file-watch.ts';
import { createMetrics } from './metrics.ts';
import type { WebhookMetrics } from './metrics.ts';
import { clusterConnection, informerNamespaces, noNamespaces } from './namespaces.ts';
import type { ClusterConfig, NamespaceSource } from './namespaces.ts';
import { createWebhookServer } from './server.ts';
import type { FailureAction, WebhookServer } from './server.ts';
import { createServices } from '../../io/services.ts';
import { generateSelfSigned, readKeyPair, watchKeyPair } from './tls.ts';
import type { ServingKeyPair } from './tls.ts';

/** TLS configuration: certificate files (reloaded on change), or a self-signed pair for these names. */
export type TlsConfig =
  | { readonly kind: 'files'; readonly certFile: string; readonly keyFile: string }
  | { readonly kind: 'self-signed'; readonly names: readonly string[] };

/** `--require-signed-bundle`: the detached JWS of the bundle and the keys trusted to sign it. */
export interface BundleSignatureOptions {
  /** The detached JWS file (`<bundle>.jws` unless `--bundle-signature` names another). */
  readonly signaturePath: string;
  /** Name of the signature file shown in messages (defaults to the path). */
  readonly signatureLabel?: string;
  /** JWKS, JWK or PEM public keys (`--trusted-keys`), read once at start. */
  readonly trustedKeysPath: string;
  /** Name of the trusted keys file shown in messages (defaults to the path). */
  readonly trustedKeysLabel?: string;
}

/** Options of {@link startWebhook}. */
export interface StartWebhookOptions {
  readonly bundlePath: string;
  readonly bundleLabel?: string;
  /** When set, only a bundle signed by a trusted key is loaded, at start and on reload. */
  readonly bundleSignature?: BundleSignatureOptions;
  /** Policies a bundle may configure (default: the built-in ones). */
  readonly policies?: readonly Policy<unknown>[];
  readonly host: string;
  readonly port: number;
  readonly opsHost: string;
  readonly opsPort: number;
  readonly tls: TlsConfig;
  /** Cluster for namespace labels; undefined runs without namespace look-ups. */
  readonly cluster?: ClusterConfig;
  /** Overrides namespace look-ups (tests, parity). */
  readonly namespaceLookup?: NamespaceLookup;
  /** The webhook's timeout in the ValidatingWebhookConfiguration, in seconds. */
  readonly timeoutSeconds: number;
  readonly failureAction: FailureAction;
  /** Fixed evaluation instant (test clock, `--now`). */
  readonly now?: Date;
  /** Period of the bundle and certificate change checks. */
  readonly reloadIntervalMs: number;
  /** Logger to use; without one, the webhook writes its own hash-chained decision log. */
  readonly logger?: Logger;
  /** The chained decision log written when no `logger` is given (file, checkpoint key, writer id). */
  readonly decisionLog?: DecisionLogOptions;
  /** Docker config.json with registry credentials for the image verifier. */
  readonly registryAuthFile?: string;
  /** Extra services merged over the default ones (tests). */
  readonly services?: PolicyServices;
  /** Registers default process metrics (off in tests that start many servers). */
  readonly defaultMetrics?: boolean;
}

/** A running webhook. */
export interface RunningWebhook {
  readonly port: number;
  readonly opsPort: number;
  /** CA certificate (PEM) of the generated self-signed pair, if one was generated. */
  readonly caPem?: string;
  readonly deadlineMs: number;
  readonly server: WebhookServer;
  readonly bundle: BundleSource;
  readonly namespaces: NamespaceSource;
  readonly metrics: WebhookMetrics;
  readonly logger: Logger;
  /** The services policies receive (`imageVerifier`, ...). */
  readonly services: PolicyServices;
  /** Stops accepting, drains in-flight requests (at most `graceMs`), stops watchers and informers. */
  stop(graceMs?: number): Promise<void>;
}

/** The internal per-request deadline for a webhook timeout: 1.5 s of margin, at least 0.5 s. */
export function deadlineFor(timeoutSeconds: number): number {
  return Math.max(500, Math.round(timeoutSeconds * 1000 - 1500));
}

/** Reads and parses the trusted keys of a required bundle signature; throws BundleSignatureError. */
async function signatureRequirement(
  signature: BundleSignatureOptions,
  bundleLabel: string,
): Promise<BundleSignatureRequirement> {
  const keysLabel = signature.trustedKeysLabel ?? signature.trustedKeysPath;
  let keysText: string;
  try {
    keysText = await readFile(signature.trustedKeysPath, 'utf8');
  } catch (error) {
    throw new BundleSignatureError(
      bundleLabel,
      `cannot read trusted keys ${keysLabel}: ${(error as Error).message}`,
    );
  }
  return {
    signaturePath: signature.signaturePath,
    ...(signature.signatureLabel ? { signatureLabel: signature.signatureLabel } : {}),
    trusted: await parseTrustedKeys(keysText, keysLabel),
  };
}

/**
 * Starts the webhook; throws BundleError for an invalid bundle, BundleSignatureError for a required
 * signature that is missing or does not verify, and errors for unreadable TLS files.
 */
export async function startWebhook(options: StartWebhookOptions): Promise<RunningWebhook> {
  let decisionLog: DecisionLog | undefined;
  if (!options.logger) decisionLog = createDecisionLog(options.decisionLog);
  const logger = options.logger ?? (decisionLog as DecisionLog).logger;
  const metrics = createMetrics({ defaultMetrics: options.defaultMetrics ?? true });
  let bundle: BundleSource;
  try {
    bundle = await openBundleSource({
      path: options.bundlePath,
      ...(options.bundleLabel ? { label: options.bundleLabel } : {}),
      ...(options.bundleSignature
        ? {
            signature: await signatureRequirement(
              options.bundleSignature,
              options.bundleLabel ?? options.bundlePath,
            ),
          }
        : {}),
      policies: options.policies ?? builtinPolicies,
      intervalMs: options.reloadIntervalMs,
      metrics,
      logger,
    });
  } catch (error) {
    await decisionLog?.close();
    throw error;
  }

  const cleanups: Array<() => Promise<void> | void> = [() => bundle.stop()];
  try {
    let keyPair: ServingKeyPair;
    let caPem: string | undefined;
    if (options.tls.kind === 'files') keyPair = await readKeyPair(options.tls.certFile, options.tls.keyFile);
    else {
      const generated = await generateSelfSigned({ names: options.tls.names });
      keyPair = generated;
      caPem = generated.caPem;
    }
    let namespaces: NamespaceSource;
    if (options.namespaceLookup) {
      namespaces = { ...noNamespaces(), lookup: options.namespaceLookup, description: 'provided look-up' };
    } else if (options.cluster) {
      namespaces = await informerNamespaces({
        connect: await clusterConnection(options.cluster),
        description:
          options.cluster.kind === 'kubeconfig'
            ? `namespace informer via kubeconfig ${options.cluster.file}`
            : 'namespace informer via the in-cluster service account',
        metrics,
        logger,
      });
    } else namespaces = noNamespaces();
    cleanups.push(() => namespaces.stop());
    const deadlineMs = deadlineFor(options.timeoutSeconds);
    // Registry look-ups end 500 ms before the deadline, so a slow registry yields the policy's own
    // `onUnreachable` verdict rather than the failure action.
    const services = await createServices({
      deadlineMs: Math.max(250, deadlineMs - 500),
      ...(options.registryAuthFile ? { registryAuth: options.registryAuthFile } : {}),
    });
    const verifier = services.imageVerifier;
    if (verifier)
      metrics.registerCacheSource('image-signatures', () => {
        const stats = verifier.stats();
        return { hits: stats.cacheHits + stats.inflightJoins, misses: stats.verifications };
      });
    cleanups.push(() => services.stop());
    const server = createWebhookServer({
      bundle,
      namespaces,
      keyPair,
      metrics,
      logger,
      ...(decisionLog ? { recordDecision: decisionLog.decision } : {}),
      failureAction: options.failureAction,
      deadlineMs,
      services: { ...services.services, ...options.services },
      ...(options.now ? { now: options.now } : {}),
    });
    const { port, opsPort } = await server.listen({
      host: options.host,
      port: options.port,
      opsHost: options.opsHost,
      opsPort: options.opsPort,
    });
    let certWatcher: FileWatcher | undefined;
    if (options.tls.kind === 'files') {
      certWatcher = watchKeyPair({
        server: server.https,
        certFile: options.tls.certFile,
        keyFile: options.tls.keyFile,
        initial: keyPair,
        intervalMs: options.reloadIntervalMs,
        metrics,
        logger,
      });
      const watcher = certWatcher;
      cleanups.push(() => watcher.stop());
    }
    const allServices = { ...services.services, ...options.services };
    let stopping: Promise<void> | undefined;
    return {
      port,
      opsPort,
      ...(caPem ? { caPem } : {}),
      deadlineMs,
      server,
      bundle,
      namespaces,
      metrics,
      logger,
      services: allServices,
      stop(graceMs = options.timeoutSeconds * 1000) {
        stopping ??= (async () => {
          await server.close(graceMs);
          for (const cleanup of cleanups.reverse()) await cleanup();
          logger.flush();
          await decisionLog?.close();
        })();
        return stopping;
      },
    };
  } catch (error) {
    for (const cleanup of cleanups.reverse()) await cleanup();
    await decisionLog?.close();
    throw error;
  }
}
