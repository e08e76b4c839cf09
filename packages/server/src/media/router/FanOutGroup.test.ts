import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { serializeRtcp } from '../rtcp/rtcp.js';
import { findHeaderExtension } from '../rtp/headerExtensions.js';
import { readSequenceNumber, readSsrc, rtpHeaderLength } from '../rtp/rtpHeader.js';
import { readVideoPacket } from '../rtp/videoPayload.js';
import { headerExtensionUris } from '../rtpParameters.js';
import { nativeAddon } from '../srtp/dataPlane.js';
import type { SrtpContext } from '../srtp/SrtpContext.js';
import { DtlsCertificate } from '../transport/DtlsCertificate.js';
import { DtlsSrtpTransport } from '../transport/DtlsSrtpTransport.js';
import { FakeBrowser } from '../transport/FakeBrowser.js';
import { parseDescription } from '../sdp/sdp.js';
import type { Publication } from './Publication.js';
import { RouterTestBed } from './RouterTestBed.js';
import { Subscription } from './Subscription.js';

// The same traffic to two subscribers of one publication, one on each data plane: the native
// fan-out (a slot in the publication's FanOutGroup) and the TypeScript path (Subscription's own
// #send). What each receives, decrypted, is the same byte for byte but for the SSRCs (each
// subscription draws its own) and the RTX stream's first sequence number (drawn too).

let bed: RouterTestBed;
let routerCertificate: DtlsCertificate;
before(async () => {
  bed = await RouterTestBed.start();
  routerCertificate = await DtlsCertificate.generate();
});
after(() => {
  bed.close();
});

const rids = ['q', 'h', 'f'] as const;
const ssrcs = [0x1000, 0x2000, 0x3000];
const ids = { mid: 1, rid: 2, absSendTime: 3, transportWideCc: 5, repairedRid: 6 };

function offer(): string {
  return [
    'v=0',
    'o=- 1 2 IN IP4 127.0.0.1',
    's=-',
    't=0 0',
    'a=group:BUNDLE 0',
    'm=video 9 UDP/TLS/RTP/SAVPF 96',
    'c=IN IP4 0.0.0.0',
    'a=ice-ufrag:pubu',
    'a=ice-pwd:publisher-password-0123456',
    `a=fingerprint:sha-256 ${bed.browserCertificate.fingerprint}`,
    'a=setup:actpass',
    'a=mid:0',
    'a=sendonly',
    'a=rtcp-mux',
    `a=extmap:${ids.mid} ${headerExtensionUris.mid}`,
    `a=extmap:${ids.rid} ${headerExtensionUris.rid}`,
    `a=extmap:${ids.absSendTime} ${headerExtensionUris.absSendTime}`,
    `a=extmap:${ids.transportWideCc} ${headerExtensionUris.transportWideCc}`,
    `a=extmap:${ids.repairedRid} ${headerExtensionUris.repairedRid}`,
    'a=rtpmap:96 VP8/90000',
    'a=rtcp-fb:96 nack',
    'a=rtcp-fb:96 nack pli',
    ...rids.map((rid) => `a=rid:${rid} send`),
    `a=simulcast:send ${rids.join(';')}`,
    '',
  ].join('\r\n');
}

/**
 * Frame n of a layer in one VP8 packet (MID, RID, the publisher's transport-wide number,
 * abs-send-time and repaired RID extensions, 15-bit picture ID, TL0PICIDX, temporal layers
 * 0-2-1-2), or a padding-only packet after it.
 */
function packet(layer: number, n: number, sequence: number, kind: 'key' | 'delta' | 'padding'): Buffer {
  const header = Buffer.alloc(16);
  header[0] = kind === 'padding' ? 0xb0 : 0x90;
  header[1] = 96;
  header.writeUInt16BE(sequence & 0xffff, 2);
  header.writeUInt32BE((layer * 7_000_000 + n * 3000) >>> 0, 4);
  header.writeUInt32BE(ssrcs[layer] as number, 8);
  header.writeUInt16BE(0xbede, 12);
  header.writeUInt16BE(4, 14);
  const extension = Buffer.from([
    (ids.mid << 4) | 0,
    0x30,
    (ids.rid << 4) | 0,
    (rids[layer] as string).charCodeAt(0),
    (ids.transportWideCc << 4) | 1,
    (sequence >> 4) & 0xff,
    (sequence * 3) & 0xff,
    (ids.absSendTime << 4) | 2,
    1,
    2,
    3,
    (ids.repairedRid << 4) | 0,
    (rids[layer] as string).charCodeAt(0),
    0,
    0,
    0,
  ]);
  if (kind === 'padding') return Buffer.concat([header, extension, Buffer.alloc(199), Buffer.from([200])]);
  const temporal = kind === 'key' ? 0 : ([0, 2, 1, 2][n % 4] as number);
  const pictureId = (layer * 9000 + n) & 0x7fff;
  const descriptor = Buffer.from([
    0x90,
    0xe0,
    0x80 | (pictureId >> 8),
    pictureId & 0xff,
    (layer * 50 + Math.floor(n / 4)) & 0xff,
    (temporal << 6) | (temporal > 0 ? 0x20 : 0),
  ]);
  const vp8 =
    kind === 'key'
      ? Buffer.from([0x00, 0x00, 0x00, 0x9d, 0x01, 0x2a, 0x40, (layer + 1) & 0xff, 0xb4, 0])
      : Buffer.from([0x01, 0x00, 0x00]);
  return Buffer.concat([header, extension, descriptor, vp8, Buffer.alloc(120 + layer, n & 0xff)]);
}

