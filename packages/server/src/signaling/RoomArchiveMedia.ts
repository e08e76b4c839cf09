import type { Logger } from 'pino';
import type { StreamInfo } from '@parlor/protocol';
import type {
  ArchiveMedia,
  ArchiveMediaEvents,
  ArchiveNotice,
  LiveSession,
  LiveStream,
  RecordOptions,
  StreamRecording,
} from '../archive/ArchiveMedia.js';
import { TypedEmitter } from '../TypedEmitter.js';
import type { RoomRegistry } from './RoomRegistry.js';
import type { SessionRoom } from './SessionRoom.js';

/** Starts recording a stream of a room: the Media Router's recorder, or a test's. */
export type RecordStream = (
  room: SessionRoom,
  streamId: string,
  options: RecordOptions,
) => Promise<StreamRecording>;

/**
 * Archiving's view of the live sessions, from the signaling rooms: a room is a live session,
 * its streams are the session's; recording is `recordStream`'s.
 */
export class RoomArchiveMedia implements ArchiveMedia {
  readonly observer: TypedEmitter<ArchiveMediaEvents>;
  readonly #rooms: RoomRegistry;
  readonly #recordStream: RecordStream;

  constructor(rooms: RoomRegistry, recordStream: RecordStream, logger: Logger) {
    this.#rooms = rooms;
    this.#recordStream = recordStream;
    this.observer = new TypedEmitter((event, error) => {
      logger.error({ err: error, event }, 'archive media listener failed');
    });
    rooms.observer.on('newRoom', (room) => {
      const { sessionId } = room;
      room.observer.on('newStream', (info) => {
        this.observer.safeEmit('streamCreated', sessionId, liveStream(room, info));
      });
      room.observer.on('streamDestroyed', (info) => {
        this.observer.safeEmit('streamDestroyed', sessionId, info.streamId);
      });
      room.observer.on('close', () => {
        this.observer.safeEmit('sessionEmpty', sessionId);
      });
      this.observer.safeEmit('sessionLive', sessionId);
    });
  }

  session(sessionId: string): LiveSession | undefined {
    const room = this.#rooms.get(sessionId);
    if (!room || room.closed) return undefined;
    return {
      sessionId,
      mediaMode: room.mediaMode,
      streams: room.streams.map(({ info }) => liveStream(room, info)),
    };
  }

  record(sessionId: string, streamId: string, options: RecordOptions): Promise<StreamRecording> {
    const room = this.#rooms.get(sessionId);
    if (!room?.stream(streamId)) return Promise.reject(new Error(`no stream ${streamId} in ${sessionId}`));
    return this.#recordStream(room, streamId, options);
  }

  notify(sessionId: string, notice: ArchiveNotice): void {
    const room = this.#rooms.get(sessionId);
    if (notice.event === 'archiveStarted')
      room?.notifyArchive('archiveStarted', { id: notice.id, name: notice.name });
    else room?.notifyArchive('archiveStopped', { id: notice.id });
  }
}

function liveStream(room: SessionRoom, info: StreamInfo): LiveStream {
  return {
    streamId: info.streamId,
    connectionId: info.connectionId,
    connectionData: room.connection(info.connectionId)?.token.connectionData ?? '',
    name: info.name,
    videoType: info.videoType,
    hasAudio: info.hasAudio,
    hasVideo: info.hasVideo,
    creationTime: info.creationTime,
  };
}
