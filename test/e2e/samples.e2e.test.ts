/**
 * Every policy's samples (policies/<id>/samples/{allowed,denied}) sent through the real API server to
 * `tollgate serve`, and the same files given to `tollgate check`: the API server must admit the
 * allowed ones, deny the denied ones with the policy's message, and agree with the CI gate on every
 * resource (parity of the two enforcement points).
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { parse, stringify } from 'yaml';
import { KubeClient, type KubeObject, type KubeStatus } from './kube.ts';
import { parseManifests } from '../../ci-action/src/gate/manifests.ts';
import { freePort } from './harness.ts';
import {
  chartWebhookConfiguration,
  ensureNamespace,
  registerWebhook,
  nodeBin,
  repoRoot,
  startTollgate,
  unregisterWebhook,
  waitForWebhookTraffic,
  webhookName,
  webhookTls,
  type TollgateServer,
} from './tollgate.ts';

const cluster = inject('cluster');
const kube = new KubeClient(cluster);
const release = 'tollgate-e2e-samples';
const policiesDir = join(repoRoot, 'policies');
const baseline = join(repoRoot, 'bundles', 'finance-baseline.yaml');
const DEFAULT_NS = 'e2e-samples';

interface PolicySamples {
  readonly policy: string;
  readonly bundleFile: string;
  readonly allowed: readonly string[];
  readonly denied: readonly string[];
}

function yamlFiles(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .filter((f) => /\.ya?ml$/.test(f))
    .sort()
    .map((f) => join(dir, f));
}

/** The bundle a policy's samples are judged with: its samples/bundle.yaml, or the baseline's settings of that policy alone. */
function bundleFor(policy: string, scratch: string): string | undefined {
  const own = join(policiesDir, policy, 'samples', 'bundle.yaml');
  if (existsSync(own)) return own;
  const bundle = parse(readFileSync(baseline, 'utf8')) as {
    metadata: Record<string, unknown>;
    spec: { policies?: Record<string, unknown>; rules?: unknown };
  };
  const settings = bundle.spec.policies?.[policy];
  if (settings === undefined) return undefined;
  bundle.spec = { ...bundle.spec, policies: { [policy]: settings } };
  delete bundle.spec.rules;
  bundle.metadata = { ...bundle.metadata, name: `baseline-${policy}` };
  const file = join(scratch, `${policy}.bundle.yaml`);
  writeFileSync(file, stringify(bundle));
  return file;
}

const scratch = mkdtempSync(join(cluster.dir, 'samples-'));
const suites: PolicySamples[] = readdirSync(policiesDir, { withFileTypes: true })
  .filter((d) => d.isDirectory() && existsSync(join(policiesDir, d.name, 'samples')))
  .map((d) => d.name)
  // gitops-only judges who makes a change; these samples are requests by Argo CD, a person or a
  // break-glass holder, which test/e2e/gitops.e2e.test.ts sends with impersonation. Here every
  // request comes from the test's admin identity, so its samples are not comparable.
  .filter((policy) => policy !== 'gitops-only')
  .sort()
  .flatMap((policy) => {
    const samples = join(policiesDir, policy, 'samples');
    const allowed = yamlFiles(join(samples, 'allowed'));
    const denied = yamlFiles(join(samples, 'denied'));
    const bundleFile = bundleFor(policy, scratch);
    if (!bundleFile || allowed.length + denied.length === 0) return [];
    return [{ policy, bundleFile, allowed, denied }];
  });

/** What the API server answered for one resource of a sample. */
interface ApiVerdict {
  readonly key: string;
  readonly status: number;
  readonly denied: boolean;
  /** Rejected by the API server's own decoding or validation, before any webhook (400/422). */
  readonly rejected: boolean;
  /** Policies named in the denial message (`- [policy] path: ...`). */
  readonly policies: readonly string[];
  readonly message: string;
  readonly warnings: readonly string[];
}

interface ResourceInfo {
  readonly name: string;
  readonly namespaced: boolean;
}

const discovery = new Map<string, Map<string, ResourceInfo>>();

async function resourcesOf(apiVersion: string): Promise<Map<string, ResourceInfo> | undefined> {
  const cached = discovery.get(apiVersion);
  if (cached) return cached;
  const path = apiVersion === 'v1' ? '/api/v1' : `/apis/${apiVersion}`;
  const res = await kube.get<{ resources?: Array<{ name: string; kind: string; namespaced: boolean }> }>(
    path,
  );
  if (res.status !== 200) return undefined;
  const byKind = new Map<string, ResourceInfo>();
  for (const r of res.body.resources ?? []) {
    if (!r.name.includes('/')) byKind.set(r.kind, { name: r.name, namespaced: r.namespaced });
  }
  discovery.set(apiVersion, byKind);
  return byKind;
}

