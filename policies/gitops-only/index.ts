/**
 * gitops-only: in scope (production), only the GitOps controllers write. A CREATE, UPDATE or DELETE by
 * anyone else is a change outside Git, unless it is no change at all (status and bookkeeping), a
 * built-in controller working where it must, or an emergency change with a valid break-glass approval
 * (recorded as a change outside Git that must be brought back into Git). In CI the identity is unknown:
 * the policy skips, saying so.
 */
import type { BreakGlassConfig } from '../engine/break-glass.ts';
import { breakGlassAnnotation, useBreakGlass } from '../engine/break-glass.ts';
import { skip } from '../engine/evaluate.ts';
import { describeOwner, gitopsOwnerOf } from '../engine/gitops-owner.ts';
import { formatPath } from '../engine/path.ts';
import type { Scope } from '../engine/scope.ts';
import {
  changedFields,
  compileScope,
  isBookkeepingOnlyUpdate,
  matchScope,
  scopeSchema,
} from '../engine/scope.ts';
import type { FindingDraft, Policy } from '../engine/types.ts';
import type { Exemption, Identities } from './identities.ts';
import {
  builtinExemptions,
  compileControllers,
  compileExemption,
  controllersSchema,
  exemptionSchema,
  isOneOf,
  matchingExemption,
} from './identities.ts';

/** Why gitops-only skips where the request carries no identity (CI, `bundle test` manifests). */
export const identityUnknown =
  'the requester is unknown here (CI judges files, not requests); gitops-only decides at admission';

/** Parameters of gitops-only, compiled. */
export interface GitOpsOnlyParams {
  readonly controllers: Identities;
  /** The bundle's exemptions after the built-in controllers' (when kept). */
  readonly exemptions: readonly Exemption[];
  readonly scope: Scope;
  /** From the bundle's `spec.breakGlass`. */
  readonly breakGlass?: BreakGlassConfig;
}

const help = `In scope (by default every namespaced object; the finance baseline scopes production namespaces), only the
GitOps controllers may create, update or delete: Argo CD's application controller and Flux's kustomize-controller
and helm-controller service accounts by default (\`controllers\`). Anyone else's write is a change outside Git:
denied (or warned or audited, per enforcement), naming the object's GitOps owner (Argo CD tracking annotation or
instance label, Flux kustomize/helm labels) and telling the user to change it in Git. UPDATEs that change only
status, managedFields, resourceVersion or generation never count. Kubernetes' own controllers are exempt by
identity and by what they touch (the HPA only through */scale, the ReplicaSet controller only on Pods its
ReplicaSets own, ...; \`builtinExemptions: false\` drops them), and \`exempt\` adds operators the same way. An
emergency change carries a break-glass approval (annotation \`${breakGlassAnnotation}\`) verified against the
bundle's spec.breakGlass; it is allowed and recorded as a change outside Git that must be brought back into Git.
In CI the identity is unknown, so the policy skips there.`;

