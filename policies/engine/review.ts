/**
 * The one review path: every caller turns what it judges into the engine's input here, so the
 * webhook, `tollgate check`, the GitHub Action, `tollgate bundle test`, `tollgate bundle diff` and
 * the audit give the same verdict on the same change. A manifest is judged as the CREATE kubectl
 * would send; an AdmissionRequest is validated, skipped when the webhook skips it (CONNECT, most
 * subresources) and otherwise reviewed as sent (DELETE judges oldObject); a live object is judged
 * as it stands. Namespace labels come only from the lookup the caller trusts (the cluster, or an
 * inventory the change cannot write), never from the change itself.
 */
import { evaluateNow } from './evaluate.ts';
import { AdmissionRequestError, InputError } from './errors/index.ts';
import type {
  AdmissionInput,
  EngineContext,
  KubeObject,
  NamespaceContents,
  NamespaceLookup,
  Operation,
  Report,
  UserInfo,
} from './types.ts';
import { isRecord } from './workloads.ts';
import type { CompiledBundle } from './bundle.ts';

/** `group/version/kind` or `group/version/resource` as the API server sends them. */
export interface GroupVersionName {
  group: string;
  version: string;
  name: string;
}

/** The parts of `request` in an AdmissionReview v1 that tollgate reads. */
export interface AdmissionRequest {
  uid: string;
  operation: Operation;
  kind: GroupVersionName;
  resource: GroupVersionName;
  subResource?: string;
  namespace?: string;
  name?: string;
  object?: KubeObject;
  oldObject?: KubeObject;
  userInfo?: UserInfo;
  dryRun: boolean;
}

const operations: readonly Operation[] = ['CREATE', 'UPDATE', 'DELETE', 'CONNECT'];

/** Subresources whose request object is the Pod they change; they are judged like the Pod. */
export const evaluatedSubresources: ReadonlySet<string> = new Set([
  'pods/ephemeralcontainers',
  'pods/resize',
]);

/** Validates a parsed request body as an AdmissionReview v1 and extracts its request. Throws AdmissionRequestError (400). */
export function parseAdmissionReview(body: unknown): AdmissionRequest {
  if (!isRecord(body))
    throw new AdmissionRequestError(
      'the body must be a JSON object (an admission.k8s.io/v1 AdmissionReview)',
    );
  if (body.apiVersion !== 'admission.k8s.io/v1')
    throw new AdmissionRequestError(
      `apiVersion must be "admission.k8s.io/v1", not ${describe(body.apiVersion)} (set admissionReviewVersions: ["v1"])`,
    );
  if (body.kind !== 'AdmissionReview')
    throw new AdmissionRequestError(`kind must be "AdmissionReview", not ${describe(body.kind)}`);
  const request = body.request;
  if (!isRecord(request)) throw new AdmissionRequestError('request is missing or not an object');
  const uid = request.uid;
  if (typeof uid !== 'string' || uid.length === 0)
    throw new AdmissionRequestError('request.uid is missing or not a non-empty string');
  const operation = request.operation;
  if (typeof operation !== 'string' || !operations.includes(operation as Operation))
    throw new AdmissionRequestError(
      `request.operation must be one of ${operations.join(', ')}, not ${describe(operation)}`,
    );
  const parsed: AdmissionRequest = {
    uid,
    operation: operation as Operation,
    kind: groupVersionName(request.kind, 'kind', 'kind'),
    resource: groupVersionName(request.resource, 'resource', 'resource'),
    dryRun: request.dryRun === true,
  };
  const subResource = optionalString(request.subResource, 'subResource');
  if (subResource) parsed.subResource = subResource;
  const namespace = optionalString(request.namespace, 'namespace');
  if (namespace) parsed.namespace = namespace;
  const name = optionalString(request.name, 'name');
  if (name) parsed.name = name;
  const object = optionalObject(request.object, 'object');
  if (object) parsed.object = object;
  const oldObject = optionalObject(request.oldObject, 'oldObject');
  if (oldObject) parsed.oldObject = oldObject;
  if ((parsed.operation === 'CREATE' || parsed.operation === 'UPDATE') && !object && !isSkipped(parsed))
    throw new AdmissionRequestError(`request.object is required for ${parsed.operation}`);
  if (isRecord(request.userInfo)) parsed.userInfo = userInfoOf(request.userInfo);
  return parsed;
}

