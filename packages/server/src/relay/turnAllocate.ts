import { createHash, randomBytes } from 'node:crypto';
import { createSocket, type Socket } from 'node:dgram';
import {
  decodeXorAddress,
  encodeXorAddress,
  findAttribute,
  parseStun,
  serializeStun,
  stunAttributes,
  type StunMessage,
  type TransportAddress,
} from '../media/ice/stun.js';

/** TURN's own STUN methods and attributes (RFC 8656 §17, §18) and long-term auth's (RFC 8489 §14). */
const methods = { allocate: 0x0003, createPermission: 0x0008 } as const;
const successOf = (method: number): number => method | 0x0100;
/** Send and Data indications (RFC 8656 §11): the method in the indication class. */
const sendIndication = 0x0016;
const dataIndication = 0x0017;
const attributes = {
  xorPeerAddress: 0x0012,
  data: 0x0013,
  realm: 0x0014,
  nonce: 0x0015,
  xorRelayedAddress: 0x0016,
  requestedAddressFamily: 0x0017,
  requestedTransport: 0x0019,
} as const;
const udpTransport = Buffer.from([17, 0, 0, 0]);
const ipv6Family = Buffer.from([2, 0, 0, 0]);

/** What a TURN server answered an Allocate request with long-term credentials. */
export type AllocateOutcome =
  | {
      readonly ok: true;
      readonly relayed: TransportAddress;
      /** Per peer asked for, 200 when the server installed the permission, else its error code. */
      readonly permissions: readonly number[];
      /** Whether the `echo` peer's answer came back through the relay; false when not asked. */
      readonly echoed: boolean;
    }
  | { readonly ok: false; readonly errorCode: number; readonly reason: string };

type Attribute = { readonly type: number; readonly value: Buffer };

export interface TurnAllocateOptions {
  /** Peer addresses to ask a permission for, in order. Default: none. */
  readonly peers?: readonly string[];
  /** The relayed address's family (RFC 6156). Default: ipv4. */
  readonly family?: 'ipv4' | 'ipv6';
  /**
   * A UDP echo peer (one of `peers`) to send a datagram to through the relay, whose answer must
   * come back. Default: none.
   */
  readonly echo?: TransportAddress;
  /** Default: 3000. */
  readonly timeoutMs?: number;
}

/**
 * Asks a TURN server over UDP for a relayed address with long-term credentials (RFC 8656 §7.2):
 * a first request unauthenticated to learn REALM and NONCE, then one signed with the key
 * MD5(username:realm:password); then asks for a permission to each of `peers` (§9), and relays a
 * datagram to `echo`. For tests of the embedded TURN server.
 */
export async function turnAllocate(
  server: TransportAddress,
  credentials: { readonly username: string; readonly password: string },
  options: TurnAllocateOptions = {},
): Promise<AllocateOutcome> {
  const timeoutMs = options.timeoutMs ?? 3000;
  const socket = createSocket(server.address.includes(':') ? 'udp6' : 'udp4');
  const request = (method: number, body: readonly Attribute[], key?: Buffer): Promise<StunMessage> =>
    exchange(socket, server, method, body, key, timeoutMs);
  try {
    const transport = [
      { type: attributes.requestedTransport, value: udpTransport },
      ...(options.family === 'ipv6' ? [{ type: attributes.requestedAddressFamily, value: ipv6Family }] : []),
    ];
    const challenge = await request(methods.allocate, transport);
    const realm = findAttribute(challenge, attributes.realm)?.value;
    const nonce = findAttribute(challenge, attributes.nonce)?.value;
    if (!realm || !nonce) return failureOf(challenge);
    const key = createHash('md5')
      .update(`${credentials.username}:${realm.toString('utf8')}:${credentials.password}`)
      .digest();
    const auth = [
      { type: stunAttributes.username, value: Buffer.from(credentials.username) },
      { type: attributes.realm, value: realm },
      { type: attributes.nonce, value: nonce },
    ];
    const answer = await request(methods.allocate, [...transport, ...auth], key);
    const relayedValue = findAttribute(answer, attributes.xorRelayedAddress)?.value;
    const relayed = relayedValue && decodeXorAddress(relayedValue, answer.transactionId);
    if (answer.type !== successOf(methods.allocate) || !relayed) return failureOf(answer);
    const permissions: number[] = [];
    for (const peer of options.peers ?? []) {
      const id = randomBytes(12);
      const peerAddress = {
        type: attributes.xorPeerAddress,
        value: encodeXorAddress({ address: peer, port: 9 }, id),
      };
      const granted = await exchange(
        socket,
        server,
        methods.createPermission,
        [peerAddress, ...auth],
        key,
        timeoutMs,
        id,
      );
      permissions.push(
        granted.type === successOf(methods.createPermission) ? 200 : errorOf(granted).errorCode,
      );
    }
    const echoed = options.echo !== undefined && (await echo(socket, server, options.echo, timeoutMs));
    return { ok: true, relayed, permissions, echoed };
  } finally {
    socket.close();
  }
}

function failureOf(answer: StunMessage): AllocateOutcome {
  return { ok: false, ...errorOf(answer) };
}

function errorOf(answer: StunMessage): { errorCode: number; reason: string } {
  const error = findAttribute(answer, stunAttributes.errorCode)?.value;
  if (!error || error.length < 4) return { errorCode: 0, reason: 'malformed answer' };
  return {
    errorCode: (error[2] as number) * 100 + (error[3] as number),
    reason: error.subarray(4).toString('utf8'),
  };
}

/** Sends a random payload to `peer` in a Send indication; true when a Data indication brings it back. */
function echo(
  socket: Socket,
  server: TransportAddress,
  peer: TransportAddress,
  timeoutMs: number,
): Promise<boolean> {
  const payload = randomBytes(16);
  const id = randomBytes(12);
  const indication = serializeStun({
    type: sendIndication,
    transactionId: id,
    attributes: [
      { type: attributes.xorPeerAddress, value: encodeXorAddress(peer, id) },
      { type: attributes.data, value: payload },
    ],
  });
  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      socket.off('message', onMessage);
      resolve(false);
    }, timeoutMs);
    const onMessage = (packet: Buffer): void => {
      const message = parseStun(packet);
      if (message?.type !== dataIndication || !findAttribute(message, attributes.data)?.value.equals(payload))
        return;
      clearTimeout(timer);
      socket.off('message', onMessage);
      resolve(true);
    };
    socket.on('message', onMessage);
    socket.send(indication, server.port, server.address);
  });
}

/** Sends one request and resolves with the answer to it. */
function exchange(
  socket: Socket,
  server: TransportAddress,
  method: number,
  body: readonly Attribute[],
  key: Buffer | undefined,
  timeoutMs: number,
  transactionId = randomBytes(12),
): Promise<StunMessage> {
  const request = serializeStun({ type: method, transactionId, attributes: body }, key);
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      socket.off('message', onMessage);
      reject(new Error(`no answer from ${server.address}:${server.port} in ${timeoutMs} ms`));
    }, timeoutMs);
    const onMessage = (packet: Buffer): void => {
      const message = parseStun(packet);
      if (!message?.transactionId.equals(transactionId)) return;
      clearTimeout(timer);
      socket.off('message', onMessage);
      resolve(message);
    };
    socket.on('message', onMessage);
    socket.send(request, server.port, server.address);
  });
}
