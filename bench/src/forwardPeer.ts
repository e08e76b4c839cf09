// The far side of the forwarding benchmark, in its own process: a publisher and N subscribers
// as browsers would be, each with its own UDP socket, ICE check and DTLS handshake with a real
// Media Router. The publisher then sends SRTP video at a fixed rate, and each subscriber counts
// the packets of the measured window that reach it (their sequence numbers are in clear text).
// Subscribers read their sockets in batches with the addon's `UdpReader` (recvmmsg, one call into
// JavaScript per batch), or with node:dgram's event per datagram.
// argv: routerPort subscribers packetsPerSecond warmupSeconds seconds batched|dgram
// stdin and stdout: one JSON message per line, `PeerMessage` out and `RouterMessage` in.
import { createHmac, randomBytes, randomInt } from 'node:crypto';
import { createSocket } from 'node:dgram';
import { createInterface } from 'node:readline';
import { DtlsClient, type Transport } from 'werift';
import {
  deriveSrtpSessionKeys,
  DtlsCertificate,
  parseDescription,
  readInBatches,
  srtpProfileById,
  srtpProfiles,
  SrtpContext,
  udpReaderSlotSize,
  type NativeUdpReader,
  type RemoteDescription,
} from '@parlor/server/media';
import { udpSocketCounters } from './udpSockets.js';

/** How the peer's subscribers read their sockets. */
export type PeerReads = 'batched' | 'dgram';

/** What the peer counted in a step; packet counts are of the measured window unless said. */
export interface PeerCounts {
  readonly sent: number;
  /** `sent` × subscribers. */
  readonly expected: number;
  /** Received by the subscribers, once their sockets were drained. */
  readonly received: number;
  /** Of `received`, those that came more than 300 ms after the last packet was sent. */
  readonly late: number;
  /** From the last packet sent until nothing more arrived or waited in a socket, ms. */
  readonly drainMs: number;
  /**
   * The peer process's CPU (user + system) from the window's start to its last datagram, percent
   * of one core, and µs per datagram received (its sending, ~1 % of its datagrams, included).
   */
  readonly cpuPercent: number;
  readonly cpuMicrosPerDatagram: number;
  /** How far behind its schedule the publisher sent, at worst, ms (the peer's loop was busy). */
  readonly sendLagMs: number;
  /** Datagrams the kernel dropped at the subscribers' sockets (full buffers), whole step. */
  readonly socketDrops: number;
  /** Bytes left unread in the subscribers' sockets at the count. */
  readonly queuedBytes: number;
  /**
   * Bytes (the kernel's, with overhead) waiting to be read when the last packet was sent, in the
   * router's socket and in the subscribers': where the step's late packets were.
   */
  readonly routerBacklogBytes: number;
  readonly peerBacklogBytes: number;
  /** Datagrams the subscribers' batched readers dropped (longer than a slot), whole step. */
  readonly truncated: number;
}

/** What the peer tells the router, in this order. */
export type PeerMessage =
  | { readonly offer: string }
  | { readonly answers: readonly string[] }
  /** The measured window starts now. */
  | { readonly measuring: true }
  /** The last packet of the measured window is sent. */
  | { readonly measured: true }
  | { readonly done: PeerCounts };

/** What the router tells the peer. */
export interface RouterMessage {
  readonly answer: string;
  readonly offers: readonly string[];
}

const [routerPortText, subscribersText, rateText, warmupText, secondsText, readsText] = process.argv.slice(2);
const routerPort = Number(routerPortText);
const rate = Number(rateText);
const warmupPackets = Math.round(rate * Number(warmupText));
const measuredPackets = Math.round(rate * Number(secondsText));
const batchedReads = (readsText as PeerReads) !== 'dgram';
const videoSsrc = 0x5eed5eed;
const iceUfrag = 'peer';
const icePwd = randomBytes(18).toString('base64url');
/** How often each peer sends a consent check once connected, ms (browsers: about 5 s). */
const consentIntervalMs = 5000;
/** RTP packets all subscribers received, any sequence number: the drain watches it. */
let arrivals = 0;

