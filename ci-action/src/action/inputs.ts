/**
 * The action's inputs, read once and turned into one typed, frozen settings object. Every problem
 * names the input, the bad value and what is accepted.
 */
import { tmpdir } from 'node:os';
import * as core from '@actions/core';
import { ActionInputError } from './action-input-error.ts';
import { parseRenderSpec } from '../gate/render.ts';
import type { RenderSpec } from '../gate/render.ts';
import { instantExample, parseInstant } from '../../../policies/index.ts';
import { signedBundleSettings } from '../../../io/signing/signing.ts';
import type { SignedBundleSettings } from '../../../io/signing/signing.ts';

/** What the action was asked to do. */
export interface ActionSettings {
  /** Files, directories and glob patterns (`!pattern` excludes), relative to the workspace. */
  readonly paths: readonly string[];
  /** Bundle file; undefined means the embedded finance baseline. */
  readonly bundle?: string;
  /** Lowest action that fails the build. */
  readonly failOn: 'deny' | 'warn';
  /** Check only files the pull request changed. */
  readonly changedOnly: boolean;
  /** Git ref whose findings are pre-existing (usually the pull request's base sha). */
  readonly baseline?: string;
  /** Where to write SARIF (omitted: no SARIF). */
  readonly sarifFile?: string;
  /** Where to write the JSON report. */
  readonly reportFile: string;
  /** Evaluation instant (freeze windows, exemption expiry). */
  readonly now: Date;
  /** Token for the pull-request files API; without it changed files come from git. */
  readonly token?: string;
  /** Helm charts / kustomizations to render and check. */
  readonly render: readonly RenderSpec[];
  /** `automationDetails.id` category of the SARIF run. */
  readonly sarifCategory?: string;
  /** Skip registry access: image signatures are reported unverifiable with the bundle's onUnreachable action. */
  readonly offline: boolean;
  /** Working directory (GITHUB_WORKSPACE). */
  readonly cwd: string;
  /** A required bundle signature (`require-signed-bundle`, `trusted-keys`, `bundle-signature`). */
  readonly signedBundle?: SignedBundleSettings;
  /** The trusted namespace inventory file. */
  readonly namespaces?: string;
  /** The namespace of namespaced manifests without one (kubectl's context namespace). */
  readonly defaultNamespace?: string;
  /** Append the run to this hash-chained decision log (relative to the workspace). */
  readonly decisionLog?: string;
  /** The private key that signs the decision log's checkpoints (with decisionLog). */
  readonly checkpointKey?: string;
}

/** Environment the settings depend on besides inputs. */
export interface InputEnvironment {
  readonly workspace?: string;
  readonly runnerTemp?: string;
  readonly cwd: string;
}

function optional(name: string): string | undefined {
  const value = core.getInput(name).trim();
  return value.length > 0 ? value : undefined;
}

function booleanInput(name: string): boolean {
  const value = optional(name);
  if (value === undefined) return false;
  if (/^(true|yes|on|1)$/i.test(value)) return true;
  if (/^(false|no|off|0)$/i.test(value)) return false;
  throw new ActionInputError(name, `"${value}" is not a boolean; use true or false`);
}

/** Reads and validates every input. Throws {@link ActionInputError} for the first bad input. */
export function getInputs(env: InputEnvironment): ActionSettings {
  const paths = core
    .getMultilineInput('paths')
    .flatMap((line) => line.split(/\s+/))
    .filter((p) => p.length > 0 && !p.startsWith('#'));
  if (paths.some((p) => p === '-')) {
    throw new ActionInputError(
      'paths',
      '"-" (standard input) is not available in the action; use render: for helm or kustomize output',
    );
  }
  const failOn = optional('fail-on') ?? 'deny';
  if (failOn !== 'deny' && failOn !== 'warn') {
    throw new ActionInputError('fail-on', `"${failOn}" is not deny or warn`);
  }
  const nowText = optional('now');
  let now = new Date();
  if (nowText !== undefined) {
    const parsed = parseInstant(nowText);
    if (!parsed)
      throw new ActionInputError('now', `"${nowText}" is not an ISO-8601 date-time (e.g. ${instantExample})`);
    now = parsed;
  }
  const render: RenderSpec[] = [];
  for (const line of core.getMultilineInput('render')) {
    if (line.trim().length === 0) continue;
    try {
      render.push(parseRenderSpec(line));
    } catch (error) {
      throw new ActionInputError('render', (error as Error).message);
    }
  }
  const baseline = optional('baseline');
  if (baseline !== undefined && (/\s/.test(baseline) || baseline.startsWith('-'))) {
    throw new ActionInputError(
      'baseline',
      `"${baseline}" is not a git ref (e.g. \${{ github.event.pull_request.base.sha }})`,
    );
  }
  // Never the workspace: a report there would be picked up by later steps (and by git add).
  const tempDir = env.runnerTemp ?? tmpdir();
  const bundle = optional('bundle');
  const sarifFile = optional('sarif-file');
  const token = optional('token');
  const sarifCategory = optional('sarif-category');
  const cwd = env.workspace ?? env.cwd;
  const signedBundle = signedBundleSettings(
    {
      requireSigned: booleanInput('require-signed-bundle'),
      trustedKeys: optional('trusted-keys'),
      signature: optional('bundle-signature'),
      bundle,
      cwd,
    },
    (problem) => {
      if (problem === 'require-without-keys')
        throw new ActionInputError(
          'trusted-keys',
          'is required with require-signed-bundle: true (the keys allowed to sign bundles)',
        );
      throw new ActionInputError(
        optional('trusted-keys') !== undefined ? 'trusted-keys' : 'bundle-signature',
        'takes effect only with require-signed-bundle: true',
      );
    },
  );
  const namespaces = optional('namespaces');
  const defaultNamespace = optional('default-namespace');
  if (
    defaultNamespace !== undefined &&
    (!/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/.test(defaultNamespace) || defaultNamespace.length > 63)
  )
    throw new ActionInputError(
      'default-namespace',
      `"${defaultNamespace}" is not a namespace name (lower-case letters, digits and '-', at most 63)`,
    );
  const decisionLog = optional('decision-log');
  const checkpointKey = optional('checkpoint-key');
  if (checkpointKey !== undefined && decisionLog === undefined)
    throw new ActionInputError(
      'checkpoint-key',
      'takes effect only with decision-log (the log file to sign)',
    );
  const settings: ActionSettings = {
    // Without paths, check the workspace, unless only rendered sources were asked for.
    paths: paths.length > 0 ? paths : render.length > 0 ? [] : ['.'],
    failOn,
    changedOnly: booleanInput('changed-only'),
    offline: booleanInput('offline'),
    reportFile: optional('report-file') ?? `${tempDir}/tollgate-report.json`,
    now,
    render,
    cwd,
    ...(bundle ? { bundle } : {}),
    ...(signedBundle ? { signedBundle } : {}),
    ...(namespaces ? { namespaces } : {}),
    ...(defaultNamespace ? { defaultNamespace } : {}),
    ...(baseline ? { baseline } : {}),
    ...(sarifFile ? { sarifFile } : {}),
    ...(token ? { token } : {}),
    ...(sarifCategory ? { sarifCategory } : {}),
    ...(decisionLog ? { decisionLog } : {}),
    ...(checkpointKey ? { checkpointKey } : {}),
  };
  if (token) core.setSecret(token);
  return Object.freeze(settings);
}
