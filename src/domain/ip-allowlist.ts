import ipaddr from 'ipaddr.js';

/** One allowlist entry, parsed: an address range in its own family. */
type Range = [ipaddr.IPv4 | ipaddr.IPv6, number];

/** A parsed allowlist: matching needs no parsing per request. */
export interface IpAllowlist {
  readonly entries: readonly string[];
  readonly ranges: readonly Range[];
}

/** Whether text is an address in its usual notation: four decimal parts for IPv4 (not inet_aton's 1.2.3 or 0x7f.1), or IPv6. */
function isStrictAddress(text: string): boolean {
  return text.includes(':') ? ipaddr.IPv6.isValid(text) : ipaddr.IPv4.isValidFourPartDecimal(text);
}

/**
 * Parses one entry: an IPv4 or IPv6 address (a single host) or a CIDR range. An IPv4-mapped IPv6
 * entry (::ffff:10.0.0.0/104) is kept as the IPv4 range it stands for. Null when it is neither.
 */
export function parseAllowlistEntry(entry: string): Range | null {
  const text = entry.trim();
  try {
    let range: Range;
    if (text.includes('/')) {
      if (!isStrictAddress(text.slice(0, text.indexOf('/'))) || !/^\/\d{1,3}$/.test(text.slice(text.indexOf('/'))))
        return null;
      // parseCIDR accepts host bits set (10.0.0.1/8); that is still the range it names.
      range = ipaddr.parseCIDR(text);
    } else {
      if (!isStrictAddress(text)) return null;
      const address = ipaddr.parse(text);
      range = [address, address.kind() === 'ipv4' ? 32 : 128];
    }
    const [address, bits] = range;
    if (address.kind() === 'ipv6' && (address as ipaddr.IPv6).isIPv4MappedAddress() && bits >= 96)
      return [(address as ipaddr.IPv6).toIPv4Address(), bits - 96];
    return range;
  } catch {
    return null;
  }
}

/** The entries that are not addresses or CIDR ranges (empty when all are). */
export function invalidAllowlistEntries(entries: readonly string[]): string[] {
  return entries.filter((e) => parseAllowlistEntry(e) === null);
}

/** Parses a checked allowlist; entries that do not parse are left out (they were refused on input). */
export function compileAllowlist(entries: readonly string[]): IpAllowlist {
  const ranges: Range[] = [];
  for (const e of entries) {
    const r = parseAllowlistEntry(e);
    if (r) ranges.push(r);
  }
  return { entries, ranges };
}

/** Parses a client address; IPv4-mapped IPv6 (::ffff:192.0.2.1, as dual-stack sockets report) becomes IPv4. */
export function parseClientAddress(text: string): ipaddr.IPv4 | ipaddr.IPv6 | null {
  const trimmed = text.trim();
  // A zone index (fe80::1%eth0) names an interface, not another address.
  const bare = trimmed.includes('%') ? trimmed.slice(0, trimmed.indexOf('%')) : trimmed;
  if (!isStrictAddress(bare)) return null;
  try {
    return ipaddr.process(bare);
  } catch {
    return null;
  }
}

/** Whether `address` falls in any of the allowlist's ranges; an address that does not parse never does. */
export function allowlistAllows(list: IpAllowlist, address: string): boolean {
  const parsed = parseClientAddress(address);
  if (parsed === null) return false;
  for (const [range, bits] of list.ranges) {
    if (range.kind() === parsed.kind() && parsed.match(range, bits)) return true;
  }
  return false;
}
