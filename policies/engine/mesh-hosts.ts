/**
 * Istio service hosts as the mesh resolves them: a single-label short name is a Service in the
 * namespace of the resource that names it (Istio appends `<namespace>.svc.<domain>` only to names
 * without a dot); `<name>.<namespace>.svc[.cluster.local]` names a Service of that namespace; any
 * other host is external (a ServiceEntry's or DNS's).
 */

/** A Service named by a mesh host. */
export interface MeshService {
  readonly name: string;
  /** Undefined for a short name when the naming resource's namespace is unknown. */
  readonly namespace: string | undefined;
}

/** Whether a host is a wildcard over cluster services (`*`, `*.svc.cluster.local`, `*.local`). */
export function isServiceWildcard(host: string): boolean {
  const lower = host.toLowerCase().replace(/\.$/, '');
  return (
    lower === '*' || /^\*\.(svc\.)?cluster\.local$/.test(lower) || lower === '*.svc' || lower === '*.local'
  );
}

/** The Service a host names, relative to `namespace` for a short name; undefined for other hosts. */
export function meshServiceOf(host: string, namespace: string | undefined): MeshService | undefined {
  const lower = host.toLowerCase().replace(/\.$/, '');
  if (lower === '' || lower.includes('*')) return undefined;
  if (!lower.includes('.')) return { name: lower, namespace };
  const match = /^([^.]+)\.([^.]+)\.svc(\.cluster\.local)?$/.exec(lower);
  return match ? { name: match[1] ?? '', namespace: match[2] } : undefined;
}
