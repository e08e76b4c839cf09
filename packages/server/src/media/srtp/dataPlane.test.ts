import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, it } from 'node:test';
import { rtpHeaderLength } from '../rtp/rtpHeader.js';
import { nativeAddon } from './dataPlane.js';
import { deriveSrtpSessionKeys } from './keyDerivation.js';
import { preferredSrtpProfiles, srtpProfiles } from './profiles.js';
import { SrtpContext } from './SrtpContext.js';

/** A deterministic pseudo-random source, so that a failure is reproducible. */
function random(seed: number): (below: number) => number {
  let state = seed;
  return (below) => {
    state = (Math.imul(state, 1103515245) + 12345) >>> 0;
    return (state >>> 8) % below;
  };
}

/** An RTP packet with CSRCs and a one-byte extension block as the dice say. */
function rtpPacket(next: (below: number) => number, sequence: number, ssrc: number): Buffer {
  const csrcs = next(3);
  const extensionWords = next(3);
  const header = Buffer.alloc(12 + csrcs * 4 + (extensionWords > 0 ? 4 + extensionWords * 4 : 0));
  header[0] = 0x80 | csrcs | (extensionWords > 0 ? 0x10 : 0);
  header[1] = 96 + next(10);
  header.writeUInt16BE(sequence, 2);
  header.writeUInt32BE(next(0x7fffffff), 4);
  header.writeUInt32BE(ssrc, 8);
  if (extensionWords > 0) {
    const at = 12 + csrcs * 4;
    header.writeUInt16BE(0xbede, at);
    header.writeUInt16BE(extensionWords, at + 2);
  }
  return Buffer.concat([header, randomBytes(next(1300))]);
}

function rtcpPacket(next: (below: number) => number, ssrc: number): Buffer {
  const packet = Buffer.concat([Buffer.alloc(8), randomBytes(4 * next(60))]);
  packet[0] = 0x81;
  packet[1] = 200 + next(6);
  packet.writeUInt16BE(packet.length / 4 - 1, 2);
  packet.writeUInt32BE(ssrc, 4);
  return packet;
}

/** Fresh contexts, native and TypeScript, with the same keys: a sender and a receiver of each. */
function contexts(profile: (typeof preferredSrtpProfiles)[number]) {
  const { keyLength, saltLength } = srtpProfiles[profile];
  const keys = deriveSrtpSessionKeys({
    profile,
    masterKey: randomBytes(keyLength),
    masterSalt: randomBytes(saltLength),
  });
  return {
    native: { send: new SrtpContext(keys, 'native'), receive: new SrtpContext(keys, 'native') },
    js: { send: new SrtpContext(keys, 'js'), receive: new SrtpContext(keys, 'js') },
  };
}

const skip = !nativeAddon.available && `no native addon: ${nativeAddon.reason}`;

