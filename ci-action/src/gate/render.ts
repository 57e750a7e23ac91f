/**
 * Rendered sources: Helm charts and Kustomize overlays are checked as they will be applied, and
 * findings are attributed back to the file a person edits.
 *
 * Attribution (documented in docs/commands.md): a rendered document names its source — helm's
 * `# Source: <chart>/templates/x.yaml` comment, or kustomize's `config.kubernetes.io/origin`
 * annotation when the kustomization sets `buildMetadata: [originAnnotations]`. When that file exists
 * in the repository the finding points at it: at the same field when the source parses as YAML and
 * holds the same object (kustomize resources), otherwise at the line of the same key, matched by
 * its order among that key's occurrences (helm templates; best effort, the rendered position is kept
 * in the report). When the source file does not exist, the finding stays on the rendered line.
 */
import { access, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, normalize, relative, resolve, sep } from 'node:path';
import { promisify } from 'node:util';
import { parse as parseYaml } from 'yaml';
import { isRecord, parsePath, parseSource } from '../../../policies/index.ts';
import type { LocatedFinding, ResourceReport } from './check.ts';

/** Runs a render tool; node:child_process loads only when a render is asked for. */
async function execFileAsync(
  command: string,
  args: string[],
  options: { cwd?: string; timeout?: number; maxBuffer?: number },
): Promise<{ stdout: string; stderr: string }> {
  const { execFile } = await import('node:child_process');
  return promisify(execFile)(command, args, { ...options, encoding: 'utf8' });
}

/** A render request: `helm:CHART_DIR[:values.yaml[,more.yaml]]` or `kustomize:DIR`. */
export type RenderSpec =
  | { kind: 'helm'; chart: string; values: string[]; spec: string }
  | { kind: 'kustomize'; dir: string; spec: string };

/** Parses a `--render` / `render` value; throws with the accepted forms. */
export function parseRenderSpec(value: string): RenderSpec {
  const trimmed = value.trim();
  const [tool, dir, values, ...rest] = trimmed.split(':');
  if (tool === 'helm' && dir && rest.length === 0) {
    return {
      kind: 'helm',
      chart: dir,
      values: values ? values.split(',').filter((v) => v.length > 0) : [],
      spec: trimmed,
    };
  }
  if (tool === 'kustomize' && dir && values === undefined) return { kind: 'kustomize', dir, spec: trimmed };
  throw new Error(`render "${value}" is not helm:CHART_DIR[:values.yaml[,more.yaml]] or kustomize:DIR`);
}

/** A rendered stream: the text and the name it is shown under until attributed to its sources. */
export interface RenderedSource {
  /** Shown as the file of unattributed findings, e.g. `helm:charts/odoo`. */
  name: string;
  text: string;
  /** How `# Source:` paths map to the repository: the chart directory (helm) or the kustomization dir. */
  root: string;
  kind: RenderSpec['kind'];
}

async function onPath(command: string, args: readonly string[]): Promise<boolean> {
  try {
    await execFileAsync(command, [...args], { timeout: 30_000 });
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code !== 'ENOENT';
  }
}

/** Runs helm or kustomize (or `kubectl kustomize`) for a spec, relative to `cwd`. */
export async function renderSource(spec: RenderSpec, cwd: string): Promise<RenderedSource> {
  const run = async (command: string, args: string[]): Promise<string> => {
    try {
      const { stdout } = await execFileAsync(command, args, { cwd, maxBuffer: 256 * 1024 * 1024 });
      return stdout;
    } catch (error) {
      const stderr = (error as { stderr?: string }).stderr?.trim();
      throw new Error(
        `render ${spec.spec}: ${command} ${args.join(' ')} failed: ${stderr || (error as Error).message}`,
        {
          cause: error,
        },
      );
    }
  };
  if (spec.kind === 'helm') {
    if (!(await onPath('helm', ['version', '--short']))) {
      throw new Error(
        `render ${spec.spec}: helm is not on PATH (install helm, or pipe helm template output to tollgate check -)`,
      );
    }
    const args = ['template', 'tollgate-check', spec.chart];
    for (const values of spec.values) args.push('--values', values);
    return { name: spec.spec, text: await run('helm', args), root: spec.chart, kind: 'helm' };
  }
  // A wrapper kustomization adds `buildMetadata: [originAnnotations]`, so every rendered object
  // names the file it came from (paths relative to the wrapper); the annotation is removed again
  // before the objects are checked (see takeKustomizeOrigins).
  const wrapper = await mkdtemp(join(tmpdir(), 'tollgate-kustomize-'));
  try {
    const target = relative(wrapper, resolve(cwd, spec.dir)).split(sep).join('/');
    await writeFile(
      join(wrapper, 'kustomization.yaml'),
      `resources:\n  - ${JSON.stringify(target)}\nbuildMetadata: [originAnnotations]\n`,
    );
    let text: string;
    if (await onPath('kustomize', ['version'])) text = await run('kustomize', ['build', wrapper]);
    else if (await onPath('kubectl', ['version', '--client']))
      text = await run('kubectl', ['kustomize', wrapper]);
    else throw new Error(`render ${spec.spec}: neither kustomize nor kubectl is on PATH`);
    return { name: spec.spec, text, root: wrapper, kind: 'kustomize' };
  } finally {
    await rm(wrapper, { recursive: true, force: true });
  }
}

