/**
 * Kubernetes resource quantities (k8s.io/apimachinery `resource.Quantity`) parsed exactly,
 * as a fraction of big integers, so comparisons at the boundary are never off by rounding.
 */

/** An exact quantity value `numerator / denominator`. */
export interface Quantity {
  readonly text: string;
  readonly numerator: bigint;
  readonly denominator: bigint;
  /** The suffix as written (`Mi`, `m`, `e3`, or empty). */
  readonly suffix: string;
}

const binarySuffixes: Record<string, bigint> = {
  Ki: 1n << 10n,
  Mi: 1n << 20n,
  Gi: 1n << 30n,
  Ti: 1n << 40n,
  Pi: 1n << 50n,
  Ei: 1n << 60n,
};
const decimalSuffixes: Record<string, number> = {
  n: -9,
  u: -6,
  m: -3,
  '': 0,
  k: 3,
  M: 6,
  G: 9,
  T: 12,
  P: 15,
  E: 18,
};

const quantityRe = /^([+-]?)(\d+(?:\.\d*)?|\.\d+)(Ki|Mi|Gi|Ti|Pi|Ei|[numkMGTPE]|[eE][+-]?\d+)?$/;

/** Parses a quantity string or number; returns undefined when it is not valid Kubernetes quantity syntax. */
export function parseQuantity(value: unknown): Quantity | undefined {
  let text: string;
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) return undefined;
    text = String(value);
    if (text.includes('e')) return parseQuantity(value.toFixed(9).replace(/\.?0+$/, ''));
  } else if (typeof value === 'string') text = value;
  else return undefined;
  const match = quantityRe.exec(text);
  if (!match) return undefined;
  const sign = match[1] === '-' ? -1n : 1n;
  const digits = match[2] ?? '0';
  const suffix = match[3] ?? '';
  const [whole = '', fraction = ''] = digits.split('.');
  let numerator = BigInt((whole || '0') + fraction) * sign;
  let denominator = 10n ** BigInt(fraction.length);
  const binary = binarySuffixes[suffix];
  let exponent = 0;
  if (binary !== undefined) numerator *= binary;
  else if (suffix.startsWith('e') || suffix.startsWith('E')) exponent = Number(suffix.slice(1));
  else exponent = decimalSuffixes[suffix] ?? 0;
  if (Math.abs(exponent) > 1000) return undefined;
  if (exponent > 0) numerator *= 10n ** BigInt(exponent);
  else if (exponent < 0) denominator *= 10n ** BigInt(-exponent);
  return { text, numerator, denominator, suffix };
}

/** Compares two quantities exactly: negative when a < b, 0 when equal, positive when a > b. */
export function compareQuantities(a: Quantity, b: Quantity): number {
  const left = a.numerator * b.denominator;
  const right = b.numerator * a.denominator;
  return left < right ? -1 : left > right ? 1 : 0;
}

/** Whether a quantity is zero. */
export function isZeroQuantity(q: Quantity): boolean {
  return q.numerator === 0n;
}
