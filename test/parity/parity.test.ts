/**
 * Parity: every sample manifest of every policy (policies/<id>/samples/{allowed,denied}/*, judged
 * with that folder's samples/bundle.yaml), and the examples/ tree with the embedded baseline, goes
 * through `tollgate check` (checkManifests, in-process, as the CLI runs it) and through the running
 * webhook over HTTPS wrapped as an AdmissionReview CREATE. Both must give the same verdict, the
 * same policy statuses and the same field paths. Policy folders are discovered by glob, so policies
 * added later are covered without touching this file.
 *
 * How the two edges are made to see the same world: the webhook's namespace look-up is fed the
 * Namespace documents of the sample file (as the cluster would hold them), both edges share one
 * `services` object (the webhook's image verifier) and one fixed clock. Policies whose enforcement
 * differs between the `admission` and `ci` points are compared on their findings' paths only, and
 * the decision is compared only when every policy has the same action at both points. A policy that
 * decides on who asks (gitops-only) has no requester in CI and skips there with that reason; the
 * webhook judges the same object for the test's requester, so its result is not compared, nor is the
 * decision of a bundle running such a policy. Likewise a policy that judges what a namespace holds
 * (tenant-quotas on a Namespace) skips at admission, where only the one object is known (the
 * decision log keeps no skip reason, so the test asks the engine with the webhook's context); its CI
 * result is not compared with that skip.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { defaultBundlePath } from '../../io/default-bundle.ts';
import { checkManifests } from '../../ci-action/src/gate/check.ts';
import type { ResourceReport } from '../../ci-action/src/gate/check.ts';
import { loadManifests } from '../../ci-action/src/gate/manifests.ts';
import {
  isClusterScoped,
  loadBuiltinBundle,
  review as reviewSubject,
  withDefaultNamespace,
} from '../../policies/index.ts';
import { identityUnknown } from '../../policies/gitops-only/index.ts';
import { namespaceContentsUnknown } from '../../policies/tenant-quotas/index.ts';
import type { CompiledBundle } from '../../policies/engine/bundle.ts';
import type { KubeObject } from '../../policies/engine/types.ts';
import { isValidAuditAnnotationKey } from '../../webhook/src/admission.ts';
import type { DecisionLine } from '../../io/decision-log/line.ts';
import { admissionReview, startTestWebhook } from '../support/webhook.ts';
import type { TestWebhook } from '../support/webhook.ts';

const root = resolve(fileURLToPath(new URL('.', import.meta.url)), '../..');
const now = new Date('2026-11-20T12:00:00Z');
const manifestFile = /\.(ya?ml|json)$/i;

interface Suite {
  name: string;
  bundleFile: string;
  files: string[];
}

function filesUnder(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { withFileTypes: true })
    .filter((entry) => !entry.name.startsWith('.'))
    .flatMap((entry) =>
      entry.isDirectory()
        ? filesUnder(join(dir, entry.name))
        : manifestFile.test(entry.name)
          ? [join(dir, entry.name)]
          : [],
    )
    .sort();
}

function discoverSuites(): Suite[] {
  const suites: Suite[] = [];
  const policiesDir = join(root, 'policies');
  for (const entry of readdirSync(policiesDir, { withFileTypes: true })) {
    const samples = join(policiesDir, entry.name, 'samples');
    if (!entry.isDirectory() || !existsSync(join(samples, 'bundle.yaml'))) continue;
    const files = [...filesUnder(join(samples, 'allowed')), ...filesUnder(join(samples, 'denied'))];
    if (files.length > 0) suites.push({ name: entry.name, bundleFile: join(samples, 'bundle.yaml'), files });
  }
  suites.push({
    name: 'examples (finance baseline)',
    bundleFile: defaultBundlePath,
    files: filesUnder(join(root, 'examples')),
  });
  return suites;
}

const suites = discoverSuites();

/** What a verdict looks like for comparison: per policy, status and sorted finding paths. */
interface Verdict {
  decision: 'allow' | 'deny';
  policies: Record<string, { status: string; fields: string[] }>;
  /** Policies that skipped because CI has no requester. */
  identityUnknown?: string[];
}

function ciVerdict(report: ResourceReport): Verdict {
  return {
    decision: report.decision,
    identityUnknown: report.results
      .filter((r) => r.status === 'skip' && r.reason === identityUnknown)
      .map((r) => r.policy),
    policies: Object.fromEntries(
      report.results.map((r) => [
        r.policy,
        { status: r.status, fields: r.findings.map((f) => f.path).sort() },
      ]),
    ),
  };
}

function webhookVerdict(line: DecisionLine): Verdict {
  return {
    decision: line.decision,
    policies: Object.fromEntries(
      line.policies.map((p) => [p.policy, { status: p.status, fields: [...(p.fields ?? [])].sort() }]),
    ),
  };
}