/** The gitops-only policy. */
export const gitopsOnlyPolicy: Policy<GitOpsOnlyParams> = {
  id: 'gitops-only',
  version: '1.0.0',
  description:
    'Only the GitOps controllers change objects in scope; anything else is an emergency change with break-glass.',
  help,
  paramsSchema: {
    type: 'object',
    properties: {
      controllers: controllersSchema,
      builtinExemptions: {
        type: 'boolean',
        description: "keep Kubernetes' own controllers working, each only on what it touches (default true)",
      },
      exempt: {
        type: 'array',
        items: exemptionSchema,
        description:
          'operators and other identities allowed to write, each limited by kinds, subresources, ownedBy or names',
      },
      scope: {
        ...scopeSchema,
        description: 'which changes only the GitOps controllers may make (default: everything)',
      },
    },
  },
  // Namespaced only (as freeze-windows): cluster-wide wildcards would block nodes and CRDs whenever the
  // webhook is down. kubectl scale arrives on */scale.
  admissionRules: [
    { apiGroups: ['*'], resources: ['*'], operations: ['CREATE', 'UPDATE', 'DELETE'], scope: 'Namespaced' },
    // Namespace objects explicitly: relabelling a production namespace out of scope is a change too.
    { apiGroups: [''], resources: ['namespaces'], operations: ['CREATE', 'UPDATE', 'DELETE'] },
    { apiGroups: ['*'], resources: ['*/scale'], operations: ['UPDATE'], scope: 'Namespaced' },
  ],
  compile(raw, bundle) {
    const exempt = Array.isArray(raw.exempt)
      ? raw.exempt.map((entry, index) =>
          compileExemption(entry as Record<string, unknown>, `exempt/${index}`),
        )
      : [];
    return {
      controllers: compileControllers(raw.controllers as Record<string, unknown> | undefined),
      exemptions: [...(raw.builtinExemptions === false ? [] : builtinExemptions), ...exempt],
      scope: compileScope(raw.scope as Record<string, unknown> | undefined, 'scope'),
      ...(bundle.breakGlass ? { breakGlass: bundle.breakGlass } : {}),
    };
  },
  async evaluate(input, params, context, tools) {
    if (input.operation === 'CONNECT') return skip('CONNECT changes nothing');
    const user = input.userInfo;
    if (!user || (!user.username && (user.groups ?? []).length === 0)) return skip(identityUnknown);
    if (isBookkeepingOnlyUpdate(input))
      return skip('the UPDATE changes only status, managedFields, resourceVersion or generation');
    const scope = matchScope(params.scope, input, context.namespaces, 'not reserved for GitOps');
    if (!scope.inScope) return skip(`outside the scope: ${scope.why}`);
    const who = user.username ?? `a member of ${(user.groups ?? []).join(', ')}`;
    if (isOneOf(params.controllers, user)) return [];
    const exemption = matchingExemption(params.exemptions, input, user);
    if (exemption) return skip(`${who} is exempt as ${exemption.name}, on what it may touch`);
    const owner = gitopsOwnerOf(
      input.operation === 'UPDATE' ? (input.oldObject ?? input.object) : input.object,
    );
    const ownerText = owner ? describeOwner(owner) : undefined;
    const object = `${String(input.object.kind ?? 'object')} ${input.namespace ? `${input.namespace}/` : ''}${input.object.metadata?.name ?? ''}`;
    const glass = await useBreakGlass(input, params.breakGlass, context.now);
    if (glass.state === 'valid') {
      tools.record({
        kind: 'break-glass',
        data: {
          ...glass.record,
          change: `${input.operation} ${object} by ${who}`,
          outsideGit: true,
          bringBackToGit: ownerText ?? 'the Git repository that manages it',
        },
      });
      return [];
    }
    const changed = input.operation === 'UPDATE' ? changedFields(input) : [];
    const fields = changed.map((path) => formatPath(path)).filter((path) => path !== '');
    const where = ownerText
      ? `${ownerText} manages it: change it in Git and let it sync`
      : 'change it in Git and let the GitOps controller apply it';
    const findings: FindingDraft[] = [
      {
        path: fields[0] ?? formatPath(['metadata', 'name']),
        message: `${input.operation} of ${object} by ${who} is a change outside Git${fields.length > 0 ? ` (${fields.join(', ')})` : ''}: in scope only the GitOps controllers write${ownerText ? `; ${ownerText} manages it` : ''}`,
        fix: `${where}; in an emergency attach an approved break-glass token (annotation ${breakGlassAnnotation}, tollgate break-glass request|approve)`,
        details: {
          requester: who,
          ...(owner ? { owner: describeOwner(owner) } : {}),
          ...(fields.length > 0 ? { fields } : {}),
        },
      },
    ];
    const annotationPath = formatPath(['metadata', 'annotations', breakGlassAnnotation]);
    if (glass.state === 'not-configured')
      findings.push({
        path: annotationPath,
        message:
          'break-glass is not configured in this bundle (spec.breakGlass is absent): the approval on this object is not checked',
        fix: 'change it in Git, or ask the policy owners to add approver keys under spec.breakGlass in the bundle',
      });
    if (glass.state === 'invalid')
      findings.push({
        path: annotationPath,
        message: `break-glass approval rejected: ${glass.reasons.join('; ')}`,
        fix: 'have approvers (re)sign with "tollgate break-glass approve" and check it with "tollgate break-glass inspect", or change it in Git',
        details: { reasons: [...glass.reasons], ...(glass.ticket ? { ticket: glass.ticket } : {}) },
      });
    return findings;
  },
};
