import { once } from 'node:events';
import {
  rootCertificates,
  connect as connectTls,
  createServer as createTlsServer,
  type Server,
} from 'node:tls';
import sip, { type SipFlow, type SipMessage, type SipTarget, type SipTransaction } from 'sip';
import { FlowTable, type FlowConnection } from './FlowTable.js';
import { tlsConnection } from './tlsConnection.js';
import { openUdpConnection } from './udpConnection.js';

/** Where SIP over TLS is taken: a listening port with our certificate. */
export interface SipTlsListener {
  readonly port: number;
  /** PEM certificate (chain) and key. */
  readonly cert: string;
  readonly key: string;
}

export interface SipStackOptions {
  readonly host: string;
  readonly port: number;
  /** What Via headers announce. */
  readonly advertisedAddress: string;
  /** A PEM CA certificate trusted for far ends' TLS certificates, besides the system's; null for none. */
  readonly tlsCa: string | null;
  /** A TLS listener, so far ends can open connections to us; null for none (TLS goes out only). */
  readonly tls: SipTlsListener | null;
  readonly onRequest: (request: SipMessage) => void;
  readonly onError: (error: unknown) => void;
}

/** How long a connection of ours (TLS, or a connected UDP socket) stays open with no traffic, ms. */
const idleTimeoutMs = 120_000;

/** TLS connections far ends may hold open to our listener at once. */
const maxInboundTlsConnections = 1024;

/** How long a far end has to complete its TLS handshake with our listener, ms. */
const tlsHandshakeTimeoutMs = 10_000;

/**
 * The `sip` package's transports (UDP and TCP on one port) and transaction layer, with our own
 * glue in place of its `create`: that one takes every URI whose host is its own address for a
 * flow token of its own, which a call to an endpoint on the same host is not. Requests to a UDP
 * far end go out of a socket connected to it (so an ICMP port-unreachable fails them at once);
 * TLS is ours too: connections out, verified, and a listener when configured.
 */
export class SipStack {
  readonly #transport: ReturnType<typeof sip.makeTransport>;
  readonly #transactions: ReturnType<typeof sip.makeTransactionLayer>;
  readonly #onError: (error: unknown) => void;
  readonly #options: SipStackOptions;
  readonly #udpFlows = new FlowTable();
  readonly #tlsFlows = new FlowTable();
  readonly #tlsServer: Server | null;