for (const profile of preferredSrtpProfiles) {
  describe(`native and TypeScript SRTP, ${profile}`, { skip }, () => {
    it('protect the same RTP packets to the same bytes across a rollover, and open each other’s', () => {
      const next = random(7);
      const { native, js } = contexts(profile);
      const ssrcs = [0x01020304, 0xfedcba98];
      for (let i = 0; i < 600; i++) {
        const ssrc = ssrcs[i % 2] as number;
        const packet = rtpPacket(next, (65_400 + i) & 0xffff, ssrc);
        const fromNative = native.send.protectRtp(packet);
        const fromJs = js.send.protectRtp(packet);
        assert.equal(fromNative.toString('hex'), fromJs.toString('hex'), `packet ${i}`);
        assert.equal(js.receive.unprotectRtp(fromNative)?.toString('hex'), packet.toString('hex'));
        assert.equal(native.receive.unprotectRtp(fromJs)?.toString('hex'), packet.toString('hex'));
      }
    });

    it('protect with a header longer than the packet’s own to the same bytes', () => {
      const next = random(11);
      const { native, js } = contexts(profile);
      for (let i = 0; i < 50; i++) {
        const packet = rtpPacket(next, i, 0x5eed);
        const header = Buffer.alloc(64);
        packet.copy(header, 0, 0, 12);
        header[0] = 0x90;
        Buffer.from('bede00011001ab00', 'hex').copy(header, 12);
        const fromNative = native.send.protectRtp(packet, header);
        assert.equal(fromNative.toString('hex'), js.send.protectRtp(packet, header).toString('hex'));
        assert.equal(
          js.receive.unprotectRtp(fromNative)?.toString('hex'),
          Buffer.concat([header.subarray(0, 20), packet.subarray(rtpHeaderLength(packet))]).toString('hex'),
        );
      }
    });

    it('protect the same RTCP packets to the same bytes, and open each other’s', () => {
      const next = random(13);
      const { native, js } = contexts(profile);
      for (let i = 0; i < 300; i++) {
        const packet = rtcpPacket(next, i % 3);
        const fromNative = native.send.protectRtcp(packet);
        const fromJs = js.send.protectRtcp(packet);
        assert.equal(fromNative.toString('hex'), fromJs.toString('hex'), `packet ${i}`);
        assert.equal(js.receive.unprotectRtcp(fromNative)?.toString('hex'), packet.toString('hex'));
        assert.equal(native.receive.unprotectRtcp(fromJs)?.toString('hex'), packet.toString('hex'));
      }
    });

    it('refuse a flipped bit anywhere, a cut packet and a replay, as the TypeScript path does', () => {
      const next = random(17);
      const { native, js } = contexts(profile);
      const packet = rtpPacket(next, 1000, 42);
      const srtp = native.send.protectRtp(packet);
      const rtcp = rtcpPacket(next, 42);
      const srtcp = native.send.protectRtcp(rtcp);
      for (let bit = 0; bit < srtp.length * 8; bit += 7) {
        const tampered = Buffer.from(srtp);
        tampered[bit >> 3] = (tampered[bit >> 3] as number) ^ (1 << (bit & 7));
        const fromNative = native.receive.unprotectRtp(tampered);
        assert.equal(
          fromNative?.toString('hex'),
          js.receive.unprotectRtp(tampered)?.toString('hex'),
          `bit ${bit}`,
        );
        // A flip in the sequence number or SSRC makes another packet, which is refused too.
        assert.equal(fromNative, null, `bit ${bit}`);
      }
      for (let bit = 0; bit < srtcp.length * 8; bit += 5) {
        const tampered = Buffer.from(srtcp);
        tampered[bit >> 3] = (tampered[bit >> 3] as number) ^ (1 << (bit & 7));
        assert.equal(native.receive.unprotectRtcp(tampered), null, `bit ${bit}`);
      }
      assert.equal(native.receive.unprotectRtp(srtp.subarray(0, srtp.length - 1)), null);
      assert.equal(native.receive.unprotectRtp(srtp)?.toString('hex'), packet.toString('hex'));
      assert.equal(native.receive.unprotectRtp(srtp), null, 'a replay');
      assert.equal(native.receive.unprotectRtcp(srtcp)?.toString('hex'), rtcp.toString('hex'));
      assert.equal(native.receive.unprotectRtcp(srtcp), null, 'a replay');
    });
  });
}

describe('the native addon', { skip }, () => {
  it('refuses buffers of the wrong length instead of reading or writing past them', () => {
    if (!nativeAddon.available) return;
    const { SrtpCipher } = nativeAddon.addon;
    const key = Buffer.alloc(16);
    const cipher = new SrtpCipher(true, key, Buffer.alloc(12), null, key, Buffer.alloc(12), null);
    const packet = Buffer.alloc(100);
    assert.throws(() => {
      cipher.sealRtp(Buffer.alloc(100), 12, packet, 12, 1, 0, 1);
    }, TypeError);
    assert.throws(() => cipher.openRtp(Buffer.alloc(20), 12, Buffer.alloc(4), 1, 0, 1), TypeError);
    assert.throws(() => cipher.openRtcp(Buffer.alloc(10), Buffer.alloc(0), 1, 0, true), TypeError);
    assert.throws(() => {
      cipher.sealRtcp(Buffer.alloc(4), Buffer.alloc(24), 1, 0);
    }, TypeError);
    assert.throws(
      () => new SrtpCipher(false, key, Buffer.alloc(14), null, key, Buffer.alloc(14), null),
      TypeError,
    );
  });
});
