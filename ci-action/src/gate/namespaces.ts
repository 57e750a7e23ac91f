/**
 * The trusted namespace inventory of a CI run. Tenant identity (a namespace's labels) decides what a
 * manifest may reference, so it must come from somewhere the pull request cannot write: a file the
 * security team maintains, read from the base ref when one is given (the pull request's own copy of
 * the file is ignored), or a snapshot of the cluster (`kubectl get namespaces -o yaml`). Namespace
 * manifests inside the checked input are changes to judge, never the authority on labels. The same
 * file may list the ResourceQuotas and LimitRanges that already exist (`kubectl get
 * namespaces,resourcequotas,limitranges -A -o yaml`): tenant-quotas accepts a namespace that has them
 * there, and a pull request cannot forge them either.
 */
import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import {
  InputError,
  inventoryContentKinds,
  namespaceContents,
  namespaceInventory,
} from '../../../policies/index.ts';
import type { KubeObject, NamespaceContents, NamespaceLookup } from '../../../policies/index.ts';
import { git } from './git.ts';
import { parseManifests } from './manifests.ts';

/** Where the run's namespace labels came from, for reports. */
export interface NamespaceSource {
  readonly lookup: NamespaceLookup;
  /** The ResourceQuotas and LimitRanges the inventory lists, by namespace. */
  readonly contents: NamespaceContents;
  /** `k8s/namespaces.yaml@<ref>`, or the path when read from the working tree. */
  readonly source: string;
  readonly count: number;
  /** How many ResourceQuotas and LimitRanges it lists. */
  readonly contentCount: number;
}

/**
 * Reads the inventory at `path` (relative to `cwd`): YAML or JSON Namespace objects (and the
 * ResourceQuotas and LimitRanges of those namespaces), one per document or in a `List`. With `ref`, the file is read from that git ref
 * (`git show <ref>:./<path>`), so a pull request cannot change the labels it is judged with.
 * Throws {@link InputError} naming the file on anything that is not a readable inventory.
 */
export async function loadNamespaceInventory(
  path: string,
  cwd: string,
  ref?: string,
): Promise<NamespaceSource> {
  const source = ref ? `${path}@${ref}` : path;
  let text: string;
  try {
    text = ref ? await git(['show', `${ref}:./${path}`], cwd) : await readFile(resolve(cwd, path), 'utf8');
  } catch (error) {
    throw new InputError(
      source,
      `cannot read the namespace inventory: ${(error as Error).message.split('\n')[0] ?? ''}`,
    );
  }
  const parsed = parseManifests(source, text);
  const first = parsed.errors[0];
  if (first) throw new InputError(source, `line ${first.line}: ${first.message}`);
  const namespaces: KubeObject[] = [];
  const contents: KubeObject[] = [];
  for (const { object } of parsed.manifests) {
    const items = Array.isArray(object.items) ? (object.items as KubeObject[]) : [object];
    for (const item of items) {
      const kind = String(item?.kind ?? 'document without kind');
      if (item?.apiVersion === 'v1' && inventoryContentKinds.includes(kind)) {
        if (typeof item.metadata?.namespace !== 'string' || item.metadata.namespace === '')
          throw new InputError(
            source,
            `${kind} "${String(item.metadata?.name ?? '?')}" has no metadata.namespace; the inventory lists what exists in each namespace`,
          );
        contents.push(item);
        continue;
      }
      if (item?.kind !== 'Namespace' || typeof item.metadata?.name !== 'string')
        throw new InputError(
          source,
          `holds a ${kind}; the namespace inventory lists only Namespace objects and their ${inventoryContentKinds.join(' and ')} objects (apiVersion v1)`,
        );
      namespaces.push(item);
    }
  }
  return {
    lookup: namespaceInventory(namespaces, source),
    contents: namespaceContents(contents),
    source,
    count: namespaces.length,
    contentCount: contents.length,
  };
}
