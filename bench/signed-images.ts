/**
 * signed-images against a loopback registry (Debian's docker-registry, started here): cold
 * verification of one image (fresh caches), the warm cached decision, and a burst of 200 pod
 * admissions referencing 5 distinct images (registry requests counted per image). Baselines from
 * the same run: one bare `GET /v2/` round trip to the registry (the network floor of a cold
 * verification) and approved-registries on the same Pod (the cost of a pure policy decision).
 *
 *   npx node bench/signed-images.ts [cold-rounds] [warm-iterations]
 */
import { approvedRegistriesPolicy } from '../policies/approved-registries/index.ts';
import { evaluate, loadBundle } from '../policies/index.ts';
import type { CompiledBundle, EngineContext, ImageVerifier, KubeObject, Policy } from '../policies/index.ts';
import { signedImagesPolicy } from '../policies/signed-images/index.ts';
import { RegistryClient } from '../io/registry/client.ts';
import { generateTestKey, pushRandomImage, signLegacy, startRegistry } from '../test/support/registry-rig.ts';
import { createImageVerifier } from '../io/cosign/verifier.ts';
import { micros, quantile } from './stats.ts';

const coldRounds = Number(process.argv[2] ?? 30);
const warmIterations = Number(process.argv[3] ?? 50_000);

function bundleOf(policy: Policy<unknown>, params: Record<string, unknown>): CompiledBundle {
  return loadBundle(
    JSON.stringify({
      apiVersion: 'tollgate.dev/v1',
      kind: 'PolicyBundle',
      metadata: { name: 'bench', version: '1.0.0' },
      spec: { policies: { [policy.id]: { enforcement: 'deny', ...params } } },
    }),
    { source: 'bench', policies: [policy] },
  );
}

const podOf = (name: string, image: string): KubeObject => ({
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: { name, namespace: 'tenant-acme' },
  spec: { containers: [{ name: 'main', image }] },
});

const ms = (ns: number): string => `${(ns / 1e6).toFixed(2)} ms`;

