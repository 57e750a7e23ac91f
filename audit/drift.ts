/**
 * Drift against Git: what Git declares compared with what runs. Objects declared but missing, live
 * objects in the namespaces Git manages that nobody declared and no controller owns, fields of
 * declared objects whose live value differs (only fields Git sets, so what the API server defaults
 * or controllers add is ignored), and images: declared, in the live spec, and the digests the Pods
 * run. Each drift names who changed the field last, from `metadata.managedFields`.
 */
import {
  containersOf,
  formatPath,
  getIn,
  isListObject,
  isRecord,
  parseImageReference,
  isImageReferenceError,
  parseQuantity,
  compareQuantities,
  breakGlassAnnotation,
  type KubeObject,
  type PathSegment,
} from '../policies/index.ts';
import { trackBreakGlass, type BreakGlassChange } from './break-glass.ts';
import type { ApiResource } from './cluster.ts';

/** Where Git declares an object: a file relative to the working directory (or a render spec) and its line. */
export interface DeclaredSource {
  readonly file: string;
  readonly line?: number;
}

/** An object Git declares, with where it was read. */
export interface DeclaredObject {
  readonly object: KubeObject;
  readonly source: DeclaredSource;
}

/** `file:line` of a source. */
export function sourceText(source: DeclaredSource): string {
  return source.line !== undefined ? `${source.file}:${source.line}` : source.file;
}

/** The live objects the audit listed, by {@link liveKey}, and the Pods (for running images). */
export interface LiveIndex {
  readonly objects: ReadonlyMap<string, KubeObject>;
  readonly pods: readonly KubeObject[];
}

/** Who last wrote a field, from `metadata.managedFields`. */
export interface FieldManager {
  /** The field manager: `kubectl-edit`, `kubectl-client-side-apply`, `argocd-controller`, … */
  readonly manager: string;
  /** `Apply` (server-side apply) or `Update`. */
  readonly operation?: string;
  readonly time?: string;
}

/** One field whose live value is not what Git declares. */
export interface FieldDrift {
  /** The path on the live object, e.g. `spec.template.spec.containers[0].image`. */
  readonly path: string;
  readonly declared: unknown;
  /** Absent when the live object lacks the field. */
  readonly live?: unknown;
  readonly changedBy?: FieldManager;
}

/** What the running Pods of a workload's container actually run. */
export interface RunningImage {
  /** The digest (`sha256:…`) from `status.containerStatuses[].imageID`, else the image the kubelet reports. */
  readonly digest: string;
  readonly pods: readonly string[];
}

/** Declared, live and running images of one container of a workload. */
export interface ImageRow {
  readonly namespace?: string;
  readonly kind: string;
  readonly name: string;
  readonly container: string;
  /** The image Git declares (absent: not declared, or no Git given for it). */
  readonly declared?: string;
  /** The image of the live spec. */
  readonly live: string;
  readonly running: readonly RunningImage[];
  /** Why this row is drift (absent: declared, live and running agree). */
  readonly drift?: string;
}

/** The kind of drift. */
export type DriftType = 'missing' | 'undeclared' | 'fields' | 'image';

/** One drift finding. */
export interface DriftEntry {
  readonly type: DriftType;
  readonly object: {
    readonly apiVersion: string;
    readonly kind: string;
    readonly namespace?: string;
    readonly name: string;
  };
  /** Where Git declares the object. */
  readonly source?: DeclaredSource;
  readonly message: string;
  readonly fields?: readonly FieldDrift[];
  /** The last writer of an undeclared object, or of the image field of an image drift. */
  readonly changedBy?: FieldManager;
  readonly image?: ImageRow;
}

/** Drift of the cluster against Git. */
export interface DriftReport {
  /** Objects Git declares (in the audited namespaces). */
  readonly declared: number;
  readonly entries: readonly DriftEntry[];
  /** Break-glass changes: open while the live object differs from Git, resolved once Git matches. */
  readonly breakGlass: readonly BreakGlassChange[];
  /** Declared vs live vs running images of every workload container. */
  readonly images: readonly ImageRow[];
}

