/**
 * GitHub annotations: ranking (GitHub shows only 10 errors, 10 warnings and 10 notices per step and
 * drops the rest silently), and the `::error file=…::msg` workflow-command text used by
 * `tollgate check --format github` and printed by the action.
 */
import type { Issue } from './issues.ts';
import { failsGate, objectLabel } from './issues.ts';

/** Annotation levels, one per reported action. */
export type AnnotationLevel = 'error' | 'warning' | 'notice';

/** One annotation as GitHub takes it. */
export interface Annotation {
  level: AnnotationLevel;
  file: string;
  line: number;
  endLine: number;
  column: number;
  endColumn: number;
  title: string;
  message: string;
}

/** Added lines per file (1-based, new side of the diff), from `git diff` hunks. */
export type ChangedLines = ReadonlyMap<string, ReadonlySet<number>>;

/** GitHub's per-step cap for each annotation level. */
export const ANNOTATION_LIMIT = 10;

const levelOf: Record<Issue['action'], AnnotationLevel> = { deny: 'error', warn: 'warning', audit: 'notice' };
const actionRank: Record<Issue['action'], number> = { deny: 0, warn: 1, audit: 2 };

/** Whether any line of the issue's span was added or changed by the pull request. */
export function onChangedLine(issue: Issue, changed: ChangedLines | undefined): boolean {
  const lines = changed?.get(issue.file);
  if (!lines) return false;
  for (let line = issue.line; line <= issue.endLine; line++) if (lines.has(line)) return true;
  return false;
}

/**
 * Orders issues for display: denials first, then new (with a baseline) before pre-existing, then
 * those on lines the pull request changed, then by file and line. Stable for equal keys.
 */
export function rankIssues(issues: readonly Issue[], changed?: ChangedLines): Issue[] {
  const keyed = issues.map((issue, index) => ({
    issue,
    index,
    key: [
      actionRank[issue.action],
      issue.baseline === 'existing' ? 1 : 0,
      onChangedLine(issue, changed) ? 0 : 1,
    ],
  }));
  keyed.sort((a, b) => {
    for (let i = 0; i < a.key.length; i++) {
      const d = (a.key[i] ?? 0) - (b.key[i] ?? 0);
      if (d !== 0) return d;
    }
    return a.issue.file.localeCompare(b.issue.file) || a.issue.line - b.issue.line || a.index - b.index;
  });
  return keyed.map((k) => k.issue);
}

/** What was annotated and how many issues per level did not fit. */
export interface AnnotationPlan {
  annotations: Annotation[];
  omitted: Record<AnnotationLevel, number>;
}

/** A file tollgate could not read, annotated as an error before any finding. */
export interface InputErrorAt {
  readonly file: string;
  readonly line: number;
  readonly column: number;
  readonly message: string;
}

/** Options of {@link planAnnotations}. */
export interface AnnotationOptions {
  /** Lines the pull request changed: issues on them rank first and are tagged. */
  readonly changed?: ChangedLines | undefined;
  /** Input errors, annotated first among the errors. */
  readonly inputErrors?: readonly InputErrorAt[];
  /**
   * Whether the step fails: its failure message (the Action's final message, or the runner's
   * "Process completed with exit code" for `--format github`) is one more error annotation of the
   * step, so one error fewer is planned.
   */
  readonly failing?: boolean;
}

/**
 * Picks the annotations of one step within GitHub's {@link ANNOTATION_LIMIT} per level: input
 * errors first, then issues in rank order, leaving room for the failure message of a failing step.
 * The last annotation of a level that overflowed says how many more there are.
 */
