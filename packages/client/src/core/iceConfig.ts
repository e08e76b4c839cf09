import type { IceServer } from '@parlor/protocol';

/** OpenTok.js's `iceConfig` option: which STUN/TURN servers peer connections use. */
export interface IceConfig {
  /** `all`: the server's list and the custom servers; `custom`: the custom servers only. Default: all. */
  readonly includeServers?: 'all' | 'custom';
  /** `relay` allows TURN-relayed candidates only. Default: all. */
  readonly transportPolicy?: 'all' | 'relay';
  /** Servers of the application's own. Default: none. */
  readonly customServers?: readonly IceServer[];
}

/** The peer connection configuration for the server's ICE servers under the application's `iceConfig`. */
export function rtcConfiguration(
  serverList: readonly IceServer[],
  iceConfig: IceConfig = {},
): RTCConfiguration {
  const custom = iceConfig.customServers ?? [];
  const servers = iceConfig.includeServers === 'custom' ? custom : [...serverList, ...custom];
  return {
    iceServers: servers.map((server) => ({ ...server })),
    iceTransportPolicy: iceConfig.transportPolicy === 'relay' ? 'relay' : 'all',
  };
}
