import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadBundle } from '../engine/bundle.ts';
import { evaluate } from '../engine/evaluate.ts';
import { deployment, pod, runPolicy } from '../../test/support/policy.ts';
import type { EngineContext, KubeObject, Policy } from '../engine/types.ts';
import { parseSource } from '../engine/yaml-source.ts';
import { noPublicDatabasesPolicy } from './index.ts';

const policy = noPublicDatabasesPolicy as Policy<unknown>;

function service(
  spec: Record<string, unknown>,
  annotations: Record<string, string> = {},
  labels: Record<string, string> = {},
): KubeObject {
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name: 'db', namespace: 'tenant-a', annotations, labels },
    spec,
  };
}

const pg = [{ name: 'postgres', port: 5432 }];
/** A LoadBalancer without node ports (so an internal one reaches the database only through the load balancer). */
const lb = (annotations: Record<string, string>, extra: Record<string, unknown> = {}) =>
  service({ type: 'LoadBalancer', allocateLoadBalancerNodePorts: false, ports: pg, ...extra }, annotations);

async function check(
  object: KubeObject,
  options: { params?: Record<string, unknown>; related?: KubeObject[] } = {},
) {
  return runPolicy(policy, options.params ?? {}, object, {
    context: options.related ? { relatedObjects: options.related, point: 'ci' } : {},
  });
}

async function paths(object: KubeObject, options: Parameters<typeof check>[1] = {}) {
  const result = await check(object, options);
  expect(result.status).not.toBe('error');
  return result.findings.map((f) => f.path);
}

const postgresDeployment = (ports: Record<string, unknown>[] = [], labels = { app: 'pg' }) => ({
  apiVersion: 'apps/v1',
  kind: 'StatefulSet',
  metadata: { name: 'pg', namespace: 'tenant-a' },
  spec: {
    template: {
      metadata: { labels },
      spec: { containers: [{ name: 'pg', image: 'postgres:16', ports }] },
    },
  },
});

describe('no-public-databases: Services', () => {
  it.each([
    ['NodePort on 5432', service({ type: 'NodePort', ports: pg }), ['spec.type'], 'type NodePort'],
    [
      'NodePort with explicit nodePort',
      service({ type: 'NodePort', ports: [{ port: 6379, nodePort: 30379 }] }),
      ['spec.type'],
      '6379 (Redis)',
    ],
    ['public LoadBalancer', lb({}), ['spec.type'], 'no internal-load-balancer annotation'],
    [
      'database only through targetPort',
      service({ type: 'NodePort', ports: [{ port: 80, targetPort: 3306 }] }),
      ['spec.type'],
      'targetPort 3306 (MySQL/MariaDB)',
    ],
    [
      'Bitnami port name tcp-postgresql',
      service({
        type: 'NodePort',
        ports: [{ name: 'tcp-postgresql', port: 80, targetPort: 'tcp-postgresql' }],
      }),
      ['spec.type'],
      'port name "tcp-postgresql"',
    ],
    [
      'named targetPort redis',
      service({ type: 'NodePort', ports: [{ port: 80, targetPort: 'redis' }] }),
      ['spec.type'],
      'targetPort "redis"',
    ],
    [
      'selector app.kubernetes.io/name',
      service({
        type: 'NodePort',
        ports: [{ port: 80 }],
        selector: { 'app.kubernetes.io/name': 'postgresql' },
      }),
      ['spec.type'],
      'selector app.kubernetes.io/name=postgresql',
    ],
    [
      'Service label app.kubernetes.io/name',
      service({ type: 'NodePort', ports: [{ port: 80 }] }, {}, { 'app.kubernetes.io/name': 'Redis' }),
      ['spec.type'],
      'app.kubernetes.io/name=Redis',
    ],
    [
      'externalIPs on a ClusterIP Service',
      service({ ports: pg, externalIPs: ['203.0.113.10', '203.0.113.11'] }),
      ['spec.externalIPs[0]', 'spec.externalIPs[1]'],
      'externalIPs entry 203.0.113.10',
    ],
    [
      'appProtocol mysql (Istio protocol selection)',
      service({ type: 'NodePort', ports: [{ name: 'sql', port: 80, appProtocol: 'mysql' }] }),
      ['spec.type'],
      'appProtocol "mysql"',
    ],
    [
      'MongoDB range member 27018',
      service({ type: 'NodePort', ports: [{ port: 27018 }] }),
      ['spec.type'],
      '27018 (MongoDB)',
    ],
  ])('denies %s', async (_name, object, expected, message) => {
    const result = await check(object);
    expect(result.status).toBe('fail');
    expect(result.findings.map((f) => f.path)).toEqual(expected);
    expect(result.findings[0]?.message).toContain(message);
    expect(result.findings[0]?.policy).toBe('no-public-databases');
    expect(result.findings[0]?.fix).toMatch(/ClusterIP|externalIPs/);
  });

  it.each([
    ['ClusterIP database', service({ ports: pg })],
    ['headless database', service({ clusterIP: 'None', ports: pg })],
    ['NodePort to Odoo', service({ type: 'NodePort', ports: [{ port: 8069 }] })],
    ['public LoadBalancer to Traefik', service({ type: 'LoadBalancer', ports: [{ port: 443 }] })],
    [
      'port name that merely contains a database name',
      service({ type: 'NodePort', ports: [{ name: 'redis-exporter', port: 9121 }] }),
    ],
  ])('allows %s', async (_name, object) => {
    expect(await paths(object)).toEqual([]);
  });
});

describe('no-public-databases: the POLICIES.md catalogue', () => {
  // Written out here, not imported from catalog.ts, so a dropped default fails the test.
  it.each([
    5432, 6432, 6379, 26379, 16379, 3306, 33060, 27017, 27018, 27019, 1433, 1521, 9042, 9200, 9300, 5984,
    2379, 11211, 8123, 9000, 7687, 8086,
  ])('treats port %i as a database port', async (port) => {
    expect(await paths(service({ type: 'NodePort', ports: [{ port }] }))).toEqual(['spec.type']);
  });

  it.each([
    'postgres',
    'docker.io/library/postgres:16',
    'index.docker.io/library/redis:7',
    'mysql:8.4',
    'mariadb:11',
    'mongo:7',
    'memcached:1.6',
    'bitnami/postgresql:16',
    'docker.io/bitnami/redis:7.4',
    'bitnami/mysql:8.4',
    'bitnami/mongodb:7.0',
    'ghcr.io/cloudnative-pg/postgresql:16.4',
    'GHCR.IO/cloudnative-pg/postgresql:16.4',
    'valkey/valkey:8',
    'mcr.microsoft.com/mssql/server:2022-latest',
    'container-registry.oracle.com/database/free:latest',
    'docker.elastic.co/elasticsearch/elasticsearch:8.15.0',
    `postgres@sha256:${'a'.repeat(64)}`,
  ])('treats image %s as a database', async (image) => {
    expect(await paths(deployment([{ name: 'db', image }], { hostNetwork: true }))).toEqual([
      'spec.template.spec.hostNetwork',
    ]);
  });

  it.each(['postgresql', 'redis', 'mysql', 'mariadb', 'mongodb', 'valkey', 'elasticsearch', 'memcached'])(
    'treats app.kubernetes.io/name=%s as a database',
    async (name) => {
      const object = service({
        type: 'NodePort',
        ports: [{ port: 80 }],
        selector: { 'app.kubernetes.io/name': name },
      });
      expect(await paths(object)).toEqual(['spec.type']);
    },
  );

  it.each([
    'odoo',
    'nginx',
    'docker.io/library/traefik:3.1',
    'bitnami/postgresql-exporter:0.15',
    'registry.corp.example/erp/redisinsight:2',
  ])('does not treat image %s as a database', async (image) => {
    expect(await paths(deployment([{ name: 'x', image }], { hostNetwork: true }))).toEqual([]);
  });
});

