import { describe, expect, it } from 'vitest';
import {
  compareQuantities,
  isNegativeQuantity,
  isQuantityError,
  scaledCeil,
  isZeroQuantity,
  parseQuantity,
  parseQuantityDetailed,
} from './quantity.ts';

/** The value in whole nanos, as the API server stores it. */
function nanos(value: unknown): bigint {
  const parsed = parseQuantityDetailed(value);
  if (isQuantityError(parsed)) throw new Error(`${String(value)}: ${parsed.error}`);
  expect(parsed.denominator).toBe(10n ** 9n);
  return parsed.numerator;
}

const unit = 10n ** 9n;

describe('parseQuantity', () => {
  it.each([
    // binary SI
    ['1Ki', 1024n * unit],
    ['1Mi', 1024n ** 2n * unit],
    ['1Gi', 1024n ** 3n * unit],
    ['1Ti', 1024n ** 4n * unit],
    ['1Pi', 1024n ** 5n * unit],
    ['1Ei', 1024n ** 6n * unit],
    ['1.5Gi', 1536n * 1024n ** 2n * unit],
    ['0.5Ki', 512n * unit],
    // decimal SI
    ['1n', 1n],
    ['1u', 1000n],
    ['1m', 1000n * 1000n],
    ['500m', unit / 2n],
    ['1', unit],
    ['1k', 1000n * unit],
    ['1M', 10n ** 6n * unit],
    ['1G', 10n ** 9n * unit],
    ['1T', 10n ** 12n * unit],
    ['1P', 10n ** 15n * unit],
    ['1E', 10n ** 18n * unit],
    // decimal exponents
    ['1e3', 1000n * unit],
    ['1E3', 1000n * unit],
    ['1e+3', 1000n * unit],
    ['5e-1', unit / 2n],
    ['12E-3', 12n * 1000n * 1000n],
    ['1e0', unit],
    // number shapes
    ['.5', unit / 2n],
    ['+1', unit],
    ['1.', unit],
    ['1.G', 10n ** 9n * unit],
    ['0.25', unit / 4n],
    ['007', 7n * unit],
    ['-1', -unit],
    ['-.5Gi', -(512n * 1024n ** 2n) * unit],
    ['0', 0n],
    ['0Mi', 0n],
    // JSON numbers are accepted by the API server too
    [2, 2n * unit],
    [0.5, unit / 2n],
    [1e21, 10n ** 21n * unit],
    [5e-7, 500n],
  ])('%j = %s nanos', (text, expected) => {
    expect(nanos(text)).toBe(expected);
  });

  it('rounds below a nano up, away from zero, like the API server', () => {
    expect(nanos('0.1n')).toBe(1n);
    expect(nanos('1.5n')).toBe(2n);
    expect(nanos('-1.5n')).toBe(-2n);
    expect(nanos('1e-30')).toBe(1n);
    expect(nanos('0e-30')).toBe(0n);
  });

  it('caps binary-SI amounts at 2^63-1 like the API server', () => {
    expect(nanos('16Ei')).toBe(((1n << 63n) - 1n) * unit);
    expect(nanos('7Ei')).toBe(7n * 1024n ** 6n * unit);
  });

  it('records suffix and format', () => {
    expect(parseQuantity('2Gi')).toMatchObject({ suffix: 'Gi', format: 'BinarySI', text: '2Gi' });
    expect(parseQuantity('2G')).toMatchObject({ suffix: 'G', format: 'DecimalSI' });
    expect(parseQuantity('2e9')).toMatchObject({ suffix: 'e9', format: 'DecimalExponent' });
    expect(parseQuantity('2E')).toMatchObject({ suffix: 'E', format: 'DecimalSI' });
  });

  it.each([
    ['', 'empty'],
    [' 1', 'whitespace'],
    ['1 ', 'whitespace'],
    ['1 Gi', 'whitespace'],
    ['.', 'lone "."'],
    ['+', 'does not start with a number'],
    ['Gi', 'does not start with a number'],
    ['aoeu', 'does not start with a number'],
    ['1.1.M', 'unexpected "."'],
    ['1+1.0M', 'unexpected "+"'],
    ['--1', 'does not start with a number'],
    ['0.1mi', 'did you mean Mi'],
    ['1K', 'did you mean k (10^3) or Ki (2^10)'],
    ['1GB', 'did you mean G or Gi'],
    ['.5i', 'unknown suffix "i"'],
    ['1i', 'unknown suffix "i"'],
    ['-3.01e-', 'unknown suffix "e-"'],
    ['1e', 'unknown suffix "e"'],
    ['1e3Mi', 'unknown suffix "e3Mi"'],
    ['1Ki3', 'unknown suffix "Ki3"'],
    ['1e1.5', 'unknown suffix "e1.5"'],
    ['1e1001', 'outside ±1000'],
    [Number.NaN, 'not a finite number'],
    [Number.POSITIVE_INFINITY, 'not a finite number'],
    [null, 'got null'],
    [true, 'got boolean'],
    [{ value: 1 }, 'got object'],
  ])('rejects %j (%s)', (value, reason) => {
    const parsed = parseQuantityDetailed(value);
    expect(isQuantityError(parsed)).toBe(true);
    expect(isQuantityError(parsed) && parsed.error).toContain(reason);
    expect(parseQuantity(value)).toBeUndefined();
  });
});

describe('compareQuantities', () => {
  function cmp(a: string, b: string): number {
    const left = parseQuantity(a);
    const right = parseQuantity(b);
    if (!left || !right) throw new Error('invalid test quantity');
    return compareQuantities(left, right);
  }

  it.each([
    ['1Gi', '1073741824', 0],
    ['1G', '1e9', 0],
    ['1000m', '1', 0],
    ['0.5', '500m', 0],
    ['8Gi', '8192Mi', 0],
    ['8Gi', '8589934592001m', -1],
    ['8589934593', '8Gi', 1],
    ['1Gi', '1G', 1],
    ['1n', '0', 1],
    ['-1', '0', -1],
    ['4', '4001m', -1],
  ])('%s vs %s = %d', (a, b, expected) => {
    expect(cmp(a, b)).toBe(expected);
  });

  it('knows zero and negative values', () => {
    const zero = parseQuantity('0Gi');
    const negative = parseQuantity('-1m');
    expect(zero && isZeroQuantity(zero)).toBe(true);
    expect(negative && isNegativeQuantity(negative)).toBe(true);
    expect(negative && isZeroQuantity(negative)).toBe(false);
  });
});

describe('scaledCeil (apimachinery ScaledValue without its int64 overflow)', () => {
  it.each([
    ['1', 0, 1n],
    ['1n', 0, 1n],
    ['1n', -3, 1n],
    ['0.5', 0, 1n],
    ['1500m', 0, 2n],
    ['2', -3, 2000n],
    ['10E', 0, 10n ** 19n],
    ['-1.5', 0, -1n],
  ])('%s at scale %i is %s', (text, scale, expected) => {
    const quantity = parseQuantity(text);
    expect(quantity && scaledCeil(quantity, scale)).toBe(expected);
  });
});
