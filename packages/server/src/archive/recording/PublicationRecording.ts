import type { Publication, PublishedTrack } from '../../media/router/Publication.js';
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
 * arrives, and the recorder's keyframe requests go to the publisher.
 */
export class PublicationRecording {
  readonly recorder: StreamRecorder;
  readonly #publication: Publication;
  readonly #listener: (track: PublishedTrack, packet: Buffer) => void;

  constructor(publication: Publication, options: PublicationRecordingOptions) {
    const recorded = new Map<PublishedTrack, RecordingTrack>();
    for (const track of publication.tracks) {
      const codec = track.section.codecs[0];
      const name = codec?.name.toLowerCase();
      if (!codec || !isRecordingCodec(name) || !(track.kind === 'audio' ? options.audio : options.video))
        continue;
      recorded.set(track, {
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
    this.#listener = (track, packet) => {
      const recording = recorded.get(track);
      if (recording) this.recorder.push(recording, packet, Date.now());
    };
    publication.on('rtp', this.#listener);
    this.recorder.on('keyframeNeeded', (track) => {
      for (const [source, recording] of recorded)
        if (recording === track && !publication.closed) publication.requestKeyframe(source);
    });
    // Video starts at a keyframe: ask for one now rather than wait for the next.
    for (const source of recorded.keys()) if (source.kind === 'video') publication.requestKeyframe(source);
  }

  /** Stops taking packets and completes the file. */
  stop(): Promise<RecordingResult> {
    this.#publication.off('rtp', this.#listener);
    return this.recorder.close();
  }
}

function isRecordingCodec(name: string | undefined): name is RecordingCodec {
  return (recordingCodecs as readonly string[]).includes(name ?? '');
}
