import { describe, expect, it } from 'vitest';
import { runPolicy } from '../../test/support/policy.ts';
import type { KubeObject, Policy } from '../engine/types.ts';
import { gitopsSourcesPolicy } from './index.ts';
import { isRepoUrlError, parseRepoUrl } from './repo-url.ts';

const policy = gitopsSourcesPolicy as Policy<unknown>;

const production: KubeObject = {
  apiVersion: 'v1',
  kind: 'Namespace',
  metadata: { name: 'prod', labels: { 'tollgate.dev/environment': 'production' } },
};
const namespaces = (name: string): KubeObject | undefined => (name === 'prod' ? production : undefined);

const params = {
  repositories: ['https://git.corp.example/erp', 'oci://registry.corp.example/charts'],
  scope: { namespaces: { selector: { matchLabels: { 'tollgate.dev/environment': 'production' } } } },
};

const sha = '3f2c1a9b8e7d6c5b4a3f2e1d0c9b8a7f6e5d4c3b';

function application(source: Record<string, unknown>, extra: Record<string, unknown> = {}): KubeObject {
  return {
    apiVersion: 'argoproj.io/v1alpha1',
    kind: 'Application',
    metadata: { name: 'erp', namespace: 'prod' },
    spec: {
      source,
      destination: { server: 'https://kubernetes.default.svc', namespace: 'prod' },
      syncPolicy: { automated: { prune: true, selfHeal: true } },
      ...extra,
    },
  };
}

function gitRepository(spec: Record<string, unknown>, namespace = 'prod'): KubeObject {
  return {
    apiVersion: 'source.toolkit.fluxcd.io/v1',
    kind: 'GitRepository',
    metadata: { name: 'erp', namespace },
    spec: { interval: '5m', verify: { mode: 'HEAD', secretRef: { name: 'keys' } }, ...spec },
  };
}

async function check(
  object: KubeObject,
  extraParams: Record<string, unknown> = {},
  point: 'ci' | 'admission' = 'ci',
) {
  return runPolicy(policy, { ...params, ...extraParams }, object, { context: { point, namespaces } });
}

const paths = (result: { findings: Array<{ path: string }> }) => result.findings.map((f) => f.path).sort();

describe('repository URLs', () => {
  it.each([
    ['https://GIT.corp.example/erp/deploy.git', 'git.corp.example', 'erp/deploy'],
    ['https://git.corp.example:443/erp/deploy/', 'git.corp.example', 'erp/deploy'],
    ['ssh://git@git.corp.example:22/erp/deploy.git', 'git.corp.example', 'erp/deploy'],
    ['ssh://git@git.corp.example:2222/erp/deploy', 'git.corp.example:2222', 'erp/deploy'],
    ['git@git.corp.example:erp/deploy.git', 'git.corp.example', 'erp/deploy'],
    ['oci://registry.corp.example/charts/erp', 'registry.corp.example', 'charts/erp'],
    ['registry.corp.example/charts', 'registry.corp.example', 'charts'],
    ['https://git.corp.example@evil.example/erp/deploy', 'evil.example', 'erp/deploy'],
    ['https://git.corp.example./erp', 'git.corp.example', 'erp'],
  ])('%s is %s / %s', (url, host, path) => {
    expect(parseRepoUrl(url)).toMatchObject({ host, path });
  });

  it.each([
    'https://git.corp.example/erp/../evil/deploy',
    'https://git.corp.example/erp%2F..%2Fevil',
    'https://git.corp.example/erp//deploy',
    'https://git.corp.example\\@evil.example/erp',
    ' https://git.corp.example/erp',
    'https://git.corp.example/erp?ref=main',
    'file:///srv/git/erp',
    'erp/deploy',
  ])('refuses %s', (url) => {
    expect(isRepoUrlError(parseRepoUrl(url))).toBe(true);
  });
});