/** One browser stand-in: a socket, its DTLS client once connected, and what it received. */
class Peer {
  readonly socket = createSocket({ type: 'udp4', recvBufferSize: 4 << 20 });
  /** RTP packets of the measured window received. */
  received = 0;
  /** Datagrams its batched reader dropped. */
  truncated = 0;
  #reader: NativeUdpReader | null = null;
  /** STUN and DTLS datagrams received, for a handshake that hangs. */
  #stunIn = 0;
  #dtlsIn = 0;
  readonly #dtlsTransport: Transport;
  readonly #batched: boolean;
  #close: () => void = () => undefined;

  /** @param batched whether it reads its socket with the addon's UdpReader */
  constructor(batched: boolean) {
    this.#batched = batched;
    this.#dtlsTransport = {
      type: 'udp',
      address: {} as Transport['address'],
      closed: false,
      onData: () => undefined,
      send: async (data) => {
        this.socket.send(data, routerPort, '127.0.0.1');
      },
      close: async () => undefined,
    };
    if (!batched)
      this.socket.on('message', (packet) => {
        this.#receive(packet, false);
      });
  }

  /** A datagram; `reused` when its memory is the batched reader's, overwritten after the batch. */
  #receive(packet: Buffer, reused: boolean): void {
    const first = packet[0] as number;
    const second = packet[1] as number;
    if (first < 2) this.#stunIn++;
    else if (first >= 20 && first <= 63) {
      this.#dtlsIn++;
      this.#dtlsTransport.onData(reused ? Buffer.from(packet) : packet, {} as never);
    } else if (first >= 128 && (second < 192 || second > 223)) {
      arrivals++;
      const sequence = packet.readUInt16BE(2);
      if (sequence >= warmupPackets && sequence < warmupPackets + measuredPackets) this.received++;
    }
  }

  /** Checks the router's candidate, then runs DTLS; resolves with the SRTP context to send with. */
  async connect(remote: RemoteDescription, certificate: DtlsCertificate): Promise<SrtpContext> {
    await new Promise<void>((resolve) => this.socket.bind(0, '127.0.0.1', resolve));
    if (this.#batched) {
      const reader = readInBatches(
        this.socket,
        (batch, count) => {
          for (let i = 0; i < count; i++) {
            const start = i * udpReaderSlotSize;
            this.#receive(batch.data.subarray(start, start + (batch.lengths[i] as number)), true);
          }
        },
        (error) => {
          process.stderr.write(
            `forward peer: batched reads failed, reading with node:dgram: ${error.message}\n`,
          );
          this.socket.on('message', (packet) => {
            this.#receive(packet, false);
          });
        },
      );
      if (!reader) throw new Error('the native addon is unavailable: the peer cannot read in batches');
      this.#reader = reader;
      this.#close = () => {
        this.truncated = reader.dropped();
        reader.close();
      };
    }
    // Checks until DTLS is through, as browsers retransmit theirs (one lost would hang the step),
    // then every 5 s as their consent checks (RFC 7675): without them the router takes the peer
    // for gone after 30 s, and drops its packets or stops sending to it.
    const check = (): void => {
      this.socket.send(bindingRequest(remote), routerPort, '127.0.0.1');
    };
    check();
    const checks = setInterval(check, 500);
    const dtls = new DtlsClient({
      transport: this.#dtlsTransport,
      cert: certificate.certPem,
      key: certificate.keyPem,
      signatureHash: certificate.signatureHash,
      srtpProfiles: [srtpProfiles.AEAD_AES_128_GCM.id],
      extendedMasterSecret: true,
    });
    const connected = new Promise<void>((resolve) => dtls.onConnect.subscribe(resolve));
    // A handshake that hangs says where it stands (the router's answers to its checks, DTLS).
    const watchdog = setTimeout(() => {
      process.stderr.write(
        `forward peer: port ${this.socket.address().port} not connected after 30 s: ` +
          `${this.#stunIn} check answers, ${this.#dtlsIn} DTLS datagrams received, ${this.#reader?.dropped() ?? 0} truncated\n`,
      );
    }, 30_000);
    try {
      await dtls.connect();
      await connected;
    } finally {
      clearInterval(checks);
      clearTimeout(watchdog);
    }
    const consent = setInterval(check, consentIntervalMs);
    const closeReader = this.#close;
    this.#close = () => {
      clearInterval(consent);
      closeReader();
    };
    const profile = srtpProfileById(dtls.srtp.srtpProfile ?? -1) ?? 'AEAD_AES_128_GCM';
    const { keyLength, saltLength } = srtpProfiles[profile];
    const keys = dtls.extractSessionKeys(keyLength, saltLength) as Record<string, Buffer | undefined>;
    return new SrtpContext(
      deriveSrtpSessionKeys({
        profile,
        masterKey: keys.localKey ?? Buffer.alloc(0),
        masterSalt: keys.localSalt ?? Buffer.alloc(0),
      }),
    );
  }

  close(): void {
    this.#close();
    this.socket.close();
  }
}

