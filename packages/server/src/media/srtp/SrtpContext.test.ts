import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  deriveSessionKey,
  deriveSrtpSessionKeys,
  srtpLabels,
  type SrtpSessionKeys,
} from './keyDerivation.js';
import { dataPlanes, nativeAddon, type DataPlane } from './dataPlane.js';
import { SrtpContext } from './SrtpContext.js';

const hex = (text: string): Buffer => Buffer.from(text.replace(/\s+/g, ''), 'hex');

// RFC 3711 Appendix B.3, also the master key of libsrtp's reference packets.
const masterKey = hex('E1F97A0D3E018BE0D64FA32C06DE4139');
const masterSalt = hex('0EC675AD498AFEEBB6960B3AABE6');

/** A context and its peer with the same keys: SRTP keys are per direction, shared by both ends. */
function pair(keys: SrtpSessionKeys, dataPlane: DataPlane): [SrtpContext, SrtpContext] {
  return [new SrtpContext(keys, dataPlane), new SrtpContext(keys, dataPlane)];
}

function rtpPacket(sequence: number, ssrc = 0x11223344, payload = Buffer.alloc(100, 0x5a)): Buffer {
  const header = Buffer.alloc(12);
  header[0] = 0x80;
  header[1] = 96;
  header.writeUInt16BE(sequence, 2);
  header.writeUInt32BE(sequence * 3000, 4);
  header.writeUInt32BE(ssrc, 8);
  return Buffer.concat([header, payload]);
}

describe('SRTP key derivation', () => {
  it('derives the session keys of RFC 3711 B.3', () => {
    assert.equal(
      deriveSessionKey(masterKey, masterSalt, srtpLabels.rtpEncryption, 16).toString('hex'),
      'c61e7a93744f39ee10734afe3ff7a087',
    );
    assert.equal(
      deriveSessionKey(masterKey, masterSalt, srtpLabels.rtpSalt, 14).toString('hex'),
      '30cbbc08863d8c85d49db34a9ae1',
    );
    assert.equal(
      deriveSessionKey(masterKey, masterSalt, srtpLabels.rtpAuthentication, 94).toString('hex'),
      'cebe321f6ff7716b6fd4ab49af256a156d38baa48f0a0acf3c34e2359e6cdbcee049646c43d9327ad175578ef7227098' +
        '6371c10c9a369ac2f94a8c5fbcdddc256d6e919a48b610ef17c2041e474035766b68642c59bbfc2f34db60dbdfb2',
    );
  });

  it('refuses keying material of the wrong size for the profile', () => {
    assert.throws(
      () => deriveSrtpSessionKeys({ profile: 'AEAD_AES_128_GCM', masterKey, masterSalt }),
      TypeError,
    );
  });
});

