import { randomUUID } from 'node:crypto';
import { InvalidStateError } from '../../InvalidStateError.js';
import { TypedEmitter } from '../../TypedEmitter.js';
import { unixMsFromNtp } from '../rtcp/ntp.js';
import { parseRtcp, serializeRtcp } from '../rtcp/rtcp.js';
import { readPayloadType, readSequenceNumber, readSsrc } from '../rtp/rtpHeader.js';
import { RetransmissionBuffer } from '../rtp/RetransmissionBuffer.js';
import type { MediaSection } from '../rtpParameters.js';
import type { DtlsSrtpTransport } from '../transport/DtlsSrtpTransport.js';

/**
 * The clock pair of a publisher's last sender report: its wall-clock time, moved onto the
 * router's clock by one offset per publication (so its tracks stay in sync with each other),
 * against its RTP time.
 */
export interface SenderClock {
  readonly wallClockMs: number;
  readonly rtpTimestamp: number;
}

/** One track a publisher sends: its negotiated section and what the router learned of it. */
export interface PublishedTrack {
  readonly section: MediaSection;
  readonly kind: MediaSection['kind'];
  /** The publisher's SSRC, known from the SDP or from the first packet. */
  ssrc: number | null;
  readonly buffer: RetransmissionBuffer;
  packetsIn: number;
  bytesIn: number;
  /** From the publisher's latest sender report for this track; subscribers' reports derive from it. */
  senderClock: SenderClock | null;
}

export interface PublicationEvents {
  /** A packet of one of the tracks, decrypted; listeners must not change it. */
  rtp: [track: PublishedTrack, packet: Buffer];
}

export interface PublicationOptions {
  readonly transport: DtlsSrtpTransport;
  readonly sections: readonly MediaSection[];
  /** The bitrate the router asks video publishers to reach (REMB), bits/s. */
  readonly maxVideoBitrate: number;
}

/** Least time between two keyframe requests for one track, ms. */
const keyframeRequestIntervalMs = 300;
/** How often the router tells the publisher what it may send (REMB), ms. */
const rembIntervalMs = 500;
/** The router's own SSRC in the RTCP it sends. */
const routerSsrc = 1;

/**
 * What one publisher sends the router: its tracks, received once, kept for retransmission and
 * handed to every subscription. The router answers with keyframe requests and REMB.
 */
export class Publication extends TypedEmitter<PublicationEvents> {
  readonly id = randomUUID();
  readonly tracks: readonly PublishedTrack[];
  readonly #transport: DtlsSrtpTransport;
  /** Tracks whose SSRC is known, for the lookup every packet needs. */
  readonly #tracksBySsrc = new Map<number, PublishedTrack>();
  readonly #lastKeyframeRequest = new Map<PublishedTrack, number>();
  readonly #rembTimer: NodeJS.Timeout;
  /** Router clock minus the publisher's wall clock, from its first sender report, in ms. */
  #clockOffsetMs: number | null = null;
  #closed = false;

  constructor(options: PublicationOptions) {
    super();
    this.#transport = options.transport;
    this.tracks = options.sections.map((section) => ({
      section,
      kind: section.kind,
      ssrc: section.ssrcs[0] ?? null,
      buffer: new RetransmissionBuffer(section.kind === 'video' ? 1024 : 256),
      packetsIn: 0,
      bytesIn: 0,
      senderClock: null,
    }));
    for (const track of this.tracks) if (track.ssrc !== null) this.#tracksBySsrc.set(track.ssrc, track);
    this.#transport.on('rtp', (packet) => {
      this.#receive(packet);
    });
    this.#transport.on('rtcp', (compound) => {
      for (const packet of parseRtcp(compound)) {
        if (packet.type !== 'sr') continue;
        const track = this.#tracksBySsrc.get(packet.ssrc);
        if (!track) continue;
        const publisherMs = unixMsFromNtp({ seconds: packet.ntpSeconds, fraction: packet.ntpFraction });
        this.#clockOffsetMs ??= Date.now() - publisherMs;
        track.senderClock = {
          wallClockMs: publisherMs + this.#clockOffsetMs,
          rtpTimestamp: packet.rtpTimestamp,
        };
      }
    });
    this.#rembTimer = setInterval(() => {
      this.#sendRemb(options.maxVideoBitrate);
    }, rembIntervalMs);
    this.#rembTimer.unref();
  }

  get closed(): boolean {
    return this.#closed;
  }

  /** Asks the publisher for a keyframe of a video track, at most once per 300 ms. */
  requestKeyframe(track: PublishedTrack): void {
    if (this.#closed) throw new InvalidStateError('the publication is closed');
    const now = Date.now();
    if (track.kind !== 'video' || track.ssrc === null || this.#transport.state !== 'connected') return;
    if (now - (this.#lastKeyframeRequest.get(track) ?? 0) < keyframeRequestIntervalMs) return;
    this.#lastKeyframeRequest.set(track, now);
    this.#transport.sendRtcp(serializeRtcp({ type: 'pli', senderSsrc: routerSsrc, mediaSsrc: track.ssrc }));
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    clearInterval(this.#rembTimer);
    this.#transport.close();
  }

  #receive(packet: Buffer): void {
    const ssrc = readSsrc(packet);
    const track = this.#tracksBySsrc.get(ssrc) ?? this.#learnSsrc(ssrc, readPayloadType(packet));
    if (!track) return;
    track.packetsIn++;
    track.bytesIn += packet.length;
    track.buffer.store(readSequenceNumber(packet), packet);
    this.safeEmit('rtp', track, packet);
  }

  /**
   * The track a packet from an SSRC the SDP did not announce belongs to: the first track without
   * an SSRC whose codec has the packet's payload type.
   */
  #learnSsrc(ssrc: number, payloadType: number): PublishedTrack | undefined {
    const track = this.tracks.find(
      (candidate) =>
        candidate.ssrc === null && candidate.section.codecs.some((c) => c.payloadType === payloadType),
    );
    if (!track) return undefined;
    track.ssrc = ssrc;
    this.#tracksBySsrc.set(ssrc, track);
    return track;
  }

  #sendRemb(bitrate: number): void {
    const ssrcs = this.tracks
      .filter((t) => t.kind === 'video' && t.ssrc !== null)
      .map((t) => t.ssrc as number);
    if (ssrcs.length === 0 || this.#transport.state !== 'connected') return;
    this.#transport.sendRtcp(serializeRtcp({ type: 'remb', senderSsrc: routerSsrc, bitrate, ssrcs }));
  }
}
