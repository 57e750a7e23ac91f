/** Small statistics helpers shared by the bench scripts. */

/** The q-quantile (0..1) of a list of numbers. */
export function quantile(values: readonly number[], q: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  const index = Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1));
  return sorted[index] ?? Number.NaN;
}

/** Formats nanoseconds as microseconds with two decimals. */
export function micros(ns: number): string {
  return `${(ns / 1000).toFixed(2)} µs`;
}
