import { describe, expect, it } from 'vitest';
import { breakGlassAnnotation, createRequest, type KubeObject } from '../policies/index.ts';
import { compareWithGit, diffFields, lastManager, liveKey } from './drift.ts';
import type { ApiResource } from './cluster.ts';
import { buildReports } from './reports.ts';

const deployments: ApiResource = {
  group: 'apps',
  version: 'v1',
  resource: 'deployments',
  kind: 'Deployment',
  namespaced: true,
  verbs: ['list'],
};
const pods: ApiResource = { ...deployments, group: '', resource: 'pods', kind: 'Pod' };

const declared: KubeObject = {
  apiVersion: 'apps/v1',
  kind: 'Deployment',
  metadata: { name: 'ledger', namespace: 'pay', labels: { app: 'ledger' } },
  spec: {
    replicas: 2,
    selector: { matchLabels: { app: 'ledger' } },
    template: {
      spec: {
        containers: [
          {
            name: 'app',
            image: 'registry.corp.example/erp/ledger:2.1',
            ports: [{ containerPort: 8080 }],
            resources: { limits: { cpu: '0.5', memory: '1Gi' } },
          },
        ],
      },
    },
  },
};

/** The live object: server defaults added, quantities canonical, a sidecar injected before the app. */
function live(edits: (spec: Record<string, unknown>) => void = () => undefined): KubeObject {
  const object = structuredClone(declared) as KubeObject & { spec: Record<string, unknown> };
  object.metadata = {
    ...object.metadata,
    uid: 'u1',
    labels: { app: 'ledger', 'pod-template-hash': 'x' },
    annotations: { 'deployment.kubernetes.io/revision': '3' },
    managedFields: [
      {
        manager: 'argocd-controller',
        operation: 'Apply',
        time: '2026-11-01T00:00:00Z',
        fieldsV1: {
          'f:spec': {
            'f:replicas': {},
            'f:template': {
              'f:spec': { 'f:containers': { 'k:{"name":"app"}': { 'f:image': {}, '.': {} } } },
            },
          },
        },
      },
      {
        manager: 'kubectl-edit',
        operation: 'Update',
        time: '2026-11-20T09:30:00Z',
        fieldsV1: {
          'f:spec': {
            'f:template': { 'f:spec': { 'f:containers': { 'k:{"name":"app"}': { 'f:image': {} } } } },
          },
        },
      },
    ],
  };
  const spec = object.spec as { template: { spec: { containers: Record<string, unknown>[] } } };
  spec.template.spec.containers = [
    { name: 'proxy', image: 'registry.corp.example/erp/proxy:1' },
    {
      name: 'app',
      image: 'registry.corp.example/erp/ledger:2.1',
      imagePullPolicy: 'IfNotPresent',
      ports: [{ containerPort: 8080, protocol: 'TCP' }],
      resources: { limits: { cpu: '500m', memory: '1Gi' } },
    },
  ];
  object.spec['strategy'] = { type: 'RollingUpdate' };
  edits(object.spec);
  return object;
}

describe('diffFields', () => {
  it('ignores what the server defaults or adds, canonical quantities and list order', () => {
    expect(diffFields(declared, live())).toEqual([]);
  });

  it('names the field by its live path, both values and the manager that wrote it last', () => {
    const edited = live((spec) => {
      const containers = (spec as { template: { spec: { containers: Record<string, unknown>[] } } }).template
        .spec.containers;
      (containers[1] as Record<string, unknown>)['image'] = 'registry.corp.example/erp/ledger:2.2';
      spec['replicas'] = 4;
    });
    expect(diffFields(declared, edited)).toEqual([
      {
        path: 'spec.replicas',
        declared: 2,
        live: 4,
        changedBy: { manager: 'argocd-controller', operation: 'Apply', time: '2026-11-01T00:00:00Z' },
      },
      {
        path: 'spec.template.spec.containers[1].image',
        declared: 'registry.corp.example/erp/ledger:2.1',
        live: 'registry.corp.example/erp/ledger:2.2',
        changedBy: { manager: 'kubectl-edit', operation: 'Update', time: '2026-11-20T09:30:00Z' },
      },
    ]);
  });

  it('leaves replicas to an HorizontalPodAutoscaler that owns them; a removed field has no live value', () => {
    const scaled = live((spec) => {
      spec['replicas'] = 9;
      (
        spec as { template: { spec: { containers: Record<string, unknown>[] } } }
      ).template.spec.containers[1]!['ports'] = [];
    });
    expect(diffFields(declared, scaled, true)).toEqual([
      {
        path: 'spec.template.spec.containers[1].ports[0]',
        declared: { containerPort: 8080 },
        // nobody owns the removed item: its container's last writer is named
        changedBy: expect.objectContaining({ manager: 'kubectl-edit' }),
      },
    ]);
  });
});

