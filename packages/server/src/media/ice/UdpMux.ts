import { createSocket, type Socket, type SocketOptions } from 'node:dgram';
import { lookup } from 'node:dns';
import { createServer, isIPv4, type Server, type Socket as TcpSocket } from 'node:net';
import { InvalidStateError } from '../../InvalidStateError.js';
import { TypedEmitter } from '../../TypedEmitter.js';
import { udpReaderSlotSize, type NativeUdpReader } from '../srtp/dataPlane.js';
import { readInBatches, socketFd } from './batchedReads.js';
import { IceLiteEndpoint, type IcePath } from './IceLiteEndpoint.js';
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
  /** Also accept ICE-TCP (RFC 6544, passive) on the same port number, for peers without UDP. Default: false. */
  readonly tcp?: boolean;
  /** Seconds without a consent check before a peer counts as disconnected. Default: 30. */
  readonly consentTimeoutSeconds?: number;
  /** ICE-TCP limits on connections that have not completed a check yet. Default: `defaultTcpLimits`. */
  readonly tcpLimits?: IceTcpLimits;
  /**
   * Whether the UDP socket is read in batches by the native addon (`recvmmsg`, one call into
   * JavaScript per batch) instead of node:dgram's event per datagram. Default: false: a forward
   * bench at 150–200 subscribers has seen the router stall with it (bench/README.md).
   */
  readonly batchedReads?: boolean;
}

/**
 * How long an ICE-TCP connection may stay without an authentic binding request for one of the
 * endpoints, and how many such connections one address may hold at once. Connections that
 * completed a check have no cap of their own: they need credentials the signaling server handed
 * out, and many clients behind one NAT share an address.
 */
export interface IceTcpLimits {
  /** Milliseconds from accept to the first authentic check; the connection is closed after. */
  readonly authTimeoutMs: number;
  /** Connections not yet authenticated per remote address; more are closed as they come. */
  readonly maxPendingPerAddress: number;
}

export const defaultTcpLimits: IceTcpLimits = { authTimeoutMs: 10_000, maxPendingPerAddress: 32 };

/** The ICE-TCP connections of a mux now, and those it closed since it started, by reason. */
export interface IceTcpStats {
  readonly authenticated: number;
  readonly pending: number;
  /** Over `maxPendingPerAddress` at accept. */
  readonly refused: number;
  /** No authentic check within `authTimeoutMs`. */
  readonly timedOut: number;
  /** A first frame that was no authentic check. */
  readonly invalid: number;
}

/** The UDP datagrams a mux read since it started. */
export interface UdpMuxStats {
  readonly datagrams: number;
  /** Of those, STUN messages (checks, authentic or not). */
  readonly stun: number;
  /** Of those, a publisher's RTP that the batched reader handed to its ingress in C. */
  readonly toIngress: number;
  /** Neither a check nor from an address a check authenticated: dropped. */
  readonly unrouted: number;
  /** From a peer whose consent lapsed (no check for `consentTimeoutSeconds`): dropped. */
  readonly lapsed: number;
  /** Dropped by the batched reader: longer than its slots, or not from IPv4. */
  readonly truncated: number;
  /** Source addresses forgotten because their endpoint's checks came from more than `maxAddressesPerEndpoint`. */
  readonly evicted: number;
}

export interface UdpMuxEvents {
  /** The batched reader failed: the mux reads with node:dgram from now on. */
  batchedReadsFailed: [error: Error];
}

/**
 * UDP source addresses one endpoint may own at once. A browser checks from one candidate per
 * local interface (host), plus its server-reflexive and relayed ones, over IPv4 here: a handful,
 * with room for a NAT binding or network that changes mid-call. Past it the least recently
 * checked one that is not the selected path is forgotten, so that a peer checking from thousands
 * of ports holds no more (and no more of the reader's routes) than a real one.
 */
export const maxAddressesPerEndpoint = 8;

