/**
 * `tollgate audit`: flags → the live cluster judged at the `audit` enforcement point and compared
 * with Git ({@link runAudit}) → the report, PolicyReports in the cluster, the exit code. Git is read
 * with `tollgate check`'s readers (files and directories as kubectl reads them, helm and kustomize
 * renders), wired here because the audit edge does not import the CI edge.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import type { RunLogOptions } from '../../io/decision-log/runs.ts';
import { loadManifests, parseManifests } from '../../ci-action/src/gate/manifests.ts';
import type { Manifest } from '../../ci-action/src/gate/manifests.ts';
import { parseRenderSpec, renderSource } from '../../ci-action/src/gate/render.ts';
import { signedBundleVerifier } from '../../io/signing/signing.ts';
import { loadBundleFile } from '../../io/bundle-file.ts';
import { createServices } from '../../io/services.ts';
import { runAudit, type AuditResult } from '../../audit/audit.ts';
import { connect } from '../../audit/cluster.ts';
import type { DeclaredObject } from '../../audit/drift.ts';
import {
  auditExitCode,
  auditFormats,
  isAuditFormat,
  renderAuditChunks,
  summarizeAudit,
} from '../../audit/format.ts';
import { buildReports, writeReports } from '../../audit/reports.ts';
import { InputError, parseDuration } from '../../policies/index.ts';
import {
  bundleFlags,
  decisionLogFlags,
  decisionLogSettings,
  nowFlag,
  parseNow,
  signedBundleFlags,
} from '../flags.ts';
import type { CommandIO } from '../io.ts';
import { UsageError } from '../io.ts';

const help = `usage: tollgate audit [--kubeconfig FILE] [--context NAME] [--namespace NS]...
                      [--git PATH... | --render helm:CHART_DIR[:values.yaml] | kustomize:DIR]...
                      [--format text|json|sarif|policyreport] [--write-reports] [--now ISO-8601]
                      [--bundle FILE] [--require-signed-bundle --trusted-keys JWKS|PEM
                      [--bundle-signature FILE.jws]] [--offline] [--page-size N]
                      [--interval DURATION [--metrics-port PORT]] [--exit-zero]
                      [--decision-log FILE [--checkpoint-key FILE] [--writer-id ID]]

Audits the live cluster: lists every object of the kinds the bundle's policies judge (custom
resources through discovery; paginated) and judges each as the webhook would admit it now, at the
enforcement point "audit" (a bundle's enforcement.audit, else its admission action). Namespace
labels come from the cluster. Without --kubeconfig: $KUBECONFIG, ~/.kube/config, else the pod's
service account; --context picks a context. --namespace limits the audit to namespaces: then
cluster-scoped kinds (ClusterRoles, ClusterRoleBindings, webhook configurations, …) are not audited,
except those Namespace objects, and the report names the kinds it left out.
--git PATH (files or directories, read as tollgate check reads them) or --render (helm template,
kustomize) name what Git declares: the audit then reports declared objects missing from the
cluster, live objects in those namespaces declared nowhere and owned by no controller, fields Git
sets whose live value differs (with the field manager that changed them last), and declared, live
and running images (the digests Pods run, from status.containerStatuses[].imageID). Objects carrying
a break-glass approval (annotation tollgate.dev/break-glass) are listed as break-glass changes:
open while the live object differs from Git, resolved once Git matches it.
--write-reports writes wgpolicyk8s.io/v1alpha2 PolicyReports (per namespace; a Namespace's results
in its own) and ClusterPolicyReports (not with --namespace), created or else applied by server-side
apply (field manager tollgate), skips reports whose content is unchanged, and deletes tollgate's
reports that no longer have anything to say. --format policyreport prints those objects instead.
--interval (e.g. 15m, 1h) keeps auditing, rereading the bundle and Git before each run and logging
one JSON line per run on stderr instead of the report; --metrics-port serves Prometheus gauges
(violations per policy, namespace and control; drift per type and namespace; break-glass changes
open and resolved per namespace and control) on /metrics.
--decision-log appends each run to the hash-chained decision log tollgate serve writes: one line per
judged live object (source audit: its decision, each policy's status and control ids, never its
contents) and an audit-run line (objects, denied, drift), each run a closed chain of its own;
--checkpoint-key signs its checkpoints, --writer-id names the writer.
Exit codes: 0 nothing denied and no drift, 1 a live object is denied or drifted, 2 usage, bundle,
input or cluster errors. --exit-zero exits 0 whatever the audit found (a CronJob's Job then fails
only when the audit could not run).
`;

/** Runs the audit command. */
export async function run(args: string[], io: CommandIO): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      args,
      allowPositionals: false,
      options: {
        ...bundleFlags,
        ...nowFlag,
        kubeconfig: { type: 'string' },
        context: { type: 'string' },
        namespace: { type: 'string', short: 'n', multiple: true },
        git: { type: 'string', multiple: true },
        render: { type: 'string', multiple: true },
        format: { type: 'string', short: 'f', default: 'text' },
        'write-reports': { type: 'boolean' },
        offline: { type: 'boolean' },
        'page-size': { type: 'string' },
        interval: { type: 'string' },
        'metrics-port': { type: 'string' },
        'exit-zero': { type: 'boolean' },
        ...decisionLogFlags,
        help: { type: 'boolean', short: 'h' },
      },
    });
  } catch (error) {
    throw new UsageError(`${(error as Error).message}\n\n${help}`);
  }
  const { values } = parsed;
  if (values.help) {
    io.stdout(help);
    return 0;
  }
  const format = values.format ?? 'text';
  if (!isAuditFormat(format))
    throw new UsageError(`--format must be one of ${auditFormats.join(', ')}, not "${format}"`);
  const pageSize = values['page-size'] === undefined ? 500 : Number(values['page-size']);
  if (!Number.isInteger(pageSize) || pageSize < 1)
    throw new UsageError(`--page-size must be a positive integer, not "${values['page-size']}"`);
  let render;
  try {
    render = (values.render ?? []).map(parseRenderSpec);
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
  const minutes = values.interval === undefined ? undefined : parseDuration(values.interval);
  if (values.interval !== undefined && !minutes)
    throw new UsageError(`--interval must be a duration such as 15m, 1h or 1d, not "${values.interval}"`);
  const metricsPort = values['metrics-port'] === undefined ? undefined : Number(values['metrics-port']);
  if (
    metricsPort !== undefined &&
    (!minutes || !Number.isInteger(metricsPort) || metricsPort < 1 || metricsPort > 65535)
  )
    throw new UsageError('--metrics-port takes a port (1-65535) and needs --interval');
  if (values.now !== undefined && minutes)
    throw new UsageError('--now fixes the instant of one audit: it does not combine with --interval');
  const signedBundle = signedBundleFlags(values, io.cwd);
  const client = await connect({
    ...(values.kubeconfig !== undefined ? { kubeconfig: values.kubeconfig } : {}),
    ...(values.context !== undefined ? { context: values.context } : {}),
  });
  const namespaces = values.namespace?.length ? values.namespace : undefined;
  const services = await createServices({ offline: values.offline === true, registryAuth: 'docker-config' });
  /** One audit: the bundle and Git are read again each time (a ConfigMap or a sync may have changed them). */
  const decisionLog = await decisionLogSettings(values, io.cwd);
  const once = async (): Promise<AuditResult> => {
    const bundle = await loadBundleFile(
      values.bundle,
      io.cwd,
      signedBundle ? signedBundleVerifier(signedBundle) : undefined,
    );
    const declared =
      values.git?.length || render.length ? await readGit(values.git ?? [], render, io) : undefined;
    const result = await runAudit({
      client,
      bundle,
      now: parseNow(values.now),
      pageSize,
      services: services.services,
      ...(namespaces ? { namespaces } : {}),
      ...(declared ? { declared } : {}),
    });
    if (values['write-reports']) {
      const written = await writeReports(
        client,
        buildReports(result),
        namespaces ? new Set(namespaces) : undefined,
      );
      if (!minutes)
        io.stderr(
          `tollgate audit: wrote ${written.applied} report(s) (${written.created} created, the rest by server-side apply; field manager tollgate), ${written.unchanged} unchanged, deleted ${written.deleted} stale\n`,
        );
    }
    if (decisionLog !== undefined)
      await recordAudit(result, {
        file: resolve(io.cwd, decisionLog.file),
        label: decisionLog.file,
        component: 'tollgate-audit',
        ...(decisionLog.key ? { key: decisionLog.key } : {}),
        // One writer per run: a second run under the same id would repeat its sequence numbers.
        ...(decisionLog.writer !== undefined && !minutes ? { writer: decisionLog.writer } : {}),
      });
    return result;
  };
  try {
    if (!minutes) {
      const result = await once();
      // Written in pieces of about 64 KB, each after the last was taken: a pipe (a CI step, `| jq`)
      // would otherwise queue the whole document in memory.
      let pending = '';
      for (const chunk of renderAuditChunks(format, result)) {
        pending += chunk;
        if (pending.length < 65_536) continue;
        io.stdout(pending);
        pending = '';
        await io.drained?.();
      }
      if (pending !== '') io.stdout(pending);
      return values['exit-zero'] ? 0 : auditExitCode(result);
    }
    await repeat(once, minutes, metricsPort, io);
    return 0;
  } finally {
    await services.stop();
  }
}