/** A nominating ICE check (RFC 8445 §7.2.2) with MESSAGE-INTEGRITY, as a controlling browser sends. */
function bindingRequest(remote: RemoteDescription): Buffer {
  const username = Buffer.from(`${remote.iceUfrag}:${iceUfrag}`);
  const paddedUsername = Math.ceil(username.length / 4) * 4;
  const request = Buffer.alloc(20 + 4 + paddedUsername + 4 + 24);
  request.writeUInt16BE(0x0001, 0);
  request.writeUInt16BE(request.length - 20, 2);
  request.writeUInt32BE(0x2112a442, 4);
  randomBytes(12).copy(request, 8);
  let offset = 20;
  request.writeUInt16BE(0x0006, offset);
  request.writeUInt16BE(username.length, offset + 2);
  username.copy(request, offset + 4);
  offset += 4 + paddedUsername;
  request.writeUInt16BE(0x0025, offset); // USE-CANDIDATE, empty
  offset += 4;
  request.writeUInt16BE(0x0008, offset);
  request.writeUInt16BE(20, offset + 2);
  createHmac('sha1', remote.icePwd)
    .update(request.subarray(0, offset))
    .digest()
    .copy(request, offset + 4);
  return request;
}

function description(certificate: DtlsCertificate, media: string[]): string {
  return [
    'v=0',
    'o=- 1 2 IN IP4 127.0.0.1',
    's=-',
    't=0 0',
    'a=group:BUNDLE 0',
    'm=video 9 UDP/TLS/RTP/SAVPF 96',
    'c=IN IP4 0.0.0.0',
    `a=ice-ufrag:${iceUfrag}`,
    `a=ice-pwd:${icePwd}`,
    `a=fingerprint:sha-256 ${certificate.fingerprint}`,
    'a=mid:0',
    'a=rtcp-mux',
    'a=rtpmap:96 VP8/90000',
    'a=rtcp-fb:96 nack',
    'a=rtcp-fb:96 nack pli',
    ...media,
    '',
  ].join('\r\n');
}

function send(message: PeerMessage): void {
  process.stdout.write(`${JSON.stringify(message)}\n`);
}

const lines = createInterface({ input: process.stdin })[Symbol.asyncIterator]();
const certificate = await DtlsCertificate.generate();
const publisher = new Peer(false);
const subscribers = Array.from({ length: Number(subscribersText) }, () => new Peer(batchedReads));

send({
  offer: description(certificate, ['a=setup:actpass', 'a=sendonly', `a=ssrc:${videoSsrc} cname:bench`]),
});
const { answer, offers } = JSON.parse(String((await lines.next()).value)) as RouterMessage;
const srtp = await publisher.connect(parseDescription(answer), certificate);
// A few handshakes at a time, as browsers joining would: all at once only measures DTLS timeouts.
for (let i = 0; i < subscribers.length; i += 10) {
  await Promise.all(
    subscribers
      .slice(i, i + 10)
      .map((subscriber, j) => subscriber.connect(parseDescription(offers[i + j] ?? ''), certificate)),
  );
}
send({ answers: offers.map(() => description(certificate, ['a=setup:active', 'a=recvonly'])) });

