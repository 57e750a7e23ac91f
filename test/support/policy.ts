/**
 * Helpers for policy tests: evaluate one policy on one object through the real engine
 * (bundle loading included), so tests exercise exactly what users run.
 */
import { loadBundle } from '../../policies/index.ts';
import { evaluate } from '../../policies/engine/evaluate.ts';
import type {
  AdmissionInput,
  EngineContext,
  KubeObject,
  Policy,
  PolicyResult,
} from '../../policies/engine/types.ts';

/** Options for {@link runPolicy}. */
export interface RunPolicyOptions {
  input?: Partial<AdmissionInput>;
  context?: Partial<EngineContext>;
}

/** Evaluates `object` with a bundle configuring only `policy` with `params`, and returns its result. */
export async function runPolicy(
  policy: Policy<unknown>,
  params: Record<string, unknown>,
  object: KubeObject | undefined,
  options: RunPolicyOptions = {},
): Promise<PolicyResult> {
  const bundle = loadBundle(
    JSON.stringify({
      apiVersion: 'tollgate.dev/v1',
      kind: 'PolicyBundle',
      metadata: { name: 'test', version: '1.0.0' },
      spec: { policies: { [policy.id]: { enforcement: 'deny', ...params } } },
    }),
    { source: 'test-bundle', policies: [policy] },
  );
  const input: AdmissionInput = { operation: 'CREATE', ...(object ? { object } : {}), ...options.input };
  const context: EngineContext = {
    now: new Date('2026-11-20T12:00:00Z'),
    point: 'admission',
    ...options.context,
  };
  const report = await evaluate(input, bundle, context);
  const result = report.results[0];
  if (!result) throw new Error('policy produced no result');
  return result;
}

/** A Deployment with the given containers, for table-driven tests. */
export function deployment(
  containers: Record<string, unknown>[],
  extra: Record<string, unknown> = {},
): KubeObject {
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: 'app', namespace: 'tenant-a' },
    spec: {
      selector: { matchLabels: { app: 'x' } },
      template: { metadata: { labels: { app: 'x' } }, spec: { containers, ...extra } },
    },
  };
}

/** A Pod with the given spec. */
export function pod(spec: Record<string, unknown>, metadata: Record<string, unknown> = {}): KubeObject {
  return { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p', namespace: 'tenant-a', ...metadata }, spec };
}
