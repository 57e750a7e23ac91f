/**
 * The GitHub Action: check the workspace's manifests with the shared engine, annotate the exact
 * lines (denials and changed lines first, within GitHub's per-step caps), write the job summary,
 * SARIF and the JSON report, set outputs, and fail only on (new, with a baseline) denials.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname, relative, resolve } from 'node:path';
import * as core from '@actions/core';
import * as github from '@actions/github';
import { TollgateError } from '../../../policies/index.ts';
import { loadCheckpointKey } from '../../../io/decision-log/checkpoint.ts';
import { ciContext } from '../../../io/decision-log/line.ts';
import { runGate } from '../gate/run.ts';
import type { Annotation, ChangedLines } from '../report/github.ts';
import { planAnnotations } from '../report/github.ts';
import { failsGate } from '../report/issues.ts';
import { buildJsonReport } from '../report/json.ts';
import { buildSarif, sarifLeftOutLine, selectSarifResults } from '../report/sarif.ts';
import { buildSummary } from '../report/summary.ts';
import type { LinkBase } from '../report/summary.ts';
import { freezeSummary } from './freeze.ts';
import { changedFiles, changedLines, git } from '../gate/git.ts';
import { getInputs } from './inputs.ts';
import type { ActionSettings } from './inputs.ts';

/** The pull request this run is for, if any (from the event payload). */
function pullRequest(): { number: number; baseSha?: string; headSha?: string } | undefined {
  const pr = github.context.payload.pull_request;
  if (!pr || typeof pr.number !== 'number') return undefined;
  const base = (pr.base as { sha?: unknown } | undefined)?.sha;
  const head = (pr.head as { sha?: unknown } | undefined)?.sha;
  return {
    number: pr.number,
    ...(typeof base === 'string' ? { baseSha: base } : {}),
    ...(typeof head === 'string' ? { headSha: head } : {}),
  };
}

/** The ref to diff against for changed files/lines: the baseline, else the PR base, else GITHUB_BASE_REF. */
function diffBase(settings: ActionSettings): string | undefined {
  if (settings.baseline) return settings.baseline;
  const pr = pullRequest();
  if (pr?.baseSha) return pr.baseSha;
  const baseRef = process.env.GITHUB_BASE_REF;
  return baseRef ? `origin/${baseRef}` : undefined;
}

async function repoPrefix(cwd: string): Promise<string> {
  try {
    return (await git(['rev-parse', '--show-prefix'], cwd)).trim();
  } catch {
    return '';
  }
}

/** Files the pull request changed, relative to cwd: from the API with a token, else from git. */
async function filesChanged(
  settings: ActionSettings,
  base: string | undefined,
  notes: string[],
): Promise<Set<string> | undefined> {
  const pr = pullRequest();
  if (settings.token && pr) {
    try {
      const octokit = github.getOctokit(settings.token);
      const files = await octokit.paginate(octokit.rest.pulls.listFiles, {
        ...github.context.repo,
        pull_number: pr.number,
        per_page: 100,
      });
      const prefix = await repoPrefix(settings.cwd);
      return new Set(
        files
          .filter((f) => f.status !== 'removed' && f.filename.startsWith(prefix))
          .map((f) => f.filename.slice(prefix.length)),
      );
    } catch (error) {
      notes.push(
        `the pull-request files API failed (${(error as Error).message}); changed files were taken from git diff instead.`,
      );
    }
  }
  if (base) return new Set(await changedFiles(base, settings.cwd));
  notes.push(
    '`changed-only` is set but there is no pull request or baseline to compare with: every file was checked.',
  );
  return undefined;
}

function emit(annotation: Annotation): void {
  const properties: core.AnnotationProperties = {
    title: annotation.title,
    file: annotation.file,
    startLine: annotation.line,
    endLine: annotation.endLine,
    startColumn: annotation.column,
    endColumn: annotation.endColumn,
  };
  if (annotation.level === 'error') core.error(annotation.message, properties);
  else if (annotation.level === 'warning') core.warning(annotation.message, properties);
  else core.notice(annotation.message, properties);
}

async function writeTo(file: string, text: string, cwd: string): Promise<string> {
  const path = resolve(cwd, file);
  await mkdir(dirname(path), { recursive: true });
  await writeFile(path, text);
  return path;
}

/** A path relative to the workspace when inside it, else absolute. */
function shown(path: string, cwd: string): string {
  const rel = relative(cwd, path);
  return rel && !rel.startsWith('..') ? rel : path;
}

/** Runs the action; never throws (failures are reported with core.setFailed). */
export async function run(): Promise<void> {
  try {
    const settings = getInputs({
      cwd: process.cwd(),
      ...(process.env.GITHUB_WORKSPACE ? { workspace: process.env.GITHUB_WORKSPACE } : {}),
      ...(process.env.RUNNER_TEMP ? { runnerTemp: process.env.RUNNER_TEMP } : {}),
    });
    await check(settings);
  } catch (error) {
    if (error instanceof TollgateError) core.setFailed(error.message);
    else
      core.setFailed(
        `tollgate internal error: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`,
      );
  }
}

