/**
 * Database detection for no-public-databases: by port, by normalized image, by
 * `app.kubernetes.io/name`, and through Service selectors and named target ports resolved
 * against the pod templates submitted together (CI's related objects).
 *
 * Evidence on the object itself always wins over evidence found through related objects, so a
 * Service whose own port is a database port gets the same finding at admission (no related
 * objects) and in CI.
 */
import { isImageReferenceError, parseImageReference } from '../engine/image-reference.ts';
import type { KubeObject } from '../engine/types.ts';
import type { PodSpecLocation } from '../engine/workloads.ts';
import { getIn, isListObject, isRecord, podSpecsOf } from '../engine/workloads.ts';
import type { NoPublicDatabasesParams } from './params.ts';

/** The label whose value names the application (Kubernetes recommended labels). */
export const nameLabel = 'app.kubernetes.io/name';

/** `port 5432 (PostgreSQL)` when a number is a database port. */
export function portEvidence(params: NoPublicDatabasesParams, port: unknown): string | undefined {
  // IntOrString fields: a quoted "6379" must not slip past as a "name".
  const number = typeof port === 'string' && /^\d{1,5}$/.test(port) ? Number(port) : port;
  if (typeof number !== 'number') return undefined;
  const product = params.ports.get(number);
  return product ? `${number} (${product})` : undefined;
}

/** Whether a port name or label value names a database (`postgresql`, `tcp-postgresql`). */
export function nameIsDatabase(params: NoPublicDatabasesParams, value: unknown): boolean {
  if (typeof value !== 'string' || value === '') return false;
  const lower = value.toLowerCase();
  return params.names.has(lower) || (lower.startsWith('tcp-') && params.names.has(lower.slice(4)));
}

/** The normalized repository when an image is a database image, else undefined. */
export function databaseImage(params: NoPublicDatabasesParams, image: unknown): string | undefined {
  if (typeof image !== 'string') return undefined;
  let cache = imageCaches.get(params);
  if (!cache) {
    cache = new Map();
    imageCaches.set(params, cache);
  }
  const cached = cache.get(image);
  if (cached !== undefined) return cached === null ? undefined : cached;
  const repository = matchDatabaseImage(params, image);
  if (cache.size >= maxCachedImages) cache.clear();
  cache.set(image, repository ?? null);
  return repository;
}

// Images repeat across a run's manifests; parsing each once per bundle keeps CI runs linear.
const imageCaches = new WeakMap<NoPublicDatabasesParams, Map<string, string | null>>();
const maxCachedImages = 10_000;

function matchDatabaseImage(params: NoPublicDatabasesParams, image: string): string | undefined {
  const ref = parseImageReference(image);
  if (isImageReferenceError(ref)) return undefined;
  // Every `/`-boundary prefix of the repository, host alone included.
  if (params.images.has(`${ref.domain}/`)) return ref.repository;
  for (let slash = ref.path.indexOf('/'); slash >= 0; slash = ref.path.indexOf('/', slash + 1))
    if (params.images.has(`${ref.domain}/${ref.path.slice(0, slash)}`)) return ref.repository;
  if (params.images.has(ref.repository)) return ref.repository;
  const base = ref.path.slice(ref.path.lastIndexOf('/') + 1);
  return params.names.has(base) ? ref.repository : undefined;
}

/** `app.kubernetes.io/name=postgresql` when labels name a database. */
export function labelEvidence(params: NoPublicDatabasesParams, labels: unknown): string | undefined {
  const value = isRecord(labels) ? labels[nameLabel] : undefined;
  return nameIsDatabase(params, value) ? `${nameLabel}=${String(value)}` : undefined;
}

/** A container port declared in a pod spec. */
interface DeclaredPort {
  readonly name?: string;
  readonly containerPort?: number;
  readonly image?: string;
}

/** Why a pod (template) is a database. */
export interface PodEvidence {
  /** `app.kubernetes.io/name=…` of the pod or its owner. */
  readonly label?: string;
  /** Database image repositories of its containers. */
  readonly images: readonly string[];
}

