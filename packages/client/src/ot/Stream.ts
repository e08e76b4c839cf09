import type { StreamInfo, VideoType } from '@parlor/protocol';
import type { Connection } from './Connection.js';

/** A published stream, as OpenTok.js shows it; its properties follow the publisher's changes. */
export class Stream {
  readonly streamId: string;
  readonly connection: Connection;
  /** Unix milliseconds. */
  readonly creationTime: number;
  readonly name: string;
  readonly videoType: VideoType | undefined;
  readonly frameRate: number | undefined;
  readonly hasCaptions = false;
  #info: StreamInfo;

  constructor(info: StreamInfo, connection: Connection) {
    this.streamId = info.streamId;
    this.connection = connection;
    this.creationTime = info.creationTime;
    this.name = info.name;
    this.videoType = info.videoType;
    this.frameRate = info.frameRate;
    this.#info = info;
  }

  get hasAudio(): boolean {
    return this.#info.hasAudio;
  }

  get hasVideo(): boolean {
    return this.#info.hasVideo;
  }

  get videoDimensions(): { width: number; height: number } | undefined {
    return this.#info.videoDimensions;
  }

  /** @internal The stream's properties changed on the server. */
  _update(info: StreamInfo): void {
    this.#info = info;
  }
}