describe('no-public-databases: node ports of internal load balancers', () => {
  const internal = { 'service.beta.kubernetes.io/azure-load-balancer-internal': 'true' };
  const withDefaultNodePorts = (): KubeObject => service({ type: 'LoadBalancer', ports: pg }, internal);
  it.each([
    ['node ports left to their default (allocated)', withDefaultNodePorts(), 'spec.type'],
    [
      'allocateLoadBalancerNodePorts: true',
      lb(internal, { allocateLoadBalancerNodePorts: true }),
      'spec.allocateLoadBalancerNodePorts',
    ],
    [
      'an explicit nodePort with allocation off',
      lb(internal, { ports: [{ ...pg[0], nodePort: 30432 }] }),
      'spec.ports[0].nodePort',
    ],
  ])('denies an internal LoadBalancer with %s', async (_name, object, path) => {
    expect(await paths(object)).toEqual([path]);
  });

  it('allows an internal LoadBalancer without node ports, and reports a public one once', async () => {
    expect(await paths(lb(internal, { ports: [{ ...pg[0], nodePort: 0 }] }))).toEqual([]);
    expect(await paths(lb({}, { allocateLoadBalancerNodePorts: true }))).toEqual(['spec.type']);
  });
});

describe('no-public-databases: internal load-balancer markers, read as each provider reads them', () => {
  it.each([
    ['Azure "true"', { 'service.beta.kubernetes.io/azure-load-balancer-internal': 'true' }],
    ['GKE networking.gke.io Internal', { 'networking.gke.io/load-balancer-type': 'Internal' }],
    ['GKE deprecated lower-case internal', { 'networking.gke.io/load-balancer-type': 'internal' }],
    ['GKE legacy cloud.google.com', { 'cloud.google.com/load-balancer-type': 'Internal' }],
    ['AWS internal "true"', { 'service.beta.kubernetes.io/aws-load-balancer-internal': 'true' }],
    ['AWS internal "1" (ParseBool)', { 'service.beta.kubernetes.io/aws-load-balancer-internal': '1' }],
    ['AWS scheme internal', { 'service.beta.kubernetes.io/aws-load-balancer-scheme': 'internal' }],
  ])('allows an internal LoadBalancer: %s', async (_name, annotations) => {
    expect(await paths(lb(annotations))).toEqual([]);
  });

  it.each([
    [
      'Azure "True" (the provider compares exactly)',
      { 'service.beta.kubernetes.io/azure-load-balancer-internal': 'True' },
      'does not make the load balancer internal',
    ],
    [
      'Azure "false"',
      { 'service.beta.kubernetes.io/azure-load-balancer-internal': 'false' },
      'azure-load-balancer-internal: "false"',
    ],
    ['GKE "INTERNAL"', { 'networking.gke.io/load-balancer-type': 'INTERNAL' }, 'INTERNAL'],
    [
      'GKE: the current annotation wins over the legacy one',
      {
        'networking.gke.io/load-balancer-type': 'External',
        'cloud.google.com/load-balancer-type': 'Internal',
      },
      'networking.gke.io/load-balancer-type: "External"',
    ],
    [
      'AWS internal "yes" (not a boolean)',
      { 'service.beta.kubernetes.io/aws-load-balancer-internal': 'yes' },
      'no internal-load-balancer annotation',
    ],
    [
      'AWS scheme "Internal" (exact value required)',
      { 'service.beta.kubernetes.io/aws-load-balancer-scheme': 'Internal' },
      'aws-load-balancer-scheme: "Internal"',
    ],
    [
      'AWS markers that contradict each other',
      {
        'service.beta.kubernetes.io/aws-load-balancer-internal': 'true',
        'service.beta.kubernetes.io/aws-load-balancer-scheme': 'internet-facing',
      },
      'internet-facing',
    ],
    [
      'an annotation on the wrong key',
      { 'service.beta.kubernetes.io/load-balancer-internal': 'true' },
      'no internal-load-balancer annotation',
    ],
  ])('denies %s', async (_name, annotations, message) => {
    const result = await check(lb(annotations));
    expect(result.findings.map((f) => f.path)).toEqual(['spec.type']);
    expect(result.findings[0]?.message).toContain(message);
  });

  it('honours only the configured providers (another cloud ignores the Azure annotation)', async () => {
    const azureMarked = lb({ 'service.beta.kubernetes.io/azure-load-balancer-internal': 'true' });
    expect(await paths(azureMarked, { params: { loadBalancerProviders: ['gke'] } })).toEqual(['spec.type']);
    expect(await paths(azureMarked, { params: { loadBalancerProviders: ['azure'] } })).toEqual([]);
    const result = await check(lb({}), { params: { loadBalancerProviders: ['gke'] } });
    expect(result.findings[0]?.fix).toContain('networking.gke.io/load-balancer-type: "Internal"');
    expect(result.findings[0]?.fix).not.toContain('azure');
  });

  it.each([
    ['0.0.0.0/0', ['10.0.0.0/8', '0.0.0.0/0'], ['spec.loadBalancerSourceRanges[1]']],
    // An IPv6-only list also leaves the IPv4 family unfiltered (a Service without ipFamilies is IPv4).
    ['::/0', ['::/0'], ['spec.loadBalancerSourceRanges[0]', 'spec.loadBalancerSourceRanges']],
    [
      'a split 0.0.0.0/1 + 128.0.0.0/1',
      ['0.0.0.0/1', '128.0.0.0/1'],
      ['spec.loadBalancerSourceRanges[0]', 'spec.loadBalancerSourceRanges[1]'],
    ],
    ['with whitespace', [' 0.0.0.0/0 '], ['spec.loadBalancerSourceRanges[0]']],
    [
      '2000::/3 (all global unicast)',
      ['2000::/3'],
      ['spec.loadBalancerSourceRanges[0]', 'spec.loadBalancerSourceRanges'],
    ],
  ])('denies open source range %s even on an internal load balancer', async (_name, ranges, expected) => {
    const object = lb(
      { 'service.beta.kubernetes.io/azure-load-balancer-internal': 'true' },
      { loadBalancerSourceRanges: ranges },
    );
    const result = await check(object);
    expect(result.findings.map((f) => f.path)).toEqual(expected);
    expect(result.findings[0]?.message).toContain('admits the whole internet');
  });

  it('reads source ranges from the legacy annotation when the field is empty', async () => {
    const object = lb({
      'service.beta.kubernetes.io/azure-load-balancer-internal': 'true',
      'service.beta.kubernetes.io/load-balancer-source-ranges': '10.0.0.0/8, 0.0.0.0/0',
    });
    expect(await paths(object)).toEqual([
      'metadata.annotations["service.beta.kubernetes.io/load-balancer-source-ranges"]',
    ]);
  });

  it('allows narrow source ranges on an internal load balancer', async () => {
    const object = lb(
      { 'networking.gke.io/load-balancer-type': 'Internal' },
      { loadBalancerSourceRanges: ['10.0.0.0/8', '192.168.10.0/24', 'fd00::/8'] },
    );
    expect(await paths(object)).toEqual([]);
  });

  it('reports both the public type and the open range on a public load balancer', async () => {
    expect(await paths(lb({}, { loadBalancerSourceRanges: ['0.0.0.0/0'] }))).toEqual([
      'spec.type',
      'spec.loadBalancerSourceRanges[0]',
    ]);
  });
});

