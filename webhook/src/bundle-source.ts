/**
 * The active policy bundle of the webhook: loaded from a file (a mounted ConfigMap), reloaded when
 * the file changes. An invalid new bundle is refused and the last good one keeps serving; the
 * refusal is logged once per distinct content and counted in a metric.
 *
 * With a required signature (`--require-signed-bundle`), the bundle's exact bytes must carry a
 * detached JWS (`<bundle>.jws` by default) by one of the trusted keys, at start (else the webhook
 * does not start) and on every reload. Both files are watched. A ConfigMap update swaps both at once
 * through its `..data` symlink, but two reads can straddle the swap and see the new bundle with the
 * old signature; so a pair that fails verification is looked at again on the next tick and only
 * refused when it is still the same pair then.
 */
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import type { Logger } from 'pino';
import { BundleError, BundleSignatureError, loadBundle } from '../../policies/index.ts';
import type { CompiledBundle, Policy } from '../../policies/index.ts';
import { verifyBundleSignature } from '../../io/signing/bundle-signature.ts';
import type { TrustedKeys, VerifiedSignature } from '../../io/signing/bundle-signature.ts';
import { watchFiles } from './file-watch.ts';
import type { FileWatcher } from './file-watch.ts';
import type { WebhookMetrics } from './metrics.ts';

/** A required bundle signature: where the detached JWS is, and the keys allowed to have made it. */
export interface BundleSignatureRequirement {
  /** The detached JWS file (`<bundle>.jws` by default). */
  readonly signaturePath: string;
  /** Name of the signature file shown in messages (defaults to the path). */
  readonly signatureLabel?: string;
  /** The trusted keys, parsed once at start. */
  readonly trusted: TrustedKeys;
}

/** Options for {@link openBundleSource}. */
export interface BundleSourceOptions {
  /** The bundle file. */
  readonly path: string;
  /** Name shown in messages (defaults to the path). */
  readonly label?: string;
  readonly policies: readonly Policy<unknown>[];
  /** Period of the change check in milliseconds (directory events trigger checks sooner). */
  readonly intervalMs: number;
  readonly metrics: WebhookMetrics;
  readonly logger: Logger;
  /** When set, only a bundle with a valid signature by a trusted key is ever activated. */
  readonly signature?: BundleSignatureRequirement;
}

/** The live bundle. */
export interface BundleSource {
  /** The last good bundle. */
  current(): CompiledBundle;
  /** The signature of the active bundle, when signatures are required. */
  signature(): VerifiedSignature | undefined;
  /** Checks the files now (tests and SIGHUP). */
  check(): Promise<void>;
  stop(): void;
}

/** The bundle bytes and, with a required signature, the signature text (undefined: no such file). */
interface Contents {
  readonly bytes: Buffer;
  readonly signature?: string | undefined;
}

function digestOf(contents: Contents): string {
  const hash = createHash('sha256').update(contents.bytes);
  hash.update(contents.signature === undefined ? '\0none' : `\0${contents.signature}`);
  return hash.digest('hex');
}

