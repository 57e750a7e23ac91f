/**
 * ISO-8601 instants as users write them for `--now` and the Action's `now` input: one rule for
 * every edge, so a value one accepts the others accept.
 */

/** Example shown in error messages. */
export const instantExample = '2026-12-30T18:00:00+01:00';

/** Parses an ISO-8601 date-time (a date, optionally a time and offset); undefined when it is not one. */
export function parseInstant(text: string): Date | undefined {
  if (!/^\d{4}-\d{2}-\d{2}/.test(text)) return undefined;
  const date = new Date(text);
  return Number.isNaN(date.getTime()) ? undefined : date;
}