describe('no-public-databases: selectors and named ports resolved against related objects', () => {
  const selectorService = (targetPort: unknown, selector: Record<string, string> = { app: 'pg' }) =>
    service({ type: 'NodePort', selector, ports: [{ name: 'sql', port: 80, targetPort }] });

  it('resolves a named targetPort to a database containerPort (CI); admission has no related objects', async () => {
    const related = [postgresDeployment([{ name: 'db', containerPort: 5432 }])];
    const object = selectorService('db');
    const result = await check(object, { related: [object, ...related] });
    expect(result.findings.map((f) => f.path)).toEqual(['spec.type']);
    expect(result.findings[0]?.message).toContain(
      'targetPort "db" is containerPort 5432 (PostgreSQL) of StatefulSet "pg"',
    );
    expect(result.findings[0]?.details).toMatchObject({ fromRelatedObjects: true });
    expect(await paths(object)).toEqual([]);
  });

  it('finds a database image behind a selector even on an unremarkable port', async () => {
    const related = [postgresDeployment([{ containerPort: 8080 }])];
    const result = await check(selectorService(8080), { related });
    expect(result.findings[0]?.message).toContain('served by docker.io/library/postgres in StatefulSet "pg"');
  });

  it('finds a database by the pod template label behind a selector', async () => {
    const related = [
      {
        ...deployment([{ name: 'c', image: 'registry.corp.example/platform/kv:1' }]),
        spec: {
          template: {
            metadata: { labels: { app: 'kv', 'app.kubernetes.io/name': 'valkey' } },
            spec: { containers: [{ name: 'c', image: 'registry.corp.example/platform/kv:1' }] },
          },
        },
      },
    ];
    const result = await check(selectorService(80, { app: 'kv' }), { related });
    expect(result.findings[0]?.message).toContain('app.kubernetes.io/name=valkey');
  });

  it('reports a Service whose own port is a database port identically with and without related objects', async () => {
    const object = service({
      type: 'NodePort',
      selector: { app: 'pg' },
      ports: [{ port: 5432, targetPort: 'db' }],
    });
    const related = [postgresDeployment([{ name: 'db', containerPort: 5432 }])];
    const ci = await check(object, { related });
    const admission = await check(object);
    expect(ci.findings).toHaveLength(1);
    expect(ci.findings).toEqual(admission.findings);
  });

  it.each([
    ['another namespace', { ...postgresDeployment(), metadata: { name: 'pg', namespace: 'tenant-b' } }],
    ['labels that do not match the selector', postgresDeployment([], { app: 'other' })],
  ])('does not resolve a selector against pods in %s', async (_name, other) => {
    expect(await paths(selectorService(8080), { related: [other] })).toEqual([]);
  });

  it('does not treat an exporter sidecar port of a database pod as the database when the pod is only known by image', async () => {
    const related = [
      {
        ...postgresDeployment(),
        spec: {
          template: {
            metadata: { labels: { app: 'pg' } },
            spec: {
              containers: [
                { name: 'pg', image: 'postgres:16', ports: [{ containerPort: 5432 }] },
                {
                  name: 'exporter',
                  image: 'quay.io/prometheuscommunity/postgres-exporter:v0.15.0',
                  ports: [{ name: 'metrics', containerPort: 9187 }],
                },
              ],
            },
          },
        },
      },
    ];
    expect(await paths(selectorService('metrics'), { related })).toEqual([]);
  });

  it('resolves related objects inside a List', async () => {
    const related = [
      { apiVersion: 'v1', kind: 'List', items: [postgresDeployment([{ name: 'db', containerPort: 5432 }])] },
    ];
    expect(await paths(selectorService('db'), { related })).toEqual(['spec.type']);
  });
});

describe('no-public-databases: selector-less Services backed by hand-written endpoints (CI)', () => {
  const bare = service({ type: 'NodePort', ports: [{ name: 'sql', port: 80 }] });
  it.each([
    [
      'Endpoints',
      {
        apiVersion: 'v1',
        kind: 'Endpoints',
        metadata: { name: 'db', namespace: 'tenant-a' },
        subsets: [{ addresses: [{ ip: '10.1.2.3' }], ports: [{ name: 'sql', port: 5432 }] }],
      },
    ],
    [
      'EndpointSlice',
      {
        apiVersion: 'discovery.k8s.io/v1',
        kind: 'EndpointSlice',
        metadata: { name: 'db-abc', namespace: 'tenant-a', labels: { 'kubernetes.io/service-name': 'db' } },
        addressType: 'IPv4',
        endpoints: [{ addresses: ['10.1.2.3'] }],
        ports: [{ name: 'sql', port: 3306 }],
      },
    ],
  ])('resolves the port of hand-written %s', async (_kind, endpoints) => {
    const result = await check(bare, { related: [bare, endpoints] });
    expect(result.findings.map((f) => f.path)).toEqual(['spec.type']);
    expect(result.findings[0]?.message).toContain('sends it to port');
    expect(await paths(bare)).toEqual([]);
  });
});

describe('no-public-databases: ingress-nginx TCP/UDP services ConfigMap', () => {
  const map = (
    data: Record<string, string>,
    name = 'tcp-services',
    labels: Record<string, string> = {},
  ): KubeObject => ({
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: { name, namespace: 'ingress-nginx', labels },
    data,
  });
  it.each([
    [
      'a database target port',
      map({ '15432': 'tenant-a/odoo-db:5432' }),
      'data["15432"]',
      '5432 (PostgreSQL)',
    ],
    [
      'a database public port',
      map({ '6379': 'tenant-a/cache:7000' }),
      'data["6379"]',
      'publishes database port 6379 (Redis)',
    ],
    [
      'a PROXY-protocol entry',
      map({ '3306': 'tenant-a/ledger:3306:PROXY' }),
      'data["3306"]',
      '3306 (MySQL/MariaDB)',
    ],
    [
      'the Helm chart map',
      map({ '9000': 'tenant-a/ch:9000' }, 'ingress-nginx-tcp', { 'app.kubernetes.io/name': 'ingress-nginx' }),
      'data["9000"]',
      'ClickHouse',
    ],
  ])('denies %s', async (_name, object, path, message) => {
    const result = await check(object);
    expect(result.findings.map((f) => f.path)).toEqual([path]);
    expect(result.findings[0]?.message).toContain(message);
  });

  it('resolves the target Service among related objects, and ignores other ConfigMaps', async () => {
    const target = {
      ...service({ ports: [{ port: 7000, targetPort: 6379 }] }),
      metadata: { name: 'cache', namespace: 'tenant-a' },
    };
    expect(await paths(map({ '17000': 'tenant-a/cache:7000' }), { related: [target] })).toEqual([
      'data["17000"]',
    ]);
    expect(await paths(map({ '17000': 'tenant-a/cache:7000' }))).toEqual([]);
    expect((await check(map({ '5432': 'x' }, 'odoo-config'))).status).toBe('skip');
  });
});