/** What {@link compareWithGit} compares. */
export interface CompareOptions {
  readonly declared: readonly DeclaredObject[];
  readonly live: LiveIndex;
  /** Every resource the cluster serves (to tell namespaced kinds and their groups). */
  readonly resources: readonly ApiResource[];
  /** The resources the audit listed: only these are compared. */
  readonly audited: readonly ApiResource[];
  /** `namespace/Kind/name` of objects an HorizontalPodAutoscaler scales (their replicas are not drift). */
  readonly hpaTargets: ReadonlySet<string>;
  /** The audited namespaces (`--namespace`); absent: all. */
  readonly namespaces?: ReadonlySet<string>;
}

/** Objects the API server or its controllers create in every namespace: never "undeclared". */
const systemObjects = new Set(['/ServiceAccount/default', '/ConfigMap/kube-root-ca.crt']);

const groupOf = (apiVersion: unknown): string =>
  typeof apiVersion === 'string' && apiVersion.includes('/') ? (apiVersion.split('/')[0] ?? '') : '';

/** The key of an object by API group (not version), kind, namespace and name. */
export function liveKey(
  group: string,
  kind: string,
  namespace: string | undefined,
  name: string | undefined,
): string {
  return `${group}/${kind}/${namespace ?? ''}/${name ?? ''}`;
}

/** Compares what Git declares with the live objects (all at once; the audit streams them through {@link DriftCollector}). */
export function compareWithGit(options: CompareOptions): DriftReport {
  const collector = new DriftCollector(options);
  for (const live of options.live.objects.values()) collector.add(live);
  return collector.finish();
}

/** A workload's containers as the image rows need them: a few strings, not the object. */
interface CompactWorkload {
  readonly apiVersion: string;
  readonly kind: string;
  readonly namespace?: string;
  readonly name: string;
  /** The Pod's own statuses when the workload is a Pod; else the selector's matchLabels. */
  readonly self?: CompactPod;
  readonly matchLabels?: Readonly<Record<string, unknown>>;
  readonly containers: readonly { name: string; live: string; declared?: string }[];
}

/** What a Pod contributes to running images: its labels and each container's digest. */
interface CompactPod {
  readonly name: string;
  readonly labels: Readonly<Record<string, string>>;
  /** Container name → digest (or the image the kubelet reports). */
  readonly running: ReadonlyMap<string, string>;
}

/** A live object carrying a break-glass annotation, as the audit saw it against Git. */
export interface BreakGlassSeen {
  readonly object: DriftEntry['object'];
  /** The annotation's value (the approval token). */
  readonly token: string;
  /** Who wrote the annotation, and when (from `metadata.managedFields`). */
  readonly changedBy?: FieldManager;
  /** Where Git declares the object (absent: Git does not declare it). */
  readonly source?: DeclaredSource;
  /** Fields that differ from Git (declared objects only). */
  readonly fields: readonly FieldDrift[];
}

/**
 * Drift against Git, one live object at a time: what Git declares is indexed first, each live object
 * is compared when it is listed and only the drift and a few strings per workload and Pod are kept,
 * so memory grows with what drifted, not with the objects listed. {@link finish} adds the declared
 * objects never seen (missing) and the images (declared, live, running).
 */
export class DriftCollector {
  private readonly declared = new Map<
    string,
    { object: KubeObject; source: DeclaredSource; index: number }
  >();
  private readonly seen = new Set<string>();
  private readonly managedNamespaces = new Set<string>();
  private readonly audited: ReadonlySet<string>;
  private readonly declaredEntries: { index: number; entry: DriftEntry }[] = [];
  private readonly undeclared: DriftEntry[] = [];
  private readonly workloads: CompactWorkload[] = [];
  private readonly podsByNamespace = new Map<string, CompactPod[]>();
  private readonly breakGlassSeen: BreakGlassSeen[] = [];
  private declaredCount = 0;
  private readonly options: Omit<CompareOptions, 'live'>;

