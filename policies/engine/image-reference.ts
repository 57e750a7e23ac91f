/**
 * Container image references parsed by the distribution/reference grammar, normalized the
 * way the container runtime resolves them (docker.io default host, `library/` for official images).
 */
import { matchesHostPath } from './host-path.ts';

/** A parsed, normalized image reference. */
export interface ImageReference {
  /** The reference exactly as written. */
  readonly original: string;
  /** Registry host, lower-cased, with port if any; `docker.io` when none was written. */
  readonly domain: string;
  /** Repository path below the host, e.g. `library/nginx`. */
  readonly path: string;
  readonly tag?: string;
  /** `algorithm:hex` when pinned by digest. */
  readonly digest?: string;
  /** `domain/path`, the normalized repository name. */
  readonly repository: string;
}

/** Why a reference could not be parsed. */
export interface ImageReferenceError {
  readonly error: string;
}

const pathComponent = '[a-z0-9]+(?:(?:[._]|__|[-]+)[a-z0-9]+)*';
const domainComponent = '(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])';
const domainName = `${domainComponent}(?:\\.${domainComponent})*`;
const ipv6 = '\\[(?:[a-fA-F0-9:]+)\\]';
const host = `(?:${domainName}|${ipv6})`;
const domainRe = new RegExp(`^${host}(?::[0-9]+)?$`);
const pathRe = new RegExp(`^${pathComponent}(?:/${pathComponent})*$`);
const tagRe = /^[\w][\w.-]{0,127}$/;
const digestRe = /^[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{32,}$/;
const bareId = /^(?:sha256:)?[a-f0-9]{64}$/;
const maxNameLength = 255;

/**
 * The last parses, by reference text: the same few images appear in thousands of manifests of a
 * check. Only short references are kept, and the whole memo is dropped when full, so it holds at
 * most {@link parsedMax} strings of a few hundred characters, never a request's objects.
 */
const parsed = new Map<string, ImageReference | ImageReferenceError>();
const parsedMax = 256;
const parsedLength = 512;

/** Parses and normalizes an image reference; returns an error with the reason instead of throwing. */
export function parseImageReference(reference: string): ImageReference | ImageReferenceError {
  const known = parsed.get(reference);
  if (known) return known;
  const result = Object.freeze(parseAnew(reference));
  if (reference.length <= parsedLength) {
    if (parsed.size >= parsedMax) parsed.clear();
    parsed.set(reference, result);
  }
  return result;
}

function parseAnew(reference: string): ImageReference | ImageReferenceError {
  if (reference === '') return { error: 'the image reference is empty' };
  if (reference.trim() !== reference || /\s/.test(reference)) {
    return { error: `the image reference ${JSON.stringify(reference)} contains whitespace` };
  }
  if (bareId.test(reference)) {
    return {
      error: `${reference} is a bare image ID, not a repository reference; images must name their registry`,
    };
  }
  let rest = reference;
  let digest: string | undefined;
  const at = rest.indexOf('@');
  if (at >= 0) {
    digest = rest.slice(at + 1);
    rest = rest.slice(0, at);
    if (!digestRe.test(digest)) return { error: `invalid digest "${digest}" in ${reference}` };
  }
  let tag: string | undefined;
  const lastSlash = rest.lastIndexOf('/');
  const colon = rest.indexOf(':', lastSlash + 1);
  if (colon >= 0) {
    tag = rest.slice(colon + 1);
    rest = rest.slice(0, colon);
    if (!tagRe.test(tag)) return { error: `invalid tag "${tag}" in ${reference}` };
  }
  if (rest.length > maxNameLength)
    return { error: `repository name longer than ${maxNameLength} characters in ${reference}` };
  let domain = 'docker.io';
  let path = rest;
  const slash = rest.indexOf('/');
  if (slash >= 0) {
    const first = rest.slice(0, slash);
    if (
      first.includes('.') ||
      first.includes(':') ||
      first === 'localhost' ||
      first.toLowerCase() !== first
    ) {
      if (!domainRe.test(first)) return { error: `invalid registry host "${first}" in ${reference}` };
      domain = first.toLowerCase();
      path = rest.slice(slash + 1);
    }
  }
  if (domain === 'index.docker.io') domain = 'docker.io';
  if (!pathRe.test(path)) {
    return {
      error: `invalid repository path "${path}" in ${reference} (lower-case letters, digits and separators only)`,
    };
  }
  if (domain === 'docker.io' && !path.includes('/')) path = `library/${path}`;
  const result: { -readonly [K in keyof ImageReference]: ImageReference[K] } = {
    original: reference,
    domain,
    path,
    repository: `${domain}/${path}`,
  };
  if (tag !== undefined) result.tag = tag;
  if (digest !== undefined) result.digest = digest;
  return result;
}

/** Narrows a parse result to an error. */
export function isImageReferenceError(
  value: ImageReference | ImageReferenceError,
): value is ImageReferenceError {
  return 'error' in value;
}

/**
 * Whether a normalized reference falls under a registry prefix such as `registry.corp.example/erp`
 * or `docker.io` or `localhost:5000`: host equal (case-insensitive, port included) and the path
 * matching on `/` boundaries. A prefix without a host part is read as a Docker Hub path.
 */
export function matchesRegistryPrefix(ref: ImageReference, prefix: string): boolean {
  const normalized = normalizeRegistryPrefix(prefix);
  return matchesHostPath(
    { host: ref.domain, path: ref.path },
    { host: normalized.domain, path: normalized.path },
  );
}

/** Registry prefixes split, by text: they come from bundles, a handful per process. */
const prefixes = new Map<string, { readonly domain: string; readonly path: string }>();

/** Splits a registry prefix into host and path with the same rules as references. */
export function normalizeRegistryPrefix(prefix: string): { readonly domain: string; readonly path: string } {
  let normalized = prefixes.get(prefix);
  if (!normalized) {
    normalized = Object.freeze(splitRegistryPrefix(prefix));
    if (prefixes.size >= parsedMax) prefixes.clear();
    prefixes.set(prefix, normalized);
  }
  return normalized;
}

function splitRegistryPrefix(prefix: string): { domain: string; path: string } {
  const trimmed = prefix.replace(/\/+$/, '');
  const slash = trimmed.indexOf('/');
  const first = slash >= 0 ? trimmed.slice(0, slash) : trimmed;
  const isHost = first.includes('.') || first.includes(':') || first === 'localhost';
  if (!isHost) return { domain: 'docker.io', path: trimmed };
  let domain = first.toLowerCase();
  if (domain === 'index.docker.io') domain = 'docker.io';
  return { domain, path: slash >= 0 ? trimmed.slice(slash + 1) : '' };
}

/**
 * Why a registry prefix means nothing (a wildcard, whitespace, a host or path no reference could
 * have), or undefined when it is valid; every policy that approves or exempts images by prefix
 * validates its prefixes with it.
 */
export function registryPrefixProblem(prefix: string): string | undefined {
  if (prefix.includes('*')) return `"${prefix}": wildcards are not supported; list each registry prefix`;
  if (/\s/.test(prefix)) return `"${prefix}" contains whitespace`;
  const { domain, path } = normalizeRegistryPrefix(prefix);
  const probe = parseImageReference(path ? `${domain}/${path}` : `${domain}/x`);
  return isImageReferenceError(probe)
    ? `"${prefix}" is not a valid registry prefix: ${probe.error}`
    : undefined;
}