describe('no-public-databases: hostNetwork and hostPort', () => {
  it.each([
    [
      'hostNetwork with a postgres image',
      deployment([{ name: 'pg', image: 'postgres:16' }], { hostNetwork: true }),
      ['spec.template.spec.hostNetwork'],
    ],
    [
      'hostNetwork with a mirrored image (base name)',
      deployment([{ name: 'pg', image: 'registry.corp.example/erp/postgres:16' }], { hostNetwork: true }),
      ['spec.template.spec.hostNetwork'],
    ],
    [
      'hostNetwork with a database containerPort',
      deployment(
        [{ name: 'kv', image: 'registry.corp.example/erp/kv:1', ports: [{ containerPort: 6379 }] }],
        {
          hostNetwork: true,
        },
      ),
      ['spec.template.spec.hostNetwork'],
    ],
    [
      'hostPort on a database containerPort',
      pod({
        containers: [
          {
            name: 'r',
            image: 'registry.corp.example/erp/kv:1',
            ports: [{ containerPort: 6379, hostPort: 16000 }],
          },
        ],
      }),
      ['spec.containers[0].ports[0].hostPort'],
    ],
    [
      'hostPort 5432 in front of any port',
      pod({
        containers: [
          {
            name: 'x',
            image: 'registry.corp.example/erp/x:1',
            ports: [{ containerPort: 8080, hostPort: 5432 }],
          },
        ],
      }),
      ['spec.containers[0].ports[0].hostPort'],
    ],
    [
      'any hostPort on a Bitnami MySQL container',
      pod({
        containers: [
          { name: 'm', image: 'bitnami/mysql:8.4', ports: [{ containerPort: 13306, hostPort: 13306 }] },
        ],
      }),
      ['spec.containers[0].ports[0].hostPort'],
    ],
    [
      'hostPort in a CronJob init container',
      {
        apiVersion: 'batch/v1',
        kind: 'CronJob',
        metadata: { name: 'c' },
        spec: {
          jobTemplate: {
            spec: {
              template: {
                spec: {
                  initContainers: [
                    {
                      name: 'r',
                      image: 'redis:7',
                      restartPolicy: 'Always',
                      ports: [{ containerPort: 6379, hostPort: 6379 }],
                    },
                  ],
                  containers: [{ name: 'job', image: 'registry.corp.example/erp/job:1' }],
                },
              },
            },
          },
        },
      },
      ['spec.jobTemplate.spec.template.spec.initContainers[0].ports[0].hostPort'],
    ],
  ])('denies %s', async (_name, object, expected) => {
    expect(await paths(object)).toEqual(expected);
  });

  it.each([
    [
      'hostNetwork for a non-database',
      deployment(
        [
          {
            name: 'agent',
            image: 'registry.corp.example/platform/agent:1',
            ports: [{ containerPort: 9100 }],
          },
        ],
        { hostNetwork: true },
      ),
    ],
    [
      'a database without host access',
      deployment([{ name: 'pg', image: 'postgres:16', ports: [{ containerPort: 5432 }] }]),
    ],
    [
      'a hostPort of Odoo',
      pod({
        containers: [
          {
            name: 'o',
            image: 'registry.corp.example/erp/odoo:17',
            ports: [{ containerPort: 8069, hostPort: 8069 }],
          },
        ],
      }),
    ],
  ])('allows %s', async (_name, object) => {
    expect(await paths(object)).toEqual([]);
  });
});

const ingress = (backend: Record<string, unknown>, extra: Record<string, unknown> = {}): KubeObject => ({
  apiVersion: 'networking.k8s.io/v1',
  kind: 'Ingress',
  metadata: { name: 'ing', namespace: 'tenant-a' },
  spec: {
    rules: [{ host: 'erp.example.com', http: { paths: [{ path: '/', pathType: 'Prefix', backend }] } }],
    ...extra,
  },
});

describe('no-public-databases: Ingress', () => {
  it.each([
    [
      'a database port number',
      ingress({ service: { name: 'search', port: { number: 9200 } } }),
      'spec.rules[0].http.paths[0].backend.service.port.number',
      'database port 9200 (Elasticsearch)',
    ],
    [
      'a database port name',
      ingress({ service: { name: 'db', port: { name: 'postgresql' } } }),
      'spec.rules[0].http.paths[0].backend.service.port.name',
      'database port "postgresql"',
    ],
    [
      'the default backend',
      {
        ...ingress({ service: { name: 'web', port: { number: 80 } } }),
        spec: { defaultBackend: { service: { name: 'couch', port: { number: 5984 } } } },
      },
      'spec.defaultBackend.service.port.number',
      '5984 (CouchDB)',
    ],
    [
      'a legacy extensions/v1beta1 backend',
      {
        apiVersion: 'extensions/v1beta1',
        kind: 'Ingress',
        metadata: { name: 'old' },
        spec: { rules: [{ http: { paths: [{ backend: { serviceName: 'influx', servicePort: 8086 } }] } }] },
      },
      'spec.rules[0].http.paths[0].backend.servicePort',
      '8086 (InfluxDB)',
    ],
  ])('denies a backend on %s', async (_name, object, path, message) => {
    const result = await check(object as KubeObject);
    expect(result.findings.map((f) => f.path)).toEqual([path]);
    expect(result.findings[0]?.message).toContain(message);
  });

  it('denies a backend Service that the related objects show to be a database', async () => {
    const target = service({ ports: [{ name: 'http', port: 80, targetPort: 9200 }] });
    const object = ingress({ service: { name: 'db', port: { number: 80 } } });
    const result = await check(object, { related: [object, target] });
    expect(result.findings.map((f) => f.path)).toEqual(['spec.rules[0].http.paths[0].backend.service.name']);
    expect(result.findings[0]?.message).toContain('fronts a database (targetPort 9200 (Elasticsearch))');
    expect(await paths(object)).toEqual([]);
  });

  it('does not resolve a backend to a Service in another namespace', async () => {
    const target = {
      ...service({ ports: [{ port: 80, targetPort: 9200 }] }),
      metadata: { name: 'db', namespace: 'tenant-b' },
    };
    expect(
      await paths(ingress({ service: { name: 'db', port: { number: 80 } } }), { related: [target] }),
    ).toEqual([]);
  });

  it('allows internal ingress classes only when configured, and every named class must be internal', async () => {
    const params = { internalIngressClasses: ['nginx-internal'] };
    const backend = { service: { name: 'search', port: { number: 9200 } } };
    const internal = await check(ingress(backend, { ingressClassName: 'nginx-internal' }), { params });
    expect(internal.status).toBe('skip');
    expect(internal.reason).toContain('internal');
    expect(await paths(ingress(backend, { ingressClassName: 'nginx-internal' }))).toHaveLength(1);
    expect(await paths(ingress(backend), { params })).toHaveLength(1);
    const mixed = {
      ...ingress(backend, { ingressClassName: 'nginx-internal' }),
      metadata: { name: 'ing', annotations: { 'kubernetes.io/ingress.class': 'public' } },
    };
    expect(await paths(mixed, { params })).toHaveLength(1);
  });

  it('allows an Ingress to a web application', async () => {
    expect(await paths(ingress({ service: { name: 'odoo', port: { number: 8069 } } }))).toEqual([]);
  });
});

