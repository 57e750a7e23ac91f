/**
 * Flags several commands share, parsed one way: `--now`, `--bundle` and the signed-bundle trio
 * (`--require-signed-bundle --trusted-keys --bundle-signature`), the decision-log trio
 * (`--decision-log --checkpoint-key --writer-id`).
 */
import { resolve } from 'node:path';
import { instantExample, parseInstant, UsageError } from '../policies/index.ts';
import { signedBundleSettings } from '../io/signing/signing.ts';
import type { SignedBundleSettings } from '../io/signing/signing.ts';
import type { CheckpointKey } from '../io/decision-log/checkpoint.ts';

/** `node:util` parseArgs options of `--now`. */
export const nowFlag = { now: { type: 'string' } } as const;

/** `node:util` parseArgs options of `--bundle` and the signed-bundle flags. */
export const bundleFlags = {
  bundle: { type: 'string', short: 'b' },
  'require-signed-bundle': { type: 'boolean' },
  'trusted-keys': { type: 'string' },
  'bundle-signature': { type: 'string' },
} as const;

/** Parses `--now` (ISO-8601); undefined when absent. */
export function optionalNow(value: string | undefined): Date | undefined {
  if (value === undefined) return undefined;
  const date = parseInstant(value);
  if (!date) throw new UsageError(`--now "${value}" is not an ISO-8601 date-time (e.g. ${instantExample})`);
  return date;
}

/** Parses `--now` (ISO-8601); the current time when absent. */
export function parseNow(value: string | undefined): Date {
  return optionalNow(value) ?? new Date();
}

/** The signed-bundle settings of `--require-signed-bundle --trusted-keys [--bundle-signature]`. */
export function signedBundleFlags(
  values: {
    bundle?: string | undefined;
    'require-signed-bundle'?: boolean | undefined;
    'trusted-keys'?: string | undefined;
    'bundle-signature'?: string | undefined;
  },
  cwd: string,
): SignedBundleSettings | undefined {
  return signedBundleSettings(
    {
      requireSigned: values['require-signed-bundle'],
      trustedKeys: values['trusted-keys'],
      signature: values['bundle-signature'],
      bundle: values.bundle,
      cwd,
    },
    (problem) => {
      throw new UsageError(
        problem === 'keys-without-require'
          ? '--trusted-keys and --bundle-signature take effect only with --require-signed-bundle'
          : '--require-signed-bundle needs --trusted-keys JWKS|PEM (the keys allowed to sign bundles)',
      );
    },
  );
}

/** `node:util` parseArgs options of `--default-namespace`. */
export const defaultNamespaceFlag = { 'default-namespace': { type: 'string' } } as const;

const namespaceNameRe = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

/**
 * Parses `--default-namespace` (the namespace kubectl's context would use for a manifest without
 * one); undefined when absent. Throws UsageError for a value that is not a namespace name.
 */
export function optionalDefaultNamespace(value: string | undefined): string | undefined {
  if (value === undefined) return undefined;
  if (!namespaceNameRe.test(value) || value.length > 63)
    throw new UsageError(
      `--default-namespace "${value}" is not a namespace name (lower-case letters, digits and '-', at most 63)`,
    );
  return value;
}

/** `node:util` parseArgs options of `--decision-log` and its checkpoint key and writer id. */
export const decisionLogFlags = {
  'decision-log': { type: 'string' },
  'checkpoint-key': { type: 'string' },
  'writer-id': { type: 'string' },
} as const;

/** Where a command appends its decisions, and how it signs them. */
export interface DecisionLogSettings {
  /** The log file as given (relative to the working directory). */
  readonly file: string;
  readonly key?: CheckpointKey;
  readonly writer?: string;
}

/**
 * Reads the decision-log flags: undefined without `--decision-log` (a key or writer id without it is
 * a usage error); the checkpoint key is loaded (and its module) only when given.
 */
export async function decisionLogSettings(
  values: { 'decision-log'?: string; 'checkpoint-key'?: string; 'writer-id'?: string },
  cwd: string,
): Promise<DecisionLogSettings | undefined> {
  const file = values['decision-log'];
  if (file === undefined) {
    if (values['checkpoint-key'] !== undefined || values['writer-id'] !== undefined)
      throw new UsageError('--checkpoint-key and --writer-id take effect only with --decision-log FILE');
    return undefined;
  }
  const key =
    values['checkpoint-key'] !== undefined
      ? await (
          await import('../io/decision-log/checkpoint.ts')
        ).loadCheckpointKey(resolve(cwd, values['checkpoint-key']))
      : undefined;
  return {
    file,
    ...(key ? { key } : {}),
    ...(values['writer-id'] !== undefined ? { writer: values['writer-id'] } : {}),
  };
}
