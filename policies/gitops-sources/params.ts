/** Parameters of gitops-sources: approved repositories, what counts as pinned, and the scope. */
import { ConfigError } from '../engine/errors/index.ts';
import type { Scope } from '../engine/scope.ts';
import { compileScope, scopeSchema } from '../engine/scope.ts';
import type { RepoLocation } from './repo-url.ts';
import { formatLocation, isRepoUrlError, parseRepoUrl } from './repo-url.ts';

/** gitops-sources' parameters, compiled. */
export interface GitOpsSourcesParams {
  /** Approved repository prefixes (host and path; the scheme does not matter). */
  readonly repositories: readonly RepoLocation[];
  /** The approved prefixes as findings show them (`host/path`). */
  readonly approvedText: string;
  /** Tag names accepted as immutable (anchored patterns). */
  readonly tagPatterns: readonly RegExp[];
  /** The tag patterns as the bundle writes them, for messages. */
  readonly tagText: string;
  /** Accept semver ranges (they follow the newest matching tag or version). */
  readonly semverRanges: boolean;
  readonly scope: Scope;
}

/** The default tag pattern: an exact release version such as `v1.4.2` or `1.4.2`. */
export const defaultTagPatterns = ['^v?[0-9]+\\.[0-9]+\\.[0-9]+$'];

/** JSON Schema of the parameters. */
export const paramsSchema = {
  type: 'object',
  required: ['repositories'],
  properties: {
    repositories: {
      type: 'array',
      minItems: 1,
      items: { type: 'string', minLength: 1 },
      description:
        'approved repository prefixes as URLs (https://git.corp.example/erp, oci://registry.corp.example/charts, git@git.corp.example:erp) or host/path; compared on host and path boundaries',
    },
    pinning: {
      type: 'object',
      additionalProperties: false,
      properties: {
        tags: {
          type: 'array',
          items: { type: 'string', minLength: 1 },
          description: `tag names accepted as immutable (regular expressions, anchored); default ${defaultTagPatterns.join(', ')}`,
        },
        semverRanges: {
          type: 'boolean',
          description: 'accept semver ranges (they follow the newest match, so they move); default false',
        },
      },
      description: 'what counts as pinned besides a commit SHA or digest',
    },
    scope: {
      ...scopeSchema,
      description:
        'which objects are judged: by their own namespace or the namespace they deploy into (default: everything)',
    },
  },
};

/** Compiles and validates the parameters. */
export function compileParams(raw: Record<string, unknown>): GitOpsSourcesParams {
  const texts = (raw.repositories as unknown[]).map(String);
  const repositories = texts.map((text, index) => {
    if (/[*?[]/.test(text))
      throw new ConfigError(
        `repositories/${index}`,
        `"${text}": wildcards are not supported; list each repository prefix`,
      );
    const parsed = parseRepoUrl(text);
    if (isRepoUrlError(parsed)) throw new ConfigError(`repositories/${index}`, parsed.error);
    return parsed;
  });
  const pinning = (raw.pinning as Record<string, unknown> | undefined) ?? {};
  const tags = Array.isArray(pinning.tags) ? pinning.tags.map(String) : defaultTagPatterns;
  const tagPatterns = tags.map((pattern, index) => {
    try {
      return new RegExp(`^(?:${pattern.replace(/^\^/, '').replace(/\$$/, '')})$`, 'u');
    } catch (error) {
      throw new ConfigError(
        `pinning/tags/${index}`,
        `"${pattern}" is not a regular expression: ${error instanceof Error ? error.message : String(error)}`,
      );
    }
  });
  return {
    repositories,
    approvedText: repositories.map(formatLocation).join(', '),
    tagPatterns,
    tagText: tags.join(', '),
    semverRanges: pinning.semverRanges === true,
    scope: compileScope(raw.scope as Record<string, unknown> | undefined, 'scope'),
  };
}