/** Audits every `minutes` until SIGTERM or SIGINT, logging one JSON line per run; a failed run is logged and retried next time. */
async function repeat(
  once: () => Promise<AuditResult>,
  minutes: number,
  metricsPort: number | undefined,
  io: CommandIO,
): Promise<void> {
  const { createAuditMetrics } = await import('../../audit/metrics.ts');
  const metrics = await createAuditMetrics();
  const server = metricsPort !== undefined ? await metrics.listen(metricsPort) : undefined;
  const stop = new AbortController();
  const onSignal = () => stop.abort();
  process.once('SIGTERM', onSignal);
  process.once('SIGINT', onSignal);
  try {
    while (!stop.signal.aborted) {
      const started = performance.now();
      try {
        const result = await once();
        const seconds = (performance.now() - started) / 1000;
        metrics.observe(result, seconds);
        io.stderr(
          `${JSON.stringify({ event: 'audit', at: result.now, seconds: Number(seconds.toFixed(2)), ...summarizeAudit(result), forbidden: result.forbidden })}\n`,
        );
      } catch (error) {
        metrics.failed();
        io.stderr(`${JSON.stringify({ event: 'audit-failed', error: (error as Error).message })}\n`);
      }
      await sleep(minutes * 60_000, undefined, { signal: stop.signal }).catch(() => undefined);
    }
  } finally {
    process.off('SIGTERM', onSignal);
    process.off('SIGINT', onSignal);
    server?.close();
  }
}

