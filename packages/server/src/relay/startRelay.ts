import type { Logger } from 'pino';
import type { Config, EmbeddedTurnConfig } from '../config/config.js';
import { Coturn } from './Coturn.js';
import { IceServerList } from './IceServerList.js';
import { loadOrCreateTurnSecret } from './turnSecret.js';

/** The ICE servers clients get, and the embedded TURN server when Parlor runs one. */
export interface Relay {
  readonly iceServers: IceServerList;
  readonly coturn: Coturn | null;
}

/** Builds the ICE server list from the configuration, starting coturn first when it is embedded. */
export async function startRelay(config: Config, logger: Logger): Promise<Relay> {
  const { turn } = config;
  if (turn.mode === 'off')
    return { iceServers: new IceServerList({ fixed: config.iceServers }), coturn: null };
  if (turn.mode === 'external') {
    return { iceServers: new IceServerList({ fixed: config.iceServers, turn }), coturn: null };
  }
  const secret = turn.secret ?? loadOrCreateTurnSecret(config.dataDir);
  const coturn = await Coturn.start({ turn, secret, dataDir: config.dataDir, logger });
  const host = urlHost(turn.host ?? defaultTurnHost(config));
  const iceServers = new IceServerList({
    fixed: [...config.iceServers, { urls: `stun:${host}:${turn.port}` }],
    turn: {
      urls: embeddedTurnUrls(turn, host),
      secret,
      credentialLifetimeSeconds: turn.credentialLifetimeSeconds,
    },
  });
  return { iceServers, coturn };
}

/** UDP and TCP, and TLS when coturn has a certificate. */
function embeddedTurnUrls(turn: EmbeddedTurnConfig, host: string): string[] {
  return [
    `turn:${host}:${turn.port}?transport=udp`,
    `turn:${host}:${turn.port}?transport=tcp`,
    ...(turn.tls === null ? [] : [`turns:${host}:${turn.tlsPort}?transport=tcp`]),
  ];
}

/** The public URL's host, else the listening address unless it is a wildcard. */
function defaultTurnHost(config: Config): string {
  if (config.publicUrl !== null) return new URL(config.publicUrl).hostname.replace(/^\[(.*)\]$/, '$1');
  return config.host === '0.0.0.0' || config.host === '::' ? 'localhost' : config.host;
}

function urlHost(host: string): string {
  return host.includes(':') ? `[${host}]` : host;
}
