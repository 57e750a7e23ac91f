/** The built-in policies and a bundle loader bound to them. */
import { approvedRegistriesPolicy } from './approved-registries/index.ts';
import { freezeWindowsPolicy } from './freeze-windows/index.ts';
import { loadBundle as loadBundleWith } from './engine/bundle.ts';
import { namespaceIsolationPolicy } from './namespace-isolation/index.ts';
import { noPublicDatabasesPolicy } from './no-public-databases/index.ts';
import type { CompiledBundle } from './engine/bundle.ts';
import type { Policy } from './engine/types.ts';
import { resourceLimitsPolicy } from './resource-limits/index.ts';
import { signedImagesPolicy } from './signed-images/index.ts';

/** Every built-in policy, in report order. Policy ids are stable API. */
export const builtinPolicies: readonly Policy<unknown>[] = Object.freeze([
  approvedRegistriesPolicy as Policy<unknown>,
  signedImagesPolicy as Policy<unknown>,
  resourceLimitsPolicy as Policy<unknown>,
  namespaceIsolationPolicy as Policy<unknown>,
  noPublicDatabasesPolicy as Policy<unknown>,
  freezeWindowsPolicy as Policy<unknown>,
]);

/** Loads a bundle against the built-in policies. */
export function loadBuiltinBundle(bytes: string | Uint8Array, source: string): CompiledBundle {
  return loadBundleWith(bytes, { source, policies: builtinPolicies });
}

export * from './engine/index.ts';