  /** Indexes what Git declares (in the audited namespaces and the kinds the audit lists). */
  constructor(options: Omit<CompareOptions, 'live'>) {
    this.options = options;
    this.audited = new Set(options.audited.map((r) => `${r.group}/${r.kind}`));
    const namespacedKinds = new Map(options.resources.map((r) => [`${r.group}/${r.kind}`, r.namespaced]));
    let index = 0;
    for (const { object, source } of flattenLists(options.declared)) {
      index++;
      const kind = object.kind ?? '';
      const group = groupOf(object.apiVersion);
      const name = object.metadata?.name ?? '';
      const namespaced = namespacedKinds.get(`${group}/${kind}`);
      const namespace = namespaced
        ? (object.metadata?.namespace ??
          (options.namespaces?.size === 1 ? [...options.namespaces][0] : undefined) ??
          'default')
        : undefined;
      if (namespace !== undefined && options.namespaces && !options.namespaces.has(namespace)) continue;
      const ref = {
        apiVersion: object.apiVersion ?? '',
        kind,
        ...(namespace !== undefined ? { namespace } : {}),
        name,
      };
      if (namespaced === undefined) {
        this.declaredCount++;
        this.declaredEntries.push({
          index,
          entry: {
            type: 'missing',
            object: ref,
            source,
            message: `${kind} ${name} is declared but the cluster serves no kind ${kind} in group "${group}" (is its CRD installed?)`,
          },
        });
        continue;
      }
      if (!this.audited.has(`${group}/${kind}`)) continue; // not a kind the policies judge: not listed
      this.declaredCount++;
      if (namespace !== undefined) this.managedNamespaces.add(namespace);
      this.declared.set(liveKey(group, kind, namespace, name), { object, source, index });
    }
    for (const namespace of options.namespaces ?? []) this.managedNamespaces.add(namespace);
  }

  /** Compares one live object (its `apiVersion` and `kind` set) with Git and keeps what the report needs. */
  add(live: KubeObject): void {
    const group = groupOf(live.apiVersion);
    const kind = live.kind ?? '';
    if (!this.audited.has(`${group}/${kind}`)) return;
    const namespace = live.metadata?.namespace;
    const name = live.metadata?.name ?? '';
    const key = liveKey(group, kind, namespace, name);
    const declared = this.declared.get(key);
    const ref = {
      apiVersion: live.apiVersion ?? '',
      kind,
      ...(namespace !== undefined ? { namespace } : {}),
      name,
    };
    let fields: FieldDrift[] = [];
    if (declared) {
      this.seen.add(key);
      const scaled = this.options.hpaTargets.has(`${namespace ?? ''}/${kind}/${name}`);
      fields = diffFields(declared.object, live, scaled);
      if (fields.length > 0)
        this.declaredEntries.push({
          index: declared.index,
          entry: {
            type: 'fields',
            object: ref,
            source: declared.source,
            fields,
            message: `${fields.length} field(s) differ from ${sourceText(declared.source)}: ${fields
              .map((f) => `${f.path} (${f.changedBy ? `by ${f.changedBy.manager}` : 'writer unknown'})`)
              .join(', ')}`,
          },
        });
    } else if (namespace !== undefined && this.managedNamespaces.has(namespace)) {
      const owners = live.metadata?.ownerReferences;
      const owned = Array.isArray(owners) && owners.length > 0;
      if (!owned && !systemObjects.has(`/${kind}/${name}`)) {
        const changedBy = lastManager(live, []);
        this.undeclared.push({
          type: 'undeclared',
          object: { ...ref, namespace },
          ...(changedBy ? { changedBy } : {}),
          message: `${kind} ${namespace}/${name} runs in a namespace Git manages but is declared nowhere and owned by no controller${changedBy ? ` (last written by ${changedBy.manager})` : ''}`,
        });
      }
    }
    const token = live.metadata?.annotations?.[breakGlassAnnotation];
    if (typeof token === 'string' && token.trim() !== '') {
      const changedBy = lastManager(live, ['metadata', 'annotations', breakGlassAnnotation]);
      this.breakGlassSeen.push({
        object: ref,
        token,
        ...(changedBy ? { changedBy } : {}),
        ...(declared ? { source: declared.source } : {}),
        fields,
      });
    }
    this.keepImages(live, declared?.object);
  }

