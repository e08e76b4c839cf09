import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { opusPacketDurationMs } from '../codecs/opus.js';
import type { Depacketizer } from './Depacketizer.js';
import { FrameBuffer } from './FrameBuffer.js';
import { H264Depacketizer } from './H264Depacketizer.js';
import { OpusDepacketizer } from './OpusDepacketizer.js';
import { Vp8Depacketizer, vp8DescriptorLength } from './Vp8Depacketizer.js';
import { parseVp9Descriptor, Vp9Depacketizer } from './Vp9Depacketizer.js';

/** Runs payloads (hex) through a depacketizer as one frame; returns whether it is whole, and the bytes. */
function assemble(depacketizer: Depacketizer, payloads: readonly string[]): { whole: boolean; data: string } {
  const out = new FrameBuffer(8);
  depacketizer.begin();
  let wellFormed = true;
  for (const payload of payloads) {
    // Behind a 12-byte RTP header, as in a real packet.
    const packet = Buffer.concat([Buffer.alloc(12), Buffer.from(payload.replace(/ /g, ''), 'hex')]);
    wellFormed &&= depacketizer.append(packet, 12, packet.length, out);
  }
  const whole = wellFormed && depacketizer.end(out);
  return { whole, data: out.data.subarray(0, out.length).toString('hex') };
}

function hex(bytes: string): Buffer {
  return Buffer.from(bytes.replace(/ /g, ''), 'hex');
}

// A VP8 keyframe header (RFC 6386 §9.1): frame tag (key, shown), start code, 320 x 240.
const vp8Keyframe = '500100 9d012a 4001 f000';

describe('VP8 depacketizer (RFC 7741)', () => {
  it('measures payload descriptors with every optional field, and refuses cut ones', () => {
    assert.equal(vp8DescriptorLength(Buffer.from('10', 'hex'), 0, 1), 1);
    // X; I with a 15-bit PictureID (M); L (TL0PICIDX); T and K (TID/Y/KEYIDX).
    assert.equal(vp8DescriptorLength(Buffer.from('90f0812301e0', 'hex'), 0, 6), 6);
    // X; I with a 7-bit PictureID.
    assert.equal(vp8DescriptorLength(Buffer.from('908011', 'hex'), 0, 3), 3);
    assert.equal(vp8DescriptorLength(Buffer.from('90f08123', 'hex'), 0, 4), -1);
    assert.equal(vp8DescriptorLength(Buffer.from('90', 'hex'), 0, 1), -1);
  });

  it('joins a keyframe from the packet with S and partition 0 on, and reads its size', () => {
    const depacketizer = new Vp8Depacketizer();
    const frame = assemble(depacketizer, [`90 80 11 ${vp8Keyframe}`, '80 80 11 aabbcc', '81 80 11 ddeeff']);
    assert.deepEqual(frame, { whole: true, data: `${vp8Keyframe}aabbccddeeff`.replace(/ /g, '') });
    assert.equal(depacketizer.keyframe, true);
    assert.deepEqual(depacketizer.format, { width: 320, height: 240 });
  });

  it('tells an inter frame, and a frame whose first packet is missing', () => {
    const depacketizer = new Vp8Depacketizer();
    assert.equal(assemble(depacketizer, ['10 510100 aabb']).whole, true);
    assert.equal(depacketizer.keyframe, false);
    assert.equal(assemble(depacketizer, ['00 ccdd', '00 eeff']).whole, false);
    assert.equal(assemble(depacketizer, ['11 aabb']).whole, false, 'S set, but on partition 1');
  });
});

