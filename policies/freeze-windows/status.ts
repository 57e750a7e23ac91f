/**
 * Freeze status: per legal entity, the windows in force at an instant and the next one to begin.
 * One function for `tollgate freeze status`, the Action's job summary and anything else that tells
 * a person whether a change can merge now, computed with the same calendar the policy enforces.
 */
import type { CompiledBundle } from '../engine/bundle.ts';
import type { EntityCalendar } from './calendar.ts';
import type { FreezeWindowsParams } from './index.ts';
import { activeWindows, nextWindow } from './windows.ts';
import type { FreezeWindow } from './windows.ts';

/** Whether one entity is frozen at an instant, by which windows, and the next window. */
export interface EntityFreezeStatus {
  readonly entity: EntityCalendar;
  readonly frozen: boolean;
  readonly active: readonly FreezeWindow[];
  /** The next window to begin (within 400 days), if any. */
  readonly next: FreezeWindow | undefined;
}

/** The freeze-windows parameters a bundle configures, or undefined. */
export function freezeParamsIn(bundle: CompiledBundle): FreezeWindowsParams | undefined {
  return bundle.policies.find((p) => p.policy.id === 'freeze-windows')?.params as
    FreezeWindowsParams | undefined;
}

/** Per-entity freeze status at `now`. */
export function freezeStatusAt(params: FreezeWindowsParams, now: Date): EntityFreezeStatus[] {
  const rules = params.rules.map((r) => r.rule);
  return params.entities.map((entity) => {
    const active = activeWindows(rules, entity, now);
    return { entity, frozen: active.length > 0, active, next: nextWindow(rules, entity, now) };
  });
}
