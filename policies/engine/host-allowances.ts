/**
 * Host access a bundle may allow beyond the Pod Security Standards (the parameters users of
 * PodSecurityPolicy and gatekeeper-library rely on): hostPort ranges, hostPath prefixes (optionally
 * read-only) and images exempt from the container checks. Shared by every policy that runs the host
 * checks (pod-security, namespace-isolation), with one schema and one compiler.
 */
import { ConfigError } from './errors/index.ts';
import { isUnderPath } from './host-path.ts';
import {
  isImageReferenceError,
  matchesRegistryPrefix,
  parseImageReference,
  registryPrefixProblem,
} from './image-reference.ts';

/** An inclusive range of host ports. */
export interface HostPortRange {
  readonly min: number;
  readonly max: number;
}

/** A hostPath prefix volumes may mount, read-only when `readOnly`. */
export interface HostPathPrefix {
  /** Absolute, without a trailing `/` (except `/` itself). */
  readonly pathPrefix: string;
  readonly readOnly: boolean;
}

/** The compiled host allowances. */
export interface HostAllowances {
  readonly hostPorts: readonly HostPortRange[];
  readonly hostPaths: readonly HostPathPrefix[];
  /** Registry prefixes (`host[:port][/path]`) of images exempt from the container checks. */
  readonly exemptImages: readonly string[];
}

/** Whether a container's image falls under an exempt prefix (parsed reference, host and path boundaries). */
export function isExemptImage(allow: HostAllowances, image: unknown): boolean {
  if (allow.exemptImages.length === 0 || typeof image !== 'string') return false;
  const ref = parseImageReference(image);
  return (
    !isImageReferenceError(ref) && allow.exemptImages.some((prefix) => matchesRegistryPrefix(ref, prefix))
  );
}

/** JSON Schema of the host allowance parameters, merged into a policy's parameter schema. */
export const hostAllowanceSchema: Record<string, unknown> = {
  allowedHostPorts: {
    type: 'array',
    items: {
      type: 'object',
      additionalProperties: false,
      required: ['min', 'max'],
      properties: {
        min: { type: 'integer', minimum: 1, maximum: 65535 },
        max: { type: 'integer', minimum: 1, maximum: 65535 },
      },
    },
    description:
      'inclusive hostPort ranges containers may bind, e.g. {min: 9100, max: 9100} for a node exporter (default: none, as the Pod Security Standards)',
    examples: [[{ min: 9100, max: 9100 }]],
  },
  allowedHostPaths: {
    type: 'array',
    items: {
      type: 'object',
      additionalProperties: false,
      required: ['pathPrefix'],
      properties: {
        pathPrefix: { type: 'string', pattern: '^/', description: 'absolute path; compared on / boundaries' },
        readOnly: {
          type: 'boolean',
          description: 'every container mounting such a volume must mount it readOnly: true (default false)',
        },
      },
    },
    description:
      'hostPath prefixes volumes may mount, e.g. {pathPrefix: /var/log, readOnly: true} (default: none, as the Pod Security Standards); a path with a .. segment is never under a prefix',
    examples: [[{ pathPrefix: '/var/log', readOnly: true }]],
  },
  exemptImages: {
    type: 'array',
    items: { type: 'string', minLength: 1 },
    uniqueItems: true,
    description:
      'registry prefixes of images exempt from the container checks (privileged, capabilities, hostPort, ...), compared as approved-registries compares them: parsed reference, host exact, path on / boundaries (default: none)',
    examples: [['registry.corp.example/platform/node-exporter']],
  },
};

/** Splits an absolute path into its segments (`.` and empty segments dropped), or undefined if it climbs (`..`). */
function pathSegments(path: string): string[] | undefined {
  const segments = path.split('/').filter((segment) => segment !== '' && segment !== '.');
  return segments.includes('..') ? undefined : segments;
}

/**
 * Whether a hostPath lies under a prefix on `/` boundaries (`/var/log` covers `/var/log/pods`, not
 * `/var/logs`). Relative paths and paths with a `..` segment are under no prefix: the kubelet does
 * not clean them, so `/var/log/../../etc` would reach `/etc`.
 */
export function isUnderHostPathPrefix(path: string, prefix: string): boolean {
  if (!path.startsWith('/')) return false;
  const segments = pathSegments(path);
  const prefixSegments = pathSegments(prefix);
  if (!segments || !prefixSegments) return false;
  return isUnderPath(segments.join('/'), prefixSegments.join('/'));
}

/** Validates and compiles the host allowance parameters (ConfigError paths relative to the policy's parameters). */
export function compileHostAllowances(raw: Record<string, unknown>): HostAllowances {
  const hostPorts = (Array.isArray(raw.allowedHostPorts) ? raw.allowedHostPorts : []).map(
    (entry: unknown, index) => {
      const range = entry as { min?: unknown; max?: unknown };
      const min = Number(range.min);
      const max = Number(range.max);
      if (!Number.isInteger(min) || !Number.isInteger(max) || min < 1 || max > 65535)
        throw new ConfigError(`allowedHostPorts/${index}`, 'min and max must be ports from 1 to 65535');
      if (min > max) throw new ConfigError(`allowedHostPorts/${index}`, `min ${min} is above max ${max}`);
      return { min, max };
    },
  );
  const hostPaths = (Array.isArray(raw.allowedHostPaths) ? raw.allowedHostPaths : []).map(
    (entry: unknown, index) => {
      const prefix = entry as { pathPrefix?: unknown; readOnly?: unknown };
      const pathPrefix = typeof prefix.pathPrefix === 'string' ? prefix.pathPrefix : '';
      const segments = pathPrefix.startsWith('/') ? pathSegments(pathPrefix) : undefined;
      if (!segments)
        throw new ConfigError(
          `allowedHostPaths/${index}/pathPrefix`,
          `"${pathPrefix}" is not an absolute path without .. segments`,
        );
      return { pathPrefix: `/${segments.join('/')}`, readOnly: prefix.readOnly === true };
    },
  );
  const exemptImages = (Array.isArray(raw.exemptImages) ? raw.exemptImages : []).map(String);
  exemptImages.forEach((prefix, index) => {
    const problem = registryPrefixProblem(prefix);
    if (problem) throw new ConfigError(`exemptImages/${index}`, problem);
  });
  return { hostPorts, hostPaths, exemptImages };
}