/**
 * The REST resource of a kind; kinds of operators and ingress controllers the test API server does not
 * serve (Traefik, CloudNativePG, Zalando, Gateway API) get a schemaless CRD, as installing them would.
 */
async function resourceFor(apiVersion: string, kind: string): Promise<ResourceInfo> {
  const known = (await resourcesOf(apiVersion))?.get(kind);
  if (known) return known;
  const [group, version] = apiVersion.includes('/') ? apiVersion.split('/') : ['', apiVersion];
  if (!group || !version) throw new Error(`kind ${kind} of ${apiVersion} is not served by the API server`);
  const lower = kind.toLowerCase();
  // The conventional plural, as the projects name theirs (ServiceEntry: serviceentries, Ingress: ingresses).
  const plural = /(s|x|ch|sh)$/.test(lower)
    ? `${lower}es`
    : /[^aeiou]y$/.test(lower)
      ? `${lower.slice(0, -1)}ies`
      : `${lower}s`;
  const crd = {
    apiVersion: 'apiextensions.k8s.io/v1',
    kind: 'CustomResourceDefinition',
    metadata: {
      name: `${plural}.${group}`,
      // Groups under k8s.io (Gateway API) must name their API review.
      ...(/(^|\.)k8s\.io$|(^|\.)kubernetes\.io$/.test(group)
        ? {
            annotations: {
              'api-approved.kubernetes.io': 'https://github.com/kubernetes-sigs/gateway-api/pull/1538',
            },
          }
        : {}),
    },
    spec: {
      group,
      scope: 'Namespaced',
      names: { plural, singular: kind.toLowerCase(), kind, listKind: `${kind}List` },
      versions: [
        {
          name: version,
          served: true,
          storage: true,
          schema: { openAPIV3Schema: { type: 'object', 'x-kubernetes-preserve-unknown-fields': true } },
        },
      ],
    },
  };
  const crds = '/apis/apiextensions.k8s.io/v1/customresourcedefinitions';
  const created = await kube.create(crds, crd);
  if (created.status === 409) {
    // The CRD serves another version already (a v1 Pipeline sample came first): serve this one too,
    // as the projects' CRDs serve v1 and v1beta1 side by side.
    const path = `${crds}/${crd.metadata.name}`;
    const existing = await kube.get<{ spec: { versions: Array<{ name: string; storage?: boolean }> } }>(path);
    if (existing.status !== 200) throw new Error(`CRD for ${kind}: ${existing.status}`);
    if (!existing.body.spec.versions.some((v) => v.name === version)) {
      existing.body.spec.versions.push({ ...crd.spec.versions[0]!, storage: false });
      const replaced = await kube.replace(path, existing.body);
      if (replaced.status !== 200) {
        throw new Error(`CRD for ${kind} ${version}: ${replaced.status} ${JSON.stringify(replaced.body)}`);
      }
    }
  } else if (created.status !== 201) {
    throw new Error(`CRD for ${kind}: ${created.status} ${JSON.stringify(created.body)}`);
  }
  const deadline = Date.now() + 30_000;
  for (;;) {
    discovery.delete(apiVersion);
    const found = (await resourcesOf(apiVersion))?.get(kind);
    if (found) return found;
    if (Date.now() > deadline) throw new Error(`CRD ${plural}.${group} not served after 30 s`);
    await sleep(250);
  }
}

function deniedPolicies(message: string): string[] {
  return [...new Set([...message.matchAll(/^- \[([a-z0-9-]+)\]/gm)].map((m) => m[1] ?? ''))].sort();
}

/** Resources are matched by kind and name: the namespace may be defaulted differently by the two edges. */
function keyOf(kind: string, name: string): string {
  return `${kind}/${name}`;
}

/** A resource of a sample file as kubectl reads it, and the JSON body kubectl would send. */
interface SampleDocument {
  readonly object: KubeObject;
  readonly source: string;
}

function sampleDocuments(file: string): SampleDocument[] {
  // What kubectl sends: its reading of the file (lists flattened, YAML 1.1), as JSON.
  const { manifests, errors } = parseManifests(file, readFileSync(file));
  if (errors.length > 0) throw new Error(`${file}: kubectl would not read it: ${JSON.stringify(errors)}`);
  return manifests.flatMap(({ object }) =>
    typeof object.kind === 'string' ? [{ object: object as KubeObject, source: JSON.stringify(object) }] : [],
  );
}

function documents(file: string): KubeObject[] {
  return sampleDocuments(file).map((d) => d.object);
}

/**
 * Creates, before any webhook is registered, every namespace the samples use (with the labels of the
 * samples' Namespace documents), so that namespace set-up is not itself judged by a sample bundle.
 */