/** Longest frame a TCP peer may send (RFC 4571 lengths are 16 bits). */
const maxFrameLength = 0xffff;
/** Longest first frame: a browser's binding request is a few hundred bytes. */
const maxCheckLength = 2048;
/** Bytes queued to a TCP peer past which media is dropped, as a congested UDP path would. */
const maxQueuedBytes = 1 << 20;

/** What the mux keeps of one of its endpoints. */
interface EndpointEntry {
  /** Its number for the reader's routes to its `srtpSink`. */
  readonly sinkNumber: number;
  /** Its UDP source addresses (`addressKey`), least recently checked first. */
  readonly addresses: Set<number>;
}

/** A UDP source address a check authenticated, and whose it is. */
interface AddressEntry {
  readonly endpoint: IceLiteEndpoint;
  readonly path: IcePath;
  /** Whether the reader routes its RTP to the endpoint's sink in C. */
  inC: boolean;
}

/** An accepted ICE-TCP connection: the endpoint its checks authenticated for, once one did. */
interface TcpPeer {
  owner: IceLiteEndpoint | null;
}

/**
 * One UDP socket for every WebRTC peer (as mediasoup's WebRtcServer), and optionally one TCP
 * listener on the same port: binding requests are routed by the USERNAME's local fragment and
 * answered as ICE-lite; other UDP datagrams go by source address, other TCP frames by
 * connection, to the endpoint whose checks came from there.
 *
 * With batched reads, the reader also routes a publisher's RTP in C (reader.c): each address an
 * endpoint's checks authenticated over UDP is registered with the endpoint's `srtpSink` while the
 * endpoint is connected, and unregistered at once when it is not (consent lapsed, closed) or the
 * sink goes. Such datagrams never reach JavaScript one by one: the sink hears of their records
 * once per batch, before the batch's other datagrams are handled as they come.
 *
 * An endpoint owns at most `maxAddressesPerEndpoint` addresses, so the reader's table
 * (`udpReaderMaxRoutes`, 2,048) holds those of 256 publishers at least. A worker admits by load,
 * not by count: should the table still fill, a new route is refused and that address's RTP goes
 * through JavaScript until a check from it finds room, while the routes already there stay; a
 * route frees when its address is forgotten, or its endpoint lapses or closes.
 */
export class UdpMux {
  /** Tells monitoring of how the mux reads. */
  readonly observer = new TypedEmitter<UdpMuxEvents>();
  readonly #socket: Socket;
  readonly #tcp: Server | null;
  readonly #byFragment = new Map<string, IceLiteEndpoint>();
  /** By source address and port (`addressKey`). */
  readonly #byAddress = new Map<number, AddressEntry>();
  readonly #endpoints = new Map<IceLiteEndpoint, EndpointEntry>();
  /** The endpoints by their `sinkNumber`. */
  readonly #bySinkNumber = new Map<number, IceLiteEndpoint>();
  #nextSinkNumber = 1;
  readonly #connections = new Map<TcpSocket, TcpPeer>();
  /** Connections not yet authenticated, per remote address. */
  readonly #pendingByAddress = new Map<string, number>();
  readonly #tcpLimits: IceTcpLimits;
  readonly #closedCounts = { refused: 0, timedOut: 0, invalid: 0 };
  readonly #consentTimer: NodeJS.Timeout;
  /** The UDP socket's descriptor; null where node:dgram does not tell it. */
  readonly #fd: number | null;
  /** Reads the UDP socket on the native data plane; null where node:dgram does. */
  #reader: NativeUdpReader | null;
  /** Datagrams dropped by a batched reader that failed since. */
  #truncatedBefore = 0;
  #datagrams = 0;
  #unrouted = 0;
  #lapsed = 0;
  #stun = 0;
  #toIngress = 0;
  #evicted = 0;
  #closed = false;

