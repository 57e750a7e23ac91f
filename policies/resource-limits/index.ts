/**
 * resource-limits: every container (init containers and native sidecars included) declares the
 * resource requests and limits the bundle requires, as valid Kubernetes quantities, within the
 * configured maxima (inclusive), with requests never above limits.
 */
import { skipDelete, skipWithoutPodSpec } from '../engine/adjudicators.ts';
import { ConfigError } from '../engine/errors/index.ts';
import { skip } from '../engine/evaluate.ts';
import type { PathSegment } from '../engine/path.ts';
import { formatPath } from '../engine/path.ts';
import type { Quantity } from '../engine/quantity.ts';
import {
  MAX_INT64,
  compareQuantities,
  isNegativeQuantity,
  isQuantityError,
  isZeroQuantity,
  parseQuantityDetailed,
  scaledCeil,
} from '../engine/quantity.ts';
import type { FindingDraft, Policy } from '../engine/types.ts';
import type { ContainerLocation } from '../engine/workloads.ts';
import {
  containersOf,
  isRecord,
  malformedWorkloadFields,
  podSpecsOf,
  workloadAdmissionRules,
} from '../engine/workloads.ts';

/** `requests` or `limits`. */
export type ResourceSection = 'requests' | 'limits';

/** A resource field named as in the bundle: `requests.cpu`, `limits.memory`, `limits.nvidia.com/gpu`. */
export interface ResourceField {
  readonly key: string;
  readonly section: ResourceSection;
  readonly resource: string;
}

/** A configured maximum. */
export interface ResourceMaximum {
  readonly field: ResourceField;
  readonly max: Quantity;
}

/** Parameters of resource-limits. */
export interface ResourceLimitsParams {
  /** Fields every container must set. */
  readonly required: readonly ResourceField[];
  /** Inclusive maxima: a value equal to the maximum is allowed. */
  readonly max: readonly ResourceMaximum[];
}

/** The fields required when the bundle does not say. */
export const defaultRequiredResources: readonly string[] = [
  'requests.cpu',
  'requests.memory',
  'limits.memory',
];

const fieldPattern = '^(requests|limits)\\.[A-Za-z0-9]([A-Za-z0-9._/-]*[A-Za-z0-9])?$';
const fieldRe = new RegExp(fieldPattern);

/** Resources measured in bytes, where the `m` (milli) suffix is almost certainly a typo for `Mi`. */
function isByteResource(resource: string): boolean {
  return (
    resource === 'memory' ||
    resource === 'ephemeral-storage' ||
    resource === 'storage' ||
    resource.startsWith('hugepages-')
  );
}

/**
 * Resources whose limit the kubelet enforces and reads a zero of as "no limit": memory
 * (`MemoryLimitInBytes` is set only when non-zero), CPU (a zero CFS quota is unlimited) and
 * ephemeral storage (eviction skips a zero limit).
 */
const zeroIsUnlimited = new Set(['cpu', 'memory', 'ephemeral-storage']);

/** How the kubelet reads a limit: CPU in millicores (`MilliValue`), everything else in units (`Value`). */
function kubeletReading(resource: string, quantity: Quantity): { value: bigint; unit: string } {
  return resource === 'cpu'
    ? { value: scaledCeil(quantity, -3), unit: 'millicores' }
    : { value: scaledCeil(quantity, 0), unit: isByteResource(resource) ? 'bytes' : 'units' };
}

function parseField(key: string): ResourceField | undefined {
  if (!fieldRe.test(key)) return undefined;
  const dot = key.indexOf('.');
  return { key, section: key.slice(0, dot) as ResourceSection, resource: key.slice(dot + 1) };
}

/** A holder of `resources` (a container, or the pod itself for pod-level resources). */
interface ResourceOwner {
  readonly label: string;
  readonly resources: unknown;
  readonly path: readonly PathSegment[];
  /** Name of the field holding the requirements (`resources`; Tekton v1 `computeResources`). */
  readonly key: string;
}

/** One section: the map as written (for presence) and its valid quantities by resource name. */
interface Section {
  readonly written: Readonly<Record<string, unknown>> | undefined;
  readonly parsed: Map<string, Quantity>;
}

const noQuantities: ReadonlyMap<string, Quantity> = new Map();
const noResources: ReadonlySet<string> = new Set();

function has(section: Section | undefined, resource: string): boolean {
  return section?.written !== undefined && Object.hasOwn(section.written, resource);
}

