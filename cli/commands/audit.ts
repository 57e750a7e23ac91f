/**
 * `tollgate audit`: flags → the live cluster judged at the `audit` enforcement point and compared
 * with Git ({@link runAudit}) → the report, PolicyReports in the cluster, the exit code. Git is read
 * with `tollgate check`'s readers (files and directories as kubectl reads them, helm and kustomize
 * renders), wired here because the audit edge does not import the CI edge.
 */
import { parseArgs } from 'node:util';
import { loadManifests, parseManifests } from '../../ci-action/src/gate/manifests.ts';
import type { Manifest } from '../../ci-action/src/gate/manifests.ts';
import { parseRenderSpec, renderSource } from '../../ci-action/src/gate/render.ts';
import { signedBundleVerifier } from '../../io/signing/signing.ts';
import { loadBundleFile } from '../../io/bundle-file.ts';
import { createServices } from '../../io/services.ts';
import { runAudit } from '../../audit/audit.ts';
import { connect } from '../../audit/cluster.ts';
import type { DeclaredObject } from '../../audit/drift.ts';
import { auditExitCode, auditFormats, isAuditFormat, renderAudit } from '../../audit/format.ts';
import { buildReports, writeReports } from '../../audit/reports.ts';
import { InputError } from '../../policies/index.ts';
import { bundleFlags, nowFlag, parseNow, signedBundleFlags } from '../flags.ts';
import type { CommandIO } from '../io.ts';
import { UsageError } from '../io.ts';

const help = `usage: tollgate audit [--kubeconfig FILE] [--context NAME] [--namespace NS]...
                      [--git PATH... | --render helm:CHART_DIR[:values.yaml] | kustomize:DIR]...
                      [--format text|json|sarif|policyreport] [--write-reports] [--now ISO-8601]
                      [--bundle FILE] [--require-signed-bundle --trusted-keys JWKS|PEM
                      [--bundle-signature FILE.jws]] [--offline] [--page-size N]

Audits the live cluster: lists every object of the kinds the bundle's policies judge (custom
resources through discovery; paginated) and judges each as the webhook would admit it now, at the
enforcement point "audit" (a bundle's enforcement.audit, else its admission action). Namespace
labels come from the cluster. Without --kubeconfig: $KUBECONFIG, ~/.kube/config, else the pod's
service account; --context picks a context. --namespace limits the audit to namespaces (then
cluster-scoped kinds are left out, except those Namespace objects).
--git PATH (files or directories, read as tollgate check reads them) or --render (helm template,
kustomize) name what Git declares: the audit then reports declared objects missing from the
cluster, live objects in those namespaces declared nowhere and owned by no controller, fields Git
sets whose live value differs (with the field manager that changed them last), and declared, live
and running images (the digests Pods run, from status.containerStatuses[].imageID).
--write-reports writes wgpolicyk8s.io/v1alpha2 PolicyReports (per namespace) and
ClusterPolicyReports by server-side apply (field manager tollgate) and deletes tollgate's reports
that no longer have anything to say. --format policyreport prints those objects instead.
Exit codes: 0 nothing denied and no drift, 1 a live object is denied or drifted, 2 usage, bundle,
input or cluster errors.
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
  const now = parseNow(values.now);
  const signedBundle = signedBundleFlags(values, io.cwd);
  const bundle = await loadBundleFile(
    values.bundle,
    io.cwd,
    signedBundle ? signedBundleVerifier(signedBundle) : undefined,
  );
  const declared =
    values.git?.length || render.length ? await readGit(values.git ?? [], render, io) : undefined;
  const client = await connect({
    ...(values.kubeconfig !== undefined ? { kubeconfig: values.kubeconfig } : {}),
    ...(values.context !== undefined ? { context: values.context } : {}),
  });
  const services = await createServices({ offline: values.offline === true, registryAuth: 'docker-config' });
  try {
    const result = await runAudit({
      client,
      bundle,
      now,
      pageSize,
      services: services.services,
      ...(values.namespace?.length ? { namespaces: values.namespace } : {}),
      ...(declared ? { declared } : {}),
    });
    if (values['write-reports']) {
      const written = await writeReports(
        client,
        buildReports(result),
        values.namespace?.length ? new Set(values.namespace) : undefined,
      );
      io.stderr(
        `tollgate audit: wrote ${written.applied} report(s) (server-side apply, field manager tollgate), deleted ${written.deleted} stale\n`,
      );
    }
    io.stdout(renderAudit(format, result));
    return auditExitCode(result);
  } finally {
    await services.stop();
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
