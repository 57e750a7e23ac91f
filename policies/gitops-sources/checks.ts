/**
 * What gitops-sources checks on each GitOps kind: where sources come from, whether they are pinned and
 * verified, and whether reconciliation is switched off. Each check appends findings with the JSON path
 * of the field on the object as written.
 */
import { semver } from '../engine/semver.ts';
import { matchesHostPath } from '../engine/host-path.ts';
import { joinPath } from '../engine/path.ts';
import type { FindingDraft } from '../engine/types.ts';
import { isRecord } from '../engine/workloads.ts';
import type { GitOpsSourcesParams } from './params.ts';
import { formatLocation, isRepoUrlError, parseRepoUrl } from './repo-url.ts';

/** Where findings go, and the words every message ends with (the object's GitOps owner, if known). */
export interface CheckContext {
  readonly params: GitOpsSourcesParams;
  readonly findings: FindingDraft[];
  /** ` (managed by Flux Kustomization flux-system/apps: change it in Git)`, or `''`. */
  readonly managedBy: string;
}

type Fields = Record<string, unknown>;

const commitSha = /^(?:[0-9a-f]{40}|[0-9a-f]{64})$/i;
const ociDigest = /^sha256:[0-9a-f]{64}$/;
const templated = /\{\{/;

function add(
  ctx: CheckContext,
  path: string,
  message: string,
  fix: string,
  details?: Record<string, unknown>,
): void {
  ctx.findings.push({ path, message: `${message}${ctx.managedBy}`, fix, ...(details ? { details } : {}) });
}

const str = (value: unknown): string | undefined => (typeof value === 'string' ? value : undefined);
const fields = (value: unknown): Fields => (isRecord(value) ? value : {});

/** Whether a tag name is one the bundle accepts as immutable. */
function allowedTag(ctx: CheckContext, tag: string): boolean {
  return ctx.params.tagPatterns.some((pattern) => pattern.test(tag));
}

function allowedRange(ctx: CheckContext, range: string): boolean {
  return ctx.params.semverRanges && semver().validRange(range) !== null;
}

function pinningFix(ctx: CheckContext, what: string): string {
  return `pin ${what} to a full commit SHA${ctx.params.semverRanges ? ', a semver range' : ''} or a release tag (${ctx.params.tagText})`;
}

/**
 * Checks a repository URL: readable, encrypted transport, and under an approved repository. Returns
 * false when the URL is not approved (so callers do not pile more findings on it).
 */
export function checkRepoUrl(ctx: CheckContext, value: unknown, path: string, what = 'repository'): boolean {
  const url = str(value);
  const approved = ctx.params.approvedText;
  if (url === undefined || url === '') {
    add(ctx, path, `the ${what} URL is missing`, `set it to a repository under one of: ${approved}`);
    return false;
  }
  if (templated.test(url)) {
    add(
      ctx,
      path,
      `the ${what} URL "${url}" is a template, so its repository cannot be checked before it is rendered`,
      `write the URL out (one of: ${approved}), or generate the Applications from a list the review can see`,
    );
    return false;
  }
  const location = parseRepoUrl(url);
  if (isRepoUrlError(location)) {
    add(ctx, path, `the ${what} URL is rejected: ${location.error}`, `use a URL under one of: ${approved}`);
    return false;
  }
  if (location.scheme === 'http' || location.scheme === 'git') {
    add(
      ctx,
      path,
      `the ${what} URL "${url}" uses unencrypted ${location.scheme}://, so anyone on the path can change what is deployed`,
      'use https://, ssh:// or oci://',
    );
  }
  if (!ctx.params.repositories.some((prefix) => matchesHostPath(location, prefix))) {
    add(
      ctx,
      path,
      `the ${what} "${url}" (${formatLocation(location)}) is not an approved repository`,
      `use a repository under one of: ${approved}`,
      { repository: formatLocation(location) },
    );
    return false;
  }
  return true;
}

/** Argo CD's targetRevision of a Git or OCI source: a commit, an allowed tag, or (if allowed) a range. */
function checkGitRevision(ctx: CheckContext, revision: string | undefined, path: string): void {
  const value = (revision ?? '').trim();
  if (value !== '' && templated.test(value)) {
    add(
      ctx,
      path,
      `targetRevision "${value}" is a template, so what it pins cannot be checked`,
      pinningFix(ctx, 'it'),
    );
    return;
  }
  if (commitSha.test(value) || ociDigest.test(value)) return;
  const tag = value.startsWith('refs/tags/') ? value.slice('refs/tags/'.length) : value;
  if (value !== '' && allowedTag(ctx, tag)) return;
  if (value !== '' && allowedRange(ctx, value)) return;
  add(
    ctx,
    path,
    value === '' || value === 'HEAD'
      ? `targetRevision is ${value === '' ? 'not set (HEAD)' : 'HEAD'}: production follows whatever is pushed last`
      : `targetRevision "${value}" is not a commit SHA or an allowed tag: a branch moves without review`,
    pinningFix(ctx, 'targetRevision'),
    { revision: value || 'HEAD' },
  );
}

/** A Helm chart version: exact, or a range when the bundle allows ranges. */
function checkChartVersion(ctx: CheckContext, version: unknown, path: string, field: string): void {
  const value = str(version)?.trim() ?? '';
  if (value !== '' && semver().valid(value) !== null) return;
  if (value !== '' && allowedRange(ctx, value)) return;
  add(
    ctx,
    path,
    value === '' || value === '*'
      ? `${field} is ${value === '' ? 'not set' : '"*"'}: the newest chart version is deployed as soon as it is published`
      : `${field} "${value}" is a range or not a version: the chart moves without review`,
    `pin ${field} to an exact chart version such as 1.4.2${ctx.params.semverRanges ? ' or a semver range' : ''}`,
    { version: value || '*' },
  );
}

/** One Argo CD source (`spec.source`, `spec.sources[i]`, the hydrator's dry source). */
function checkArgoSource(ctx: CheckContext, source: Fields, path: string): void {
  if (!checkRepoUrl(ctx, source.repoURL, joinPath(path, 'repoURL'))) return;
  if (typeof source.chart === 'string' && source.chart !== '')
    checkChartVersion(
      ctx,
      source.targetRevision,
      joinPath(path, 'targetRevision'),
      'the chart version (targetRevision)',
    );
  else checkGitRevision(ctx, str(source.targetRevision), joinPath(path, 'targetRevision'));
}

/** An Argo CD Application spec (or an ApplicationSet's template spec) at `path`. */
export function checkApplicationSpec(ctx: CheckContext, spec: Fields, path: string): void {
  const sources: Array<[Fields, string]> = [];
  if (isRecord(spec.source)) sources.push([spec.source, joinPath(path, 'source')]);
  if (Array.isArray(spec.sources))
    spec.sources.forEach((source, index) => {
      if (isRecord(source)) sources.push([source, joinPath(path, 'sources', index)]);
    });
  const hydrator = fields(spec.sourceHydrator);
  if (isRecord(hydrator.drySource))
    sources.push([hydrator.drySource, joinPath(path, 'sourceHydrator', 'drySource')]);
  if (sources.length === 0)
    add(
      ctx,
      joinPath(path, 'source'),
      'the Application names no source',
      'set spec.source with an approved repoURL and a pinned targetRevision',
    );
  for (const [source, at] of sources) checkArgoSource(ctx, source, at);
  const syncPolicy = fields(spec.syncPolicy);
  const automatedPath = joinPath(path, 'syncPolicy', 'automated');
  if (!isRecord(syncPolicy.automated) || syncPolicy.automated.enabled === false) {
    add(
      ctx,
      automatedPath,
      'automated sync is off: what Git says is not applied, and changes made in the cluster stay',
      'set syncPolicy.automated with prune: true and selfHeal: true',
    );
  } else {
    for (const flag of ['prune', 'selfHeal'] as const)
      if (syncPolicy.automated[flag] !== true)
        add(
          ctx,
          joinPath(automatedPath, flag),
          flag === 'prune'
            ? 'automated sync does not prune: objects removed from Git stay in the cluster'
            : 'automated sync does not self-heal: changes made in the cluster outside Git stay',
          `set syncPolicy.automated.${flag}: true`,
        );
  }
  if (Array.isArray(syncPolicy.syncOptions))
    syncPolicy.syncOptions.forEach((option, index) => {
      if (typeof option === 'string' && /^\s*prune\s*=\s*false\s*$/i.test(option))
        add(
          ctx,
          joinPath(path, 'syncPolicy', 'syncOptions', index),
          `sync option "${option}" keeps objects removed from Git in the cluster`,
          'remove the option',
        );
    });
}

/** An Argo CD ApplicationSet: its template is an Application; git generators name repositories too. */
export function checkApplicationSet(ctx: CheckContext, spec: Fields): void {
  const template = fields(spec.template);
  checkApplicationSpec(ctx, fields(template.spec), 'spec.template.spec');
  const generators = Array.isArray(spec.generators) ? spec.generators : [];
  generators.forEach((generator, index) => {
    const git = fields(fields(generator).git);
    if (git.repoURL !== undefined)
      checkRepoUrl(ctx, git.repoURL, joinPath('spec', 'generators', index, 'git', 'repoURL'));
  });
}

/** An Argo CD AppProject: approved source repositories only, no wildcard destination, signatures on. */
export function checkAppProject(ctx: CheckContext, spec: Fields): void {
  const repos = Array.isArray(spec.sourceRepos) ? spec.sourceRepos : [];
  repos.forEach((entry, index) => {
    const path = joinPath('spec', 'sourceRepos', index);
    if (typeof entry !== 'string') return;
    if (entry.startsWith('!')) return; // a negation only narrows
    const glob = entry.search(/[*?[]/);
    if (glob < 0) {
      checkRepoUrl(ctx, entry, path, 'source repository');
      return;
    }
    const literal = entry.slice(0, glob);
    const base = literal.endsWith('/') ? parseRepoUrl(literal.slice(0, -1)) : undefined;
    const covered =
      base !== undefined &&
      !isRepoUrlError(base) &&
      ctx.params.repositories.some((prefix) => matchesHostPath(base, prefix));
    if (!covered)
      add(
        ctx,
        path,
        entry.trim() === '*'
          ? 'the project allows any source repository'
          : `the pattern "${entry}" admits repositories outside the approved ones`,
        `list approved repositories (or a pattern after a "/" below one): ${ctx.params.approvedText}`,
      );
  });
  const destinations = Array.isArray(spec.destinations) ? spec.destinations : [];
  destinations.forEach((destination, index) => {
    const d = fields(destination);
    const wild = (['server', 'name', 'namespace'] as const).filter((key) => str(d[key])?.trim() === '*');
    if (wild.length > 0)
      add(
        ctx,
        joinPath('spec', 'destinations', index, wild[0] ?? 'namespace'),
        `the project allows any destination ${wild.join(' and ')} ("*")`,
        'list the clusters and namespaces the project deploys to',
      );
  });
  const keys = Array.isArray(spec.signatureKeys)
    ? spec.signatureKeys.filter((k) => str(fields(k).keyID))
    : [];
  if (keys.length === 0 && !isRecord(spec.sourceIntegrity))
    add(
      ctx,
      'spec.signatureKeys',
      'the project does not verify commit signatures: any commit pushed to a source repository is deployed',
      'list the GnuPG keys of the release signers in spec.signatureKeys (or configure spec.sourceIntegrity)',
    );
}

/** Flux `spec.suspend: true` on any Flux object. */
export function checkSuspend(ctx: CheckContext, spec: Fields, kind: string): void {
  if (spec.suspend === true)
    add(
      ctx,
      'spec.suspend',
      `the ${kind} is suspended: Flux stops reconciling it, so the cluster drifts from Git unnoticed`,
      'remove spec.suspend (or set it to false); pause deliveries through Git instead',
    );
}

/** Flux GitRepository: URL, ref pinned, verification. */
export function checkGitRepository(ctx: CheckContext, spec: Fields): void {
  checkRepoUrl(ctx, spec.url, 'spec.url');
  const ref = fields(spec.ref);
  const commit = str(ref.commit);
  const name = str(ref.name);
  const tag = str(ref.tag);
  const range = str(ref.semver);
  const pinned =
    (commit !== undefined && commitSha.test(commit)) ||
    (name !== undefined &&
      name.startsWith('refs/tags/') &&
      allowedTag(ctx, name.slice('refs/tags/'.length))) ||
    (commit === undefined && name === undefined && range !== undefined && allowedRange(ctx, range)) ||
    (commit === undefined &&
      name === undefined &&
      range === undefined &&
      tag !== undefined &&
      allowedTag(ctx, tag));
  if (!pinned) {
    const what = commit
      ? `commit "${commit}" is not a full SHA`
      : name
        ? `ref.name "${name}" is not an allowed tag`
        : range
          ? `semver range "${range}" follows the newest tag`
          : tag
            ? `tag "${tag}" is not an allowed release tag`
            : str(ref.branch)
              ? `branch "${String(ref.branch)}" moves without review`
              : 'no ref is set, so the default branch is followed';
    add(
      ctx,
      isRecord(spec.ref) ? 'spec.ref' : 'spec',
      `the GitRepository is not pinned: ${what}`,
      pinningFix(ctx, 'spec.ref (commit, or tag)'),
    );
  }
  const verify = fields(spec.verify);
  if (!str(fields(verify.secretRef).name))
    add(
      ctx,
      'spec.verify',
      'commit signatures are not verified (spec.verify is missing): any commit pushed to the repository is deployed',
      "set spec.verify with mode and secretRef naming the release signers' public keys",
    );
}

/** Flux OCIRepository: URL, ref pinned, verification. */
export function checkOCIRepository(ctx: CheckContext, spec: Fields): void {
  checkRepoUrl(ctx, spec.url, 'spec.url', 'OCI repository');
  const ref = fields(spec.ref);
  const digest = str(ref.digest);
  const tag = str(ref.tag);
  const range = str(ref.semver);
  const pinned =
    (digest !== undefined && ociDigest.test(digest)) ||
    (digest === undefined && range !== undefined && allowedRange(ctx, range)) ||
    (digest === undefined && range === undefined && tag !== undefined && allowedTag(ctx, tag));
  if (!pinned)
    add(
      ctx,
      isRecord(spec.ref) ? 'spec.ref' : 'spec',
      `the OCIRepository is not pinned: ${digest ? `digest "${digest}" is not sha256:<64 hex>` : range ? `semver range "${range}" follows the newest tag` : tag ? `tag "${tag}" is not an allowed release tag` : 'no ref is set, so "latest" is followed'}`,
      `pin spec.ref.digest (sha256:…)${ctx.params.semverRanges ? ', a semver range' : ''} or an allowed release tag`,
    );
  if (!str(fields(spec.verify).provider))
    add(
      ctx,
      'spec.verify',
      'artifact signatures are not verified (spec.verify is missing): any artifact pushed to the repository is deployed',
      "set spec.verify.provider (cosign or notation) with the release signers' keys",
    );
}

/** Flux HelmRepository: an approved URL (HTTPS or OCI). */
export function checkHelmRepository(ctx: CheckContext, spec: Fields): void {
  checkRepoUrl(ctx, spec.url, 'spec.url', 'Helm repository');
}

/** Flux Bucket: an approved endpoint and bucket; a bucket cannot be pinned. */
export function checkBucket(ctx: CheckContext, spec: Fields): void {
  const endpoint = str(spec.endpoint);
  const bucket = str(spec.bucketName);
  if (endpoint && bucket)
    checkRepoUrl(ctx, `${endpoint.replace(/^[a-z]+:\/\//i, '')}/${bucket}`, 'spec.endpoint', 'bucket');
  else
    add(
      ctx,
      'spec.endpoint',
      'the Bucket names no endpoint and bucket',
      `use a source under one of: ${ctx.params.approvedText}`,
    );
  if (spec.insecure === true)
    add(
      ctx,
      'spec.insecure',
      'the Bucket is read over plain HTTP',
      'remove spec.insecure and serve the bucket over HTTPS',
    );
  add(
    ctx,
    'spec.bucketName',
    'a Bucket serves whatever the bucket holds at the moment: it cannot be pinned to a reviewed revision or verified',
    'deliver production from a GitRepository pinned to a commit or an OCIRepository pinned to a digest',
  );
}

/** Flux Kustomization: pruning on. */
export function checkKustomization(ctx: CheckContext, spec: Fields): void {
  if (spec.prune !== true)
    add(
      ctx,
      'spec.prune',
      'the Kustomization does not prune: objects removed from Git stay in the cluster',
      'set spec.prune: true',
    );
}

/** Flux HelmRelease: a pinned chart version and drift correction. */
export function checkHelmRelease(ctx: CheckContext, spec: Fields): void {
  const chart = fields(fields(spec.chart).spec);
  if (!isRecord(spec.chartRef))
    checkChartVersion(ctx, chart.version, 'spec.chart.spec.version', 'spec.chart.spec.version');
  const mode = str(fields(spec.driftDetection).mode);
  if (mode !== 'enabled')
    add(
      ctx,
      'spec.driftDetection.mode',
      `drift detection is ${mode ?? 'off (the default)'}: changes made in the cluster outside Git stay`,
      'set spec.driftDetection.mode: enabled',
    );
}

/** Annotations that switch reconciliation off or hide drift, on any object. */
export function checkOptOutAnnotations(ctx: CheckContext, annotations: Fields): void {
  const reconcile = str(annotations['kustomize.toolkit.fluxcd.io/reconcile']);
  if (reconcile !== undefined && reconcile.trim().toLowerCase() === 'disabled')
    add(
      ctx,
      joinPath('metadata', 'annotations', 'kustomize.toolkit.fluxcd.io/reconcile'),
      'reconciliation is disabled for this object: Flux no longer applies Git to it, so it drifts unnoticed',
      'remove the annotation kustomize.toolkit.fluxcd.io/reconcile',
    );
  const options = (key: string): string[] =>
    (str(annotations[key]) ?? '')
      .split(',')
      .map((option) => option.trim())
      .filter((option) => option !== '');
  for (const option of options('argocd.argoproj.io/compare-options'))
    if (option.toLowerCase() === 'ignoreextraneous')
      add(
        ctx,
        joinPath('metadata', 'annotations', 'argocd.argoproj.io/compare-options'),
        "compare option IgnoreExtraneous hides this object from Argo CD's sync status, so drift goes unreported",
        'remove IgnoreExtraneous from the annotation argocd.argoproj.io/compare-options',
      );
  for (const option of options('argocd.argoproj.io/sync-options'))
    if (/^prune\s*=\s*false$/i.test(option))
      add(
        ctx,
        joinPath('metadata', 'annotations', 'argocd.argoproj.io/sync-options'),
        'sync option Prune=false keeps this object in the cluster after it is removed from Git',
        'remove Prune=false from the annotation argocd.argoproj.io/sync-options',
      );
}
