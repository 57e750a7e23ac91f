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
  /** Where its containers are, relative to `path` (default: a PodSpec's three container lists). */
  readonly slots?: readonly ContainerSlot[];
  /** Defaults merged into the object's other pod specs (Argo's `templateDefaults`): its containers may leave out the image and resources. */
  readonly defaults?: boolean;
  /**
   * Not a pod spec: only the container-like entries under it are judged, never its own fields as
   * pod-level ones (a Tekton run's step overrides, a StepAction's single step).
   */
  readonly containersOnly?: boolean;
}

/** Where containers sit in a pod spec: a list of containers, or a single one (Argo's `container`). */
export interface ContainerSlot {
  readonly path: readonly PathSegment[];
  readonly kind: ContainerKind;
  readonly single: boolean;
  /** Name of its resource requirements field (default `resources`; Tekton v1 `computeResources`). */
  readonly resources?: string;
  /** What the project calls these containers, for messages (Tekton `step`, `sidecar`, `stepTemplate`). */
  readonly role?: string;
  /**
   * Merged into other containers rather than run (Tekton's `stepTemplate`, a run's `stepSpecs`): may
   * leave out the image and required fields, and is judged through the containers it is merged into.
   */
  readonly partial?: boolean;
  /** The single entry at this path (Tekton's `stepTemplate`) is merged under every container of `appliesTo`. */
  readonly templateOf?: readonly PathSegment[];
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
  /** Name of its resource requirements field: `resources`, or Tekton v1's `computeResources`. */
  readonly resourcesKey: string;
  /** What the project calls it (Tekton `step`, `sidecar`, `stepTemplate`), when not a Kubernetes container. */
  readonly role?: string;
  /** Merged into other containers rather than run (see {@link ContainerSlot.partial}). */
  readonly partial: boolean;
  /** The template merged under this container before it runs (Tekton's `stepTemplate` under each step). */
  readonly template?: ContainerLocation;
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

/** A field path whose `'*'` segments stand for every item of a list. */
export type FanPath = readonly (PathSegment | '*')[];

/** A custom resource that describes pods or containers its controller runs, and where. */
export interface CustomWorkload {
  readonly kind: string;
  readonly group: string;
  readonly resource: string;
  readonly template?: readonly PathSegment[];
  /** Paths of PodTemplateSpecs, of which an object may carry several (OpenKruise's UnitedDeployment). */
  readonly templates?: readonly FanPath[];
  /** Paths of patches the controller applies to the templates, which tollgate cannot judge. */
  readonly patches?: readonly FanPath[];
  /** Path of a PodSpec the object carries directly (Knative's Revision). */
  readonly podSpec?: readonly PathSegment[];
  /** Paths of pod-level fields without containers (Tekton's `podTemplate`: hostNetwork, volumes, securityContext). */
  readonly podFields?: readonly FanPath[];
  /** Paths of Tekton TaskSpecs: steps, sidecars and stepTemplate run as one pod with the spec's volumes. */
  readonly taskSpecs?: readonly FanPath[];
  /** Paths of Tekton run specs whose stepSpecs, sidecarSpecs and computeResources change the resources of steps. */
  readonly runSpecs?: readonly FanPath[];
  /** Path of the single container an object describes (a Tekton StepAction's spec). */
  readonly container?: readonly PathSegment[];
  readonly workflow?: readonly PathSegment[];
}

/**
 * Custom resources whose controllers run the pod template they embed, so every pod-spec policy
 * judges the object as written, in CI as at admission (their pods are judged again when the
 * controller creates them). `template` is the path of a PodTemplateSpec; `workflow` the path of an
 * Argo WorkflowSpec, whose `templates[]` each describe a pod.
 */
export const customWorkloads: readonly CustomWorkload[] = [
  // Argo Rollouts: a Deployment replacement (spec.template is a PodTemplateSpec).
  { kind: 'Rollout', group: 'argoproj.io', resource: 'rollouts', template: ['spec', 'template'] },
  // KEDA: a Job per event batch (spec.jobTargetRef is a batch/v1 JobSpec).
  {
    kind: 'ScaledJob',
    group: 'keda.sh',
    resource: 'scaledjobs',
    template: ['spec', 'jobTargetRef', 'template'],
  },
  // CloudNativePG: the PgBouncer pods of a Pooler (spec.template is a PodTemplateSpec).
  { kind: 'Pooler', group: 'postgresql.cnpg.io', resource: 'poolers', template: ['spec', 'template'] },
  // Knative Serving: a Service or Configuration stamps out Revisions from spec.template (a
  // RevisionTemplateSpec whose spec inlines a PodSpec); a Revision's spec is that PodSpec.
  { kind: 'Service', group: 'serving.knative.dev', resource: 'services', template: ['spec', 'template'] },
  {
    kind: 'Configuration',
    group: 'serving.knative.dev',
    resource: 'configurations',
    template: ['spec', 'template'],
  },
  { kind: 'Revision', group: 'serving.knative.dev', resource: 'revisions', podSpec: ['spec'] },
  // OpenKruise: CloneSet, Advanced StatefulSet and Advanced DaemonSet replace the built-in
  // workloads; a BroadcastJob runs its template on every node (spec.template is a PodTemplateSpec).
  { kind: 'CloneSet', group: 'apps.kruise.io', resource: 'clonesets', template: ['spec', 'template'] },
  { kind: 'StatefulSet', group: 'apps.kruise.io', resource: 'statefulsets', template: ['spec', 'template'] },
  { kind: 'DaemonSet', group: 'apps.kruise.io', resource: 'daemonsets', template: ['spec', 'template'] },
  {
    kind: 'BroadcastJob',
    group: 'apps.kruise.io',
    resource: 'broadcastjobs',
    template: ['spec', 'template'],
  },
  // An AdvancedCronJob creates a Job or a BroadcastJob on schedule from one of its templates.
  {
    kind: 'AdvancedCronJob',
    group: 'apps.kruise.io',
    resource: 'advancedcronjobs',
    templates: [
      ['spec', 'template', 'jobTemplate', 'spec', 'template'],
      ['spec', 'template', 'broadcastJobTemplate', 'spec', 'template'],
    ],
  },
  // A UnitedDeployment stamps out one workload per subset from its workload template; a subset's
  // `patch` rewrites that template in text tollgate does not judge.
  {
    kind: 'UnitedDeployment',
    group: 'apps.kruise.io',
    resource: 'uniteddeployments',
    templates: [
      ['spec', 'template', 'statefulSetTemplate', 'spec', 'template'],
      ['spec', 'template', 'advancedStatefulSetTemplate', 'spec', 'template'],
      ['spec', 'template', 'cloneSetTemplate', 'spec', 'template'],
      ['spec', 'template', 'deploymentTemplate', 'spec', 'template'],
    ],
    patches: [['spec', 'topology', 'subsets', '*', 'patch']],
  },
  // A SidecarSet (cluster-scoped) injects its containers, init containers and volumes into every
  // pod it selects; an EphemeralJob adds its ephemeral containers to running pods it selects.
  { kind: 'SidecarSet', group: 'apps.kruise.io', resource: 'sidecarsets', podSpec: ['spec'] },
  {
    kind: 'EphemeralJob',
    group: 'apps.kruise.io',
    resource: 'ephemeraljobs',
    podSpec: ['spec', 'template'],
  },
  // Tekton: a Task (ClusterTask) runs its steps, sidecars and stepTemplate as one pod with its
  // volumes; a Pipeline embeds TaskSpecs in tasks[] and finally[]; a TaskRun or PipelineRun embeds
  // them too, gives the pod its podTemplate (a v1 PipelineRun's taskRunTemplate.podTemplate, per
  // task taskRunSpecs[].podTemplate, v1beta1 taskPodTemplate) and overrides step resources
  // (stepSpecs, sidecarSpecs, computeResources). A StepAction is one step that tasks refer to.
  { kind: 'Task', group: 'tekton.dev', resource: 'tasks', taskSpecs: [['spec']] },
  { kind: 'ClusterTask', group: 'tekton.dev', resource: 'clustertasks', taskSpecs: [['spec']] },
  {
    kind: 'TaskRun',
    group: 'tekton.dev',
    resource: 'taskruns',
    podFields: [['spec', 'podTemplate']],
    taskSpecs: [['spec', 'taskSpec']],
    runSpecs: [['spec']],
  },
  {
    kind: 'Pipeline',
    group: 'tekton.dev',
    resource: 'pipelines',
    taskSpecs: [
      ['spec', 'tasks', '*', 'taskSpec'],
      ['spec', 'finally', '*', 'taskSpec'],
    ],
  },
  {
    kind: 'PipelineRun',
    group: 'tekton.dev',
    resource: 'pipelineruns',
    podFields: [
      ['spec', 'podTemplate'],
      ['spec', 'taskRunTemplate', 'podTemplate'],
      ['spec', 'taskRunSpecs', '*', 'podTemplate'],
      ['spec', 'taskRunSpecs', '*', 'taskPodTemplate'],
    ],
    taskSpecs: [
      ['spec', 'pipelineSpec', 'tasks', '*', 'taskSpec'],
      ['spec', 'pipelineSpec', 'finally', '*', 'taskSpec'],
    ],
    runSpecs: [['spec', 'taskRunSpecs', '*']],
  },
  { kind: 'StepAction', group: 'tekton.dev', resource: 'stepactions', container: ['spec'] },
  // Argo Workflows: a pod per container or script template.
  { kind: 'Workflow', group: 'argoproj.io', resource: 'workflows', workflow: ['spec'] },
  { kind: 'WorkflowTemplate', group: 'argoproj.io', resource: 'workflowtemplates', workflow: ['spec'] },
  {
    kind: 'ClusterWorkflowTemplate',
    group: 'argoproj.io',
    resource: 'clusterworkflowtemplates',
    workflow: ['spec'],
  },
  {
    kind: 'CronWorkflow',
    group: 'argoproj.io',
    resource: 'cronworkflows',
    workflow: ['spec', 'workflowSpec'],
  },
];

const podSpecSlots: readonly ContainerSlot[] = [
  { path: ['initContainers'], kind: 'initContainer', single: false },
  { path: ['containers'], kind: 'container', single: false },
  { path: ['ephemeralContainers'], kind: 'ephemeralContainer', single: false },
];

/** An Argo Workflows template: its init containers, sidecars, main `container` or `script`, and a `containerSet`. */
const argoTemplateSlots: readonly ContainerSlot[] = [
  { path: ['initContainers'], kind: 'initContainer', single: false },
  { path: ['sidecars'], kind: 'container', single: false },
  { path: ['container'], kind: 'container', single: true },
  { path: ['script'], kind: 'container', single: true },
  { path: ['containerSet', 'containers'], kind: 'container', single: false },
];

/** The resource requirements field of Tekton steps and sidecars: `computeResources` in v1, `resources` before. */
function tektonResourcesKey(object: KubeObject): string {
  const apiVersion = typeof object.apiVersion === 'string' ? object.apiVersion : '';
  return /\/v1(alpha|beta)\d+$/.test(apiVersion) ? 'resources' : 'computeResources';
}

/** A Tekton TaskSpec: the stepTemplate (merged under every step), steps and sidecars. */
function tektonTaskSlots(resources: string): readonly ContainerSlot[] {
  return [
    {
      path: ['stepTemplate'],
      kind: 'container',
      single: true,
      resources,
      role: 'stepTemplate',
      partial: true,
      templateOf: ['steps'],
    },
    { path: ['steps'], kind: 'container', single: false, resources, role: 'step' },
    { path: ['sidecars'], kind: 'container', single: false, resources, role: 'sidecar' },
  ];
}

/** A Tekton run's resource overrides: per step and sidecar by name, and for the whole task. */
function tektonRunSlots(resources: string): readonly ContainerSlot[] {
  const [steps, sidecars] =
    resources === 'resources' ? ['stepOverrides', 'sidecarOverrides'] : ['stepSpecs', 'sidecarSpecs'];
  return [
    { path: [steps], kind: 'container', single: false, resources, role: steps, partial: true },
    { path: [sidecars], kind: 'container', single: false, resources, role: sidecars, partial: true },
    {
      path: [],
      kind: 'container',
      single: true,
      resources: 'computeResources',
      role: 'task-level',
      partial: true,
    },
  ];
}

/** A Tekton StepAction: its spec is one step. */
const stepActionSlots: readonly ContainerSlot[] = [
  { path: [], kind: 'container', single: true, role: 'step action' },
];

function apiGroupOf(object: KubeObject): string {
  const apiVersion = typeof object.apiVersion === 'string' ? object.apiVersion : '';
  const slash = apiVersion.indexOf('/');
  return slash < 0 ? '' : apiVersion.slice(0, slash);
}

/** Kinds some custom workload has: most objects are of none, and need no group comparison. */
const customWorkloadKinds: ReadonlySet<string> = new Set(customWorkloads.map((workload) => workload.kind));

function customWorkloadOf(object: KubeObject): (typeof customWorkloads)[number] | undefined {
  if (typeof object.kind !== 'string' || !customWorkloadKinds.has(object.kind)) return undefined;
  const group = apiGroupOf(object);
  return customWorkloads.find((workload) => workload.kind === object.kind && workload.group === group);
}

/** Path of the PodTemplateSpec of a built-in or custom workload, `[]` for a Pod, undefined for others. */
function templatePathOf(object: KubeObject): readonly PathSegment[] | undefined {
  const kind = object.kind;
  if (kind === 'Pod') return [];
  if (kind !== undefined && templateKinds.has(kind)) return ['spec', 'template'];
  if (kind === 'CronJob') return ['spec', 'jobTemplate', 'spec', 'template'];
  if (kind === 'PodTemplate') return ['template'];
  return customWorkloadOf(object)?.template;
}

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

/** The frozen empty list of {@link oncePerObject}. */
const noneFound: readonly never[] = Object.freeze([]);

/** How many recently judged objects each per-object view remembers. */
const recentObjects = 4;

/**
 * A function of an object computed once per object: the policies read the same object's pod specs,
 * containers and malformed fields several times in one review and never change the object they
 * judge, so the result is kept, frozen so that no caller changes what the next reads. Only the last
 * few objects are remembered, by identity: a module-wide WeakMap kept every judged object's entry
 * alive through a young-generation collection, so each AdmissionReview was promoted to the old
 * generation and the webhook ran a full collection about every second under load.
 */
function oncePerObject<T>(compute: (object: KubeObject) => T[]): (object: KubeObject) => readonly T[] {
  const objects: (KubeObject | undefined)[] = Array.from({ length: recentObjects }, () => undefined);
  const results: (readonly T[])[] = Array.from({ length: recentObjects }, () => noneFound);
  let next = 0;
  return (object) => {
    const at = objects.indexOf(object);
    if (at >= 0) return results[at] ?? noneFound;
    const computed = compute(object);
    // Most objects have none: one shared frozen empty list saves freezing a new one for each.
    const result = computed.length === 0 ? noneFound : Object.freeze(computed);
    objects[next] = object;
    results[next] = result;
    next = (next + 1) % recentObjects;
    return result;
  };
}

/** The pod specs carried by an object (none for kinds without one). */
export const podSpecsOf = oncePerObject(podSpecsIn);

function podSpecsIn(object: KubeObject): PodSpecLocation[] {
  if (object.kind === 'Pod')
    return isRecord(object.spec) ? [{ spec: object.spec, path: ['spec'], podLabels: labelsAt(object) }] : [];
  const custom = customWorkloadOf(object);
  if (custom && (custom.podFields ?? custom.taskSpecs ?? custom.runSpecs ?? custom.container)) {
    const out: PodSpecLocation[] = [];
    const add = (paths: readonly FanPath[] | undefined, rest: Omit<PodSpecLocation, 'spec' | 'path'>) => {
      for (const path of paths ?? [])
        for (const found of valuesAt(object, path))
          if (isRecord(found.value)) out.push({ spec: found.value, path: found.path, ...rest });
    };
    const resources = tektonResourcesKey(object);
    add(custom.podFields, { podLabels: {}, slots: [] });
    add(custom.taskSpecs, { podLabels: {}, slots: tektonTaskSlots(resources) });
    add(custom.runSpecs, { podLabels: {}, slots: tektonRunSlots(resources), containersOnly: true });
    if (custom.container)
      add([custom.container], { podLabels: {}, slots: stepActionSlots, containersOnly: true });
    return out;
  }
  if (custom?.podSpec) {
    // A pod spec carried directly (a Knative Revision's, a SidecarSet's); labels beside it.
    const spec = getIn(object, custom.podSpec);
    return isRecord(spec)
      ? [{ spec, path: [...custom.podSpec], podLabels: labelsAt(getIn(object, custom.podSpec.slice(0, -1))) }]
      : [];
  }
  if (custom?.templates)
    return custom.templates.flatMap((path) =>
      valuesAt(object, [...path, 'spec']).flatMap((found) =>
        isRecord(found.value)
          ? [{ spec: found.value, path: found.path, podLabels: labelsAt(getIn(object, path)) }]
          : [],
      ),
    );
  const workflowPath = custom?.workflow;
  if (workflowPath) {
    const workflow = getIn(object, workflowPath);
    if (!isRecord(workflow)) return [];
    // The workflow spec itself carries pod-level fields (hostNetwork, volumes, securityContext).
    const out: PodSpecLocation[] = [{ spec: workflow, path: [...workflowPath], podLabels: {}, slots: [] }];
    // templateDefaults is merged into every template.
    if (isRecord(workflow.templateDefaults))
      out.push({
        spec: workflow.templateDefaults,
        path: [...workflowPath, 'templateDefaults'],
        podLabels: {},
        slots: argoTemplateSlots,
        defaults: true,
      });
    const templates = workflow.templates;
    if (Array.isArray(templates))
      templates.forEach((template: unknown, index) => {
        if (isRecord(template))
          out.push({
            spec: template,
            path: [...workflowPath, 'templates', index],
            podLabels: {},
            slots: argoTemplateSlots,
          });
      });
    return out;
  }
  const templatePath = templatePathOf(object);
  if (!templatePath) return [];
  const template = getIn(object, templatePath);
  const spec = getIn(template, ['spec']);
  if (!isRecord(spec)) return [];
  return [{ spec, path: [...templatePath, 'spec'], podLabels: labelsAt(template) }];
}

/**
 * A container's securityContext as it runs: for a Tekton step, its stepTemplate's merged under its
 * own (maps merge key by key, the step's value wins), as Tekton's strategic merge does.
 */
export function effectiveSecurityContext(location: ContainerLocation): Record<string, unknown> | undefined {
  const own = location.container.securityContext;
  const inherited = location.template?.container.securityContext;
  if (!isRecord(inherited)) return isRecord(own) ? own : undefined;
  if (own !== undefined && own !== null && !isRecord(own)) return undefined;
  return mergeMaps(inherited, own ?? {});
}

function mergeMaps(base: Record<string, unknown>, over: Record<string, unknown>): Record<string, unknown> {
  // No prototype: a `__proto__` key is a field like any other.
  const out = Object.assign(Object.create(null) as Record<string, unknown>, base);
  for (const [key, value] of Object.entries(over)) {
    const under = out[key];
    out[key] = isRecord(under) && isRecord(value) ? mergeMaps(under, value) : value;
  }
  return out;
}

/** Every container of every pod spec in an object, init and ephemeral ones included. */
export const containersOf = oncePerObject(containersIn);

function containersIn(object: KubeObject): ContainerLocation[] {
  const out: ContainerLocation[] = [];
  for (const pod of podSpecsOf(object)) {
    const templates = new Map<string, ContainerLocation>();
    for (const slot of pod.slots ?? podSpecSlots) {
      const value = getIn(pod.spec, slot.path);
      const template = templates.get(formatPath(slot.path));
      const add = (container: unknown, path: readonly PathSegment[]) => {
        if (!isRecord(container)) return;
        // A run without task-level resources has nothing of its own to judge.
        if (slot.path.length === 0 && slot.partial && container[slot.resources ?? 'resources'] === undefined)
          return;
        const location: ContainerLocation = {
          container,
          kind: slot.kind,
          sidecar: slot.kind === 'initContainer' && container.restartPolicy === 'Always',
          path: [...pod.path, ...path],
          pod,
          resourcesKey: slot.resources ?? 'resources',
          partial: slot.partial === true,
          ...(slot.role === undefined ? {} : { role: slot.role }),
          ...(template === undefined ? {} : { template }),
        };
        if (slot.templateOf) templates.set(formatPath(slot.templateOf), location);
        out.push(location);
      };
      if (slot.single) add(value, slot.path);
      else if (Array.isArray(value))
        value.forEach((container: unknown, index) => add(container, [...slot.path, index]));
    }
  }
  return out;
}

/**
 * Custom resources naming an image their operator runs outside any pod template: CloudNativePG's
 * `Cluster.spec.imageName` (the PostgreSQL image) and its image catalogs' `spec.images[*].image`.
 */
export const customImageFields: readonly {
  readonly kind: string;
  readonly group: string;
  readonly resource: string;
  /** Path of the image field; a `'*'` segment stands for every item of a list. */
  readonly path: readonly (PathSegment | '*')[];
}[] = [
  { kind: 'Cluster', group: 'postgresql.cnpg.io', resource: 'clusters', path: ['spec', 'imageName'] },
  {
    kind: 'ImageCatalog',
    group: 'postgresql.cnpg.io',
    resource: 'imagecatalogs',
    path: ['spec', 'images', '*', 'image'],
  },
  {
    kind: 'ClusterImageCatalog',
    group: 'postgresql.cnpg.io',
    resource: 'clusterimagecatalogs',
    path: ['spec', 'images', '*', 'image'],
  },
  // OpenKruise: an ImagePullJob (ImageListPullJob) pulls its image(s) onto every node it selects; a
  // SidecarSet container's hot upgrade runs an empty image beside it.
  { kind: 'ImagePullJob', group: 'apps.kruise.io', resource: 'imagepulljobs', path: ['spec', 'image'] },
  {
    kind: 'ImageListPullJob',
    group: 'apps.kruise.io',
    resource: 'imagelistpulljobs',
    path: ['spec', 'images', '*'],
  },
  {
    kind: 'SidecarSet',
    group: 'apps.kruise.io',
    resource: 'sidecarsets',
    path: ['spec', 'containers', '*', 'upgradeStrategy', 'hotUpgradeEmptyImage'],
  },
];

/** Values at a path whose `'*'` segments fan out over list items, with their concrete paths. */
function valuesAt(
  value: unknown,
  path: readonly (PathSegment | '*')[],
  at: readonly PathSegment[] = [],
): { value: unknown; path: PathSegment[] }[] {
  const [head, ...rest] = path;
  if (head === undefined) return [{ value, path: [...at] }];
  if (head === '*')
    return Array.isArray(value)
      ? value.flatMap((item: unknown, index) => valuesAt(item, rest, [...at, index]))
      : [];
  const next = getIn(value, [head]);
  return next === undefined ? [] : valuesAt(next, rest, [...at, head]);
}

/** Where Tekton objects refer to tasks, pipelines and step actions that a resolver may fetch. */
const tektonRefPaths: readonly FanPath[] = [
  ['spec', 'taskRef'],
  ['spec', 'pipelineRef'],
  ['spec', 'tasks', '*', 'taskRef'],
  ['spec', 'finally', '*', 'taskRef'],
  ['spec', 'pipelineSpec', 'tasks', '*', 'taskRef'],
  ['spec', 'pipelineSpec', 'finally', '*', 'taskRef'],
];

/**
 * The OCI images Tekton's bundles resolver pulls a task, pipeline or step action from (a
 * `resolver: bundles` reference's `bundle` parameter, v1beta1's `bundle` field): the definition it
 * runs, with step images tollgate cannot see, comes from there.
 */
function tektonBundleFields(object: KubeObject): ImageField[] {
  if (apiGroupOf(object) !== 'tekton.dev') return [];
  const refs = tektonRefPaths.flatMap((path) => valuesAt(object, path));
  for (const container of containersOf(object))
    if (container.role === 'step' && container.container.ref !== undefined)
      refs.push({ value: container.container.ref, path: [...container.path, 'ref'] });
  const out: ImageField[] = [];
  for (const { value: ref, path } of refs) {
    if (!isRecord(ref)) continue;
    if (ref.bundle !== undefined) out.push({ image: ref.bundle, path: formatPath([...path, 'bundle']) });
    if (ref.resolver !== 'bundles' || !Array.isArray(ref.params)) continue;
    ref.params.forEach((param: unknown, index) => {
      if (isRecord(param) && param.name === 'bundle')
        out.push({ image: param.value, path: formatPath([...path, 'params', index, 'value']) });
    });
  }
  return out;
}

/** Every image reference in an object: container images and image volumes (`volumes[*].image.reference`). */
export function imageFieldsOf(object: KubeObject): ImageField[] {
  const out: ImageField[] = tektonBundleFields(object);
  const group = apiGroupOf(object);
  for (const field of customImageFields)
    if (field.kind === object.kind && field.group === group)
      for (const found of valuesAt(object, field.path))
        out.push({ image: found.value, path: formatPath(found.path) });
  for (const container of containersOf(object)) {
    const image = container.container.image;
    if ((container.pod.defaults || container.partial) && image === undefined) continue;
    // A step without an image runs its stepTemplate's, judged where the template writes it; one
    // with a `ref` runs a StepAction's, judged on the StepAction.
    if (image === undefined && container.template?.container.image !== undefined) continue;
    if (image === undefined && container.role === 'step' && container.container.ref !== undefined) continue;
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
 * The first field along `path` (whose `'*'` segments fan out over list items) that has the wrong
 * shape: a map where a key follows, a list where `'*'` follows, and a map at the end.
 */
function fanShapeProblem(
  value: unknown,
  path: FanPath,
  at: readonly PathSegment[] = [],
): MalformedField | undefined {
  if (value === undefined || value === null) return undefined;
  const [head, ...rest] = path;
  const wrong = (expected: string): MalformedField => ({
    path: formatPath(at),
    message: `${formatPath(at)} must be ${expected}, not ${shapeOf(value)}`,
  });
  if (head === '*') {
    if (!Array.isArray(value)) return wrong('a list');
    for (const [index, item] of value.entries()) {
      const problem = fanShapeProblem(item, rest, [...at, index]);
      if (problem) return problem;
    }
    return undefined;
  }
  if (!isRecord(value)) return at.length === 0 ? undefined : wrong('a map');
  return head === undefined ? undefined : fanShapeProblem(value[head], rest, [...at, head]);
}

/**
 * Fields of a workload present with the wrong shape: a pod template or spec that is not a map, a
 * container list or `volumes` that is not a list, a container or volume that is not a map, an image
 * volume whose `image` is not a map. Helpers such as {@link containersOf} skip them, so a policy that
 * judges containers or images reports these instead of passing what it could not see. The API server
 * refuses such objects; CI must not allow them.
 */
export const malformedWorkloadFields = oncePerObject(malformedFieldsIn);

function malformedFieldsIn(object: KubeObject): MalformedField[] {
  const out: MalformedField[] = [];
  const custom = customWorkloadOf(object);
  const workflowPath = custom?.workflow;
  const templatePath = templatePathOf(object);
  const specPath =
    workflowPath ?? custom?.podSpec ?? (templatePath === undefined ? undefined : [...templatePath, 'spec']);
  const fanPaths = [
    ...(custom?.templates ?? []).map((path) => [...path, 'spec']),
    ...(custom?.podFields ?? []),
    ...(custom?.taskSpecs ?? []),
    ...(custom?.runSpecs ?? []),
    ...(custom?.container ? [custom.container] : []),
  ];
  if (!specPath && fanPaths.length === 0) return out;
  for (const path of specPath ? [specPath] : fanPaths) {
    const problem = fanShapeProblem(object, path);
    if (problem) out.push(problem);
  }
  if (specPath && out.length > 0) return out;
  for (const path of custom?.patches ?? [])
    for (const found of valuesAt(object, path))
      if (
        found.value !== undefined &&
        found.value !== null &&
        !(isRecord(found.value) && Object.keys(found.value).length === 0)
      )
        out.push({
          path: formatPath(found.path),
          message: `${formatPath(found.path)} rewrites the pod template at run time (images, host access, resources) in a patch tollgate does not judge`,
        });
  if (workflowPath) {
    const templates = getIn(object, [...workflowPath, 'templates']);
    const templatesPath = formatPath([...workflowPath, 'templates']);
    if (templates !== undefined && templates !== null && !Array.isArray(templates))
      out.push({
        path: templatesPath,
        message: `templates must be a list of templates, not ${shapeOf(templates)}`,
      });
    else if (Array.isArray(templates))
      templates.forEach((template: unknown, index) => {
        if (!isRecord(template))
          out.push({
            path: `${templatesPath}[${index}]`,
            message: `templates[${index}] must be a template map, not ${shapeOf(template)}`,
          });
      });
  }
  for (const pod of podSpecsOf(object)) {
    for (const slot of pod.slots ?? podSpecSlots) {
      const value = getIn(pod.spec, slot.path);
      if (value === undefined || value === null) continue;
      const field = formatPath(slot.path);
      const at = [...pod.path, ...slot.path];
      if (slot.single) {
        if (!isRecord(value))
          out.push({
            path: formatPath(at),
            message: `${field} must be a container map, not ${shapeOf(value)}`,
          });
        continue;
      }
      if (!Array.isArray(value)) {
        out.push({
          path: formatPath(at),
          message: `${field} must be a list of containers, not ${shapeOf(value)}`,
        });
        continue;
      }
      value.forEach((item: unknown, index) => {
        if (!isRecord(item))
          out.push({
            path: formatPath([...at, index]),
            message: `${field}[${index}] must be a container map, not ${shapeOf(item)}`,
          });
      });
    }
    const volumes = pod.spec.volumes;
    const volumesPath = [...pod.path, 'volumes'];
    if (volumes !== undefined && volumes !== null && !Array.isArray(volumes))
      out.push({
        path: formatPath(volumesPath),
        message: `volumes must be a list of volumes, not ${shapeOf(volumes)}`,
      });
    else if (Array.isArray(volumes))
      volumes.forEach((item: unknown, index) => {
        if (!isRecord(item))
          out.push({
            path: formatPath([...volumesPath, index]),
            message: `volumes[${index}] must be a volume map, not ${shapeOf(item)}`,
          });
        else if (item.image !== undefined && item.image !== null && !isRecord(item.image))
          out.push({
            path: formatPath([...volumesPath, index, 'image']),
            message: `volumes[${index}].image must be a map with a reference, not ${shapeOf(item.image)}`,
          });
      });
    // Argo Workflows merges podSpecPatch (a strategic merge patch, as text) into the pod it creates:
    // it can add images, host access or resources no field above shows.
    const patch = pod.spec.podSpecPatch;
    if (pod.slots !== undefined && patch !== undefined && patch !== null && patch !== '')
      out.push({
        path: formatPath([...pod.path, 'podSpecPatch']),
        message:
          'podSpecPatch rewrites the pod at run time (images, host access, resources) in text tollgate does not judge',
      });
  }
  return out;
}

/**
 * Webhook rules (CREATE, UPDATE) for every kind that carries a pod spec or an image (custom workloads
 * and image fields included), so each policy judging pod
 * specs asks for the same kinds; `coreResources` adds core-group resources such as
 * `pods/ephemeralcontainers` or `services`.
 */
export function workloadAdmissionRules(coreResources: readonly string[] = []): AdmissionRule[] {
  const custom = new Map<string, string[]>();
  for (const { group, resource } of [...customWorkloads, ...customImageFields])
    custom.set(group, [...new Set([...(custom.get(group) ?? []), resource])]);
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
    ...[...custom].map(([group, resources]) => ({
      apiGroups: [group],
      resources,
      operations: ['CREATE', 'UPDATE'] as const,
    })),
  ];
}

/** The API group of an object ('' for core), undefined when it has no apiVersion. */
export function groupOf(object: KubeObject): string | undefined {
  if (typeof object.apiVersion !== 'string') return undefined;
  const slash = object.apiVersion.indexOf('/');
  return slash < 0 ? '' : object.apiVersion.slice(0, slash);
}

/** Whether the object is `kind` in one of `groups` (an object without apiVersion matches on kind alone). */
export function isKind(object: KubeObject, kinds: readonly string[], groups: readonly string[]): boolean {
  if (typeof object.kind !== 'string' || !kinds.includes(object.kind)) return false;
  const group = groupOf(object);
  return group === undefined || groups.includes(group);
}