function ownerLabel(location: ContainerLocation): string {
  const name = typeof location.container.name === 'string' ? location.container.name : '?';
  if (location.role === 'task-level') return 'the task-level computeResources';
  if (location.role === 'stepTemplate') return 'the stepTemplate';
  if (location.role !== undefined) return `${location.role} "${name}"`;
  if (location.sidecar) return `sidecar container "${name}"`;
  if (location.kind === 'initContainer') return `init container "${name}"`;
  return `container "${name}"`;
}

/**
 * Reads and validates one `requests`/`limits` map, reporting malformed entries, limits beyond the
 * kubelet's int64 reading, and zero limits of the resources in `zeroLimits` (required limits the
 * kubelet would read as "no limit").
 */
function readSection(
  owner: ResourceOwner,
  section: ResourceSection,
  findings: FindingDraft[],
  zeroLimits: ReadonlySet<string>,
): Section {
  const empty = { written: undefined, parsed: noQuantities as Map<string, Quantity> };
  if (!isRecord(owner.resources)) return empty;
  const map = owner.resources[section];
  if (map === undefined || map === null) return empty;
  const sectionPath = [...owner.path, owner.key, section];
  if (!isRecord(map)) {
    findings.push({
      path: formatPath(sectionPath),
      message: `${owner.label}: ${owner.key}.${section} must be a map of resource names to quantities`,
      fix: `write ${owner.key}.${section} as a map, e.g. {cpu: 250m, memory: 512Mi}`,
    });
    return empty;
  }
  const parsed = new Map<string, Quantity>();
  for (const resource in map) {
    if (!Object.hasOwn(map, resource)) continue;
    const raw = map[resource];
    const quantity = parseQuantityDetailed(raw);
    if (isQuantityError(quantity)) {
      findings.push({
        path: formatPath([...sectionPath, resource]),
        message: `${owner.label}: ${section}.${resource} ${JSON.stringify(raw)} is not a valid Kubernetes quantity: ${quantity.error}`,
        fix: `write ${section}.${resource} as a quantity such as ${isByteResource(resource) ? '512Mi or 2Gi' : '250m or 2'}`,
      });
      continue;
    }
    if (isNegativeQuantity(quantity)) {
      findings.push({
        path: formatPath([...sectionPath, resource]),
        message: `${owner.label}: ${section}.${resource} ${JSON.stringify(raw)} is negative`,
        fix: `set ${section}.${resource} to a positive quantity`,
      });
      continue;
    }
    if (quantity.suffix === 'm' && isByteResource(resource)) {
      findings.push({
        path: formatPath([...sectionPath, resource]),
        message: `${owner.label}: ${section}.${resource} "${quantity.text}" means ${quantity.text.slice(0, -1)} milli-bytes; this is almost certainly a typo for "${quantity.text.slice(0, -1)}Mi"`,
        fix: `write ${section}.${resource}: ${quantity.text.slice(0, -1)}Mi (mebibytes) or ${quantity.text.slice(0, -1)}M (megabytes)`,
      });
    }
    if (section === 'limits') {
      const reading = kubeletReading(resource, quantity);
      if (reading.value > MAX_INT64)
        findings.push({
          path: formatPath([...sectionPath, resource]),
          message: `${owner.label}: limits.${resource} "${quantity.text}" is ${reading.value} ${reading.unit}, beyond the 64-bit integer the kubelet reads it into; Kubernetes reads such a limit as 0 or a wrapped value, i.e. no limit`,
          fix: `set limits.${resource} to a realistic value${isByteResource(resource) ? ' such as 2Gi' : resource === 'cpu' ? ' such as 2' : ''}`,
        });
      else if (isZeroQuantity(quantity) && zeroLimits.has(resource))
        findings.push({
          path: formatPath([...sectionPath, resource]),
          message: `${owner.label}: limits.${resource} ${JSON.stringify(raw)} is zero, which the kubelet reads as no limit at all (the bundle requires limits.${resource})`,
          fix: `set limits.${resource} to a positive quantity${isByteResource(resource) ? ' such as 512Mi' : resource === 'cpu' ? ' such as 500m' : ''}`,
        });
    }
    parsed.set(resource, quantity);
  }
  return { written: map, parsed };
}

/** Both sections of one holder. */
interface Sections {
  readonly requests: Section;
  readonly limits: Section;
}

/**
 * Checks one holder of resources; values in `inherited` (pod-level resources, a Tekton step's
 * stepTemplate) satisfy its required fields.
 */
