import type { Publication, PublishedLayer, RoutedPacket } from '../../media/router/Publication.js';
import { StreamRecorder, type RecordingResult } from './StreamRecorder.js';
import { recordingCodecs, type RecordingCodec, type RecordingTrack } from './TrackRecorder.js';

export interface PublicationRecordingOptions {
  /** Where to write, without extension (see `StreamRecorder`). */
  readonly path: string;
  readonly audio: boolean;
  readonly video: boolean;
}

/**
 * Records a publication as the router receives it: its RTP goes to a `StreamRecorder` as it
 * arrives, and the recorder's keyframe requests go to the publisher. Of simulcast video it
 * records the top layer, which the publication then keeps flowing.
 */
export class PublicationRecording {
  readonly recorder: StreamRecorder;
  readonly #publication: Publication;
  readonly #listener: (packet: RoutedPacket) => void;

  constructor(publication: Publication, options: PublicationRecordingOptions) {
    const recorded = new Map<PublishedLayer, RecordingTrack>();
    for (const track of publication.tracks) {
      const layer = track.layers.at(-1);
      const codec = track.section.codecs[0];
      const name = codec?.name.toLowerCase();
      if (
        !layer ||
        !codec ||
        !isRecordingCodec(name) ||
        !(track.kind === 'audio' ? options.audio : options.video)
      )
        continue;
      recorded.set(layer, {
        kind: track.kind,
        codec: name,
        payloadType: codec.payloadType,
        clockRate: codec.clockRate,
        ...(codec.channels === undefined ? {} : { channels: codec.channels }),
      });
    }
    if (recorded.size === 0) throw new TypeError('the publication has no track to record');
    this.#publication = publication;
    this.recorder = new StreamRecorder({ path: options.path, tracks: [...recorded.values()] });
    this.#listener = (packet) => {
      const recording = recorded.get(packet.layer);
      if (recording) this.recorder.push(recording, packet.data, Date.now());
    };
    publication.on('rtp', this.#listener);
    const video = [...recorded.keys()].find((layer) => layer.track.kind === 'video');
    if (video) publication.setDemand(this, video);
    this.recorder.on('keyframeNeeded', (track) => {
      for (const [source, recording] of recorded)
        if (recording === track && !publication.closed) publication.requestKeyframe(source);
    });
    // Video starts at a keyframe: ask for one now rather than wait for the next.
    for (const layer of recorded.keys()) if (layer.track.kind === 'video') publication.requestKeyframe(layer);
  }

  /** Stops taking packets and completes the file. */
  stop(): Promise<RecordingResult> {
    this.#publication.off('rtp', this.#listener);
    if (!this.#publication.closed) this.#publication.setDemand(this, null);
    return this.recorder.close();
  }
}

function isRecordingCodec(name: string | undefined): name is RecordingCodec {
  return (recordingCodecs as readonly string[]).includes(name ?? '');
}
