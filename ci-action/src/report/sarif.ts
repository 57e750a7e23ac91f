/**
 * SARIF 2.1.0 for GitHub code scanning and other SARIF consumers. Rule ids are policy ids (stable
 * API), rule help is the policy's help text, regions carry start/end line and column, and every
 * result has a `partialFingerprints` entry built from file, object, policy and path (never lines)
 * so alerts survive edits. Validated in tests against the official 2.1.0 schema vendored beside
 * this file (sarif-schema-2.1.0.json, the OASIS 2.1.0 "rtm.5" schema as shipped by the MIT-licensed
 * npm package @microsoft/jest-sarif, reformatted by prettier).
 *
 * GitHub code scanning rejects a run with more than {@link SARIF_RESULT_LIMIT} results, so a run
 * keeps the denials first, then warnings, then notes up to that limit, and says in a run-level
 * notification (and `tollgate check` and the Action in a summary line) how many were left out.
 */
import { pathToFileURL } from 'node:url';
import type { CompiledBundle } from '../../../policies/index.ts';
import { TOLLGATE_VERSION } from '../../../policies/index.ts';
import type { Issue } from './issues.ts';
import { objectLabel } from './issues.ts';

/** The subset of the SARIF log model tollgate writes. */
export interface SarifLog {
  $schema: string;
  version: '2.1.0';
  runs: SarifRun[];
}

/** One SARIF run. */
export interface SarifRun {
  tool: { driver: SarifDriver };
  automationDetails: { id: string; description?: { text: string } };
  originalUriBaseIds?: Record<string, { uri: string }>;
  results: SarifResult[];
  invocations: Array<{
    executionSuccessful: boolean;
    exitCode?: number;
    toolExecutionNotifications?: SarifNotification[];
  }>;
  properties?: Record<string, unknown>;
}

interface SarifDriver {
  name: string;
  fullName: string;
  version: string;
  semanticVersion: string;
  informationUri: string;
  rules: SarifRule[];
}

interface SarifRule {
  id: string;
  name: string;
  shortDescription: { text: string };
  fullDescription: { text: string };
  help: { text: string; markdown: string };
  helpUri?: string;
  defaultConfiguration: { level: SarifLevel; enabled: boolean };
  properties: {
    tags: string[];
    precision: string;
    'security-severity': string;
    /** The policy's version (absent for a rule the bundle does not configure). */
    version?: string;
    controls?: string[];
  };
}

/** A run-level notification (`invocations[].toolExecutionNotifications`). */
export interface SarifNotification {
  descriptor: { id: string };
  level: SarifLevel;
  message: { text: string };
}

/** SARIF result levels. */
export type SarifLevel = 'error' | 'warning' | 'note' | 'none';

/** One SARIF result. */
export interface SarifResult {
  ruleId: string;
  ruleIndex: number;
  level: SarifLevel;
  message: { text: string };
  locations: Array<{
    physicalLocation: {
      artifactLocation: { uri: string; uriBaseId: string };
      region: { startLine: number; startColumn: number; endLine: number; endColumn: number };
    };
    logicalLocations?: Array<{ name: string; fullyQualifiedName: string; kind: string }>;
  }>;
  partialFingerprints: Record<string, string>;
  baselineState?: 'new' | 'unchanged';
  properties: Record<string, unknown>;
}

/** Options for {@link buildSarif}. */
export interface SarifOptions {
  /** Working directory the file paths are relative to (the repository root in CI). */
  cwd: string;
  /** `automationDetails.id`: `category/` or `category/run-id`; default `tollgate/<bundle name>/`. */
  automationId?: string;
  /** Whether the run completed (input errors make it unsuccessful). */
  executionSuccessful: boolean;
}

const levelOf: Record<Issue['action'], SarifLevel> = { deny: 'error', warn: 'warning', audit: 'note' };
const levelOrder: readonly Issue['action'][] = ['deny', 'warn', 'audit'];

/** GitHub code scanning's limit of results per SARIF run (it rejects a larger upload whole). */
export const SARIF_RESULT_LIMIT = 25_000;

/** The issues a SARIF run carries and how many of each level it leaves out. */
export interface SarifSelection {
  /** Denials, then warnings, then notes (each in report order), at most {@link SARIF_RESULT_LIMIT}. */
  readonly kept: readonly Issue[];
  readonly leftOut: Readonly<Record<Issue['action'], number>>;
  /** Every issue of the check, kept or not. */
  readonly total: number;
}

/** Picks the results of a SARIF run within {@link SARIF_RESULT_LIMIT}: denials first, then warnings, then notes. */
export function selectSarifResults(issues: readonly Issue[]): SarifSelection {
  const kept: Issue[] = [];
  const leftOut: Record<Issue['action'], number> = { deny: 0, warn: 0, audit: 0 };
  for (const action of levelOrder) {
    for (const issue of issues) {
      if (issue.action !== action) continue;
      if (kept.length < SARIF_RESULT_LIMIT) kept.push(issue);
      else leftOut[action]++;
    }
  }
  return { kept, leftOut, total: issues.length };
}

/**
 * The line saying how many results a SARIF run left out (undefined when it holds them all): the
 * run's notification, the CLI's note on stderr and the Action's job summary.
 */
export function sarifLeftOutLine(selection: SarifSelection): string | undefined {
  const { deny, warn, audit } = selection.leftOut;
  const count = deny + warn + audit;
  if (count === 0) return undefined;
  const fmt = (n: number): string => n.toLocaleString('en-US');
  return (
    `SARIF: ${fmt(count)} of ${fmt(selection.total)} results left out (${fmt(deny)} error(s), ${fmt(warn)} ` +
    `warning(s), ${fmt(audit)} note(s)): GitHub code scanning accepts at most ${fmt(SARIF_RESULT_LIMIT)} ` +
    'results per run, so the run keeps denials first, then warnings, then notes; the JSON report has them all.'
  );
}
const severityOf: Record<string, string> = { deny: '8.0', warn: '5.0', audit: '2.0', off: '0.0' };
const SCHEMA_URI = 'https://json.schemastore.org/sarif-2.1.0.json';

