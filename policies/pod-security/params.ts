/**
 * Bundle parameters of pod-security: the level and version (and stricter ones per namespace), PSA's
 * exemptions, the namespace labels switch and the host allowances.
 */
import { ConfigError } from '../engine/errors/index.ts';
import {
  compileHostAllowances,
  hostAllowanceSchema,
  type HostAllowances,
} from '../engine/host-allowances.ts';
import { parsePssVersion, type PssLevel, type PssVersion } from '../engine/pod-security-standards.ts';
import { compileScope, scopeSchema, type Scope } from '../engine/scope.ts';
import type { EnforcementAction } from '../engine/types.ts';

/** A level for the namespaces a rule selects. */
export interface NamespaceLevel {
  readonly scope: Scope;
  readonly level: PssLevel;
  readonly version: PssVersion;
  /** Lowers the findings this level adds beyond the policy's own `level` (e.g. `warn` while tenants migrate). */
  readonly action?: EnforcementAction;
}

/** Parameters of pod-security. */
export interface PodSecurityParams {
  readonly level: PssLevel;
  readonly version: PssVersion;
  /** Levels for namespaces selected by name or by labels of the trusted Namespace object; the first match wins. */
  readonly namespaceLevels: readonly NamespaceLevel[];
  /** PSA's exemptions. */
  readonly exempt: {
    readonly namespaces: readonly string[];
    readonly usernames: readonly string[];
    readonly runtimeClasses: readonly string[];
  };
  /** Honour the namespace's `pod-security.kubernetes.io/enforce` and `enforce-version` labels, as PSA does. */
  readonly namespaceLabels: boolean;
  readonly allow: HostAllowances;
}

const levelSchema = { enum: ['baseline', 'restricted'] };
const versionSchema = { type: 'string', pattern: '^(latest|v1\\.(0|[1-9][0-9]*))$' };
const names = { type: 'array', items: { type: 'string', minLength: 1 }, uniqueItems: true };

/** JSON Schema of the parameters. */
export const paramsSchema: Record<string, unknown> = {
  type: 'object',
  properties: {
    level: {
      ...levelSchema,
      description: 'Pod Security Standards level for every namespace (default baseline)',
    },
    version: {
      ...versionSchema,
      description:
        'PSA policy version: latest or v1.N, the checks as Kubernetes 1.N defined them (default latest)',
    },
    namespaceLevels: {
      type: 'array',
      description:
        'levels for namespaces selected by name or by a label selector on the trusted Namespace object (inventory in CI, the cluster at admission); the first match wins',
      examples: [
        [
          {
            namespaces: {
              selector: { matchExpressions: [{ key: 'tollgate.dev/tenant', operator: 'Exists' }] },
            },
            level: 'restricted',
            action: 'warn',
          },
        ],
      ],
      items: {
        type: 'object',
        additionalProperties: false,
        required: ['namespaces', 'level'],
        properties: {
          namespaces: (scopeSchema.properties as Record<string, unknown>).namespaces,
          level: levelSchema,
          version: { ...versionSchema, description: 'default: the policy version' },
          action: {
            enum: ['warn', 'audit'],
            description:
              'action for the findings this level adds beyond the policy level (baseline findings keep the policy enforcement)',
          },
        },
      },
    },
    exempt: {
      type: 'object',
      additionalProperties: false,
      description: "PSA's exemptions: namespaces, requesting usernames (admission only) and runtime classes",
      examples: [{ namespaces: ['kube-system'], runtimeClasses: ['kata'] }],
      properties: { namespaces: names, usernames: names, runtimeClasses: names },
    },
    namespaceLabels: {
      type: 'boolean',
      description:
        'take the level and version from the namespace labels pod-security.kubernetes.io/enforce and enforce-version when set, as PSA does (default false)',
    },
    ...hostAllowanceSchema,
  },
};

function stringList(value: unknown): string[] {
  return Array.isArray(value) ? value.map(String) : [];
}

function versionOf(raw: unknown, path: string, fallback: PssVersion): PssVersion {
  if (raw === undefined) return fallback;
  const version = parsePssVersion(String(raw));
  if (version === undefined) throw new ConfigError(path, `"${String(raw)}" is not latest or v1.N`);
  return version;
}

/** Validates and compiles raw parameters, filling in the defaults. */
export function compileParams(raw: Record<string, unknown>): PodSecurityParams {
  const level: PssLevel = raw.level === 'restricted' ? 'restricted' : 'baseline';
  const version = versionOf(raw.version, 'version', 'latest');
  const namespaceLevels = (Array.isArray(raw.namespaceLevels) ? raw.namespaceLevels : []).map(
    (entry: unknown, index): NamespaceLevel => {
      const rule = entry as Record<string, unknown>;
      const path = `namespaceLevels/${index}`;
      const scope = compileScope({ namespaces: rule.namespaces }, path);
      if (!scope.namespaceNames && !scope.namespaceSelector)
        throw new ConfigError(`${path}/namespaces`, 'select namespaces by names or by a selector');
      return {
        scope,
        level: rule.level === 'restricted' ? 'restricted' : 'baseline',
        version: versionOf(rule.version, `${path}/version`, version),
        ...(rule.action === 'warn' || rule.action === 'audit' ? { action: rule.action } : {}),
      };
    },
  );
  const exempt = (raw.exempt ?? {}) as Record<string, unknown>;
  return {
    level,
    version,
    namespaceLevels,
    exempt: {
      namespaces: stringList(exempt.namespaces),
      usernames: stringList(exempt.usernames),
      runtimeClasses: stringList(exempt.runtimeClasses),
    },
    namespaceLabels: raw.namespaceLabels === true,
    allow: compileHostAllowances(raw),
  };
}