describe('lastManager', () => {
  it('takes the nearest owned ancestor when no manager owns the field itself', () => {
    expect(lastManager(live(), ['spec', 'template', 'spec', 'containers', 1, 'resources'])?.manager).toBe(
      'kubectl-edit',
    );
    expect(lastManager(live(), ['metadata', 'labels'])).toBeUndefined();
  });
});

describe('compareWithGit', () => {
  const pod = (name: string, imageID: string, owned = true): KubeObject => ({
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      name,
      namespace: 'pay',
      labels: { app: 'ledger' },
      ...(owned ? { ownerReferences: [{ kind: 'ReplicaSet', name: 'ledger-1' }] } : {}),
      managedFields: [
        {
          manager: 'kubectl-run',
          operation: 'Update',
          time: '2026-11-21T00:00:00Z',
          fieldsV1: { 'f:spec': {} },
        },
      ],
    },
    spec: { containers: [{ name: 'app', image: 'registry.corp.example/erp/ledger:2.1' }] },
    status: { containerStatuses: [{ name: 'app', imageID: `registry.corp.example/erp/ledger@${imageID}` }] },
  });
  const compare = (objects: KubeObject[], declaredObjects: KubeObject[] = [declared]) =>
    compareWithGit({
      declared: declaredObjects.map((object, index) => ({
        object,
        source: { file: `git/${index}.yaml`, line: 1 },
      })),
      live: {
        objects: new Map(
          objects.map((o) => [
            liveKey(o.kind === 'Pod' ? '' : 'apps', o.kind ?? '', o.metadata?.namespace, o.metadata?.name),
            o,
          ]),
        ),
        pods: objects.filter((o) => o.kind === 'Pod'),
      },
      resources: [deployments, pods],
      audited: [deployments, pods],
      hpaTargets: new Set(),
    });
  const a = `sha256:${'a'.repeat(64)}`;
  const b = `sha256:${'b'.repeat(64)}`;

  it('reports missing, undeclared-and-unowned, and a tag that moved between Pods', () => {
    const report = compare(
      [live(), pod('ledger-1-x', a), pod('ledger-1-y', b), pod('debug', a, false)],
      [declared, { ...declared, metadata: { ...declared.metadata, name: 'gone' } }],
    );
    expect(report.entries.map((e) => [e.type, e.object.name])).toEqual([
      ['missing', 'gone'],
      ['undeclared', 'debug'],
      ['image', 'ledger'],
    ]);
    expect(report.entries[1]?.changedBy?.manager).toBe('kubectl-run');
    expect(report.entries[2]?.image?.running).toEqual([
      { digest: a, pods: ['debug', 'ledger-1-x'] },
      { digest: b, pods: ['ledger-1-y'] },
    ]);
    expect(report.entries[2]?.message).toContain('the tag moved');
    expect(report.declared).toBe(2);
  });

  it('reads the items of a List as the objects kubectl applies', () => {
    const list = {
      apiVersion: 'v1',
      kind: 'List',
      items: [{ ...declared, metadata: { ...declared.metadata, name: 'x' } }],
    };
    const report = compare([live()], [declared, list]);
    expect(report.entries.map((e) => [e.type, e.object.name, e.source?.file])).toEqual([
      ['missing', 'x', 'git/1.yaml'],
    ]);
  });

  it('reports a declared kind the cluster does not serve', () => {
    const report = compare([], [{ apiVersion: 'example.com/v1', kind: 'Widget', metadata: { name: 'w' } }]);
    expect(report.entries[0]?.message).toContain('is its CRD installed?');
  });
});