const ingressRouteTcp = (
  services: Record<string, unknown>[],
  extra: Record<string, unknown> = {},
  group = 'traefik.io',
): KubeObject => ({
  apiVersion: `${group}/v1alpha1`,
  kind: 'IngressRouteTCP',
  metadata: { name: 'redis', namespace: 'tenant-a' },
  spec: { entryPoints: ['redis'], routes: [{ match: 'HostSNI(`*`)', services }], ...extra },
});

describe('no-public-databases: Traefik', () => {
  it.each([
    ['traefik.io', 'traefik.io'],
    ['the legacy traefik.containo.us group', 'traefik.containo.us'],
  ])('denies an IngressRouteTCP HostSNI(`*`) to Redis (%s)', async (_name, group) => {
    const result = await check(ingressRouteTcp([{ name: 'redis', port: 6379 }], {}, group));
    expect(result.findings.map((f) => f.path)).toEqual(['spec.routes[0].services[0].port']);
    expect(result.findings[0]?.message).toContain('for any client (HostSNI(`*`))');
    expect(result.findings[0]?.message).toContain('6379 (Redis)');
    expect(result.findings[0]?.fix).toContain('internalEntryPoints');
  });

  it('denies a quoted port number (IntOrString) the same as a number', async () => {
    expect(await paths(ingressRouteTcp([{ name: 'redis', port: '6379' }]))).toEqual([
      'spec.routes[0].services[0].port',
    ]);
  });

  it('denies an IngressRoute (HTTP) to a named database port, and an IngressRouteUDP', async () => {
    const route: KubeObject = {
      apiVersion: 'traefik.io/v1alpha1',
      kind: 'IngressRoute',
      metadata: { name: 'r' },
      spec: {
        routes: [
          {
            match: 'Host(`db.example.com`)',
            services: [
              { name: 'web', port: 80 },
              { name: 'pg', port: 'tcp-postgresql' },
            ],
          },
        ],
      },
    };
    expect(await paths(route)).toEqual(['spec.routes[0].services[1].port']);
    const udp = {
      ...route,
      kind: 'IngressRouteUDP',
      spec: { routes: [{ services: [{ name: 'm', port: 11211 }] }] },
    };
    expect(await paths(udp)).toEqual(['spec.routes[0].services[0].port']);
  });

  it('resolves a Traefik service in another namespace through the related Service', async () => {
    const target = {
      ...service({ ports: [{ name: 'main', port: 7000, targetPort: 6379 }] }),
      metadata: { name: 'cache', namespace: 'shared' },
    };
    const route = ingressRouteTcp([{ name: 'cache', namespace: 'shared', port: 7000 }]);
    expect(await paths(route, { related: [target] })).toEqual(['spec.routes[0].services[0].name']);
    expect(await paths(ingressRouteTcp([{ name: 'cache', port: 7000 }]), { related: [target] })).toEqual([]);
  });

  it('allows routes only on internal entry points, and only when all of them are internal', async () => {
    const params = { internalEntryPoints: ['redis'] };
    expect((await check(ingressRouteTcp([{ name: 'redis', port: 6379 }]), { params })).status).toBe('skip');
    expect(
      await paths(ingressRouteTcp([{ name: 'redis', port: 6379 }], { entryPoints: ['redis', 'websecure'] }), {
        params,
      }),
    ).toHaveLength(1);
    // no entryPoints: Traefik attaches the route to every default entry point
    expect(
      await paths(ingressRouteTcp([{ name: 'redis', port: 6379 }], { entryPoints: undefined }), { params }),
    ).toHaveLength(1);
  });

  it('allows routes to web services and ignores TraefikService references it cannot resolve', async () => {
    expect(
      await paths(
        ingressRouteTcp([
          { name: 'odoo', port: 8069 },
          { name: 'w', kind: 'TraefikService' },
        ]),
      ),
    ).toEqual([]);
  });
});

const gatewayRoute = (
  kind: string,
  backendRefs: Record<string, unknown>[],
  parentRefs = [{ name: 'public' }],
): KubeObject => ({
  apiVersion: kind === 'HTTPRoute' ? 'gateway.networking.k8s.io/v1' : 'gateway.networking.k8s.io/v1alpha2',
  kind,
  metadata: { name: 'route', namespace: 'tenant-a' },
  spec: { parentRefs, rules: [{ backendRefs }] },
});

describe('no-public-databases: Gateway API routes', () => {
  it.each([
    ['TCPRoute', 5432, '5432 (PostgreSQL)'],
    ['TLSRoute', 27017, '27017 (MongoDB)'],
    ['HTTPRoute', 8123, '8123 (ClickHouse)'],
    ['GRPCRoute', 2379, '2379 (etcd)'],
  ])('denies a %s backendRef to a database port', async (kind, port, message) => {
    const result = await check(gatewayRoute(kind, [{ name: 'db', port }]));
    expect(result.findings.map((f) => f.path)).toEqual(['spec.rules[0].backendRefs[0].port']);
    expect(result.findings[0]?.message).toContain(message);
  });

  it('denies a backendRef to a related database Service', async () => {
    const target = service({ selector: { 'app.kubernetes.io/name': 'mariadb' }, ports: [{ port: 80 }] });
    expect(await paths(gatewayRoute('TCPRoute', [{ name: 'db', port: 80 }]), { related: [target] })).toEqual([
      'spec.rules[0].backendRefs[0].name',
    ]);
  });

  it('ignores backendRefs of other kinds and allows internal gateways when configured', async () => {
    expect(
      await paths(gatewayRoute('TCPRoute', [{ group: 'example.io', kind: 'Bucket', name: 'x', port: 5432 }])),
    ).toEqual([]);
    const params = { internalGateways: ['infra/internal'] };
    const internal = gatewayRoute(
      'TCPRoute',
      [{ name: 'db', port: 5432 }],
      [{ name: 'internal', namespace: 'infra' } as never],
    );
    expect((await check(internal, { params })).status).toBe('skip');
    const both = gatewayRoute('TCPRoute', [{ name: 'db', port: 5432 }], [
      { name: 'internal', namespace: 'infra' },
      { name: 'public' },
    ] as never);
    expect(await paths(both, { params })).toHaveLength(1);
  });

  it('allows a mesh (GAMMA) route whose parent is a Service, but not a Gateway parent named like one', async () => {
    const mesh = gatewayRoute('TCPRoute', [{ name: 'db', port: 5432 }], [
      { group: '', kind: 'Service', name: 'db' },
    ] as never);
    expect((await check(mesh)).status).toBe('skip');
    const gateway = gatewayRoute('TCPRoute', [{ name: 'db', port: 5432 }], [
      { kind: 'Gateway', name: 'Service' },
    ] as never);
    expect(await paths(gateway)).toHaveLength(1);
  });
});