  private constructor(
    socket: Socket,
    tcp: Server | null,
    consentTimeoutSeconds: number,
    tcpLimits: IceTcpLimits,
    batchedReads: boolean,
  ) {
    this.#socket = socket;
    this.#tcp = tcp;
    this.#tcpLimits = tcpLimits;
    this.#fd = socketFd(socket);
    this.#reader = batchedReads
      ? readInBatches(
          socket,
          (reader, count, sinks) => {
            this.#receiveBatch(reader, count, sinks);
          },
          (error) => {
            this.#truncatedBefore += this.#reader?.dropped() ?? 0;
            this.#reader = null;
            this.#readWithDgram();
            this.observer.safeEmit('batchedReadsFailed', error);
          },
        )
      : null;
    if (!this.#reader) this.#readWithDgram();
    tcp?.on('connection', (connection) => {
      this.#accept(connection);
    });
    this.#consentTimer = setInterval(() => {
      const deadline = Date.now() - consentTimeoutSeconds * 1000;
      for (const endpoint of this.#byFragment.values()) endpoint.checkConsent(deadline);
    }, 1000);
    this.#consentTimer.unref();
  }

  static async bind(options: UdpMuxOptions = {}): Promise<UdpMux> {
    const host = options.host ?? '0.0.0.0';
    const port = options.port ?? 0;
    // An ephemeral UDP port may be taken on TCP by another socket: try another one then.
    for (let attempt = 1; ; attempt++) {
      const socket = await bindUdp(port, host);
      let tcp: Server | null = null;
      if (options.tcp) {
        try {
          tcp = await listenTcp(socket.address().port, host);
        } catch (error) {
          socket.close();
          const taken = (error as NodeJS.ErrnoException).code === 'EADDRINUSE';
          if (port === 0 && taken && attempt < ephemeralPortAttempts) continue;
          throw error;
        }
      }
      return new UdpMux(
        socket,
        tcp,
        options.consentTimeoutSeconds ?? 30,
        options.tcpLimits ?? defaultTcpLimits,
        options.batchedReads ?? false,
      );
    }
  }

  get port(): number {
    return this.#socket.address().port;
  }

  /** The UDP socket's descriptor, which the native data plane sends on; null where node:dgram does not tell it. */
  get fd(): number | null {
    return this.#fd;
  }

  get udpStats(): UdpMuxStats {
    const truncated = this.#truncatedBefore + (this.#reader?.dropped() ?? 0);
    return {
      datagrams: this.#datagrams,
      stun: this.#stun,
      toIngress: this.#toIngress,
      unrouted: this.#unrouted,
      lapsed: this.#lapsed,
      truncated,
      evicted: this.#evicted,
    };
  }

  /** Whether peers may also reach this mux over TCP, on the same port number. */
  get acceptsTcp(): boolean {
    return this.#tcp !== null;
  }

