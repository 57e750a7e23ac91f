/**
 * freeze-windows: changes in scope are denied while a freeze window of any entity's close
 * calendar is in force, unless the object carries a valid break-glass approval.
 */
import { skip } from '../engine/evaluate.ts';
import { ConfigError } from '../engine/errors/index.ts';
import { formatPath } from '../engine/path.ts';
import type { FindingDraft, Policy } from '../engine/types.ts';
import type { BreakGlassConfig } from '../engine/break-glass.ts';
import {
  breakGlassAnnotation,
  breakGlassSchema,
  compileBreakGlass,
  useBreakGlass,
} from '../engine/break-glass.ts';
import type { EntityCalendar } from './calendar.ts';
import { compileEntity, entitySchema, loadHolidayTables, needsHolidayTables } from './calendar.ts';
import type { ExemptIdentities, Scope } from '../engine/scope.ts';
import {
  compileScope,
  exemptIdentity,
  exemptSchema,
  isBookkeepingOnlyUpdate,
  matchScope,
  scopeSchema,
} from '../engine/scope.ts';
import type { FreezeWindow, WindowRule } from './windows.ts';
import { activeWindows, compileWindow, windowSchema } from './windows.ts';

/** A window rule with the scope it freezes. */
export interface ScopedRule {
  readonly rule: WindowRule;
  readonly scope: Scope;
}

/** Parameters of freeze-windows, compiled. */
export interface FreezeWindowsParams {
  readonly entities: readonly EntityCalendar[];
  readonly rules: readonly ScopedRule[];
  readonly exempt: ExemptIdentities;
  readonly breakGlass?: BreakGlassConfig;
}

/** A window in force for a change. */
export interface ActiveFreeze extends FreezeWindow {
  readonly scope: Scope;
}

/**
 * Loads what computing these calendars needs: the holiday tables (date-holidays) when an entity
 * takes its holidays from them. The policy's evaluate does it itself; callers of the window
 * functions (`tollgate freeze`, the Action's freeze summary) await it first.
 */
export async function loadHolidayCalendars(params: FreezeWindowsParams): Promise<void> {
  if (needsHolidayTables(params.entities)) await loadHolidayTables();
}

const inForceCache = new WeakMap<FreezeWindowsParams, { at: number; windows: ActiveFreeze[] }>();

/** Every window (of every entity) in force at `now`, ordered by end (cached for the last instant asked). */
export function windowsInForce(params: FreezeWindowsParams, now: Date): ActiveFreeze[] {
  const cached = inForceCache.get(params);
  if (cached?.at === now.getTime()) return cached.windows;
  const out: ActiveFreeze[] = [];
  for (const entity of params.entities)
    for (const { rule, scope } of params.rules)
      for (const window of activeWindows([rule], entity, now)) out.push({ ...window, scope });
  out.sort((a, b) => a.end.getTime() - b.end.getTime() || a.entity.localeCompare(b.entity));
  inForceCache.set(params, { at: now.getTime(), windows: out });
  return out;
}

const help = `Denies changes during month-end close and other freeze windows, on each legal entity's own business-day
calendar (IANA zone, working week, public holidays from date-holidays plus extra and removed dates).
Windows: \`close\` (business-day offsets around every month end with wall-clock times, with overrides for
quarter end, year end or a specific month), \`absolute\` (one-off) and \`cron\` + \`duration\` (routine). All times
are wall-clock times in the entity's zone; a time in a skipped DST hour moves to the first valid instant, in a
repeated hour the earliest; start inclusive, end exclusive. Cron ORs day-of-month and day-of-week when both are
restricted ("0 0 25-31 * 5" is the 25th-31st OR any Friday): the bundle must say \`cronDayOr: true\` to accept that.
Scope: namespaces by name or label selector, kinds, operations; an UPDATE that only touches status,
managedFields, resourceVersion or generation is no change; exempt identities by username or group.
Emergency changes carry a break-glass approval in the annotation \`${breakGlassAnnotation}\`: a JWS (General JSON
serialization) signed by at least \`minApprovals\` approvers of the bundle's JWKS, none of them the requester,
within its nbf/exp (at most \`maxLifetime\`) and scope; without \`breakGlass\` in the bundle no token is
accepted. Use \`tollgate freeze status|calendar\` and \`tollgate break-glass request|approve|inspect\`.`;

