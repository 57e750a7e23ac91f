/**
 * Address ranges as Kubernetes reads them. The API server validates CIDRs with k8s.io/utils'
 * `ParseCIDRSloppy` (Go 1.16's parser: decimal octets with leading zeros, any number of leading
 * zeros in the prefix length, IPv4 embedded in IPv6), and kube-proxy and the cloud providers turn
 * the parsed network back into text with Go's `IPNet.String()`, which writes an IPv4-mapped IPv6
 * network (`::ffff:0.0.0.0/96`) as the IPv4 network it contains (`0.0.0.0/0`). Every policy that
 * asks "does this range admit the internet?" asks it here, on the network Kubernetes programs.
 */
import { ConfigError } from './errors/index.ts';

/** An IP family, named as Kubernetes names it in `spec.ipFamilies`. */
export type IpFamily = 'IPv4' | 'IPv6';

/** A network as Go normalises it: family, masked address bytes (4 or 16) and prefix length. */
export interface Cidr {
  readonly family: IpFamily;
  readonly bytes: readonly number[];
  readonly bits: number;
  /** `IPNet.String()`, e.g. `0.0.0.0/0` for `::ffff:0:0/96`. */
  readonly text: string;
}

/** Go's `dtoi`: leading ASCII decimal digits (at least one), failing at 0xFFFFFF. */
function decimal(text: string, from: number): { value: number; end: number } | undefined {
  let value = 0;
  let end = from;
  while (end < text.length && text.charCodeAt(end) >= 48 && text.charCodeAt(end) <= 57) {
    value = value * 10 + text.charCodeAt(end) - 48;
    if (value >= 0xffffff) return undefined;
    end++;
  }
  return end === from ? undefined : { value, end };
}

/** Go's `xtoi`: leading ASCII hex digits (at least one), failing at 0xFFFFFF. */
function hex(text: string, from: number): { value: number; end: number } | undefined {
  let value = 0;
  let end = from;
  while (end < text.length && /[0-9a-fA-F]/.test(text.charAt(end))) {
    value = value * 16 + parseInt(text.charAt(end), 16);
    if (value >= 0xffffff) return undefined;
    end++;
  }
  return end === from ? undefined : { value, end };
}

/** Four dot-separated decimal octets (leading zeros allowed, read as decimal), or undefined. */
function parseIPv4(text: string): number[] | undefined {
  const bytes: number[] = [];
  let at = 0;
  for (let i = 0; i < 4; i++) {
    if (i > 0) {
      if (text.charAt(at) !== '.') return undefined;
      at++;
    }
    const octet = decimal(text, at);
    if (!octet || octet.value > 0xff) return undefined;
    bytes.push(octet.value);
    at = octet.end;
  }
  return at === text.length ? bytes : undefined;
}

/** Sixteen bytes of an IPv6 address in the sloppy grammar (`::`, up to 0xFFFF per group, trailing IPv4). */
function parseIPv6(text: string): number[] | undefined {
  const bytes: number[] = new Array<number>(16).fill(0);
  let ellipsis = -1;
  let rest = text;
  if (rest.startsWith('::')) {
    ellipsis = 0;
    rest = rest.slice(2);
    if (rest === '') return bytes;
  }
  let i = 0;
  while (i < 16) {
    const group = hex(rest, 0);
    if (!group || group.value > 0xffff) return undefined;
    if (rest.charAt(group.end) === '.') {
      if ((ellipsis < 0 && i !== 12) || i + 4 > 16) return undefined;
      const v4 = parseIPv4(rest);
      if (!v4) return undefined;
      bytes.splice(i, 4, ...v4);
      rest = '';
      i += 4;
      break;
    }
    bytes[i] = group.value >> 8;
    bytes[i + 1] = group.value & 0xff;
    i += 2;
    rest = rest.slice(group.end);
    if (rest === '') break;
    if (rest.charAt(0) !== ':' || rest.length === 1) return undefined;
    rest = rest.slice(1);
    if (rest.charAt(0) === ':') {
      if (ellipsis >= 0) return undefined;
      ellipsis = i;
      rest = rest.slice(1);
      if (rest === '') break;
    }
  }
  if (rest !== '') return undefined;
  if (i < 16) {
    if (ellipsis < 0) return undefined;
    const moved = bytes.slice(ellipsis, i);
    bytes.fill(0, ellipsis, 16);
    bytes.splice(16 - moved.length, moved.length, ...moved);
  } else if (ellipsis >= 0) return undefined;
  return bytes;
}

function mask(bytes: readonly number[], bits: number): number[] {
  return bytes.map((byte, index) => {
    const keep = Math.max(0, Math.min(8, bits - index * 8));
    return byte & ((0xff << (8 - keep)) & 0xff);
  });
}

const v4MappedPrefix = [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff];

function ipv6Text(bytes: readonly number[]): string {
  const groups = Array.from({ length: 8 }, (_, i) => ((bytes[2 * i] ?? 0) << 8) | (bytes[2 * i + 1] ?? 0));
  let best = { start: -1, length: 0 };
  for (let i = 0; i < 8;) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > best.length && j - i > 1) best = { start: i, length: j - i };
    i = j;
  }
  const hexes = groups.map((group) => group.toString(16));
  if (best.start < 0) return hexes.join(':');
  return `${hexes.slice(0, best.start).join(':')}::${hexes.slice(best.start + best.length).join(':')}`;
}

/**
 * Parses a CIDR exactly as the API server validates it (`ParseCIDRSloppy`, no trimming: callers
 * trim where Kubernetes does) and normalises it as Go's `IPNet` does; undefined when the API
 * server would reject it.
 */
