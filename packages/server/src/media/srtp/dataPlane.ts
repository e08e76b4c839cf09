import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import type { SrtpSessionKeys } from './keyDerivation.js';
import { NodeCryptoSrtpCipher } from './NodeCryptoSrtpCipher.js';
import type { SrtpCipher } from './SrtpCipher.js';

/** Where SRTP's cryptography runs: the `@parlor/native` addon, or node:crypto. */
export const dataPlanes = ['native', 'js'] as const;
export type DataPlane = (typeof dataPlanes)[number];

/** What `@parlor/native` exports (packages/native/src/addon.c). */
export interface NativeAddon {
  readonly SrtpCipher: new (
    aead: boolean,
    rtpKey: Buffer,
    rtpSalt: Buffer,
    rtpAuthentication: Buffer | null,
    rtcpKey: Buffer,
    rtcpSalt: Buffer,
    rtcpAuthentication: Buffer | null,
  ) => SrtpCipher;
  /** The subscribers of one published track (packages/native/src/fanout.c; see `FanOutGroup.ts`). */
  readonly FanOutGroup: new (fd: number) => NativeFanOutGroup;
  /** A publisher's RTP received (packages/native/src/ingress.c; see `router/NativeIngress.ts`). */
  readonly Ingress: new (
    cipher: SrtpCipher,
    record: Float64Array,
    transportWideCcId: number,
    records: Float64Array,
  ) => NativeIngressPath;
  /** Reads a UDP socket in batches (packages/native/src/reader.c; see `UdpMux`). */
  readonly UdpReader: new (
    fd: number,
    onBatch: (count: number, sinks: number) => void,
    onError: (error: Error) => void,
    performanceOriginMs: number,
  ) => NativeUdpReader;
}

/**
 * The addon's UdpReader: calls back once per batch of datagrams read with `recvmmsg`, datagram i
 * at `data[i * udpReaderSlotSize]`, `lengths[i]` long, from `addresses[i]` (IPv4, as a number) and
 * `ports[i]`; the memory is reused after the callback returns. Should its poll of the socket
 * not start again after a socket error, it calls `onError` (the error's code is libuv's) and
 * reads no more.
 *
 * RTP from an address given to `route` goes to its ingress in C first: such a datagram is marked
 * in `consumed`, and `onBatch`'s `sinks` first entries of `sinks` and `sinkRecords` say which
 * sinks' ingresses took how many (their records are in the ingress's `records`).
 */
export interface NativeUdpReader {
  readonly data: Buffer;
  readonly lengths: Uint32Array;
  readonly addresses: Uint32Array;
  readonly ports: Uint32Array;
  /** 1 for a datagram of the batch an ingress took. */
  readonly consumed: Uint8Array;
  readonly sinks: Uint32Array;
  readonly sinkRecords: Uint32Array;
  /**
   * RTP from `address` (IPv4, as a number) and `port` goes to `ingress` (null: no more), its
   * records told as `sink`'s; false when the table is full (the datagrams then stay in the batch).
   */
  route(address: number, port: number, ingress: NativeIngressPath | null, sink: number): boolean;
  /** Stops reading (the socket stays open); idempotent. */
  close(): void;
  /** Datagrams dropped for being longer than a slot or not from IPv4. */
  dropped(): number;
}

/** Bytes per datagram in a `NativeUdpReader`'s batch (reader.c's `slot_size`). */
export const udpReaderSlotSize = 4096;

/** Routes a `NativeUdpReader` holds at most (reader.c's `max_routes`). */
export const udpReaderMaxRoutes = 2048;

/** The addon's FanOutGroup, as `router/FanOutGroup.ts` drives it. */
export interface NativeFanOutGroup {
  addSlot(
    cipher: SrtpCipher,
    ssrc: number,
    clockRate: number,
    payloadType: number,
    pictureIds: boolean,
    layered: boolean,
    rtxSsrc: number,
    rtxPayloadType: number,
    rtxSequence: number,
    keptExtensionIds: Uint8Array,
  ): number;
  removeSlot(slot: number): void;
  setFeedback(
    slot: number,
    extensionId: number,
    next?: Float64Array,
    sendTimes?: Float64Array,
    sizes?: Uint32Array,
    states?: Uint8Array,
  ): void;
  setDestination(slot: number, address: string, port: number): void;
  setDecision(
    slot: number,
    enabled: boolean,
    targetLayer: number,
    targetTemporalLayer: number,
    leaveLayer: boolean,
  ): void;
  state(slot: number, out: Float64Array): void;
  sourceSequenceOf(slot: number, outSequence: number): number;
  forward(packet: Buffer, info: Float64Array): number;
  resend(slot: number, packet: Buffer, info: Float64Array): boolean;
  sendFailures(): number;
}

/** The addon's Ingress, as `router/NativeIngress.ts` drives it. */
export interface NativeIngressPath {
  setStream(
    ssrc: number,
    stream: number,
    track: number,
    layer: number,
    codec: number,
    absSendTimeId: number,
    capacity: number,
  ): void;
  setFanOut(track: number, group: NativeFanOutGroup | null): void;
  receive(packet: Buffer, output: Buffer | null, forward: boolean): number;
  /** Whether a `NativeUdpReader` may hand it packets (routed to it) within a batch. */
  acceptBatches(on: boolean): void;
  packet(ssrc: number, sequence: number): Buffer | undefined;
}

export type NativeAddonStatus =
  | { readonly available: true; readonly addon: NativeAddon }
  | { readonly available: false; readonly reason: string };

/**
 * A path to load instead of `@parlor/native`, for tests: a missing file is a machine where the
 * addon did not build.
 */
export const nativeAddonOverride = 'PARLOR_NATIVE_ADDON';

/** The addon, loaded once per thread, or why it is not there. */
export const nativeAddon: NativeAddonStatus = loadNativeAddon();

/** The native data plane when its addon loaded, else the TypeScript one. */
export const defaultDataPlane: DataPlane = nativeAddon.available ? 'native' : 'js';

/** The cryptography of one SRTP context, on the given data plane. */
export function createSrtpCipher(keys: SrtpSessionKeys, dataPlane: DataPlane): SrtpCipher {
  if (dataPlane === 'js') return new NodeCryptoSrtpCipher(keys);
  if (!nativeAddon.available) throw new Error(`the native data plane is unavailable: ${nativeAddon.reason}`);
  const { rtp, rtcp } = keys;
  return new nativeAddon.addon.SrtpCipher(
    keys.profile === 'AEAD_AES_128_GCM',
    rtp.encryption,
    rtp.salt,
    rtp.authentication,
    rtcp.encryption,
    rtcp.salt,
    rtcp.authentication,
  );
}

function loadNativeAddon(): NativeAddonStatus {
  const require = createRequire(import.meta.url);
  const override = process.env[nativeAddonOverride];
  try {
    return { available: true, addon: require(override ?? '@parlor/native') as NativeAddon };
  } catch (error) {
    const message = error instanceof Error ? (error.message.split('\n')[0] ?? '') : String(error);
    return { available: false, reason: (override === undefined && buildFailure(require)) || message };
  }
}

/** What the addon's install script wrote when node-gyp failed (packages/native/install.mjs). */
function buildFailure(require: NodeJS.Require): string | null {
  try {
    const packageDirectory = dirname(require.resolve('@parlor/native/package.json'));
    const cause = readFileSync(join(packageDirectory, 'build', 'failure.txt'), 'utf8').trim();
    return `the addon did not build at install: ${cause}`;
  } catch {
    return null;
  }
}
