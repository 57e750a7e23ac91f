import { describe, expect, it } from 'vitest';
import { goTrimSpace, internetWideCidr, ipInNetworks, parseCidr, parseIp } from './cidr.ts';

// Expected values were produced by k8s.io/utils/net.ParseCIDRSloppy (the API server's parser)
// followed by Go's IPNet.String() (what kube-proxy and the cloud providers program).
describe('parseCidr reads what the API server accepts and normalises as Go does', () => {
  it.each([
    ['0.0.0.0/0', '0.0.0.0/0'],
    ['0.0.0.1/0', '0.0.0.0/0'],
    ['1.2.3.4/0', '0.0.0.0/0'],
    ['0.0.0.0/00', '0.0.0.0/0'],
    ['0.0.0.0/0000', '0.0.0.0/0'],
    ['000.000.000.000/0', '0.0.0.0/0'],
    ['0000.0.0.0/0', '0.0.0.0/0'],
    ['010.0.0.0/8', '10.0.0.0/8'],
    ['10.0.0.0/08', '10.0.0.0/8'],
    ['::ffff:0.0.0.0/96', '0.0.0.0/0'],
    ['::ffff:0:0/96', '0.0.0.0/0'],
    ['::FFFF:0.0.0.0/96', '0.0.0.0/0'],
    ['0:0:0:0:0:ffff:0:0/96', '0.0.0.0/0'],
    ['::ffff:000.000.000.000/96', '0.0.0.0/0'],
    ['::ffff:0.0.0.0/096', '0.0.0.0/0'],
    ['::ffff:0.0.0.0/97', '0.0.0.0/1'],
    ['::ffff:0.0.0.0/100', '0.0.0.0/4'],
    ['::ffff:10.0.0.0/104', '10.0.0.0/8'],
    ['::ffff:0.0.0.0/128', '0.0.0.0/32'],
    ['::ffff:0.0.0.0/95', '::fffe:0:0/95'],
    ['::ffff:0.0.0.0/80', '::/80'],
    ['::/0', '::/0'],
    ['::0/0', '::/0'],
    ['0::0/0', '::/0'],
    ['00000::/0', '::/0'],
    ['1:2:3:4:5:6:7:8/0', '::/0'],
    ['1:2:3:4:5:6:1.2.3.4/0', '::/0'],
    ['::0.0.0.0/96', '::/96'],
    ['::1.2.3.4/120', '::102:300/120'],
    ['1::2:0:0:3/64', '1::/64'],
    ['fe80::1:2:3:4:5/64', 'fe80:0:0:1::/64'],
    ['64:ff9b::a00:0/104', '64:ff9b::a00:0/104'],
    ['2001:db8::/32', '2001:db8::/32'],
  ])('%s is %s', (text, normalised) => {
    expect(parseCidr(text)?.text).toBe(normalised);
  });

  it.each([
    ' 0.0.0.0/0',
    '0.0.0.0/0 ',
    '0.0.0.0/0\t',
    '0.0.0.0/ 0',
    '0x0.0.0.0/0',
    '0.0.0.0/+0',
    '0.0.0.0/-0',
    '0.0.0/0',
    '0/0',
    '0.0.0.0%eth0/0',
    'fe80::%eth0/0',
    ':1::/0',
    '1::2::3/0',
    '::ffff:0.0.0.0/129',
    '0.0.0.0/33',
    '255.255.255.256/0',
    '0.0.0.0/16777215',
    '0.0.0.0/',
    '/0',
    '0.0.0.0',
  ])('rejects %j as the API server does', (text) => {
    expect(parseCidr(text)).toBeUndefined();
  });
});

describe('internetWideCidr', () => {
  it.each([
    ['0.0.0.0/0', 0],
    ['0.0.0.1/0', 0],
    ['0.0.0.0/0000', 0],
    ['0000.0.0.0/0', 0],
    ['::ffff:0.0.0.0/96', 0],
    ['::ffff:0.0.0.0/100', 4],
    ['0.0.0.0/1', 1],
    ['128.0.0.0/1', 1],
    ['0.0.0.0/7', 7],
    ['::/0', 0],
    ['2000::/3', 3],
    ['00000::/0', 0],
    ['64:ff9b::/96', 0],
    ['64:ff9b::/100', 4],
    ['64:ff9b::/32', 0],
  ])('%s admits the internet (width /%i)', (text, bits) => {
    expect(internetWideCidr(text)?.bits).toBe(bits);
  });

  it.each([
    '10.0.0.0/8',
    '::ffff:10.0.0.0/104',
    '64:ff9b::a00:0/104',
    'fd00::/8',
    '2001:db8::/32',
    '::ffff:0.0.0.0/80',
    'not a cidr',
  ])('%s does not', (text) => {
    expect(internetWideCidr(text)).toBeUndefined();
  });
});

describe('goTrimSpace', () => {
  it('trims what Go trims, not what JavaScript trims', () => {
    expect(goTrimSpace('\u00850.0.0.0/0\u3000')).toBe('0.0.0.0/0');
    expect(goTrimSpace(' \t\n\v\f\r\u00a0x\u2028\u2029')).toBe('x');
    expect(goTrimSpace('\ufeff0.0.0.0/0')).toBe('\ufeff0.0.0.0/0');
  });
});

describe('parseIp and ipInNetworks (Service externalIPs)', () => {
  const networks = ['192.0.2.0/28', '2001:db8::/64']
    .map((text) => parseCidr(text))
    .filter((c) => c !== undefined);
  it.each([
    ['192.0.2.0', true],
    ['192.0.2.15', true],
    ['192.0.2.16', false],
    ['2001:db8::ffff', true],
    ['2001:db8:0:1::1', false],
    ['::ffff:192.0.2.3', true],
    ['192.0.2.1/32', false],
    ['not-an-ip', false],
    ['', false],
  ])('%s in 192.0.2.0/28 or 2001:db8::/64: %s', (address, inside) => {
    expect(ipInNetworks(address, networks)).toBe(inside);
  });
  it('reads an address as a one-address network', () => {
    expect(parseIp('192.0.2.1')?.text).toBe('192.0.2.1/32');
    expect(parseIp('::ffff:192.0.2.1')?.text).toBe('192.0.2.1/32');
    expect(parseIp('2001:db8::1')?.text).toBe('2001:db8::1/128');
  });
});