describe('no-public-databases: operators', () => {
  const cnpg = (serviceTemplate: Record<string, unknown>): KubeObject => ({
    apiVersion: 'postgresql.cnpg.io/v1',
    kind: 'Cluster',
    metadata: { name: 'odoo-db', namespace: 'tenant-a' },
    spec: {
      instances: 3,
      managed: { services: { additional: [{ selectorType: 'rw', serviceTemplate }] } },
    },
  });

  it.each([
    [
      'LoadBalancer',
      { metadata: { name: 'odoo-db-lb' }, spec: { type: 'LoadBalancer' } },
      'spec.managed.services.additional[0].serviceTemplate.spec.type',
    ],
    [
      'NodePort',
      { metadata: { name: 'odoo-db-np' }, spec: { type: 'NodePort' } },
      'spec.managed.services.additional[0].serviceTemplate.spec.type',
    ],
  ])('denies a CloudNativePG additional service of type %s', async (_name, template, path) => {
    const result = await check(cnpg(template));
    expect(result.findings.map((f) => f.path)).toEqual([path]);
    expect(result.findings[0]?.message).toContain('CloudNativePG Cluster "odoo-db"');
  });

  it('allows a CloudNativePG internal load balancer and a ClusterIP additional service', async () => {
    expect(
      await paths(
        cnpg({
          metadata: {
            name: 'lb',
            annotations: { 'service.beta.kubernetes.io/aws-load-balancer-scheme': 'internal' },
          },
          spec: { type: 'LoadBalancer', allocateLoadBalancerNodePorts: false },
        }),
      ),
    ).toEqual([]);
    expect(await paths(cnpg({ metadata: { name: 'rw' }, spec: { type: 'ClusterIP' } }))).toEqual([]);
  });

  it('denies a CloudNativePG Pooler service template of type LoadBalancer', async () => {
    const pooler: KubeObject = {
      apiVersion: 'postgresql.cnpg.io/v1',
      kind: 'Pooler',
      metadata: { name: 'pooler' },
      spec: { cluster: { name: 'odoo-db' }, serviceTemplate: { spec: { type: 'LoadBalancer' } } },
    };
    expect(await paths(pooler)).toEqual(['spec.serviceTemplate.spec.type']);
  });

  const zalando = (spec: Record<string, unknown>): KubeObject => ({
    apiVersion: 'acid.zalan.do/v1',
    kind: 'postgresql',
    metadata: { name: 'acid-odoo', namespace: 'tenant-a' },
    spec: { teamId: 'acid', numberOfInstances: 2, ...spec },
  });

  it('denies Zalando enableMasterLoadBalancer and enableReplicaLoadBalancer', async () => {
    expect(await paths(zalando({ enableMasterLoadBalancer: true, enableReplicaLoadBalancer: true }))).toEqual(
      ['spec.enableMasterLoadBalancer', 'spec.enableReplicaLoadBalancer'],
    );
  });

  it('treats an absent Zalando flag as off unless the operator default is declared on', async () => {
    expect(await paths(zalando({}))).toEqual([]);
    const result = await check(zalando({}), {
      params: { zalandoLoadBalancerDefaults: ['enableMasterLoadBalancer'] },
    });
    expect(result.findings.map((f) => f.path)).toEqual(['spec.enableMasterLoadBalancer']);
    expect(result.findings[0]?.message).toContain('operator enables it by default');
    expect(
      await paths(zalando({ enableMasterLoadBalancer: false }), {
        params: { zalandoLoadBalancerDefaults: ['enableMasterLoadBalancer'] },
      }),
    ).toEqual([]);
  });

  it('allows a Zalando load balancer made internal by its service annotations, but not open source ranges', async () => {
    const internal = { 'service.beta.kubernetes.io/azure-load-balancer-internal': 'true' };
    expect(
      await paths(zalando({ enableMasterLoadBalancer: true, masterServiceAnnotations: internal })),
    ).toEqual([]);
    expect(
      await paths(zalando({ enableReplicaLoadBalancer: true, masterServiceAnnotations: internal })),
    ).toEqual(['spec.enableReplicaLoadBalancer']);
    expect(
      await paths(
        zalando({
          enableMasterLoadBalancer: true,
          serviceAnnotations: internal,
          allowedSourceRanges: ['0.0.0.0/0'],
        }),
      ),
    ).toEqual(['spec.allowedSourceRanges[0]']);
  });
});

describe('no-public-databases: configuration', () => {
  it('extends the defaults with ports, ranges, images and names', async () => {
    const params = {
      ports: [15432, '40000-40002'],
      images: ['registry.corp.example/erp/pg'],
      names: ['tigerbeetle'],
    };
    expect(await paths(service({ type: 'NodePort', ports: [{ port: 15432 }] }), { params })).toEqual([
      'spec.type',
    ]);
    expect(await paths(service({ type: 'NodePort', ports: [{ port: 40001 }] }), { params })).toEqual([
      'spec.type',
    ]);
    expect(await paths(service({ type: 'NodePort', ports: pg }), { params })).toEqual(['spec.type']);
    expect(
      await paths(
        deployment([{ name: 'pg', image: 'registry.corp.example/erp/pg/v16:1' }], { hostNetwork: true }),
        { params },
      ),
    ).toEqual(['spec.template.spec.hostNetwork']);
    expect(
      await paths(
        service({
          type: 'NodePort',
          ports: [{ port: 80 }],
          selector: { 'app.kubernetes.io/name': 'tigerbeetle' },
        }),
        { params },
      ),
    ).toEqual(['spec.type']);
    // prefixes compare on `/` boundaries
    expect(
      await paths(
        deployment([{ name: 'x', image: 'registry.corp.example/erp/pgadmin:1' }], { hostNetwork: true }),
        { params },
      ),
    ).toEqual([]);
  });

  it('replaces the defaults with useDefaults: false, and excludes ports', async () => {
    const params = { useDefaults: false, ports: [15432] };
    expect(await paths(service({ type: 'NodePort', ports: pg }), { params })).toEqual([]);
    expect(await paths(service({ type: 'NodePort', ports: [{ port: 15432 }] }), { params })).toEqual([
      'spec.type',
    ]);
    const minio = service({ type: 'LoadBalancer', ports: [{ port: 9000 }] });
    expect(await paths(minio)).toEqual(['spec.type']);
    expect(await paths(minio, { params: { excludePorts: [9000] } })).toEqual([]);
  });

  it.each([
    [{ ports: ['9000-8000'] }, /ports\/0.*not a port range/],
    [{ images: ['registry.corp.example/*'] }, /wildcards/],
    [{ images: ['registry.corp.example/Bad'] }, /not a valid image repository prefix/],
    [{ useDefaults: false }, /at least one port, image or name/],
    [{ loadBalancerProviders: ['digitalocean'] }, /loadBalancerProviders/],
  ])('rejects bad parameters at bundle load: %j', async (params, error) => {
    await expect(runPolicy(policy, params, undefined)).rejects.toThrow(error);
  });
});

