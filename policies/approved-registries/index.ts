/**
 * approved-registries: every image must come from an approved registry prefix, compared on the
 * normalized reference (host exact and case-insensitive with port, path on `/` boundaries).
 */
import { skip } from '../engine/evaluate.ts';
import { skipDelete, skipWithoutImages } from '../engine/adjudicators.ts';
import { ConfigError } from '../engine/errors/index.ts';
import {
  isImageReferenceError,
  matchesRegistryPrefix,
  parseImageReference,
  registryPrefixProblem,
} from '../engine/image-reference.ts';
import type { FindingDraft, Policy } from '../engine/types.ts';
import { imageFieldsOf, malformedWorkloadFields, workloadAdmissionRules } from '../engine/workloads.ts';

/** Parameters of approved-registries. */
export interface ApprovedRegistriesParams {
  /** Approved prefixes: `host[:port][/path]`; a prefix without a host is a Docker Hub path. */
  readonly registries: readonly string[];
  /** Also require every image to be pinned by digest (`@sha256:...`). */
  readonly requireDigest: boolean;
}

export const approvedRegistriesPolicy: Policy<ApprovedRegistriesParams> = {
  id: 'approved-registries',
  version: '1.5.0',
  description: 'Images must come from approved registries (and optionally be pinned by digest).',
  help:
    'Every container, init container, ephemeral container, image volume and Tekton step, sidecar and stepTemplate ' +
    '(and the images an OpenKruise ImagePullJob pulls onto nodes) must reference an image whose ' +
    'normalized registry host and repository path fall under one of the approved prefixes. Hosts compare exactly ' +
    '(case-insensitive, port included); paths compare on `/` boundaries, so `corp/erp` does not admit `corp/erpx`. ' +
    'References that do not parse, bare image IDs and references with whitespace are denied.',
  paramsSchema: {
    type: 'object',
    required: ['registries'],
    properties: {
      registries: {
        type: 'array',
        items: { type: 'string', minLength: 1 },
        description: 'approved prefixes, e.g. registry.corp.example/erp or docker.io/library',
      },
      requireDigest: { type: 'boolean', description: 'require images pinned by digest' },
    },
  },
  admissionRules: [...workloadAdmissionRules(['pods/ephemeralcontainers'])],
  compile(raw) {
    const registries = Array.isArray(raw.registries) ? raw.registries.map(String) : [];
    registries.forEach((prefix, index) => {
      const problem = registryPrefixProblem(prefix);
      if (problem) throw new ConfigError(`registries/${index}`, problem);
    });
    return { registries, requireDigest: raw.requireDigest === true };
  },
  evaluate(input, params) {
    const deleted = skipDelete(input);
    if (deleted) return skip(deleted);
    const malformed = malformedWorkloadFields(input.object);
    const reason = malformed.length === 0 ? skipWithoutImages(input) : undefined;
    if (reason) return skip(reason);
    const allowed = params.registries.join(', ');
    const findings: FindingDraft[] = malformed.map(({ path, message }) => ({
      path,
      message: `${message}, so its images cannot be checked`,
      fix: `write the field as Kubernetes expects it, with images from one of: ${allowed}`,
    }));
    for (const field of imageFieldsOf(input.object)) {
      if (typeof field.image !== 'string') {
        findings.push({
          path: field.path,
          message: 'the image field is missing or not a string',
          fix: 'set the image to a reference from an approved registry',
        });
        continue;
      }
      if (field.image.includes('$(')) {
        findings.push({
          path: field.path,
          message: `image ${JSON.stringify(field.image)} is a Tekton substitution ($(params…), $(steps…)): the run puts any image there, after review`,
          fix: `write the image reference itself, from one of: ${allowed}`,
        });
        continue;
      }
      const ref = parseImageReference(field.image);
      if (isImageReferenceError(ref)) {
        findings.push({
          path: field.path,
          message: `image ${JSON.stringify(field.image)} is rejected: ${ref.error}`,
          fix: `use a full reference from one of: ${allowed}`,
        });
        continue;
      }
      if (!params.registries.some((prefix) => matchesRegistryPrefix(ref, prefix))) {
        findings.push({
          path: field.path,
          message: `image "${field.image}" (${ref.repository}) is not from an approved registry`,
          fix: `use an image from one of: ${allowed}`,
          details: { repository: ref.repository },
        });
        continue;
      }
      if (params.requireDigest && !ref.digest) {
        findings.push({
          path: field.path,
          message: `image "${field.image}" is not pinned by digest`,
          fix: `pin the image as ${ref.repository}@sha256:<digest> (a tag can be moved after review)`,
        });
      }
    }
    return findings;
  },
};