async function createSampleNamespaces(): Promise<void> {
  const labels = new Map<string, Record<string, string>>([[DEFAULT_NS, {}]]);
  for (const suite of suites) {
    for (const file of [...suite.allowed, ...suite.denied]) {
      for (const doc of documents(file)) {
        if (doc.kind === 'Namespace' && doc.metadata?.name) {
          labels.set(doc.metadata.name, { ...labels.get(doc.metadata.name), ...doc.metadata.labels });
        } else if (doc.metadata?.namespace && !labels.has(doc.metadata.namespace)) {
          labels.set(doc.metadata.namespace, {});
        }
      }
    }
  }
  for (const [name, nsLabels] of labels) await ensureNamespace(kube, name, nsLabels);
  // The same namespaces as tollgate check's trusted inventory: CI sees the labels the cluster has,
  // never those of Namespace documents in the checked files.
  inventoryFile = join(mkdtempSync(join(tmpdir(), 'tollgate-samples-')), 'namespaces.yaml');
  writeFileSync(
    inventoryFile,
    [...labels]
      .map(([name, nsLabels]) =>
        stringify({
          apiVersion: 'v1',
          kind: 'Namespace',
          metadata: { name, labels: { ...nsLabels, 'kubernetes.io/metadata.name': name } },
        }),
      )
      .join('---\n'),
  );
}

/** The trusted namespace inventory of the run (written by createSampleNamespaces). */
let inventoryFile = '';

/**
 * Sends each resource of a sample file to the API server, as kubectl would send it (its reading of the file, as JSON), as a server-side
 * dry-run create, which passes
 * every admission stage without persisting (so samples sharing names do not collide). A Namespace
 * that exists is still judged: admission runs before the AlreadyExists check (409 = admitted). A Pod
 * with ephemeral containers is created without them and they are added through the
 * pods/ephemeralcontainers subresource, the only way the API allows (kubectl debug).
 */
async function admit(file: string): Promise<ApiVerdict[]> {
  const docs = sampleDocuments(file);
  const ordered = [
    ...docs.filter((d) => d.object.kind === 'Namespace'),
    ...docs.filter((d) => d.object.kind !== 'Namespace'),
  ];
  const verdicts: ApiVerdict[] = [];
  for (const { object: doc, source } of ordered) {
    const kind = doc.kind ?? '';
    const name = doc.metadata?.name ?? '';
    const resource = await resourceFor(doc.apiVersion ?? '', kind);
    const group = doc.apiVersion === 'v1' ? '/api/v1' : `/apis/${doc.apiVersion}`;
    let path = `${group}/${resource.name}`;
    let body: KubeObject = doc;
    if (resource.namespaced) {
      const namespace = doc.metadata?.namespace ?? DEFAULT_NS;
      path = `${group}/namespaces/${namespace}/${resource.name}`;
      body = { ...doc, metadata: { ...doc.metadata, namespace } };
    }
    const spec = body['spec'] as { ephemeralContainers?: unknown[] } | undefined;
    let res;
    if (kind === 'Pod' && spec?.ephemeralContainers?.length) {
      const { ephemeralContainers, ...podSpec } = spec;
      res = await kube.create(path, { ...body, spec: podSpec });
      if (res.status === 201) {
        res = await kube.patch(
          `${path}/${name}/ephemeralcontainers`,
          { spec: { ephemeralContainers } },
          { dryRun: true, contentType: 'application/strategic-merge-patch+json' },
        );
        await kube.delete(`${path}/${name}`, { query: { gracePeriodSeconds: '0' } });
      }
    } else {
      // As kubectl sends it: the API server decodes the YAML as written (YAML 1.1 scalars such as
      // `yes` or `0755` mean what they mean to kubectl), and fills in the namespace from the path.
      res = await kube.create(path, source, { dryRun: true, contentType: 'application/yaml' });
      if (res.status === 409) res = { ...res, status: 201 };
    }
    const message = (res.body as KubeStatus | undefined)?.message ?? '';
    const denied = res.status === 403 && message.includes(webhookName);
    const rejected = res.status === 400 || res.status === 422;
    if (!denied && !rejected && res.status >= 300) {
      throw new Error(`${file}: ${kind} ${name}: API server answered ${res.status}: ${message}`);
    }
    verdicts.push({
      key: keyOf(kind, name),
      status: res.status,
      denied,
      rejected,
      policies: denied ? deniedPolicies(message) : [],
      message,
      warnings: res.warnings,
    });
  }
  return verdicts;
}

