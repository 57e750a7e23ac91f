/**
 * Kubernetes resource quantities (k8s.io/apimachinery `resource.Quantity`) parsed exactly, with
 * the API server's own normalisation (values rounded up to a whole nano, binary values capped at
 * 2^63-1), so comparisons at a boundary are never off by floating-point rounding.
 *
 * Grammar (apimachinery's documented serialization format):
 * ```
 * <quantity>     ::= <signedNumber><suffix>
 * <signedNumber> ::= <number> | +<number> | -<number>
 * <number>       ::= <digits> | <digits>.<digits> | <digits>. | .<digits>
 * <suffix>       ::= <binarySI> | <decimalExponent> | <decimalSI>
 * <binarySI>     ::= Ki | Mi | Gi | Ti | Pi | Ei
 * <decimalSI>    ::= n | u | m | "" | k | M | G | T | P | E
 * <decimalExponent> ::= e<signedDigits> | E<signedDigits>
 * ```
 */

/** How a quantity was written (apimachinery's `Format`). */
export type QuantityFormat = 'BinarySI' | 'DecimalSI' | 'DecimalExponent';

/** An exact quantity value `numerator / denominator` (the denominator is always 10^9: whole nanos). */
export interface Quantity {
  readonly text: string;
  readonly numerator: bigint;
  readonly denominator: bigint;
  /** The suffix as written (`Mi`, `m`, `e3`, or empty). */
  readonly suffix: string;
  readonly format: QuantityFormat;
}

/** Why a value is not a valid quantity. */
export interface QuantityError {
  readonly error: string;
}

const NANOS_PER_UNIT = 10n ** 9n;
/** apimachinery caps binary-SI amounts at the largest int64. */
const MAX_BINARY = (1n << 63n) - 1n;
/** Longest quantity text accepted; real ones are a few characters (`512Mi`, `0.25`, `1e3`). */
export const MAX_QUANTITY_LENGTH = 128;
/** Decimal exponents beyond this are refused rather than expanded (the API would accept up to int32). */
const MAX_EXPONENT = 1000;

