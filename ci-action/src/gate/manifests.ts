/**
 * Manifest discovery for the CI edge: walks paths for .yaml/.yml/.json files, reads every
 * document as kubectl does (the objects `kubectl apply -f` would send, positions from the YAML
 * source), and reports unreadable input with file and line without stopping.
 */
import { readFileSync } from 'node:fs';
import { readdir, stat } from 'node:fs/promises';
import { join, relative, resolve } from 'node:path';
import type { KubeObject, SourceDocument } from '../../../policies/index.ts';
import { readAsKubectl } from '../../../policies/index.ts';
import { kubectlYaml } from './kube-yaml.ts';

/** One Kubernetes object read from a file, with the document it came from. */
export interface Manifest {
  /** Path as shown to the user (relative to the working directory), or `-` for stdin. */
  readonly file: string;
  readonly document: SourceDocument;
  readonly object: KubeObject;
}

/** A file or document that could not be read. */
export interface ManifestError {
  readonly file: string;
  readonly line: number;
  readonly column: number;
  readonly message: string;
}

/** What discovery found. */
export interface ManifestSet {
  readonly manifests: Manifest[];
  readonly errors: ManifestError[];
  readonly files: number;
}

/**
 * The extensions kubectl's directory walk reads (cli-runtime FileExtensions, compared with Go's
 * filepath.Ext: case-sensitive, the text from the last dot, so `.yaml` alone counts).
 */
const kubectlExtensions = new Set(['.json', '.yaml', '.yml']);

/** Whether `kubectl apply -f DIR` reads a file of this name. */
export function kubectlReadsName(name: string): boolean {
  const dot = name.lastIndexOf('.');
  return dot >= 0 && kubectlExtensions.has(name.slice(dot));
}

/** What to do with Helm chart directories met in a walk. */
export interface DiscoverOptions {
  /** Chart directories (absolute) rendered by `--render helm:`; their raw files are not read. */
  readonly renderedCharts?: ReadonlySet<string>;
}

/** A chart directory found where manifests were expected, as an input error. */
export function unrenderedChart(dir: string): ManifestError {
  return {
    file: dir,
    line: 0,
    column: 0,
    message:
      'a Helm chart (Chart.yaml) was found and not judged: its templates are not manifests. ' +
      `Check it with --render helm:${dir}`,
  };
}

/**
 * Expands paths (files or directories) to files as `kubectl apply -R -f` does: every `.yaml`,
 * `.yml` and `.json` file (hidden ones, kustomization files and node_modules included) and every
 * symlink of such a name (read through; a loop or a directory is an input error). kubectl reads a
 * Helm chart's templates as manifests; tollgate reports a chart directory (Chart.yaml) it was not
 * asked to render as an input error naming `--render helm:`, so it never passes unjudged. A FIFO,
 * socket or device of a manifest name is an input error (kubectl would block on it).
 */
export async function discoverFiles(
  paths: readonly string[],
  cwd: string,
  options: DiscoverOptions = {},
): Promise<{ files: string[]; errors: ManifestError[]; charts: string[] }> {
  const files: string[] = [];
  const errors: ManifestError[] = [];
  const charts: string[] = [];
  const walk = async (path: string): Promise<void> => {
    const entries = await readdir(path, { withFileTypes: true });
    entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    if (entries.some((entry) => entry.isFile() && entry.name === 'Chart.yaml')) {
      if (!options.renderedCharts?.has(path)) charts.push(displayPath(path, cwd));
      return;
    }
    for (const entry of entries) {
      const full = join(path, entry.name);
      if (entry.isDirectory()) await walk(full);
      else if (!kubectlReadsName(entry.name)) continue;
      else if (entry.isFile() || entry.isSymbolicLink()) files.push(full);
      else
        errors.push({
          file: displayPath(full, cwd),
          line: 0,
          column: 0,
          message: 'cannot read: not a regular file (a FIFO, socket or device); kubectl would try to read it',
        });
    }
  };
  for (const path of paths) {
    const absolute = resolve(cwd, path);
    try {
      const info = await stat(absolute);
      if (info.isDirectory()) await walk(absolute);
      else if (info.isFile()) files.push(absolute);
      // A FIFO would block the read forever and a device (a symlink to /dev/zero) never ends.
      else
        errors.push({
          file: path,
          line: 0,
          column: 0,
          message: 'cannot read: not a regular file or directory (a FIFO, socket or device)',
        });
    } catch (error) {
      errors.push({
        file: path,
        line: 0,
        column: 0,
        message: `cannot read: ${(error as NodeJS.ErrnoException).code ?? String(error)}`,
      });
    }
  }
  return { files: [...new Set(files)].map((file) => displayPath(file, cwd)), errors, charts };
}

function displayPath(file: string, cwd: string): string {
  const rel = relative(cwd, file);
  return rel.startsWith('..') ? file : rel;
}

/**
 * Reads one file's bytes (or a text: stdin, rendered output) into the objects kubectl would send
 * (lists flattened) and the documents kubectl refuses.
 */
export function parseManifests(
  file: string,
  input: Uint8Array | string,
): { manifests: Manifest[]; errors: ManifestError[] } {
  const reading = readAsKubectl(input, { exactYaml: kubectlYaml });
  const errors = reading.errors.map((error): ManifestError => ({
    file,
    line: error.line,
    column: error.column,
    message: error.message,
  }));
  const manifests = reading.objects.map(({ document, object }): Manifest => ({
    file,
    document,
    object: object as KubeObject,
  }));
  return { manifests, errors };
}

/** Reads every manifest under the given paths (`-` reads the provided stdin text). */
export async function loadManifests(
  paths: readonly string[],
  cwd: string,
  readStdin: () => Promise<string>,
  options: DiscoverOptions = {},
): Promise<ManifestSet> {
  const manifests: Manifest[] = [];
  const errors: ManifestError[] = [];
  let files = 0;
  const filePaths = paths.filter((path) => path !== '-');
  if (paths.includes('-')) {
    const parsed = parseManifests('-', await readStdin());
    manifests.push(...parsed.manifests);
    errors.push(...parsed.errors);
    files++;
  }
  const discovered = await discoverFiles(filePaths, cwd, options);
  errors.push(...discovered.errors, ...discovered.charts.map(unrenderedChart));
  // Read synchronously, in order: a manifest is small, and the promise-based reader spent more CPU
  // on each file (open, stat, read, close as separate tasks) than parsing it.
  for (const file of discovered.files) {
    let bytes: Uint8Array;
    try {
      bytes = readFileSync(resolve(cwd, file));
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      errors.push({ file, line: 0, column: 0, message: `cannot read: ${code ?? String(error)}` });
      continue;
    }
    files++;
    const parsed = parseManifests(file, bytes);
    manifests.push(...parsed.manifests);
    errors.push(...parsed.errors);
  }
  return { manifests, errors, files };
}