describe('VP9 depacketizer (RFC 9628)', () => {
  it('parses descriptors in non-flexible and flexible mode, with a scalability structure', () => {
    // I (M, PictureID 0x1234), L (TID 0, SID 0), TL0PICIDX, B, E.
    assert.deepEqual(parseVp9Descriptor(hex('ac923400 05'), 0, 5), {
      length: 5,
      interPicturePredicted: false,
      beginsFrame: true,
      endsFrame: true,
      spatialLayer: 0,
      width: 0,
      height: 0,
    });
    // Flexible: I (7-bit), P with two P_DIFFs (N on the first), L with SID 1, B.
    const flexible = parseVp9Descriptor(hex('f8 05 22 03 04'), 0, 5);
    assert.equal(flexible?.length, 5);
    assert.equal(flexible.spatialLayer, 1);
    assert.equal(flexible.interPicturePredicted, true);
    // V: two spatial layers with sizes (Y) and a picture group (G) of one picture with one reference.
    const ss = parseVp9Descriptor(hex('8a 01 38 00b40078 0168 00f0 01 04 01'), 0, 14);
    assert.deepEqual([ss?.length, ss?.width, ss?.height], [14, 360, 240]);
    assert.equal(parseVp9Descriptor(hex('f8 05 22 03 05 07'), 0, 6), null, 'four P_DIFFs');
    assert.equal(parseVp9Descriptor(hex('8a 01 38 00b4'), 0, 5), null, 'cut in the SS');
  });

  it('makes one superframe of the layer frames of a picture, a keyframe when the base layer is intra', () => {
    const depacketizer = new Vp9Depacketizer();
    // The base layer keyframe (SID 0, P clear) in two packets, then the layer 1 frame (SID 1).
    const keyframeHeader = '82 49 83 42 00 13 f0 0e f6'; // frame_marker, KEY_FRAME, sync code, 320 x 240
    const frame = assemble(depacketizer, [
      `a8 00 00 00 ${keyframeHeader}`,
      'a4 00 00 00 aa',
      'ac 00 02 00 bbbb',
    ]);
    const layer0 = `${keyframeHeader}aa`.replace(/ /g, '');
    // Index: marker 0b11000_001 (1-byte sizes, 2 frames), sizes 10 and 2, marker.
    assert.deepEqual(frame, { whole: true, data: `${layer0}bbbb c1 0a 02 c1`.replace(/ /g, '') });
    assert.equal(depacketizer.keyframe, true);
    assert.deepEqual(depacketizer.format, { width: 320, height: 240 });
  });

  it('refuses a picture that does not begin with B, or a layer frame begun twice', () => {
    const depacketizer = new Vp9Depacketizer();
    assert.equal(assemble(depacketizer, ['c4 05 aa']).whole, false);
    assert.equal(assemble(depacketizer, ['c8 05 aa', 'c8 05 bb']).whole, false);
    assert.equal(assemble(depacketizer, ['cc 05 aa']).whole, true);
    assert.equal(depacketizer.keyframe, false);
  });
});

// SPS and PPS of x264, constrained baseline 320 x 240.
const sps = '6742c00dda0507ec0440000003004000000f03c50aa8';
const pps = '68ce0fc8';

describe('H.264 depacketizer (RFC 6184)', () => {
  it('joins STAP-A and FU-A into length-prefixed NAL units, a keyframe with its avcC', () => {
    const depacketizer = new H264Depacketizer();
    const stapA = `18 0016 ${sps} 0004 ${pps}`;
    // An IDR slice (type 5, first_mb_in_slice 0) in three fragments.
    const fragments = ['7c 85 88 8f', '7c 05 aabb', '7c 45 ccdd'];
    const frame = assemble(depacketizer, [stapA, ...fragments]);
    const lengths = (nal: string): string => (nal.length / 2).toString(16).padStart(8, '0') + nal;
    assert.deepEqual(frame, { whole: true, data: lengths(sps) + lengths(pps) + lengths('65888faabbccdd') });
    assert.equal(depacketizer.keyframe, true);
    const avcC = Buffer.from(depacketizer.format?.codecPrivate ?? []).toString('hex');
    assert.equal(avcC, `0142c00dffe10016${sps}010004${pps}`);
    assert.deepEqual([depacketizer.format?.width, depacketizer.format?.height], [320, 240]);
  });

  it('takes single NAL unit packets, and notices what makes a frame unusable', () => {
    const depacketizer = new H264Depacketizer();
    assert.deepEqual(assemble(depacketizer, ['4188aa']), { whole: true, data: '000000034188aa' });
    assert.equal(depacketizer.keyframe, false);
    assert.equal(assemble(depacketizer, ['7c 05 aabb', '7c 45 ccdd']).whole, false, 'FU-A without its start');
    assert.equal(assemble(depacketizer, ['7c 85 88 aa']).whole, false, 'FU-A without its end');
    assert.equal(
      assemble(depacketizer, ['4108aa']).whole,
      false,
      'a slice that is not the first of the picture',
    );
    assert.equal(assemble(depacketizer, ['19 0001 41']).whole, false, 'STAP-B is not packetization mode 1');
    assert.equal(assemble(depacketizer, ['18 0005 41']).whole, false, 'STAP-A with a NAL unit cut short');
    assert.equal(assemble(depacketizer, ['c188aa']).whole, false, 'the forbidden bit');
  });
});

describe('Opus depacketizer (RFC 7587)', () => {
  it('takes each packet as a frame and measures it from its TOC byte', () => {
    const depacketizer = new OpusDepacketizer();
    assert.deepEqual(assemble(depacketizer, ['08 aabb']), { whole: true, data: '08aabb' });
    assert.equal(depacketizer.durationMs, 20, 'SILK narrowband 20 ms, one frame');
    const packet = Buffer.from('fb03', 'hex');
    assert.equal(opusPacketDurationMs(packet, 0, 2), 60, 'CELT 20 ms, code 3 with three frames');
    assert.equal(
      opusPacketDurationMs(Buffer.from('72', 'hex'), 0, 1),
      20,
      'hybrid 10 ms, code 2: two frames',
    );
  });
});