  get tcpStats(): IceTcpStats {
    let pending = 0;
    for (const count of this.#pendingByAddress.values()) pending += count;
    return { authenticated: this.#connections.size - pending, pending, ...this.#closedCounts };
  }

  /** A new endpoint with fresh ICE credentials, reachable through this mux. */
  createEndpoint(): IceLiteEndpoint {
    if (this.#closed) throw new InvalidStateError('the UDP mux is closed');
    const endpoint = new IceLiteEndpoint();
    this.#byFragment.set(endpoint.usernameFragment, endpoint);
    const sinkNumber = this.#nextSinkNumber++;
    this.#endpoints.set(endpoint, { sinkNumber, addresses: new Set() });
    this.#bySinkNumber.set(sinkNumber, endpoint);
    endpoint.on('stateChange', (state) => {
      if (state === 'closed') this.#forget(endpoint);
      else this.#routeSrtp(endpoint);
    });
    endpoint.on('srtpSinkChange', () => {
      this.#routeSrtp(endpoint);
    });
    return endpoint;
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    clearInterval(this.#consentTimer);
    for (const endpoint of [...this.#byFragment.values()]) endpoint.close();
    for (const connection of this.#connections.keys()) connection.destroy();
    this.#tcp?.close();
    this.#reader?.close();
    this.#socket.close();
  }

  #readWithDgram(): void {
    this.#socket.on('message', (packet, info) => {
      this.#receiveDatagram(packet, addressKey(ipv4Number(info.address), info.port), info.address, info.port);
    });
  }

  #receiveBatch(reader: NativeUdpReader, count: number, sinks: number): void {
    const { data, lengths, addresses, ports, consumed } = reader;
    for (let i = 0; i < sinks; i++)
      this.#bySinkNumber.get(reader.sinks[i] as number)?.handleSrtpRecords(reader.sinkRecords[i] as number);
    for (let i = 0; i < count; i++) {
      if (consumed[i] === 1) {
        this.#datagrams++;
        this.#toIngress++;
        continue;
      }
      const start = i * udpReaderSlotSize;
      const view = data.subarray(start, start + (lengths[i] as number));
      const first = view[0] as number;
      const address = addresses[i] as number;
      const port = ports[i] as number;
      const key = addressKey(address, port);
      // RTP and RTCP are read before the batch's memory is reused (decrypted into buffers of
      // their own); anything else may be kept longer (a DTLS flight waiting its turn): a copy.
      if (first >= 128 && first <= 191) this.#receiveDatagram(view, key, address, port);
      else if (first < 20 || first > 63) this.#receiveDatagram(Buffer.from(view), key, address, port);
      else {
        // DTLS goes on one datagram per turn of the loop, as node:dgram hands datagrams, so that
        // the promises an in-thread werift server chains on one run before the next: fed a
        // ClientHello and its retransmission in one go, it answers both and the handshake wedges.
        const copy = Buffer.from(view);
        setImmediate(() => {
          if (!this.#closed) this.#receiveDatagram(copy, key, address, port);
        });
      }
    }
  }

  /** A datagram from `address` (a string from node:dgram, a number from the addon) and `port`. */
  #receiveDatagram(packet: Buffer, key: number, address: string | number, port: number): void {
    this.#datagrams++;
    if (!isStun(packet)) {
      const route = this.#byAddress.get(key);
      if (!route) this.#unrouted++;
      else if (!route.endpoint.handlePacket(packet)) this.#lapsed++;
      return;
    }
    this.#stun++;
    const known = this.#byAddress.get(key);
    const from: TransportAddress = {
      address: typeof address === 'number' ? ipv4String(address) : address,
      port,
    };
    const path: IcePath = known?.path ?? {
      protocol: 'udp',
      remote: from,
      fd: this.#fd,
      send: (datagram) => {
        this.#socket.send(datagram, from.port, from.address);
      },
    };
    const endpoint = this.#answerCheck(packet, path);
    if (!endpoint) return;
    if (!known) this.#own(key, endpoint, path);
    else if (known.endpoint === endpoint) this.#refresh(key, known);
  }

  /**
   * Makes `key` its endpoint's most recently checked address; routes it in C if it was not (the
   * reader's table was full when it came, it may have room now).
   */
  #refresh(key: number, entry: AddressEntry): void {
    const owned = this.#endpoints.get(entry.endpoint)?.addresses;
    if (!owned) return;
    owned.delete(key);
    owned.add(key);
    if (!entry.inC && entry.endpoint.srtpSink) entry.inC = this.#routeAddress(key, entry.endpoint);
  }

  /**
   * Every address the peer authenticated from is its own (media may arrive on any of them), up
   * to `maxAddressesPerEndpoint`: past it, the least recently checked that is not the path the
   * peer's checks selected is forgotten.
   */
  #own(key: number, endpoint: IceLiteEndpoint, path: IcePath): void {
    // Absent when the endpoint closed while its check was handled.
    const owned = this.#endpoints.get(endpoint)?.addresses;
    if (!owned) return;
    owned.add(key);
    this.#byAddress.set(key, { endpoint, path, inC: this.#routeAddress(key, endpoint) });
    if (owned.size <= maxAddressesPerEndpoint) return;
    for (const oldest of owned)
      if (this.#byAddress.get(oldest)?.path !== endpoint.path) {
        owned.delete(oldest);
        this.#byAddress.delete(oldest);
        this.#routeAddress(oldest, null);
        this.#evicted++;
        return;
      }
  }

  /** Registers (or unregisters) the endpoint's UDP addresses with the reader, as `#routeAddress`. */
  #routeSrtp(endpoint: IceLiteEndpoint): void {
    if (!this.#reader) return;
    for (const key of this.#endpoints.get(endpoint)?.addresses ?? []) {
      const entry = this.#byAddress.get(key);
      if (entry) entry.inC = this.#routeAddress(key, endpoint);
    }
  }

  /**
   * The reader routes RTP from `key` to the endpoint's sink while it is connected and has one;
   * true when it does (false also when its table is full).
   */
  #routeAddress(key: number, endpoint: IceLiteEndpoint | null): boolean {
    const sink = endpoint?.state === 'connected' ? endpoint.srtpSink : null;
    const number = endpoint ? (this.#endpoints.get(endpoint)?.sinkNumber ?? 0) : 0;
    const routed = this.#reader?.route(
      Math.floor(key / 0x10000),
      key % 0x10000,
      sink?.ingress ?? null,
      number,
    );
    return sink !== null && routed === true;
  }