// Warm-up, then the measured window; packet i carries sequence number i.
const packet = Buffer.alloc(12 + 1188, 0x77);
packet[0] = 0x80;
packet[1] = 96;
packet.writeUInt32BE(videoSsrc, 8);
const timestampBase = randomInt(0, 0x7fffffff);
const total = warmupPackets + measuredPackets;
let sent = 0;
let sendLagMs = 0;
let cpuBefore = process.cpuUsage();
let windowStarted = 0;
const started = performance.now();
await new Promise<void>((resolve) => {
  const timer = setInterval(() => {
    const now = performance.now();
    const due = Math.min(total, Math.floor(((now - started) / 1000) * rate));
    if (sent >= warmupPackets && sent < due)
      sendLagMs = Math.max(sendLagMs, now - started - (sent * 1000) / rate);
    while (sent < due) {
      if (sent === warmupPackets) {
        send({ measuring: true });
        cpuBefore = process.cpuUsage();
        windowStarted = now;
      }
      packet.writeUInt16BE(sent, 2);
      packet.writeUInt32BE((timestampBase + sent * 3000) >>> 0, 4);
      publisher.socket.send(srtp.protectRtp(packet), routerPort, '127.0.0.1');
      sent++;
    }
    if (sent === total) {
      send({ measured: true });
      clearInterval(timer);
      resolve();
    }
  }, 5);
});
const lastSent = performance.now();
const subscriberPorts = new Set(subscribers.map((subscriber) => subscriber.socket.address().port));
const routerBacklogBytes = udpSocketCounters(new Set([routerPort])).queuedBytes;
const peerBacklogBytes = udpSocketCounters(subscriberPorts).queuedBytes;
const received = (): number => subscribers.reduce((sum, subscriber) => sum + subscriber.received, 0);
// Let the last packets arrive before counting: until nothing arrived for 300 ms and nothing
// waits in the router's socket or the subscribers' (at most 20 s, for a router far behind),
// counting those that came later than the first 300 ms. Each look follows a turn of the loop's
// I/O (setImmediate): after a stall the timer runs before the datagrams waiting are read.
const quietMs = 300;
let onTime = -1;
let lastArrival = lastSent;
const backlogged = (): boolean =>
  udpSocketCounters(new Set([routerPort])).queuedBytes > 0 ||
  udpSocketCounters(subscriberPorts).queuedBytes > 0;
for (
  let seen = arrivals;
  performance.now() - lastArrival < quietMs && performance.now() - lastSent < 20_000;
) {
  await new Promise((resolve) => setTimeout(resolve, 20));
  await new Promise((resolve) => setImmediate(resolve));
  if (onTime < 0 && performance.now() - lastSent >= quietMs) onTime = received();
  if (arrivals !== seen || (performance.now() - lastArrival >= quietMs && backlogged())) {
    seen = arrivals;
    lastArrival = performance.now();
  }
}
const cpu = process.cpuUsage(cpuBefore);
const cpuMicros = cpu.user + cpu.system;
const kernel = udpSocketCounters(subscriberPorts);
const receivedAll = received();
for (const subscriber of subscribers) subscriber.close();
send({
  done: {
    sent: measuredPackets,
    expected: measuredPackets * subscribers.length,
    received: receivedAll,
    late: onTime < 0 ? 0 : receivedAll - onTime,
    drainMs: lastArrival - lastSent,
    cpuPercent: cpuMicros / 10 / (lastArrival - windowStarted),
    cpuMicrosPerDatagram: cpuMicros / Math.max(1, receivedAll),
    sendLagMs,
    socketDrops: kernel.drops,
    queuedBytes: kernel.queuedBytes,
    routerBacklogBytes,
    peerBacklogBytes,
    truncated: subscribers.reduce((sum, subscriber) => sum + subscriber.truncated, 0),
  },
});
publisher.close();