const registry = await startRegistry();
try {
  const client = new RegistryClient();
  const key = generateTestKey('p256');
  const repos = ['erp/odoo', 'erp/worker', 'erp/reports', 'platform/fluent-bit', 'platform/traefik'];
  for (const repo of [...repos, 'erp/cold']) {
    const digest = await pushRandomImage(client, registry.host, repo, '1.0');
    await signLegacy(client, registry.host, repo, digest, key);
  }
  const bundle = bundleOf(signedImagesPolicy as Policy<unknown>, {
    rules: [
      { name: 'local', images: [registry.host], keys: [{ name: 'release', publicKey: key.publicKeyPem }] },
    ],
    insecureRegistries: [registry.host],
  });
  const registriesBundle = bundleOf(approvedRegistriesPolicy as Policy<unknown>, {
    registries: [registry.host],
  });
  const now = new Date('2026-11-20T12:00:00Z');
  const contextWith = (verifier: ImageVerifier | undefined): EngineContext => ({
    now,
    point: 'admission',
    services: verifier ? { imageVerifier: verifier } : {},
  });

  // Baseline: one bare round trip to the registry.
  const rtt: number[] = [];
  for (let i = 0; i < coldRounds; i++) {
    const started = process.hrtime.bigint();
    const response = await fetch(`http://${registry.host}/v2/`);
    await response.arrayBuffer();
    rtt.push(Number(process.hrtime.bigint() - started));
  }

  // Cold: a fresh verifier (empty caches) decides one Pod with a tag reference.
  const cold: number[] = [];
  let coldRequests = 0;
  const coldPod = podOf('cold', `${registry.host}/erp/cold:1.0`);
  for (let i = 0; i < coldRounds; i++) {
    let requests = 0;
    const verifier = createImageVerifier({ onRequest: () => requests++ });
    const started = process.hrtime.bigint();
    const report = await evaluate({ operation: 'CREATE', object: coldPod }, bundle, contextWith(verifier));
    cold.push(Number(process.hrtime.bigint() - started));
    if (report.decision !== 'allow') throw new Error(`cold decision was ${report.decision}`);
    coldRequests = requests;
  }

  // Warm: the same verifier answers from its cache.
  const warmVerifier = createImageVerifier();
  const warmContext = contextWith(warmVerifier);
  await evaluate({ operation: 'CREATE', object: coldPod }, bundle, warmContext);
  const time = async (fn: () => Promise<unknown>): Promise<number> => {
    for (let i = 0; i < 1000; i++) await fn();
    const started = process.hrtime.bigint();
    for (let i = 0; i < warmIterations; i++) await fn();
    return Number(process.hrtime.bigint() - started) / warmIterations;
  };
  const warm = await time(() => evaluate({ operation: 'CREATE', object: coldPod }, bundle, warmContext));
  const pure = await time(() =>
    evaluate({ operation: 'CREATE', object: coldPod }, registriesBundle, { now, point: 'admission' }),
  );
  const warmVerify = await time(() =>
    warmVerifier.verify({
      registry: registry.host,
      repository: 'erp/cold',
      tag: '1.0',
      insecure: true,
      trust: (bundle.policies[0]?.params as { rules: Array<{ trust: never }> }).rules[0]?.trust as never,
    }),
  );

  // Burst: 200 concurrent admissions over 5 images, one fresh verifier.
  const perRepo = new Map<string, number>();
  const burstVerifier = createImageVerifier({
    onRequest: (event) => perRepo.set(event.repository, (perRepo.get(event.repository) ?? 0) + 1),
  });
  const pods = Array.from({ length: 200 }, (_, i) =>
    podOf(`pod-${i}`, `${registry.host}/${repos[i % repos.length]}:1.0`),
  );
  const burstStarted = process.hrtime.bigint();
  const reports = await Promise.all(
    pods.map((object) => evaluate({ operation: 'CREATE', object }, bundle, contextWith(burstVerifier))),
  );
  const burstNs = Number(process.hrtime.bigint() - burstStarted);
  const denied = reports.filter((r) => r.decision !== 'allow').length;
  const firstBurst = new Map(perRepo);
  await Promise.all(
    pods.map((object) => evaluate({ operation: 'CREATE', object }, bundle, contextWith(burstVerifier))),
  );
  const secondBurstRequests =
    [...perRepo.values()].reduce((a, b) => a + b, 0) - [...firstBurst.values()].reduce((a, b) => a + b, 0);
  const stats = burstVerifier.stats();

  console.log(
    `signed-images bench (loopback docker-registry ${registry.host}, legacy .sig signatures, P-256)`,
  );
  console.log(
    `baseline: GET /v2/ round trip            median ${ms(quantile(rtt, 0.5))}  p95 ${ms(quantile(rtt, 0.95))}`,
  );
  console.log(
    `cold verification, one Pod, tag ref       median ${ms(quantile(cold, 0.5))}  p95 ${ms(quantile(cold, 0.95))}  first ${ms(cold[0] ?? 0)}  (${coldRequests} HTTP requests; ${(quantile(cold, 0.5) / quantile(rtt, 0.5)).toFixed(1)}x one round trip; target <= 50 ms)`,
  );
  console.log(`warm cached decision (engine + policy)    ${micros(warm)} per decision  (target <= 50 µs)`);
  console.log(`  of which verifier cache look-up         ${micros(warmVerify)}`);
  console.log(
    `  baseline approved-registries, same Pod  ${micros(pure)}  (warm signed-images = ${(warm / pure).toFixed(2)}x)`,
  );
  console.log(`burst: 200 admissions, 5 images           ${ms(burstNs)} total, ${denied} denied`);
  console.log(
    `  verifications ${stats.verifications} (per image: ${(stats.verifications / repos.length).toFixed(1)}), joined in flight ${stats.inflightJoins}, cache hits ${stats.cacheHits}`,
  );
  console.log(
    `  HTTP requests per image (first burst): ${repos.map((r) => `${r}=${firstBurst.get(r) ?? 0}`).join(', ')}`,
  );
  console.log(`  HTTP requests in a second burst within the TTL: ${secondBurstRequests}`);
} finally {
  await registry.stop();
}