describe('no-public-databases: scope', () => {
  it('skips DELETE and objects that cannot expose anything', async () => {
    const deleted = await runPolicy(policy, {}, undefined, {
      input: { operation: 'DELETE', oldObject: service({ type: 'NodePort', ports: pg }) },
    });
    expect(deleted.status).toBe('skip');
    expect(deleted.reason).toContain('DELETE');
    const configMap = await check({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'x' } });
    expect(configMap.status).toBe('skip');
    expect(configMap.reason).toContain('ConfigMap');
  });

  it('checks List items with item paths', async () => {
    const list = {
      apiVersion: 'v1',
      kind: 'List',
      items: [service({ ports: pg }), service({ type: 'NodePort', ports: pg })],
    };
    expect(await paths(list)).toEqual(['items[1].spec.type']);
  });

  it('judges the new object of an UPDATE that turns a ClusterIP into a NodePort', async () => {
    const result = await runPolicy(policy, {}, service({ type: 'NodePort', ports: pg }), {
      input: { operation: 'UPDATE', oldObject: service({ ports: pg }) },
    });
    expect(result.findings.map((f) => f.path)).toEqual(['spec.type']);
  });
});

describe('no-public-databases: samples', () => {
  const dir = join(import.meta.dirname, 'samples');
  const bundle = loadBundle(readFileSync(join(dir, 'bundle.yaml')), {
    source: 'samples/bundle.yaml',
    policies: [policy],
  });
  const samples = (verdict: string) =>
    readdirSync(join(dir, verdict))
      .filter((f) => f.endsWith('.yaml'))
      .map((f) => [f, readFileSync(join(dir, verdict, f), 'utf8')] as const);

  /** Decision per document: as CI sees it (the file's documents related) and as admission does (none). */
  async function decisions(text: string) {
    const parsed = parseSource(text);
    expect(parsed.errors).toEqual([]);
    const objects = parsed.documents.map((d) => d.value as KubeObject);
    const now = new Date('2026-11-20T12:00:00Z');
    const run = (context: EngineContext) =>
      Promise.all(objects.map((object) => evaluate({ operation: 'CREATE', object }, bundle, context)));
    const ci = await run({ now, point: 'ci', relatedObjects: objects });
    const admission = await run({ now, point: 'admission' });
    return { ci, admission };
  }

  it('has samples of both kinds', () => {
    expect(samples('allowed').length).toBeGreaterThanOrEqual(3);
    expect(samples('denied').length).toBeGreaterThanOrEqual(8);
  });

  it.each(samples('allowed'))('allows %s in CI and at admission', async (_file, text) => {
    const { ci, admission } = await decisions(text);
    for (const report of [...ci, ...admission]) {
      expect(report.results[0]?.status).not.toBe('error');
      expect(report.decision).toBe('allow');
    }
  });

  it.each(samples('denied'))(
    'denies %s in CI and at admission with the same findings',
    async (_file, text) => {
      const { ci, admission } = await decisions(text);
      expect(ci.some((r) => r.decision === 'deny')).toBe(true);
      expect(ci.map((r) => r.decision)).toEqual(admission.map((r) => r.decision));
      expect(ci.map((r) => r.results[0]?.findings)).toEqual(admission.map((r) => r.results[0]?.findings));
      for (const finding of ci.flatMap((r) => r.results[0]?.findings ?? [])) {
        expect(finding.policy).toBe('no-public-databases');
        expect(finding.path).not.toBe('');
        expect(finding.fix).not.toBe('');
      }
    },
  );
});

describe('no-public-databases: source ranges read as Kubernetes reads them (bypass class 4)', () => {
  const internal = { 'service.beta.kubernetes.io/azure-load-balancer-internal': 'true' };
  it.each([
    ['IPv4-mapped IPv6 (::ffff:0.0.0.0/96 is 0.0.0.0/0)', '::ffff:0.0.0.0/96'],
    ['IPv4-mapped IPv6 in hex groups', '::ffff:0:0/96'],
    ['an IPv4-mapped /100 (0.0.0.0/4)', '0:0:0:0:0:FFFF:0.0.0.0/100'],
    ['a prefix length with leading zeros beyond three digits', '0.0.0.0/0000'],
    ['octets with leading zeros', '0000.000.000.000/0'],
    ['Go-only whitespace (NEL) around it', '\u00850.0.0.0/0\u0085'],
  ])('denies %s in spec.loadBalancerSourceRanges and in the annotation', async (_name, range) => {
    const viaField = lb(internal, { loadBalancerSourceRanges: ['10.0.0.0/8', range] });
    expect(await paths(viaField)).toEqual(['spec.loadBalancerSourceRanges[1]']);
    const viaAnnotation = lb({
      ...internal,
      'service.beta.kubernetes.io/load-balancer-source-ranges': `10.0.0.0/8,${range}`,
    });
    expect(await paths(viaAnnotation)).toEqual([
      'metadata.annotations["service.beta.kubernetes.io/load-balancer-source-ranges"]',
    ]);
  });

  it('names the network Kubernetes programs in the message', async () => {
    const result = await check(lb(internal, { loadBalancerSourceRanges: ['::ffff:0:0/96'] }));
    expect(result.findings[0]?.message).toContain('0.0.0.0/0');
  });

  it('denies source ranges that leave one of the Service families unfiltered', async () => {
    expect(await paths(lb(internal, { loadBalancerSourceRanges: ['2001:db8::/32'] }))).toEqual([
      'spec.loadBalancerSourceRanges',
    ]);
    const dual = lb(internal, {
      ipFamilyPolicy: 'RequireDualStack',
      loadBalancerSourceRanges: ['10.0.0.0/8'],
    });
    const result = await check(dual);
    expect(result.findings.map((f) => f.path)).toEqual(['spec.loadBalancerSourceRanges']);
    expect(result.findings[0]?.message).toContain('no IPv6 range');
    const annotated = lb({
      ...internal,
      'service.beta.kubernetes.io/load-balancer-source-ranges': 'fd00::/8',
    });
    expect(await paths(annotated)).toEqual([
      'metadata.annotations["service.beta.kubernetes.io/load-balancer-source-ranges"]',
    ]);
  });
});

