/**
 * Repository URLs as Git, Helm and OCI clients read them, reduced to host and path so that approved
 * repositories compare on host and path boundaries (policies/engine/host-path.ts), never by prefix.
 * Forms: `https://`, `http://`, `ssh://`, `git://`, `oci://` URLs (user info dropped, default ports
 * dropped, host lower-cased, one trailing dot removed), scp-like `user@host:path`, and the scheme-less
 * `host/path` that Argo CD writes for OCI Helm registries. The path keeps its case (Git servers may be
 * case-sensitive), loses a trailing `/` and `.git`; `.`/`..` segments, empty segments, percent-encoded
 * separators, backslashes, whitespace, queries and fragments are refused, since clients resolve them in
 * ways a prefix check does not.
 */
import type { HostPath } from '../engine/host-path.ts';

/** A parsed repository location. */
export interface RepoLocation extends HostPath {
  /** `https`, `http`, `ssh`, `git`, `oci`, `scp` (scp-like), or `''` (scheme-less registry form). */
  readonly scheme: string;
}

/** Why a URL could not be read. */
export interface RepoUrlError {
  readonly error: string;
}

const defaultPorts: Readonly<Record<string, string>> = { https: '443', http: '80', ssh: '22', git: '9418' };
const schemes = new Set(['https', 'http', 'ssh', 'git', 'oci', 'git+ssh', 'ssh+git']);
const hostName = /^(?:[a-z0-9](?:[a-z0-9-]*[a-z0-9])?)(?:\.[a-z0-9](?:[a-z0-9-]*[a-z0-9])?)*$/;
const ipv6 = /^\[[0-9a-f:.]+\]$/;

/** Narrows a parse result to an error. */
export function isRepoUrlError(value: RepoLocation | RepoUrlError): value is RepoUrlError {
  return 'error' in value;
}

function host(raw: string, url: string): string | RepoUrlError {
  let lower = raw.toLowerCase();
  if (lower.endsWith('.')) lower = lower.slice(0, -1);
  if (lower === '' || !(hostName.test(lower) || ipv6.test(lower)))
    return { error: `the host "${raw}" of ${url} is not a host name` };
  return lower;
}

function cleanPath(raw: string, url: string): string | RepoUrlError {
  if (/%2f|%5c|%2e/i.test(raw))
    return { error: `${url} hides a "/", "\\" or "." in percent-encoding; write the path plainly` };
  let path = raw.replace(/^\/+/, '').replace(/\/+$/, '');
  if (path.endsWith('.git')) path = path.slice(0, -4).replace(/\/+$/, '');
  const segments = path === '' ? [] : path.split('/');
  if (segments.some((segment) => segment === '' || segment === '.' || segment === '..'))
    return { error: `${url} has an empty, "." or ".." path segment; write the repository path as it is` };
  return segments.join('/');
}

/** Parses a repository URL into scheme, host (with a non-default port) and path. */
export function parseRepoUrl(url: string): RepoLocation | RepoUrlError {
  if (typeof url !== 'string' || url === '') return { error: 'the repository URL is empty' };
  if (/\s/.test(url)) return { error: `the repository URL ${JSON.stringify(url)} contains whitespace` };
  if (url.includes('\\')) return { error: `the repository URL ${url} contains a backslash` };
  if (/[?#]/.test(url)) return { error: `the repository URL ${url} carries a query or fragment` };
  const scheme = /^([a-z][a-z0-9+.-]*):\/\//i.exec(url);
  if (scheme) {
    const name = (scheme[1] ?? '').toLowerCase();
    if (!schemes.has(name)) return { error: `${url}: scheme ${name}:// is not a Git, Helm or OCI transport` };
    const rest = url.slice(scheme[0].length);
    const slash = rest.indexOf('/');
    const authority = slash >= 0 ? rest.slice(0, slash) : rest;
    const hostPort = authority.slice(authority.lastIndexOf('@') + 1);
    let hostPart: string;
    let port: string | undefined;
    if (hostPort.startsWith('[')) {
      const bracketed = /^(\[[^\]]*\])(?::(\d*))?$/.exec(hostPort);
      if (!bracketed) return { error: `${url} has a malformed host` };
      hostPart = bracketed[1] ?? '';
      port = bracketed[2];
    } else {
      const plain = /^([^:]*)(?::(\d*))?$/.exec(hostPort);
      if (!plain) return { error: `the host and port "${hostPort}" of ${url} are malformed` };
      hostPart = plain[1] ?? '';
      port = plain[2];
    }
    const normalizedScheme = name === 'git+ssh' || name === 'ssh+git' ? 'ssh' : name;
    const parsedHost = host(hostPart, url);
    if (typeof parsedHost !== 'string') return parsedHost;
    const withPort =
      port === undefined || port === '' || defaultPorts[normalizedScheme] === String(Number(port))
        ? parsedHost
        : `${parsedHost}:${Number(port)}`;
    const path = cleanPath(slash >= 0 ? rest.slice(slash) : '', url);
    if (typeof path !== 'string') return path;
    return { scheme: normalizedScheme, host: withPort, path };
  }
  const colon = url.indexOf(':');
  const slash = url.indexOf('/');
  if (colon >= 0 && (slash < 0 || colon < slash)) {
    // scp-like: [user@]host:path (git's rule: a colon before any slash)
    const authority = url.slice(0, colon);
    const parsedHost = host(authority.slice(authority.lastIndexOf('@') + 1), url);
    if (typeof parsedHost !== 'string') return parsedHost;
    const path = cleanPath(url.slice(colon + 1), url);
    if (typeof path !== 'string') return path;
    return { scheme: 'scp', host: parsedHost, path };
  }
  const first = slash >= 0 ? url.slice(0, slash) : url;
  if (!first.includes('.') && first !== 'localhost')
    return { error: `${url} is not a URL: write https://, ssh://, oci:// or user@host:path` };
  const parsedHost = host(first, url);
  if (typeof parsedHost !== 'string') return parsedHost;
  const path = cleanPath(slash >= 0 ? url.slice(slash) : '', url);
  if (typeof path !== 'string') return path;
  return { scheme: '', host: parsedHost, path };
}

/** `host/path` of a location, as findings and approved lists show it. */
export function formatLocation(location: HostPath): string {
  return location.path ? `${location.host}/${location.path}` : location.host;
}
