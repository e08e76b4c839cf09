import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, it } from 'node:test';
import { readVideoPacket } from './videoPayload.js';

// End-to-end encrypted sessions leave in clear only VP8's 3-byte frame tag, and 10 bytes on
// keyframes (the client SDK's frameCipher.ts): all the router reads of a frame must lie there.

/** A VP8 RTP payload: descriptor (RFC 7741 §4.2) with picture ID, TL0PICIDX and TID, then the frame. */
function vp8Payload(frame: Uint8Array, options: { start: boolean; temporalLayer: number }): Uint8Array {
  const descriptor = [
    0x80 | (options.start ? 0x10 : 0),
    0xe0,
    0x80 | 0x12,
    0x34,
    7,
    options.temporalLayer << 6,
  ];
  return Uint8Array.from([...descriptor, ...frame]);
}

/** A VP8 keyframe's first 10 bytes (RFC 6386 §9.1): frame tag, start code, 640x480. */
const keyframeHeader = [0x50, 0x42, 0x00, 0x9d, 0x01, 0x2a, 0x80, 0x02, 0xe0, 0x01];
const deltaHeader = [0x31, 0x10, 0x00];

describe('what the router reads of an end-to-end encrypted VP8 frame', () => {
  it('reads the same from the clear header whatever follows it: keyframe, size, layer and numbering', () => {
    for (const [header, temporalLayer] of [
      [keyframeHeader, 0],
      [deltaHeader, 2],
    ] as const) {
      const read = () =>
        readVideoPacket(
          'vp8',
          vp8Payload(Uint8Array.from([...header, ...randomBytes(300)]), { start: true, temporalLayer }),
          0,
          6 + header.length + 300,
        );
      const first = read();
      assert.deepEqual(read(), first);
      assert.equal(first.keyframe, header === keyframeHeader);
      assert.equal(first.temporalLayer, temporalLayer);
      assert.equal(first.pictureId, 0x1234);
      if (header === keyframeHeader) assert.deepEqual([first.width, first.height], [640, 480]);
    }
  });

  it('reads no frame bytes from a packet that continues a frame', () => {
    const info = readVideoPacket(
      'vp8',
      vp8Payload(randomBytes(200), { start: false, temporalLayer: 1 }),
      0,
      206,
    );
    assert.equal(info.frameStart, false);
    assert.equal(info.keyframe, false);
    assert.equal(info.temporalLayer, 1);
  });
});