  /**
   * An ICE-TCP connection: RFC 4571 frames, each a STUN message or a DTLS or SRTP packet. Its
   * first frame must be an authentic check, within the time allowed, or it is closed.
   */
  #accept(connection: TcpSocket): void {
    const address = connection.remoteAddress ?? '';
    const pendingHere = this.#pendingByAddress.get(address) ?? 0;
    if (this.#closed || pendingHere >= this.#tcpLimits.maxPendingPerAddress) {
      if (!this.#closed) this.#closedCounts.refused++;
      connection.destroy();
      return;
    }
    this.#pendingByAddress.set(address, pendingHere + 1);
    const peer: TcpPeer = { owner: null };
    this.#connections.set(connection, peer);
    const settle = (): void => {
      clearTimeout(timer);
      const count = (this.#pendingByAddress.get(address) ?? 1) - 1;
      if (count > 0) this.#pendingByAddress.set(address, count);
      else this.#pendingByAddress.delete(address);
    };
    const timer = setTimeout(() => {
      this.#closedCounts.timedOut++;
      connection.destroy();
    }, this.#tcpLimits.authTimeoutMs);
    connection.setNoDelay(true);
    const path: IcePath = {
      protocol: 'tcp',
      remote: { address, port: connection.remotePort ?? 0 },
      fd: null,
      send: (packet) => {
        if (packet.length > maxFrameLength || connection.destroyed) return;
        if (connection.writableLength > maxQueuedBytes) return;
        const header = Buffer.allocUnsafe(2);
        header.writeUInt16BE(packet.length);
        connection.write(Buffer.concat([header, packet]));
      },
    };
    let pending: Buffer = Buffer.alloc(0);
    connection.on('data', (chunk: Buffer) => {
      pending = pending.length === 0 ? chunk : Buffer.concat([pending, chunk]);
      while (pending.length >= 2 && !connection.destroyed) {
        const length = pending.readUInt16BE(0);
        if (!peer.owner && length > maxCheckLength) {
          this.#refuseFrame(connection);
          return;
        }
        if (pending.length < 2 + length) break;
        const frame = pending.subarray(2, 2 + length);
        pending = pending.subarray(2 + length);
        const stun = isStun(frame);
        const checked = stun ? this.#answerCheck(frame, path) : null;
        if (checked) {
          if (!peer.owner) settle();
          peer.owner = checked;
        } else if (!peer.owner) this.#refuseFrame(connection);
        else if (!stun) peer.owner.handlePacket(frame);
      }
    });
    connection.on('error', () => {
      connection.destroy();
    });
    connection.on('close', () => {
      if (!peer.owner) settle();
      this.#connections.delete(connection);
    });
  }

  #refuseFrame(connection: TcpSocket): void {
    this.#closedCounts.invalid++;
    connection.destroy();
  }

  /**
   * Answers a binding request for one of the endpoints, as ICE-lite does, on the path it came
   * by; returns the endpoint, or null when the request is not an authentic check for one.
   */
  #answerCheck(packet: Buffer, path: IcePath): IceLiteEndpoint | null {
    const message = parseStun(packet);
    if (message?.type !== stunMessageTypes.bindingRequest) return null;
    const username = findAttribute(message, stunAttributes.username)?.value.toString();
    const endpoint = username && this.#byFragment.get(username.split(':')[0] ?? '');
    if (!endpoint || !hasValidIntegrity(message, endpoint.password)) return null;
    if (findAttribute(message, stunAttributes.fingerprint) && !hasValidFingerprint(message)) return null;
    const response = serializeStun(
      {
        type: stunMessageTypes.bindingSuccess,
        transactionId: message.transactionId,
        attributes: [
          {
            type: stunAttributes.xorMappedAddress,
            value: encodeXorAddress(path.remote, message.transactionId),
          },
        ],
      },
      endpoint.password,
    );
    path.send(response);
    endpoint.handleCheck(path, findAttribute(message, stunAttributes.useCandidate) !== undefined, Date.now());
    return endpoint;
  }

