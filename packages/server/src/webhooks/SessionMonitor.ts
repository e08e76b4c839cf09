import type {
  ConnectionDestroyedReason,
  ConnectionInfo,
  StreamDestroyedReason,
  StreamInfo,
} from '@parlor/protocol';
import { sessionMonitoringCallback, type CallbackService } from '../projects/CallbackService.js';
import type { RoomRegistry } from '../signaling/RoomRegistry.js';
import type { SessionRoom } from '../signaling/SessionRoom.js';
import type { OrderedEnqueuer } from './OrderedEnqueuer.js';

/** Why a session ended: its last connection's reason, or `serverRotation` when its server stopped. */
export type SessionDestroyedReason = ConnectionDestroyedReason | 'serverRotation';

/** A connection as session monitoring callbacks show it. */
export interface ConnectionJson {
  readonly id: string;
  /** Unix milliseconds. */
  readonly createdAt: number;
  readonly data: string;
}

/** A stream as session monitoring callbacks show it; `videoType` is absent for audio-only streams. */
export interface StreamJson {
  readonly id: string;
  readonly connection: ConnectionJson;
  readonly createdAt: number;
  readonly name: string;
  readonly videoType?: string;
}

/** The body of a session monitoring callback (OpenTok's, server-api.md §9). */
export type SessionEventJson = {
  readonly sessionId: string;
  /** A string, as OpenTok sends it. */
  readonly projectId: string;
  /** Unix milliseconds. */
  readonly timestamp: number;
} & (
  | { readonly event: 'sessionCreated' }
  | { readonly event: 'sessionDestroyed'; readonly reason: SessionDestroyedReason }
  | { readonly event: 'sessionNotification'; readonly reason: 'serverRotation' }
  | { readonly event: 'connectionCreated'; readonly connection: ConnectionJson }
  | {
      readonly event: 'connectionDestroyed';
      readonly connection: ConnectionJson;
      readonly reason: ConnectionDestroyedReason;
    }
  | { readonly event: 'streamCreated'; readonly stream: StreamJson }
  | { readonly event: 'streamDestroyed'; readonly stream: StreamJson; readonly reason: StreamDestroyedReason }
);

type EventFields = SessionEventJson extends infer E
  ? E extends SessionEventJson
    ? Omit<E, 'sessionId' | 'projectId' | 'timestamp'>
    : never
  : never;

export interface SessionMonitorOptions {
  readonly rooms: RoomRegistry;
  /** Where each project's session monitoring URL is registered. */
  readonly callbacks: CallbackService;
  /** Puts the events into the webhook queue, in order. */
  readonly enqueuer: OrderedEnqueuer;
}

/** What the monitor remembers of a live room: what it has told of and not yet seen end. */
interface RoomState {
  readonly connections: Map<string, ConnectionInfo>;
  readonly streams: Map<string, StreamInfo>;
  lastReason: ConnectionDestroyedReason;
}

/**
 * Session monitoring: every live session's `sessionCreated` (first connection), `connectionCreated`,
 * `streamCreated`, `streamDestroyed`, `connectionDestroyed` and `sessionDestroyed` (last one
 * gone), POSTed in that order to the project's session monitoring URL (group `session`, event
 * `monitoring`) through the durable, signed webhook queue, one queue per session. A room its
 * server closes ends its streams and connections with `networkDisconnected` and the session with
 * `serverRotation`; a draining node first sends each session a `sessionNotification`.
 */
export class SessionMonitor {
  readonly #callbacks: CallbackService;
  readonly #enqueuer: OrderedEnqueuer;
  readonly #rooms: RoomRegistry;

  constructor(options: SessionMonitorOptions) {
    this.#rooms = options.rooms;
    this.#callbacks = options.callbacks;
    this.#enqueuer = options.enqueuer;
    options.rooms.observer.on('newRoom', (room) => {
      this.#watch(room);
    });
  }

  /** Tells every live session that its server is going away (the node drains). */
  notifyDraining(): void {
    for (const room of this.#rooms.all)
      this.#emit(room, { event: 'sessionNotification', reason: 'serverRotation' });
  }

  #watch(room: SessionRoom): void {
    const state: RoomState = { connections: new Map(), streams: new Map(), lastReason: 'clientDisconnected' };
    this.#emit(room, { event: 'sessionCreated' });
    const { observer } = room;
    observer.on('newConnection', (connection) => {
      state.connections.set(connection.id, connection.info);
      this.#emit(room, { event: 'connectionCreated', connection: connectionJson(connection.info) });
    });
    observer.on('newStream', (info) => {
      const owner = state.connections.get(info.connectionId);
      if (!owner) return;
      state.streams.set(info.streamId, info);
      this.#emit(room, { event: 'streamCreated', stream: streamJson(info, owner) });
    });
    observer.on('streamDestroyed', (info, reason) => {
      this.#endStream(room, state, info.streamId, reason);
    });
    observer.on('connectionDestroyed', (connection, reason) => {
      this.#endConnection(room, state, connection.id, reason);
    });
    observer.on('close', () => {
      const closedByServer = state.connections.size > 0;
      for (const streamId of [...state.streams.keys()])
        this.#endStream(room, state, streamId, 'networkDisconnected');
      for (const connectionId of [...state.connections.keys()])
        this.#endConnection(room, state, connectionId, 'networkDisconnected');
      this.#emit(room, {
        event: 'sessionDestroyed',
        reason: closedByServer ? 'serverRotation' : state.lastReason,
      });
    });
  }

  #endStream(room: SessionRoom, state: RoomState, streamId: string, reason: StreamDestroyedReason): void {
    const info = state.streams.get(streamId);
    const owner = info && state.connections.get(info.connectionId);
    if (!info || !owner) return;
    state.streams.delete(streamId);
    this.#emit(room, { event: 'streamDestroyed', stream: streamJson(info, owner), reason });
  }

  #endConnection(
    room: SessionRoom,
    state: RoomState,
    connectionId: string,
    reason: ConnectionDestroyedReason,
  ): void {
    const info = state.connections.get(connectionId);
    if (!info) return;
    state.connections.delete(connectionId);
    state.lastReason = reason;
    this.#emit(room, { event: 'connectionDestroyed', connection: connectionJson(info), reason });
  }

  /** Queues the event for the project's session monitoring URL, if it has one. */
  #emit(room: SessionRoom, fields: EventFields): void {
    const { sessionId, apiKey } = room;
    this.#enqueuer.enqueue({
      apiKey,
      sessionId,
      event: fields.event,
      url: () => this.#callbacks.urlFor(apiKey, sessionMonitoringCallback),
      body: { sessionId, projectId: apiKey, ...fields, timestamp: Date.now() },
    });
  }
}

function connectionJson(info: ConnectionInfo): ConnectionJson {
  return { id: info.connectionId, createdAt: info.creationTime, data: info.data };
}

function streamJson(info: StreamInfo, owner: ConnectionInfo): StreamJson {
  return {
    id: info.streamId,
    connection: connectionJson(owner),
    createdAt: info.creationTime,
    name: info.name,
    ...(info.hasVideo && info.videoType !== undefined ? { videoType: info.videoType } : {}),
  };
}
