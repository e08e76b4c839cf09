import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { parse } from 'sdp-transform';
import { parseRtcp, serializeRtcp } from '../rtcp/rtcp.js';
import { findHeaderExtension } from '../rtp/headerExtensions.js';
import {
  readPayloadType,
  readSequenceNumber,
  readSsrc,
  readTimestamp,
  rtpHeaderLength,
} from '../rtp/rtpHeader.js';
import type { SrtpContext } from '../srtp/SrtpContext.js';
import type { FakeBrowser } from '../transport/FakeBrowser.js';
import type { MediaRouter } from './MediaRouter.js';
import type { Publication } from './Publication.js';
import { headerExtensionUris } from '../rtpParameters.js';
import { readRouter } from './routerReadings.js';
import { readingsOfStats, RouterTestBed, testedDataPlanes } from './RouterTestBed.js';
import type { Subscription } from './Subscription.js';

// Forwarding and loss repair through a MediaRouter, with browser stand-ins on both sides.

let bed: RouterTestBed;
let router: MediaRouter;

const publisherVideoSsrc = 0x11112222;

/** A publisher's offer as Chromium makes it, trimmed: VP8 with RTX and NACK, one SSRC, video orientation. */
function publisherOffer(): string {
  return [
    'v=0',
    'o=- 1 2 IN IP4 127.0.0.1',
    's=-',
    't=0 0',
    'a=group:BUNDLE 0',
    'm=video 9 UDP/TLS/RTP/SAVPF 96 97',
    'c=IN IP4 0.0.0.0',
    'a=ice-ufrag:pubu',
    'a=ice-pwd:publisher-password-0123456',
    `a=fingerprint:sha-256 ${bed.browserCertificate.fingerprint}`,
    'a=setup:actpass',
    'a=mid:0',
    'a=sendonly',
    'a=rtcp-mux',
    'a=extmap:1 urn:3gpp:video-orientation',
    'a=rtpmap:96 VP8/90000',
    'a=rtcp-fb:96 nack',
    'a=rtcp-fb:96 nack pli',
    'a=rtpmap:97 rtx/90000',
    'a=fmtp:97 apt=96',
    `a=ssrc-group:FID ${publisherVideoSsrc} ${publisherVideoSsrc + 1}`,
    `a=ssrc:${publisherVideoSsrc} cname:publisher`,
    `a=ssrc:${publisherVideoSsrc + 1} cname:publisher`,
    '',
  ].join('\r\n');
}

async function publish(): Promise<{ publication: Publication; publisher: FakeBrowser }> {
  const { publication, answerSdp } = router.publish(publisherOffer());
  return { publication, publisher: await bed.connect(answerSdp) };
}

/**
 * A subscriber answering with or without RTX; without transport-wide numbering unless asked,
 * so that the packets it gets have the publisher's header extensions as they were.
 */
async function subscribe(
  publication: Publication,
  keepRtx: boolean,
  keepTransportWideCc = false,
): Promise<{ subscription: Subscription; subscriber: FakeBrowser; offerSdp: string }> {
  const { subscription, offerSdp } = router.subscribe(publication);
  const subscriber = await bed.connect(offerSdp);
  router.answer(subscription, bed.subscriberAnswer(offerSdp, { keepRtx, keepTransportWideCc }));
  return { subscription, subscriber, offerSdp };
}

/** A VP8 packet with a one-byte header extension (its video orientation), as a publisher sends it. */
function videoPacket(sequence: number): Buffer {
  const packet = Buffer.alloc(12 + 8 + 300);
  packet[0] = 0x90;
  packet[1] = 96;
  packet.writeUInt16BE(sequence, 2);
  packet.writeUInt32BE(sequence * 3000, 4);
  packet.writeUInt32BE(publisherVideoSsrc, 8);
  packet.writeUInt16BE(0xbede, 12);
  packet.writeUInt16BE(1, 14);
  packet.writeUInt32BE(0x10ab0000, 16);
  for (let i = 20; i < packet.length; i++) packet[i] = (sequence + i) & 0xff;
  return packet;
}

