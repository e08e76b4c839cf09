import assert from 'node:assert/strict';
import { createSocket, type Socket } from 'node:dgram';
import { after, before, describe, it } from 'node:test';
import { socketFd } from '../ice/batchedReads.js';
import { findHeaderExtension } from '../rtp/headerExtensions.js';
import { readSequenceNumber, readTimestamp, rtpHeaderLength } from '../rtp/rtpHeader.js';
import { payloadEnd, readVideoPacket, type RoutedVideoCodec } from '../rtp/videoPayload.js';
import { nativeAddon } from '../srtp/dataPlane.js';
import { deriveSrtpSessionKeys } from '../srtp/keyDerivation.js';
import { srtpProfiles, type SrtpProfileName } from '../srtp/profiles.js';
import { SrtpContext } from '../srtp/SrtpContext.js';
import { FanOutGroup } from './FanOutGroup.js';
import {
  ingressDropped,
  ingressRecord,
  ingressUnknownStream,
  NativeIngress,
  videoOfRecord,
} from './NativeIngress.js';
import type { PublishedLayer, RoutedPacket } from './Publication.js';

const ids = { absSendTime: 3, transportWideCc: 5 };

function keys(profile: SrtpProfileName, seed: number) {
  const { keyLength, saltLength } = srtpProfiles[profile];
  return deriveSrtpSessionKeys({
    profile,
    masterKey: Buffer.alloc(keyLength, seed),
    masterSalt: Buffer.alloc(saltLength, seed + 1),
  });
}

/** An RTP packet with abs-send-time and a transport-wide number, then `payload`. */
function rtp(ssrc: number, sequence: number, payload: Buffer, { marker = false, padding = 0 } = {}): Buffer {
  const header = Buffer.alloc(12);
  header[0] = padding > 0 ? 0xb0 : 0x90;
  header[1] = (marker ? 0x80 : 0) | 96;
  header.writeUInt16BE(sequence & 0xffff, 2);
  header.writeUInt32BE((sequence * 3000) >>> 0, 4);
  header.writeUInt32BE(ssrc, 8);
  const extension = Buffer.from([
    0xbe,
    0xde,
    0,
    2,
    (ids.transportWideCc << 4) | 1,
    sequence >> 8,
    sequence & 0xff,
    (ids.absSendTime << 4) | 2,
    1,
    2,
    3,
    0,
  ]);
  const tail =
    padding > 0 ? Buffer.concat([Buffer.alloc(padding - 1), Buffer.from([padding])]) : Buffer.alloc(0);
  return Buffer.concat([header, extension, payload, tail]);
}

/** VP8, VP9 and H.264 payloads: keyframes, deltas, temporal layers, truncated descriptors. */
const payloads: Readonly<Record<RoutedVideoCodec, readonly Buffer[]>> = {
  vp8: [
    Buffer.from([
      0x90, 0xe0, 0x81, 0x02, 0x07, 0x00, 0x00, 0x00, 0x00, 0x9d, 0x01, 0x2a, 0x80, 0x02, 0xe0, 0x01, 9,
    ]),
    Buffer.from([0x90, 0xe0, 0x81, 0x03, 0x07, 0xa0, 0x01, 0x00, 0x00, 7, 7]),
    Buffer.from([0x90, 0x80, 0x05, 0x01, 0x00]),
    Buffer.from([0x80, 0xe0, 0x81]),
    Buffer.from([0x10, 0x00, 0x00, 0x9d]),
    Buffer.from([0x00, 1, 2, 3]),
    Buffer.alloc(0),
  ],
  vp9: [
    Buffer.from([0xaa, 0x81, 0x05, 0x20, 0x09, 0x18, 0x02, 0x80, 0x01, 0x68, 0x01, 0x01, 9]),
    Buffer.from([0xf8, 0x05, 0x30, 0x05, 0x01, 9, 9]),
    Buffer.from([0xc8, 0x81, 0x06, 0x40, 0x0a, 9]),
    Buffer.from([0xa0]),
  ],
  h264: [
    Buffer.from([0x18, 0x00, 0x02, 0x67, 0x42, 0x00, 0x02, 0x68, 0xce, 0x00, 0x02, 0x65, 0x88]),
    Buffer.from([0x7c, 0x85, 1, 2, 3]),
    Buffer.from([0x7c, 0x05, 1, 2]),
    Buffer.from([0x65, 1, 2]),
    Buffer.from([0x41, 1, 2]),
    Buffer.from([0x7c]),
  ],
};