// Both data planes run every vector: the native addon must give node:crypto's bytes.
for (const dataPlane of dataPlanes) {
  const skip = dataPlane === 'native' && !nativeAddon.available && `no native addon: ${nativeAddon.reason}`;
  describe(`${dataPlane} data plane`, { skip }, () => {
    describe('AES_CM_128_HMAC_SHA1_80', () => {
      const keys = deriveSrtpSessionKeys({ profile: 'AES_CM_128_HMAC_SHA1_80', masterKey, masterSalt });
      // libsrtp's reference packets (test/srtp_driver.c), keyed by the RFC 3711 B.3 master key.
      const rtp = hex('800f1234decafbadcafebabe abababababababababababababababab');
      const srtp = hex('800f1234decafbadcafebabe 4e55dc4ce79978d88ca4d215949d2402 b78d6acc99ea179b8dbb');
      const rtcp = hex('81c8000bcafebabe abababababababababababababababab');
      const srtcp = hex('81c8000bcafebabe 7128035be487b9bdbef89041f977a5a8 80000001 993e08cd54d6c1230798');

      it("protects libsrtp's reference RTP packet byte for byte", () => {
        assert.equal(new SrtpContext(keys, dataPlane).protectRtp(rtp).toString('hex'), srtp.toString('hex'));
      });

      it("unprotects libsrtp's reference RTP and RTCP packets", () => {
        const context = new SrtpContext(keys, dataPlane);
        assert.equal(context.unprotectRtp(srtp)?.toString('hex'), rtp.toString('hex'));
        assert.equal(context.unprotectRtcp(srtcp)?.toString('hex'), rtcp.toString('hex'));
      });

      it('refuses a packet with a flipped bit, and a replay', () => {
        const context = new SrtpContext(keys, dataPlane);
        const tampered = Buffer.from(srtp);
        tampered[20] = (tampered[20] as number) ^ 1;
        assert.equal(context.unprotectRtp(tampered), null);
        assert.ok(context.unprotectRtp(srtp));
        assert.equal(context.unprotectRtp(srtp), null);
        assert.ok(context.unprotectRtcp(srtcp));
        assert.equal(context.unprotectRtcp(srtcp), null);
      });
    });

    describe('AEAD_AES_128_GCM', () => {
      // RFC 7714 §16.1: session key and salt given directly, the same for RTP and RTCP.
      const flow = {
        encryption: hex('000102030405060708090a0b0c0d0e0f'),
        salt: hex('517569642070726f2071756f'),
        authentication: null,
      };
      const keys: SrtpSessionKeys = { profile: 'AEAD_AES_128_GCM', rtp: flow, rtcp: flow };
      const rtp = hex(
        '8040f17b8041f8d35501a0b2 47616c6c696120657374206f6d6e69732064697669736120696e207061727465732074726573',
      );
      const srtp = hex(
        '8040f17b8041f8d35501a0b2 f24de3a3fb34de6cacba861c9d7e4bcabe633bd50d294e6f42a5f47a51c7d19b36de3adf8833' +
          '899d7f27beb16a9152cf765ee4390cce',
      );

      it('protects the RFC 7714 §16.1.1 packet byte for byte', () => {
        assert.equal(new SrtpContext(keys, dataPlane).protectRtp(rtp).toString('hex'), srtp.toString('hex'));
      });

      it('unprotects the RFC 7714 §16.1.2 packet, and refuses it with a broken tag', () => {
        const context = new SrtpContext(keys, dataPlane);
        const broken = Buffer.from(srtp);
        broken[broken.length - 1] = (broken[broken.length - 1] as number) ^ 0x80;
        assert.equal(context.unprotectRtp(broken), null);
        assert.equal(context.unprotectRtp(srtp)?.toString('hex'), rtp.toString('hex'));
      });

      it('round-trips compound RTCP, the index counting up per SSRC', () => {
        const [sender, receiver] = pair(
          deriveSrtpSessionKeys({
            profile: 'AEAD_AES_128_GCM',
            masterKey,
            masterSalt: hex('517569642070726f2071756f'),
          }),
          dataPlane,
        );
        const report = hex(
          '81c8000d4d6172734e5450314e5450325254502000000042a0000e9304c756e61deadbeefdeadbeefdeadbeef',
        );
        for (let i = 0; i < 3; i++) {
          const protectedReport = sender.protectRtcp(report);
          assert.equal(protectedReport.readUInt32BE(protectedReport.length - 4), (0x80000000 | i) >>> 0);
          assert.equal(receiver.unprotectRtcp(protectedReport)?.toString('hex'), report.toString('hex'));
        }
      });
    });

    for (const profile of ['AEAD_AES_128_GCM', 'AES_CM_128_HMAC_SHA1_80'] as const) {
      describe(`${profile} streams`, () => {
        const salt = profile === 'AEAD_AES_128_GCM' ? masterSalt.subarray(0, 12) : masterSalt;
        const keys = deriveSrtpSessionKeys({ profile, masterKey, masterSalt: salt });

        it('keep decrypting across a sequence number wrap-around (rollover counter)', () => {
          const [sender, receiver] = pair(keys, dataPlane);
          for (let i = 0; i < 20; i++) {
            const packet = rtpPacket((65530 + i) & 0xffff);
            const received = receiver.unprotectRtp(sender.protectRtp(packet));
            assert.equal(received?.toString('hex'), packet.toString('hex'), `packet ${i}`);
          }
        });

        it('accept reordered packets within the replay window and refuse those far behind', () => {
          const [sender, receiver] = pair(keys, dataPlane);
          const protectedPackets = Array.from({ length: 2000 }, (_, i) => sender.protectRtp(rtpPacket(i)));
          assert.ok(receiver.unprotectRtp(protectedPackets[5] as Buffer));
          assert.ok(receiver.unprotectRtp(protectedPackets[3] as Buffer));
          assert.ok(receiver.unprotectRtp(protectedPackets[1999] as Buffer));
          assert.ok(receiver.unprotectRtp(protectedPackets[1500] as Buffer));
          assert.equal(receiver.unprotectRtp(protectedPackets[10] as Buffer), null, 'older than the window');
        });

        it("send another header in front of the payload, longer than the packet's own", () => {
          const [sender, receiver] = pair(keys, dataPlane);
          const packet = rtpPacket(9);
          // The same header with a one-byte extension block added (X bit, 0xBEDE, one word).
          const header = Buffer.alloc(64);
          packet.copy(header, 0, 0, 12);
          header[0] = (header[0] as number) | 0x10;
          Buffer.from('bede00011001ab00', 'hex').copy(header, 12);
          const received = receiver.unprotectRtp(sender.protectRtp(packet, header));
          assert.equal(
            received?.toString('hex'),
            Buffer.concat([header.subarray(0, 20), packet.subarray(12)]).toString('hex'),
          );
        });

        it('keep separate state per SSRC', () => {
          const [sender, receiver] = pair(keys, dataPlane);
          const a = rtpPacket(7, 1);
          const b = rtpPacket(7, 2);
          assert.equal(receiver.unprotectRtp(sender.protectRtp(a))?.toString('hex'), a.toString('hex'));
          assert.equal(receiver.unprotectRtp(sender.protectRtp(b))?.toString('hex'), b.toString('hex'));
        });

        it('refuse truncated and malformed packets without throwing', () => {
          const context = new SrtpContext(keys, dataPlane);
          const protectedPacket = new SrtpContext(keys, dataPlane).protectRtp(rtpPacket(1));
          for (const bad of [
            Buffer.alloc(0),
            Buffer.alloc(11),
            protectedPacket.subarray(0, 20),
            Buffer.from([0x40, ...Buffer.alloc(40)]),
          ]) {
            assert.equal(context.unprotectRtp(bad), null);
            assert.equal(context.unprotectRtcp(bad), null);
          }
        });
      });
    }
  });
}
