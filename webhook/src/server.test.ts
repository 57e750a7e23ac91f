import { writeFileSync } from 'node:fs';
import { request as httpsRequest } from 'node:https';
import { connect } from 'node:tls';
import { gzipSync } from 'node:zlib';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { builtinPolicies } from '../../policies/index.ts';
import { deployment, pod } from '../../test/support/policy.ts';
import type { KubeObject, Policy } from '../../policies/index.ts';
import { isValidAuditAnnotationKey, responseLimits } from './admission.ts';
import { admissionReview, startTestWebhook } from '../../test/support/webhook.ts';
import type { TestWebhook } from '../../test/support/webhook.ts';

/** A policy that reports whatever the test asks for through annotations on the object it judges. */
const probePolicy: Policy<unknown> = {
  id: 'probe',
  version: '1.0.0',
  description: 'test probe',
  help: 'test probe',
  paramsSchema: { type: 'object', properties: {} },
  admissionRules: [],
  compile: () => ({}),
  evaluate(input, _params, context, tools) {
    const annotations = input.object.metadata?.annotations ?? {};
    if (annotations['probe/throw']) throw new Error(annotations['probe/throw']);
    if (annotations['probe/record'])
      tools.record({
        kind: 'break-glass',
        data: { ticket: 'INC-7', approver: 'carol', token: annotations['probe/record'] },
      });
    const findings = [];
    if (annotations['probe/finding'])
      findings.push({
        path: 'metadata.annotations["probe/finding"]',
        message: `${input.operation} of ${input.object.metadata?.name ?? '?'}: ${annotations['probe/finding']}`,
        fix: 'remove the probe annotation',
      });
    if (annotations['probe/old'] && input.oldObject)
      findings.push({ path: 'metadata', message: `old name ${input.oldObject.metadata?.name}`, fix: 'none' });
    if (annotations['probe/namespace']) {
      const ns = input.namespace ? context.namespaces?.(input.namespace) : undefined;
      findings.push({
        path: 'metadata.namespace',
        message: `namespace tier=${ns?.metadata?.labels?.['tier'] ?? 'unknown'}`,
        fix: 'none',
      });
    }
    return findings;
  },
};

/** A policy that waits until the edge's deadline aborts it. */
const slowPolicy: Policy<unknown> & { aborted: boolean } = {
  id: 'slow',
  version: '1.0.0',
  description: 'waits for the abort signal',
  help: 'test',
  paramsSchema: { type: 'object', properties: {} },
  admissionRules: [],
  aborted: false,
  compile: () => ({}),
  evaluate(_input, _params, context) {
    return new Promise((_resolve, reject) => {
      context.signal?.addEventListener('abort', () => {
        slowPolicy.aborted = true;
        reject(new Error('aborted'));
      });
    });
  },
};

const policies = [...builtinPolicies, probePolicy, slowPolicy];

function bundle(probe: string, registries = 'deny', extra = ''): string {
  return `apiVersion: tollgate.dev/v1
kind: PolicyBundle
metadata: { name: webhook-test, version: 1.2.3 }
spec:
  policies:
    approved-registries: { enforcement: ${registries}, registries: [registry.corp.example/erp] }
    probe: { enforcement: ${probe} }
${extra}`;
}

const goodImage = 'registry.corp.example/erp/odoo:17';

function probed(annotations: Record<string, string>, image = goodImage): KubeObject {
  const object = deployment([{ name: 'odoo', image }]);
  object.metadata = { ...object.metadata, annotations };
  return object;
}