async function check(settings: ActionSettings): Promise<void> {
  const { cwd, now } = settings;
  const notes: string[] = [];
  const base = diffBase(settings);
  const onlyFiles = settings.changedOnly ? await filesChanged(settings, base, notes) : undefined;
  // The same run as `tollgate check`: bundle (and its signature), services, namespace inventory
  // (read from the base of the pull request, which the pull request cannot change), baseline.
  const {
    bundle,
    result,
    baseline: baselineInfo,
  } = await runGate({
    paths: settings.paths,
    cwd,
    now,
    render: settings.render,
    offline: settings.offline,
    readStdin: async () => '',
    ...(settings.bundle ? { bundle: settings.bundle } : {}),
    ...(settings.signedBundle ? { signedBundle: settings.signedBundle } : {}),
    ...(settings.baseline ? { baseline: settings.baseline } : {}),
    ...(settings.namespaces ? { namespaces: settings.namespaces } : {}),
    ...(settings.defaultNamespace ? { defaultNamespace: settings.defaultNamespace } : {}),
    ...(settings.namespaces && base ? { namespacesRef: base } : {}),
    ...(onlyFiles ? { onlyFiles } : {}),
    ...(settings.decisionLog
      ? {
          decisionLog: {
            file: settings.decisionLog,
            ci: ciContext(process.env),
            failOn: settings.failOn,
            ...(settings.checkpointKey
              ? { key: await loadCheckpointKey(resolve(cwd, settings.checkpointKey)) }
              : {}),
          },
        }
      : {}),
  });
  let changed: ChangedLines | undefined;
  if (base) {
    try {
      changed = await changedLines(base, cwd);
    } catch (error) {
      notes.push(`changed lines unknown (${(error as Error).message}); annotations are ranked without them.`);
    }
  }

  // Annotations: input errors first, then ranked issues, within the per-level caps; a failing run
  // keeps one error for its final message (core.setFailed is an error annotation too).
  const failing = result.issues.filter((issue) => failsGate(issue, settings.failOn));
  const failed = failing.length > 0 || result.errors.length > 0;
  const plan = planAnnotations(result.issues, { changed, inputErrors: result.errors, failing: failed });
  for (const annotation of plan.annotations) emit(annotation);

  // Reports.
  const json = {
    ...buildJsonReport(result.reports, result.errors, result.summary, bundle.identity, now),
    issues: result.issues,
    ...(baselineInfo ? { baseline: baselineInfo } : {}),
  };
  const reportPath = await writeTo(settings.reportFile, `${JSON.stringify(json, null, 2)}\n`, cwd);
  let sarifPath: string | undefined;
  if (settings.sarifFile) {
    const sarif = buildSarif(result.issues, bundle, {
      cwd,
      executionSuccessful: result.errors.length === 0,
      ...(settings.sarifCategory ? { automationId: `${settings.sarifCategory.replace(/\/?$/, '/')}` } : {}),
    });
    sarifPath = await writeTo(settings.sarifFile, `${JSON.stringify(sarif, null, 2)}\n`, cwd);
    const leftOut = sarifLeftOutLine(selectSarifResults(result.issues));
    if (leftOut) {
      notes.push(leftOut);
      core.info(`tollgate: ${leftOut}`);
    }
  }
  if (process.env.GITHUB_STEP_SUMMARY) {
    const server = process.env.GITHUB_SERVER_URL ?? 'https://github.com';
    const repository = process.env.GITHUB_REPOSITORY;
    const sha = pullRequest()?.headSha ?? process.env.GITHUB_SHA;
    const links: LinkBase | undefined =
      repository && sha ? { server, repository, sha, prefix: await repoPrefix(cwd) } : undefined;
    const freeze = await freezeSummary(bundle, result.reports, now);
    const markdown = buildSummary({
      bundle,
      now,
      reports: result.reports,
      inputErrors: result.errors,
      issues: result.issues,
      failed,
      failOn: settings.failOn,
      annotations: plan,
      notes,
      ...(baselineInfo ? { baseline: baselineInfo } : {}),
      ...(changed ? { changed } : {}),
      ...(links ? { links } : {}),
      ...(freeze ? { freeze } : {}),
    });
    await core.summary.addRaw(markdown).write();
  }

  // Outputs.
  const counts = { deny: 0, warn: 0, audit: 0 };
  for (const issue of result.issues) counts[issue.action]++;
  core.setOutput('deny', counts.deny);
  core.setOutput('warn', counts.warn);
  core.setOutput('audit', counts.audit);
  core.setOutput('denied', result.summary.denied);
  core.setOutput(
    'new-denials',
    result.issues.filter((i) => i.action === 'deny' && i.baseline !== 'existing').length,
  );
  core.setOutput('failed', failed);
  core.setOutput('report', shown(reportPath, cwd));
  if (sarifPath) core.setOutput('sarif-file', shown(sarifPath, cwd));

  const line = `tollgate: ${result.summary.resources} resource(s) in ${result.summary.files} file(s); ${counts.deny} deny, ${counts.warn} warn, ${counts.audit} audit finding(s)`;
  core.info(line);
  if (failed) {
    const parts: string[] = [];
    if (failing.length > 0) {
      parts.push(
        `${failing.length} ${baselineInfo ? 'new ' : ''}finding(s) at ${settings.failOn === 'warn' ? 'deny or warn' : 'deny'}`,
      );
    }
    if (result.errors.length > 0) parts.push(`${result.errors.length} input error(s)`);
    core.setFailed(`tollgate denied: ${parts.join(' and ')} (see the annotations and the job summary)`);
  }
}
