import sip, { type SipMessage, type SipTarget } from 'sip';

export interface SipStackOptions {
  readonly host: string;
  readonly port: number;
  /** What Via headers announce. */
  readonly advertisedAddress: string;
  readonly onRequest: (request: SipMessage) => void;
  readonly onError: (error: unknown) => void;
}

/**
 * The `sip` package's transports (UDP and TCP on one port) and transaction layer, with our own
 * glue in place of its `create`: that one takes every URI whose host is its own address for a
 * flow token of its own, which a call to an endpoint on the same host is not.
 */
export class SipStack {
  readonly #transport: ReturnType<typeof sip.makeTransport>;
  readonly #transactions: ReturnType<typeof sip.makeTransactionLayer>;
  readonly #onError: (error: unknown) => void;

  constructor(options: SipStackOptions) {
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
  }

  #sendTo(target: SipTarget, message: SipMessage, callback: (response: SipMessage) => void): void {
    if (message.method === 'ACK') {
      message.headers.via = [{ params: { branch: sip.generateBranch() } }];
      const flow = this.#transport.open(target, this.#onError);
      try {
        flow.send(message);
      } finally {
        flow.release();
      }
      return;
    }
    if (message.method !== 'CANCEL') message.headers.via = [{ params: {} }, ...(message.headers.via ?? [])];
    let failed = false;
    const flow = this.#transport.open(target, (error) => {
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
      this.#transactions.createServerTransaction(message, this.#transport.get(remote));
    onRequest(message);
  }
}
