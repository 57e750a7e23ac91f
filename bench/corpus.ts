/**
 * A reusable synthetic manifest corpus for benchmarks: `generateCorpus(dir, count)` writes `count`
 * Kubernetes resources of mixed kinds (Deployment, StatefulSet, CronJob, Pod, Service, ConfigMap,
 * Ingress, NetworkPolicy) as multi-document YAML files of 1 to 20 documents, deterministic for a
 * given count. About one resource in eight violates the finance baseline (unapproved or unpinned
 * registry, missing or excessive resources, a database behind a public LoadBalancer).
 *
 * Usage as a script: node bench/corpus.ts DIR [COUNT]   (default 10000)
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** What was written. */
export interface Corpus {
  dir: string;
  files: number;
  resources: number;
  /** Resources written per kind. */
  kinds: Record<string, number>;
  /** Resources deliberately written with a violation. */
  violating: number;
}

/** Deterministic PRNG (mulberry32) so every run benches the same files. */
function random(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const goodImages = [
  'registry.corp.example/erp/odoo:17.0',
  'registry.corp.example/platform/fluent-bit:3.1',
  'registry.corp.example/erp/worker:2.4.1',
  'ghcr.io/cloudnative-pg/postgresql:16.4',
];
const badImages = [
  'odoo:17.0',
  'docker.io/bitnami/redis:7.2',
  'quay.io/someone/tool:1',
  'registry.corp.example.evil.io/erp/odoo:17',
];

function container(name: string, image: string, violate: 'none' | 'limits' | 'typo', indent: string): string {
  const lines = [
    `${indent}- name: ${name}`,
    `${indent}  image: ${image}`,
    `${indent}  ports:`,
    `${indent}    - containerPort: 8069`,
  ];
  if (violate !== 'limits') {
    lines.push(
      `${indent}  resources:`,
      `${indent}    requests:`,
      `${indent}      cpu: 250m`,
      `${indent}      memory: ${violate === 'typo' ? '512m' : '512Mi'}`,
      `${indent}    limits:`,
      `${indent}      memory: 1Gi`,
    );
  }
  return lines.join('\n');
}

function podSpec(rand: () => number, bad: boolean, indent: string): string {
  const kind = bad ? Math.floor(rand() * 3) : -1;
  const image =
    kind === 0
      ? badImages[Math.floor(rand() * badImages.length)]!
      : goodImages[Math.floor(rand() * goodImages.length)]!;
  const violate = kind === 1 ? 'limits' : kind === 2 ? 'typo' : 'none';
  const containers = [container('app', image, violate, `${indent}  `)];
  if (rand() < 0.4) containers.push(container('log-shipper', goodImages[1]!, 'none', `${indent}  `));
  const init =
    rand() < 0.3
      ? `\n${indent}initContainers:\n${container('migrate', goodImages[2]!, 'none', `${indent}  `)}`
      : '';
  return `${indent}containers:\n${containers.join('\n')}${init}`;
}

function resource(kind: string, index: number, rand: () => number, bad: boolean): string {
  const ns = `tenant-${index % 50}`;
  const name = `${kind.toLowerCase()}-${index}`;
  const meta = `metadata:\n  name: ${name}\n  namespace: ${ns}\n  labels:\n    app.kubernetes.io/name: ${name}\n    app.kubernetes.io/part-of: erp`;
  const selector = `  selector:\n    matchLabels:\n      app.kubernetes.io/name: ${name}`;
  const template = (indent: string) =>
    `${indent}template:\n${indent}  metadata:\n${indent}    labels:\n${indent}      app.kubernetes.io/name: ${name}\n${indent}  spec:\n${podSpec(rand, bad, `${indent}    `)}`;
  switch (kind) {
    case 'Deployment':
      return `apiVersion: apps/v1\nkind: Deployment\n${meta}\nspec:\n  replicas: 2\n${selector}\n${template('  ')}`;
    case 'StatefulSet':
      return `apiVersion: apps/v1\nkind: StatefulSet\n${meta}\nspec:\n  serviceName: ${name}\n${selector}\n${template('  ')}`;
    case 'CronJob':
      return `apiVersion: batch/v1\nkind: CronJob\n${meta}\nspec:\n  schedule: "0 3 * * *"\n  jobTemplate:\n    spec:\n${template('      ')}\n        restartPolicy: OnFailure`;
    case 'Pod':
      return `apiVersion: v1\nkind: Pod\n${meta}\nspec:\n${podSpec(rand, bad, '  ')}`;
    case 'Service': {
      const exposed = bad ? `  type: LoadBalancer\n` : '';
      const port = index % 3 === 0 ? 5432 : 8069;
      return `apiVersion: v1\nkind: Service\n${meta}\nspec:\n${exposed}  selector:\n    app.kubernetes.io/name: ${name}\n  ports:\n    - name: p\n      port: ${bad ? 5432 : port}\n      targetPort: ${bad ? 5432 : port}`;
    }
    case 'ConfigMap':
      return `apiVersion: v1\nkind: ConfigMap\n${meta}\ndata:\n  odoo.conf: |\n    [options]\n    workers = 4\n    db_host = postgres-rw\n  LOG_LEVEL: info`;
    case 'Ingress':
      return `apiVersion: networking.k8s.io/v1\nkind: Ingress\n${meta}\nspec:\n  rules:\n    - host: ${name}.erp.example\n      http:\n        paths:\n          - path: /\n            pathType: Prefix\n            backend:\n              service:\n                name: odoo\n                port:\n                  number: 8069`;
    default:
      return `apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\n${meta}\nspec:\n  podSelector: {}\n  policyTypes: [Ingress]\n  ingress:\n    - from:\n        - podSelector: {}`;
  }
}

const kindsByWeight: Array<[string, number]> = [
  ['Deployment', 30],
  ['Service', 20],
  ['ConfigMap', 15],
  ['StatefulSet', 8],
  ['CronJob', 8],
  ['Pod', 7],
  ['Ingress', 7],
  ['NetworkPolicy', 5],
];

/** Writes `count` resources into `dir` (created if needed); deterministic for a count. */
export async function generateCorpus(dir: string, count: number): Promise<Corpus> {
  const rand = random(count * 7919 + 17);
  const total = kindsByWeight.reduce((sum, [, w]) => sum + w, 0);
  const pickKind = (): string => {
    let r = rand() * total;
    for (const [kind, weight] of kindsByWeight) {
      r -= weight;
      if (r < 0) return kind;
    }
    return 'Deployment';
  };
  const corpus: Corpus = { dir, files: 0, resources: 0, kinds: {}, violating: 0 };
  let written = 0;
  let fileIndex = 0;
  while (written < count) {
    const docs = Math.min(count - written, 1 + Math.floor(rand() * 20));
    const texts: string[] = [];
    for (let i = 0; i < docs; i++) {
      const kind = pickKind();
      const bad = kind !== 'ConfigMap' && kind !== 'Ingress' && kind !== 'NetworkPolicy' && rand() < 0.125;
      texts.push(resource(kind, written + i, rand, bad));
      corpus.kinds[kind] = (corpus.kinds[kind] ?? 0) + 1;
      if (bad) corpus.violating++;
    }
    const sub = join(dir, `team-${fileIndex % 20}`);
    await mkdir(sub, { recursive: true });
    await writeFile(
      join(sub, `app-${fileIndex}.yaml`),
      `# generated by bench/corpus.ts\n${texts.join('\n---\n')}\n`,
    );
    written += docs;
    fileIndex++;
  }
  corpus.files = fileIndex;
  corpus.resources = written;
  return corpus;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const dir = process.argv[2];
  if (!dir) {
    process.stderr.write('usage: node bench/corpus.ts DIR [COUNT]\n');
    process.exit(2);
  }
  const corpus = await generateCorpus(dir, Number(process.argv[3] ?? 10_000));
  process.stdout.write(`${JSON.stringify(corpus)}\n`);
}
