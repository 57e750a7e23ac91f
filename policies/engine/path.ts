/** A field path as segments: object keys and array indexes. */
export type PathSegment = string | number;

const plainKey = /^[A-Za-z_$][A-Za-z0-9_$-]*$/;

/**
 * Formats segments as the dotted path used in findings: `spec.containers[0].image`,
 * with keys that are not plain identifiers quoted: `metadata.annotations["tollgate.dev/x"]`.
 */
export function formatPath(segments: readonly PathSegment[]): string {
  let out = '';
  for (const segment of segments) {
    if (typeof segment === 'number') out += `[${segment}]`;
    else if (plainKey.test(segment)) out += out === '' ? segment : `.${segment}`;
    else out += `[${JSON.stringify(segment)}]`;
  }
  return out;
}

/** Appends segments to a formatted path. */
export function joinPath(base: string, ...segments: readonly PathSegment[]): string {
  const tail = formatPath(segments);
  if (base === '') return tail;
  if (tail === '') return base;
  return tail.startsWith('[') ? base + tail : `${base}.${tail}`;
}

/** Prefixes a formatted path with another formatted path. */
export function prefixPath(prefix: string, path: string): string {
  if (prefix === '') return path;
  if (path === '') return prefix;
  return path.startsWith('[') ? prefix + path : `${prefix}.${path}`;
}

/** Parses a path produced by {@link formatPath} back into segments. */
export function parsePath(path: string): PathSegment[] {
  const segments: PathSegment[] = [];
  let i = 0;
  while (i < path.length) {
    const ch = path[i];
    if (ch === '.') {
      i++;
    } else if (ch === '[') {
      if (path[i + 1] === '"') {
        let j = i + 2;
        while (j < path.length && !(path[j] === '"' && path[j - 1] !== '\\')) j++;
        segments.push(JSON.parse(path.slice(i + 1, j + 1)) as string);
        i = j + 2;
      } else {
        const close = path.indexOf(']', i);
        segments.push(Number(path.slice(i + 1, close)));
        i = close + 1;
      }
    } else {
      let j = i;
      while (j < path.length && path[j] !== '.' && path[j] !== '[') j++;
      segments.push(path.slice(i, j));
      i = j;
    }
  }
  return segments;
}
