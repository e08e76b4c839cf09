import { signalingLimits, type TelemetryRecord } from '@parlor/protocol';

type TelemetryData = TelemetryRecord['data'];

declare const __PARLOR_SDK_VERSION__: string | undefined;

/** The SDK's version (its package's), for the Inspector; the bundle sets it, run from source it is `dev`. */
export const sdkVersion = typeof __PARLOR_SDK_VERSION__ === 'string' ? __PARLOR_SDK_VERSION__ : 'dev';

export interface TelemetryOptions {
  /** Sends a batch to the server; best effort: a rejection drops it. */
  readonly send: (records: TelemetryRecord[]) => Promise<unknown>;
  /** How often what waits is sent, in ms. Default: 2000. */
  readonly flushIntervalMs?: number;
  /** Records that may wait; past it the oldest are dropped. Default: 500. */
  readonly maxQueued?: number;
}

interface Queued {
  readonly atMs: number;
  readonly kind: TelemetryRecord['kind'];
  readonly type: string;
  readonly streamId: string | undefined;
  readonly data: TelemetryData;
}

/**
 * What this client tells the session's Inspector: events as they happen, quality samples and
 * score changes, queued (bounded, oldest dropped first) and sent in batches every 2 s while
 * `active`, at most one request at a time. Never throws, never waits on media.
 */
export class Telemetry {
  readonly #send: TelemetryOptions['send'];
  readonly #maxQueued: number;
  readonly #queue: Queued[] = [];
  readonly #timer: ReturnType<typeof setInterval>;
  #sending = false;
  #closed = false;
  /** Whether batches may be sent now (the session is connected). */
  active = false;

  constructor(options: TelemetryOptions) {
    this.#send = options.send;
    this.#maxQueued = options.maxQueued ?? 500;
    this.#timer = setInterval(() => {
      this.flush();
    }, options.flushIntervalMs ?? 2000);
  }

  event(type: string, data: TelemetryData, streamId?: string): void {
    this.#add('event', type, data, streamId);
  }

  quality(type: 'publisher' | 'subscriber', streamId: string, data: TelemetryData): void {
    this.#add('quality', type, data, streamId);
  }

  score(type: 'publisher' | 'subscriber', streamId: string, data: TelemetryData): void {
    this.#add('score', type, data, streamId);
  }

  /** Sends what waits now, if the session is connected and no batch is under way. */
  flush(): void {
    if (!this.active || this.#sending || this.#queue.length === 0) return;
    const batch = this.#queue.splice(0, signalingLimits.maxTelemetryRecords);
    const now = Date.now();
    const records = batch.map(({ atMs, kind, type, streamId, data }): TelemetryRecord => ({
      ageMs: Math.min(600_000, Math.max(0, now - atMs)),
      kind,
      type,
      ...(streamId === undefined ? {} : { streamId }),
      data,
    }));
    this.#sending = true;
    this.#send(records)
      .catch(() => undefined)
      .finally(() => {
        this.#sending = false;
      });
  }

  /** Stops sending; what waits is dropped. Idempotent. */
  close(): void {
    this.#closed = true;
    this.active = false;
    this.#queue.length = 0;
    clearInterval(this.#timer);
  }

  #add(kind: TelemetryRecord['kind'], type: string, data: TelemetryData, streamId: string | undefined): void {
    if (this.#closed) return;
    if (this.#queue.length >= this.#maxQueued) this.#queue.shift();
    this.#queue.push({ atMs: Date.now(), kind, type, streamId, data });
  }
}

/** The browser and OS, as the user agent names them, for the Inspector. */
export function clientPlatform(userAgent: string): { browser: string; os: string } {
  const browser =
    /(Edg|OPR|Firefox|Chromium|Chrome|Version)\/(\d+)/.exec(userAgent) ?? /(Safari)\/(\d+)/.exec(userAgent);
  const names: Readonly<Record<string, string>> = { Edg: 'Edge', OPR: 'Opera', Version: 'Safari' };
  const os = /(Windows|Android|iPhone|iPad|Mac OS X|CrOS|Linux)/.exec(userAgent)?.[1] ?? 'unknown';
  return {
    browser: browser ? `${names[browser[1] ?? ''] ?? browser[1] ?? ''} ${browser[2] ?? ''}` : 'unknown',
    os: os === 'Mac OS X' ? 'macOS' : os === 'CrOS' ? 'ChromeOS' : os,
  };
}

export interface ConnectFailure {
  readonly apiUrl: string;
  readonly apiKey: string;
  readonly sessionId: string;
  readonly token: string;
  readonly code: number;
  readonly message: string;
  /** How long the attempt took. */
  readonly ms: number;
  readonly browser: string;
  readonly os: string;
  readonly sdkVersion: string;
}

/**
 * Tells the session's Inspector of a failed connect, which has no signaling to go over: one POST
 * authenticated by the token, best effort (its failure is ignored), given up after 5 s.
 */
export function reportConnectFailure(failure: ConnectFailure): void {
  const { apiUrl, apiKey, sessionId, ...body } = failure;
  const url = `${apiUrl.replace(/\/+$/, '')}/v2/project/${encodeURIComponent(apiKey)}/session/${encodeURIComponent(sessionId)}/inspector/connect-failure`;
  fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({
      ...body,
      message: body.message.slice(0, 256),
      ms: Math.min(600_000, Math.round(body.ms)),
    }),
    signal: AbortSignal.timeout(5000),
  }).catch(() => undefined);
}