function resourceOf(object: KubeObject): string {
  const kind = String(object.kind ?? 'object').toLowerCase();
  return kind.endsWith('s') ? `${kind}es` : kind.endsWith('y') ? `${kind.slice(0, -1)}ies` : `${kind}s`;
}

describe('parity: tollgate check and tollgate serve give the same verdicts', () => {
  it('finds the sample folders of the policies', () => {
    expect(suites.length).toBeGreaterThan(1);
    for (const suite of suites) expect(suite.files.length, suite.name).toBeGreaterThan(0);
  });

  for (const suite of suites) {
    describe(suite.name, () => {
      let hook: TestWebhook;
      let bundle: CompiledBundle;
      let namespaces = new Map<string, KubeObject>();
      let samePoints: Set<string>;
      beforeAll(async () => {
        const bytes = readFileSync(suite.bundleFile);
        bundle = loadBuiltinBundle(bytes, relative(root, suite.bundleFile));
        samePoints = new Set(
          bundle.policies.filter((p) => p.enforcement.admission === p.enforcement.ci).map((p) => p.policy.id),
        );
        hook = await startTestWebhook(bytes.toString('utf8'), {
          now,
          namespaceLookup: (name) => namespaces.get(name),
        });
      });
      afterAll(() => hook?.close());

      for (const file of suite.files) {
        it(relative(root, file), async () => {
          const set = await loadManifests([file], root, async () => '');
          expect(set.errors).toEqual([]);
          namespaces = new Map(
            set.manifests
              .filter((m) => m.object.kind === 'Namespace' && m.object.metadata?.name)
              .map((m) => [String(m.object.metadata?.name), m.object]),
          );
          // Both edges see the same trusted namespaces: the cluster's for the webhook, an inventory
          // holding the same objects for CI (never the manifests' own Namespace documents).
          const reports = await checkManifests(set.manifests, {
            bundle,
            now,
            services: hook.webhook.services,
            namespaces: (name) => namespaces.get(name),
          });
          expect(reports).toHaveLength(set.manifests.length);
          for (const [index, manifest] of set.manifests.entries()) {
            const uid = `parity-${index}-${Math.random().toString(16).slice(2)}`;
            // What the API server sends for `kubectl apply` in the default namespace: a namespaced
            // manifest without one gets it, as tollgate check assumes (--default-namespace).
            const sent = isClusterScoped(manifest.object)
              ? manifest.object
              : withDefaultNamespace(manifest.object, 'default');
            const review = admissionReview(sent, {
              uid,
              resource: resourceOf(manifest.object),
              ...(sent.metadata?.namespace ? { namespace: sent.metadata.namespace } : {}),
            });
            const { status, body } = await hook.post(review);
            const where = `${relative(root, file)} document ${manifest.document.index} (${manifest.object.kind})`;
            expect(status, where).toBe(200);
            expect(body.response.uid, where).toBe(uid);
            const line = hook.logs.find((l) => l.uid === uid && l.event === 'decision') as
              DecisionLine | undefined;
            expect(line, where).toBeDefined();
            const ci = ciVerdict(reports[index] as ResourceReport);
            const admission = webhookVerdict(line as DecisionLine);
            expect(body.response.allowed, where).toBe(admission.decision === 'allow');
            expect(Object.keys(admission.policies).sort(), where).toEqual(Object.keys(ci.policies).sort());
            const atAdmission = await reviewSubject({ manifest: sent }, bundle, {
              now,
              point: 'admission',
              namespaces: (name) => namespaces.get(name),
            });
            const byIdentity = new Set([
              ...(ci.identityUnknown ?? []),
              ...(atAdmission.report?.results ?? [])
                .filter((r) => r.status === 'skip' && r.reason === namespaceContentsUnknown)
                .map((r) => r.policy),
            ]);
            for (const [policy, result] of Object.entries(ci.policies)) {
              const other = admission.policies[policy];
              if (byIdentity.has(policy)) continue;
              if (samePoints.has(policy)) expect(other, `${where}: ${policy}`).toEqual(result);
              else if (result.status !== 'skip' && other?.status !== 'skip')
                expect(other?.fields, `${where}: ${policy} (paths)`).toEqual(result.fields);
            }
            if (samePoints.size === bundle.policies.length && byIdentity.size === 0)
              expect(admission.decision, where).toBe(ci.decision);
            // audit annotation keys are valid, and long annotation values of the object (break-glass
            // tokens, signatures) appear neither in the response nor in the decision log
            for (const key of Object.keys(body.response.auditAnnotations ?? {}))
              expect(isValidAuditAnnotationKey(key), `${where}: ${key}`).toBe(true);
            const secrets = Object.values(manifest.object.metadata?.annotations ?? {}).filter(
              (v) => v.length > 40,
            );
            for (const secret of secrets) {
              expect(JSON.stringify(body), where).not.toContain(secret.slice(0, 40));
              expect(JSON.stringify(line), where).not.toContain(secret.slice(0, 40));
            }
          }
        });
      }
    });
  }
});