/**
 * Builds the SARIF log of a check run: one rule per configured policy, one result per issue kept by
 * {@link selectSarifResults}, and a notification when some were left out.
 */
export function buildSarif(
  issues: readonly Issue[],
  bundle: CompiledBundle,
  options: SarifOptions,
): SarifLog {
  const rules: SarifRule[] = bundle.policies.map((configured) => {
    const { policy } = configured;
    const action = configured.enforcement.ci;
    const level: SarifLevel = action === 'off' ? 'none' : levelOf[action];
    return {
      id: policy.id,
      name: camelName(policy.id),
      shortDescription: { text: policy.description },
      fullDescription: { text: policy.description },
      help: { text: policy.help, markdown: policy.help },
      defaultConfiguration: { level, enabled: action !== 'off' },
      properties: {
        tags: ['kubernetes', 'security', 'policy-as-code', ...configured.controls],
        precision: 'very-high',
        'security-severity': severityOf[action] ?? '0.0',
        version: policy.version,
        ...(configured.controls.length > 0 ? { controls: [...configured.controls] } : {}),
      },
    };
  });
  const ruleIndex = new Map(rules.map((rule, index) => [rule.id, index]));
  const selection = selectSarifResults(issues);
  const leftOut = sarifLeftOutLine(selection);
  const results: SarifResult[] = [];
  for (const issue of selection.kept) {
    let index = ruleIndex.get(issue.policy);
    if (index === undefined) {
      index = rules.length;
      ruleIndex.set(issue.policy, index);
      rules.push({
        id: issue.policy,
        name: camelName(issue.policy),
        shortDescription: { text: issue.policy },
        fullDescription: { text: issue.policy },
        help: { text: issue.policy, markdown: issue.policy },
        defaultConfiguration: { level: levelOf[issue.action], enabled: true },
        properties: {
          tags: ['kubernetes'],
          precision: 'high',
          'security-severity': severityOf[issue.action] ?? '0.0',
        },
      });
    }
    const object = issue.object;
    const fqn = [object.namespace, `${object.kind}/${object.name ?? '(unnamed)'}`].filter(Boolean).join('/');
    const where = issue.path ? ` at ${issue.path}` : '';
    const fix = issue.fix ? ` Fix: ${issue.fix}` : '';
    results.push({
      ruleId: issue.policy,
      ruleIndex: index,
      level: levelOf[issue.action],
      message: { text: `${objectLabel(object)}${where}: ${issue.message.replace(/\.$/, '')}.${fix}` },
      locations: [
        {
          physicalLocation: {
            artifactLocation: { uri: uriOf(issue.file), uriBaseId: '%SRCROOT%' },
            region: {
              startLine: Math.max(1, issue.line),
              startColumn: Math.max(1, issue.column),
              endLine: Math.max(1, issue.endLine, issue.line),
              endColumn: Math.max(1, issue.endColumn),
            },
          },
          logicalLocations: [{ name: object.name ?? '(unnamed)', fullyQualifiedName: fqn, kind: 'object' }],
        },
      ],
      partialFingerprints: { 'tollgateFinding/v1': issue.fingerprint },
      ...(issue.baseline ? { baselineState: issue.baseline === 'new' ? 'new' : 'unchanged' } : {}),
      properties: {
        action: issue.action,
        kind: issue.kind,
        object,
        ...(issue.path ? { path: issue.path } : {}),
        ...(issue.renderedFrom ? { renderedFrom: issue.renderedFrom } : {}),
      },
    });
  }
  return {
    $schema: SCHEMA_URI,
    version: '2.1.0',
    runs: [
      {
        tool: {
          driver: {
            name: 'tollgate',
            fullName: 'tollgate policy-as-code gate for Kubernetes',
            version: TOLLGATE_VERSION,
            semanticVersion: TOLLGATE_VERSION,
            informationUri: 'https://tollgate.dev',
            rules,
          },
        },
        automationDetails: {
          id: options.automationId ?? `tollgate/${bundle.identity.name}/`,
          description: {
            text: `tollgate ${TOLLGATE_VERSION} with bundle ${bundle.identity.name} ${bundle.identity.version} (${bundle.identity.digest})`,
          },
        },
        originalUriBaseIds: {
          '%SRCROOT%': { uri: `${pathToFileURL(options.cwd).href.replace(/\/?$/, '/')}` },
        },
        results,
        invocations: [
          {
            executionSuccessful: options.executionSuccessful,
            ...(leftOut
              ? {
                  toolExecutionNotifications: [
                    {
                      descriptor: { id: 'results-left-out' },
                      level: 'warning' as const,
                      message: { text: leftOut },
                    },
                  ],
                }
              : {}),
          },
        ],
        properties: {
          bundle: bundle.identity,
          ...(leftOut ? { resultsLeftOut: { ...selection.leftOut } } : {}),
        },
      },
    ],
  };
}

/** A repository-relative path as a URI reference (forward slashes, percent-encoded segments). */
function uriOf(file: string): string {
  return file
    .split(/[\\/]/)
    .map((segment) => encodeURIComponent(segment))
    .join('/');
}

function camelName(id: string): string {
  return id
    .split('-')
    .map((part) => (part ? part[0]!.toUpperCase() + part.slice(1) : part))
    .join('');
}
