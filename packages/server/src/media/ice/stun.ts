import { createHmac, timingSafeEqual } from 'node:crypto';
import { isIPv4 } from 'node:net';
import { crc32 } from './crc32.js';

/**
 * STUN messages as ICE uses them (RFC 5389 §6 and §15, RFC 8445 §7): parse, verify
 * MESSAGE-INTEGRITY and FINGERPRINT, and serialize with both.
 */

export const stunMagicCookie = 0x2112a442;
const headerLength = 20;
const fingerprintXor = 0x5354554e;

export const stunMessageTypes = {
  bindingRequest: 0x0001,
  bindingIndication: 0x0011,
  bindingSuccess: 0x0101,
  bindingError: 0x0111,
} as const;

export const stunAttributes = {
  username: 0x0006,
  messageIntegrity: 0x0008,
  errorCode: 0x0009,
  xorMappedAddress: 0x0020,
  priority: 0x0024,
  useCandidate: 0x0025,
  software: 0x8022,
  fingerprint: 0x8028,
  iceControlled: 0x8029,
  iceControlling: 0x802a,
} as const;

export interface StunAttribute {
  readonly type: number;
  readonly value: Buffer;
  /** Offset of the attribute's header in the message. */
  readonly offset: number;
}

export interface StunMessage {
  readonly type: number;
  readonly transactionId: Buffer;
  readonly attributes: readonly StunAttribute[];
  /** The message's bytes. */
  readonly raw: Buffer;
}

/** Whether a datagram is STUN (RFC 7983 §7: first byte 0–3, and the magic cookie). */
export function isStun(packet: Buffer): boolean {
  return (
    packet.length >= headerLength && (packet[0] as number) < 4 && packet.readUInt32BE(4) === stunMagicCookie
  );
}

/** Parses a STUN message; null when it is malformed or truncated. */
export function parseStun(packet: Buffer): StunMessage | null {
  if (!isStun(packet)) return null;
  const length = packet.readUInt16BE(2);
  if (length % 4 !== 0 || headerLength + length !== packet.length) return null;
  const attributes: StunAttribute[] = [];
  let offset = headerLength;
  while (offset < packet.length) {
    if (offset + 4 > packet.length) return null;
    const type = packet.readUInt16BE(offset);
    const valueLength = packet.readUInt16BE(offset + 2);
    const end = offset + 4 + valueLength;
    if (end > packet.length) return null;
    attributes.push({ type, value: packet.subarray(offset + 4, end), offset });
    offset = end + ((4 - (valueLength % 4)) % 4);
  }
  return {
    type: packet.readUInt16BE(0),
    transactionId: packet.subarray(8, headerLength),
    attributes,
    raw: packet,
  };
}

export function findAttribute(message: StunMessage, type: number): StunAttribute | undefined {
  return message.attributes.find((attribute) => attribute.type === type);
}

/**
 * Checks MESSAGE-INTEGRITY (HMAC-SHA1 over the message up to the attribute, with the length
 * field counting up to its end) with the short-term credential `key` (the ICE password).
 */
export function hasValidIntegrity(message: StunMessage, key: string | Buffer): boolean {
  const attribute = findAttribute(message, stunAttributes.messageIntegrity);
  if (!attribute || attribute.value.length !== 20) return false;
  return timingSafeEqual(integrityOf(message.raw.subarray(0, attribute.offset), key), attribute.value);
}

/** Checks FINGERPRINT, which must be the last attribute. */
export function hasValidFingerprint(message: StunMessage): boolean {
  const last = message.attributes.at(-1);
  if (last?.type !== stunAttributes.fingerprint || last.value.length !== 4) return false;
  return last.value.readUInt32BE(0) === fingerprintOf(message.raw.subarray(0, last.offset));
}

export interface StunMessageInit {
  readonly type: number;
  readonly transactionId: Buffer;
  readonly attributes: readonly { readonly type: number; readonly value: Buffer }[];
}