const chartDirCache = new Map<string, Promise<Map<string, string>>>();

/** Chart directories under `cwd` (4 levels deep, hidden folders and node_modules skipped), by chart name. */
export function chartDirs(cwd: string): Promise<Map<string, string>> {
  let cached = chartDirCache.get(cwd);
  if (!cached) {
    cached = (async () => {
      const found = new Map<string, string>();
      const walk = async (dir: string, depth: number): Promise<void> => {
        let entries;
        try {
          entries = await readdir(join(cwd, dir), { withFileTypes: true });
        } catch {
          return;
        }
        const chart = entries.find((e) => e.isFile() && e.name === 'Chart.yaml');
        if (chart) {
          try {
            const parsed: unknown = parseYaml(await readFile(join(cwd, dir, 'Chart.yaml'), 'utf8'));
            if (isRecord(parsed) && typeof parsed.name === 'string' && !found.has(parsed.name))
              found.set(parsed.name, dir);
          } catch {
            // not a readable chart
          }
        }
        if (depth === 0) return;
        for (const entry of entries) {
          if (entry.isDirectory() && !entry.name.startsWith('.') && entry.name !== 'node_modules')
            await walk(join(dir, entry.name), depth - 1);
        }
      };
      await walk('.', 4);
      return found;
    })();
    chartDirCache.set(cwd, cached);
  }
  return cached;
}

/** Where a rendered document came from, resolved to a repository path that exists. */
async function sourceFileOf(
  declared: string,
  source: RenderedSource | undefined,
  cwd: string,
): Promise<string | undefined> {
  const candidates: string[] = [];
  if (source?.kind === 'helm') {
    // `# Source: <chart name>/templates/x.yaml`: the first segment is the chart, i.e. the chart dir.
    const [, ...rest] = declared.split('/');
    candidates.push(join(source.root, ...rest));
  } else if (source?.kind === 'kustomize') {
    // Origin paths are relative to the wrapper kustomization (an absolute directory).
    candidates.push(relative(cwd, resolve(source.root, declared)));
  } else {
    // Piped `helm template` output: find the chart by the name in its Chart.yaml.
    const [chart, ...rest] = declared.split('/');
    const dir = chart ? (await chartDirs(cwd)).get(chart) : undefined;
    if (dir) candidates.push(join(dir, ...rest));
    candidates.push(declared, join('charts', declared));
  }
  for (const candidate of candidates) {
    const absolute = resolve(cwd, candidate);
    if (!absolute.startsWith(resolve(cwd) + sep)) continue;
    try {
      await access(absolute);
      return normalize(relative(cwd, absolute));
    } catch {
      // try the next candidate
    }
  }
  return undefined;
}

const ORIGIN = 'config.kubernetes.io/origin';

/**
 * Removes the origin annotation kustomize added for attribution (so policies see the objects as
 * they will be applied) and returns the origin path it named.
 */
export function takeKustomizeOrigin(object: Record<string, unknown>): string | undefined {
  const metadata = object.metadata;
  if (!isRecord(metadata) || !isRecord(metadata.annotations)) return undefined;
  const annotations = metadata.annotations;
  const origin = annotations[ORIGIN];
  delete annotations[ORIGIN];
  if (Object.keys(annotations).length === 0) delete metadata.annotations;
  if (typeof origin !== 'string') return undefined;
  try {
    const parsed: unknown = parseYaml(origin);
    return isRecord(parsed) && typeof parsed.path === 'string' ? parsed.path : undefined;
  } catch {
    return undefined;
  }
}