  #forget(endpoint: IceLiteEndpoint): void {
    this.#byFragment.delete(endpoint.usernameFragment);
    for (const [connection, peer] of this.#connections) if (peer.owner === endpoint) connection.destroy();
    const entry = this.#endpoints.get(endpoint);
    if (!entry) return;
    this.#endpoints.delete(endpoint);
    this.#bySinkNumber.delete(entry.sinkNumber);
    for (const key of entry.addresses) {
      this.#byAddress.delete(key);
      this.#routeAddress(key, null);
    }
  }
}

/**
 * The mux sends only to addresses datagrams came from, IP literals. `dgram` looks up every
 * destination, and `dns.lookup` answers a literal on the next tick: answering at once saves a
 * `process.nextTick` and its closures per packet sent. Host names (to bind) still go to DNS.
 */
const lookupLiteral: NonNullable<SocketOptions['lookup']> = (hostname, options, callback) => {
  if (isIPv4(hostname)) callback(null, hostname, 4);
  else lookup(hostname, options, callback);
};

/** An IPv4 address and port as one number, the key of a source. */
function addressKey(address: number, port: number): number {
  return address * 0x10000 + port;
}

/** `a.b.c.d` as a number; the mux's socket is IPv4. Read digit by digit: no string per part. */
function ipv4Number(address: string): number {
  let value = 0;
  let part = 0;
  for (let i = 0; i < address.length; i++) {
    const code = address.charCodeAt(i);
    if (code === 0x2e) {
      value = value * 256 + part;
      part = 0;
    } else part = part * 10 + code - 0x30;
  }
  return value * 256 + part;
}

/** An IPv4 address in dotted form, from its 32-bit number (as the batched reader gives it). */
export function ipv4String(address: number): string {
  return `${address >>> 24}.${(address >>> 16) & 0xff}.${(address >>> 8) & 0xff}.${address & 0xff}`;
}

/** Ephemeral UDP ports tried before giving up on finding one whose TCP twin is free. */
const ephemeralPortAttempts = 10;

async function bindUdp(port: number, host: string): Promise<Socket> {
  const socket = createSocket({
    type: 'udp4',
    recvBufferSize: 4 << 20,
    sendBufferSize: 4 << 20,
    lookup: lookupLiteral,
  });
  await new Promise<void>((resolve, reject) => {
    socket.once('error', reject);
    socket.bind(port, host, () => {
      socket.off('error', reject);
      resolve();
    });
  });
  return socket;
}

async function listenTcp(port: number, host: string): Promise<Server> {
  const server = createServer();
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  return server;
}
