/**
 * Which GitOps object manages a Kubernetes object, read from what Argo CD and Flux write on it, so a
 * finding can tell the user where to make the change instead: Argo CD's tracking annotation
 * (`argocd.argoproj.io/tracking-id: <app>:<group>/<kind>:<namespace>/<name>`, the app as
 * `<namespace>_<name>` for applications outside the control-plane namespace) or, with label tracking,
 * `app.kubernetes.io/instance`; Flux's `kustomize.toolkit.fluxcd.io/{name,namespace}` and
 * `helm.toolkit.fluxcd.io/{name,namespace}` labels. A hint for the message, never a permission.
 */
import type { KubeObject } from './types.ts';
import { isRecord } from './workloads.ts';

/** The GitOps object that manages an object. */
export interface GitOpsOwner {
  readonly tool: 'Argo CD' | 'Flux';
  /** `Application`, `Kustomization` or `HelmRelease`. */
  readonly kind: string;
  readonly name: string;
  readonly namespace?: string;
  /** Where the hint came from (annotation or label key). */
  readonly source: string;
}

function stringsOf(value: unknown): Record<string, string> {
  if (!isRecord(value)) return {};
  return Object.fromEntries(
    Object.entries(value).filter((entry): entry is [string, string] => typeof entry[1] === 'string'),
  );
}

/** The GitOps owner an object names, or undefined. */
export function gitopsOwnerOf(object: KubeObject | undefined): GitOpsOwner | undefined {
  const metadata = isRecord(object?.metadata) ? object.metadata : {};
  const annotations = stringsOf(metadata.annotations);
  const labels = stringsOf(metadata.labels);
  const tracking = annotations['argocd.argoproj.io/tracking-id'];
  if (tracking) {
    const app = tracking.split(':')[0] ?? '';
    const underscore = app.indexOf('_');
    if (app !== '')
      return underscore > 0
        ? {
            tool: 'Argo CD',
            kind: 'Application',
            namespace: app.slice(0, underscore),
            name: app.slice(underscore + 1),
            source: 'annotation argocd.argoproj.io/tracking-id',
          }
        : {
            tool: 'Argo CD',
            kind: 'Application',
            name: app,
            source: 'annotation argocd.argoproj.io/tracking-id',
          };
  }
  for (const [kind, prefix] of [
    ['Kustomization', 'kustomize.toolkit.fluxcd.io'],
    ['HelmRelease', 'helm.toolkit.fluxcd.io'],
  ] as const) {
    const name = labels[`${prefix}/name`];
    if (name) {
      const namespace = labels[`${prefix}/namespace`];
      return { tool: 'Flux', kind, name, ...(namespace ? { namespace } : {}), source: `labels ${prefix}/*` };
    }
  }
  const instance = labels['app.kubernetes.io/instance'];
  if (instance)
    return {
      tool: 'Argo CD',
      kind: 'Application',
      name: instance,
      source: 'label app.kubernetes.io/instance',
    };
  return undefined;
}

/** `Argo CD Application argocd/erp-prod` (or without namespace when the hint has none). */
export function describeOwner(owner: GitOpsOwner): string {
  return `${owner.tool} ${owner.kind} ${owner.namespace ? `${owner.namespace}/` : ''}${owner.name}`;
}