export function parseCidr(text: string): Cidr | undefined {
  const slash = text.indexOf('/');
  if (slash < 0) return undefined;
  const address = text.slice(0, slash);
  const prefix = text.slice(slash + 1);
  const v4 = parseIPv4(address);
  const bytes = v4 ?? parseIPv6(address);
  const length = decimal(prefix, 0);
  if (!bytes || !length || length.end !== prefix.length || length.value > bytes.length * 8) return undefined;
  const masked = mask(bytes, length.value);
  if (v4)
    return { family: 'IPv4', bytes: masked, bits: length.value, text: `${masked.join('.')}/${length.value}` };
  if (v4MappedPrefix.every((byte, index) => masked[index] === byte)) {
    const inner = masked.slice(12);
    const bits = length.value - 96;
    return { family: 'IPv4', bytes: inner, bits, text: `${inner.join('.')}/${bits}` };
  }
  return { family: 'IPv6', bytes: masked, bits: length.value, text: `${ipv6Text(masked)}/${length.value}` };
}

// Go's unicode.IsSpace: what strings.TrimSpace removes (JavaScript's trim() differs: it keeps U+0085 and drops U+FEFF).
const goSpace =
  /^[\t\n\v\f\r \u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]+|[\t\n\v\f\r \u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]+$/g;

/** Go's `strings.TrimSpace`, which the API server and kube-proxy apply to load-balancer source ranges. */
export function goTrimSpace(text: string): string {
  return text.replace(goSpace, '');
}

/** Narrowest prefix (IPv4 /8, IPv6 /7) that still counts as "the internet" for source ranges and ipBlocks. */
export const internetWidePrefix: Readonly<Record<IpFamily, number>> = { IPv4: 8, IPv6: 7 };

/** IPv6 prefixes that embed the whole IPv4 internet (RFC 6052 NAT64 well-known prefix), with their length. */
const ipv4Translators: readonly { readonly bytes: readonly number[]; readonly bits: number }[] = [
  { bytes: [0x00, 0x64, 0xff, 0x9b, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0], bits: 96 },
];

/** Why a range admits the internet: the network Kubernetes programs and the IPv4-equivalent width. */
export interface InternetWideRange {
  readonly cidr: Cidr;
  /** The prefix length that makes it wide (IPv4 bits for a NAT64 range). */
  readonly bits: number;
  readonly reason: 'wide' | 'nat64';
}

/**
 * Whether a CIDR, read as the API server reads it, admits the internet: an IPv4 network wider
 * than /8 or an IPv6 network wider than /7, however it is written (`0.0.0.1/0`, `0.0.0.0/0000`,
 * `000.0.0.0/0`, `::ffff:0:0/96`), or an IPv6 range that carries more than a /8 of IPv4 through
 * the NAT64 prefix. Text the API server rejects is not wide (it never reaches a cluster).
 */
export function internetWideCidr(text: string): InternetWideRange | undefined {
  const cidr = parseCidr(text);
  if (!cidr) return undefined;
  if (cidr.bits < internetWidePrefix[cidr.family]) return { cidr, bits: cidr.bits, reason: 'wide' };
  if (cidr.family === 'IPv6')
    for (const translator of ipv4Translators) {
      const shared = Math.min(cidr.bits, translator.bits);
      const same = mask(cidr.bytes, shared).every((byte, i) => byte === mask(translator.bytes, shared)[i]);
      const bits = Math.max(0, cidr.bits - translator.bits);
      if (same && bits < internetWidePrefix.IPv4) return { cidr, bits, reason: 'nat64' };
    }
  return undefined;
}

/** A short description of a wide range for messages, e.g. `every IPv4 address (0.0.0.0/0)`. */
export function describeWideRange(range: InternetWideRange): string {
  const what =
    range.reason === 'nat64'
      ? `a /${range.bits} of IPv4 through the NAT64 prefix`
      : range.bits === 0
        ? `every address (all of ${range.cidr.family})`
        : `a /${range.bits} ${range.cidr.family} range (wider than /${internetWidePrefix[range.cidr.family]})`;
  return `${what} (Kubernetes reads it as ${range.cidr.text})`;
}

/** Whether network `outer` contains every address of network `inner` (same family, as Go normalises them). */
export function cidrContains(outer: Cidr, inner: Cidr): boolean {
  if (outer.family !== inner.family || outer.bits > inner.bits) return false;
  return mask(inner.bytes, outer.bits).every((byte, index) => byte === outer.bytes[index]);
}

/**
 * Parses an IP address as the API server reads a Service's `externalIPs` entry (the CIDR parser's
 * address grammar; an IPv4-mapped IPv6 address is the IPv4 address) as a one-address network;
 * undefined when it is not an address.
 */
export function parseIp(text: string): Cidr | undefined {
  if (text.includes('/')) return undefined;
  return parseCidr(`${text}/${text.includes(':') ? 128 : 32}`);
}

/** Whether `address` (an IP, as {@link parseIp} reads it) lies inside one of `networks`. */
export function ipInNetworks(address: string, networks: readonly Cidr[]): boolean {
  const ip = parseIp(address);
  return ip !== undefined && networks.some((network) => cidrContains(network, ip));
}

/**
 * Compiles a bundle parameter listing CIDRs (`clusterCidrs`, `allowedExternalIPs`): each entry as
 * the API server parses it; throws {@link ConfigError} naming `field/index` for one that is not a
 * CIDR. Absent: none.
 */
export function compileCidrs(raw: unknown, field: string): Cidr[] {
  if (!Array.isArray(raw)) return [];
  return raw.map((entry: unknown, index) => {
    const cidr = typeof entry === 'string' ? parseCidr(entry) : undefined;
    if (!cidr)
      throw new ConfigError(
        `${field}/${index}`,
        `${JSON.stringify(entry)} is not a CIDR such as 10.244.0.0/16`,
      );
    return cidr;
  });
}