interface CheckResource {
  readonly file?: string;
  readonly object: { readonly kind: string; readonly namespace?: string; readonly name: string };
  readonly decision: string;
  readonly results: ReadonlyArray<{
    readonly policy: string;
    readonly status: string;
    readonly action: string;
  }>;
}

type CheckVerdicts = Map<string, Map<string, { denied: boolean; policies: string[] }>>;

/**
 * `tollgate check --format json` on the same files with the same bundle, once per policy: the CI
 * verdict of every resource, by file (relative to the repository) and kind/name.
 */
function check(files: readonly string[], bundleFile: string): CheckVerdicts {
  let stdout: string;
  try {
    stdout = execFileSync(
      nodeBin,
      [
        join(repoRoot, 'bin', 'tollgate.js'),
        'check',
        '--bundle',
        bundleFile,
        '--namespaces',
        inventoryFile,
        // Namespace-less samples are created in DEFAULT_NS, as kubectl with that context namespace would.
        '--default-namespace',
        DEFAULT_NS,
        '--format',
        'json',
        ...files,
      ],
      { cwd: repoRoot, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], maxBuffer: 64 * 1024 * 1024 },
    );
  } catch (error) {
    const e = error as { status?: number; stdout?: string; stderr?: string };
    if (e.status !== 1 || !e.stdout)
      throw new Error(`tollgate check failed (${e.status}): ${e.stderr}`, { cause: error });
    stdout = e.stdout;
  }
  const report = JSON.parse(stdout) as { resources: CheckResource[] };
  const out: CheckVerdicts = new Map();
  for (const r of report.resources) {
    const policies = r.results
      .filter((x) => x.action === 'deny' && (x.status === 'fail' || x.status === 'error'))
      .map((x) => x.policy);
    const file = r.file ?? '';
    const byKey = out.get(file) ?? new Map<string, { denied: boolean; policies: string[] }>();
    out.set(file, byKey);
    byKey.set(keyOf(r.object.kind, r.object.name), {
      denied: r.decision === 'deny',
      policies: [...new Set(policies)].sort(),
    });
  }
  return out;
}

function relative(file: string): string {
  return file.slice(repoRoot.length);
}

let port: number;
let tls: ReturnType<typeof webhookTls>;

beforeAll(async () => {
  await createSampleNamespaces();
  // One registration for all policies: each policy's tollgate serve takes over the same port and certificate.
  port = await freePort();
  tls = webhookTls(cluster);
  const url = `https://127.0.0.1:${port}/validate`;
  await registerWebhook(kube, chartWebhookConfiguration({ release, url, caPem: tls.caPem }));
});

afterAll(async () => {
  await unregisterWebhook(kube, release);
  kube.close();
});

describe.each(suites)('samples of $policy through the API server', ({ bundleFile, allowed, denied }) => {
  let tollgate: TollgateServer;
  let ci: CheckVerdicts;

  beforeAll(async () => {
    ci = check([...allowed, ...denied].map(relative), bundleFile);
    tollgate = await startTollgate({ cluster, bundle: bundleFile, port, tls });
    await waitForWebhookTraffic(kube, tollgate, DEFAULT_NS);
  });

  afterAll(async () => {
    await tollgate?.stop();
  });

  /** API verdicts next to the CI gate's, per resource. */
  function parity(file: string, verdicts: readonly ApiVerdict[]) {
    const fromCi = ci.get(file);
    return {
      api: verdicts.map((v) => ({
        key: v.key,
        denied: v.denied || v.rejected,
        policies: v.rejected ? ['(API server)'] : v.policies,
      })),
      ci: verdicts.map((v) => {
        const c = fromCi?.get(v.key);
        return { key: v.key, denied: c?.denied, policies: v.rejected ? ['(API server)'] : c?.policies };
      }),
    };
  }

  it.each(allowed.map(relative))('admits %s, as tollgate check does', async (file) => {
    const verdicts = await admit(join(repoRoot, file));
    expect(
      verdicts.filter((v) => v.denied || v.rejected).map((v) => `${v.key}: ${v.status} ${v.message}`),
    ).toEqual([]);
    const { api, ci: gate } = parity(file, verdicts);
    expect(api).toEqual(gate);
  });

  it.each(denied.map(relative))('denies %s with the policy message, as tollgate check does', async (file) => {
    const verdicts = await admit(join(repoRoot, file));
    expect(
      verdicts.some((v) => v.denied || v.rejected),
      `no resource of ${file} denied: ${JSON.stringify(verdicts)}`,
    ).toBe(true);
    for (const v of verdicts.filter((x) => x.denied))
      expect(v.message).toMatch(/^admission webhook .* denied the request: tollgate denied /);
    const { api, ci: gate } = parity(file, verdicts);
    expect(api).toEqual(gate);
  });
});