function checkOwner(
  owner: ResourceOwner,
  params: ResourceLimitsParams,
  findings: FindingDraft[],
  zeroLimits: ReadonlySet<string>,
  inherited: readonly Sections[] = [],
): Sections {
  const base = [...owner.path, owner.key];
  if (owner.resources !== undefined && owner.resources !== null && !isRecord(owner.resources)) {
    findings.push({
      path: formatPath(base),
      message: `${owner.label}: ${owner.key} must be a map with requests and limits`,
      fix: `write ${owner.key} as {requests: {...}, limits: {...}}`,
    });
  }
  const requests = readSection(owner, 'requests', findings, noResources);
  const limits = readSection(owner, 'limits', findings, zeroLimits);
  // A malformed `resources` or section is already reported at its own path; a missing-field
  // finding would name a path through it.
  const malformed = (section: ResourceSection): boolean => {
    if (owner.resources === undefined || owner.resources === null) return false;
    if (!isRecord(owner.resources)) return true;
    const map = owner.resources[section];
    return map !== undefined && map !== null && !isRecord(map);
  };

  for (const field of params.required) {
    if (malformed(field.section)) continue;
    const present = [{ requests, limits }, ...inherited].some((sections) =>
      field.section === 'limits'
        ? has(sections.limits, field.resource)
        : has(sections.requests, field.resource) || has(sections.limits, field.resource),
    );
    if (present) continue;
    findings.push({
      path: formatPath([...base, field.section, field.resource]),
      message: `${owner.label} does not set ${owner.key}.${field.key}, which the bundle requires`,
      fix: `set ${owner.key}.${field.key} on ${owner.label}${field.resource === 'memory' ? ' (e.g. 512Mi)' : field.resource === 'cpu' ? ' (e.g. 250m)' : ''}`,
    });
  }

  for (const { field, max } of params.max) {
    // The API server defaults a missing request to its limit; judge the values the cluster will run.
    const defaulted = field.section === 'requests' && !has(requests, field.resource);
    const value = (field.section === 'limits' || defaulted ? limits : requests).parsed.get(field.resource);
    if (!value || compareQuantities(value, max) <= 0) continue;
    const writtenSection = defaulted ? 'limits' : field.section;
    findings.push({
      path: formatPath([...base, writtenSection, field.resource]),
      message: defaulted
        ? `${owner.label}: requests.${field.resource} is unset, so it defaults to limits.${field.resource} "${value.text}", which exceeds the maximum ${field.key} ${max.text}`
        : `${owner.label}: ${field.key} "${value.text}" exceeds the maximum ${max.text}`,
      fix: defaulted
        ? `set requests.${field.resource} to at most ${max.text} explicitly`
        : `lower ${field.key} to at most ${max.text} (the maximum is inclusive)`,
      details: { field: field.key, value: value.text, max: max.text },
    });
  }

  for (const [resource, request] of requests.parsed) {
    const limit = limits.parsed.get(resource);
    if (!limit || compareQuantities(request, limit) <= 0) continue;
    findings.push({
      path: formatPath([...base, 'requests', resource]),
      message: `${owner.label}: requests.${resource} "${request.text}" is greater than limits.${resource} "${limit.text}"`,
      fix: `lower requests.${resource} or raise limits.${resource}; a request can never exceed its limit`,
    });
  }
  return { requests, limits };
}

