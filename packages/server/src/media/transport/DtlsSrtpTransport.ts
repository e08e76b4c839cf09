import { createHash } from 'node:crypto';
import { InvalidStateError } from '../../InvalidStateError.js';
import { TypedEmitter } from '../../TypedEmitter.js';
import type { IceLiteEndpoint, IcePath } from '../ice/IceLiteEndpoint.js';
import { defaultDataPlane, type DataPlane, type NativeIngressPath } from '../srtp/dataPlane.js';
import { deriveSrtpSessionKeys } from '../srtp/keyDerivation.js';
import { SrtpContext } from '../srtp/SrtpContext.js';
import type { DtlsCertificate } from './DtlsCertificate.js';
import {
  LocalDtlsHandshaker,
  type DtlsHandshake,
  type DtlsHandshaker,
  type DtlsSrtpKeys,
} from './DtlsHandshaker.js';
import type { HandshakeLimiter } from './HandshakeLimiter.js';

export type DtlsSrtpState = 'new' | 'connecting' | 'connected' | 'failed' | 'closed';

export interface DtlsSrtpTransportEvents {
  stateChange: [state: DtlsSrtpState];
  /** A decrypted RTP packet. */
  rtp: [packet: Buffer];
  /** A decrypted (compound) RTCP packet. */
  rtcp: [packet: Buffer];
}

export interface DtlsSrtpTransportOptions {
  readonly endpoint: IceLiteEndpoint;
  readonly certificate: DtlsCertificate;
  /** Where SRTP's cryptography runs. Default: `defaultDataPlane`, native when the addon built. */
  readonly dataPlane?: DataPlane;
  /**
   * The peer's `a=fingerprint` (`sha-256 AB:CD:…`); its certificate must match. When the router
   * offers, it is known only from the answer: give it then with `setRemoteFingerprint`.
   */
  readonly remoteFingerprint?: string;
  /** Bounds the handshakes of the worker this transport runs in. Default: none, no bound. */
  readonly handshakes?: HandshakeLimiter;
  /** Where the handshake runs. Default: werift on this thread (`LocalDtlsHandshaker`). */
  readonly handshaker?: DtlsHandshaker;
}

/**
 * DTLS-SRTP over an ICE-lite endpoint (RFC 5764). The router is always the DTLS server
 * (`a=setup:passive`): werift runs the handshake (on this thread or a DTLS thread, see
 * `DtlsHandshaker`), off the media path; SRTP and SRTCP then go through Parlor's own
 * `SrtpContext`s, one per direction.
 */
export class DtlsSrtpTransport extends TypedEmitter<DtlsSrtpTransportEvents> {
  readonly #endpoint: IceLiteEndpoint;
  readonly #dtls: DtlsHandshake;
  #remoteFingerprint: string | null;
  /** Keys exported by a handshake that finished before the peer's fingerprint was known. */
  #pendingKeys: DtlsSrtpKeys | null = null;
  #state: DtlsSrtpState = 'new';
  #inbound: SrtpContext | null = null;
  #outbound: SrtpContext | null = null;
  #srtpRejected = 0;
  readonly #dataPlane: DataPlane;
  readonly #handshakes: HandshakeLimiter | undefined;
  /** Its turn at the limiter: none asked yet, waiting, under way, or refused. */
  #turn: 'none' | 'waiting' | 'running' | 'refused' = 'none';
  /** While it waits: the peer's latest DTLS datagram (its ClientHello), handed over once it runs. */
  #held: Buffer | null = null;
  #releaseTurn: (() => void) | null = null;
  /** Takes the peer's SRTP packets as they came, instead of the `rtp` event; null for none. */
  #srtpReceiver: ((packet: Buffer) => boolean) | null = null;

