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
/** Handshake message type of a ClientHello (RFC 5246 §7.4). */
const clientHello = 1;
/**
 * How long after sending a flight a retransmission of the peer's flight is taken to have crossed
 * ours (ours late, not lost) and goes unanswered, ms. werift's client retransmits after 0.5 s,
 * then 1 s more, and fails the handshake on a second copy of a flight (a HelloVerifyRequest): a
 * server slowed by a join storm answered both copies of its ClientHello and lost the peer.
 */
const resendAfterMs = 1000;

/**
 * The handshake message sequence number of a datagram's first record when it is a plaintext
 * ClientHello (RFC 6347 §4.1, §4.2.2); null for anything else.
 */
function clientHelloSequence(datagram: Uint8Array): number | null {
  const plaintext = datagram[0] === handshakeRecord && datagram[3] === 0 && datagram[4] === 0;
  if (!plaintext || datagram.length < 19 || datagram[13] !== clientHello) return null;
  return ((datagram[17] as number) << 8) | (datagram[18] as number);
}

/**
 * DTLS handshakes run by werift on the calling thread, as the router's DTLS server (`a=setup:passive`).
 *
 * Retransmissions are handled here, not by werift (RFC 6347 §4.2.4): the server's latest flight is
 * kept and resent when the peer's previous flight comes again, at most once per `resendAfterMs`.
 * werift would answer a repeated ClientHello anew (a new HelloVerifyRequest, or a new ServerHello
 * with new randoms), and once connected it ignores a repeated last flight, so a peer whose
 * Finished was lost retransmitted until it gave up (werift's client after about 27 s).
 */
export class LocalDtlsHandshaker implements DtlsHandshaker {
  readonly #certificate: DtlsCertificate;

  constructor(certificate: DtlsCertificate) {
    this.#certificate = certificate;
  }

  open(callbacks: DtlsHandshakeCallbacks): DtlsHandshake {
    let closed = false;
    let connected = false;
    /** The datagrams sent since the peer's last one passed to werift: the server's latest flight. */
    let lastFlight: Uint8Array[] = [];
    let flightSentAt = -Infinity;
    let receivedSinceSend = true;
    /** The latest ClientHello's message sequence number; -1 before the first. */
    let clientHelloSeen = -1;
    /**
     * The latest ClientHello answered (a flight sent since): copies of it are retransmissions. One
     * not answered yet may come in fragments (Chromium's, with its post-quantum key share).
     */
    let clientHelloAnswered = -1;
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
          flightSentAt = performance.now();
          clientHelloAnswered = clientHelloSeen;
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
        const helloSequence = clientHelloSequence(datagram);
        const type = datagram[0];
        const repeated = connected
          ? type === handshakeRecord || type === changeCipherSpec
          : helloSequence !== null && helloSequence <= clientHelloAnswered;
        if (repeated) {
          // An older ClientHello than the latest is a straggler: our answer to it is gone by.
          const answered = connected || helloSequence === clientHelloAnswered;
          const now = performance.now();
          if (answered && lastFlight.length > 0 && now - flightSentAt >= resendAfterMs) {
            flightSentAt = now;
            for (const flight of lastFlight) callbacks.send(flight);
          }
          return;
        }
        if (helloSequence !== null) clientHelloSeen = Math.max(clientHelloSeen, helloSequence);
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
