import { randomBytes } from 'node:crypto';
import { InvalidStateError } from '../../InvalidStateError.js';
import { TypedEmitter } from '../../TypedEmitter.js';
import type { NativeIngressPath } from '../srtp/dataPlane.js';
import type { TransportAddress } from './stun.js';

export type IceState = 'new' | 'connected' | 'disconnected' | 'closed';

/**
 * A way to the peer that one of its checks proved: an address on the shared UDP socket, or a TCP
 * connection (ICE-TCP, RFC 6544).
 */
export interface IcePath {
  readonly protocol: 'udp' | 'tcp';
  readonly remote: TransportAddress;
  /** The UDP socket's descriptor, for the native data plane to send on; null over TCP. */
  readonly fd: number | null;
  send(packet: Buffer): void;
}

/**
 * Where the native data plane's batched reader (`UdpMux`) may hand the peer's SRTP straight to a
 * publisher's ingress, in C, instead of the `packet` event.
 */
export interface SrtpSink {
  readonly ingress: NativeIngressPath;
  /** Once per batch in which the ingress took packets: their `count` records are in its `records`. */
  receive(count: number): void;
}

export interface IceLiteEndpointEvents {
  /**
   * A non-STUN packet (DTLS, SRTP, SRTCP) from the peer, but for the SRTP `srtpSink` took. An SRTP
   * or SRTCP packet's memory may be reused once the listeners return (the native data plane's
   * batched reads): copy to keep it.
   */
  packet: [packet: Buffer];
  stateChange: [state: IceState];
  /** `srtpSink` changed. */
  srtpSinkChange: [];
}

/**
 * One WebRTC peer's ICE-lite side (RFC 8445 §2.5): its credentials, the path the peer's checks
 * select, and consent freshness. It owns no socket: a `UdpMux` hands it the packets of its peer
 * and the paths to answer on.
 */
export class IceLiteEndpoint extends TypedEmitter<IceLiteEndpointEvents> {
  readonly usernameFragment: string;
  readonly password: string;
  #state: IceState = 'new';
  #path: IcePath | null = null;
  #lastConsent = 0;
  #srtpSink: SrtpSink | null = null;

  constructor() {
    super();
    // ICE asks for at least 24 bits of randomness in the ufrag and 128 in the password.
    this.usernameFragment = randomBytes(6).toString('base64url');
    this.password = randomBytes(18).toString('base64url');
  }

  get state(): IceState {
    return this.#state;
  }

  /** The remote address media goes to, once the peer's checks chose one. */
  get remoteAddress(): TransportAddress | null {
    return this.#path?.remote ?? null;
  }

  /** The path the peer's checks chose; null before. */
  get path(): IcePath | null {
    return this.#path;
  }

  /** `udp` or `tcp`, once the peer's checks chose a path. */
  get protocol(): IcePath['protocol'] | null {
    return this.#path?.protocol ?? null;
  }

  /** Milliseconds-since-epoch of the last authenticated binding request. */
  get lastConsent(): number {
    return this.#lastConsent;
  }

  /** Where the peer's SRTP may go in C; null for the `packet` event alone. */
  get srtpSink(): SrtpSink | null {
    return this.#srtpSink;
  }

  /**
   * Lets the mux's batched reader hand the peer's SRTP to `sink` (null: no more) from the
   * addresses its checks authenticated, while connected; the rest still comes as `packet`.
   */
  routeSrtp(sink: SrtpSink | null): void {
    if (this.#srtpSink === sink || (sink && this.#state === 'closed')) return;
    this.#srtpSink = sink;
    this.safeEmit('srtpSinkChange');
  }

  /** Called by the mux once per batch in which `srtpSink`'s ingress took `count` packets. */
  handleSrtpRecords(count: number): void {
    try {
      this.#srtpSink?.receive(count);
    } catch {
      // As a `packet` listener's exception (safeEmit): it must not break the mux's batch.
    }
  }

  send(packet: Buffer): void {
    if (this.#state === 'closed') throw new InvalidStateError('the ICE endpoint is closed');
    this.#path?.send(packet);
  }

  /** Called by the mux for each authenticated binding request from the peer. */
  handleCheck(path: IcePath, nominated: boolean, now: number): void {
    if (this.#state === 'closed') return;
    this.#lastConsent = now;
    // The controlling browser nominates a pair; before that, answer on the first working one.
    if (nominated || !this.#path) this.#path = path;
    this.#setState('connected');
  }

  /**
   * Called by the mux for a packet from one of this endpoint's paths; false when it is dropped
   * because the peer is not connected (its consent lapsed).
   */
  handlePacket(packet: Buffer): boolean {
    if (this.#state !== 'connected') return false;
    this.safeEmit('packet', packet);
    return true;
  }

  /** Marks the peer gone when it has sent no check since `deadline` (consent, RFC 7675). */
  checkConsent(deadline: number): void {
    if (this.#state === 'connected' && this.#lastConsent < deadline) this.#setState('disconnected');
  }

  close(): void {
    this.#setState('closed');
  }

  #setState(state: IceState): void {
    if (this.#state === state || this.#state === 'closed') return;
    this.#state = state;
    this.safeEmit('stateChange', state);
  }
}
