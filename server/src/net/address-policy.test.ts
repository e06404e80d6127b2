import { describe, expect, it } from 'vitest';
import { AddressPolicy, parseAllowedRanges } from './address-policy.js';

describe('AddressPolicy', () => {
  const policy = new AddressPolicy();

  it.each([
    ['127.0.0.1', /loopback/],
    ['127.255.0.9', /loopback/],
    ['::1', /not a global unicast/],
    ['::', /not a global unicast/],
    ['0.0.0.0', /unspecified/],
    ['10.1.2.3', /private/],
    ['172.20.0.1', /private/],
    ['192.168.1.1', /private/],
    ['100.100.100.200', /carrier-grade NAT/],
    ['169.254.169.254', /link-local/],
    ['fe80::1', /not a global unicast/],
    ['fd00:ec2::254', /not a global unicast/],
    ['ff02::1', /not a global unicast/],
    ['224.0.0.1', /multicast/],
    ['255.255.255.255', /reserved/],
    ['64:ff9b::7f00:1', /not a global unicast/],
    ['::ffff:127.0.0.1', /loopback/],
    ['::ffff:7f00:1', /loopback/],
    ['0:0:0:0:0:ffff:a9fe:a9fe', /link-local/],
    ['2002:7f00:1::1', /6to4/],
  ])('refuses %s', (address, reason) => {
    const verdict = policy.check(address, 80);
    expect(verdict.ok).toBe(false);
    expect(verdict.ok ? '' : verdict.reason).toMatch(reason);
  });

  it.each(['8.8.8.8', '1.1.1.1', '2606:4700:4700::1111', '::ffff:8.8.8.8'])('lets %s through', (address) => {
    expect(policy.check(address, 443)).toEqual({ ok: true });
  });

  it('lets the operator allow a range, on one port when the entry names one', () => {
    const allowing = new AddressPolicy(parseAllowedRanges('127.0.0.1/32:4000, 10.0.0.0/8, [fd00::/8]:443'));
    expect(allowing.check('127.0.0.1', 4000)).toEqual({ ok: true });
    expect(allowing.check('::ffff:127.0.0.1', 4000)).toEqual({ ok: true });
    expect(allowing.check('127.0.0.1', 4001).ok).toBe(false);
    expect(allowing.check('127.0.0.2', 4000).ok).toBe(false);
    expect(allowing.check('10.9.9.9', 1).ok).toBe(true);
    expect(allowing.check('fd00::5', 443).ok).toBe(true);
    expect(allowing.check('fd00::5', 80).ok).toBe(false);
  });
});

describe('parseAllowedRanges', () => {
  it('reads CIDRs, bare addresses and ports', () => {
    expect(parseAllowedRanges('10.0.0.0/8, ::1, 127.0.0.1:99, [fc00::/7]:8443')).toEqual([
      { address: '10.0.0.0', prefix: 8, family: 'ipv4' },
      { address: '::1', prefix: 128, family: 'ipv6' },
      { address: '127.0.0.1', prefix: 32, family: 'ipv4', port: 99 },
      { address: 'fc00::', prefix: 7, family: 'ipv6', port: 8443 },
    ]);
    expect(parseAllowedRanges('')).toEqual([]);
  });

  it.each([
    ['localhost', /not an address/],
    ['10.0.0.0/33', /prefix/],
    ['10.0.0.1:0', /port/],
  ])('refuses %s naming it', (entry, message) => {
    expect(() => parseAllowedRanges(entry)).toThrow(message);
  });
});
