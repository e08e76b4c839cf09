import { createSocket, type Socket } from 'node:dgram';
import { InvalidStateError } from '../../InvalidStateError.js';
import { IceLiteEndpoint } from './IceLiteEndpoint.js';
import {
  encodeXorAddress,
  findAttribute,
  hasValidFingerprint,
  hasValidIntegrity,
  isStun,
  parseStun,
  serializeStun,
  stunAttributes,
  stunMessageTypes,
  type TransportAddress,
} from './stun.js';

export interface UdpMuxOptions {
  /** Address to bind. Default: 0.0.0.0. */
  readonly host?: string;
  /** UDP port; 0 picks a free one. Default: 0. */
  readonly port?: number;
  /** Seconds without a consent check before a peer counts as disconnected. Default: 30. */
  readonly consentTimeoutSeconds?: number;
}

/**
 * One UDP socket for every WebRTC peer (as mediasoup's WebRtcServer): binding requests are
 * routed by the USERNAME's local fragment and answered as ICE-lite, every other datagram by its
 * source address to the endpoint whose checks came from there.
 */
export class UdpMux {
  readonly #socket: Socket;
  readonly #byFragment = new Map<string, IceLiteEndpoint>();
  readonly #byAddress = new Map<string, IceLiteEndpoint>();
  readonly #consentTimer: NodeJS.Timeout;
  #closed = false;

  private constructor(socket: Socket, consentTimeoutSeconds: number) {
    this.#socket = socket;
    socket.on('message', (packet, info) => {
      this.#receive(packet, { address: info.address, port: info.port });
    });
    this.#consentTimer = setInterval(() => {
      const deadline = Date.now() - consentTimeoutSeconds * 1000;
      for (const endpoint of this.#byFragment.values()) endpoint.checkConsent(deadline);
    }, 1000);
    this.#consentTimer.unref();
  }

  static async bind(options: UdpMuxOptions = {}): Promise<UdpMux> {
    const socket = createSocket({ type: 'udp4', recvBufferSize: 4 << 20, sendBufferSize: 4 << 20 });
    await new Promise<void>((resolve, reject) => {
      socket.once('error', reject);
      socket.bind(options.port ?? 0, options.host ?? '0.0.0.0', () => {
        socket.off('error', reject);
        resolve();
      });
    });
    return new UdpMux(socket, options.consentTimeoutSeconds ?? 30);
  }

  get port(): number {
    return this.#socket.address().port;
  }

  /** A new endpoint with fresh ICE credentials, reachable through this socket. */
  createEndpoint(): IceLiteEndpoint {
    if (this.#closed) throw new InvalidStateError('the UDP mux is closed');
    const endpoint = new IceLiteEndpoint((packet, to) => {
      this.#socket.send(packet, to.port, to.address);
    });
    this.#byFragment.set(endpoint.usernameFragment, endpoint);
    endpoint.on('stateChange', (state) => {
      if (state === 'closed') this.#forget(endpoint);
    });
    return endpoint;
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    clearInterval(this.#consentTimer);
    for (const endpoint of [...this.#byFragment.values()]) endpoint.close();
    this.#socket.close();
  }

  #receive(packet: Buffer, from: TransportAddress): void {
    if (!isStun(packet)) {
      this.#byAddress.get(addressKey(from))?.handlePacket(packet);
      return;
    }
    const message = parseStun(packet);
    if (message?.type !== stunMessageTypes.bindingRequest) return;
    const username = findAttribute(message, stunAttributes.username)?.value.toString();
    const endpoint = username && this.#byFragment.get(username.split(':')[0] ?? '');
    if (!endpoint || !hasValidIntegrity(message, endpoint.password)) return;
    if (findAttribute(message, stunAttributes.fingerprint) && !hasValidFingerprint(message)) return;

    const response = serializeStun(
      {
        type: stunMessageTypes.bindingSuccess,
        transactionId: message.transactionId,
        attributes: [
          { type: stunAttributes.xorMappedAddress, value: encodeXorAddress(from, message.transactionId) },
        ],
      },
      endpoint.password,
    );
    this.#socket.send(response, from.port, from.address);
    // Every address the peer authenticated from is its own: media may arrive on any of them.
    this.#byAddress.set(addressKey(from), endpoint);
    endpoint.handleCheck(from, findAttribute(message, stunAttributes.useCandidate) !== undefined, Date.now());
  }

  #forget(endpoint: IceLiteEndpoint): void {
    this.#byFragment.delete(endpoint.usernameFragment);
    for (const [key, owner] of this.#byAddress) if (owner === endpoint) this.#byAddress.delete(key);
  }
}

function addressKey(address: TransportAddress): string {
  return `${address.address}:${address.port}`;
}