function describe(value: unknown): string {
  return value === undefined ? 'missing' : JSON.stringify(value).slice(0, 80);
}

function optionalString(value: unknown, field: string): string | undefined {
  if (value === undefined || value === null || value === '') return undefined;
  if (typeof value !== 'string') throw new AdmissionRequestError(`request.${field} must be a string`);
  return value;
}

function optionalObject(value: unknown, field: string): KubeObject | undefined {
  if (value === undefined || value === null) return undefined;
  if (!isRecord(value)) throw new AdmissionRequestError(`request.${field} must be an object or null`);
  return value as KubeObject;
}

function groupVersionName(value: unknown, field: string, nameField: string): GroupVersionName {
  if (!isRecord(value))
    throw new AdmissionRequestError(
      `request.${field} must be an object with group, version and ${nameField}`,
    );
  const group = value.group ?? '';
  const version = value.version;
  const name = value[nameField];
  if (typeof group !== 'string' || typeof version !== 'string' || typeof name !== 'string' || name === '')
    throw new AdmissionRequestError(
      `request.${field} must have string group, version and ${nameField} (got ${describe(value)})`,
    );
  return { group, version, name };
}

function userInfoOf(value: Record<string, unknown>): UserInfo {
  const info: UserInfo = {};
  if (typeof value.username === 'string') info.username = value.username;
  if (typeof value.uid === 'string') info.uid = value.uid;
  if (Array.isArray(value.groups))
    info.groups = value.groups.filter((g): g is string => typeof g === 'string');
  if (isRecord(value.extra)) {
    const extra: Record<string, string[]> = {};
    for (const [key, list] of Object.entries(value.extra))
      if (Array.isArray(list)) extra[key] = list.filter((v): v is string => typeof v === 'string');
    info.extra = extra;
  }
  return info;
}

/** `resource` or `resource/subresource`, as rules name it (`pods/ephemeralcontainers`). */
export function resourcePath(request: AdmissionRequest): string {
  return request.subResource ? `${request.resource.name}/${request.subResource}` : request.resource.name;
}

/**
 * Why a request is allowed without evaluation, or undefined when it is evaluated. CONNECT carries no
 * object to judge; a subresource other than `pods/ephemeralcontainers`, `pods/resize` and the scale subresource
 * (`kubectl scale`, judged as a Scale object, e.g. by freeze windows) does not change what runs.
 */
export function skipReason(request: AdmissionRequest): string | undefined {
  if (request.operation === 'CONNECT') return 'CONNECT is not evaluated';
  if (
    request.subResource &&
    request.subResource !== 'scale' &&
    !(request.resource.group === '' && evaluatedSubresources.has(resourcePath(request)))
  )
    return `subresource ${resourcePath(request)} is not evaluated`;
  return undefined;
}

function isSkipped(request: AdmissionRequest): boolean {
  return skipReason(request) !== undefined;
}

/** The engine input for an evaluated request: DELETE reviews oldObject, UPDATE passes both. */
export function toAdmissionInput(request: AdmissionRequest): AdmissionInput {
  const input: AdmissionInput = { operation: request.operation, dryRun: request.dryRun };
  if (request.operation === 'DELETE') {
    if (request.oldObject) input.oldObject = request.oldObject;
  } else {
    if (request.object) input.object = request.object;
    if (request.oldObject) input.oldObject = request.oldObject;
  }
  if (request.namespace) input.namespace = request.namespace;
  if (request.subResource) input.subresource = request.subResource;
  input.resource = { group: request.resource.group, resource: request.resource.name };
  if (request.userInfo) input.userInfo = request.userInfo;
  return input;
}

/** What a caller asks the engine to judge. */
export type ReviewSubject =
  /**
   * A manifest from a file or a render (CI, `bundle test`, `bundle diff`): judged as a CREATE. With
   * `defaultNamespace` (the caller knows the kind is namespaced), a manifest without
   * `metadata.namespace` is judged in it, as the API server fills it in from kubectl's request.
   */
  | { readonly manifest: KubeObject; readonly defaultNamespace?: string }
  /** An AdmissionRequest from the API server (or a suite case written as one). */
  | { readonly request: AdmissionRequest }
  /** A live object read from the cluster (audit): judged as it stands, as a CREATE of it would be. */
  | { readonly live: KubeObject };