/** What Git declares: files and directories as `tollgate check` reads them, and renders. */
async function readGit(
  paths: readonly string[],
  render: ReturnType<typeof parseRenderSpec>[],
  io: CommandIO,
): Promise<DeclaredObject[]> {
  const manifests: Manifest[] = [];
  const errors: string[] = [];
  if (paths.length > 0) {
    const set = await loadManifests(paths, io.cwd, io.stdin);
    if (set.files === 0 && set.errors.length === 0)
      throw new UsageError(`--git ${paths.join(' ')}: no .yaml, .yml or .json files found`);
    manifests.push(...set.manifests);
    errors.push(...set.errors.map((e) => `${e.file}:${e.line}:${e.column}: ${e.message}`));
  }
  for (const spec of render) {
    const rendered = await renderSource(spec, io.cwd);
    const set = parseManifests(rendered.name, rendered.text);
    manifests.push(...set.manifests);
    errors.push(...set.errors.map((e) => `${e.file}:${e.line}:${e.column}: ${e.message}`));
  }
  // Drift against an unreadable declaration would report its objects as undeclared: refuse it.
  if (errors.length > 0)
    throw new InputError('--git', `cannot read what Git declares:\n  ${errors.join('\n  ')}`);
  return manifests.map((m) => ({
    object: m.object,
    source: { file: m.document.renderedFrom ?? m.file, line: m.document.span.line },
  }));
}

/** Records an audit run in the decision log: a line per judged live object and the run line. */
async function recordAudit(result: AuditResult, options: RunLogOptions): Promise<void> {
  const { objectDecisionLine } = await import('../../io/decision-log/line.ts');
  const { recordRun } = await import('../../io/decision-log/runs.ts');
  const judged = result.audited.filter((item) => item.decision !== undefined);
  const denied = judged.filter((item) => item.decision === 'deny').length;
  const warned = judged.filter(
    (item) =>
      item.decision === 'allow' &&
      item.results.some((r) => r.status === 'warn' || r.status === 'fail' || r.status === 'error'),
  ).length;
  await recordRun(
    options,
    judged.map((item) =>
      objectDecisionLine({
        source: 'audit',
        object: item.object,
        decision: item.decision ?? 'allow',
        results: item.results,
        bundle: result.bundle,
        cluster: result.cluster,
      }),
    ),
    {
      event: 'audit-run',
      source: 'audit',
      bundle: { ...result.bundle },
      resources: judged.length,
      denied,
      warned,
      drift: result.drift?.entries.length ?? 0,
      result: auditExitCode(result) === 0 ? 'pass' : 'fail',
      cluster: result.cluster,
    },
  );
}
