import { DtlsServer, type Transport } from 'werift';
import {
  preferredSrtpProfiles,
  srtpProfileById,
  srtpProfiles,
  type SrtpProfileName,
} from '../srtp/profiles.js';
import type { DtlsCertificate } from './DtlsCertificate.js';
import { useNativeDtlsKeys } from './nativeDtlsKeys.js';
import { useNativeP256 } from './nativeP256.js';
import { useNativeX25519 } from './nativeX25519.js';

useNativeX25519();
useNativeP256();
useNativeDtlsKeys();

/** What a finished DTLS-SRTP handshake exported (RFC 5764 §4.2), and the peer's certificate. */
export interface DtlsSrtpKeys {
  readonly profile: SrtpProfileName;
  readonly localKey: Uint8Array;
  readonly localSalt: Uint8Array;
  readonly remoteKey: Uint8Array;
  readonly remoteSalt: Uint8Array;
  /** The peer's certificate as DER, for its fingerprint. */
  readonly remoteCertificate: Uint8Array;
}

/** Told by one handshake: a datagram for the peer, its keys once done, or its failure. */
export interface DtlsHandshakeCallbacks {
  readonly send: (datagram: Uint8Array) => void;
  readonly connected: (keys: DtlsSrtpKeys) => void;
  readonly failed: () => void;
}

/** The server side of one peer's DTLS association; it lives on after the handshake for alerts. */
export interface DtlsHandshake {
  /** A DTLS datagram from the peer. */
  receive(datagram: Uint8Array): void;
  /** Ends it; no callback follows. Idempotent. */
  close(): void;
}

/** Where DTLS handshakes run: this thread (`LocalDtlsHandshaker`) or one of their own (`DtlsThread`). */
export interface DtlsHandshaker {
  open(callbacks: DtlsHandshakeCallbacks): DtlsHandshake;
}

/** DTLS record content types (RFC 6347 §4.1). */
const changeCipherSpec = 20;
const handshakeRecord = 22;
/**
 * The shortest time between two resends of the last flight, ms: a peer's retransmitted flight
 * may span several datagrams, and one resend answers them all.
 */
const minResendIntervalMs = 100;

/**
 * DTLS handshakes run by werift on the calling thread, as the router's DTLS server (`a=setup:passive`).
 *
 * Once connected, werift ignores a peer's retransmitted last flight (its certificate, key exchange
 * and Finished) and so never resends its own Finished: a peer whose copy was lost retransmits
 * until it gives up (werift's client after about 27 s), and gets no media. As RFC 6347 §4.2.4 asks,
 * the server's last flight is kept and resent here whenever the peer's handshake records come
 * again after the handshake; werift no longer sees them (a late ClientHello would make it
 * renegotiate).
 */
export class LocalDtlsHandshaker implements DtlsHandshaker {
  readonly #certificate: DtlsCertificate;

  constructor(certificate: DtlsCertificate) {
    this.#certificate = certificate;
  }

  open(callbacks: DtlsHandshakeCallbacks): DtlsHandshake {
    let closed = false;
    let connected = false;
    /** The datagrams sent since the peer's last one: the latest flight, once the handshake is over. */
    let lastFlight: Uint8Array[] = [];
    let receivedSinceSend = true;
    let resentAt = -Infinity;
    const transport: Transport = {
      type: 'udp',
      address: {} as Transport['address'],
      closed: false,
      onData: () => undefined,
      send: async (data) => {
        if (closed) return;
        if (!connected) {
          if (receivedSinceSend) lastFlight = [];
          receivedSinceSend = false;
          lastFlight.push(data);
        }
        callbacks.send(data);
      },
      close: async () => undefined,
    };
    const server = new DtlsServer({
      transport,
      cert: this.#certificate.certPem,
      key: this.#certificate.keyPem,
      signatureHash: this.#certificate.signatureHash,
      srtpProfiles: preferredSrtpProfiles.map((name) => srtpProfiles[name].id),
      certificateRequest: true,
      extendedMasterSecret: true,
    });
    server.onConnect.subscribe(() => {
      if (closed) return;
      connected = true;
      const profile = srtpProfileById(server.srtp.srtpProfile ?? -1);
      const certificate = server.remoteCertificate;
      if (!profile || !certificate) {
        callbacks.failed();
        return;
      }
      const { keyLength, saltLength } = srtpProfiles[profile];
      const keys = server.extractSessionKeys(keyLength, saltLength) as Record<string, Buffer | undefined>;
      const empty = Buffer.alloc(0);
      callbacks.connected({
        profile,
        localKey: keys.localKey ?? empty,
        localSalt: keys.localSalt ?? empty,
        remoteKey: keys.remoteKey ?? empty,
        remoteSalt: keys.remoteSalt ?? empty,
        remoteCertificate: certificate,
      });
    });
    server.onError.subscribe(() => {
      if (!closed) callbacks.failed();
    });
    return {
      receive: (datagram) => {
        if (closed) return;
        const type = datagram[0];
        if (connected && (type === handshakeRecord || type === changeCipherSpec)) {
          const now = performance.now();
          if (now - resentAt < minResendIntervalMs) return;
          resentAt = now;
          for (const flight of lastFlight) callbacks.send(flight);
          return;
        }
        receivedSinceSend = true;
        transport.onData(Buffer.from(datagram.buffer, datagram.byteOffset, datagram.byteLength), {} as never);
      },
      close: () => {
        if (closed) return;
        closed = true;
        server.close();
      },
    };
  }
}
