import type { VideoPreferenceChanges } from '../core/SessionEngine.js';
import { RenderedSize } from './RenderedSize.js';
import type { Dimensions, PreferredResolution } from './videoPreferences.js';

export interface VideoPreferenceSyncOptions {
  readonly resolution: PreferredResolution | null;
  readonly frameRate: number | null;
  /** The element whose rendered size `auto` follows; without one (no default UI), `auto` is no preference. */
  readonly element: HTMLElement | undefined;
}

/** Preferences as the server takes them: `auto` resolved to a size. */
interface ResolvedPreferences {
  readonly resolution: Dimensions | null;
  readonly frameRate: number | null;
}

/**
 * A routed subscriber's video preferences kept in step with the server: what the application
 * asked for, with `auto` resolved to the size the subscriber is rendered at, given when
 * subscribing and sent again whenever it changes.
 */
export class VideoPreferenceSync {
  #resolution: PreferredResolution | null;
  #frameRate: number | null;
  readonly #element: HTMLElement | undefined;
  #renderedSize: RenderedSize | null = null;
  /** What the server has: null before subscribing. */
  #sent: ResolvedPreferences | null = null;
  #send: ((changes: VideoPreferenceChanges) => void) | null = null;
  #stopped = false;

  constructor(options: VideoPreferenceSyncOptions) {
    this.#resolution = options.resolution;
    this.#frameRate = options.frameRate;
    this.#element = options.element;
  }

  /** The preferences to subscribe with (none are left out). */
  subscribeWith(): VideoPreferenceChanges {
    this.#watchRenderedSize();
    const wanted = this.#wanted();
    this.#sent = wanted;
    return { preferredResolution: wanted.resolution, preferredFrameRate: wanted.frameRate };
  }

  /** The subscription exists: from now on changes go through `send`, starting with those made meanwhile. */
  connect(send: (changes: VideoPreferenceChanges) => void): void {
    this.#send = send;
    this.#sync();
  }

  setResolution(resolution: PreferredResolution | null): void {
    this.#resolution = resolution;
    this.#watchRenderedSize();
    this.#sync();
  }

  setFrameRate(frameRate: number | null): void {
    this.#frameRate = frameRate;
    this.#sync();
  }

  /** Stops watching the element and sending. Idempotent. */
  stop(): void {
    this.#stopped = true;
    this.#renderedSize?.stop();
    this.#renderedSize = null;
    this.#send = null;
  }

  #wanted(): ResolvedPreferences {
    const resolution =
      this.#resolution === 'auto' ? (this.#renderedSize?.current() ?? null) : this.#resolution;
    return { resolution, frameRate: this.#frameRate };
  }

  /** Watches the rendered size exactly while the resolution is `auto` and there is an element. */
  #watchRenderedSize(): void {
    const element = this.#resolution === 'auto' && !this.#stopped ? this.#element : undefined;
    if (!element) {
      this.#renderedSize?.stop();
      this.#renderedSize = null;
    } else {
      this.#renderedSize ??= new RenderedSize(element, () => {
        this.#sync();
      });
    }
  }

  /** Sends what changed since the server was last told. */
  #sync(): void {
    const sent = this.#sent;
    if (!this.#send || !sent) return;
    const wanted = this.#wanted();
    const changes: VideoPreferenceChanges = {};
    if (!sameSize(wanted.resolution, sent.resolution)) changes.preferredResolution = wanted.resolution;
    if (wanted.frameRate !== sent.frameRate) changes.preferredFrameRate = wanted.frameRate;
    if (Object.keys(changes).length === 0) return;
    this.#sent = wanted;
    this.#send(changes);
  }
}

function sameSize(a: Dimensions | null, b: Dimensions | null): boolean {
  return a === b || (a !== null && b !== null && a.width === b.width && a.height === b.height);
}
