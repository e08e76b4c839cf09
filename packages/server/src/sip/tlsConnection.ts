import type { TLSSocket } from 'node:tls';
import sip, { type SipMessage } from 'sip';
import type { FlowConnection } from './FlowTable.js';

export interface TlsConnectionOptions {
  /** A connection we opened, or one a far end opened to our TLS listener. */
  readonly socket: TLSSocket;
  /** What the Via headers of our requests announce: our address and TLS port. */
  readonly via: { readonly host: string; readonly port: number };
  /** How long the connection stays open without traffic, ms. */
  readonly idleMs: number;
  readonly onMessage: (message: SipMessage) => void;
  readonly onError: (error: unknown) => void;
  readonly onClose: () => void;
}

/**
 * SIP over one TLS connection (RFC 3261 §18.3 framing, by the `sip` package's stream parser,
 * which bounds a message's headers and body and floods close the connection).
 */
export function tlsConnection(options: TlsConnectionOptions): FlowConnection {
  const { socket } = options;
  socket.setEncoding('binary');
  socket.setTimeout(options.idleMs, () => socket.destroy());
  socket.on('error', (error) => {
    options.onError(error);
  });
  socket.on('close', () => {
    options.onClose();
  });
  const parse = sip.makeStreamParser(
    (message) => {
      options.onMessage(message);
    },
    () => socket.destroy(),
  );
  socket.on('data', (data: string) => {
    parse(data);
  });
  return {
    protocol: 'TLS',
    write: (message) => {
      const via = message.headers.via?.[0] as { host?: string; port?: number; protocol?: string } | undefined;
      if (message.method && via) {
        via.host = options.via.host;
        via.port = options.via.port;
        via.protocol = 'TLS';
      }
      if (!socket.destroyed) socket.write(sip.stringify(message), 'binary');
    },
    close: () => {
      socket.destroy();
    },
  };
}
