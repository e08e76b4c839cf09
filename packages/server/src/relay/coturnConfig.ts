import type { EmbeddedTurnConfig } from '../config/config.js';

/**
 * Peers coturn must not relay to, so that it is no open relay into the host's own networks, as
 * `first-last` ranges, each one CIDR block (noted beside it). coturn 4.6 reads a range whose
 * first address is `::` or `0.0.0.0` as open below its last one, and an IPv6 end as above
 * every IPv4 address (`::-::1` denied all of IPv4), and compares IPv6 ends byte by byte, which
 * only CIDR blocks survive. It refuses `0.0.0.0/8` and `::` itself, multicast with
 * `no-multicast-peers` and loopback unless `allow-loopback-peers`, and does not unwrap an
 * IPv4-mapped peer (`::ffff:10.0.0.1`), so all of those are denied. `allowedPeerIps` override
 * these (coturn lets "allowed" win).
 */
export const deniedPeerRanges: readonly string[] = [
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

export interface CoturnFiles {
  /** coturn's process ID file. */
  readonly pidFile: string;
  /** coturn's own database, unused with a shared secret but opened at start. */
  readonly userDb: string;
}

/** The `turnserver.conf` of the embedded TURN server: shared-secret auth, no CLI, no open relay. */
export function coturnConfig(turn: EmbeddedTurnConfig, secret: string, files: CoturnFiles): string {
  const loopbackAllowed = turn.allowedPeerIps.some((entry) => /^(127\.|::1$)/.test(entry));
  const lines = [
    `listening-port=${turn.port}`,
    ...turn.listenIps.map((ip) => `listening-ip=${ip}`),
    ...(turn.relayIp === null ? [] : [`relay-ip=${turn.relayIp}`]),
    `min-port=${turn.relayPorts.min}`,
    `max-port=${turn.relayPorts.max}`,
    `realm=${turn.realm}`,
    'use-auth-secret',
    `static-auth-secret=${secret}`,
    'fingerprint',
    'no-cli',
    'no-multicast-peers',
    'no-software-attribute',
    ...(turn.tls === null
      ? ['no-tls', 'no-dtls']
      : [`tls-listening-port=${turn.tlsPort}`, `cert=${turn.tls.cert}`, `pkey=${turn.tls.pkey}`]),
    ...deniedPeerRanges.map((range) => `denied-peer-ip=${range}`),
    ...turn.allowedPeerIps.map((range) => `allowed-peer-ip=${range}`),
    // coturn refuses loopback peers on its own unless told; the allowed list is the opt-in.
    ...(loopbackAllowed ? ['allow-loopback-peers'] : []),
    `pidfile=${files.pidFile}`,
    `userdb=${files.userDb}`,
    'log-file=stdout',
    'simple-log',
  ];
  return `${lines.join('\n')}\n`;
}
