/** `tollgate check`: flags → {@link runGate} → the report in the chosen format and the exit code. */
import { parseArgs } from 'node:util';
import { ciContext } from '../../io/decision-log/line.ts';
import { changedLines } from '../../ci-action/src/gate/git.ts';
import { parseRenderSpec } from '../../ci-action/src/gate/render.ts';
import type { RenderSpec } from '../../ci-action/src/gate/render.ts';
import { runGate } from '../../ci-action/src/gate/run.ts';
import type { ChangedLines } from '../../ci-action/src/report/github.ts';
import { formats, isFormat, renderReport } from '../../ci-action/src/report/index.ts';
import { sarifLeftOutLine, selectSarifResults } from '../../ci-action/src/report/sarif.ts';
import { failsGate } from '../../ci-action/src/report/issues.ts';
import {
  bundleFlags,
  decisionLogFlags,
  decisionLogSettings,
  defaultNamespaceFlag,
  nowFlag,
  optionalDefaultNamespace,
  parseNow,
  signedBundleFlags,
} from '../flags.ts';
import type { CommandIO } from '../io.ts';
import { UsageError } from '../io.ts';

const help = `usage: tollgate check [PATH...|-] [--bundle FILE] [--format text|json|sarif|junit|github]
                      [--now ISO-8601] [--render helm:CHART_DIR[:values.yaml] | kustomize:DIR]...
                      [--baseline GIT_REF] [--require-signed-bundle --trusted-keys JWKS|PEM
                      [--bundle-signature FILE.jws]] [--offline]
                      [--namespaces FILE [--namespaces-ref GIT_REF]] [--default-namespace NS]
                      [--decision-log FILE [--checkpoint-key FILE] [--writer-id ID]]

Checks Kubernetes manifests (files, directories walked for .yaml/.yml/.json, glob patterns, or -
for stdin, e.g. helm template ... | tollgate check -) against a policy bundle (default: the
embedded finance baseline). --render runs helm template / kustomize (or kubectl kustomize) and
attributes findings to the template files. --baseline checks GIT_REF too and fails only on new
denials. --require-signed-bundle refuses a bundle without a valid detached signature
(default FILE.jws) by one of --trusted-keys. Image signatures (signed-images) are verified
against the registries (Docker config.json credentials); --offline skips registry access and
reports images as unverifiable with the bundle's onUnreachable action.
--namespaces names the trusted namespace inventory (Namespace objects, e.g. kubectl get namespaces
-o yaml, maintained by the security team): tenant labels come only from it, read from
--namespaces-ref or --baseline when given, never from Namespace manifests in the checked input; it
may also list the ResourceQuotas and LimitRanges that exist (kubectl get
namespaces,resourcequotas,limitranges -A -o yaml); without it every namespace is judged as an
unknown tenant.
--decision-log appends the run to the hash-chained decision log tollgate serve writes: one line per
judged manifest (decision, each policy's status, version, field paths and control ids; never the
manifest's contents) and a closing ci-run line, each with the CI context (repository, ref, commit,
actor, workflow and run from GitHub Actions' environment; else the commit of HEAD).
--checkpoint-key signs the run's checkpoints (PEM or JWK private key); --writer-id names the writer.
tollgate evidence verify and evidence report read it beside the webhook's log.
--default-namespace NS judges a namespaced manifest without metadata.namespace as if in NS, as
kubectl would create it in its context's namespace and the webhook would see it (default: the
bundle's spec.defaultNamespace, else default).
Exit codes: 0 nothing (new) denied, 1 something denied, 2 usage, bundle or input errors.
`;

/** Runs the check command. */
export async function run(args: string[], io: CommandIO): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      args,
      allowPositionals: true,
      options: {
        ...bundleFlags,
        ...nowFlag,
        ...defaultNamespaceFlag,
        format: { type: 'string', short: 'f', default: 'text' },
        render: { type: 'string', multiple: true },
        baseline: { type: 'string' },
        namespaces: { type: 'string' },
        'namespaces-ref': { type: 'string' },
        offline: { type: 'boolean' },
        ...decisionLogFlags,
        help: { type: 'boolean', short: 'h' },
      },
    });
  } catch (error) {
    throw new UsageError(`${(error as Error).message}\n\n${help}`);
  }
  const { values, positionals } = parsed;
  if (values.help) {
    io.stdout(help);
    return 0;
  }
  const format = values.format ?? 'text';
  if (!isFormat(format))
    throw new UsageError(`--format must be one of ${formats.join(', ')}, not "${format}"`);
  if (positionals.length === 0 && !values.render?.length) throw new UsageError(`no paths given\n\n${help}`);
  let render: RenderSpec[];
  try {
    render = (values.render ?? []).map(parseRenderSpec);
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
  const now = parseNow(values.now);
  const defaultNamespace = optionalDefaultNamespace(values['default-namespace']);
  const signedBundle = signedBundleFlags(values, io.cwd);
  if (values['namespaces-ref'] !== undefined && values.namespaces === undefined)
    throw new UsageError('--namespaces-ref takes effect only with --namespaces FILE');
  const decisionLog = await decisionLogSettings(values, io.cwd);
  const { bundle, result } = await runGate({
    paths: positionals,
    cwd: io.cwd,
    now,
    render,
    offline: values.offline === true,
    readStdin: io.stdin,
    ...(values.bundle !== undefined ? { bundle: values.bundle } : {}),
    ...(signedBundle ? { signedBundle } : {}),
    ...(values.baseline !== undefined ? { baseline: values.baseline } : {}),
    ...(values.namespaces !== undefined ? { namespaces: values.namespaces } : {}),
    ...(defaultNamespace !== undefined ? { defaultNamespace } : {}),
    // The inventory is read from the base of the change: --namespaces-ref, else the baseline.
    ...((values['namespaces-ref'] ?? values.baseline) !== undefined
      ? { namespacesRef: values['namespaces-ref'] ?? values.baseline }
      : {}),
    ...(decisionLog !== undefined
      ? { decisionLog: { ...decisionLog, ci: ciContext(io.env), failOn: 'deny' as const } }
      : {}),
  });
  let changed: ChangedLines | undefined;
  if (values.baseline) changed = await changedLines(values.baseline, io.cwd).catch(() => undefined);
  io.stdout(renderReport(format, result, bundle, now, io.cwd, changed));
  const leftOut = format === 'sarif' ? sarifLeftOutLine(selectSarifResults(result.issues)) : undefined;
  if (leftOut) io.stderr(`tollgate: ${leftOut}\n`);
  if (result.errors.length > 0) return 2;
  return result.issues.some((issue) => failsGate(issue, 'deny')) ? 1 : 0;
}