const annotationPath = formatPath(['metadata', 'annotations', breakGlassAnnotation]);

/**
 * Why a token cannot unfreeze anything when the bundle sets no `breakGlass` (the policy cannot see
 * the bundle's name; the CLI, which can, names it).
 */
export const breakGlassNotConfigured =
  'break-glass is not configured in this bundle (spec.breakGlass is absent)';

/** The freeze-windows policy: close calendars per legal entity, scope, exemptions and break-glass. */
export const freezeWindowsPolicy: Policy<FreezeWindowsParams> = {
  id: 'freeze-windows',
  version: '1.0.0',
  description:
    'No changes in scope during month-end close and other freeze windows, except signed break-glass approvals.',
  help,
  paramsSchema: {
    type: 'object',
    required: ['entities', 'windows'],
    properties: {
      entities: {
        type: 'object',
        minProperties: 1,
        propertyNames: { pattern: '^[a-z0-9]([-a-z0-9]*[a-z0-9])?$' },
        additionalProperties: entitySchema,
        description: 'legal entities by id, each with its zone and business-day calendar',
      },
      windows: {
        type: 'array',
        minItems: 1,
        items: { ...windowSchema, properties: { ...windowSchema.properties, scope: scopeSchema } },
        description: 'freeze window rules (close, absolute or cron)',
      },
      scope: { ...scopeSchema, description: 'default scope of windows without their own' },
      exempt: { ...exemptSchema, description: 'identities that keep working during a freeze' },
      breakGlass: {
        ...breakGlassSchema,
        description:
          'deprecated: configure break-glass once for the bundle as spec.breakGlass (honoured by freeze-windows and gitops-only)',
      },
    },
  },
  // Namespaced only: a cluster-wide wildcard would block nodes, CRDs and ClusterRoles whenever the
  // webhook is down (namespaceSelector does not filter cluster-scoped objects). Namespace objects
  // are sent explicitly, so labelling a namespace into or out of a frozen scope is judged.
  admissionRules: [
    { apiGroups: ['*'], resources: ['*'], operations: ['CREATE', 'UPDATE', 'DELETE'], scope: 'Namespaced' },
    { apiGroups: [''], resources: ['namespaces'], operations: ['CREATE', 'UPDATE', 'DELETE'] },
    // kubectl scale changes replicas through the scale subresource of any workload
    { apiGroups: ['*'], resources: ['*/scale'], operations: ['UPDATE'], scope: 'Namespaced' },
  ],
  compile(raw, bundle) {
    const entities = Object.entries(raw.entities as Record<string, Record<string, unknown>>).map(
      ([id, entity]) => compileEntity(id, entity, `entities/${id}`),
    );
    const ids = new Set(entities.map((entity) => entity.id));
    const defaultScope = raw.scope as Record<string, unknown> | undefined;
    const names = new Set<string>();
    const rules = (raw.windows as Record<string, unknown>[]).map((window, index): ScopedRule => {
      const path = `windows/${index}`;
      const rule = compileWindow(window, path);
      if (names.has(rule.name)) throw new ConfigError(`${path}/name`, `duplicate window name "${rule.name}"`);
      names.add(rule.name);
      rule.entities?.forEach((entity, i) => {
        if (!ids.has(entity))
          throw new ConfigError(
            `${path}/entities/${i}`,
            `unknown entity "${entity}" (known: ${[...ids].join(', ')})`,
          );
      });
      const ownScope = window.scope as Record<string, unknown> | undefined;
      return { rule, scope: compileScope(ownScope ?? defaultScope, ownScope ? `${path}/scope` : 'scope') };
    });
    const exempt = (raw.exempt as Record<string, unknown> | undefined) ?? {};
    const params: { -readonly [K in keyof FreezeWindowsParams]: FreezeWindowsParams[K] } = {
      entities,
      rules,
      exempt: {
        usernames: ((exempt.usernames as unknown[] | undefined) ?? []).map(String),
        groups: ((exempt.groups as unknown[] | undefined) ?? []).map(String),
      },
    };
    if (raw.breakGlass && bundle.breakGlass)
      throw new ConfigError(
        'breakGlass',
        'break-glass is configured twice: keep spec.breakGlass (honoured by every policy) and remove freeze-windows.breakGlass',
      );
    if (raw.breakGlass)
      params.breakGlass = compileBreakGlass(raw.breakGlass as Record<string, unknown>, 'breakGlass');
    else if (bundle.breakGlass) params.breakGlass = bundle.breakGlass;
    return params;
  },
  async evaluate(input, params, context, tools) {
    if (input.operation === 'CONNECT') return skip('CONNECT changes nothing');
    if (isBookkeepingOnlyUpdate(input))
      return skip('the UPDATE changes only status, managedFields, resourceVersion or generation');
    // Scope first: a change no rule freezes never computes a calendar (nor loads the holiday tables).
    const scopes = params.rules.map(({ rule, scope }) => ({
      rule,
      match: matchScope(scope, input, context.namespaces),
    }));
    const why = scopes.flatMap(({ rule, match }) => (match.inScope ? [] : [`${rule.name}: ${match.why}`]));
    if (scopes.length > 0 && why.length === scopes.length)
      return skip(`outside the scope of every freeze window: ${why.join('; ')}`);
    await loadHolidayCalendars(params);
    const inForce = windowsInForce(params, context.now);
    if (inForce.length === 0) return skip(`no freeze window is in force at ${context.now.toISOString()}`);
    const frozen: ActiveFreeze[] = [];
    const outOfScope: string[] = [];
    for (const window of inForce) {
      const match = matchScope(window.scope, input, context.namespaces);
      if (match.inScope) frozen.push(window);
      else outOfScope.push(`${window.window} (${window.entity}): ${match.why}`);
    }
    if (frozen.length === 0)
      return skip(`outside the scope of every window in force: ${outOfScope.join('; ')}`);
    const exempt = exemptIdentity(params.exempt, input.userInfo);
    if (exempt) return skip(`${exempt} from freeze windows`);
    const last = frozen[frozen.length - 1] as ActiveFreeze;
    const glass = await useBreakGlass(input, params.breakGlass, context.now);
    let tokenFinding: FindingDraft | undefined;
    if (glass.state === 'valid') {
      tools.record({
        kind: 'break-glass',
        data: { ...glass.record, windows: frozen.map((w) => `${w.window}/${w.entity}`) },
      });
      return [];
    }
    if (glass.state === 'not-configured')
      tokenFinding = {
        path: annotationPath,
        message: `${breakGlassNotConfigured}: the break-glass approval on this object is not checked and unfreezes nothing`,
        fix: `merge after ${last.endLocal} ${last.zone}, or ask the policy owners to add approver keys under spec.breakGlass in the bundle`,
        details: { reasons: [breakGlassNotConfigured] },
      };
    if (glass.state === 'invalid')
      tokenFinding = {
        path: annotationPath,
        message: `break-glass approval rejected: ${glass.reasons.join('; ')}`,
        fix: `have approvers (re)sign with "tollgate break-glass approve" and check it with "tollgate break-glass inspect", or merge after ${last.endLocal} ${last.zone}`,
        details: { reasons: [...glass.reasons], ...(glass.ticket ? { ticket: glass.ticket } : {}) },
      };
    const findings: FindingDraft[] = frozen.map((window) => ({
      path: formatPath(['metadata', 'name']),
      message: `${input.operation} of ${input.object.kind ?? 'object'} ${input.object.metadata?.name ?? ''} is frozen by window "${window.window}" of ${window.entity} (${window.zone}) from ${window.startLocal} until ${window.endLocal}: merge after ${window.endLocal} ${window.zone}`,
      fix: `wait until ${window.endLocal} ${window.zone} (${window.end.toISOString()}), or attach an approved break-glass token in annotation ${breakGlassAnnotation} (tollgate break-glass request|approve)`,
      details: {
        window: window.window,
        rule: window.rule,
        entity: window.entity,
        zone: window.zone,
        startsAt: window.start.toISOString(),
        endsAt: window.end.toISOString(),
        endsAtLocal: window.endLocal,
        ends: `${window.endLocal} ${window.zone}`,
      },
    }));
    if (tokenFinding) findings.push(tokenFinding);
    return findings;
  },
};
