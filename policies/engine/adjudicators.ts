/**
 * Small shared predicates that say why a policy does not apply (after Pepr's adjudicators).
 * Each returns a skip reason, or undefined when the policy applies.
 */
import type { PolicyInput } from './types.ts';
import { imageFieldsOf, podSpecsOf } from './workloads.ts';

/** Content policies judge what will run; removing an object cannot violate them. */
export function skipDelete(input: PolicyInput): string | undefined {
  return input.operation === 'DELETE' ? 'DELETE removes the object; its content is not judged' : undefined;
}

/** Skips objects that carry no pod spec. */
export function skipWithoutPodSpec(input: PolicyInput): string | undefined {
  return podSpecsOf(input.object).length === 0
    ? `${input.object.kind ?? 'object'} carries no pod spec`
    : undefined;
}

/** Skips objects that carry neither a pod spec nor an image field (CloudNativePG's imageName, for one). */
export function skipWithoutImages(input: PolicyInput): string | undefined {
  return podSpecsOf(input.object).length === 0 && imageFieldsOf(input.object).length === 0
    ? `${input.object.kind ?? 'object'} carries no pod spec and no image`
    : undefined;
}
