/**
 * Where pod specs, containers and image fields live in every workload kind, so that every
 * policy checks the object as written (the Deployment, not the ReplicaSet it will create).
 */
import type { PathSegment } from './path.ts';
import { formatPath } from './path.ts';
import type { AdmissionRule, KubeObject } from './types.ts';

/** A pod spec found inside an object, with its path. */
export interface PodSpecLocation {
  readonly spec: Record<string, unknown>;
  readonly path: readonly PathSegment[];
  /** Labels of the pod template (or Pod), used to match Service selectors. */
  readonly podLabels: Readonly<Record<string, string>>;
}

/** Which list a container came from. */
export type ContainerKind = 'container' | 'initContainer' | 'ephemeralContainer';

/** A container inside a pod spec, with its path and kind. */
export interface ContainerLocation {
  readonly container: Record<string, unknown>;
  readonly kind: ContainerKind;
  /** An init container with `restartPolicy: Always` (a native sidecar). */
  readonly sidecar: boolean;
  readonly path: readonly PathSegment[];
  readonly pod: PodSpecLocation;
}

/** An image reference field (container image or image volume). */
export interface ImageField {
  readonly image: unknown;
  /** Formatted path of the field, e.g. `spec.template.spec.containers[0].image`. */
  readonly path: string;
  readonly container?: ContainerLocation;
}

const templateKinds = new Set([
  'Deployment',
  'StatefulSet',
  'DaemonSet',
  'ReplicaSet',
  'ReplicationController',
  'Job',
]);

/** Kinds whose objects carry a pod spec. */
export const workloadKinds: readonly string[] = ['Pod', ...templateKinds, 'CronJob', 'PodTemplate'];

/** Narrows an unknown value to a plain object. */
export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Reads a nested field by segments, or undefined. */
export function getIn(value: unknown, segments: readonly PathSegment[]): unknown {
  let current = value;
  for (const segment of segments) {
    if (typeof segment === 'number') {
      if (!Array.isArray(current)) return undefined;
      current = current[segment];
    } else {
      if (!isRecord(current)) return undefined;
      current = current[segment];
    }
  }
  return current;
}

function labelsAt(value: unknown): Record<string, string> {
  const labels = getIn(value, ['metadata', 'labels']);
  if (!isRecord(labels)) return {};
  const out: Record<string, string> = {};
  for (const [key, v] of Object.entries(labels)) if (typeof v === 'string') out[key] = v;
  return out;
}

/** The pod specs carried by an object (none for kinds without one). */
export function podSpecsOf(object: KubeObject): PodSpecLocation[] {
  const kind = object.kind;
  let templatePath: PathSegment[] | undefined;
  if (kind === 'Pod') {
    return isRecord(object.spec) ? [{ spec: object.spec, path: ['spec'], podLabels: labelsAt(object) }] : [];
  } else if (kind !== undefined && templateKinds.has(kind)) templatePath = ['spec', 'template'];
  else if (kind === 'CronJob') templatePath = ['spec', 'jobTemplate', 'spec', 'template'];
  else if (kind === 'PodTemplate') templatePath = ['template'];
  if (!templatePath) return [];
  const template = getIn(object, templatePath);
  const spec = getIn(template, ['spec']);
  if (!isRecord(spec)) return [];
  return [{ spec, path: [...templatePath, 'spec'], podLabels: labelsAt(template) }];
}

const containerLists: ReadonlyArray<readonly [string, ContainerKind]> = [
  ['initContainers', 'initContainer'],
  ['containers', 'container'],
  ['ephemeralContainers', 'ephemeralContainer'],
];

/** Every container of every pod spec in an object, init and ephemeral ones included. */
export function containersOf(object: KubeObject): ContainerLocation[] {
  const out: ContainerLocation[] = [];
  for (const pod of podSpecsOf(object)) {
    for (const [field, kind] of containerLists) {
      const list = pod.spec[field];
      if (!Array.isArray(list)) continue;
      list.forEach((container: unknown, index) => {
        if (!isRecord(container)) return;
        out.push({
          container,
          kind,
          sidecar: kind === 'initContainer' && container.restartPolicy === 'Always',
          path: [...pod.path, field, index],
          pod,
        });
      });
    }
  }
  return out;
}