const keyLine = (key: string): RegExp =>
  new RegExp(`^\\s*(?:-\\s+)?["']?${key.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}["']?\\s*:`);

/**
 * Re-points findings of rendered documents at their source files (see the module comment).
 * `texts` maps a rendered stream's name (or `-`) to its text; the rendered position is kept in
 * `finding.rendered`.
 */
export async function attributeRendered(
  reports: ResourceReport[],
  texts: ReadonlyMap<string, string>,
  sources: ReadonlyMap<string, RenderedSource>,
  cwd: string,
  objectsByDocument: ReadonlyMap<string, Record<string, unknown>>,
  origins: ReadonlyMap<string, string> = new Map(),
): Promise<void> {
  const fileCache = new Map<string, Promise<string | undefined>>();
  const readText = (file: string): Promise<string | undefined> => {
    let cached = fileCache.get(file);
    if (!cached) {
      cached = readFile(resolve(cwd, file), 'utf8').catch(() => undefined);
      fileCache.set(file, cached);
    }
    return cached;
  };
  for (const report of reports) {
    const text = texts.get(report.file);
    if (text === undefined) continue;
    const object = objectsByDocument.get(`${report.file}#${report.documentIndex}`);
    for (const result of report.results) {
      for (const finding of result.findings) {
        const declared = finding.renderedFrom ?? origins.get(`${report.file}#${report.documentIndex}`);
        if (!declared) continue;
        const file = await sourceFileOf(declared, sources.get(report.file), cwd);
        if (!file) continue;
        const sourceText = await readText(file);
        if (sourceText === undefined) continue;
        relocate(finding, file, sourceText, text, report, object);
      }
    }
  }
}

function relocate(
  finding: LocatedFinding,
  file: string,
  sourceText: string,
  renderedText: string,
  report: ResourceReport,
  object: Record<string, unknown> | undefined,
): void {
  const rendered = {
    file: finding.file,
    line: finding.line,
    column: finding.column,
    endLine: finding.endLine,
    endColumn: finding.endColumn,
  };
  const segments = parsePath(finding.path);
  let span: { line: number; column: number; endLine: number; endColumn: number } | undefined;
  // 1. The source parses as YAML and holds the same object: exact field position.
  const parsed = parseSource(sourceText);
  if (parsed.errors.length === 0 && object) {
    const name = isRecord(object.metadata) ? object.metadata.name : undefined;
    const sameKind = parsed.documents.filter((d) => isRecord(d.value) && d.value.kind === object.kind);
    const match =
      sameKind.find(
        (d) => isRecord(d.value) && isRecord(d.value.metadata) && d.value.metadata.name === name,
      ) ?? (sameKind.length === 1 ? sameKind[0] : undefined);
    if (match) span = match.locate(segments);
  }
  // 2. A template: the same key, by its order among that key's lines in the document.
  if (!span) {
    const key = [...segments].reverse().find((s): s is string => typeof s === 'string');
    if (key) {
      const pattern = keyLine(key);
      const renderedLines = renderedText.split('\n');
      let ordinal = 0;
      for (let n = report.line; n < finding.line && n <= renderedLines.length; n++) {
        if (pattern.test(renderedLines[n - 1] ?? '')) ordinal++;
      }
      const sourceLines = sourceText.split('\n');
      const hits: number[] = [];
      sourceLines.forEach((text, index) => {
        if (pattern.test(text)) hits.push(index + 1);
      });
      const line = hits[Math.min(ordinal, hits.length - 1)];
      if (line !== undefined) {
        const lineText = sourceLines[line - 1] ?? '';
        const column = lineText.search(/\S/) + 1;
        const dash = /^\s*-\s+/.exec(lineText);
        const start = dash ? dash[0].length + 1 : column;
        span = { line, column: start, endLine: line, endColumn: lineText.trimEnd().length + 1 };
      }
    }
  }
  Object.assign(finding, { file, rendered }, span ?? { line: 1, column: 1, endLine: 1, endColumn: 1 });
}
