import { randomBytes } from 'node:crypto';
import { createSocket, type Socket } from 'node:dgram';
import { DtlsClient, type Transport } from 'werift';
import { serializeStun, stunAttributes, stunMessageTypes } from '../ice/stun.js';
import { deriveSrtpSessionKeys } from '../srtp/keyDerivation.js';
import { srtpProfileById, srtpProfiles } from '../srtp/profiles.js';
import { SrtpContext } from '../srtp/SrtpContext.js';
import type { DtlsCertificate } from './DtlsCertificate.js';

/**
 * A browser stand-in for tests of the router's transports: one UDP socket on 127.0.0.1, a
 * nominating ICE check, werift's DTLS client (the router is always the DTLS server), then SRTP
 * contexts for both directions.
 */
export class FakeBrowser {
  readonly socket: Socket = createSocket('udp4');
  /** SRTP and SRTCP packets from the router, as they arrived (protected). */
  readonly received: Buffer[] = [];
  /** For what the router sends; null until connected. */
  inbound: SrtpContext | null = null;
  /** For what this browser sends; null until connected. */
  outbound: SrtpContext | null = null;
  readonly #routerPort: number;
  readonly #certificate: DtlsCertificate;
  readonly #transport: Transport;

  /** @param certificate this browser's own certificate, whose fingerprint the router expects. */
  constructor(routerPort: number, certificate: DtlsCertificate) {
    this.#routerPort = routerPort;
    this.#certificate = certificate;
    this.#transport = {
      type: 'udp',
      address: {} as Transport['address'],
      closed: false,
      onData: () => undefined,
      send: async (data) => {
        this.send(data);
      },
      close: async () => undefined,
    };
    this.socket.on('message', (packet) => {
      const first = packet[0] as number;
      if (first >= 20 && first <= 63) this.#transport.onData(packet, {} as never);
      else if (first >= 128) this.received.push(packet);
    });
  }

  /** Checks the router's ICE credentials, then runs the DTLS handshake and keys SRTP. */
  async connect(usernameFragment: string, password: string): Promise<void> {
    await new Promise<void>((resolve) => this.socket.bind(0, '127.0.0.1', resolve));
    const check = serializeStun(
      {
        type: stunMessageTypes.bindingRequest,
        transactionId: randomBytes(12),
        attributes: [
          { type: stunAttributes.username, value: Buffer.from(`${usernameFragment}:browser`) },
          { type: stunAttributes.useCandidate, value: Buffer.alloc(0) },
        ],
      },
      password,
    );
    this.send(check);
    const dtls = new DtlsClient({
      transport: this.#transport,
      cert: this.#certificate.certPem,
      key: this.#certificate.keyPem,
      signatureHash: this.#certificate.signatureHash,
      srtpProfiles: [srtpProfiles.AEAD_AES_128_GCM.id, srtpProfiles.AES_CM_128_HMAC_SHA1_80.id],
      extendedMasterSecret: true,
    });
    const connected = new Promise<void>((resolve) => dtls.onConnect.subscribe(resolve));
    await dtls.connect();
    await connected;
    const profile = srtpProfileById(dtls.srtp.srtpProfile ?? -1);
    if (!profile) throw new Error('the DTLS handshake negotiated no SRTP profile');
    const { keyLength, saltLength } = srtpProfiles[profile];
    const keys = dtls.extractSessionKeys(keyLength, saltLength) as Record<string, Buffer | undefined>;
    const context = (masterKey?: Buffer, masterSalt?: Buffer) =>
      new SrtpContext(
        deriveSrtpSessionKeys({
          profile,
          masterKey: masterKey ?? Buffer.alloc(0),
          masterSalt: masterSalt ?? Buffer.alloc(0),
        }),
      );
    this.outbound = context(keys.localKey, keys.localSalt);
    this.inbound = context(keys.remoteKey, keys.remoteSalt);
  }

  /** Sends a datagram to the router as it is. */
  send(packet: Buffer): void {
    this.socket.send(packet, this.#routerPort, '127.0.0.1');
  }

  close(): void {
    this.socket.close();
  }
}
