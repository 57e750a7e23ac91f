/**
 * Test helper: validates a SARIF log against the official SARIF 2.1.0 JSON Schema vendored in
 * report/sarif-schema-2.1.0.json (draft-04; its `id` is read as `$id` by ajv's draft-07 mode, the
 * schema uses no other draft-04-only keyword) and against GitHub code scanning's documented rules.
 */
import { readFileSync } from 'node:fs';
import { Ajv } from 'ajv';
import addFormatsModule from 'ajv-formats';

const schema = JSON.parse(
  readFileSync(new URL('../../ci-action/src/report/sarif-schema-2.1.0.json', import.meta.url), 'utf8'),
) as Record<string, unknown>;
const { $schema: _draft, id, ...rest } = schema;
// unicodeRegExp off: the official schema's `language` pattern has a stray `]` that the u flag rejects.
const ajv = new Ajv({ allErrors: true, strict: false, validateSchema: false, unicodeRegExp: false });
(addFormatsModule as unknown as (instance: Ajv) => Ajv)(ajv);
const validate = ajv.compile({ ...rest, $id: String(id) });

/** Schema errors of a SARIF log (empty when valid). */
export function sarifSchemaErrors(log: unknown): string[] {
  if (validate(log)) return [];
  return (validate.errors ?? []).map((e) => `${e.instancePath} ${e.message ?? ''}`);
}

interface Loose {
  [key: string]: unknown;
}

/**
 * Violations of GitHub code scanning's SARIF requirements: tool.driver.name, a rule for every
 * ruleId with help text, message text, relative artifact URIs, 1-based regions, partialFingerprints,
 * at most 25,000 results per run.
 */
export function codeScanningErrors(log: unknown): string[] {
  const errors: string[] = [];
  const runs = (log as { runs?: Loose[] }).runs ?? [];
  if (runs.length === 0) errors.push('no runs');
  for (const run of runs) {
    const driver = (run.tool as { driver?: Loose } | undefined)?.driver;
    if (!driver?.name) errors.push('tool.driver.name missing');
    if (!driver?.version && !driver?.semanticVersion) errors.push('tool.driver.version missing');
    const rules = (driver?.rules as Loose[] | undefined) ?? [];
    const ids = new Set(rules.map((r) => r.id));
    for (const rule of rules) {
      if (!(rule.help as Loose | undefined)?.text) errors.push(`rule ${String(rule.id)} has no help text`);
      if (!(rule.shortDescription as Loose | undefined)?.text)
        errors.push(`rule ${String(rule.id)} has no shortDescription`);
    }
    if (!(run.automationDetails as Loose | undefined)?.id) errors.push('automationDetails.id missing');
    const results = (run.results as Loose[] | undefined) ?? [];
    if (results.length > 25_000) errors.push('more than 25,000 results');
    results.forEach((result, i) => {
      if (typeof result.ruleId !== 'string' || !ids.has(result.ruleId))
        errors.push(`result ${i}: ruleId not among the rules`);
      if (!(result.message as Loose | undefined)?.text) errors.push(`result ${i}: no message.text`);
      const fingerprints = result.partialFingerprints as Loose | undefined;
      if (!fingerprints || Object.keys(fingerprints).length === 0)
        errors.push(`result ${i}: no partialFingerprints`);
      const locations = (result.locations as Loose[] | undefined) ?? [];
      if (locations.length === 0 || locations.length > 1000)
        errors.push(`result ${i}: needs 1 to 1000 locations`);
      for (const location of locations) {
        const physical = location.physicalLocation as Loose | undefined;
        const uri = (physical?.artifactLocation as Loose | undefined)?.uri;
        if (typeof uri !== 'string' || uri.startsWith('/') || /^[a-z]+:/i.test(uri))
          errors.push(`result ${i}: artifact uri "${String(uri)}" is not repository-relative`);
        const region = physical?.region as Loose | undefined;
        if (!region || typeof region.startLine !== 'number' || region.startLine < 1)
          errors.push(`result ${i}: region.startLine missing`);
        if (
          region &&
          typeof region.endLine === 'number' &&
          (region.endLine as number) < (region.startLine as number)
        )
          errors.push(`result ${i}: endLine before startLine`);
      }
    });
  }
  return errors;
}
