/**
 * Host-and-path boundary matching, shared by every policy that approves locations by prefix (image
 * registries, GitOps source repositories): hosts compare exactly (the caller lower-cases them and keeps
 * the port), paths on `/` boundaries. Raw string prefixes are the classic bypass: `corp/erp` must not
 * admit `corp/erpx`, nor `registry.corp.example` admit `registry.corp.example.evil.io`.
 */

/** A location: host (lower-case, port included) and a path without leading or trailing `/`. */
export interface HostPath {
  readonly host: string;
  readonly path: string;
}

/** Whether `path` is `prefix` or lies below it on `/` boundaries; an empty prefix covers every path. */
export function isUnderPath(path: string, prefix: string): boolean {
  if (prefix === '') return true;
  return path === prefix || path.startsWith(`${prefix}/`);
}

/** Whether a location falls under an approved prefix: the same host, and the path under the prefix's path. */
export function matchesHostPath(location: HostPath, prefix: HostPath): boolean {
  return location.host === prefix.host && isUnderPath(location.path, prefix.path);
}