function isRtcp(packet: Buffer): boolean {
  const second = packet[1] as number;
  return second >= 192 && second <= 223;
}

/** Waits until the subscriber has received this many RTP packets (RTCP aside). */
async function waitForRtp(subscriber: FakeBrowser, count: number, what: string): Promise<void> {
  await waitFor(() => subscriber.received.filter((packet) => !isRtcp(packet)).length >= count, what);
}

/** The RTP packets a subscriber received, decrypted, except those it pretends the network lost. */
function receivedRtp(subscriber: FakeBrowser, lost: ReadonlySet<number> = new Set()): Buffer[] {
  const inbound = subscriber.inbound as SrtpContext;
  const packets: Buffer[] = [];
  for (const packet of subscriber.received.splice(0)) {
    if (isRtcp(packet)) continue;
    if (lost.has(readSequenceNumber(packet)) && readPayloadType(packet) === 96) continue;
    const rtp = inbound.unprotectRtp(packet);
    assert.ok(rtp, 'every packet authenticates');
    packets.push(rtp);
  }
  return packets;
}

async function waitFor(condition: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 200 && !condition(); i++) await new Promise((resolve) => setTimeout(resolve, 10));
  assert.ok(condition(), `timed out waiting for ${what}`);
}

function sendVideo(publisher: FakeBrowser, sequences: readonly number[]): void {
  const outbound = publisher.outbound as SrtpContext;
  for (const sequence of sequences) publisher.send(outbound.protectRtp(videoPacket(sequence)));
}

function sendNack(subscriber: FakeBrowser, mediaSsrc: number, lost: number[]): void {
  const nack = serializeRtcp({ type: 'nack', senderSsrc: 0x5eb5c, mediaSsrc, lost });
  subscriber.send((subscriber.outbound as SrtpContext).protectRtcp(nack));
}

