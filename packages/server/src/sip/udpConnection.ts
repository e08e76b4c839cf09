import { createSocket } from 'node:dgram';
import sip, { type SipMessage, type SipTarget } from 'sip';
import type { FlowConnection } from './FlowTable.js';

export interface UdpConnectionOptions {
  /** The address the socket binds. */
  readonly host: string;
  readonly target: SipTarget;
  /** What Via headers announce. */
  readonly advertisedAddress: string;
  /** How long the socket stays open without traffic, ms. */
  readonly idleMs: number;
  readonly onMessage: (message: SipMessage) => void;
  /** An ICMP error for a datagram sent (ECONNREFUSED: nothing listens there), or a socket error. */
  readonly onError: (error: unknown) => void;
  /** Closed, idle or after an error. */
  readonly onClose: () => void;
}

/** Messages written before the socket is connected, at most. */
const maxPending = 16;

/**
 * A UDP socket of our own connected to one far end, for the requests we send it: unlike the
 * SIP port's unconnected socket, a connected one hears the ICMP port-unreachable a closed port
 * answers with (ECONNREFUSED), so a dead endpoint fails the INVITE at once instead of at its 32 s
 * timeout. Via names this socket (with `rport`), so responses come back to it; the far end's own
 * requests go to our Contact, the SIP port.
 */
export function openUdpConnection(options: UdpConnectionOptions): FlowConnection {
  const { target } = options;
  const ipv6 = target.address.includes(':');
  const socket = createSocket(ipv6 ? 'udp6' : 'udp4');
  // The SIP port's address when it is of the target's family, else that family's wildcard.
  const bindAddress = options.host.includes(':') === ipv6 ? options.host : ipv6 ? '::' : '0.0.0.0';
  /** Messages written before the socket is connected (its port, which Via names, is known then). */
  let pending: SipMessage[] | null = [];
  let closed = false;
  const idle = setTimeout(() => {
    close();
  }, options.idleMs);
  idle.unref();
  const close = (): void => {
    if (closed) return;
    closed = true;
    clearTimeout(idle);
    socket.close();
    options.onClose();
  };
  socket.on('error', (error) => {
    options.onError(error);
  });
  socket.on('message', (data) => {
    idle.refresh();
    const message = sip.parse(data.toString('binary'));
    if (message && isWellFormed(message)) options.onMessage(message);
  });
  const send = (message: SipMessage): void => {
    const via = message.headers.via?.[0] as
      { host?: string; port?: number; protocol?: string; params?: Record<string, unknown> } | undefined;
    if (message.method && via) {
      via.host = options.advertisedAddress;
      via.port = socket.address().port;
      via.protocol = 'UDP';
      via.params = { ...via.params, rport: null };
    }
    socket.send(Buffer.from(sip.stringify(message), 'binary'));
  };
  socket.bind(0, bindAddress, () => {
    socket.connect(target.port, target.address, () => {
      if (closed) return;
      for (const message of pending ?? []) send(message);
      pending = null;
    });
  });
  return {
    protocol: 'UDP',
    write: (message) => {
      if (closed) return;
      idle.refresh();
      if (pending === null) send(message);
      else if (pending.length < maxPending) pending.push(message);
    },
    close,
  };
}

/** What the SIP stack needs of a message (as the `sip` package checks its own transports'). */
function isWellFormed(message: SipMessage): boolean {
  const { headers } = message;
  return (
    (message.method !== undefined || (message.status ?? 0) >= 100) &&
    Array.isArray(headers.via) &&
    headers.via.length > 0 &&
    headers['call-id'] !== undefined &&
    headers.to !== undefined &&
    headers.from !== undefined &&
    headers.cseq !== undefined
  );
}
