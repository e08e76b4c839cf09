/** An address as written by Node's sockets, IPv4-mapped IPv6 shown as IPv4. */
function plain(address: string): string {
  return address.replace(/^::ffff:(?=\d+\.\d+\.\d+\.\d+$)/i, '');
}

/**
 * A client's address: the socket's peer, or, when the peer is one of the trusted proxies, the
 * address its `X-Forwarded-For` names, read from the right past the trusted proxies (entries
 * further left were written by the client and prove nothing).
 */
export function clientAddress(
  peer: string | undefined,
  forwardedFor: string | string[] | undefined,
  trustedProxies: readonly string[],
): string | null {
  if (peer === undefined) return null;
  const trusted = new Set(trustedProxies.map(plain));
  let address = plain(peer);
  if (!trusted.has(address) || forwardedFor === undefined) return address;
  const hops = (Array.isArray(forwardedFor) ? forwardedFor.join(',') : forwardedFor)
    .split(',')
    .map((hop) => plain(hop.trim()))
    .filter((hop) => hop !== '');
  for (let i = hops.length - 1; i >= 0 && trusted.has(address); i--) address = hops[i] ?? address;
  return address;
}