export const resourceLimitsPolicy: Policy<ResourceLimitsParams> = {
  id: 'resource-limits',
  version: '1.3.0',
  description: 'Containers declare valid resource requests and limits within the configured maxima.',
  help:
    'Every container, init container and native sidecar (init container with `restartPolicy: Always`) must set ' +
    'the resource fields listed in `required` (default `requests.cpu`, `requests.memory`, `limits.memory`). ' +
    'Values are parsed with the full Kubernetes quantity grammar; invalid or negative quantities are denied with ' +
    'the reason, and memory or storage written with the `m` (milli) suffix is flagged as a typo for `Mi`. ' +
    'Maxima in `max` are **inclusive**: a value equal to the maximum is allowed, one nano above is not. ' +
    'A request above its limit is denied. A missing request counts as its limit, as the API server defaults it. ' +
    'Limits are judged as the kubelet reads them: a required CPU, memory or ephemeral-storage limit of zero (in any ' +
    'spelling: `0`, `0Gi`, `-0`, `0e3`) means no limit and is denied, as is any limit beyond the 64-bit integer the ' +
    'kubelet reads it into (`10E` bytes, `10P` CPUs), which Kubernetes reads as 0 or a wrapped value. ' +
    'Pod-level `spec.resources` is checked the same way and satisfies required fields of every container. ' +
    'Tekton steps and sidecars are containers (`computeResources` in v1, `resources` in v1beta1); a stepTemplate ' +
    "satisfies its steps' required fields, and a run's stepSpecs, sidecarSpecs and task-level computeResources are " +
    'held to the maxima. ' +
    'Ephemeral containers are skipped (the API forbids resources on them), as is the `pods/ephemeralcontainers` ' +
    'subresource; an in-place resize through `pods/resize` is judged like any pod. LimitRange defaults are not ' +
    'applied: write resources into the manifest.',
  paramsSchema: {
    type: 'object',
    properties: {
      required: {
        type: 'array',
        items: { type: 'string', pattern: fieldPattern },
        uniqueItems: true,
        description: `resource fields every container must set (default ${defaultRequiredResources.join(', ')})`,
      },
      max: {
        type: 'object',
        propertyNames: { pattern: fieldPattern },
        additionalProperties: { type: ['string', 'number'] },
        description: 'inclusive maxima by field, e.g. {limits.memory: 8Gi, requests.cpu: "4"}',
      },
    },
  },
  admissionRules: [...workloadAdmissionRules(['pods/resize'])],
  compile(raw) {
    const requiredKeys = Array.isArray(raw.required)
      ? raw.required.map(String)
      : [...defaultRequiredResources];
    const required = requiredKeys.map((key, index) => {
      const field = parseField(key);
      if (!field)
        throw new ConfigError(
          `required/${index}`,
          `"${key}" is not requests.<resource> or limits.<resource>`,
        );
      return field;
    });
    const max: ResourceMaximum[] = [];
    for (const [key, value] of Object.entries(isRecord(raw.max) ? raw.max : {})) {
      const field = parseField(key);
      if (!field)
        throw new ConfigError(`max/${key}`, `"${key}" is not requests.<resource> or limits.<resource>`);
      const quantity = parseQuantityDetailed(value);
      if (isQuantityError(quantity))
        throw new ConfigError(
          `max/${key}`,
          `maximum ${JSON.stringify(value)} is not a valid quantity: ${quantity.error}`,
        );
      if (isNegativeQuantity(quantity))
        throw new ConfigError(`max/${key}`, `maximum ${quantity.text} is negative`);
      if (quantity.suffix === 'm' && isByteResource(field.resource))
        throw new ConfigError(
          `max/${key}`,
          `maximum ${quantity.text} is in milli-bytes; did you mean ${quantity.text.slice(0, -1)}Mi?`,
        );
      max.push({ field, max: quantity });
    }
    return { required, max };
  },
  evaluate(input, params) {
    const deleted = skipDelete(input);
    if (deleted) return skip(deleted);
    // Ephemeral containers carry no resources, so a malformed ephemeralContainers list hides nothing here.
    const malformed = malformedWorkloadFields(input.object).filter(
      ({ path }) => !path.includes('ephemeralContainers') && !path.includes('volumes'),
    );
    const reason = malformed.length === 0 ? skipWithoutPodSpec(input) : undefined;
    if (reason) return skip(reason);
    if (input.subresource === 'ephemeralcontainers')
      return skip('pods/ephemeralcontainers only adds ephemeral containers, which cannot carry resources');
    if (input.subresource !== undefined && input.subresource !== 'resize')
      return skip(`the ${input.subresource} subresource does not change container resources`);
    const findings: FindingDraft[] = malformed.map(({ path, message }) => ({
      path,
      message: `${message}, so their resources cannot be checked`,
      fix: 'write the field as Kubernetes expects it (a pod spec map with a list of container maps)',
    }));
    const containers = containersOf(input.object);
    const zeroLimits = new Set(
      params.required
        .filter((field) => field.section === 'limits' && zeroIsUnlimited.has(field.resource))
        .map((field) => field.resource),
    );
    const checked = new Map<ContainerLocation, Sections>();
    for (const pod of podSpecsOf(input.object)) {
      const podLevel = pod.containersOnly
        ? []
        : [
            checkOwner(
              { label: 'the pod', resources: pod.spec.resources, path: pod.path, key: 'resources' },
              { required: [], max: params.max },
              findings,
              zeroLimits,
            ),
          ];
      // A template comes before the containers it is merged into.
      for (const location of containers) {
        if (location.pod.spec !== pod.spec || location.kind === 'ephemeralContainer') continue;
        const template = location.template && checked.get(location.template);
        checked.set(
          location,
          checkOwner(
            {
              label: ownerLabel(location),
              resources: location.container[location.resourcesKey],
              path: location.path,
              key: location.resourcesKey,
            },
            // Defaults (Argo's templateDefaults, Tekton's stepTemplate and a run's overrides) need
            // not carry every required field themselves.
            pod.defaults || location.partial ? { required: [], max: params.max } : params,
            findings,
            zeroLimits,
            template ? [...podLevel, template] : podLevel,
          ),
        );
      }
    }
    return findings;
  },
};
