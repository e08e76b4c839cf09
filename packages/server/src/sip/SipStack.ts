import { rootCertificates, connect as connectTls, type TLSSocket } from 'node:tls';
import sip, { type SipFlow, type SipMessage, type SipTarget } from 'sip';

export interface SipStackOptions {
  readonly host: string;
  readonly port: number;
  /** What Via headers announce. */
  readonly advertisedAddress: string;
  /** A PEM CA certificate trusted for far ends' TLS certificates, besides the system's; null for none. */
  readonly tlsCa: string | null;
  readonly onRequest: (request: SipMessage) => void;
  readonly onError: (error: unknown) => void;
}

/** A TLS connection to a far end (outbound only), and the flow transactions send on. */
interface TlsFlow {
  readonly socket: TLSSocket;
  readonly flow: SipFlow;
}

/** How long a TLS connection with no traffic stays open, ms. */
const tlsIdleTimeoutMs = 120_000;

/**
 * The `sip` package's transports (UDP and TCP on one port) and transaction layer, with our own
 * glue in place of its `create`: that one takes every URI whose host is its own address for a
 * flow token of its own, which a call to an endpoint on the same host is not. TLS is ours too
 * (the package's would listen for TLS with a certificate): connections out only, verified.
 */
export class SipStack {
  readonly #transport: ReturnType<typeof sip.makeTransport>;
  readonly #transactions: ReturnType<typeof sip.makeTransactionLayer>;
  readonly #onError: (error: unknown) => void;
  readonly #options: SipStackOptions;
  readonly #tlsFlows = new Map<string, TlsFlow>();

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
      try {
        this.#receive(message, remote, options.onRequest);
      } catch (error) {
        options.onError(error);
      }
    });
    this.#transactions = sip.makeTransactionLayer(settings, this.#transport.open.bind(this.#transport));
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

  destroy(): void {
    this.#transactions.destroy();
    this.#transport.destroy();
    for (const { socket } of this.#tlsFlows.values()) socket.destroy();
    this.#tlsFlows.clear();
  }

  /** The flow to a target: the package's for UDP and TCP, ours for TLS. */
  #open(target: SipTarget, onError: (error: unknown) => void): SipFlow {
    if (target.protocol.toUpperCase() !== 'TLS') return this.#transport.open(target, onError);
    const key = `${target.address}:${target.port}`;
    const existing = this.#tlsFlows.get(key);
    if (existing) return existing.flow;
    const ca = this.#options.tlsCa;
    const socket = connectTls({
      host: target.address,
      port: target.port,
      ...(ca ? { ca: [...rootCertificates, ca] } : {}),
    });
    socket.setEncoding('binary');
    socket.setTimeout(tlsIdleTimeoutMs, () => socket.destroy());
    socket.once('error', onError);
    socket.on('error', (error) => {
      this.#onError(error);
    });
    socket.on('close', () => {
      if (this.#tlsFlows.get(key)?.socket === socket) this.#tlsFlows.delete(key);
    });
    const remote: SipTarget = { protocol: 'TLS', address: target.address, port: target.port };
    const parse = sip.makeStreamParser((message) => {
      try {
        this.#receive(message, remote, this.#options.onRequest);
      } catch (error) {
        this.#onError(error);
      }
    });
    socket.on('data', (data: string) => {
      parse(data);
    });
    const flow: SipFlow = {
      protocol: 'TLS',
      send: (message) => {
        const via = message.headers.via?.[0] as
          { host?: string; port?: number; protocol?: string } | undefined;
        if (message.method && via) {
          via.host = this.#options.advertisedAddress;
          via.port = this.#options.port;
          via.protocol = 'TLS';
        }
        socket.write(sip.stringify(message), 'binary');
      },
      release: () => undefined,
    };
    this.#tlsFlows.set(key, { socket, flow });
    return flow;
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
    const flow = this.#open(target, (error) => {
      this.#onError(error);
      if (failed) return;
      failed = true;
      callback(sip.makeResponse(message, 503, 'Service Unavailable'));
    });
    this.#transactions.createClientTransaction(flow, message, callback);
  }

  #receive(message: SipMessage, remote: SipTarget, onRequest: (request: SipMessage) => void): void {
    const transaction = message.method
      ? this.#transactions.getServer(message)
      : this.#transactions.getClient(message);
    if (transaction) {
      transaction.message?.(message, remote);
      return;
    }
    if (message.method === undefined) return;
    if (message.method !== 'ACK')
      this.#transactions.createServerTransaction(
        message,
        remote.protocol === 'TLS'
          ? this.#tlsFlows.get(`${remote.address}:${remote.port}`)?.flow
          : this.#transport.get(remote),
      );
    onRequest(message);
  }
}
