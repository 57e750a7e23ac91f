/** `tollgate check [PATH...|-] [--bundle FILE] [--format text|json|sarif|junit|github] [--now ISO-8601] [--render SPEC] [--baseline REF]` */
import { parseArgs } from 'node:util';
import { baselineFingerprints } from '../../ci-action/src/gate/baseline.ts';
import { changedLines } from '../../ci-action/src/gate/git.ts';
import type { ChangedLines } from '../../ci-action/src/report/github.ts';
import { signedBundleVerifier } from '../../io/signing/signing.ts';
import { loadBundleFile } from '../../ci-action/src/gate/check.ts';
import { runPipeline } from '../../ci-action/src/gate/pipeline.ts';
import { parseRenderSpec } from '../../ci-action/src/gate/render.ts';
import type { RenderSpec } from '../../ci-action/src/gate/render.ts';
import { formats, isFormat, renderReport } from '../../ci-action/src/report/index.ts';
import { classifyAgainstBaseline, failsGate } from '../../ci-action/src/report/issues.ts';
import { createServices } from '../../io/services.ts';
import type { CommandIO } from '../io.ts';
import { UsageError } from '../io.ts';

const help = `usage: tollgate check [PATH...|-] [--bundle FILE] [--format text|json|sarif|junit|github]
                      [--now ISO-8601] [--render helm:CHART_DIR[:values.yaml] | kustomize:DIR]...
                      [--baseline GIT_REF] [--require-signed-bundle --trusted-keys JWKS|PEM
                      [--bundle-signature FILE.jws]] [--offline]

Checks Kubernetes manifests (files, directories walked for .yaml/.yml/.json, glob patterns, or -
for stdin, e.g. helm template ... | tollgate check -) against a policy bundle (default: the
embedded finance baseline). --render runs helm template / kustomize (or kubectl kustomize) and
attributes findings to the template files. --baseline checks GIT_REF too and fails only on new
denials. --require-signed-bundle refuses a bundle without a valid detached signature
(default FILE.jws) by one of --trusted-keys. Image signatures (signed-images) are verified
against the registries (Docker config.json credentials); --offline skips registry access and
reports images as unverifiable with the bundle's onUnreachable action.
Exit codes: 0 nothing (new) denied, 1 something denied, 2 usage, bundle or input errors.
`;

/** Parses an ISO-8601 instant given on the command line. */
export function parseNow(value: string | undefined): Date {
  if (value === undefined) return new Date();
  const date = new Date(value);
  if (!/^\d{4}-\d{2}-\d{2}/.test(value) || Number.isNaN(date.getTime())) {
    throw new UsageError(`--now "${value}" is not an ISO-8601 date-time (e.g. 2026-12-30T18:00:00+01:00)`);
  }
  return date;
}

/** Runs the check command. */
export async function run(args: string[], io: CommandIO): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      args,
      allowPositionals: true,
      options: {
        bundle: { type: 'string', short: 'b' },
        format: { type: 'string', short: 'f', default: 'text' },
        now: { type: 'string' },
        render: { type: 'string', multiple: true },
        baseline: { type: 'string' },
        'require-signed-bundle': { type: 'boolean' },
        'trusted-keys': { type: 'string' },
        'bundle-signature': { type: 'string' },
        offline: { type: 'boolean' },
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
  const verify = signedBundleVerifier({
    requireSigned: values['require-signed-bundle'],
    trustedKeys: values['trusted-keys'],
    signature: values['bundle-signature'],
    bundle: values.bundle,
    cwd: io.cwd,
  });
  const bundle = await loadBundleFile(values.bundle, io.cwd, verify);
  const { services } = await createServices({
    offline: values.offline === true,
    registryAuth: 'docker-config',
  });
  const options = { paths: positionals, cwd: io.cwd, bundle, now, render, services };
  const result = await runPipeline({ ...options, readStdin: io.stdin });
  let changed: ChangedLines | undefined;
  if (values.baseline) {
    const base = await baselineFingerprints(values.baseline, options);
    result.issues = classifyAgainstBaseline(result.issues, base.fingerprints);
    changed = await changedLines(values.baseline, io.cwd).catch(() => undefined);
  }
  io.stdout(renderReport(format, result, bundle, now, io.cwd, changed));
  if (result.errors.length > 0) return 2;
  return result.issues.some((issue) => failsGate(issue, 'deny')) ? 1 : 0;
}