/** Serializes a message, appending MESSAGE-INTEGRITY when a key is given, then FINGERPRINT. */
export function serializeStun(init: StunMessageInit, integrityKey?: string | Buffer): Buffer {
  const bodyLength = init.attributes.reduce(
    (sum, a) => sum + 4 + a.value.length + ((4 - (a.value.length % 4)) % 4),
    0,
  );
  const total = headerLength + bodyLength + (integrityKey === undefined ? 0 : 24) + 8;
  const packet = Buffer.alloc(total);
  packet.writeUInt16BE(init.type, 0);
  packet.writeUInt32BE(stunMagicCookie, 4);
  init.transactionId.copy(packet, 8);
  let offset = headerLength;
  for (const attribute of init.attributes) {
    packet.writeUInt16BE(attribute.type, offset);
    packet.writeUInt16BE(attribute.value.length, offset + 2);
    attribute.value.copy(packet, offset + 4);
    offset += 4 + attribute.value.length + ((4 - (attribute.value.length % 4)) % 4);
  }
  if (integrityKey !== undefined) {
    packet.writeUInt16BE(stunAttributes.messageIntegrity, offset);
    packet.writeUInt16BE(20, offset + 2);
    integrityOf(packet.subarray(0, offset), integrityKey).copy(packet, offset + 4);
    offset += 24;
  }
  packet.writeUInt16BE(stunAttributes.fingerprint, offset);
  packet.writeUInt16BE(4, offset + 2);
  packet.writeUInt32BE(fingerprintOf(packet.subarray(0, offset)), offset + 4);
  packet.writeUInt16BE(total - headerLength, 2);
  return packet;
}

export interface TransportAddress {
  readonly address: string;
  readonly port: number;
}

/** XOR-MAPPED-ADDRESS value (RFC 5389 §15.2). */
export function encodeXorAddress(target: TransportAddress, transactionId: Buffer): Buffer {
  const v4 = isIPv4(target.address);
  const value = Buffer.alloc(v4 ? 8 : 20);
  value[1] = v4 ? 0x01 : 0x02;
  value.writeUInt16BE(target.port ^ (stunMagicCookie >>> 16), 2);
  const address = v4 ? Buffer.from(target.address.split('.').map(Number)) : ipv6Bytes(target.address);
  const mask = Buffer.concat([uint32(stunMagicCookie), transactionId]);
  for (let i = 0; i < address.length; i++) value[4 + i] = (address[i] as number) ^ (mask[i] as number);
  return value;
}

export function decodeXorAddress(value: Buffer, transactionId: Buffer): TransportAddress | null {
  const family = value[1];
  if ((family !== 0x01 || value.length !== 8) && (family !== 0x02 || value.length !== 20)) return null;
  const port = value.readUInt16BE(2) ^ (stunMagicCookie >>> 16);
  const mask = Buffer.concat([uint32(stunMagicCookie), transactionId]);
  const bytes = Buffer.from(value.subarray(4).map((byte, i) => byte ^ (mask[i] as number)));
  if (family === 0x01) return { address: [...bytes].join('.'), port };
  const groups = Array.from({ length: 8 }, (_, i) => bytes.readUInt16BE(i * 2).toString(16));
  return { address: groups.join(':').replace(/(^|:)0(:0)+(:|$)/, '::'), port };
}

function integrityOf(prefix: Buffer, key: string | Buffer): Buffer {
  // The length field must count the MESSAGE-INTEGRITY attribute (24 bytes) as the last one.
  const header = Buffer.from(prefix.subarray(0, headerLength));
  header.writeUInt16BE(prefix.length - headerLength + 24, 2);
  return createHmac('sha1', key).update(header).update(prefix.subarray(headerLength)).digest();
}

function fingerprintOf(prefix: Buffer): number {
  const header = Buffer.from(prefix.subarray(0, headerLength));
  header.writeUInt16BE(prefix.length - headerLength + 8, 2);
  return (crc32(Buffer.concat([header, prefix.subarray(headerLength)])) ^ fingerprintXor) >>> 0;
}

function ipv6Bytes(address: string): Buffer {
  const [head = '', tail = ''] = address.split('::');
  const headGroups = head ? head.split(':') : [];
  const tailGroups = tail ? tail.split(':') : [];
  const groups = address.includes('::')
    ? [...headGroups, ...Array<string>(8 - headGroups.length - tailGroups.length).fill('0'), ...tailGroups]
    : headGroups;
  const bytes = Buffer.alloc(16);
  groups.forEach((group, i) => bytes.writeUInt16BE(parseInt(group, 16), i * 2));
  return bytes;
}

function uint32(value: number): Buffer {
  const buffer = Buffer.alloc(4);
  buffer.writeUInt32BE(value >>> 0);
  return buffer;
}
