/** Public surface of the pure policy engine, shared by the webhook and the CI gate. */
export * from './types.ts';
export * from './errors/index.ts';
export { evaluate, decide, skip, weakerAction, objectRefOf } from './evaluate.ts';
export {
  loadBundle,
  bundleSchema,
  bundleDigest,
  resolveEnforcement,
  deepFreeze,
  type CompiledBundle,
  type CompiledPolicy,
  type CompiledExemption,
  type ExemptionSpec,
  type EnforcementSetting,
  type LoadBundleOptions,
} from './bundle.ts';
export { formatPath, joinPath, prefixPath, parsePath, type PathSegment } from './path.ts';
export * from './workloads.ts';
export * from './image-reference.ts';
export * from './host-path.ts';
export * from './gitops-owner.ts';
export * from './quantity.ts';
export {
  parseSource,
  type ParsedSource,
  type SourceDocument,
  type SourceError,
  type SourceSpan,
} from './yaml-source.ts';
export {
  readAsKubectl,
  decodeAsKubectl,
  exactYamlBudget,
  type ExactYaml,
  type ExactYamlBudget,
  type KubectlObject,
  type KubectlReading,
  type KubectlReaderOptions,
} from './kubectl-reader.ts';
export { TOLLGATE_VERSION } from './version.ts';
export * from './review.ts';
export { clusterScopedKindsOf, isClusterScoped } from './api-scope.ts';
export { instantExample, parseInstant } from './instant.ts';
