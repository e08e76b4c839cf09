import type { EmbeddedTurnConfig } from '../config/config.js';

/**
 * Peers coturn must not relay to, so that it is no open relay into the host's own networks:
 * "this" network, private (RFC 1918), shared (RFC 6598), loopback, link-local, IETF protocol
 * assignments, benchmarking, reserved and broadcast; IPv6 loopback, unique-local, link-local
 * and IPv4-mapped. `allowedPeerIps` override them (coturn lets "allowed" win).
 */
export const deniedPeerRanges: readonly string[] = [
  '0.0.0.0-0.255.255.255',
  '10.0.0.0-10.255.255.255',
  '100.64.0.0-100.127.255.255',
  '127.0.0.0-127.255.255.255',
  '169.254.0.0-169.254.255.255',
  '172.16.0.0-172.31.255.255',
  '192.0.0.0-192.0.0.255',
  '192.168.0.0-192.168.255.255',
  '198.18.0.0-198.19.255.255',
  '240.0.0.0-255.255.255.255',
  '::-::1',
  '::ffff:0.0.0.0-::ffff:255.255.255.255',
  'fc00::-fdff:ffff:ffff:ffff:ffff:ffff:ffff:ffff',
  'fe80::-febf:ffff:ffff:ffff:ffff:ffff:ffff:ffff',
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