  private keepImages(live: KubeObject, declared: KubeObject | undefined): void {
    const isPod = live.kind === 'Pod';
    const pod = isPod ? compactPod(live) : undefined;
    if (pod) {
      const namespace = live.metadata?.namespace ?? '';
      let list = this.podsByNamespace.get(namespace);
      if (!list) this.podsByNamespace.set(namespace, (list = []));
      list.push(pod);
    }
    const containers = containersOf(live).filter((c) => c.kind !== 'ephemeralContainer');
    if (containers.length === 0) return;
    const owned = Array.isArray(live.metadata?.ownerReferences) && live.metadata.ownerReferences.length > 0;
    if (owned && !declared) return; // a controller's object (ReplicaSet, Pod): reported with its workload
    const declaredImages = new Map(
      (declared ? containersOf(declared) : []).map((c) => [String(c.container.name), c.container.image]),
    );
    const namespace = live.metadata?.namespace;
    const matchLabels = isPod ? undefined : selectorLabels(live);
    this.workloads.push({
      apiVersion: live.apiVersion ?? '',
      kind: live.kind ?? '',
      ...(namespace !== undefined ? { namespace } : {}),
      name: live.metadata?.name ?? '',
      ...(pod ? { self: pod } : {}),
      ...(matchLabels ? { matchLabels } : {}),
      containers: containers.map(({ container }) => {
        const declaredImage = declaredImages.get(String(container.name ?? ''));
        return {
          name: String(container.name ?? ''),
          live: typeof container.image === 'string' ? container.image : '',
          ...(typeof declaredImage === 'string' ? { declared: declaredImage } : {}),
        };
      }),
    });
  }

  /** The drift report: declared objects never listed are missing; images are matched with the Pods. */
  finish(): DriftReport {
    const declaredEntries = [...this.declaredEntries];
    for (const [key, { object, source, index }] of this.declared) {
      if (this.seen.has(key)) continue;
      const group = groupOf(object.apiVersion);
      const [, kind = '', namespace = '', name = ''] = key.slice(group.length).split('/');
      declaredEntries.push({
        index,
        entry: {
          type: 'missing',
          object: {
            apiVersion: object.apiVersion ?? '',
            kind,
            ...(namespace !== '' ? { namespace } : {}),
            name,
          },
          source,
          message: `${kind} ${namespace ? `${namespace}/` : ''}${name} is declared in ${sourceText(source)} but not in the cluster`,
        },
      });
    }
    declaredEntries.sort((a, b) => a.index - b.index);
    const entries: DriftEntry[] = [...declaredEntries.map((e) => e.entry), ...this.undeclared];
    const images: ImageRow[] = [];
    for (const workload of this.workloads)
      for (const row of imageRows(workload, this.podsByNamespace.get(workload.namespace ?? '') ?? [])) {
        images.push(row);
        if (row.drift)
          entries.push({
            type: 'image',
            object: {
              apiVersion: workload.apiVersion,
              kind: workload.kind,
              ...(row.namespace !== undefined ? { namespace: row.namespace } : {}),
              name: row.name,
            },
            image: row,
            message: row.drift,
          });
      }
    return {
      declared: this.declaredCount,
      entries,
      breakGlass: trackBreakGlass(this.breakGlassSeen),
      images,
    };
  }
}

/** Items of `List` documents as the objects kubectl would apply, with the List's source. */
function flattenLists(declared: readonly DeclaredObject[]): DeclaredObject[] {
  return declared.flatMap((entry) =>
    isListObject(entry.object)
      ? flattenLists(
          (entry.object.items as unknown[])
            .filter((item): item is KubeObject => isRecord(item))
            .map((object) => ({ object, source: entry.source })),
        )
      : [entry],
  );
}

const ignoredAnnotations = new Set([
  'kubectl.kubernetes.io/last-applied-configuration',
  'deployment.kubernetes.io/revision',
]);

/** Fields Git sets whose live value differs; server defaults (fields Git leaves out) are not compared. */
export function diffFields(declared: KubeObject, live: KubeObject, scaledByHpa = false): FieldDrift[] {
  const out: FieldDrift[] = [];
  const walk = (want: unknown, have: unknown, path: PathSegment[]): void => {
    if (want === null || want === undefined) return;
    if (path.length === 1 && (path[0] === 'status' || path[0] === 'apiVersion' || path[0] === 'kind')) return;
    if (path.length === 2 && path[0] === 'metadata' && path[1] !== 'labels' && path[1] !== 'annotations')
      return;
    if (path.length === 3 && path[1] === 'annotations' && ignoredAnnotations.has(String(path[2]))) return;
    if (scaledByHpa && path.length === 2 && path[0] === 'spec' && path[1] === 'replicas') return;
    if (isRecord(want)) {
      if (!isRecord(have)) {
        out.push(drift(path, want, have, live));
        return;
      }
      for (const [key, value] of Object.entries(want)) walk(value, have[key], [...path, key]);
      return;
    }
    if (Array.isArray(want)) {
      if (!Array.isArray(have)) {
        out.push(drift(path, want, have, live));
        return;
      }
      want.forEach((item: unknown, index) => {
        const match = matchItem(item, have, index);
        if (match === undefined) out.push(drift([...path, index], item, undefined, live));
        else walk(item, have[match], [...path, match]);
      });
      return;
    }
    if (!sameScalar(want, have, path)) out.push(drift(path, want, have, live));
  };
  walk(declared, live, []);
  return out;
}