/** Every image reference in an object: container images and image volumes (`volumes[*].image.reference`). */
export function imageFieldsOf(object: KubeObject): ImageField[] {
  const out: ImageField[] = [];
  for (const container of containersOf(object)) {
    out.push({ image: container.container.image, path: formatPath([...container.path, 'image']), container });
  }
  for (const pod of podSpecsOf(object)) {
    const volumes = pod.spec.volumes;
    if (!Array.isArray(volumes)) continue;
    volumes.forEach((volume: unknown, index) => {
      const image = getIn(volume, ['image']);
      if (isRecord(image)) {
        out.push({
          image: image.reference,
          path: formatPath([...pod.path, 'volumes', index, 'image', 'reference']),
        });
      }
    });
  }
  return out;
}

/** Whether an object is a `List` (kind `List` or `*List`) with an items array. */
export function isListObject(object: KubeObject): boolean {
  return typeof object.kind === 'string' && object.kind.endsWith('List') && Array.isArray(object.items);
}

/** A field of a workload that has the wrong shape, so the containers or images under it cannot be judged. */
export interface MalformedField {
  /** Formatted path of the field as written. */
  readonly path: string;
  readonly message: string;
}

function shapeOf(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'a list';
  return typeof value === 'object' ? 'a map' : `a ${typeof value}`;
}

/**
 * Fields of a workload present with the wrong shape: a pod template or spec that is not a map, a
 * container list or `volumes` that is not a list, a container or volume that is not a map, an image
 * volume whose `image` is not a map. Helpers such as {@link containersOf} skip them, so a policy that
 * judges containers or images reports these instead of passing what it could not see. The API server
 * refuses such objects; CI must not allow them.
 */
export function malformedWorkloadFields(object: KubeObject): MalformedField[] {
  const out: MalformedField[] = [];
  const kind = object.kind;
  let templatePath: PathSegment[] | undefined;
  if (kind === 'Pod') templatePath = [];
  else if (kind !== undefined && templateKinds.has(kind)) templatePath = ['spec', 'template'];
  else if (kind === 'CronJob') templatePath = ['spec', 'jobTemplate', 'spec', 'template'];
  else if (kind === 'PodTemplate') templatePath = ['template'];
  if (!templatePath) return out;
  const specPath = [...templatePath, 'spec'];
  for (let i = 1; i <= specPath.length; i++) {
    const value = getIn(object, specPath.slice(0, i));
    if (value === undefined || value === null) return out;
    if (!isRecord(value)) {
      out.push({
        path: formatPath(specPath.slice(0, i)),
        message: `${formatPath(specPath.slice(0, i))} must be a map, not ${shapeOf(value)}`,
      });
      return out;
    }
  }
  for (const pod of podSpecsOf(object)) {
    const lists: Array<[string, string]> = [
      ...containerLists.map(([field]) => [field, 'container'] as [string, string]),
      ['volumes', 'volume'],
    ];
    for (const [field, what] of lists) {
      const list = pod.spec[field];
      if (list === undefined || list === null) continue;
      const listPath = [...pod.path, field];
      if (!Array.isArray(list)) {
        out.push({
          path: formatPath(listPath),
          message: `${field} must be a list of ${what}s, not ${shapeOf(list)}`,
        });
        continue;
      }
      list.forEach((item: unknown, index) => {
        if (!isRecord(item))
          out.push({
            path: formatPath([...listPath, index]),
            message: `${field}[${index}] must be a ${what} map, not ${shapeOf(item)}`,
          });
        else if (
          field === 'volumes' &&
          item.image !== undefined &&
          item.image !== null &&
          !isRecord(item.image)
        )
          out.push({
            path: formatPath([...listPath, index, 'image']),
            message: `volumes[${index}].image must be a map with a reference, not ${shapeOf(item.image)}`,
          });
      });
    }
  }
  return out;
}

/**
 * Webhook rules (CREATE, UPDATE) for every kind that carries a pod spec, so each policy judging pod
 * specs asks for the same kinds; `coreResources` adds core-group resources such as
 * `pods/ephemeralcontainers` or `services`.
 */
export function workloadAdmissionRules(coreResources: readonly string[] = []): AdmissionRule[] {
  return [
    {
      apiGroups: [''],
      resources: ['pods', 'replicationcontrollers', 'podtemplates', ...coreResources],
      operations: ['CREATE', 'UPDATE'],
    },
    {
      apiGroups: ['apps'],
      resources: ['deployments', 'statefulsets', 'daemonsets', 'replicasets'],
      operations: ['CREATE', 'UPDATE'],
    },
    { apiGroups: ['batch'], resources: ['jobs', 'cronjobs'], operations: ['CREATE', 'UPDATE'] },
  ];
}
