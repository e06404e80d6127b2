import { BlockList, isIP } from 'node:net';

/**
 * Which addresses the server may send requests to on a tenant's behalf (webhooks). A
 * tenant chooses the URL, so without this a webhook could reach the server's own
 * network: loopback services, the cloud provider's metadata endpoint, private ranges.
 * Refused unless the operator allows them (`ATELIER_OUTGOING_ALLOW`):
 */
const REFUSED_V4: [string, number, string][] = [
  ['0.0.0.0', 8, 'unspecified ("this network")'],
  ['10.0.0.0', 8, 'private'],
  ['100.64.0.0', 10, 'carrier-grade NAT (shared address space)'],
  ['127.0.0.0', 8, 'loopback'],
  ['169.254.0.0', 16, 'link-local (cloud metadata lives at 169.254.169.254)'],
  ['172.16.0.0', 12, 'private'],
  ['192.0.0.0', 24, 'IETF protocol assignments'],
  ['192.0.2.0', 24, 'documentation'],
  ['192.88.99.0', 24, '6to4 relay anycast'],
  ['192.168.0.0', 16, 'private'],
  ['198.18.0.0', 15, 'benchmarking'],
  ['198.51.100.0', 24, 'documentation'],
  ['203.0.113.0', 24, 'documentation'],
  ['224.0.0.0', 4, 'multicast'],
  ['240.0.0.0', 4, 'reserved (and broadcast)'],
];

/**
 * IPv6 outside global unicast (2000::/3) is refused whole: loopback, unspecified,
 * unique-local (fc00::/7, where fd00:ec2::254 is a metadata address), link-local,
 * multicast, NAT64 (64:ff9b::/96, which reaches IPv4 behind a translator). Inside it,
 * these are refused too. IPv4-mapped addresses (::ffff:a.b.c.d) are judged as the IPv4
 * address they are.
 */
const REFUSED_V6_IN_GLOBAL: [string, number, string][] = [
  ['2001::', 32, 'Teredo'],
  ['2001:db8::', 32, 'documentation'],
  ['2002::', 16, '6to4 (embeds an IPv4 address)'],
];

export type AddressVerdict = { ok: true } | { ok: false; reason: string };

/** One `ATELIER_OUTGOING_ALLOW` entry: a CIDR, and optionally the one port it is allowed on. */
export interface AllowedRange {
  address: string;
  prefix: number;
  family: 'ipv4' | 'ipv6';
  port?: number;
}

export class AddressPolicy {
  private readonly refused = new Map<string, BlockList>();
  private readonly global = new BlockList();

  constructor(private readonly allowed: readonly AllowedRange[] = []) {
    for (const [address, prefix, why] of REFUSED_V4) this.list(why).addSubnet(address, prefix, 'ipv4');
    for (const [address, prefix, why] of REFUSED_V6_IN_GLOBAL) this.list(why).addSubnet(address, prefix, 'ipv6');
    this.global.addSubnet('2000::', 3, 'ipv6');
  }

  /** Whether a request may go to `address` (an IP literal) on `port`. */
  check(address: string, port: number): AddressVerdict {
    const family = isIP(address) === 6 ? 'ipv6' : isIP(address) === 4 ? 'ipv4' : undefined;
    if (!family) return { ok: false, reason: `${address} is not an IP address` };
    const v4 = family === 'ipv6' ? mappedV4(address) : address;
    if (this.isAllowed(v4 ?? address, v4 ? 'ipv4' : family, port)) return { ok: true };
    for (const [why, list] of this.refused) {
      // BlockList matches IPv4 rules against IPv4-mapped IPv6 addresses too.
      if (list.check(address, family)) return { ok: false, reason: `${address} is a ${why} address` };
    }
    if (family === 'ipv6' && !v4 && !this.global.check(address, 'ipv6')) {
      return {
        ok: false,
        reason: `${address} is not a global unicast IPv6 address (loopback, unique-local, link-local, multicast or NAT64)`,
      };
    }
    return { ok: true };
  }

  private isAllowed(address: string, family: 'ipv4' | 'ipv6', port: number): boolean {
    return this.allowed.some((range) => {
      if (range.family !== family || (range.port !== undefined && range.port !== port)) return false;
      const list = new BlockList();
      list.addSubnet(range.address, range.prefix, range.family);
      return list.check(address, family);
    });
  }

  private list(why: string): BlockList {
    let list = this.refused.get(why);
    if (!list) this.refused.set(why, (list = new BlockList()));
    return list;
  }
}

/** The IPv4 address inside an IPv4-mapped IPv6 address (`::ffff:7f00:1` → `127.0.0.1`), else undefined. */
function mappedV4(address: string): string | undefined {
  // The URL parser writes IPv6 canonically (lower case, longest zero run compressed,
  // a dotted tail as hex), so every spelling of a mapped address reads `::ffff:x:y`.
  const canonical = new URL(`http://[${address}]/`).hostname.slice(1, -1);
  const parts = /^::ffff:([0-9a-f]{1,4}):([0-9a-f]{1,4})$/.exec(canonical);
  if (!parts) return undefined;
  const high = parseInt(parts[1]!, 16);
  const low = parseInt(parts[2]!, 16);
  return [high >> 8, high & 0xff, low >> 8, low & 0xff].join('.');
}

/**
 * Parses `ATELIER_OUTGOING_ALLOW`: comma-separated CIDRs, each optionally with the one
 * port it is allowed on — `10.0.0.0/8`, `127.0.0.1/32:4000`, `[fd00::/8]:443`. A bare
 * address is a single host. Throws a message naming the bad entry.
 */
export function parseAllowedRanges(text: string): AllowedRange[] {
  return text
    .split(',')
    .map((entry) => entry.trim())
    .filter(Boolean)
    .map((entry) => {
      const bracketed = /^\[([^\]]+)\](?::(\d+))?$/.exec(entry);
      const plain = bracketed ? null : /^([^:]+?)(?::(\d+))?$/.exec(entry);
      const [cidr, portText] = bracketed ? [bracketed[1]!, bracketed[2]] : plain ? [plain[1]!, plain[2]] : [entry, undefined];
      const [address = '', prefixText] = cidr.split('/');
      const version = isIP(address);
      if (!version) throw new Error(`"${entry}" is not an address or CIDR (e.g. 10.0.0.0/8, 127.0.0.1/32:4000, [fd00::/8])`);
      const max = version === 4 ? 32 : 128;
      const prefix = prefixText === undefined ? max : Number(prefixText);
      if (!Number.isInteger(prefix) || prefix < 0 || prefix > max) throw new Error(`"${entry}" has a prefix outside 0-${max}`);
      const port = portText === undefined ? undefined : Number(portText);
      if (port !== undefined && (port < 1 || port > 65535)) throw new Error(`"${entry}" has a port outside 1-65535`);
      return {
        address,
        prefix,
        family: version === 4 ? 'ipv4' : 'ipv6',
        ...(port === undefined ? {} : { port }),
      };
    });
}