  constructor(options: DtlsSrtpTransportOptions) {
    super();
    this.#endpoint = options.endpoint;
    this.#dataPlane = options.dataPlane ?? defaultDataPlane;
    this.#handshakes = options.handshakes;
    this.#remoteFingerprint = options.remoteFingerprint
      ? normalizeFingerprint(options.remoteFingerprint)
      : null;
    const handshaker = options.handshaker ?? new LocalDtlsHandshaker(options.certificate);
    this.#dtls = handshaker.open({
      send: (datagram) => {
        if (this.#state !== 'closed') {
          this.#endpoint.send(Buffer.from(datagram.buffer, datagram.byteOffset, datagram.byteLength));
        }
      },
      connected: (keys) => {
        this.#endTurn();
        this.#onHandshakeDone(keys);
      },
      failed: () => {
        this.#setState('failed');
      },
    });
    this.#endpoint.on('packet', (packet) => {
      this.#receive(packet);
    });
  }

  get state(): DtlsSrtpState {
    return this.#state;
  }

  get dataPlane(): DataPlane {
    return this.#dataPlane;
  }

  /** SRTP and SRTCP packets received that failed authentication or were replays. */
  get srtpRejected(): number {
    return this.#srtpRejected;
  }

  /** The path to the peer its ICE checks chose; null before. */
  get path(): IcePath | null {
    return this.#endpoint.path;
  }

  /**
   * What protects the RTP and RTCP sent, once keyed (null before): the native data plane's
   * fan-out uses it directly, and then alone protects RTP on the SSRCs it forwards.
   */
  get outbound(): SrtpContext | null {
    return this.#outbound;
  }

  /** What decrypts the RTP and RTCP received, once keyed (null before). */
  get inbound(): SrtpContext | null {
    return this.#inbound;
  }

  /**
   * Hands the peer's SRTP packets (not its SRTCP) to `receiver` still encrypted, once keyed,
   * instead of decrypting them for the `rtp` event: the native data plane's ingress decrypts
   * them itself, with `inbound`'s cipher and rollover counters of its own. `receiver` returns
   * false for a packet that was not authentic (or a replay), counted in `srtpRejected`.
   */
  receiveSrtp(receiver: (packet: Buffer) => boolean): void {
    this.#srtpReceiver = receiver;
  }

  /**
   * Lets the mux's batched reader hand the peer's SRTP to `ingress` in C (see `SrtpSink`) while
   * the transport is open; `receive(count)` then takes each batch's records and returns how many
   * were rejected (not authentic, replays), counted in `srtpRejected`.
   */
  routeSrtp(ingress: NativeIngressPath, receive: (count: number) => number): void {
    if (this.#state === 'closed') return;
    this.#endpoint.routeSrtp({
      ingress,
      receive: (count) => {
        this.#srtpRejected += receive(count);
      },
    });
  }

  /** The fingerprint from the peer's answer, when the router made the offer. */
  setRemoteFingerprint(fingerprint: string): void {
    this.#remoteFingerprint = normalizeFingerprint(fingerprint);
    if (this.#pendingKeys) this.#onHandshakeDone(this.#pendingKeys);
  }

  /**
   * Encrypts and sends an RTP packet; dropped until the handshake is done. `header`, when given,
   * starts with the header to send instead of the packet's own (see `SrtpContext.protectRtp`).
   */
  sendRtp(packet: Buffer, header?: Buffer): void {
    this.#assertOpen();
    if (this.#outbound) this.#endpoint.send(this.#outbound.protectRtp(packet, header));
  }

  /** Encrypts and sends a (compound) RTCP packet; dropped until the handshake is done. */
  sendRtcp(packet: Buffer): void {
    this.#assertOpen();
    if (this.#outbound) this.#endpoint.send(this.#outbound.protectRtcp(packet));
  }

  close(): void {
    if (this.#state === 'closed') return;
    this.#setState('closed');
    this.#endpoint.routeSrtp(null);
    this.#dtls.close();
  }

  #receive(packet: Buffer): void {
    const first = packet[0] as number;
    if (first >= 20 && first <= 63) {
      this.#receiveDtls(packet);
      return;
    }
    if (first < 128 || first > 191 || !this.#inbound) return;
    // RFC 5761 §4: RTCP packet types 192–223 sit where an RTP marker bit and payload type would.
    const secondByte = packet[1] as number;
    if (secondByte >= 192 && secondByte <= 223) {
      const rtcp = this.#inbound.unprotectRtcp(packet);
      if (rtcp) this.safeEmit('rtcp', rtcp);
      else this.#srtpRejected++;
    } else if (this.#srtpReceiver) {
      if (!this.#srtpReceiver(packet)) this.#srtpRejected++;
    } else {
      const rtp = this.#inbound.unprotectRtp(packet);
      if (rtp) this.safeEmit('rtp', rtp);
      else this.#srtpRejected++;
    }
  }

  /**
   * A DTLS datagram: to werift once the handshake has its turn. While it waits, only the latest
   * datagram is kept (the peer retransmits its flight meanwhile); refused, the peer gets nothing
   * more and its handshake times out at its end.
   */
  #receiveDtls(packet: Buffer): void {
    if (this.#turn === 'none' && this.#handshakes && this.#state === 'new') {
      this.#turn = 'waiting';
      this.#held = packet;
      this.#releaseTurn = this.#handshakes.request(
        () => {
          this.#turn = 'running';
          const held = this.#held;
          this.#held = null;
          if (held) this.#receiveDtls(held);
        },
        () => {
          this.#turn = 'refused';
          this.#held = null;
          this.#setState('failed');
        },
      );
      return;
    }
    if (this.#turn === 'waiting') this.#held = packet;
    if (this.#turn === 'waiting' || this.#turn === 'refused') return;
    if (this.#state === 'new') this.#setState('connecting');
    this.#dtls.receive(packet);
  }

  /** The handshake is over, one way or another: the next one may run. */
  #endTurn(): void {
    this.#releaseTurn?.();
    this.#releaseTurn = null;
    this.#held = null;
  }

  #onHandshakeDone(keys: DtlsSrtpKeys): void {
    if (this.#state === 'closed') return;
    if (this.#remoteFingerprint === null) {
      this.#pendingKeys = keys;
      return;
    }
    this.#pendingKeys = null;
    if (certificateFingerprint(keys.remoteCertificate) !== this.#remoteFingerprint) {
      this.#setState('failed');
      return;
    }
    const keying = (key: Uint8Array, salt: Uint8Array) =>
      deriveSrtpSessionKeys({
        profile: keys.profile,
        masterKey: Buffer.from(key),
        masterSalt: Buffer.from(salt),
      });
    this.#outbound = new SrtpContext(keying(keys.localKey, keys.localSalt), this.#dataPlane);
    this.#inbound = new SrtpContext(keying(keys.remoteKey, keys.remoteSalt), this.#dataPlane);
    this.#setState('connected');
  }

  #assertOpen(): void {
    if (this.#state === 'closed') throw new InvalidStateError('the DTLS-SRTP transport is closed');
  }

  #setState(state: DtlsSrtpState): void {
    if (this.#state === state || this.#state === 'closed') return;
    if (state === 'failed' || state === 'closed') this.#endTurn();
    this.#state = state;
    this.safeEmit('stateChange', state);
  }
}

/**
 * The SHA-256 fingerprint of a DER certificate as `normalizeFingerprint` gives it (RFC 8122 §5):
 * hashed as it came, not parsed, which would cost OpenSSL 3 about 0.4 ms per handshake.
 */
function certificateFingerprint(der: Uint8Array): string {
  const hex = createHash('sha256').update(der).digest('hex');
  return `sha-256 ${hex.replace(/(..)(?!$)/g, '$1:')}`;
}

/** `sha-256 ab:cd…` in one case and spacing, for comparison. */
function normalizeFingerprint(fingerprint: string): string {
  return fingerprint.trim().replace(/\s+/g, ' ').toLowerCase();
}