export function planAnnotations(issues: readonly Issue[], options: AnnotationOptions = {}): AnnotationPlan {
  const { changed } = options;
  const limitOf = (level: AnnotationLevel): number =>
    level === 'error' && options.failing ? ANNOTATION_LIMIT - 1 : ANNOTATION_LIMIT;
  const annotations: Annotation[] = [];
  const shown: Record<AnnotationLevel, number> = { error: 0, warning: 0, notice: 0 };
  const omitted: Record<AnnotationLevel, number> = { error: 0, warning: 0, notice: 0 };
  const lastOf: Partial<Record<AnnotationLevel, Annotation>> = {};
  const add = (level: AnnotationLevel, make: () => Annotation): void => {
    if (shown[level] >= limitOf(level)) {
      omitted[level]++;
      return;
    }
    shown[level]++;
    const annotation = make();
    annotations.push(annotation);
    lastOf[level] = annotation;
  };
  for (const error of options.inputErrors ?? []) add('error', () => inputErrorAnnotation(error));
  for (const issue of rankIssues(issues, changed)) {
    const level = levelOf[issue.action];
    add(level, () => annotationOf(issue, level, changed));
  }
  for (const level of ['error', 'warning', 'notice'] as const) {
    const last = lastOf[level];
    if (last && omitted[level] > 0) {
      last.message += `\n\n… and ${omitted[level]} more ${level === 'error' ? 'error' : level}${omitted[level] === 1 ? '' : 's'} not shown as annotations (GitHub shows ${ANNOTATION_LIMIT} per step); see the job summary or the SARIF report.`;
    }
  }
  return { annotations, omitted };
}

function inputErrorAnnotation(error: InputErrorAt): Annotation {
  const line = Math.max(1, error.line);
  const column = Math.max(1, error.column);
  return {
    level: 'error',
    file: error.file,
    line,
    endLine: line,
    column,
    endColumn: column,
    title: 'tollgate: input error',
    message: error.message,
  };
}

function annotationOf(issue: Issue, level: AnnotationLevel, changed: ChangedLines | undefined): Annotation {
  const tags: string[] = [];
  if (issue.baseline === 'existing') tags.push('pre-existing');
  else if (issue.baseline === 'new') tags.push('new');
  if (changed && onChangedLine(issue, changed)) tags.push('changed line');
  const title = `tollgate ${issue.action}: ${issue.policy}${tags.length > 0 ? ` (${tags.join(', ')})` : ''}`;
  const where = issue.path ? `${issue.path}: ` : '';
  const template = issue.renderedFrom ? ` [rendered from ${issue.renderedFrom}]` : '';
  const fix = issue.fix ? `\nfix: ${issue.fix}` : '';
  // A span ending at column 1 ends with the previous line (the node's trailing newline).
  const endLine = issue.endColumn === 1 && issue.endLine > issue.line ? issue.endLine - 1 : issue.endLine;
  return {
    level,
    file: issue.file,
    line: issue.line,
    endLine,
    column: issue.column,
    endColumn: issue.endColumn,
    title,
    message: `${objectLabel(issue.object)}${template}: ${where}${issue.message}${fix}`,
  };
}

/** Escapes a workflow-command message (`%`, CR, LF), as the runner decodes it. */
export function escapeData(value: string): string {
  return value.replace(/%/g, '%25').replace(/\r/g, '%0D').replace(/\n/g, '%0A');
}

/** Escapes a workflow-command property value (also `:` and `,`). */
export function escapeProperty(value: string): string {
  return escapeData(value).replace(/:/g, '%3A').replace(/,/g, '%2C');
}

/** Formats one annotation as a workflow command: `::error file=F,line=L,endLine=E,col=C,endColumn=D,title=T::msg`. */
export function formatWorkflowCommand(annotation: Annotation): string {
  const props: Array<[string, string | number]> = [
    ['file', annotation.file],
    ['line', annotation.line],
    ['endLine', annotation.endLine],
    ['col', annotation.column],
    ['endColumn', annotation.endColumn],
    ['title', annotation.title],
  ];
  const text = props.map(([key, value]) => `${key}=${escapeProperty(String(value))}`).join(',');
  return `::${annotation.level} ${text}::${escapeData(annotation.message)}`;
}

/**
 * The `--format github` output: ranked, capped workflow commands and one closing line. A failing
 * check (exit code 1 or 2) leaves room for the runner's error annotation about the exit code.
 */
export function formatGithub(
  issues: readonly Issue[],
  inputErrors: readonly InputErrorAt[],
  closing: string,
  changed?: ChangedLines,
): string {
  const failing = inputErrors.length > 0 || issues.some((issue) => failsGate(issue, 'deny'));
  const plan = planAnnotations(issues, { changed, inputErrors, failing });
  const lines = plan.annotations.map(formatWorkflowCommand);
  lines.push(closing);
  return `${lines.join('\n')}\n`;
}
