import { nonPublicRanges } from '../nonPublicAddresses.js';
import type { EmbeddedTurnConfig } from '../config/config.js';

/**
 * Peers coturn must not relay to, so that it is no open relay into the host's own networks: the
 * non-public ranges. coturn 4.6 reads a range whose first address is `::` or `0.0.0.0` as open
 * below its last one, and an IPv6 end as above every IPv4 address (`::-::1` denied all of IPv4),
 * and compares IPv6 ends byte by byte, which only CIDR blocks survive: each range is one. It
 * refuses `0.0.0.0/8` and `::` itself, multicast with `no-multicast-peers` and loopback unless
 * `allow-loopback-peers`, and does not unwrap an IPv4-mapped peer (`::ffff:10.0.0.1`), so all of
 * those are denied. `allowedPeerIps` override these (coturn lets "allowed" win).
 */
export const deniedPeerRanges: readonly string[] = nonPublicRanges;

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
