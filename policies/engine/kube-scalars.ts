/**
 * Plain YAML scalars typed the way Kubernetes clients read manifests. kubectl, Helm and Argo CD
 * parse YAML with sigs.k8s.io/yaml (go-yaml v2, YAML 1.1 rules), not the YAML 1.2 core schema:
 * `yes`, `on`, `Y` are booleans, `0755` is octal, `1_000` is a thousand. A CI gate that reads
 * `hostNetwork: yes` as the string "yes" passes a manifest the cluster runs with `hostNetwork: true`,
 * and one that reads `port: 012470` as 12470 misses a database on 5432. Quoted scalars are strings
 * in both, so only plain scalars are affected.
 */

/** go-yaml v2's boolean spellings. */
const booleans: ReadonlyMap<string, boolean> = new Map([
  ...['y', 'Y', 'yes', 'Yes', 'YES', 'true', 'True', 'TRUE', 'on', 'On', 'ON'].map((s) => [s, true] as const),
  ...['n', 'N', 'no', 'No', 'NO', 'false', 'False', 'FALSE', 'off', 'Off', 'OFF'].map(
    (s) => [s, false] as const,
  ),
]);

/** strconv.ParseInt(s, 0, 64) syntax: sign, then 0x/0o/0b prefix, a leading-0 octal, or decimal. */
const goInt = /^([+-]?)(?:0[xX]([0-9a-fA-F]+)|0[oO]([0-7]+)|0[bB]([01]+)|(0[0-7]*)|([1-9][0-9]*))$/;
/** go-yaml v2's `yamlStyleFloat`. */
const goFloat = /^[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?$/;
const infinities: ReadonlyMap<string, number> = new Map([
  ...['.inf', '.Inf', '.INF', '+.inf', '+.Inf', '+.INF'].map((s) => [s, Infinity] as const),
  ...['-.inf', '-.Inf', '-.INF'].map((s) => [s, -Infinity] as const),
  ...['.nan', '.NaN', '.NAN'].map((s) => [s, Number.NaN] as const),
]);
/** Decimal integers of at most 15 digits: Number() reads them exactly, as ParseInt does. */
const shortDecimal = /^(?:0|[1-9][0-9]{0,14})$/;
const INT64_MIN = -(1n << 63n);
const UINT64_MAX = (1n << 64n) - 1n;

/** A plain scalar's boolean value under go-yaml v2, or undefined when it is not a boolean. */
export function kubeBoolean(source: string): boolean | undefined {
  // Every spelling has at most 5 characters: skip hashing longer strings.
  return source.length > 5 ? undefined : booleans.get(source);
}

/** A plain scalar's integer value under go-yaml v2 (underscores dropped, base prefixes, leading-0 octal). */
export function kubeInteger(source: string): number | undefined {
  // go-yaml only types a scalar as a number when it starts with a digit or a sign.
  if (!/^[0-9+-]/.test(source)) return undefined;
  // The common case, exactly representable: a short decimal without sign, underscore or leading zero.
  if (shortDecimal.test(source)) return Number(source);
  const match = goInt.exec(source.replaceAll('_', ''));
  if (!match) return undefined;
  const [, sign, hex, octal, binary, leadingZero, decimal] = match;
  let value: bigint;
  if (hex !== undefined) value = BigInt(`0x${hex}`);
  else if (octal !== undefined) value = BigInt(`0o${octal}`);
  else if (binary !== undefined) value = BigInt(`0b${binary}`);
  else if (leadingZero !== undefined) value = leadingZero === '0' ? 0n : BigInt(`0o${leadingZero.slice(1)}`);
  else value = BigInt(decimal ?? '0');
  if (sign === '-') value = -value;
  // Beyond int64/uint64 go-yaml falls back to a float (decimal) or a string.
  if (value < INT64_MIN || value > UINT64_MAX) return undefined;
  return value === 0n ? 0 : Number(value);
}

/** A plain scalar's float value under go-yaml v2 (`1e3`, `.5`, `1_000.5`, `.inf`, `.nan`). */
export function kubeFloat(source: string): number | undefined {
  const special = infinities.get(source);
  if (special !== undefined) return special;
  if (source.startsWith('.'))
    return /^\.[0-9]+(?:[eE][-+]?[0-9]+)?$/.test(source) ? Number(source) : undefined;
  if (!/^[0-9+-]/.test(source)) return undefined;
  const plain = source.replaceAll('_', '');
  return goFloat.test(plain) ? Number(plain) : undefined;
}