describe('tollgate serve: POST /validate', () => {
  let hook: TestWebhook;
  beforeAll(async () => {
    hook = await startTestWebhook(bundle('deny'), {
      policies,
      namespaceLookup: (name) =>
        name === 'tenant-a' ? { kind: 'Namespace', metadata: { name, labels: { tier: 'gold' } } } : undefined,
    });
  });
  afterAll(() => hook.close());

  it('echoes the uid and allows a compliant object', async () => {
    const { status, body } = await hook.post(admissionReview(probed({}), { uid: 'uid-allow-1' }));
    expect(status).toBe(200);
    expect(body).toEqual({
      apiVersion: 'admission.k8s.io/v1',
      kind: 'AdmissionReview',
      response: { uid: 'uid-allow-1', allowed: true },
    });
  });

  it('denies with 403 and a message listing each violation with its path and fix', async () => {
    const object = deployment([
      { name: 'odoo', image: 'odoo:17.0' },
      { name: 'redis', image: 'docker.io/library/redis:7' },
    ]);
    const { body } = await hook.post(admissionReview(object, { uid: 'uid-deny-1' }));
    const response = body.response;
    expect(response.uid).toBe('uid-deny-1');
    expect(response.allowed).toBe(false);
    expect(response.status).toMatchObject({ code: 403, status: 'Failure', reason: 'Forbidden' });
    const message: string = response.status.message;
    expect(message).toContain('Deployment tenant-a/app');
    expect(message).toContain(
      '[approved-registries] spec.template.spec.containers[0].image: image "odoo:17.0"',
    );
    expect(message).toContain('[approved-registries] spec.template.spec.containers[1].image');
    expect(message).toContain('Fix: use an image from one of: registry.corp.example/erp');
    expect(message.length).toBeLessThanOrEqual(responseLimits.message);
  });

  it('bounds the denial message when there are many violations', async () => {
    const containers = Array.from({ length: 80 }, (_, i) => ({
      name: `c${i}`,
      image: `evil.example/x${i}:1`,
    }));
    const { body } = await hook.post(admissionReview(deployment(containers)));
    const message: string = body.response.status.message;
    expect(message.length).toBeLessThanOrEqual(responseLimits.message);
    expect(message).toMatch(/\.\.\. and \d+ more violations$/);
  });

  it('puts policy errors at deny into the denial (fail closed)', async () => {
    const { body } = await hook.post(admissionReview(probed({ 'probe/throw': 'registry exploded' })));
    expect(body.response.allowed).toBe(false);
    expect(body.response.status.message).toContain('[probe] could not evaluate (failing closed)');
    expect(body.response.status.message).toContain('registry exploded');
  });

  it('evaluates UPDATE on the new object with oldObject available', async () => {
    const oldObject = probed({});
    oldObject.metadata = { ...oldObject.metadata, name: 'before' };
    const { body } = await hook.post(
      admissionReview(probed({ 'probe/old': 'yes' }), { operation: 'UPDATE', oldObject }),
    );
    expect(body.response.allowed).toBe(false);
    expect(body.response.status.message).toContain('old name before');
  });

  it('reviews oldObject on DELETE', async () => {
    const oldObject = probed({ 'probe/finding': 'deleting' });
    const { body } = await hook.post(admissionReview(undefined, { operation: 'DELETE', oldObject }));
    expect(body.response.allowed).toBe(false);
    expect(body.response.status.message).toContain('DELETE of app: deleting');
  });

  it('allows CONNECT without evaluating', async () => {
    const object = { apiVersion: 'v1', kind: 'PodExecOptions', command: ['sh'] };
    const review = admissionReview(object, { operation: 'CONNECT', resource: 'pods', subResource: 'exec' });
    const { body } = await hook.post(review);
    expect(body.response).toEqual({ uid: (review.request as { uid: string }).uid, allowed: true });
    const line = hook.logs.find((l) => l.uid === (review.request as { uid: string }).uid);
    expect(line).toMatchObject({
      decision: 'allow',
      cause: 'skipped: CONNECT is not evaluated',
      policies: [],
    });
  });

  it('evaluates pods/ephemeralcontainers and pods/resize like the pod, and skips other subresources', async () => {
    const bad = pod({ containers: [{ name: 'a', image: goodImage }] }, { name: 'p', namespace: 'tenant-a' });
    (bad.spec as Record<string, unknown>).ephemeralContainers = [{ name: 'debug', image: 'busybox' }];
    for (const subResource of ['ephemeralcontainers', 'resize']) {
      const { body } = await hook.post(
        admissionReview(bad, { operation: 'UPDATE', oldObject: bad, subResource }),
      );
      expect(body.response.allowed, subResource).toBe(false);
      expect(body.response.status.message).toContain('spec.ephemeralContainers[0].image');
    }
    for (const subResource of ['status', 'binding']) {
      const { body } = await hook.post(
        admissionReview(bad, { operation: 'UPDATE', oldObject: bad, subResource }),
      );
      expect(body.response.allowed, subResource).toBe(true);
    }
  });

  it('evaluates dryRun requests and marks them in the decision log and metrics', async () => {
    const review = admissionReview(deployment([{ name: 'a', image: 'nginx' }]), { dryRun: true });
    const { body } = await hook.post(review);
    expect(body.response.allowed).toBe(false);
    const line = hook.logs.find((l) => l.uid === (review.request as { uid: string }).uid);
    expect(line).toMatchObject({ event: 'decision', dryRun: true, decision: 'deny' });
    const metrics = await hook.ops('/metrics');
    expect(metrics.text).toMatch(
      /tollgate_admission_requests_total\{operation="CREATE",decision="deny",dry_run="true"\} 1/,
    );
  });

  it('passes namespace labels from the namespace source to policies', async () => {
    const { body } = await hook.post(admissionReview(probed({ 'probe/namespace': 'x' })));
    expect(body.response.status.message).toContain('namespace tier=gold');
  });

  it('writes one decision line per request with policies and fields, and no object contents', async () => {
    const object = deployment([
      { name: 'odoo', image: 'odoo:17.0', env: [{ name: 'PASSWORD', value: 'hunter2' }] },
    ]);
    const review = admissionReview(object, { uid: 'uid-log-1', username: 'bob' });
    await hook.post(review);
    const lines = hook.logs.filter((l) => l.uid === 'uid-log-1');
    expect(lines).toHaveLength(1);
    const line = lines[0] as Record<string, unknown>;
    expect(line).toMatchObject({
      event: 'decision',
      user: 'bob',
      resource: { group: 'apps', version: 'v1', resource: 'deployments' },
      kind: 'Deployment',
      namespace: 'tenant-a',
      name: 'app',
      operation: 'CREATE',
      dryRun: false,
      decision: 'deny',
      bundle: { name: 'webhook-test', version: '1.2.3' },
    });
    expect(line.policies).toContainEqual({
      policy: 'approved-registries',
      version: builtinPolicies.find((p) => p.id === 'approved-registries')?.version,
      status: 'fail',
      action: 'deny',
      fields: ['spec.template.spec.containers[0].image'],
    });
    expect(typeof line.durationMs).toBe('number');
    const text = JSON.stringify(line);
    expect(text).not.toContain('hunter2');
    expect(text).not.toContain('odoo:17.0');
  });

  it.each([
    ['malformed JSON', '{"apiVersion": ', /malformed JSON/],
    ['a JSON array', '[]', /must be a JSON object/],
    [
      'a wrong apiVersion',
      JSON.stringify({ apiVersion: 'admission.k8s.io/v1beta1', kind: 'AdmissionReview', request: {} }),
      /apiVersion must be "admission.k8s.io\/v1"/,
    ],
    [
      'a wrong kind',
      JSON.stringify({ apiVersion: 'admission.k8s.io/v1', kind: 'Pod', request: {} }),
      /kind must be "AdmissionReview"/,
    ],
    [
      'no request',
      JSON.stringify({ apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview' }),
      /request is missing/,
    ],
    [
      'a missing uid',
      JSON.stringify({
        ...admissionReview(probed({})),
        request: { ...(admissionReview(probed({})).request as object), uid: undefined },
      }),
      /request\.uid is missing/,
    ],
    [
      'an unknown operation',
      JSON.stringify({
        ...admissionReview(probed({})),
        request: { ...(admissionReview(probed({})).request as object), operation: 'PATCH' },
      }),
      /request\.operation must be one of/,
    ],
    [
      'CREATE without object',
      JSON.stringify({
        ...admissionReview(probed({})),
        request: { ...(admissionReview(probed({})).request as object), object: null },
      }),
      /request\.object is required for CREATE/,
    ],
  ])('answers 400 with a clear message for %s', async (_name, raw, message) => {
    const { status, body } = await hook.post(raw, { raw: true });
    expect(status).toBe(400);
    expect(body.error).toMatch(message);
  });

  it('answers 413 for a body over the limit and keeps serving', async () => {
    const huge = 'x'.repeat(8 * 1024 * 1024);
    const { status, body } = await hook.post(`{"pad":"${huge}"}`, { raw: true });
    expect(status).toBe(413);
    expect(body.error).toMatch(/larger than/);
    const again = await hook.post(admissionReview(probed({})));
    expect(again.body.response.allowed).toBe(true);
  });

  it('answers 415 naming the encoding for a compressed body, and the exact envelope otherwise', async () => {
    const send = (headers: Record<string, string>, body: Buffer) =>
      new Promise<{ status: number; type: string; text: string }>((done, fail) => {
        const req = httpsRequest(
          {
            host: '127.0.0.1',
            port: hook.webhook.port,
            path: '/validate',
            method: 'POST',
            ca: hook.ca,
            servername: 'localhost',
            headers: { 'content-type': 'application/json', ...headers },
          },
          (res) => {
            let text = '';
            res.on('data', (chunk: Buffer) => (text += chunk.toString()));
            res.on('end', () =>
              done({ status: res.statusCode ?? 0, type: String(res.headers['content-type']), text }),
            );
          },
        );
        req.on('error', fail);
        req.end(body);
      });
    const review = JSON.stringify(admissionReview(probed({})));
    const gzipped = await send({ 'content-encoding': 'gzip' }, gzipSync(review));
    expect(gzipped.status).toBe(415);
    expect(JSON.parse(gzipped.text).error).toMatch(/unsupported Content-Encoding "gzip"/);
    const plain = await send({}, Buffer.from(review));
    expect(plain.status).toBe(200);
    expect(plain.type).toBe('application/json; charset=utf-8');
    const uid = (JSON.parse(review) as { request: { uid: string } }).request.uid;
    expect(plain.text).toBe(
      JSON.stringify({
        apiVersion: 'admission.k8s.io/v1',
        kind: 'AdmissionReview',
        response: { uid, allowed: true },
      }),
    );
  });

  it('accepts a ~6 MiB review (object and oldObject near the etcd limit)', async () => {
    const big = probed({ filler: 'y'.repeat(3 * 1024 * 1024 - 4096) });
    const { status, body } = await hook.post(admissionReview(big, { operation: 'UPDATE', oldObject: big }));
    expect(status).toBe(200);
    expect(body.response.allowed).toBe(true);
  });

  it('counts requests by decision and policy in /metrics and reports readiness', async () => {
    const metrics = await hook.ops('/metrics');
    expect(metrics.status).toBe(200);
    expect(metrics.text).toMatch(
      /tollgate_admission_policy_results_total\{policy="approved-registries",status="fail",action="deny"\} \d+/,
    );
    expect(metrics.text).toMatch(/tollgate_admission_request_duration_seconds_bucket/);
    expect(metrics.text).toMatch(
      /tollgate_bundle_info\{name="webhook-test",version="1.2.3",digest="sha256:[0-9a-f]{64}"\} 1/,
    );
    expect(metrics.text).toMatch(/tollgate_admission_bad_requests_total \d+/);
    expect((await hook.ops('/healthz')).status).toBe(200);
    const ready = await hook.ops('/readyz');
    expect(ready.status).toBe(200);
    expect(ready.text).toContain('webhook-test@1.2.3');
  });
});

describe('tollgate serve: requests in flight', () => {
  it('counts a review while it is read and answered, and stops counting one whose client went away mid-body', async () => {
    const hook = await startTestWebhook(bundle('deny'), { policies });
    try {
      const body = JSON.stringify(admissionReview(probed({}), { uid: 'uid-gone' }));
      const socket = connect({
        host: '127.0.0.1',
        port: hook.webhook.port,
        ca: hook.ca,
        servername: 'localhost',
      });
      await new Promise<void>((done, fail) => {
        socket.once('secureConnect', () => done());
        socket.once('error', fail);
      });
      socket.write(
        `POST /validate HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body.slice(0, 100)}`,
      );
      await waitFor(async () => hook.webhook.server.inFlight() === 1);
      socket.destroy();
      await waitFor(async () => hook.webhook.server.inFlight() === 0);
      // answered reviews are not counted once answered
      const answers = await Promise.all(
        [1, 2, 3].map((n) => hook.post(admissionReview(probed({}), { uid: `uid-after-${n}` }))),
      );
      expect(answers.map((a) => a.body.response.uid)).toEqual(['uid-after-1', 'uid-after-2', 'uid-after-3']);
      expect(hook.webhook.server.inFlight()).toBe(0);
    } finally {
      await hook.close();
    }
  });
});

describe('tollgate serve: warnings and audit annotations', () => {
  let hook: TestWebhook;
  beforeAll(async () => {
    hook = await startTestWebhook(
      bundle(
        'audit',
        'warn',
        `  exemptions:
    - { policy: probe, names: [exempted], reason: migration, ticket: CHG-42, expires: '2999-01-01' }
`,
      ),
      { policies },
    );
  });
  afterAll(() => hook.close());

  it('turns warn-level findings into short single-line warnings, one per finding', async () => {
    const containers = [
      {
        name: 'a',
        image: 'docker.io/library/nginx:1.27-with-a-rather-long-tag-name-to-exceed-the-limit\nnext',
      },
      { name: 'b', image: 'quay.io/x/y:1' },
    ];
    const { body } = await hook.post(admissionReview(deployment(containers)));
    expect(body.response.allowed).toBe(true);
    const warnings: string[] = body.response.warnings;
    expect(warnings).toHaveLength(2);
    for (const warning of warnings) {
      expect(warning.length).toBeLessThanOrEqual(responseLimits.warning);
      expect(warning).not.toMatch(/[\n\r]/);
      expect(warning).toMatch(/^\[approved-registries\] spec\.template\.spec\.containers\[\d\]\.image: /);
    }
  });

  it('keeps all warnings within the total budget', async () => {
    const containers = Array.from({ length: 60 }, (_, i) => ({ name: `c${i}`, image: `quay.io/x/y${i}:1` }));
    const { body } = await hook.post(admissionReview(deployment(containers)));
    const warnings: string[] = body.response.warnings;
    expect(warnings.join('').length).toBeLessThanOrEqual(responseLimits.warningsTotal);
    expect(warnings.at(-1)).toMatch(/more warning\(s\) not shown/);
  });

  it('puts audit findings, records and exemptions into audit annotations with valid keys, never tokens', async () => {
    const object = probed({ 'probe/finding': 'audited', 'probe/record': 'eyJhbGciOiJFZERTQSJ9.secret.sig' });
    const review = admissionReview(object, { uid: 'uid-audit-1' });
    const { body } = await hook.post(review);
    expect(body.response.allowed).toBe(true);
    const annotations: Record<string, string> = body.response.auditAnnotations;
    expect(Object.keys(annotations).sort()).toEqual(['bundle', 'probe.audit', 'probe.break-glass']);
    for (const [key, value] of Object.entries(annotations)) {
      expect(isValidAuditAnnotationKey(key), key).toBe(true);
      // the API server prefixes keys with the webhook name: the result must be a qualified name
      expect(`tollgate.tollgate.dev/${key}`).toMatch(
        /^[a-z0-9.-]{1,253}\/[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$/,
      );
      expect(value.length).toBeLessThanOrEqual(responseLimits.annotationValue);
    }
    expect(JSON.parse(annotations['probe.audit'] ?? '')).toMatchObject({
      path: 'metadata.annotations["probe/finding"]',
    });
    expect(JSON.parse(annotations['probe.break-glass'] ?? '')).toEqual({
      ticket: 'INC-7',
      approver: 'carol',
      token: '[redacted]',
    });
    expect(JSON.stringify(body)).not.toContain('secret.sig');
    const line = hook.logs.find((l) => l.uid === 'uid-audit-1');
    expect(line?.policies).toContainEqual(
      expect.objectContaining({ policy: 'probe', records: ['break-glass'] }),
    );
    expect(JSON.stringify(hook.logs)).not.toContain('secret.sig');
  });

  it('records an exemption that applied in the audit annotations', async () => {
    const object = probed({ 'probe/finding': 'x' });
    object.metadata = { ...object.metadata, name: 'exempted' };
    const { body } = await hook.post(admissionReview(object));
    expect(JSON.parse(body.response.auditAnnotations['probe.exemption'])).toEqual({
      ticket: 'CHG-42',
      expires: '2999-01-01',
    });
  });
});

describe('tollgate serve: deadline and failure action', () => {
  const slowBundle = `apiVersion: tollgate.dev/v1
kind: PolicyBundle
metadata: { name: slow, version: 1.0.0 }
spec:
  policies:
    slow: { enforcement: deny }
`;
  it.each(['deny', 'allow'] as const)(
    'answers with failure action %s before the webhook timeout and aborts the evaluation',
    async (failureAction) => {
      slowPolicy.aborted = false;
      const hook = await startTestWebhook(slowBundle, { policies, timeoutSeconds: 2, failureAction });
      try {
        expect(hook.webhook.deadlineMs).toBe(500);
        const started = Date.now();
        const { status, body } = await hook.post(admissionReview(probed({}), { uid: 'uid-slow' }));
        const elapsed = Date.now() - started;
        expect(status).toBe(200);
        expect(elapsed).toBeLessThan(2000);
        expect(body.response.uid).toBe('uid-slow');
        expect(body.response.allowed).toBe(failureAction === 'allow');
        if (failureAction === 'deny')
          expect(body.response.status.message).toContain('no decision within 500 ms');
        else expect(body.response.warnings[0]).toContain('allowed by failure action');
        expect(body.response.auditAnnotations['failure-action']).toMatch(new RegExp(`^${failureAction}: `));
        await sleep(20);
        expect(slowPolicy.aborted).toBe(true);
        expect(hook.logs.find((l) => l.uid === 'uid-slow' && l.event === 'decision')).toMatchObject({
          cause: 'deadline',
        });
        expect((await hook.ops('/metrics')).text).toMatch(
          /tollgate_admission_failure_action_total\{cause="deadline"\} 1/,
        );
      } finally {
        await hook.close();
      }
    },
  );
});

describe('tollgate serve: bundle reload', () => {
  it('reloads a changed bundle, refuses an invalid one while the last good keeps serving, then recovers', async () => {
    const hook = await startTestWebhook(bundle('off'), { policies });
    try {
      const quay = admissionReview(deployment([{ name: 'a', image: 'quay.io/x/y:1' }]));
      expect((await hook.post(quay)).body.response.allowed).toBe(false);

      // good → another good bundle that approves quay.io
      writeFileSync(
        hook.bundleFile,
        bundle('off').replace('[registry.corp.example/erp]', '[quay.io/x]').replace('1.2.3', '1.2.4'),
      );
      await waitFor(async () => hook.webhook.bundle.current().identity.version === '1.2.4');
      expect((await hook.post(quay)).body.response.allowed).toBe(true);

      // → a bad bundle: refused, 1.2.4 keeps serving, the failure is logged and counted
      writeFileSync(hook.bundleFile, bundle('sometimes').replace('1.2.3', '1.2.5'));
      await waitFor(async () => hook.logs.some((l) => l.event === 'bundle-reload-refused'));
      expect(hook.webhook.bundle.current().identity.version).toBe('1.2.4');
      expect((await hook.post(quay)).body.response.allowed).toBe(true);
      const refused = hook.logs.find((l) => l.event === 'bundle-reload-refused');
      expect(JSON.stringify(refused)).toContain('/spec/policies/probe/enforcement');
      let metrics = (await hook.ops('/metrics')).text;
      expect(metrics).toMatch(/tollgate_bundle_reload_failures_total 1/);
      expect(metrics).toMatch(/tollgate_bundle_last_reload_success 0/);
      expect(metrics).toMatch(/tollgate_bundle_info\{name="webhook-test",version="1.2.4"/);
      expect((await hook.ops('/readyz')).status).toBe(200);

      // → good again
      writeFileSync(hook.bundleFile, bundle('off').replace('1.2.3', '1.2.6'));
      await waitFor(async () => hook.webhook.bundle.current().identity.version === '1.2.6');
      expect((await hook.post(quay)).body.response.allowed).toBe(false);
      metrics = (await hook.ops('/metrics')).text;
      expect(metrics).toMatch(/tollgate_bundle_last_reload_success 1/);
      expect(metrics).toMatch(/tollgate_bundle_info\{name="webhook-test",version="1.2.6"/);
      expect(metrics).not.toMatch(/version="1.2.4"/);
    } finally {
      await hook.close();
    }
  });

  it('keeps serving when the bundle file disappears, logging it once, and picks up its return', async () => {
    const hook = await startTestWebhook(bundle('off'), { policies });
    try {
      const { rmSync } = await import('node:fs');
      rmSync(hook.bundleFile);
      await waitFor(async () => hook.logs.some((l) => l.event === 'bundle-read-failed'));
      await sleep(1000); // several checks at 200 ms
      expect(hook.logs.filter((l) => l.event === 'bundle-read-failed')).toHaveLength(1);
      const quay = admissionReview(deployment([{ name: 'a', image: 'quay.io/x/y:1' }]));
      expect((await hook.post(quay)).body.response.allowed).toBe(false);
      expect((await hook.ops('/readyz')).status).toBe(200);
      writeFileSync(
        hook.bundleFile,
        bundle('off').replace('[registry.corp.example/erp]', '[quay.io/x]').replace('1.2.3', '1.3.0'),
      );
      await waitFor(async () => hook.webhook.bundle.current().identity.version === '1.3.0');
      expect((await hook.post(quay)).body.response.allowed).toBe(true);
    } finally {
      await hook.close();
    }
  });

  it('refuses to start on an invalid bundle', async () => {
    await expect(startTestWebhook(bundle('sometimes'), { policies })).rejects.toThrow(
      /invalid policy bundle/,
    );
  });
});

async function waitFor(condition: () => Promise<boolean>, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await sleep(50);
  }
}