  constructor(options: SipStackOptions) {
    this.#options = options;
    this.#onError = options.onError;
    const settings = {
      address: options.host,
      port: options.port,
      publicAddress: options.advertisedAddress,
      udp: true,
      tcp: true,
    };
    this.#transport = sip.makeTransport(settings, (message, remote) => {
      this.#receive(message, remote, () => this.#transport.get(remote));
    });
    this.#transactions = sip.makeTransactionLayer(settings, this.#transport.open.bind(this.#transport));
    this.#tlsServer = options.tls
      ? createTlsServer(
          { cert: options.tls.cert, key: options.tls.key, handshakeTimeout: tlsHandshakeTimeoutMs },
          (socket) => {
            const key = `${socket.remoteAddress}:${socket.remotePort}`;
            this.#addTls(key, socket, {
              protocol: 'TLS',
              address: socket.remoteAddress ?? '',
              port: socket.remotePort ?? 0,
            });
          },
        )
      : null;
    if (this.#tlsServer) {
      this.#tlsServer.maxConnections = maxInboundTlsConnections;
      this.#tlsServer.on('tlsClientError', (error) => {
        this.#onError(error);
      });
    }
  }

  /** Starts the TLS listener, if any; fails when its port is taken. */
  async listen(): Promise<void> {
    const server = this.#tlsServer;
    if (!server || !this.#options.tls) return;
    server.listen(this.#options.tls.port, this.#options.host);
    await once(server, 'listening');
  }

  /** Sends a request (responses to it go to `callback`), or a response through its server transaction. */
  send(message: SipMessage, callback: (response: SipMessage) => void = () => undefined): void {
    if (message.method === undefined) {
      this.#transactions.getServer(message)?.send?.(message);
      return;
    }
    const hop = sip.parseUri(message.headers.route?.[0]?.uri ?? String(message.uri));
    // A sips: URI is reached over TLS (RFC 3261 §26.2.2).
    if (hop?.schema === 'sips' && hop.params.transport === undefined) hop.params.transport = 'tls';
    if (!hop) {
      callback(sip.makeResponse(message, 416, 'Unsupported URI Scheme'));
      return;
    }
    sip.resolve(hop, (targets) => {
      const target = targets[0];
      if (!target) {
        if (message.method !== 'ACK') callback(sip.makeResponse(message, 404, 'Not Found'));
        return;
      }
      try {
        this.#sendTo(target, message, callback);
      } catch (error) {
        this.#onError(error);
        if (message.method !== 'ACK') callback(sip.makeResponse(message, 503, 'Service Unavailable'));
      }
    });
  }

  /** Our connections to far ends (connected UDP sockets, TLS) open now. */
  get flows(): number {
    return this.#udpFlows.size + this.#tlsFlows.size;
  }

  destroy(): void {
    this.#transactions.destroy();
    this.#transport.destroy();
    this.#tlsServer?.close();
    this.#udpFlows.closeAll();
    this.#tlsFlows.closeAll();
  }

  /** The flow to a target: ours for UDP (a connected socket) and TLS, the package's for TCP. */
  #open(target: SipTarget, onError: (error: unknown) => void): SipFlow {
    const protocol = target.protocol.toUpperCase();
    if (protocol === 'TCP') return this.#transport.open(target, onError);
    const key = `${target.address}:${target.port}`;
    const table = protocol === 'TLS' ? this.#tlsFlows : this.#udpFlows;
    const existing = table.flow(key, onError);
    if (existing) return existing;
    const remote: SipTarget = { protocol, address: target.address, port: target.port };
    if (protocol === 'TLS') {
      const ca = this.#options.tlsCa;
      const socket = connectTls({
        host: target.address,
        port: target.port,
        ...(ca ? { ca: [...rootCertificates, ca] } : {}),
      });
      this.#addTls(key, socket, remote);
    } else {
      const connection: FlowConnection = openUdpConnection({
        host: this.#options.host,
        target: remote,
        advertisedAddress: this.#options.advertisedAddress,
        idleMs: idleTimeoutMs,
        onMessage: (message) => {
          this.#receive(message, remote, () => this.#udpFlows.flow(key));
        },
        onError: (error) => {
          this.#onError(error);
          this.#udpFlows.fail(key, connection, error);
        },
        onClose: () => {
          this.#udpFlows.delete(key, connection);
        },
      });
      this.#udpFlows.add(key, connection);
    }
    const flow = table.flow(key, onError);
    if (!flow) throw new Error(`no ${protocol} flow to ${key}`);
    return flow;
  }

  /** A TLS connection, ours or a far end's, by the far end's address and port. */
  #addTls(key: string, socket: Parameters<typeof tlsConnection>[0]['socket'], remote: SipTarget): void {
    const connection: FlowConnection = tlsConnection({
      socket,
      via: { host: this.#options.advertisedAddress, port: this.#options.tls?.port ?? this.#options.port },
      idleMs: idleTimeoutMs,
      onMessage: (message) => {
        this.#receive(message, remote, () => this.#tlsFlows.flow(key));
      },
      onError: (error) => {
        this.#onError(error);
        this.#tlsFlows.fail(key, connection, error);
      },
      onClose: () => {
        this.#tlsFlows.delete(key, connection);
      },
    });
    this.#tlsFlows.add(key, connection);
  }

  #sendTo(target: SipTarget, message: SipMessage, callback: (response: SipMessage) => void): void {
    if (message.method === 'ACK') {
      message.headers.via = [{ params: { branch: sip.generateBranch() } }];
      const flow = this.#open(target, this.#onError);
      try {
        flow.send(message);
      } finally {
        flow.release();
      }
      return;
    }
    if (message.method !== 'CANCEL') message.headers.via = [{ params: {} }, ...(message.headers.via ?? [])];
    let failed = false;
    let transaction: SipTransaction | null = null;
    const flow = this.#open(target, (error) => {
      if (failed) return;
      failed = true;
      const code = (error as NodeJS.ErrnoException | null)?.code;
      callback(sip.makeResponse(message, 503, code ? `Unreachable (${code})` : 'Service Unavailable'));
      // No retransmissions to a dead flow, nor a timeout left to run.
      transaction?.shutdown?.();
    });
    transaction = this.#transactions.createClientTransaction(flow, message, callback);
  }

  /** Gives up a request sent: its transaction stops retransmitting and ends, telling nobody. */
  abandon(request: SipMessage): void {
    if (request.headers.via?.length) this.#transactions.getClient(request)?.shutdown?.();
  }

  /** A message from a far end; `flowOf` gives the flow its requests are answered on (the connection it came over). */
  #receive(message: SipMessage, remote: SipTarget, flowOf: () => SipFlow | undefined): void {
    try {
      const transaction = message.method
        ? this.#transactions.getServer(message)
        : this.#transactions.getClient(message);
      if (transaction) {
        transaction.message?.(message, remote);
        return;
      }
      if (message.method === undefined) return;
      if (message.method !== 'ACK') {
        const flow = flowOf();
        if (!flow) return;
        this.#transactions.createServerTransaction(message, flow);
      }
      this.#options.onRequest(message);
    } catch (error) {
      this.#onError(error);
    }
  }
}