describe('gitops-sources', () => {
  it('accepts an approved, pinned, self-healing Application in CI and at admission alike', async () => {
    const app = application({ repoURL: 'git@git.corp.example:erp/deploy.git', targetRevision: sha });
    expect((await check(app)).status).toBe('pass');
    expect((await check(app, {}, 'admission')).status).toBe('pass');
  });

  it('refuses prefix look-alikes: a longer path component, a longer host, another port', async () => {
    for (const repoURL of [
      'https://git.corp.example/erpx/deploy',
      'https://git.corp.example.evil.example/erp/deploy',
      'https://git.corp.example:8443/erp/deploy',
      'http://git.corp.example/erp/deploy',
    ]) {
      const result = await check(application({ repoURL, targetRevision: sha }));
      expect(result.status, repoURL).toBe('fail');
      expect(paths(result), repoURL).toContain('spec.source.repoURL');
    }
  });

  it('pins: a commit or an allowed tag passes; HEAD, a branch, a range (unless allowed) fail', async () => {
    const at = async (targetRevision: string | undefined, extra: Record<string, unknown> = {}) =>
      (
        await check(
          application({
            repoURL: 'https://git.corp.example/erp/deploy',
            ...(targetRevision ? { targetRevision } : {}),
          }),
          extra,
        )
      ).status;
    expect(await at(sha)).toBe('pass');
    expect(await at('v1.2.3')).toBe('pass');
    expect(await at('refs/tags/v1.2.3')).toBe('pass');
    expect(await at(undefined)).toBe('fail');
    expect(await at('HEAD')).toBe('fail');
    expect(await at('main')).toBe('fail');
    expect(await at('v1.2')).toBe('fail');
    expect(await at('>=1.2.0')).toBe('fail');
    expect(await at('>=1.2.0', { pinning: { semverRanges: true } })).toBe('pass');
    expect(await at('release-7', { pinning: { tags: ['release-[0-9]+'] } })).toBe('pass');
    expect(await at('v1.2.3', { pinning: { tags: ['release-[0-9]+'] } })).toBe('fail');
  });

  it('reads a Helm chart source: targetRevision is the chart version', async () => {
    const helm = (targetRevision: string) =>
      application({ repoURL: 'registry.corp.example/charts', chart: 'erp', targetRevision });
    expect((await check(helm('1.4.2'))).status).toBe('pass');
    expect(paths(await check(helm('1.*')))).toEqual(['spec.source.targetRevision']);
  });

  it('requires automated sync with prune and selfHeal, and refuses Prune=false', async () => {
    const source = { repoURL: 'https://git.corp.example/erp/deploy', targetRevision: sha };
    expect(paths(await check(application(source, { syncPolicy: {} })))).toEqual([
      'spec.syncPolicy.automated',
    ]);
    expect(
      paths(
        await check(
          application(source, { syncPolicy: { automated: { enabled: false, prune: true, selfHeal: true } } }),
        ),
      ),
    ).toEqual(['spec.syncPolicy.automated']);
    expect(
      paths(
        await check(
          application(source, {
            syncPolicy: { automated: { prune: true, selfHeal: true }, syncOptions: ['Prune=false'] },
          }),
        ),
      ),
    ).toEqual(['spec.syncPolicy.syncOptions[0]']);
  });

  it('judges an Application outside production by where it deploys', async () => {
    const app = application({ repoURL: 'https://git.corp.example/erp/deploy', targetRevision: 'main' });
    (app.metadata as Record<string, unknown>).namespace = 'argocd';
    expect((await check(app)).status).toBe('fail');
    (app.spec as { destination: { namespace: string } }).destination.namespace = 'staging';
    expect((await check(app)).status).toBe('skip');
  });

  it('checks an ApplicationSet template and its git generators; a templated URL cannot be checked', async () => {
    const set: KubeObject = {
      apiVersion: 'argoproj.io/v1alpha1',
      kind: 'ApplicationSet',
      metadata: { name: 'erp', namespace: 'prod' },
      spec: {
        generators: [{ git: { repoURL: 'https://github.com/someone/fork', revision: 'main' } }],
        template: {
          metadata: { name: '{{path.basename}}' },
          spec: {
            source: { repoURL: '{{url}}', targetRevision: sha },
            destination: { namespace: 'prod' },
            syncPolicy: { automated: { prune: true, selfHeal: true } },
          },
        },
      },
    };
    expect(paths(await check(set))).toEqual([
      'spec.generators[0].git.repoURL',
      'spec.template.spec.source.repoURL',
    ]);
  });

  it('AppProject: a pattern below an approved repository passes, one that can leave it fails', async () => {
    const project = (sourceRepos: string[]): KubeObject => ({
      apiVersion: 'argoproj.io/v1alpha1',
      kind: 'AppProject',
      metadata: { name: 'erp', namespace: 'prod' },
      spec: {
        sourceRepos,
        destinations: [{ server: 'https://kubernetes.default.svc', namespace: 'prod' }],
        signatureKeys: [{ keyID: '4AEE18F83AFDEB23' }],
      },
    });
    expect(
      (await check(project(['https://git.corp.example/erp/*', '!https://git.corp.example/erp/x']))).status,
    ).toBe('pass');
    expect(paths(await check(project(['https://git.corp.example/erp*'])))).toEqual(['spec.sourceRepos[0]']);
    expect(paths(await check(project(['*'])))).toEqual(['spec.sourceRepos[0]']);
  });

  it('Flux GitRepository: commit or allowed tag, verification on; a branch or no ref fails', async () => {
    expect(
      (
        await check(
          gitRepository({ url: 'https://git.corp.example/erp/deploy', ref: { branch: 'main', commit: sha } }),
        )
      ).status,
    ).toBe('pass');
    expect(
      (
        await check(
          gitRepository({ url: 'https://git.corp.example/erp/deploy', ref: { name: 'refs/tags/v1.0.0' } }),
        )
      ).status,
    ).toBe('pass');
    expect(paths(await check(gitRepository({ url: 'https://git.corp.example/erp/deploy' })))).toEqual([
      'spec',
    ]);
    expect(
      paths(
        await check(
          gitRepository({ url: 'https://git.corp.example/erp/deploy', ref: { name: 'refs/heads/main' } }),
        ),
      ),
    ).toEqual(['spec.ref']);
    expect(
      paths(
        await check(
          gitRepository({
            url: 'https://git.corp.example/erp/deploy',
            ref: { tag: 'v1.0.0' },
            verify: undefined,
          }),
        ),
      ),
    ).toEqual(['spec.verify']);
  });

  it('Flux OCIRepository, Bucket and suspend', async () => {
    const oci: KubeObject = {
      apiVersion: 'source.toolkit.fluxcd.io/v1',
      kind: 'OCIRepository',
      metadata: { name: 'erp', namespace: 'prod' },
      spec: { url: 'oci://registry.corp.example/charts/erp', ref: { tag: 'latest' }, suspend: true },
    };
    expect(paths(await check(oci))).toEqual(['spec.ref', 'spec.suspend', 'spec.verify']);
    const bucket: KubeObject = {
      apiVersion: 'source.toolkit.fluxcd.io/v1',
      kind: 'Bucket',
      metadata: { name: 'erp', namespace: 'prod' },
      spec: { endpoint: 'minio.corp.example', bucketName: 'erp' },
    };
    expect(paths(await check(bucket))).toEqual(['spec.bucketName', 'spec.endpoint']);
  });

  it('a kustomize.config.k8s.io Kustomization is a kustomize file, not a Flux object', async () => {
    const file: KubeObject = {
      apiVersion: 'kustomize.config.k8s.io/v1beta1',
      kind: 'Kustomization',
      metadata: { name: 'x', namespace: 'prod' },
      suspend: true,
    };
    expect((await check(file)).status).toBe('skip');
  });

  it('never counts a DELETE or a bookkeeping-only UPDATE', async () => {
    const repo = gitRepository({ url: 'https://git.corp.example/erp/deploy', ref: { branch: 'main' } });
    expect(
      (
        await runPolicy(policy, params, undefined, {
          input: { operation: 'DELETE', oldObject: repo },
          context: { namespaces },
        })
      ).status,
    ).toBe('skip');
    const updated = {
      ...repo,
      status: { artifact: { revision: 'main@sha1:x' } },
      metadata: { ...repo.metadata, resourceVersion: '2' },
    };
    const result = await runPolicy(policy, params, updated, {
      input: { operation: 'UPDATE', oldObject: repo },
      context: { namespaces },
    });
    expect(result.status).toBe('skip');
    expect(result.reason).toContain('changes only status');
  });

  it('refuses wildcards, unreadable repositories and bad tag patterns at bundle load', async () => {
    await expect(
      runPolicy(policy, { repositories: ['https://git.corp.example/*'] }, undefined),
    ).rejects.toThrow(/wildcards/);
    await expect(runPolicy(policy, { repositories: ['file:///srv/git'] }, undefined)).rejects.toThrow(
      /scheme file/,
    );
    await expect(runPolicy(policy, { ...params, pinning: { tags: ['(['] } }, undefined)).rejects.toThrow(
      /not a regular expression/,
    );
  });
});