describe('break-glass changes until Git matches', () => {
  const claims = {
    requester: 'alice@corp.example',
    ticket: 'CHG-4711',
    reason: 'rollback during close',
    scope: { namespaces: ['pay'] },
    nbf: 1_767_225_600,
    exp: 1_798_761_600,
  };
  const header = (kid: string) => Buffer.from(JSON.stringify({ alg: 'ES256', kid })).toString('base64url');
  const token = JSON.stringify({
    ...createRequest(claims),
    signatures: [
      { protected: header('controller-us@corp.example'), signature: 'x' },
      { protected: header('controller-de@corp.example'), signature: 'y' },
    ],
  });
  /** The live ledger with the break-glass annotation written by kubectl-edit, and the image it set. */
  const glassed = (image: string): KubeObject => {
    const object = live((spec) => {
      const containers = (spec as { template: { spec: { containers: Record<string, unknown>[] } } }).template
        .spec.containers;
      (containers[1] as Record<string, unknown>)['image'] = image;
    });
    object.metadata = {
      ...object.metadata,
      annotations: { ...object.metadata?.annotations, [breakGlassAnnotation]: token },
      managedFields: [
        ...((object.metadata?.managedFields as unknown[]) ?? []),
        {
          manager: 'kubectl-edit',
          operation: 'Update',
          time: '2026-11-30T11:00:00Z',
          fieldsV1: { 'f:metadata': { 'f:annotations': { [`f:${breakGlassAnnotation}`]: {} } } },
        },
      ],
    };
    return object;
  };
  const track = (object: KubeObject, declaredObjects: KubeObject[]) =>
    compareWithGit({
      declared: declaredObjects.map((o) => ({ object: o, source: { file: 'git/ledger.yaml', line: 1 } })),
      live: { objects: new Map([[liveKey('apps', 'Deployment', 'pay', 'ledger'), object]]), pods: [] },
      resources: [deployments, pods],
      audited: [deployments, pods],
      hpaTargets: new Set(),
    }).breakGlass;

  it('is open while the live object differs from Git, naming the fields, the ticket and the approvers', () => {
    const [change] = track(glassed('registry.corp.example/erp/ledger:2.1.1'), [declared]);
    expect(change).toMatchObject({
      state: 'open',
      ticket: 'CHG-4711',
      requester: 'alice@corp.example',
      approvers: ['controller-de@corp.example', 'controller-us@corp.example'],
      changedBy: { manager: 'kubectl-edit', time: '2026-11-30T11:00:00Z' },
      source: { file: 'git/ledger.yaml', line: 1 },
    });
    expect(change?.fields.map((f) => f.path)).toEqual(['spec.template.spec.containers[1].image']);
    expect(change?.message).toContain('is open: 1 field(s) still differ from git/ledger.yaml:1');
    const [result] =
      buildReports({
        cluster: 'https://k',
        now: '2026-12-01T00:00:00Z',
        bundle: { name: 'b', version: '1', digest: 'sha256:0' },
        resources: [],
        objects: 1,
        forbidden: [],
        audited: [],
        drift: { declared: 1, entries: [], images: [], breakGlass: change ? [change] : [] },
      })[0]?.results ?? [];
    expect([result?.policy, result?.rule, result?.result, result?.properties?.['ticket']]).toEqual([
      'tollgate-break-glass',
      'open',
      'warn',
      'CHG-4711',
    ]);
  });

  it('is resolved once Git declares what the break-glass change made live', () => {
    const caughtUp = structuredClone(declared) as KubeObject & {
      spec: { template: { spec: { containers: Record<string, unknown>[] } } };
    };
    (caughtUp.spec.template.spec.containers[0] as Record<string, unknown>)['image'] =
      'registry.corp.example/erp/ledger:2.1.1';
    const [change] = track(glassed('registry.corp.example/erp/ledger:2.1.1'), [caughtUp]);
    expect([change?.state, change?.fields]).toEqual(['resolved', []]);
    expect(change?.message).toContain('is resolved: Git (git/ledger.yaml:1) matches the live object');
  });

  it('is open when Git does not declare the object, and says why a token cannot be read', () => {
    const [undeclared] = track(glassed('registry.corp.example/erp/ledger:2.1'), []);
    expect([undeclared?.state, undeclared?.message]).toEqual([
      'open',
      'Deployment pay/ledger: break-glass CHG-4711 (requested by alice@corp.example) is open: Git does not declare the object',
    ]);
    const broken = glassed('registry.corp.example/erp/ledger:2.1');
    (broken.metadata?.annotations as Record<string, string>)[breakGlassAnnotation] = 'not a token';
    expect(track(broken, [declared])[0]?.problem).toContain('not JSON');
  });
});
