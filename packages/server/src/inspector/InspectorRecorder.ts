import type { TelemetryRecord } from '@parlor/protocol';
import type { RoomRegistry } from '../signaling/RoomRegistry.js';
import type { SessionRoom } from '../signaling/SessionRoom.js';
import { TokenBucket } from '../signaling/TokenBucket.js';
import type { InspectorRecord, InspectorValue } from '../store/InspectorRepository.js';
import type { InspectorService } from './InspectorService.js';
import { routerSamples, type RouterSampling } from './routerSamples.js';

export interface InspectorRecorderOptions {
  readonly rooms: RoomRegistry;
  readonly inspector: InspectorService;
  /** How often the router of each routed session is sampled, in ms. Default: 5000. */
  readonly routerIntervalMs?: number;
  /** Telemetry records a connection may send per second, in bursts of `clientBurst`. Default: 2. */
  readonly clientRecordsPerSecond?: number;
  /** Default: 150 (a first batch of each of a few publishers and subscribers). */
  readonly clientBurst?: number;
  /**
   * Subscriber samples kept of each routed session's router per sample, those having a bad
   * time first, the others in turn. Default: 100 (everyone's, every 5 s, in a meeting of 10).
   */
  readonly routerSubscriberSamples?: number;
}

/** The longest connection data or stream name kept, in characters. */
const maxTextLength = 256;

/**
 * Feeds the Inspector from every live session: the server's own events (connections and
 * streams coming and going, with why), what each client reports (rate-limited per connection,
 * the excess counted as dropped), and the router's view of each routed session every 5 s.
 */
export class InspectorRecorder {
  readonly #inspector: InspectorService;
  readonly #routerIntervalMs: number;
  readonly #clientRate: number;
  readonly #clientBurst: number;
  readonly #routerSubscriberSamples: number;
  readonly #timers = new Set<NodeJS.Timeout>();

  constructor(options: InspectorRecorderOptions) {
    this.#inspector = options.inspector;
    this.#routerIntervalMs = options.routerIntervalMs ?? 5000;
    this.#clientRate = options.clientRecordsPerSecond ?? 2;
    this.#clientBurst = options.clientBurst ?? 150;
    this.#routerSubscriberSamples = options.routerSubscriberSamples ?? 100;
    options.rooms.observer.on('newRoom', (room) => {
      this.#watch(room);
    });
  }

  /** Stops sampling the routers; idempotent. */
  close(): void {
    for (const timer of this.#timers) clearInterval(timer);
    this.#timers.clear();
  }

  #watch(room: SessionRoom): void {
    const add = (records: InspectorRecord[]): void => {
      this.#inspector.add(room.sessionId, room.apiKey, records);
    };
    const server = (
      type: string,
      connectionId: string | null,
      streamId: string | null,
      data: Record<string, InspectorValue>,
    ): void => {
      add([{ at: Date.now(), source: 'server', kind: 'event', type, connectionId, streamId, data }]);
    };
    const buckets = new Map<string, TokenBucket>();
    const { observer } = room;
    observer.on('newConnection', (connection) => {
      server('connectionCreated', connection.id, null, {
        data: connection.info.data.slice(0, maxTextLength),
        role: connection.token.role,
        mediaMode: room.mediaMode,
      });
    });
    observer.on('connectionDestroyed', (connection, reason) => {
      buckets.delete(connection.id);
      server('connectionDestroyed', connection.id, null, { reason });
    });
    observer.on('newStream', (info) => {
      server('streamCreated', info.connectionId, info.streamId, {
        name: info.name.slice(0, maxTextLength),
        hasAudio: info.hasAudio,
        hasVideo: info.hasVideo,
        videoType: info.videoType ?? null,
      });
    });
    observer.on('streamDestroyed', (info, reason) => {
      server('streamDestroyed', info.connectionId, info.streamId, { reason });
    });
    observer.on('archive', (event, archiveId) => {
      server(event, null, null, { archiveId });
    });
    observer.on('telemetry', (connection, records) => {
      let bucket = buckets.get(connection.id);
      if (!bucket) {
        bucket = new TokenBucket({ ratePerSecond: this.#clientRate, capacity: this.#clientBurst });
        buckets.set(connection.id, bucket);
      }
      if (!bucket.take(records.length)) {
        this.#inspector.countDropped(room.sessionId, records.length);
        return;
      }
      add(records.map((record) => fromClient(connection.id, record)));
    });
    room.adaptiveRouting?.observer.on('modeChanged', ({ mode, reason }) => {
      server('mediaRoutingChanged', null, null, { mode, reason });
    });
    room.adaptiveRouting?.observer.on('pathFailed', (connection, path) => {
      server(path === 'routed' ? 'routerUnreachable' : 'directPathFailed', connection.id, null, {});
    });
    if (room.mediaMode !== 'routed') return;
    const sampling: RouterSampling = { counters: new Map(), lastKept: new Map() };
    const timer = setInterval(() => {
      // A router that ended while asked has nothing to tell.
      room.routerReadings().then(
        (readings) => {
          if (readings) add(routerSamples(readings, sampling, Date.now(), this.#routerSubscriberSamples));
        },
        () => undefined,
      );
    }, this.#routerIntervalMs);
    this.#timers.add(timer);
    observer.on('close', () => {
      clearInterval(timer);
      this.#timers.delete(timer);
    });
  }
}

function fromClient(connectionId: string, record: TelemetryRecord): InspectorRecord {
  return {
    at: Date.now() - record.ageMs,
    source: 'client',
    kind: record.kind,
    type: record.type,
    connectionId,
    streamId: record.streamId ?? null,
    data: record.data,
  };
}