describe('the native ingress', { skip: !nativeAddon.available && nativeAddon.reason }, () => {
  for (const profile of ['AEAD_AES_128_GCM', 'AES_CM_128_HMAC_SHA1_80'] as const)
    it(`decrypts what SrtpContext decrypts and reads what Publication reads in TypeScript (${profile})`, () => {
      const publisher = new SrtpContext(keys(profile, 1), 'native');
      const ingress = new NativeIngress(new SrtpContext(keys(profile, 1), 'native'), ids.transportWideCc);
      const codecs = Object.keys(payloads) as RoutedVideoCodec[];
      for (const [stream, codec] of codecs.entries())
        ingress.setStream(0x100 + stream, stream, 0, stream, codec, ids.absSendTime, 1024);
      ingress.setStream(0x200, 3, 1, 0, null, null, 256);
      let sequence = 65_530;
      /** The RTP packet, copied out, or why not. */
      const received = (srtp: Buffer): Buffer | number => {
        const output = ingress.outputFor(srtp);
        const length = ingress.receive(srtp, output, 1, 2, false);
        return length < 0 || !output ? length : output;
      };
      for (const [stream, codec] of codecs.entries())
        for (const payload of payloads[codec])
          for (const padding of [0, 4]) {
            const packet = rtp(0x100 + stream, sequence++, payload, { padding });
            const data = received(publisher.protectRtp(packet));
            assert.ok(data instanceof Buffer, `${codec} ${payload.toString('hex')} received`);
            assert.equal(data.toString('hex'), packet.toString('hex'), 'decrypted');
            const kept = ingress.retained(0x100 + stream).get(readSequenceNumber(packet));
            assert.equal(kept?.toString('hex'), packet.toString('hex'), 'kept');
            const record = ingress.record;
            const start = rtpHeaderLength(packet);
            assert.deepEqual(
              videoOfRecord(record),
              readVideoPacket(codec, packet, start, payloadEnd(packet)),
              `${codec} ${payload.toString('hex')} padding ${padding}`,
            );
            assert.equal(record[ingressRecord.stream], stream);
            assert.equal(record[ingressRecord.layer], stream);
            assert.equal(record[ingressRecord.sequence], readSequenceNumber(packet));
            assert.equal(record[ingressRecord.timestamp], readTimestamp(packet));
            assert.equal(record[ingressRecord.transportWide], packet.readUInt16BE(17));
            assert.equal(
              record[ingressRecord.absSendTimeOffset],
              findHeaderExtension(packet, ids.absSendTime)?.offset,
            );
          }
      // Audio: no video reading, no abs-send-time asked for.
      assert.ok(received(publisher.protectRtp(rtp(0x200, 7, Buffer.alloc(40, 1)))) instanceof Buffer);
      assert.equal(videoOfRecord(ingress.record), null);
      assert.equal(ingress.record[ingressRecord.absSendTimeOffset], -1);

      const packet = publisher.protectRtp(rtp(0x200, 8, Buffer.alloc(40, 2)));
      assert.equal(ingress.receive(packet, null, 1, 2, false), 40 + 24, 'received without a copy');
      assert.equal(ingress.retained(0x200).get(8)?.length, 40 + 24, 'kept all the same');
      assert.equal(ingress.retained(0x200).get(8 - 256), undefined, 'not what it was not given');
      assert.equal(received(packet), ingressDropped, 'a replay is dropped');
      const tampered = publisher.protectRtp(rtp(0x200, 9, Buffer.alloc(40, 3)));
      tampered[30] = (tampered[30] as number) ^ 1;
      assert.equal(received(tampered), ingressDropped, 'a tampered packet is dropped');
      assert.equal(ingress.retained(0x200).get(9), undefined, 'and not kept');
      assert.equal(received(publisher.protectRtp(rtp(0x300, 1, Buffer.alloc(40)))), ingressUnknownStream);
      assert.equal(ingress.receive(Buffer.alloc(20, 0x80), null, 1, 2, false), ingressDropped, 'too short');
    });

  describe('forwarding in the same call', () => {
    const sockets: Socket[] = [];
    before(async () => {
      for (let i = 0; i < 4; i++) {
        const socket = createSocket('udp4');
        await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve));
        sockets.push(socket);
      }
    });
    after(() => {
      for (const socket of sockets) socket.close();
    });

    it('sends what FanOutGroup.forward sends for the packet as TypeScript reads it', async () => {
      const [fromNative, fromTypeScript, toNative, toTypeScript] = sockets as [
        Socket,
        Socket,
        Socket,
        Socket,
      ];
      const publisher = new SrtpContext(keys('AEAD_AES_128_GCM', 3), 'native');
      const ingress = new NativeIngress(
        new SrtpContext(keys('AEAD_AES_128_GCM', 3), 'native'),
        ids.transportWideCc,
      );
      const received: Buffer[][] = [[], []];
      const groups = [fromNative, fromTypeScript].map((socket, index) => {
        const group = new FanOutGroup(socketFd(socket) as number);
        const slot = group.addSlot({
          cipher: new SrtpContext(keys('AEAD_AES_128_GCM', 5), 'native').cipher,
          ssrc: 0xabc,
          clockRate: 90000,
          payloadType: 100,
          pictureIds: true,
          layered: true,
          rtx: null,
          keptExtensionIds: new Set([ids.absSendTime]),
        });
        const sink = index === 0 ? toNative : toTypeScript;
        sink.on('message', (datagram) => received[index]?.push(datagram));
        slot.setDestination('127.0.0.1', sink.address().port);
        slot.decide(true, 1, 1);
        return group;
      });
      const [nativeGroup, typeScriptGroup] = groups as [FanOutGroup, FanOutGroup];
      ingress.setFanOut(0, nativeGroup);
      for (const layer of [0, 1])
        ingress.setStream(0x100 + layer, layer, 0, layer, 'vp8', ids.absSendTime, 1024);
      // Keyframes, frames of temporal layer 1 (forwarded) and 2 (dropped, the numbering closed up).
      const [keyframe, temporal2] = payloads.vp8 as Buffer[];
      const temporal1 = Buffer.from([0x90, 0xe0, 0x81, 0x04, 0x07, 0x60, 0x01, 0x00, 0x00, 5]);
      const sequences = [100, 900];
      let count = 0;
      for (let frame = 0; frame < 12; frame++)
        for (const layer of [0, 1]) {
          const payload = frame % 6 === 0 ? keyframe : frame % 3 === 1 ? temporal1 : temporal2;
          const sequence = (sequences[layer] as number) + frame;
          const packet = rtp(0x100 + layer, sequence, payload as Buffer, { padding: frame === 7 ? 8 : 0 });
          assert.ok(ingress.receive(publisher.protectRtp(packet), null, 1000 + frame, 50 + frame, true) > 0);
          const data = packet;
          const start = rtpHeaderLength(data);
          const routed: RoutedPacket = {
            data,
            layer: { index: layer } as PublishedLayer,
            video: readVideoPacket('vp8', data, start, payloadEnd(data)),
            absSendTimeOffset: findHeaderExtension(data, ids.absSendTime)?.offset ?? -1,
            atMs: 1000 + frame,
            atPerformanceMs: 50 + frame,
          };
          count += typeScriptGroup.forward(routed);
        }
      assert.equal(count, 6, 'layer 1 from its keyframe on, temporal layers 0 and 1');
      const deadline = Date.now() + 3000;
      while ((received[0]?.length !== count || received[1]?.length !== count) && Date.now() < deadline)
        await new Promise((resolve) => setTimeout(resolve, 10));
      assert.deepEqual(
        received[0]?.map((datagram) => datagram.toString('hex')),
        received[1]?.map((datagram) => datagram.toString('hex')),
      );
    });
  });
});
