import { randomBytes } from 'node:crypto';
import { InvalidStateError } from '../../InvalidStateError.js';
import { TypedEmitter } from '../../TypedEmitter.js';
import type { TransportAddress } from './stun.js';

export type IceState = 'new' | 'connected' | 'disconnected' | 'closed';

export interface IceLiteEndpointEvents {
  /** A non-STUN datagram (DTLS, SRTP, SRTCP) from the selected remote address. */
  packet: [packet: Buffer];
  stateChange: [state: IceState];
}

/** How an endpoint sends: the mux's shared socket. */
export type DatagramSender = (packet: Buffer, to: TransportAddress) => void;

/**
 * One WebRTC peer's ICE-lite side (RFC 8445 §2.5): its credentials, the remote address the peer's
 * checks select, and consent freshness. It owns no socket: a `UdpMux` hands it the datagrams of
 * its peer and sends for it.
 */
export class IceLiteEndpoint extends TypedEmitter<IceLiteEndpointEvents> {
  readonly usernameFragment: string;
  readonly password: string;
  #state: IceState = 'new';
  #remote: TransportAddress | null = null;
  #lastConsent = 0;
  readonly #send: DatagramSender;

  constructor(send: DatagramSender) {
    super();
    // ICE asks for at least 24 bits of randomness in the ufrag and 128 in the password.
    this.usernameFragment = randomBytes(6).toString('base64url');
    this.password = randomBytes(18).toString('base64url');
    this.#send = send;
  }

  get state(): IceState {
    return this.#state;
  }

  /** The remote address media goes to, once the peer's checks chose one. */
  get remoteAddress(): TransportAddress | null {
    return this.#remote;
  }

  /** Milliseconds-since-epoch of the last authenticated binding request. */
  get lastConsent(): number {
    return this.#lastConsent;
  }

  send(packet: Buffer): void {
    if (this.#state === 'closed') throw new InvalidStateError('the ICE endpoint is closed');
    if (this.#remote) this.#send(packet, this.#remote);
  }

  /** Called by the mux for each authenticated binding request from the peer. */
  handleCheck(from: TransportAddress, nominated: boolean, now: number): void {
    if (this.#state === 'closed') return;
    this.#lastConsent = now;
    // The controlling browser nominates a pair; before that, answer on the first working one.
    if (nominated || !this.#remote) this.#remote = from;
    this.#setState('connected');
  }

  /** Called by the mux for a datagram from this endpoint's selected address. */
  handlePacket(packet: Buffer): void {
    if (this.#state === 'connected') this.safeEmit('packet', packet);
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