/** Database evidence of one pod spec: its labels and its containers' images. */
export function podEvidence(
  params: NoPublicDatabasesParams,
  object: KubeObject,
  pod: PodSpecLocation,
): PodEvidence {
  const label = labelEvidence(params, pod.podLabels) ?? labelEvidence(params, object.metadata?.labels);
  const images: string[] = [];
  for (const container of containersIn(pod)) {
    const repository = databaseImage(params, container.image);
    if (repository && !images.includes(repository)) images.push(repository);
  }
  return label ? { label, images } : { images };
}

function containersIn(pod: PodSpecLocation): Record<string, unknown>[] {
  const out: Record<string, unknown>[] = [];
  for (const field of ['initContainers', 'containers']) {
    const list = pod.spec[field];
    if (Array.isArray(list)) for (const item of list) if (isRecord(item)) out.push(item);
  }
  return out;
}

function declaredPorts(pod: PodSpecLocation): DeclaredPort[] {
  const out: DeclaredPort[] = [];
  for (const container of containersIn(pod)) {
    const ports = container.ports;
    if (!Array.isArray(ports)) continue;
    for (const port of ports) {
      if (!isRecord(port)) continue;
      const declared: { -readonly [K in keyof DeclaredPort]: DeclaredPort[K] } = {};
      if (typeof port.name === 'string') declared.name = port.name;
      if (typeof port.containerPort === 'number') declared.containerPort = port.containerPort;
      if (typeof container.image === 'string') declared.image = container.image;
      out.push(declared);
    }
  }
  return out;
}

interface RelatedPod {
  readonly ref: string;
  readonly namespace: string | undefined;
  readonly labels: Readonly<Record<string, string>>;
  readonly evidence: PodEvidence;
  readonly ports: readonly DeclaredPort[];
}

interface RelatedService {
  readonly object: KubeObject;
  readonly namespace: string | undefined;
}

/** Pod templates and Services among the objects submitted together, indexed once per run. */
export interface RelatedIndex {
  /** Pod templates by each of their `key=value` labels, so a selector scans only candidates. */
  readonly podsByLabel: ReadonlyMap<string, readonly RelatedPod[]>;
  readonly services: ReadonlyMap<string, readonly RelatedService[]>;
  /** Ports of hand-written Endpoints and EndpointSlices, by the Service name they serve. */
  readonly endpoints: ReadonlyMap<string, readonly RelatedEndpoints[]>;
}

/** Ports of an Endpoints or EndpointSlice object backing a selector-less Service. */
interface RelatedEndpoints {
  readonly ref: string;
  readonly namespace: string | undefined;
  readonly ports: readonly { readonly name?: string; readonly port?: number }[];
}

const indexes = new WeakMap<readonly KubeObject[], WeakMap<NoPublicDatabasesParams, RelatedIndex>>();
const emptyIndex: RelatedIndex = { podsByLabel: new Map(), services: new Map(), endpoints: new Map() };

