import type { Logger } from './Logger.js';

export type TrackKind = 'audio' | 'video';

/**
 * A media processor as `@vonage/media-processor`'s connectors are: given a track, it resolves
 * with the processed one (Insertable Streams' breakout box, typically), until destroyed.
 */
export interface MediaProcessorConnector {
  setTrack(track: MediaStreamTrack): Promise<MediaStreamTrack>;
  destroy(): Promise<void> | void;
}

export interface PublisherTracksOptions {
  /** The tracks captured or given at first. */
  readonly media: MediaStream;
  /** Which of them are the application's: the SDK never stops those. */
  readonly given: readonly MediaStreamTrack[];
  /** Sends a track in place of the one of its kind on the live connections. */
  readonly send: (track: MediaStreamTrack) => Promise<void>;
  /** A source track ended (a device went away), while it was the source. */
  readonly onEnded: (track: MediaStreamTrack) => void;
  readonly logger: Logger;
}

/**
 * A publisher's tracks: per kind its source (captured from a device, or the application's) and,
 * while a media processor connector is set, the processed track sent in its place. `stream`
 * holds what is sent and shown; a new source or connector swaps its track there and on the live
 * connections. Changes are made one at a time, in order.
 */
export class PublisherTracks {
  readonly stream: MediaStream;
  readonly #sources = new Map<TrackKind, MediaStreamTrack>();
  /** Sources the SDK captured: stopped once replaced, or on close. */
  readonly #captured = new Set<MediaStreamTrack>();
  readonly #connectors = new Map<TrackKind, MediaProcessorConnector>();
  readonly #enabled = new Map<TrackKind, boolean>();
  readonly #options: PublisherTracksOptions;
  #changes: Promise<unknown> = Promise.resolve();
  #closed = false;

  constructor(options: PublisherTracksOptions) {
    this.#options = options;
    this.stream = new MediaStream(options.media.getTracks());
    for (const track of options.media.getTracks()) this.#adopt(track, !options.given.includes(track));
  }

  /** The source of a kind: the device's or application's track, before any processing. */
  source(kind: TrackKind): MediaStreamTrack | undefined {
    return this.#sources.get(kind);
  }

  /** Whether the source of a kind was captured from a device (not given by the application). */
  isCaptured(kind: TrackKind): boolean {
    const source = this.#sources.get(kind);
    return source !== undefined && this.#captured.has(source);
  }

  /** Turns the sent track of a kind on or off, now and after any switch. */
  setEnabled(kind: TrackKind, enabled: boolean): void {
    this.#enabled.set(kind, enabled);
    for (const track of this.stream.getTracks()) if (track.kind === kind) track.enabled = enabled;
  }

  /** Sends `track` (through the kind's connector, if any); the replaced source stops if captured. */
  setSource(track: MediaStreamTrack, captured: boolean): Promise<void> {
    const kind = track.kind as TrackKind;
    return this.#enqueue(async () => {
      const old = this.#sources.get(kind);
      if (old === track) return;
      this.#adopt(track, captured);
      try {
        await this.#resend(kind);
      } catch (error) {
        if (old) this.#sources.set(kind, old);
        this.#stopCaptured(track);
        throw error;
      }
      if (old) this.#stopCaptured(old);
    });
  }

  /** Sends the kind's source through the connector, or as it is with null; the old connector is destroyed. */
  setConnector(kind: TrackKind, connector: MediaProcessorConnector | null): Promise<void> {
    return this.#enqueue(async () => {
      const old = this.#connectors.get(kind);
      if (connector === old) return;
      if (connector) this.#connectors.set(kind, connector);
      else this.#connectors.delete(kind);
      try {
        await this.#resend(kind);
      } catch (error) {
        if (old) this.#connectors.set(kind, old);
        else this.#connectors.delete(kind);
        throw error;
      }
      await this.#destroy(old);
    });
  }

  /** Stops the captured sources and destroys the connectors. Idempotent. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    for (const track of this.#sources.values()) this.#stopCaptured(track);
    for (const connector of this.#connectors.values()) void this.#destroy(connector);
    this.#connectors.clear();
  }

  #enqueue(change: () => Promise<void>): Promise<void> {
    const run = this.#changes.then(() => {
      if (this.#closed) throw new Error('the publisher was destroyed');
      return change();
    });
    this.#changes = run.catch(() => undefined);
    return run;
  }

  #adopt(track: MediaStreamTrack, captured: boolean): void {
    const kind = track.kind as TrackKind;
    this.#sources.set(kind, track);
    if (captured) this.#captured.add(track);
    track.addEventListener('ended', () => {
      if (this.#sources.get(kind) === track && !this.#closed) this.#options.onEnded(track);
    });
  }

  async #resend(kind: TrackKind): Promise<void> {
    const source = this.#sources.get(kind);
    if (!source) return;
    const connector = this.#connectors.get(kind);
    const sent = connector ? await connector.setTrack(source) : source;
    for (const track of this.stream.getTracks()) {
      if (track.kind === kind && track !== sent) this.stream.removeTrack(track);
    }
    if (!this.stream.getTracks().includes(sent)) this.stream.addTrack(sent);
    sent.enabled = this.#enabled.get(kind) ?? true;
    await this.#options.send(sent);
  }

  #stopCaptured(track: MediaStreamTrack): void {
    if (this.#captured.delete(track)) track.stop();
  }

  async #destroy(connector: MediaProcessorConnector | undefined): Promise<void> {
    try {
      await connector?.destroy();
    } catch (error) {
      this.#options.logger.warn('a media processor connector failed to stop', error);
    }
  }
}

/** Whether the browser lets scripts process a camera's frames (Insertable Streams' breakout box). */
export function hasMediaProcessorSupport(): boolean {
  return (
    typeof (globalThis as { MediaStreamTrackProcessor?: unknown }).MediaStreamTrackProcessor === 'function' &&
    typeof (globalThis as { MediaStreamTrackGenerator?: unknown }).MediaStreamTrackGenerator === 'function'
  );
}
