import { describe, expect, it } from 'vitest';
import type { KubeObject } from './types.ts';
import {
  containersOf,
  effectiveSecurityContext,
  imageFieldsOf,
  malformedWorkloadFields,
  podSpecsOf,
  workloadAdmissionRules,
} from './workloads.ts';

const container = (name: string) => ({ name, image: `registry.corp.example/erp/${name}:1` });
const template = { metadata: { labels: { app: 'odoo' } }, spec: { containers: [container('odoo')] } };

const paths = (object: KubeObject) =>
  containersOf(object).map((c) => `${String(c.container.name)}@${c.path.join('.')}`);

describe('custom workloads whose controllers run an embedded pod template (bypass class 5)', () => {
  it.each([
    [{ apiVersion: 'argoproj.io/v1alpha1', kind: 'Rollout', spec: { template } }, 'spec.template.spec'],
    [
      { apiVersion: 'keda.sh/v1alpha1', kind: 'ScaledJob', spec: { jobTargetRef: { template } } },
      'spec.jobTargetRef.template.spec',
    ],
    [{ apiVersion: 'postgresql.cnpg.io/v1', kind: 'Pooler', spec: { template } }, 'spec.template.spec'],
    [{ apiVersion: 'serving.knative.dev/v1', kind: 'Service', spec: { template } }, 'spec.template.spec'],
    [
      { apiVersion: 'serving.knative.dev/v1', kind: 'Configuration', spec: { template } },
      'spec.template.spec',
    ],
    [{ apiVersion: 'apps.kruise.io/v1alpha1', kind: 'CloneSet', spec: { template } }, 'spec.template.spec'],
    [{ apiVersion: 'apps.kruise.io/v1beta1', kind: 'StatefulSet', spec: { template } }, 'spec.template.spec'],
    [{ apiVersion: 'apps.kruise.io/v1alpha1', kind: 'DaemonSet', spec: { template } }, 'spec.template.spec'],
    [
      { apiVersion: 'apps.kruise.io/v1alpha1', kind: 'BroadcastJob', spec: { template } },
      'spec.template.spec',
    ],
  ])('finds the pod template of %j', (object, path) => {
    const pods = podSpecsOf(object as KubeObject);
    expect(pods.map((p) => p.path.join('.'))).toEqual([path]);
    expect(pods[0]?.podLabels).toEqual({ app: 'odoo' });
    expect(paths(object as KubeObject)).toEqual([`odoo@${path}.containers.0`]);
  });

  it('finds the pod spec a Knative Revision carries directly', () => {
    const revision = {
      apiVersion: 'serving.knative.dev/v1',
      kind: 'Revision',
      metadata: { labels: { app: 'odoo' } },
      spec: { containers: [container('odoo')], volumes: 'x' },
    } as KubeObject;
    expect(podSpecsOf(revision).map((p) => [p.path.join('.'), p.podLabels])).toEqual([
      ['spec', { app: 'odoo' }],
    ]);
    expect(paths(revision)).toEqual(['odoo@spec.containers.0']);
    expect(malformedWorkloadFields(revision).map((f) => f.path)).toEqual(['spec.volumes']);
    expect(podSpecsOf({ ...revision, apiVersion: 'example.com/v1' })).toEqual([]);
  });

  it('finds the pod-level fields of Tekton runs (podTemplate), without containers', () => {
    const podTemplate = { hostNetwork: true, volumes: [{ name: 'n', hostPath: { path: '/' } }] };
    const taskRun = { apiVersion: 'tekton.dev/v1', kind: 'TaskRun', spec: { podTemplate } } as KubeObject;
    // the run spec itself is where its resource overrides are (containers only)
    expect(podSpecsOf(taskRun).map((p) => [p.path.join('.'), p.containersOnly === true])).toEqual([
      ['spec.podTemplate', false],
      ['spec', true],
    ]);
    expect(containersOf(taskRun)).toEqual([]);
    const pipelineRun = {
      apiVersion: 'tekton.dev/v1',
      kind: 'PipelineRun',
      spec: { taskRunTemplate: { podTemplate } },
    } as KubeObject;
    expect(podSpecsOf(pipelineRun).map((p) => p.path.join('.'))).toEqual([
      'spec.taskRunTemplate.podTemplate',
    ]);
  });

  const step = (name: string, extra: Record<string, unknown> = {}) => ({ ...container(name), ...extra });
  const taskSpec = {
    stepTemplate: { image: 'registry.corp.example/erp/base:1', securityContext: { privileged: true } },
    steps: [step('build'), { name: 'test', script: 'make test' }],
    sidecars: [step('db')],
    volumes: [{ name: 'cache', emptyDir: {} }],
  };

  it.each([
    ['Task', 'tekton.dev/v1', { spec: taskSpec }, ['spec']],
    ['ClusterTask', 'tekton.dev/v1beta1', { spec: taskSpec }, ['spec']],
    ['TaskRun', 'tekton.dev/v1', { spec: { taskSpec } }, ['spec.taskSpec']],
    [
      'Pipeline',
      'tekton.dev/v1',
      { spec: { tasks: [{ name: 'a', taskSpec }], finally: [{ name: 'z', taskSpec }] } },
      ['spec.tasks.0.taskSpec', 'spec.finally.0.taskSpec'],
    ],
    [
      'PipelineRun',
      'tekton.dev/v1',
      {
        spec: {
          pipelineSpec: {
            tasks: [
              { name: 'a', taskRef: { name: 'x' } },
              { name: 'b', taskSpec },
            ],
          },
        },
      },
      ['spec.pipelineSpec.tasks.1.taskSpec'],
    ],
  ])('reads the steps, sidecars and stepTemplate of a Tekton %s', (kind, apiVersion, body, bases) => {
    const object = { apiVersion, kind, ...body } as KubeObject;
    expect(paths(object)).toEqual(
      bases.flatMap((base) => [
        `undefined@${base}.stepTemplate`,
        `build@${base}.steps.0`,
        `test@${base}.steps.1`,
        `db@${base}.sidecars.0`,
      ]),
    );
    const found = containersOf(object);
    // v1 names resources computeResources; v1beta1 (and ClusterTask) resources
    expect(found[0]?.resourcesKey).toBe(apiVersion === 'tekton.dev/v1' ? 'computeResources' : 'resources');
    expect(found.map((c) => [c.role, c.partial, c.template?.role === 'stepTemplate'])).toEqual(
      bases.flatMap(() => [
        ['stepTemplate', true, false],
        ['step', false, true],
        ['step', false, true],
        ['sidecar', false, false],
      ]),
    );
    // the step without an image runs the stepTemplate's, judged once where the template writes it
    expect(imageFieldsOf(object).map((f) => f.path)).toEqual(
      bases.flatMap((base) => {
        const at = base.replace(/\.(\d+)\./g, '[$1].');
        return [`${at}.stepTemplate.image`, `${at}.steps[0].image`, `${at}.sidecars[0].image`];
      }),
    );
    // the TaskSpec's volumes are the pod's
    expect(podSpecsOf(object).some((pod) => Array.isArray(pod.spec.volumes))).toBe(true);
  });

  it('merges a stepTemplate securityContext under each step', () => {
    const task = {
      apiVersion: 'tekton.dev/v1',
      kind: 'Task',
      spec: {
        stepTemplate: { securityContext: { runAsNonRoot: true, capabilities: { drop: ['ALL'] } } },
        steps: [step('a', { securityContext: { capabilities: { add: ['NET_ADMIN'] } } }), step('b')],
      },
    } as KubeObject;
    const [, a, b] = containersOf(task);
    expect(a && effectiveSecurityContext(a)).toEqual({
      runAsNonRoot: true,
      capabilities: { drop: ['ALL'], add: ['NET_ADMIN'] },
    });
    expect(b && effectiveSecurityContext(b)).toEqual({ runAsNonRoot: true, capabilities: { drop: ['ALL'] } });
  });

  it('finds the resource overrides of Tekton runs as partial containers', () => {
    const taskRun = {
      apiVersion: 'tekton.dev/v1',
      kind: 'TaskRun',
      spec: {
        taskRef: { name: 'build' },
        stepSpecs: [{ name: 'build', computeResources: { limits: { memory: '64Gi' } } }],
        sidecarSpecs: [{ name: 'db', computeResources: {} }],
        computeResources: { limits: { memory: '1Gi' } },
      },
    } as KubeObject;
    expect(containersOf(taskRun).map((c) => [c.path.join('.'), c.resourcesKey, c.partial])).toEqual([
      ['spec.stepSpecs.0', 'computeResources', true],
      ['spec.sidecarSpecs.0', 'computeResources', true],
      ['spec', 'computeResources', true],
    ]);
    expect(imageFieldsOf(taskRun)).toEqual([]);
    const pipelineRun = {
      apiVersion: 'tekton.dev/v1beta1',
      kind: 'PipelineRun',
      spec: {
        pipelineRef: { name: 'release' },
        taskRunSpecs: [
          {
            pipelineTaskName: 'build',
            taskPodTemplate: { hostNetwork: true },
            stepOverrides: [{ name: 'build', resources: { limits: { memory: '64Gi' } } }],
          },
        ],
      },
    } as KubeObject;
    expect(podSpecsOf(pipelineRun).map((p) => p.path.join('.'))).toEqual([
      'spec.taskRunSpecs.0.taskPodTemplate',
      'spec.taskRunSpecs.0',
    ]);
    // no task-level computeResources here: nothing of the run spec's own to judge
    expect(containersOf(pipelineRun).map((c) => [c.path.join('.'), c.resourcesKey])).toEqual([
      ['spec.taskRunSpecs.0.stepOverrides.0', 'resources'],
    ]);
  });

  it('leaves the image of a step that refers to a StepAction to the StepAction', () => {
    const task = {
      apiVersion: 'tekton.dev/v1',
      kind: 'Task',
      spec: { steps: [{ name: 'clone', ref: { name: 'git-clone' } }, { name: 'build' }] },
    } as KubeObject;
    // the step without image or ref stays an image field (Tekton requires one of them)
    expect(imageFieldsOf(task).map((f) => f.path)).toEqual(['spec.steps[1].image']);
  });

  it('reads the images Tekton bundles resolve tasks, pipelines and step actions from', () => {
    const bundleRef = (bundle: string) => ({
      resolver: 'bundles',
      params: [
        { name: 'bundle', value: bundle },
        { name: 'name', value: 'build' },
      ],
    });
    const pipelineRun = {
      apiVersion: 'tekton.dev/v1',
      kind: 'PipelineRun',
      spec: {
        pipelineSpec: {
          tasks: [
            { name: 'a', taskRef: bundleRef('docker.io/x/task:1') },
            { name: 'b', taskRef: { resolver: 'git', params: [{ name: 'bundle', value: 'not-a-bundle' }] } },
            { name: 'c', taskSpec: { steps: [{ name: 's', ref: bundleRef('docker.io/x/action:1') }] } },
          ],
        },
      },
    } as KubeObject;
    expect(imageFieldsOf(pipelineRun).map((f) => [f.path, f.image])).toEqual([
      ['spec.pipelineSpec.tasks[0].taskRef.params[0].value', 'docker.io/x/task:1'],
      ['spec.pipelineSpec.tasks[2].taskSpec.steps[0].ref.params[0].value', 'docker.io/x/action:1'],
    ]);
    const taskRun = {
      apiVersion: 'tekton.dev/v1beta1',
      kind: 'TaskRun',
      spec: { taskRef: { name: 'build', bundle: 'docker.io/x/task:1' } },
    } as KubeObject;
    expect(imageFieldsOf(taskRun).map((f) => f.path)).toEqual(['spec.taskRef.bundle']);
  });

  it('reads a Tekton StepAction as one step', () => {
    const action = {
      apiVersion: 'tekton.dev/v1beta1',
      kind: 'StepAction',
      spec: { image: 'docker.io/library/alpine', securityContext: { privileged: true } },
    } as KubeObject;
    expect(containersOf(action).map((c) => c.path.join('.'))).toEqual(['spec']);
    expect(imageFieldsOf(action).map((f) => f.path)).toEqual(['spec.image']);
  });

  it('reports misshapen Tekton fields it cannot judge', () => {
    const pipeline = {
      apiVersion: 'tekton.dev/v1',
      kind: 'Pipeline',
      spec: { tasks: [{ name: 'a', taskSpec: 'steps' }], finally: { name: 'z' } },
    } as KubeObject;
    expect(malformedWorkloadFields(pipeline).map((m) => m.message)).toEqual([
      'spec.tasks[0].taskSpec must be a map, not a string',
      'spec.finally must be a list, not a map',
    ]);
    const task = { apiVersion: 'tekton.dev/v1', kind: 'Task', spec: { steps: { name: 'a' } } } as KubeObject;
    expect(malformedWorkloadFields(task).map((m) => m.path)).toEqual(['spec.steps']);
  });

  it.each([
    [
      'AdvancedCronJob',
      { spec: { template: { jobTemplate: { spec: { template } } } } },
      ['spec.template.jobTemplate.spec.template.spec'],
    ],
    [
      'AdvancedCronJob',
      { spec: { template: { broadcastJobTemplate: { spec: { template } } } } },
      ['spec.template.broadcastJobTemplate.spec.template.spec'],
    ],
    [
      'UnitedDeployment',
      {
        spec: {
          template: {
            statefulSetTemplate: { spec: { template } },
            advancedStatefulSetTemplate: { spec: { template } },
            cloneSetTemplate: { spec: { template } },
            deploymentTemplate: { spec: { template } },
          },
        },
      },
      [
        'spec.template.statefulSetTemplate.spec.template.spec',
        'spec.template.advancedStatefulSetTemplate.spec.template.spec',
        'spec.template.cloneSetTemplate.spec.template.spec',
        'spec.template.deploymentTemplate.spec.template.spec',
      ],
    ],
    ['SidecarSet', { spec: { containers: [container('odoo')] } }, ['spec']],
    ['EphemeralJob', { spec: { template: { ephemeralContainers: [container('odoo')] } } }, ['spec.template']],
  ])('finds the pod specs of an OpenKruise %s', (kind, body, expected) => {
    const object = { apiVersion: 'apps.kruise.io/v1alpha1', kind, ...body } as KubeObject;
    expect(podSpecsOf(object).map((p) => p.path.join('.'))).toEqual(expected);
    expect(paths(object)).toEqual(
      expected.map(
        (base) => `odoo@${base}.${kind === 'EphemeralJob' ? 'ephemeralContainers' : 'containers'}.0`,
      ),
    );
    expect(malformedWorkloadFields(object)).toEqual([]);
  });

  it('reads the images OpenKruise pulls or injects outside pod templates', () => {
    const kruise = (kind: string, spec: unknown) =>
      ({ apiVersion: 'apps.kruise.io/v1alpha1', kind, spec }) as KubeObject;
    expect(
      imageFieldsOf(kruise('ImagePullJob', { image: 'docker.io/library/redis:7' })).map((f) => [
        f.path,
        f.image,
      ]),
    ).toEqual([['spec.image', 'docker.io/library/redis:7']]);
    expect(imageFieldsOf(kruise('ImageListPullJob', { images: ['a', 'b'] })).map((f) => f.path)).toEqual([
      'spec.images[0]',
      'spec.images[1]',
    ]);
    const sidecarSet = kruise('SidecarSet', {
      initContainers: [container('init')],
      containers: [
        {
          ...container('proxy'),
          upgradeStrategy: { upgradeType: 'HotUpgrade', hotUpgradeEmptyImage: 'empty:1' },
        },
      ],
      volumes: [{ name: 'host', hostPath: { path: '/' } }],
    });
    expect(imageFieldsOf(sidecarSet).map((f) => f.path)).toEqual([
      'spec.containers[0].upgradeStrategy.hotUpgradeEmptyImage',
      'spec.initContainers[0].image',
      'spec.containers[0].image',
    ]);
    expect(podSpecsOf(sidecarSet)[0]?.spec.volumes).toEqual([{ name: 'host', hostPath: { path: '/' } }]);
  });

  it('reports a UnitedDeployment subset patch as a rewrite it cannot judge', () => {
    const object = {
      apiVersion: 'apps.kruise.io/v1alpha1',
      kind: 'UnitedDeployment',
      spec: {
        template: { deploymentTemplate: { spec: { template } } },
        topology: {
          subsets: [
            { name: 'a', patch: {} },
            { name: 'b', patch: { spec: { containers: [{ name: 'odoo', image: 'evil' }] } } },
          ],
        },
      },
    } as KubeObject;
    expect(malformedWorkloadFields(object).map((m) => m.path)).toEqual(['spec.topology.subsets[1].patch']);
  });

  it('ignores a kind of the same name in another API group', () => {
    expect(podSpecsOf({ apiVersion: 'example.com/v1', kind: 'Rollout', spec: { template } })).toEqual([]);
  });

  const workflowSpec = {
    hostNetwork: true,
    templateDefaults: { container: { securityContext: { privileged: true } } },
    templates: [
      {
        name: 'main',
        initContainers: [container('init')],
        sidecars: [container('proxy')],
        container: container('main'),
      },
      { name: 'report', script: { ...container('report'), source: 'print(1)' } },
      { name: 'set', containerSet: { containers: [container('a'), container('b')] } },
      { name: 'steps', steps: [] },
    ],
  };

  it.each([
    ['Workflow', { spec: workflowSpec }, 'spec'],
    ['WorkflowTemplate', { spec: workflowSpec }, 'spec'],
    ['ClusterWorkflowTemplate', { spec: workflowSpec }, 'spec'],
    ['CronWorkflow', { spec: { schedule: '0 1 * * *', workflowSpec } }, 'spec.workflowSpec'],
  ])('reads every container of an Argo %s', (kind, body, base) => {
    const object = { apiVersion: 'argoproj.io/v1alpha1', kind, ...body } as KubeObject;
    expect(paths(object)).toEqual([
      `undefined@${base}.templateDefaults.container`,
      `init@${base}.templates.0.initContainers.0`,
      `proxy@${base}.templates.0.sidecars.0`,
      `main@${base}.templates.0.container`,
      `report@${base}.templates.1.script`,
      `a@${base}.templates.2.containerSet.containers.0`,
      `b@${base}.templates.2.containerSet.containers.1`,
    ]);
    // the workflow spec itself is a pod-level location (hostNetwork, volumes, securityContext)
    expect(podSpecsOf(object)[0]?.spec.hostNetwork).toBe(true);
    expect(containersOf(object)[1]?.kind).toBe('initContainer');
    // a defaults container without an image is not an image field
    expect(imageFieldsOf(object).map((f) => f.path)).not.toContain(
      `${base}.templateDefaults.container.image`,
    );
  });

  it('reports podSpecPatch and misshapen Argo templates as fields it cannot judge', () => {
    const object: KubeObject = {
      apiVersion: 'argoproj.io/v1alpha1',
      kind: 'Workflow',
      spec: {
        podSpecPatch: '{"hostNetwork": true}',
        templates: [{ name: 'a', container: 'busybox', podSpecPatch: 'containers: []' }, 'b'],
      },
    };
    expect(malformedWorkloadFields(object).map((m) => m.path)).toEqual([
      'spec.templates[1]',
      'spec.podSpecPatch',
      'spec.templates[0].container',
      'spec.templates[0].podSpecPatch',
    ]);
  });

  it('finds images an operator runs outside pod templates (CloudNativePG)', () => {
    const cluster: KubeObject = {
      apiVersion: 'postgresql.cnpg.io/v1',
      kind: 'Cluster',
      spec: { imageName: 'docker.io/library/postgres:17', instances: 3 },
    };
    expect(imageFieldsOf(cluster).map((f) => [f.path, f.image])).toEqual([
      ['spec.imageName', 'docker.io/library/postgres:17'],
    ]);
    const catalog: KubeObject = {
      apiVersion: 'postgresql.cnpg.io/v1',
      kind: 'ClusterImageCatalog',
      spec: {
        images: [
          { major: 16, image: 'a' },
          { major: 17, image: 'b' },
        ],
      },
    };
    expect(imageFieldsOf(catalog).map((f) => f.path)).toEqual([
      'spec.images[0].image',
      'spec.images[1].image',
    ]);
  });

  it('asks the API server for every custom workload', () => {
    const resources = workloadAdmissionRules().flatMap((rule) =>
      rule.apiGroups.flatMap((group) => rule.resources.map((resource) => `${group}/${resource}`)),
    );
    for (const expected of [
      'argoproj.io/rollouts',
      'argoproj.io/workflows',
      'argoproj.io/cronworkflows',
      'keda.sh/scaledjobs',
      'postgresql.cnpg.io/poolers',
      'postgresql.cnpg.io/clusters',
      'serving.knative.dev/services',
      'serving.knative.dev/configurations',
      'serving.knative.dev/revisions',
      'apps.kruise.io/clonesets',
      'apps.kruise.io/statefulsets',
      'apps.kruise.io/daemonsets',
      'apps.kruise.io/broadcastjobs',
      'tekton.dev/taskruns',
      'tekton.dev/pipelineruns',
      'tekton.dev/tasks',
      'tekton.dev/clustertasks',
      'tekton.dev/pipelines',
      'tekton.dev/stepactions',
      'apps.kruise.io/advancedcronjobs',
      'apps.kruise.io/uniteddeployments',
      'apps.kruise.io/sidecarsets',
      'apps.kruise.io/ephemeraljobs',
      'apps.kruise.io/imagepulljobs',
      'apps.kruise.io/imagelistpulljobs',
    ])
      expect(resources).toContain(expected);
    expect(new Set(resources).size).toBe(resources.length);
  });
});
