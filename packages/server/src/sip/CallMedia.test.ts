import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { createSocket, type Socket } from 'node:dgram';
import { after, before, describe, it } from 'node:test';
import { deriveSrtpSessionKeys } from '../media/srtp/keyDerivation.js';
import { SrtpContext } from '../media/srtp/SrtpContext.js';
import { CallMedia } from './CallMedia.js';
import type { CallAnswer } from './callSdp.js';
import { decodeG711, encodeG711 } from './g711.js';
import { parseRtp, parseTelephoneEvent, serializeRtp, serializeTelephoneEvent } from './rtpPacket.js';
import { waitFor } from '../waitFor.js';

// A call's RTP against a far end played by a UDP socket on loopback: plain and SDES-SRTP.

function sdes(keyAndSalt: Buffer): SrtpContext {
  return new SrtpContext(
    deriveSrtpSessionKeys({
      profile: 'AES_CM_128_HMAC_SHA1_80',
      masterKey: keyAndSalt.subarray(0, 16),
      masterSalt: keyAndSalt.subarray(16),
    }),
    'js',
  );
}

const tone = Int16Array.from({ length: 160 }, (_, i) =>
  Math.round(8000 * Math.sin((2 * Math.PI * 1000 * i) / 8000)),
);

let farEnd: Socket;
let farPort: number;
const received: Buffer[] = [];

before(async () => {
  farEnd = createSocket('udp4');
  farEnd.on('message', (packet) => received.push(packet));
  await new Promise<void>((resolve) => farEnd.bind(0, '127.0.0.1', resolve));
  farPort = farEnd.address().port;
});
after(() => {
  farEnd.close();
});

function answer(srtpKey: Buffer | null): CallAnswer {
  return {
    codec: 'pcmu',
    payloadType: 0,
    telephoneEventPayloadType: 101,
    address: '127.0.0.1',
    port: farPort,
    direction: 'sendrecv',
    onHold: false,
    srtpKey,
  };
}

describe('CallMedia', () => {
  for (const secure of [false, true]) {
    it(`sends the frames it is given every 20 ms and reads the far end's audio and digits${secure ? ', over SRTP' : ''}`, async () => {
      const ourKey = secure ? randomBytes(30) : null;
      const theirKey = secure ? randomBytes(30) : null;
      const media = await CallMedia.open({
        host: '127.0.0.1',
        ports: [0, 0],
        nextFrame: () => tone,
        srtpKey: ourKey,
      });
      const heard: Int16Array[] = [];
      const digits: string[] = [];
      media.on('audio', (samples) => heard.push(samples));
      media.on('digit', (digit) => digits.push(digit));
      received.length = 0;
      media.setRemote(answer(theirKey));
      media.playDigits('5');
      try {
        await waitFor(() => received.length >= 20, '20 frames at the far end');
        const reader = ourKey && sdes(ourKey);
        const packets = received.map((packet) =>
          parseRtp(reader ? (reader.unprotectRtp(packet) ?? Buffer.alloc(0)) : packet),
        );
        const audio = packets.filter((packet) => packet?.payloadType === 0);
        const events = packets.filter((packet) => packet?.payloadType === 101);
        assert.ok(audio.length > 5, `${audio.length} audio packets`);
        assert.deepEqual(
          [...decodeG711('ulaw', audio[0]?.payload ?? Buffer.alloc(0))],
          [...decodeG711('ulaw', encodeG711('ulaw', tone))],
        );
        assert.ok(
          events.some(
            (packet) =>
              packet &&
              parseTelephoneEvent(packet.payload)?.end &&
              parseTelephoneEvent(packet.payload)?.event === 5,
          ),
        );

        // The far end speaks and presses #.
        const writer = theirKey && sdes(theirKey);
        const send = (
          payloadType: number,
          sequenceNumber: number,
          timestamp: number,
          payload: Buffer,
        ): void => {
          const packet = serializeRtp(
            { payloadType, sequenceNumber, timestamp, ssrc: 42, marker: false },
            payload,
          );
          farEnd.send(writer ? writer.protectRtp(packet) : packet, media.port, '127.0.0.1');
        };
        send(0, 1, 160, encodeG711('ulaw', tone));
        for (let copy = 0; copy < 3; copy += 1)
          send(
            101,
            2 + copy,
            320,
            serializeTelephoneEvent({ event: 11, end: true, volume: 10, duration: 800 }),
          );
        // Over SRTP, a packet not protected with the far end's key is dropped.
        farEnd.send(
          serializeRtp(
            { payloadType: 0, sequenceNumber: 9, timestamp: 9, ssrc: 7, marker: false },
            Buffer.alloc(4),
          ),
          media.port,
          '127.0.0.1',
        );
        await waitFor(() => heard.length >= 1 && digits.length >= 1, "the far end's audio and digit");
        await new Promise((resolve) => setTimeout(resolve, 100));
        assert.equal(heard.length, secure ? 1 : 2);
        assert.deepEqual(digits, ['#']);
      } finally {
        media.close();
      }
    });
  }
});