class Publisher {
  #frame = 0;
  readonly #sequences = [100, 30000, 65500];
  constructor(readonly browser: FakeBrowser) {}

  #nextSequence(layer: number): number {
    const sequence = this.#sequences[layer] ?? 0;
    this.#sequences[layer] = sequence + 1;
    return sequence;
  }

  /** Frames at 30 per second for a while (and until told), so that the router measures frame rates. */
  async stream(durationMs: number, alsoUntil: () => boolean): Promise<void> {
    for (const end = Date.now() + durationMs; Date.now() < end || !alsoUntil();) {
      this.send(1);
      await new Promise((resolve) => setTimeout(resolve, 1000 / 30));
    }
  }

  send(frames: number, { keyframes = [] as number[], padding = false } = {}): void {
    const outbound = this.browser.outbound as SrtpContext;
    for (let i = 0; i < frames; i++, this.#frame++)
      for (let layer = 0; layer < 3; layer++) {
        const kind = i === 0 && keyframes.includes(layer) ? 'key' : 'delta';
        this.browser.send(outbound.protectRtp(packet(layer, this.#frame, this.#nextSequence(layer), kind)));
        if (padding)
          this.browser.send(
            outbound.protectRtp(packet(layer, this.#frame, this.#nextSequence(layer), 'padding')),
          );
      }
  }
}

/** A subscriber's RTP, decrypted, with its SSRCs named and RTX numbered from 0. */
function normalized(browser: FakeBrowser, media: number, rtx: number | null): Buffer[] {
  const inbound = browser.inbound as SrtpContext;
  let firstRtx: number | null = null;
  return browser.received.splice(0).flatMap((datagram) => {
    const second = datagram[1] as number;
    if (second >= 192 && second <= 223) return [];
    const rtp = inbound.unprotectRtp(datagram);
    assert.ok(rtp, 'every packet authenticates');
    const ssrc = readSsrc(rtp);
    assert.ok(ssrc === media || ssrc === rtx, 'on the media or the RTX stream');
    rtp.writeUInt32BE(ssrc === media ? 1 : 2, 8);
    if (ssrc === rtx) {
      firstRtx ??= readSequenceNumber(rtp);
      rtp.writeUInt16BE((readSequenceNumber(rtp) - firstRtx) & 0xffff, 2);
    }
    return [rtp];
  });
}

async function until(condition: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + 3000;
  while (!condition() && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 10));
  assert.ok(condition(), `timed out waiting for ${what}`);
}

const settle = () => new Promise((resolve) => setTimeout(resolve, 150));

/** A subscription whose transport is on the TypeScript data plane, beside the router's own. */
async function typeScriptSubscription(
  publication: Publication,
  answer: string,
): Promise<{ subscription: Subscription; browser: FakeBrowser }> {
  const endpoint = bed.mux.createEndpoint();
  const transport = new DtlsSrtpTransport({ endpoint, certificate: routerCertificate, dataPlane: 'js' });
  const subscription = new Subscription(transport, publication, {
    preferences: { resolution: { width: 320, height: 180 }, frameRate: null },
    videoFallback: null,
  });
  // The offers differ only in SSRCs and ICE credentials: one answer fits both.
  subscription.setRemoteDescription(parseDescription(answer));
  const browser = new FakeBrowser(bed.mux.port, bed.browserCertificate);
  await browser.connect(endpoint.usernameFragment, endpoint.password);
  return { subscription, browser };
}

describe('the native fan-out', { skip: !nativeAddon.available && nativeAddon.reason }, () => {
  for (const numbered of [true, false])
    it(`sends what the TypeScript path sends: simulcast switches, temporal-layer drops, padding, RTX, ${numbered ? 'its own transport-wide numbers' : 'no transport-wide numbers'}`, async (t) => {
      const { publication, answerSdp } = bed.router.publish(offer());
      const publisher = new Publisher(await bed.connect(answerSdp));
      publisher.send(4, { keyframes: [0, 1, 2] });
      const { subscription: native, offerSdp } = bed.router.subscribe(publication, {
        preferences: { resolution: { width: 320, height: 180 }, frameRate: null },
        audioFallback: false,
      });
      const answer = bed.subscriberAnswer(offerSdp, { keepTransportWideCc: numbered });
      // The layers flow while the subscribers connect: the low one is there to choose.
      let connected = false;
      const streaming = publisher.stream(2100, () => connected);
      const [nativeBrowser, typeScript] = await Promise.all([
        bed.connect(offerSdp),
        typeScriptSubscription(publication, answer),
      ]);
      // Not the bed's: closed here, also after a failed assertion (its socket would keep the file running).
      t.after(() => {
        typeScript.subscription.close();
        typeScript.browser.close();
      });
      bed.router.answer(native, answer);
      await settle();
      connected = true;
      await streaming;
      await settle();
      const tsBrowser = typeScript.browser;
      const subscriptions = [native, typeScript.subscription];

      // The first packet has both choose their layer (the low one, as they wish), the rest follow.
      publisher.send(1);
      publisher.send(6, { keyframes: [0], padding: true });
      await settle();
      for (const subscription of subscriptions)
        subscription.setPreferences({ resolution: null, frameRate: null });
      publisher.send(3);
      await settle();
      publisher.send(8, { keyframes: [2], padding: true });
      await settle();
      // 1 fps: the upper temporal layers dropped, the numbering closed up. (The layers' rates are
      // measured from the stream above: on a loaded machine its 30 fps came out slower, and a
      // wish of 7 fps kept every temporal layer of a stream measured at 8 fps.)
      for (const subscription of subscriptions)
        subscription.setPreferences({ resolution: null, frameRate: 1 });
      publisher.send(12);
      await settle();
      await until(
        () => nativeBrowser.received.length >= 30 && tsBrowser.received.length >= 30,
        'the packets',
      );
      await settle();

      const streams = subscriptions.map((subscription) => {
        const track = subscription.tracks[0];
        assert.ok(track);
        return { media: track.ssrc, rtx: track.rtx?.ssrc ?? null };
      });
      const nativeRtp = normalized(nativeBrowser, streams[0]?.media ?? 0, streams[0]?.rtx ?? null);
      const tsRtp = normalized(tsBrowser, streams[1]?.media ?? 0, streams[1]?.rtx ?? null);

      // Resends: each asks for the same three packets again.
      const lost = nativeRtp.slice(-8, -5).map((rtp) => readSequenceNumber(rtp));
      for (const [index, browser] of [nativeBrowser, tsBrowser].entries()) {
        const nack = serializeRtcp({
          type: 'nack',
          senderSsrc: 7,
          mediaSsrc: streams[index]?.media ?? 0,
          lost,
        });
        browser.send((browser.outbound as SrtpContext).protectRtcp(nack));
      }
      await until(() => nativeBrowser.received.length >= 3 && tsBrowser.received.length >= 3, 'the resends');
      await settle();
      nativeRtp.push(...normalized(nativeBrowser, streams[0]?.media ?? 0, streams[0]?.rtx ?? null));
      tsRtp.push(...normalized(tsBrowser, streams[1]?.media ?? 0, streams[1]?.rtx ?? null));

      assert.equal(nativeRtp.length, tsRtp.length, 'as many packets');
      for (const [index, rtp] of nativeRtp.entries())
        assert.equal(rtp.toString('hex'), tsRtp[index]?.toString('hex'), `packet ${index}`);

      // What the traffic covered.
      const temporal: number[] = [];
      let padding = 0;
      for (const rtp of nativeRtp.filter((candidate) => candidate.readUInt32BE(8) === 1)) {
        assert.equal(findHeaderExtension(rtp, 4) !== null, numbered, 'numbered for transport-wide feedback');
        for (const id of [ids.mid, ids.rid, ids.transportWideCc, ids.repairedRid])
          assert.equal(findHeaderExtension(rtp, id), null, `not with the publisher’s element ${id}`);
        assert.deepEqual(findHeaderExtension(rtp, ids.absSendTime)?.length, 3, 'with abs-send-time');
        if ((rtp[0] as number) & 0x20) {
          padding++;
          continue;
        }
        temporal.push(readVideoPacket('vp8', rtp, rtpHeaderLength(rtp), rtp.length).temporalLayer);
      }
      assert.ok(padding >= 6, `padding forwarded (${padding})`);
      assert.deepEqual(temporal.slice(-3), [0, 0, 0], 'only the base layer at 1 fps');
      assert.ok(temporal.includes(2), 'all temporal layers before');
      assert.equal(nativeRtp.filter((rtp) => rtp.readUInt32BE(8) === 2).length, 3, 'three resends on RTX');
      assert.equal(native.tracks[0]?.layerSwitches, 1, 'one switch');
      bed.router.unpublish(publication);
    });
});