/** Builds (or reuses) the index of related objects for a run. */
export function relatedIndex(
  params: NoPublicDatabasesParams,
  related: readonly KubeObject[] | undefined,
): RelatedIndex {
  if (!related || related.length === 0) return emptyIndex;
  let perParams = indexes.get(related);
  if (!perParams) {
    perParams = new WeakMap();
    indexes.set(related, perParams);
  }
  const cached = perParams.get(params);
  if (cached) return cached;
  const podsByLabel = new Map<string, RelatedPod[]>();
  const services = new Map<string, RelatedService[]>();
  const endpoints = new Map<string, RelatedEndpoints[]>();
  const addEndpoints = (service: unknown, object: KubeObject, ports: unknown[]) => {
    if (typeof service !== 'string') return;
    const list = endpoints.get(service) ?? [];
    list.push({
      ref: `${object.kind ?? 'object'} "${object.metadata?.name ?? '?'}"`,
      namespace: object.metadata?.namespace,
      ports: ports.filter(isRecord).map((p) => ({
        ...(typeof p.name === 'string' ? { name: p.name } : {}),
        ...(typeof p.port === 'number' ? { port: p.port } : {}),
      })),
    });
    endpoints.set(service, list);
  };
  const visit = (object: KubeObject) => {
    if (isListObject(object)) {
      for (const item of object.items as unknown[]) if (isRecord(item)) visit(item as KubeObject);
      return;
    }
    const namespace = object.metadata?.namespace;
    if (object.kind === 'Service' && typeof object.metadata?.name === 'string') {
      const list = services.get(object.metadata.name) ?? [];
      list.push({ object, namespace });
      services.set(object.metadata.name, list);
      return;
    }
    if (object.kind === 'Endpoints') {
      const subsets = Array.isArray(object.subsets) ? (object.subsets as unknown[]) : [];
      addEndpoints(
        object.metadata?.name,
        object,
        subsets.flatMap((subset) => {
          const ports = getIn(subset, ['ports']);
          return Array.isArray(ports) ? (ports as unknown[]) : [];
        }),
      );
      return;
    }
    if (object.kind === 'EndpointSlice') {
      addEndpoints(
        object.metadata?.labels?.['kubernetes.io/service-name'],
        object,
        Array.isArray(object.ports) ? (object.ports as unknown[]) : [],
      );
      return;
    }
    for (const pod of podSpecsOf(object)) {
      const related: RelatedPod = {
        ref: `${object.kind ?? 'object'} "${object.metadata?.name ?? '?'}"`,
        namespace,
        labels: pod.podLabels,
        evidence: podEvidence(params, object, pod),
        ports: declaredPorts(pod),
      };
      for (const [key, value] of Object.entries(pod.podLabels)) {
        const pair = `${key}=${value}`;
        const list = podsByLabel.get(pair) ?? [];
        list.push(related);
        podsByLabel.set(pair, list);
      }
    }
  };
  related.forEach(visit);
  const index = { podsByLabel, services, endpoints };
  perParams.set(params, index);
  return index;
}

/** Namespaces match when equal or when either is unset (manifests applied with `-n`). */
function sameNamespace(a: string | undefined, b: string | undefined): boolean {
  return a === undefined || b === undefined || a === b;
}

/** The related Services a reference by name and namespace may mean. */
export function findServices(
  index: RelatedIndex,
  name: unknown,
  namespace: string | undefined,
): readonly KubeObject[] {
  if (typeof name !== 'string') return [];
  return (index.services.get(name) ?? [])
    .filter((s) => sameNamespace(s.namespace, namespace))
    .map((s) => s.object);
}

/** A database port of a Service and why. */
export interface DatabaseServicePort {
  readonly index: number;
  readonly evidence: string;
}

/** Why a Service (or a Service template) fronts a database. */
export interface ServiceAnalysis {
  /** Ports that reach a database (all ports when the Service as a whole is a database). */
  readonly ports: readonly DatabaseServicePort[];
  /** One line of evidence for messages; empty when the Service is not a database. */
  readonly summary: string;
  /** True when the evidence came only from related objects (absent at admission). */
  readonly fromRelatedObjects: boolean;
}

function ownPortEvidence(params: NoPublicDatabasesParams, port: Record<string, unknown>): string | undefined {
  const byPort = portEvidence(params, port.port);
  if (byPort) return `port ${byPort}`;
  const byTarget = portEvidence(params, port.targetPort);
  if (byTarget) return `targetPort ${byTarget}`;
  if (nameIsDatabase(params, port.name)) return `port name "${String(port.name)}"`;
  if (nameIsDatabase(params, port.targetPort)) return `targetPort "${String(port.targetPort)}"`;
  if (nameIsDatabase(params, port.appProtocol)) return `appProtocol "${String(port.appProtocol)}"`;
  return undefined;
}