/** The engine input of a subject, or why it is not evaluated. */
export type PreparedReview = { readonly skipped: string } | { readonly input: AdmissionInput };

/** The outcome of a review: the engine's report, or the reason the subject was not evaluated. */
export type ReviewOutcome =
  | { readonly skipped: string; readonly report?: undefined }
  | { readonly skipped?: undefined; readonly report: Report };

/**
 * A namespaced manifest as the API server holds it when kubectl sends it without
 * `metadata.namespace`: in the namespace of the request (kubectl's context namespace).
 */
export function withDefaultNamespace(manifest: KubeObject, namespace: string): KubeObject {
  const own = manifest.metadata?.namespace;
  if (typeof own === 'string' && own !== '') return manifest;
  return { ...manifest, metadata: { ...manifest.metadata, namespace } };
}

/** Turns a subject into the engine's input, applying the webhook's skip rules to requests. */
export function prepareReview(subject: ReviewSubject): PreparedReview {
  if ('request' in subject) {
    const skipped = skipReason(subject.request);
    return skipped ? { skipped } : { input: toAdmissionInput(subject.request) };
  }
  if ('live' in subject) return { input: { operation: 'CREATE', object: subject.live } };
  const { manifest, defaultNamespace } = subject;
  const object = defaultNamespace === undefined ? manifest : withDefaultNamespace(manifest, defaultNamespace);
  return { input: { operation: 'CREATE', object } };
}

/** Reviews one subject with the bundle: the only way edges call the engine. */
export async function review(
  subject: ReviewSubject,
  bundle: CompiledBundle,
  context: EngineContext,
): Promise<ReviewOutcome> {
  return reviewNow(subject, bundle, context);
}

/**
 * {@link review}, answering at once when every policy does (see evaluateNow): `tollgate check`
 * judges thousands of manifests and need not wait a turn for each.
 */
export function reviewNow(
  subject: ReviewSubject,
  bundle: CompiledBundle,
  context: EngineContext,
): ReviewOutcome | Promise<ReviewOutcome> {
  const prepared = prepareReview(subject);
  if ('skipped' in prepared) return { skipped: prepared.skipped };
  const report = evaluateNow(prepared.input, bundle, context);
  return report instanceof Promise ? report.then((done) => ({ report: done })) : { report };
}

/**
 * A namespace look-up over a fixed set of Namespace objects: a trusted inventory (a file the
 * security team maintains, read from the base branch; a snapshot of the cluster). Objects of other
 * kinds are ignored; a name listed twice is an error, so no later file can override an earlier one.
 */
export function namespaceInventory(
  objects: readonly KubeObject[],
  source = 'namespace inventory',
): NamespaceLookup {
  const byName = new Map<string, KubeObject>();
  for (const object of objects) {
    if (object.kind !== 'Namespace' || typeof object.metadata?.name !== 'string') continue;
    const name = object.metadata.name;
    if (byName.has(name)) throw new InputError(source, `namespace "${name}" is listed twice`);
    byName.set(name, object);
  }
  return (name) => byName.get(name);
}

/** Kinds (core group) a trusted inventory may hold besides Namespaces: what tenant-quotas asks about. */
export const inventoryContentKinds: readonly string[] = ['ResourceQuota', 'LimitRange'];

/**
 * The namespaced objects of a trusted inventory (a file read from the base branch; a snapshot of the
 * cluster), by namespace: the ResourceQuotas and LimitRanges that already exist. Objects of other
 * kinds and objects without a namespace are ignored.
 */
export function namespaceContents(objects: readonly KubeObject[]): NamespaceContents {
  const byNamespace = new Map<string, KubeObject[]>();
  for (const object of objects) {
    if (object.apiVersion !== 'v1' || !inventoryContentKinds.includes(String(object.kind))) continue;
    const namespace = object.metadata?.namespace;
    if (typeof namespace !== 'string' || namespace === '') continue;
    const list = byNamespace.get(namespace) ?? [];
    list.push(object);
    byNamespace.set(namespace, list);
  }
  return (name) => byNamespace.get(name) ?? [];
}
