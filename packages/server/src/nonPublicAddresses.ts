import { BlockList, isIP } from 'node:net';

/**
 * The addresses that are not public, as `first-last` ranges, each one CIDR block (noted beside
 * it): what a server on the internet must not be made to reach on a stranger's behalf (TURN
 * relays, callbacks), lest it open a door into its own networks.
 */
export const nonPublicRanges: readonly string[] = [
  '0.0.0.0-0.255.255.255', // 0.0.0.0/8 "this" network
  '10.0.0.0-10.255.255.255', // 10.0.0.0/8 private
  '100.64.0.0-100.127.255.255', // 100.64.0.0/10 shared (carrier-grade NAT)
  '127.0.0.0-127.255.255.255', // 127.0.0.0/8 loopback
  '169.254.0.0-169.254.255.255', // 169.254.0.0/16 link-local
  '172.16.0.0-172.31.255.255', // 172.16.0.0/12 private
  '192.0.0.0-192.0.0.255', // 192.0.0.0/24 IETF protocol assignments
  '192.168.0.0-192.168.255.255', // 192.168.0.0/16 private
  '198.18.0.0-198.19.255.255', // 198.18.0.0/15 benchmarking
  '224.0.0.0-255.255.255.255', // 224.0.0.0/3 multicast, reserved and broadcast
  '::1-::1', // ::1/128 loopback
  '::ffff:0.0.0.0-::ffff:255.255.255.255', // ::ffff:0:0/96 IPv4-mapped
  '64:ff9b:1::-64:ff9b:1:ffff:ffff:ffff:ffff:ffff', // 64:ff9b:1::/48 local-use IPv4/IPv6 translation
  '100::-100::ffff:ffff:ffff:ffff', // 100::/64 discard-only
  'fc00::-fdff:ffff:ffff:ffff:ffff:ffff:ffff:ffff', // fc00::/7 unique-local
  'fe80::-feff:ffff:ffff:ffff:ffff:ffff:ffff:ffff', // fe80::/9 link-local and deprecated site-local
  'ff00::-ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff', // ff00::/8 multicast
];

/**
 * Says whether an address is public, or allowed although it is not: the addresses given (single
 * or `first-last` ranges of one family) override `nonPublicRanges`. `::` and `0.0.0.0` are
 * never public.
 */
export class PublicAddressPolicy {
  readonly #denied = new BlockList();
  readonly #allowed = new BlockList();

  /** @param allowed addresses or `first-last` ranges reachable although not public. */
  constructor(allowed: readonly string[] = []) {
    // node's BlockList matches every IPv4 address against IPv4-mapped IPv6 rules: a mapped
    // address is checked as the IPv4 address it stands for instead.
    addRanges(
      this.#denied,
      [...nonPublicRanges, '::-::'].filter((range) => !range.startsWith('::ffff:')),
    );
    addRanges(this.#allowed, allowed);
  }

  /** Whether the address may be reached; false for what is not an IP address. */
  permits(address: string): boolean {
    const family = isIP(address);
    if (family === 0) return false;
    const unmapped = family === 6 ? ipv4Mapped(address) : null;
    if (unmapped !== null) return this.permits(unmapped);
    const type = family === 4 ? 'ipv4' : 'ipv6';
    return this.#allowed.check(address, type) || !this.#denied.check(address, type);
  }
}

/** The IPv4 address an IPv4-mapped IPv6 address (`::ffff:a.b.c.d`) stands for; null for others. */
function ipv4Mapped(address: string): string | null {
  // The URL parser writes every IPv6 address one way: the mapped ones as `::ffff:hhhh:hhhh`.
  const match = /^\[::ffff:([0-9a-f]{1,4}):([0-9a-f]{1,4})\]$/.exec(new URL(`http://[${address}]`).hostname);
  if (!match) return null;
  const [high, low] = [parseInt(match[1] ?? '', 16), parseInt(match[2] ?? '', 16)];
  return [high >> 8, high & 0xff, low >> 8, low & 0xff].join('.');
}

function addRanges(list: BlockList, ranges: readonly string[]): void {
  for (const range of ranges) {
    const [first = '', last = first] = range.split('-');
    list.addRange(first, last, isIP(first) === 4 ? 'ipv4' : 'ipv6');
  }
}