function relatedPortEvidence(
  params: NoPublicDatabasesParams,
  port: Record<string, unknown>,
  pods: readonly RelatedPod[],
): string | undefined {
  const target = port.targetPort ?? port.port;
  for (const pod of pods) {
    const declared = pod.ports.find((p) =>
      typeof target === 'string' ? p.name === target : p.containerPort === target,
    );
    if (declared) {
      const product = typeof target === 'string' ? portEvidence(params, declared.containerPort) : undefined;
      if (product) return `targetPort "${String(target)}" is containerPort ${product} of ${pod.ref}`;
      const image = databaseImage(params, declared.image);
      if (image) return `targetPort ${JSON.stringify(target)} is served by ${image} in ${pod.ref}`;
      if (pod.evidence.label) return `selected pods of ${pod.ref} carry ${pod.evidence.label}`;
      continue;
    }
    if (pod.evidence.label) return `selected pods of ${pod.ref} carry ${pod.evidence.label}`;
    const image = pod.evidence.images[0];
    if (image) return `selected pods of ${pod.ref} run ${image}`;
  }
  return undefined;
}

function selectedPods(index: RelatedIndex, selector: unknown, namespace: string | undefined): RelatedPod[] {
  if (!isRecord(selector)) return [];
  const entries = Object.entries(selector);
  const first = entries[0];
  if (!first) return [];
  const candidates = index.podsByLabel.get(`${first[0]}=${String(first[1])}`) ?? [];
  return candidates.filter(
    (pod) => sameNamespace(pod.namespace, namespace) && entries.every(([k, v]) => pod.labels[k] === v),
  );
}

/**
 * Decides whether a Service (`{metadata, spec}`, also a template inside an operator resource)
 * fronts a database. `forced` marks Services that are databases by construction (operator
 * templates). Own evidence: labels, selector, port numbers and names; only without it are the
 * selected pod templates among the related objects consulted.
 */
export function analyzeService(
  params: NoPublicDatabasesParams,
  service: Record<string, unknown>,
  namespace: string | undefined,
  index: RelatedIndex,
  forced?: string,
): ServiceAnalysis {
  const spec = isRecord(service.spec) ? service.spec : {};
  const ports = (Array.isArray(spec.ports) ? spec.ports : []).map((p: unknown) => (isRecord(p) ? p : {}));
  const whole = [
    forced,
    ((s) => (s ? `label ${s}` : undefined))(labelEvidence(params, getIn(service, ['metadata', 'labels']))),
    ((s) => (s ? `selector ${s}` : undefined))(labelEvidence(params, spec.selector)),
  ].filter((e): e is string => e !== undefined);
  if (whole.length > 0) {
    const summary = whole.join(', ');
    return {
      ports: ports.map((_, i) => ({ index: i, evidence: summary })),
      summary,
      fromRelatedObjects: false,
    };
  }
  const own: DatabaseServicePort[] = [];
  ports.forEach((port, i) => {
    const evidence = ownPortEvidence(params, port);
    if (evidence) own.push({ index: i, evidence });
  });
  if (own.length > 0) return { ports: own, summary: summarize(own), fromRelatedObjects: false };
  const pods = selectedPods(index, spec.selector, namespace);
  const related: DatabaseServicePort[] = [];
  if (pods.length > 0) {
    ports.forEach((port, i) => {
      const evidence = relatedPortEvidence(params, port, pods);
      if (evidence) related.push({ index: i, evidence });
    });
  } else if (!isRecord(spec.selector) || Object.keys(spec.selector).length === 0) {
    // A selector-less Service is backed by hand-written Endpoints/EndpointSlices: their ports
    // (matched by port name, as the endpoints controller does) are where the traffic goes.
    const name = getIn(service, ['metadata', 'name']);
    const backing = (typeof name === 'string' ? (index.endpoints.get(name) ?? []) : []).filter((e) =>
      sameNamespace(e.namespace, namespace),
    );
    ports.forEach((port, i) => {
      for (const backend of backing) {
        const target = backend.ports.find(
          (p) => (p.name ?? '') === (typeof port.name === 'string' ? port.name : '') || ports.length === 1,
        );
        const product = portEvidence(params, target?.port);
        if (product) {
          related.push({ index: i, evidence: `${backend.ref} sends it to port ${product}` });
          break;
        }
      }
    });
  }
  return { ports: related, summary: summarize(related), fromRelatedObjects: related.length > 0 };
}

function summarize(ports: readonly DatabaseServicePort[]): string {
  return [...new Set(ports.map((p) => p.evidence))].join('; ');
}