/** The index of the live item a declared list item corresponds to: by merge key, else by position. */
function matchItem(item: unknown, have: readonly unknown[], index: number): number | undefined {
  if (isRecord(item)) {
    for (const key of ['name', 'containerPort', 'port', 'mountPath', 'ip']) {
      if (item[key] === undefined) continue;
      const found = have.findIndex((h) => isRecord(h) && h[key] === item[key]);
      return found === -1 ? undefined : found;
    }
  }
  return index < have.length ? index : undefined;
}

function sameScalar(want: unknown, have: unknown, path: readonly PathSegment[]): boolean {
  if (want === have) return true;
  // Quantities are stored canonically (0.5 → 500m, 1Gi stays, 1000Mi stays): compare their values.
  if (path.includes('resources') || path.includes('capacity') || path.includes('hard')) {
    const a = parseQuantity(want);
    const b = parseQuantity(have);
    if (a && b) return compareQuantities(a, b) === 0;
  }
  // An int-or-string written as a number or a numeric string (targetPort: 8080 vs "8080").
  if (
    (typeof want === 'number' && typeof have === 'string') ||
    (typeof want === 'string' && typeof have === 'number')
  )
    return String(want) === String(have);
  return false;
}

function drift(
  path: readonly PathSegment[],
  declared: unknown,
  live: unknown,
  object: KubeObject,
): FieldDrift {
  const changedBy = lastManager(object, path);
  return {
    path: formatPath(path),
    declared,
    ...(live !== undefined ? { live } : {}),
    ...(changedBy ? { changedBy } : {}),
  };
}

interface ManagedFieldsEntry {
  manager?: string;
  operation?: string;
  time?: string;
  subresource?: string;
  fieldsV1?: unknown;
}

/**
 * The manager that last wrote a field: among the managedFields entries owning the field (or, when
 * none owns it, its nearest owned parent), the latest by time. An empty path means the whole
 * object: the latest writer of anything.
 */
export function lastManager(object: KubeObject, path: readonly PathSegment[]): FieldManager | undefined {
  const entries = (
    Array.isArray(object.metadata?.managedFields) ? object.metadata.managedFields : []
  ) as ManagedFieldsEntry[];
  const candidates = entries.filter((e) => typeof e.manager === 'string' && e.subresource !== 'status');
  let best: { entry: ManagedFieldsEntry; depth: number } | undefined;
  for (const entry of candidates) {
    const depth = ownedDepth(entry.fieldsV1, object, path);
    if (depth < 0) continue;
    if (!best || depth > best.depth || (depth === best.depth && (entry.time ?? '') > (best.entry.time ?? '')))
      best = { entry, depth };
  }
  if (!best) return undefined;
  return {
    manager: best.entry.manager ?? '',
    ...(best.entry.operation ? { operation: best.entry.operation } : {}),
    ...(best.entry.time ? { time: best.entry.time } : {}),
  };
}

/** How many segments of the path a fieldsV1 set covers (-1: not even the first). */
function ownedDepth(fields: unknown, object: KubeObject, path: readonly PathSegment[]): number {
  if (path.length === 0) return isRecord(fields) && Object.keys(fields).length > 0 ? 0 : -1;
  let node: unknown = fields;
  let value: unknown = object;
  let depth = -1;
  for (const segment of path) {
    if (!isRecord(node)) break;
    let next: unknown;
    if (typeof segment === 'string') next = node[`f:${segment}`];
    else {
      const item = Array.isArray(value) ? value[segment] : undefined;
      next = Object.entries(node).find(([key]) => listKeyMatches(key, item, segment))?.[1];
    }
    if (next === undefined) break;
    node = next;
    value = getIn(value, [segment]);
    depth++;
  }
  return depth;
}