describe('no-public-databases: mesh and Traefik objects that publish a database (bypass class 5)', () => {
  it('denies an Istio Gateway server on a database port, and allows HTTPS', async () => {
    const gateway = (number: number): KubeObject => ({
      apiVersion: 'networking.istio.io/v1',
      kind: 'Gateway',
      metadata: { name: 'public', namespace: 'tenant-a' },
      spec: {
        selector: { istio: 'ingressgateway' },
        servers: [
          { port: { number: 443, name: 'https', protocol: 'HTTPS' }, hosts: ['erp.example'] },
          { port: { number, name: 'db', protocol: 'TCP' }, hosts: ['*'] },
        ],
      },
    });
    expect(await paths(gateway(5432))).toEqual(['spec.servers[1].port.number']);
    expect(await paths(gateway(8443))).toEqual([]);
  });

  it('denies a TraefikService that weights or mirrors traffic to a database port', async () => {
    const traefikService: KubeObject = {
      apiVersion: 'traefik.io/v1alpha1',
      kind: 'TraefikService',
      metadata: { name: 'search', namespace: 'tenant-a' },
      spec: {
        weighted: {
          services: [
            { name: 'odoo', port: 8069, weight: 9 },
            { name: 'elasticsearch', port: 9200, weight: 1 },
          ],
        },
      },
    };
    expect(await paths(traefikService)).toEqual(['spec.weighted.services[1].port']);
    const mirror: KubeObject = {
      ...traefikService,
      spec: {
        mirroring: { name: 'odoo', port: 8069, mirrors: [{ name: 'couch', port: 5984, percent: 10 }] },
      },
    };
    expect(await paths(mirror)).toEqual(['spec.mirroring.mirrors[0].port']);
  });
});

describe('no-public-databases: Gateway API listeners on database ports (attacker pass)', () => {
  const gateway = (port: number): KubeObject => ({
    apiVersion: 'gateway.networking.k8s.io/v1',
    kind: 'Gateway',
    metadata: { name: 'public', namespace: 'tenant-a' },
    spec: {
      gatewayClassName: 'traefik',
      listeners: [
        { name: 'https', port: 443, protocol: 'HTTPS' },
        { name: 'db', port, protocol: 'TCP' },
      ],
    },
  });
  it('denies a listener on a database port unless the Gateway is internal', async () => {
    expect(await paths(gateway(6379))).toEqual(['spec.listeners[1].port']);
    expect(await paths(gateway(8080))).toEqual([]);
    const internal = await check(gateway(6379), { params: { internalGateways: ['tenant-a/public'] } });
    expect(internal.status).toBe('skip');
  });
});

describe('no-public-databases: externalIPs of internal networks (internalExternalIPs)', () => {
  const params = { internalExternalIPs: ['10.20.0.0/24', 'fd00:20::/64'] };
  it('allows a database Service on addresses of the internal networks', async () => {
    expect(await paths(service({ ports: pg, externalIPs: ['10.20.0.7', 'fd00:20::7'] }), { params })).toEqual(
      [],
    );
  });
  it('denies the addresses outside them, naming the internal networks in the fix', async () => {
    const result = await check(service({ ports: pg, externalIPs: ['10.20.0.7', '10.20.1.7'] }), { params });
    expect(result.findings.map((f) => f.path)).toEqual(['spec.externalIPs[1]']);
    expect(result.findings[0]?.fix).toContain('internalExternalIPs: 10.20.0.0/24, fd00:20::/64');
  });
  it('denies every externalIP of a database Service without the parameter', async () => {
    expect(await paths(service({ ports: pg, externalIPs: ['10.20.0.7'] }))).toEqual(['spec.externalIPs[0]']);
  });
  it('rejects an entry that is not a CIDR, naming it', async () => {
    await expect(runPolicy(policy, { internalExternalIPs: ['10.20.0.0/33'] }, undefined)).rejects.toThrow(
      /internalExternalIPs\/0.*not a CIDR/,
    );
  });
});

describe('no-public-databases: Istio VirtualServices and EnvoyFilters (bypass class 5)', () => {
  const virtualService = (spec: Record<string, unknown>): KubeObject => ({
    apiVersion: 'networking.istio.io/v1',
    kind: 'VirtualService',
    metadata: { name: 'vs', namespace: 'tenant-a' },
    spec,
  });
  const tcpTo = (destination: Record<string, unknown>) => [{ route: [{ destination }] }];
  const database = service({ ports: pg });

  it.each([
    ['a short host (the own namespace)', 'db'],
    ['a cluster-local host', 'db.tenant-a.svc.cluster.local'],
    ['a .svc host', 'db.tenant-a.svc'],
  ])('denies a gateway-bound tcp route to a database Service by %s', async (_name, host) => {
    const vs = virtualService({ hosts: ['*'], gateways: ['public'], tcp: tcpTo({ host }) });
    expect(await paths(vs, { related: [database] })).toEqual(['spec.tcp[0].route[0].destination.host']);
  });

  it('denies a database port, a tls route and a mirror, on a gateway of another namespace', async () => {
    const vs = virtualService({
      gateways: ['istio-system/ingressgateway', 'mesh'],
      tls: tcpTo({ host: 'cache', port: { number: 6379 } }),
      http: [
        { route: [{ destination: { host: 'web' } }], mirror: { host: 'search', port: { number: 9200 } } },
      ],
    });
    expect(await paths(vs)).toEqual([
      'spec.tls[0].route[0].destination.port.number',
      'spec.http[0].mirror.port.number',
    ]);
  });

  it('allows the mesh, internal gateways, other namespaces of the same name and external hosts', async () => {
    const route = { tcp: tcpTo({ host: 'db' }) };
    expect(await paths(virtualService(route), { related: [database] })).toEqual([]);
    expect(await paths(virtualService({ ...route, gateways: ['mesh'] }), { related: [database] })).toEqual(
      [],
    );
    expect(
      await paths(virtualService({ ...route, gateways: ['ingress/private'] }), {
        related: [database],
        params: { internalGateways: ['ingress/private'] },
      }),
    ).toEqual([]);
    // `db.other.svc` is another namespace's db, not this one
    const elsewhere = virtualService({ gateways: ['public'], tcp: tcpTo({ host: 'db.other.svc' }) });
    expect(await paths(elsewhere, { related: [database] })).toEqual([]);
    // an external host named like the Service is no Service of the cluster
    const external = virtualService({ gateways: ['public'], tcp: tcpTo({ host: 'db.example.com' }) });
    expect(await paths(external, { related: [database] })).toEqual([]);
  });

  const envoyFilter = (patches: Record<string, unknown>[]): KubeObject => ({
    apiVersion: 'networking.istio.io/v1alpha3',
    kind: 'EnvoyFilter',
    metadata: { name: 'ef', namespace: 'istio-system' },
    spec: { configPatches: patches },
  });
  const listener = (port: number, context?: string) => ({
    applyTo: 'LISTENER',
    ...(context ? { match: { context } } : {}),
    patch: { operation: 'ADD', value: { address: { socket_address: { port_value: port } } } },
  });

  it('denies an added listener on a database port and warns about any other one', async () => {
    const result = await check(
      envoyFilter([listener(5432, 'GATEWAY'), listener(8443), listener(6379, 'SIDECAR_OUTBOUND')]),
    );
    expect(result.findings.map((f) => [f.path, f.action])).toEqual([
      ['spec.configPatches[0].patch.value.address.socket_address.port_value', 'deny'],
      ['spec.configPatches[1]', 'warn'],
    ]);
    expect(result.findings[1]?.message).toContain('every proxy it selects');
    // patches that add no listener are not this policy's concern
    expect(
      await paths(envoyFilter([{ applyTo: 'HTTP_FILTER', patch: { operation: 'INSERT_BEFORE' } }])),
    ).toEqual([]);
  });
});
