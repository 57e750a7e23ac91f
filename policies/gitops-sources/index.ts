/**
 * gitops-sources: the pipeline itself is held to policy. Argo CD Applications, ApplicationSets and
 * AppProjects and Flux GitRepositories, OCIRepositories, HelmRepositories, Buckets, Kustomizations and
 * HelmReleases pull only from approved repositories, pinned to something immutable, with signature
 * verification on, and nothing in scope opts out of reconciliation. One verdict in CI and at admission.
 */
import { skip } from '../engine/evaluate.ts';
import { describeOwner, gitopsOwnerOf } from '../engine/gitops-owner.ts';
import { isBookkeepingOnlyUpdate, matchScope } from '../engine/scope.ts';
import type { FindingDraft, NamespaceLookup, Policy, PolicyInput } from '../engine/types.ts';
import { isRecord } from '../engine/workloads.ts';
import type { CheckContext } from './checks.ts';
import {
  checkAppProject,
  checkApplicationSet,
  checkApplicationSpec,
  checkBucket,
  checkGitRepository,
  checkHelmRelease,
  checkHelmRepository,
  checkKustomization,
  checkOCIRepository,
  checkOptOutAnnotations,
  checkSuspend,
} from './checks.ts';
import type { GitOpsSourcesParams } from './params.ts';
import { compileParams, paramsSchema } from './params.ts';

/** The GitOps kinds by API group (never kustomize.config.k8s.io's Kustomization file). */
export const gitopsKinds: Readonly<Record<string, readonly string[]>> = {
  'argoproj.io': ['Application', 'ApplicationSet', 'AppProject'],
  'source.toolkit.fluxcd.io': ['GitRepository', 'OCIRepository', 'HelmRepository', 'Bucket'],
  'kustomize.toolkit.fluxcd.io': ['Kustomization'],
  'helm.toolkit.fluxcd.io': ['HelmRelease'],
};

/** The GitOps kind of an object (`argoproj.io/Application`), or undefined for any other object. */
function gitopsKindOf(input: PolicyInput): string | undefined {
  const { apiVersion, kind } = input.object;
  if (typeof apiVersion !== 'string' || typeof kind !== 'string') return undefined;
  const group = apiVersion.includes('/') ? apiVersion.slice(0, apiVersion.indexOf('/')) : '';
  return gitopsKinds[group]?.includes(kind) ? `${group}/${kind}` : undefined;
}

/** The namespaces a GitOps object deploys into (Argo CD destination, Flux targetNamespace). */
function deployNamespaces(input: PolicyInput): string[] {
  const spec = isRecord(input.object.spec) ? input.object.spec : {};
  const out: unknown[] = [];
  if (isRecord(spec.destination)) out.push(spec.destination.namespace);
  out.push(spec.targetNamespace);
  if (isRecord(spec.template) && isRecord(spec.template.spec) && isRecord(spec.template.spec.destination))
    out.push(spec.template.spec.destination.namespace);
  if (Array.isArray(spec.destinations))
    for (const destination of spec.destinations) if (isRecord(destination)) out.push(destination.namespace);
  return [...new Set(out.filter((n): n is string => typeof n === 'string' && n !== '' && !/[*?{]/.test(n)))];
}

/** In scope by the object's own namespace, or by a namespace it deploys into; else why not. */
function scopeOf(
  params: GitOpsSourcesParams,
  input: PolicyInput,
  namespaces: NamespaceLookup | undefined,
): string | undefined {
  const own = matchScope(params.scope, input, namespaces, 'not in scope');
  if (own.inScope) return undefined;
  for (const namespace of deployNamespaces(input))
    if (matchScope(params.scope, { ...input, namespace }, namespaces, 'not in scope').inScope)
      return undefined;
  return own.why;
}

const help = `Holds the GitOps pipeline to policy. For Argo CD (Application, ApplicationSet, AppProject) and Flux
(GitRepository, OCIRepository, HelmRepository, Bucket, Kustomization, HelmRelease): source URLs only from
approved repositories, parsed as clients read them (https, ssh://, scp-like git@host:path, oci://, a trailing
.git, host case, default ports) and compared on host and path boundaries; sources pinned to a commit SHA,
a digest, an exact chart version or a release tag the bundle allows, never a branch; signature verification
on (Flux spec.verify, Argo CD AppProject signatureKeys); no reconciliation opt-outs (Flux spec.suspend and the
kustomize.toolkit.fluxcd.io/reconcile: disabled annotation on any object; Argo CD Applications without
automated sync with prune and selfHeal; IgnoreExtraneous and Prune=false options; HelmReleases without drift
detection); AppProjects that allow any source repository or destination. An object is in scope by its own
namespace or the namespace it deploys into.`;

/** The gitops-sources policy. */
export const gitopsSourcesPolicy: Policy<GitOpsSourcesParams> = {
  id: 'gitops-sources',
  version: '1.0.0',
  description:
    'Argo CD and Flux objects pull only approved, pinned, verified sources and never switch reconciliation off.',
  help,
  paramsSchema,
  // Every namespaced object: the reconcile-disabled and Argo CD option annotations may sit on any of them.
  admissionRules: [
    { apiGroups: ['*'], resources: ['*'], operations: ['CREATE', 'UPDATE'], scope: 'Namespaced' },
  ],
  compile: compileParams,
  evaluate(input, params, context) {
    if (input.operation === 'DELETE' || input.operation === 'CONNECT')
      return skip(`a ${input.operation} adds no source and switches nothing off`);
    if (isBookkeepingOnlyUpdate(input))
      return skip('the UPDATE changes only status, managedFields, resourceVersion or generation');
    const outside = scopeOf(params, input, context.namespaces);
    if (outside !== undefined) return skip(`outside the scope: ${outside}`);
    const owner = gitopsOwnerOf(input.object);
    const findings: FindingDraft[] = [];
    const ctx: CheckContext = {
      params,
      findings,
      managedBy: owner ? ` (managed by ${describeOwner(owner)}: change it in Git)` : '',
    };
    const metadata = isRecord(input.object.metadata) ? input.object.metadata : {};
    checkOptOutAnnotations(ctx, isRecord(metadata.annotations) ? metadata.annotations : {});
    const kind = gitopsKindOf(input);
    if (kind === undefined)
      return findings.length > 0
        ? findings
        : skip('not an Argo CD or Flux object, and no annotation switches reconciliation off');
    const spec = isRecord(input.object.spec) ? input.object.spec : {};
    const name = kind.slice(kind.indexOf('/') + 1);
    if (kind.startsWith('argoproj.io/')) {
      if (name === 'Application') checkApplicationSpec(ctx, spec, 'spec');
      else if (name === 'ApplicationSet') checkApplicationSet(ctx, spec);
      else checkAppProject(ctx, spec);
      return findings;
    }
    checkSuspend(ctx, spec, name);
    if (name === 'GitRepository') checkGitRepository(ctx, spec);
    else if (name === 'OCIRepository') checkOCIRepository(ctx, spec);
    else if (name === 'HelmRepository') checkHelmRepository(ctx, spec);
    else if (name === 'Bucket') checkBucket(ctx, spec);
    else if (name === 'Kustomization') checkKustomization(ctx, spec);
    else checkHelmRelease(ctx, spec);
    return findings;
  },
};
