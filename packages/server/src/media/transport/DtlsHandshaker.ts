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

/** DTLS handshakes run by werift on the calling thread, as the router's DTLS server (`a=setup:passive`). */
export class LocalDtlsHandshaker implements DtlsHandshaker {
  readonly #certificate: DtlsCertificate;

  constructor(certificate: DtlsCertificate) {
    this.#certificate = certificate;
  }

  open(callbacks: DtlsHandshakeCallbacks): DtlsHandshake {
    let closed = false;
    const transport: Transport = {
      type: 'udp',
      address: {} as Transport['address'],
      closed: false,
      onData: () => undefined,
      send: async (data) => {
        if (!closed) callbacks.send(data);
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
        if (!closed)
          transport.onData(
            Buffer.from(datagram.buffer, datagram.byteOffset, datagram.byteLength),
            {} as never,
          );
      },
      close: () => {
        if (closed) return;
        closed = true;
        server.close();
      },
    };
  }
}