for (const dataPlane of testedDataPlanes)
  describe(`a subscription (${dataPlane} data plane)`, () => {
    before(async () => {
      bed = await RouterTestBed.start(dataPlane);
      ({ router } = bed);
    });
    after(() => {
      bed.close();
    });

    it("has audio fallback for its video unless subscribed without it, as the stream's publisher may choose", () => {
      const { publication } = router.publish(publisherOffer());
      const fallbackOf = (subscription: Subscription) =>
        router.stats().subscriptions.find((stats) => stats.id === subscription.id)?.tracks[0]?.videoFallback;
      assert.equal(fallbackOf(router.subscribe(publication).subscription), 'on');
      assert.equal(fallbackOf(router.subscribe(publication, { audioFallback: false }).subscription), null);
      router.unpublish(publication);
    });

    it("forwards each packet to every subscriber under the subscriber's SSRC, header extension and payload intact", async () => {
      const { publication, publisher } = await publish();
      const [first, second] = [await subscribe(publication, true), await subscribe(publication, true)];
      const sequences = [1000, 1001, 1002, 1003];
      sendVideo(publisher, sequences);
      for (const { subscription, subscriber } of [first, second]) {
        await waitForRtp(subscriber, sequences.length, 'the forwarded packets');
        const [track] = subscription.tracks;
        assert.ok(track);
        const packets = receivedRtp(subscriber);
        assert.deepEqual(
          packets.map((packet) => [readSsrc(packet), readPayloadType(packet), readSequenceNumber(packet)]),
          sequences.map((sequence) => [track.ssrc, 96, sequence]),
        );
        packets.forEach((packet, i) => {
          const original = videoPacket(sequences[i] as number);
          assert.deepEqual(packet.subarray(12), original.subarray(12), 'extension and payload');
        });
      }
      router.unpublish(publication);
    });

    it('answers a NACK on the RTX stream its offer announced: own sequence numbers, the original one first in the payload', async () => {
      const { publication, publisher } = await publish();
      const { subscription, subscriber, offerSdp } = await subscribe(publication, true);
      const [track] = subscription.tracks;
      assert.ok(track?.rtx);
      const video = parse(offerSdp).media[0];
      assert.ok(video);
      assert.deepEqual(video.ssrcGroups, [{ semantics: 'FID', ssrcs: `${track.ssrc} ${track.rtx.ssrc}` }]);
      assert.ok(video.rtp.some((entry) => entry.payload === 97 && entry.codec === 'rtx'));
      assert.ok(video.fmtp.some((entry) => entry.payload === 97 && entry.config === 'apt=96'));

      sendVideo(publisher, [2000, 2001, 2002, 2003]);
      await waitForRtp(subscriber, 4, 'the forwarded packets');
      const lost = new Set([2001, 2002]);
      const forwarded = receivedRtp(subscriber, lost);
      assert.equal(forwarded.length, 2);

      const rtxSequence = track.rtx.sequence;
      sendNack(subscriber, track.ssrc, [...lost]);
      await waitForRtp(subscriber, 2, 'the retransmissions');
      const retransmissions = receivedRtp(subscriber);
      assert.deepEqual(
        retransmissions.map((packet) => [
          readSsrc(packet),
          readPayloadType(packet),
          readSequenceNumber(packet),
          readTimestamp(packet),
        ]),
        [2001, 2002].map((sequence, i) => [track.rtx?.ssrc, 97, (rtxSequence + i) & 0xffff, sequence * 3000]),
      );
      retransmissions.forEach((packet, i) => {
        const original = videoPacket(2001 + i);
        const headerLength = rtpHeaderLength(packet);
        assert.equal(packet.readUInt16BE(headerLength), 2001 + i, 'the original sequence number');
        assert.deepEqual(
          packet.subarray(headerLength + 2),
          original.subarray(headerLength),
          'the original payload',
        );
      });
      assert.equal(router.stats().subscriptions[0]?.tracks[0]?.retransmissions, 2);
      router.unpublish(publication);
    });

    it("blames the subscriber's link only for what the router sent: packets lost before it count neither in NACKs nor in reports", async () => {
      const { publication, publisher } = await publish();
      const { subscription, subscriber } = await subscribe(publication, true);
      const [track] = subscription.tracks;
      assert.ok(track);
      const report = (first: number, highest: number, packetsLost: number): void => {
        const rr = serializeRtcp({
          type: 'rr',
          ssrc: 0x5eb5c,
          reports: [
            {
              ssrc: track.ssrc,
              fractionLost: 0,
              packetsLost,
              highestSequence: (first + highest) >>> 0,
              jitter: 0,
              lastSenderReport: 0,
              delaySinceLastSenderReport: 0,
            },
          ],
        });
        subscriber.send((subscriber.outbound as SrtpContext).protectRtcp(rr));
      };
      sendVideo(publisher, [3000, 3001]);
      await waitForRtp(subscriber, 2, 'the first packets');
      const first = readSequenceNumber(receivedRtp(subscriber)[0] as Buffer);
      report(first, 1, 0);
      await waitFor(() => track.reportMark !== null, 'the first report');
      assert.equal(track.fractionLost, 0);

      // 3002 and 3003 never reach the router; the subscriber's link loses 3006.
      sendVideo(publisher, [3004, 3005, 3006, 3007, 3008, 3009]);
      await waitForRtp(subscriber, 6, 'the packets after the gap');
      assert.deepEqual(
        receivedRtp(subscriber).map(readSequenceNumber),
        [4, 5, 6, 7, 8, 9].map((i) => (first + i) & 0xffff),
      );
      sendNack(
        subscriber,
        track.ssrc,
        [2, 3, 6].map((i) => (first + i) & 0xffff),
      );
      await waitFor(() => track.retransmissions === 1, 'the retransmission');
      assert.equal(track.nacked, 1, 'the NACKs of packets the router never had do not count');
      // Of the eight numbers since the first report the subscriber lacks three; the router never
      // sent two of them.
      report(first, 9, 3);
      await waitFor(() => track.reportMark?.packetsLost === 3, 'the second report');
      assert.equal(track.fractionLost, 1 / 8);
      // The compact readings (the Inspector's and /metrics') tell what the stats tell.
      const stats = router.stats();
      assert.deepEqual(readRouter([publication], [subscription]), readingsOfStats(stats));
      router.unpublish(publication);
    });

    it('resends a NACKed packet as it was first sent when the answer dropped RTX', async () => {
      const { publication, publisher } = await publish();
      const { subscription, subscriber, offerSdp } = await subscribe(publication, false);
      const [track] = subscription.tracks;
      assert.ok(track);
      assert.ok(parse(offerSdp).media[0]?.ssrcGroups, 'RTX was offered');
      assert.equal(track.rtx, null, 'and dropped by the answer');

      sendVideo(publisher, [3000, 3001, 3002]);
      await waitForRtp(subscriber, 3, 'the forwarded packets');
      assert.equal(receivedRtp(subscriber, new Set([3001])).length, 2);
      sendNack(subscriber, track.ssrc, [3001]);
      await waitForRtp(subscriber, 1, 'the retransmission');
      const [resent] = receivedRtp(subscriber);
      assert.ok(resent);
      assert.deepEqual(
        [readSsrc(resent), readPayloadType(resent), readSequenceNumber(resent)],
        [track.ssrc, 96, 3001],
      );
      assert.deepEqual(resent.subarray(12), videoPacket(3001).subarray(12));
      router.unpublish(publication);
    });
    it('numbers every packet it sends, resends too, for transport-wide feedback, and estimates the downlink from it', async () => {
      const { publication, publisher } = await publish();
      const { subscription, subscriber, offerSdp } = await subscribe(publication, true, true);
      const [track] = subscription.tracks;
      assert.ok(track?.rtx);
      const video = parse(offerSdp).media[0];
      const id = video?.ext?.find((ext) => ext.uri === headerExtensionUris.transportWideCc)?.value;
      assert.ok(
        id !== undefined && id !== 1,
        "offered beside the publisher's extension, under an ID of its own",
      );
      assert.ok(
        video?.rtcpFb?.some((feedback) => feedback.payload === 96 && feedback.type === 'transport-cc'),
      );
      const numberOf = (packet: Buffer): number | undefined => {
        const location = findHeaderExtension(packet, id);
        return location ? packet.readUInt16BE(location.offset) : undefined;
      };

      sendVideo(publisher, [4000, 4001, 4002]);
      await waitForRtp(subscriber, 3, 'the forwarded packets');
      const forwarded = receivedRtp(subscriber);
      assert.deepEqual(forwarded.map(numberOf), [0, 1, 2]);
      forwarded.forEach((packet, i) => {
        assert.equal(packet[16], 0x10, "the publisher's element is kept");
        assert.equal(packet[17], 0xab);
        assert.deepEqual(
          packet.subarray(rtpHeaderLength(packet)),
          videoPacket(4000 + i).subarray(20),
          'the payload follows the longer header',
        );
      });
      sendNack(subscriber, track.ssrc, [readSequenceNumber(forwarded[1] as Buffer)]);
      await waitForRtp(subscriber, 1, 'the retransmission');
      const [resent] = receivedRtp(subscriber);
      assert.ok(resent);
      assert.equal(readPayloadType(resent), 97);
      assert.equal(numberOf(resent), 3, 'a resend gets the next number');
      const headerLength = rtpHeaderLength(resent);
      assert.equal(resent.readUInt16BE(headerLength), 4001, 'the original sequence number');
      assert.deepEqual(resent.subarray(headerLength + 2), videoPacket(4001).subarray(20));

      // Forty packets 5 ms apart (groups of their own) that arrive further and further apart: a
      // queue building up. The estimate starts there, below what arrived.
      for (let sequence = 4003; sequence < 4043; sequence++) {
        sendVideo(publisher, [sequence]);
        await new Promise((resolve) => setTimeout(resolve, 6));
      }
      await waitForRtp(subscriber, 40, 'the later packets');
      receivedRtp(subscriber);
      const arrivals: number[] = [];
      for (let i = 0, at = 1000; i < 40; i++, at += 6 + i) arrivals.push(at);
      const feedback = serializeRtcp({
        type: 'transportFeedback',
        senderSsrc: 0x5eb5c,
        mediaSsrc: track.ssrc,
        baseSequence: 4,
        feedbackCount: 0,
        arrivals,
      });
      subscriber.send((subscriber.outbound as SrtpContext).protectRtcp(feedback));
      await waitFor(() => subscription.estimatedBitrate !== null, 'the estimate');
      // 40 packets of 336 bytes over 1.05 s of arrivals.
      const delivered = ((39 * 336 * 8) / ((arrivals[39] as number) - (arrivals[0] as number))) * 1000;
      assert.ok(
        (subscription.estimatedBitrate as number) < delivered,
        `${subscription.estimatedBitrate} of ${delivered}`,
      );
      // The subscriber's own estimate no longer counts.
      const remb = serializeRtcp({
        type: 'remb',
        senderSsrc: 0x5eb5c,
        bitrate: 5_000_000,
        ssrcs: [track.ssrc],
      });
      subscriber.send((subscriber.outbound as SrtpContext).protectRtcp(remb));
      await new Promise((resolve) => setTimeout(resolve, 50));
      assert.ok((subscription.estimatedBitrate as number) < delivered);
      router.unpublish(publication);
    });
    it('asks the publisher to resend what its uplink lost, forwards the resend late, and a packet that came twice once', async () => {
      const { publication, publisher } = await publish();
      const { subscriber } = await subscribe(publication, true);
      const nacksToPublisher = (): number[] =>
        publisher.received
          .splice(0)
          .filter(isRtcp)
          .flatMap((packet) =>
            parseRtcp((publisher.inbound as SrtpContext).unprotectRtcp(packet) ?? Buffer.alloc(0)),
          )
          .flatMap((packet) =>
            packet.type === 'nack' && packet.mediaSsrc === publisherVideoSsrc ? packet.lost : [],
          );

      sendVideo(publisher, [5000, 5001, 5003, 5004]);
      await waitForRtp(subscriber, 4, 'the packets around the gap');
      receivedRtp(subscriber);
      await waitFor(() => publisher.received.some(isRtcp), 'the NACK');
      assert.deepEqual(nacksToPublisher(), [5002]);

      // Resent as it was first sent (publishers send no RTX to the router); 5003 comes again.
      const inC = bed.mux.udpStats.toIngress;
      sendVideo(publisher, [5002, 5003]);
      await waitForRtp(subscriber, 1, 'the repaired packet');
      await new Promise((resolve) => setTimeout(resolve, 50));
      // On the native plane the mux's reader hands them to the ingress in C (the replay counted the same).
      assert.equal(bed.mux.udpStats.toIngress - inC, dataPlane === 'native' ? 2 : 0, 'routed in C');
      const repaired = receivedRtp(subscriber);
      assert.deepEqual(repaired.map(readSequenceNumber), [5002]);
      assert.deepEqual((repaired[0] as Buffer).subarray(12), videoPacket(5002).subarray(12));
      const layer = router.stats().publications.find((stats) => stats.id === publication.id)?.tracks[0]
        ?.layers[0];
      assert.deepEqual(
        [layer?.packets, layer?.uplinkLost, layer?.resendsRequested, layer?.repaired],
        [5, 1, 1, 1],
      );
      router.unpublish(publication);
    });
  });