function listKeyMatches(key: string, item: unknown, index: number): boolean {
  if (key === `i:${index}`) return true;
  if (key.startsWith('v:')) {
    try {
      return JSON.stringify(JSON.parse(key.slice(2))) === JSON.stringify(item);
    } catch {
      return false;
    }
  }
  if (!key.startsWith('k:') || !isRecord(item)) return false;
  try {
    const fields = JSON.parse(key.slice(2)) as Record<string, unknown>;
    return Object.entries(fields).every(([k, v]) => item[k] === v || String(item[k]) === String(v));
  } catch {
    return false;
  }
}

function compactPod(pod: KubeObject): CompactPod {
  const running = new Map<string, string>();
  const statuses = [
    ...((getIn(pod, ['status', 'containerStatuses']) as unknown[] | undefined) ?? []),
    ...((getIn(pod, ['status', 'initContainerStatuses']) as unknown[] | undefined) ?? []),
  ];
  for (const status of statuses) {
    if (!isRecord(status) || typeof status.name !== 'string' || running.has(status.name)) continue;
    const digest = digestOf(status.imageID) ?? (typeof status.image === 'string' ? status.image : undefined);
    if (digest) running.set(status.name, digest);
  }
  return { name: pod.metadata?.name ?? '', labels: pod.metadata?.labels ?? {}, running };
}

/** The labels a workload selects its Pods by (matchLabels; a ReplicationController's plain map). */
function selectorLabels(workload: KubeObject): Record<string, unknown> | undefined {
  const selector = getIn(workload, ['spec', 'selector']);
  const matchLabels = isRecord(selector)
    ? isRecord(selector.matchLabels)
      ? selector.matchLabels
      : workload.kind === 'ReplicationController'
        ? selector
        : undefined
    : undefined;
  return matchLabels && Object.keys(matchLabels).length > 0 ? matchLabels : undefined;
}

/** Declared, live and running images of a workload's containers (Pods matched by the workload's selector). */
function imageRows(workload: CompactWorkload, pods: readonly CompactPod[]): ImageRow[] {
  const matchLabels = workload.matchLabels;
  const selected = workload.self
    ? [workload.self]
    : matchLabels
      ? pods.filter((pod) => Object.entries(matchLabels).every(([k, v]) => pod.labels[k] === v))
      : [];
  return workload.containers.map((container) => {
    const running = new Map<string, string[]>();
    for (const pod of selected) {
      const digest = pod.running.get(container.name);
      if (digest) running.set(digest, [...(running.get(digest) ?? []), pod.name]);
    }
    const row: ImageRow = {
      ...(workload.namespace !== undefined ? { namespace: workload.namespace } : {}),
      kind: workload.kind,
      name: workload.name,
      container: container.name,
      ...(container.declared !== undefined ? { declared: container.declared } : {}),
      live: container.live,
      running: [...running].map(([digest, podNames]) => ({ digest, pods: podNames.sort() })),
    };
    const reason = imageDrift(row);
    return reason ? { ...row, drift: reason } : row;
  });
}

function digestOf(imageID: unknown): string | undefined {
  if (typeof imageID !== 'string') return undefined;
  const match = /(sha256:[0-9a-f]{64})/.exec(imageID);
  return match?.[1];
}

function imageDrift(row: ImageRow): string | undefined {
  const where = `${row.kind} ${row.namespace ? `${row.namespace}/` : ''}${row.name} container ${row.container}`;
  if (row.declared !== undefined && row.declared !== row.live)
    return `${where}: Git declares ${row.declared}, the live spec runs ${row.live}`;
  const pinned = parseImageReference(row.live);
  const pinnedDigest = isImageReferenceError(pinned) ? undefined : pinned.digest;
  const digests = row.running.map((r) => r.digest).filter((d) => d.startsWith('sha256:'));
  if (pinnedDigest && digests.some((d) => d !== pinnedDigest))
    return `${where}: the spec pins ${pinnedDigest} but Pods run ${digests.filter((d) => d !== pinnedDigest).join(', ')}`;
  if (new Set(digests).size > 1)
    return `${where}: the tag moved: Pods of ${row.live} run ${row.running
      .map((r) => `${r.digest} (${r.pods.join(', ')})`)
      .join(' and ')}`;
  return undefined;
}