const binarySuffixes: Readonly<Record<string, bigint>> = {
  Ki: 1n << 10n,
  Mi: 1n << 20n,
  Gi: 1n << 30n,
  Ti: 1n << 40n,
  Pi: 1n << 50n,
  Ei: 1n << 60n,
};
const decimalSuffixes: Readonly<Record<string, number>> = {
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

const shapeRe = /^([+-]?)(\d*)(?:(\.)(\d*))?(.*)$/s;
const exponentRe = /^[eE]([+-]?\d+)$/;

const suffixHints: Readonly<Record<string, string>> = {
  K: 'k (10^3) or Ki (2^10)',
  KB: 'k or Ki',
  Kb: 'k or Ki',
  MB: 'M or Mi',
  Mb: 'M or Mi',
  GB: 'G or Gi',
  Gb: 'G or Gi',
  TB: 'T or Ti',
  mi: 'Mi',
  gi: 'Gi',
  ki: 'Ki',
  g: 'G or Gi',
};

/** Whether a parse result is an error. */
export function isQuantityError(value: Quantity | QuantityError): value is QuantityError {
  return 'error' in value;
}

/**
 * Parses a quantity string (or a JSON number, which the API server also accepts) and returns the
 * exact value, or the reason it is not valid Kubernetes quantity syntax.
 */
export function parseQuantityDetailed(value: unknown): Quantity | QuantityError {
  if (typeof value !== 'string') return parseUncached(value);
  // Neither parsed (a million digits cost the webhook a second) nor cached (4096 such keys would hold gigabytes).
  if (value.length > MAX_QUANTITY_LENGTH)
    return {
      error: `longer than ${MAX_QUANTITY_LENGTH} characters (${value.length}); not a realistic quantity`,
    };
  const cached = cache.get(value);
  if (cached) return cached;
  const parsed = Object.freeze(parseUncached(value));
  if (cache.size >= CACHE_LIMIT) cache.clear();
  cache.set(value, parsed);
  return parsed;
}

/** Parsed strings; manifests repeat a handful of values (`500m`, `1Gi`), so parsing is memoized. */
const cache = new Map<string, Quantity | QuantityError>();
const CACHE_LIMIT = 4096;

function parseUncached(value: unknown): Quantity | QuantityError {
  let text: string;
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) return { error: `${String(value)} is not a finite number` };
    // JavaScript's number formatting (`1e+21`, `5e-7`) is itself valid quantity syntax.
    text = String(value);
  } else if (typeof value === 'string') text = value;
  else return { error: `expected a string or number, got ${value === null ? 'null' : typeof value}` };
  if (text === '') return { error: 'empty quantity' };
  if (/\s/.test(text)) return { error: 'contains whitespace' };
  const shape = shapeRe.exec(text);
  if (!shape) return { error: 'not a number with an optional suffix' };
  const [, sign = '', whole = '', dot, fraction = '', suffix = ''] = shape;
  if (whole === '' && fraction === '')
    return { error: dot ? 'a lone "." is not a number' : 'does not start with a number' };
  if (/^[+-]/.test(suffix) || suffix.startsWith('.'))
    return { error: `unexpected ${JSON.stringify(suffix[0])} after the number` };

  // value = sign * digits * multiplier * 10^exponent / 10^fraction.length
  const digits = BigInt(`${whole}${fraction}` || '0');
  let multiplier = 1n;
  let exponent = -fraction.length;
  let format: QuantityFormat;
  const binary = binarySuffixes[suffix];
  const decimal = decimalSuffixes[suffix];
  const exponentMatch = exponentRe.exec(suffix);
  if (binary !== undefined) {
    multiplier = binary;
    format = 'BinarySI';
  } else if (decimal !== undefined) {
    exponent += decimal;
    format = 'DecimalSI';
  } else if (exponentMatch) {
    const written = Number(exponentMatch[1]);
    if (Math.abs(written) > MAX_EXPONENT)
      return { error: `exponent ${exponentMatch[1] ?? ''} is outside ±${MAX_EXPONENT}` };
    exponent += written;
    format = 'DecimalExponent';
  } else {
    const hint = suffixHints[suffix];
    return {
      error: `unknown suffix ${JSON.stringify(suffix)}${hint ? ` (did you mean ${hint}?)` : ''}; use one of Ki Mi Gi Ti Pi Ei, n u m k M G T P E, or an exponent such as e3`,
    };
  }

  // Convert to whole nanos, rounding a non-zero remainder away from zero as the API server does.
  let magnitude = digits * multiplier;
  const scale = exponent + 9;
  if (scale >= 0) magnitude *= 10n ** BigInt(scale);
  else if (magnitude !== 0n) {
    const divisor = 10n ** BigInt(-scale);
    const quotient = magnitude / divisor;
    magnitude = quotient * divisor === magnitude ? quotient : quotient + 1n;
  }
  if (format === 'BinarySI' && magnitude > MAX_BINARY * NANOS_PER_UNIT)
    magnitude = MAX_BINARY * NANOS_PER_UNIT;
  const numerator = sign === '-' ? -magnitude : magnitude;
  return { text, numerator, denominator: NANOS_PER_UNIT, suffix, format };
}

/** Parses a quantity string or number; returns undefined when it is not valid Kubernetes quantity syntax. */
export function parseQuantity(value: unknown): Quantity | undefined {
  const parsed = parseQuantityDetailed(value);
  return isQuantityError(parsed) ? undefined : parsed;
}

/** Compares two quantities exactly: negative when a < b, 0 when equal, positive when a > b. */
export function compareQuantities(a: Quantity, b: Quantity): number {
  if (a.denominator === b.denominator)
    return a.numerator < b.numerator ? -1 : a.numerator > b.numerator ? 1 : 0;
  const left = a.numerator * b.denominator;
  const right = b.numerator * a.denominator;
  return left < right ? -1 : left > right ? 1 : 0;
}

/** Whether a quantity is zero. */
export function isZeroQuantity(q: Quantity): boolean {
  return q.numerator === 0n;
}

/** Whether a quantity is below zero (the API rejects negative resource amounts). */
export function isNegativeQuantity(q: Quantity): boolean {
  return q.numerator < 0n;
}

/** The largest int64: the kubelet and apimachinery read quantities into int64 (`Value`, `MilliValue`). */
export const MAX_INT64 = (1n << 63n) - 1n;

/**
 * `ceil(q / 10^scale)` exactly, as apimachinery's `ScaledValue(scale)` would compute it if it did
 * not overflow (`scale` 0 is `Value()`, the kubelet's reading of bytes; -3 is `MilliValue()`, its
 * reading of CPU). Beyond {@link MAX_INT64} apimachinery silently returns 0 or a wrapped value.
 */
export function scaledCeil(q: Quantity, scale: number): bigint {
  const exponent = 9 + scale;
  const divisor = q.denominator * (exponent >= 9 ? 10n ** BigInt(exponent - 9) : 1n);
  const numerator = exponent >= 9 ? q.numerator : q.numerator * 10n ** BigInt(9 - exponent);
  const quotient = numerator / divisor;
  return quotient * divisor < numerator ? quotient + 1n : quotient;
}