async function readSignature(path: string): Promise<string | undefined> {
  try {
    return await readFile(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
}

/**
 * Loads the bundle (throwing BundleError when the first load fails, BundleSignatureError when a
 * required signature is missing or does not verify) and starts watching it.
 */
export async function openBundleSource(options: BundleSourceOptions): Promise<BundleSource> {
  const label = options.label ?? options.path;
  const required = options.signature;
  const signatureLabel = required ? (required.signatureLabel ?? required.signaturePath) : '';
  /** Verifies (when required) and compiles; throws BundleSignatureError or BundleError. */
  const load = async (
    contents: Contents,
  ): Promise<{ bundle: CompiledBundle; verified: VerifiedSignature | undefined }> => {
    let verified: VerifiedSignature | undefined;
    if (required) {
      if (contents.signature === undefined)
        throw new BundleSignatureError(
          label,
          `it is not signed: no signature at ${signatureLabel} (sign it with tollgate bundle sign --key KEY)`,
        );
      verified = await verifyBundleSignature(contents.bytes, contents.signature, required.trusted, label);
    }
    return { bundle: loadBundle(contents.bytes, { source: label, policies: options.policies }), verified };
  };
  const read = async (): Promise<Contents> => {
    const bytes = await readFile(options.path);
    return required ? { bytes, signature: await readSignature(required.signaturePath) } : { bytes };
  };

  const initial = await read();
  const first = await load(initial);
  let active = first.bundle;
  let activeSignature = first.verified;
  let activeBytes = initial.bytes;
  options.metrics.bundleActive(active.identity);
  options.logger.info(
    {
      event: 'bundle-loaded',
      bundle: active.identity,
      file: options.path,
      ...(required ? { signature: { file: required.signaturePath, ...activeSignature } } : {}),
    },
    required ? 'bundle active (signature verified)' : 'bundle active',
  );

  /** The last refused contents (logged and counted once). */
  let refusedDigest: string | undefined;
  /** Contents whose signature failed once; refused when still the same on the next tick. */
  let pending: { digest: string; timer: NodeJS.Timeout } | undefined;
  let stopped = false;
  let unreadable = false;
  const clearPending = (): void => {
    if (pending) clearTimeout(pending.timer);
    pending = undefined;
  };

  const evaluate = async (contents: Contents): Promise<void> => {
    // The active bundle's bytes were verified when they were activated: a change of the signature
    // file alone (re-signed, or removed) does not change what is served.
    if (contents.bytes.equals(activeBytes)) {
      clearPending();
      refusedDigest = undefined;
      return;
    }
    const digest = digestOf(contents);
    if (digest === refusedDigest) return;
    try {
      const next = await load(contents);
      clearPending();
      refusedDigest = undefined;
      const previous = active.identity;
      active = next.bundle;
      activeSignature = next.verified;
      activeBytes = contents.bytes;
      options.metrics.bundleActive(active.identity);
      options.metrics.bundleReloaded();
      options.logger.info(
        {
          event: 'bundle-reloaded',
          bundle: active.identity,
          previous,
          file: options.path,
          ...(required ? { signature: { file: required.signaturePath, ...activeSignature } } : {}),
        },
        required ? 'bundle reloaded (signature verified)' : 'bundle reloaded',
      );
    } catch (error) {
      const signatureFailed = error instanceof BundleSignatureError;
      if (signatureFailed && pending?.digest !== digest) {
        // Maybe the bundle arrived before its signature: look again on the next tick.
        clearPending();
        const timer = setTimeout(() => void check(), options.intervalMs);
        timer.unref();
        pending = { digest, timer };
        options.logger.info(
          { event: 'bundle-signature-pending', file: options.path, reason: (error as Error).message },
          'the changed bundle does not verify yet; checking again on the next tick before refusing it',
        );
        return;
      }
      clearPending();
      refusedDigest = digest;
      options.metrics.bundleReloadFailed();
      const issues = error instanceof BundleError ? error.issues : undefined;
      options.logger.error(
        {
          event: 'bundle-reload-refused',
          file: options.path,
          serving: active.identity,
          reason: signatureFailed ? 'signature' : error instanceof BundleError ? 'invalid' : 'error',
          ...(signatureFailed
            ? { code: (error as BundleSignatureError).code, error: (error as Error).message }
            : issues
              ? { issues }
              : { err: error }),
        },
        signatureFailed
          ? `${(error as Error).message}; still serving ${active.identity.name}@${active.identity.version} ${active.identity.digest}`
          : `refused the changed bundle; still serving ${active.identity.name}@${active.identity.version}`,
      );
    }
  };

  let queue: Promise<void> = Promise.resolve();
  /** Reads the files and evaluates them, one evaluation at a time. */
  const check = (): Promise<void> => {
    queue = queue.then(async () => {
      if (stopped) return;
      let contents: Contents;
      try {
        contents = await read();
        unreadable = false;
      } catch (error) {
        // reported once per streak of failures, not on every check
        if (!unreadable)
          options.logger.warn(
            { event: 'bundle-read-failed', file: options.path, err: error },
            'cannot read the bundle file; the last good bundle keeps serving',
          );
        unreadable = true;
        return;
      }
      await evaluate(contents);
    });
    return queue;
  };

  // The watchers only detect changes (directory events and a periodic content digest); what a
  // change means is decided by `check`, which reads the bundle and its signature together.
  const watchers: FileWatcher[] = [
    watchFiles({
      paths: [options.path],
      intervalMs: options.intervalMs,
      initial: [initial.bytes],
      onChange: () => check(),
      onReadError: () => void check(),
    }),
  ];
  if (required)
    watchers.push(
      watchFiles({
        paths: [required.signaturePath],
        intervalMs: options.intervalMs,
        ...(initial.signature !== undefined ? { initial: [Buffer.from(initial.signature)] } : {}),
        onChange: () => check(),
        onReadError: () => void check(),
      }),
    );
  return {
    current: () => active,
    signature: () => activeSignature,
    check,
    stop: () => {
      stopped = true;
      clearPending();
      for (const watcher of watchers) watcher.stop();
    },
  };
}
