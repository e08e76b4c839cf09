import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  decodeXorAddress,
  encodeXorAddress,
  findAttribute,
  hasValidFingerprint,
  hasValidIntegrity,
  parseStun,
  serializeStun,
  stunAttributes,
  stunMessageTypes,
} from './stun.js';

const hex = (text: string): Buffer => Buffer.from(text.replace(/\s+/g, ''), 'hex');
const password = 'VOkJxbRl1RmTxUk/WvJxBt';

// RFC 5769 §2.1–2.3.
const request = hex(`000100582112a442b7e7a701bc34d686fa87dfae 802200105354554e207465737420636c69656e74
  002400046e0001ff 80290008932ff9b151263b36 000600096576746a3a68367659202020
  000800149aeaa70cbfd8cb56781ef2b5b2d3f249c1b571a2 80280004e57a3bcf`);
const ipv4Response = hex(`0101003c2112a442b7e7a701bc34d686fa87dfae 8022000b7465737420766563746f7220
  002000080001a147e112a643 000800142b91f599fd9e90c38c7489f92af9ba53f06be7d7 80280004c07d4c96`);
const ipv6Response = hex(`010100482112a442b7e7a701bc34d686fa87dfae 8022000b7465737420766563746f7220
  002000140002a1470113a9faa5d3f179bc25f4b5bed2b9d9 00080014a382954e4be67bf11784c97c8292c275bfe3ed41
  80280004c8fb0b4c`);

describe('STUN', () => {
  it('parses the RFC 5769 sample request and verifies its integrity and fingerprint', () => {
    const message = parseStun(request);
    assert.ok(message);
    assert.equal(message.type, stunMessageTypes.bindingRequest);
    assert.equal(findAttribute(message, stunAttributes.username)?.value.toString(), 'evtj:h6vY');
    assert.ok(hasValidIntegrity(message, password));
    assert.ok(!hasValidIntegrity(message, 'wrong password'));
    assert.ok(hasValidFingerprint(message));
  });

  it('decodes the XOR-MAPPED-ADDRESS of the RFC 5769 IPv4 and IPv6 responses', () => {
    for (const [packet, expected] of [
      [ipv4Response, { address: '192.0.2.1', port: 32853 }],
      [ipv6Response, { address: '2001:db8:1234:5678:11:2233:4455:6677', port: 32853 }],
    ] as const) {
      const message = parseStun(packet);
      assert.ok(message && hasValidIntegrity(message, password) && hasValidFingerprint(message));
      const mapped = findAttribute(message, stunAttributes.xorMappedAddress);
      assert.ok(mapped);
      assert.deepEqual(decodeXorAddress(mapped.value, message.transactionId), expected);
    }
  });

  it('encodes XOR-MAPPED-ADDRESS values exactly as the RFC 5769 responses carry them', () => {
    const transactionId = hex('b7e7a701bc34d686fa87dfae');
    assert.equal(
      encodeXorAddress({ address: '192.0.2.1', port: 32853 }, transactionId).toString('hex'),
      '0001a147e112a643',
    );
    assert.equal(
      encodeXorAddress(
        { address: '2001:db8:1234:5678:11:2233:4455:6677', port: 32853 },
        transactionId,
      ).toString('hex'),
      '0002a1470113a9faa5d3f179bc25f4b5bed2b9d9',
    );
  });

  it('round-trips a binding response with integrity and fingerprint', () => {
    const transactionId = Buffer.from('000102030405060708090a0b', 'hex');
    const packet = serializeStun(
      {
        type: stunMessageTypes.bindingSuccess,
        transactionId,
        attributes: [
          {
            type: stunAttributes.xorMappedAddress,
            value: encodeXorAddress({ address: '127.0.0.1', port: 50000 }, transactionId),
          },
        ],
      },
      'secret',
    );
    const message = parseStun(packet);
    assert.ok(message && hasValidIntegrity(message, 'secret') && hasValidFingerprint(message));
    const mapped = findAttribute(message, stunAttributes.xorMappedAddress);
    assert.deepEqual(mapped && decodeXorAddress(mapped.value, transactionId), {
      address: '127.0.0.1',
      port: 50000,
    });
  });

  it('refuses truncated, misaligned and non-STUN datagrams', () => {
    for (const bad of [
      request.subarray(0, 19),
      request.subarray(0, 50),
      Buffer.concat([request, Buffer.alloc(1)]),
      hex('80e1000000000000'),
      Buffer.alloc(0),
    ]) {
      assert.equal(parseStun(bad), null, bad.toString('hex'));
    }
    const flipped = Buffer.from(request);
    flipped[flipped.length - 1] = (flipped[flipped.length - 1] as number) ^ 1;
    const message = parseStun(flipped);
    assert.ok(message && !hasValidFingerprint(message));
  });
});
